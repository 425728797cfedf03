"""EFL Fig. 2: the ratio of positive to negative samples of each category
under the detector's own assignment (ATSS in the paper).

With sigmoid classification every sample an anchor takes part in is a
negative for every category but the one it is assigned to, so for category
``j`` over a dataset: ``pos_j`` = anchors assigned to ``j`` and
``neg_j`` = valid anchors - ``pos_j``. The paper plots ``log10(pos_j /
neg_j)`` with categories sorted by frequency: rare categories see orders of
magnitude fewer positives per negative, which is what EFL's focusing factor
answers.
"""
from typing import Dict, Optional, Sequence

import numpy as np

from mmdet_efl.utils.figures import save_figure, subplots

from .category_axis import plot_per_category
from .dense_samples import DenseSamples


class SampleCounter:
    """Consumer of :class:`DenseSamples` that counts positives per category
    and valid anchors."""

    def __init__(self, num_classes: int) -> None:
        self.num_classes = num_classes
        self.pos = np.zeros(num_classes, dtype=np.int64)
        self.valid = 0
        self.images = 0

    def __call__(self, sample: DenseSamples) -> None:
        labels = sample.labels[sample.valid]
        fg = labels[labels < self.num_classes]
        self.pos += np.bincount(fg.cpu().numpy(),
                                minlength=self.num_classes)
        self.valid += int(labels.numel())
        self.images += 1

    @property
    def neg(self) -> np.ndarray:
        return self.valid - self.pos

    def result(self) -> Dict[str, list]:
        """Counts and ``log10(pos / neg)`` per label (``None`` for a
        category without positives)."""
        with np.errstate(divide='ignore'):
            log_ratio = np.log10(self.pos / np.maximum(self.neg, 1))
        return dict(images=self.images, valid_anchors=self.valid,
                    pos=self.pos.tolist(), neg=self.neg.tolist(),
                    log10_ratio=[None if not np.isfinite(v) else float(v)
                                 for v in log_ratio])


def plot_sample_ratio(result: Dict, image_counts: Sequence[int],
                      out_file: str, title: Optional[str] = None) -> Dict:
    """Draws EFL Fig. 2 from :meth:`SampleCounter.result`; returns the
    numbers with the plotted order added."""
    values = [np.nan if v is None else v for v in result['log10_ratio']]
    fig, ax = subplots(figsize=(8, 3.6))
    axis = plot_per_category(ax, values, image_counts)
    ax.set_ylabel('log10(positive / negative samples)')
    ax.set_title(title or 'EFL Fig. 2: positive-negative imbalance')
    ax.grid(alpha=0.3, axis='y')
    save_figure(fig, out_file)
    return dict(result, image_count=list(map(int, image_counts)), **axis)
