"""RetinaNet Fig. 4: cumulative distribution of the normalised focal loss
over positive and negative samples of a trained model, for several gamma.

The model's predictions are fixed; only the loss applied to them changes
(RetinaNet sec. 5.1, "Analysis of the Focal Loss"). A positive sample is a
foreground anchor with the loss of its ground-truth class, ``FL(p_t)``; a
negative sample is a background anchor with its loss summed over the
classes, so every number is the loss the anchor's label brings. No alpha, as
in the paper. For each gamma the losses are sorted from lowest to highest and
normalised to sum to one; the CDF at fraction ``f`` is the share of the total
loss carried by the ``f`` easiest samples.
"""
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch

from mmdet_efl.models.losses.modulated_focal import (
    FocalTerms, modulated_focal_loss)
from mmdet_efl.utils.figures import save_figure, subplots

from .dense_samples import DenseSamples

DEFAULT_GAMMAS = (0.0, 0.5, 1.0, 2.0)


def normalised_loss_cdf(losses: np.ndarray,
                        num_points: int = 201) -> Dict[str, List[float]]:
    """``fraction`` of samples (sorted by loss, easiest first) against the
    ``cdf`` of the loss they carry, at ``num_points`` evenly spaced
    fractions (interpolated between samples); ``cdf`` ends at 1."""
    losses = np.sort(np.asarray(losses, dtype=np.float64))
    if losses.size == 0:
        raise ValueError('no samples to build a loss distribution from')
    cum = np.concatenate([[0.0], np.cumsum(losses)]) / losses.sum()
    fraction = np.linspace(0.0, 1.0, num_points)
    # piecewise linear between whole samples
    cdf = np.interp(fraction * losses.size, np.arange(losses.size + 1), cum)
    return dict(fraction=fraction.tolist(), cdf=cdf.tolist())


class LossCollector:
    """Consumer of :class:`DenseSamples` (with logits) that keeps, for each
    gamma, every positive and negative sample's focal loss."""

    def __init__(self, gammas: Sequence[float] = DEFAULT_GAMMAS) -> None:
        self.gammas = [float(g) for g in gammas]
        self.pos: Dict[float, list] = {g: [] for g in self.gammas}
        self.neg: Dict[float, list] = {g: [] for g in self.gammas}

    def __call__(self, sample: DenseSamples) -> None:
        if sample.logits is None:
            raise ValueError('the loss distribution needs a checkpoint')
        logits = sample.logits[sample.valid].double()
        labels = sample.labels[sample.valid]
        num_classes = logits.shape[1]
        is_pos = labels < num_classes
        for g in self.gammas:
            loss = modulated_focal_loss(
                logits, FocalTerms(gamma=torch.full(
                    (num_classes,), g, dtype=logits.dtype)),
                labels=labels, reduce=False, need_grad=False,
                stats=False)[0]
            pos = loss[is_pos].gather(1, labels[is_pos, None])[:, 0]
            self.pos[g].append(pos.numpy())
            self.neg[g].append(loss[~is_pos].sum(1).numpy())

    def result(self, num_points: int = 201) -> Dict:
        """Per gamma, the CDF of positives and negatives and the numbers of
        samples."""
        out = dict(gammas=self.gammas, positive={}, negative={})
        for key, store in (('positive', self.pos), ('negative', self.neg)):
            for g in self.gammas:
                losses = np.concatenate(store[g])
                curve = normalised_loss_cdf(losses, num_points)
                out[key][str(g)] = dict(curve, num_samples=int(losses.size))
        return out


def plot_loss_distribution(result: Dict, out_file: str,
                           title: Optional[str] = None) -> Dict:
    """Draws RetinaNet Fig. 4 from :meth:`LossCollector.result`."""
    fig, axes = subplots(1, 2, figsize=(10, 4))
    for ax, key in zip(axes, ('positive', 'negative')):
        for g in result['gammas']:
            c = result[key][str(g)]
            ax.plot(c['fraction'], c['cdf'], label=f'$\\gamma$ = {g:g}')
        n = result[key][str(result['gammas'][0])]['num_samples']
        ax.set(xlabel=f'fraction of {key} samples ({n:,})',
               ylabel='cumulative normalised loss', xlim=(0, 1),
               ylim=(0, 1), title=f'{key} samples')
        ax.grid(alpha=0.3)
        ax.legend()
    save_figure(fig, out_file,
                title=title or 'RetinaNet Fig. 4: loss distribution')
    return result
