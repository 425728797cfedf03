"""EFL Fig. 4: per-category margin between the mean predicted score of
positive samples and that of negative samples.

For category ``j``, positives are the valid anchors assigned to ``j`` and
negatives all other valid anchors (sigmoid classification), scored by
``sigmoid(logit_j)``, the classification score before any quality branch.
A larger margin means a more distinct decision boundary; the paper shows
EFL widening it most on rare categories.
"""
from typing import Dict, Optional, Sequence

import numpy as np
import torch

from mmdet_efl.datasets.longtail import GROUP_NAMES
from mmdet_efl.utils.figures import save_figure, subplots

from .category_axis import plot_per_category
from .dense_samples import DenseSamples


class MarginAccumulator:
    """Consumer of :class:`DenseSamples` (with logits) that sums scores and
    counts samples per category, positives and negatives apart."""

    def __init__(self, num_classes: int) -> None:
        self.num_classes = num_classes
        zeros = lambda: torch.zeros(num_classes, dtype=torch.float64)  # noqa
        self.pos_sum, self.pos_count = zeros(), zeros()
        self.all_sum, self.all_count = zeros(), 0

    def __call__(self, sample: DenseSamples) -> None:
        if sample.logits is None:
            raise ValueError('the score margin needs a checkpoint')
        scores = sample.logits[sample.valid].double().sigmoid()
        labels = sample.labels[sample.valid]
        fg = labels < self.num_classes
        self.pos_sum.index_add_(
            0, labels[fg], scores[fg].gather(1, labels[fg, None])[:, 0])
        self.pos_count += torch.bincount(labels[fg],
                                         minlength=self.num_classes)
        self.all_sum += scores.sum(0)
        self.all_count += scores.shape[0]

    def result(self) -> Dict[str, list]:
        """Mean positive and negative score and their difference per label
        (``None`` where a category has no positive)."""
        neg_count = self.all_count - self.pos_count
        pos_mean = self.pos_sum / self.pos_count
        neg_mean = (self.all_sum - self.pos_sum) / neg_count.clamp(min=1)
        margin = pos_mean - neg_mean

        def listed(t: torch.Tensor) -> list:
            return [None if not np.isfinite(v) else float(v)
                    for v in t.tolist()]
        return dict(pos_mean=listed(pos_mean), neg_mean=listed(neg_mean),
                    margin=listed(margin),
                    pos_count=self.pos_count.long().tolist(),
                    neg_count=neg_count.long().tolist())


def plot_margins(results: Dict[str, Dict], image_counts: Sequence[int],
                 out_file: str, title: Optional[str] = None) -> Dict:
    """Draws EFL Fig. 4: one panel per run (``{name: result}``), same
    category order and y-range, so the margins compare side by side."""
    names = list(results)
    fig, axes = subplots(1, len(names), figsize=(5 * len(names), 3.8),
                         sharey=True, squeeze=False)
    out = dict(image_count=list(map(int, image_counts)), runs={})
    for ax, name in zip(axes[0], names):
        values = [np.nan if v is None else v
                  for v in results[name]['margin']]
        axis = plot_per_category(ax, values, image_counts)
        values = np.asarray(values)[axis['order']]
        groups = np.asarray(axis['group'])
        means = {GROUP_NAMES[g]: float(np.nanmean(values[groups == g]))
                 for g in GROUP_NAMES if (groups == g).any()}
        means['all'] = float(np.nanmean(values))
        ax.set_title(f'{name}: ' + ', '.join(
            f'{k} {v:.3f}' for k, v in means.items()), fontsize=10)
        ax.grid(alpha=0.3, axis='y')
        out['runs'][name] = dict(results[name], group_mean=means)
    out.update(axis)
    axes[0][0].set_ylabel('mean positive - mean negative score')
    save_figure(fig, out_file, title=title or 'EFL Fig. 4: margins between '
                'positive and negative scores')
    return out
