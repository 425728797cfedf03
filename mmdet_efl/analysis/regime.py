"""Regime checks: is a training run in the long-tail regime EFL is about?

EFL (Li et al., CVPR 2022) steers category ``j`` by its accumulated gradient
ratio ``G_j`` (eq. 3). It differs from focal loss only while ``G_j < 1``,
and it is designed for the picture of LVIS: rare categories are much worse
than frequent ones under focal loss, their positives are outweighed by
negatives (``G_rare`` well below ``G_freq``) and they see orders of
magnitude fewer positives per negative (EFL Fig. 2). The checks here test
that picture on any run, with thresholds fixed *before* any EFL result was
looked at (issue 16):

* focal loss's ``APr / APf <= MAX_FL_APR_OVER_APF`` (LVIS's improved
  baseline: 14.3 / 32.7 = 0.44, EFL Table 2);
* at the end of training ``G_rare <= MAX_RARE_OVER_FREQ_GRAD_RATIO *
  G_freq``;
* EFL Fig. 2's mean ``log10(pos / neg)`` per group (reported, not checked).

All functions are pure; groups are ``{'rare': [labels], 'common': [...],
'frequent': [...]}`` as :func:`mmdet_efl.datasets.longtail.frequency_groups`
returns them.
"""
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from ..datasets.longtail import GROUP_ORDER
from ..utils.compat import trapezoid

#: focal loss's rare-to-frequent AP ratio must not exceed this (LVIS: 0.44)
MAX_FL_APR_OVER_APF = 0.6
#: the final ``G_rare / G_freq`` must not exceed this
MAX_RARE_OVER_FREQ_GRAD_RATIO = 0.5

Groups = Mapping[str, Sequence[int]]


def _check_groups(groups: Groups, num_classes: int) -> None:
    for name, labels in groups.items():
        bad = [i for i in labels if not 0 <= int(i) < num_classes]
        if bad:
            raise ValueError(f'group {name!r} holds labels {bad[:5]} outside '
                             f'[0, {num_classes}) of the {num_classes} '
                             'per-category values')


def group_means(values: Sequence[float], groups: Groups) -> Dict[str, float]:
    """Mean of a per-category ``values`` ``[C]`` over each group's labels,
    ignoring NaN (a category without a value); NaN for an empty group."""
    v = np.asarray(values, dtype=float)
    if v.ndim != 1:
        raise ValueError(f'values must be one per category, got shape '
                         f'{v.shape}')
    _check_groups(groups, len(v))
    out = {}
    for name, labels in groups.items():
        sel = v[np.asarray(labels, dtype=int)]
        sel = sel[np.isfinite(sel)]
        out[name] = float(sel.mean()) if sel.size else float('nan')
    return out


def grad_ratio_summary(steps: Sequence[int], ratios: np.ndarray,
                       groups: Groups) -> Dict[str, Dict[str, float]]:
    """Per-group mean ``G_j`` at the end and averaged over training.

    Args:
        steps: the iterations at which ``ratios`` were recorded ``[T]``,
            increasing.
        ratios: ``G_j`` per recorded step and category ``[T, C]``.
        groups: label indices per group.

    Returns:
        ``{'final': {group: G}, 'mean': {group: G}}``. ``final`` is the
        group mean at the last step. ``mean`` is the time average of the
        group mean over ``[steps[0], steps[-1]]`` (trapezoidal, so unevenly
        spaced records are weighted by the iterations they stand for; the
        value itself for a single record).
    """
    steps = np.asarray(steps, dtype=float)
    ratios = np.asarray(ratios, dtype=float)
    if ratios.ndim != 2 or ratios.shape[0] != steps.shape[0] or \
            not steps.size:
        raise ValueError(f'ratios must be [T, C] with T = len(steps) = '
                         f'{steps.shape[0]} > 0, got {ratios.shape}')
    if np.any(np.diff(steps) <= 0):
        raise ValueError('steps must be strictly increasing')
    per_step = {name: np.array([group_means(r, groups)[name]
                                for r in ratios]) for name in groups}
    final = {name: float(v[-1]) for name, v in per_step.items()}
    if steps.size == 1:
        mean = dict(final)
    else:
        span = steps[-1] - steps[0]
        mean = {name: float(trapezoid(v, steps) / span)
                for name, v in per_step.items()}
    return dict(final=final, mean=mean)


def rare_over_frequent(grad_ratio: Mapping[str, float]) -> float:
    """``G_rare / G_freq`` of per-group values (``inf`` if ``G_freq`` is 0
    and ``G_rare`` is not)."""
    for key in ('rare', 'frequent'):
        if key not in grad_ratio:
            raise KeyError(f'no {key!r} group in {sorted(grad_ratio)}: the '
                           'regime check needs LVIS frequency groups')
    rare, freq = grad_ratio['rare'], grad_ratio['frequent']
    if freq == 0:
        return 0.0 if rare == 0 else float('inf')
    return float(rare / freq)


def ap_ratio(apr: float, apf: float) -> float:
    """Focal loss's ``APr / APf`` (``inf`` when ``APf`` is 0)."""
    if apr < 0 or apf < 0:
        raise ValueError(f'APs must be >= 0, got APr={apr}, APf={apf}')
    if apf == 0:
        return 0.0 if apr == 0 else float('inf')
    return float(apr / apf)


def fig2_log_ratio(pos: Sequence[float], neg: Sequence[float],
                   groups: Groups) -> Tuple[List[Optional[float]],
                                            Dict[str, float]]:
    """EFL Fig. 2: ``log10(pos_j / neg_j)`` per category and its mean per
    group.

    Args:
        pos: positive samples of each category over the training set ``[C]``
            (anchors assigned to it).
        neg: negative samples of each category ``[C]`` (all other valid
            anchors).
        groups: label indices per group.

    Returns:
        ``(per_category, per_group)``; a category without positives has
        ``None`` and is left out of its group's mean (log of 0).
    """
    pos = np.asarray(pos, dtype=float)
    neg = np.asarray(neg, dtype=float)
    if pos.shape != neg.shape or pos.ndim != 1:
        raise ValueError(f'pos {pos.shape} and neg {neg.shape} must both be '
                         'one count per category')
    if np.any(pos < 0) or np.any(neg <= 0):
        raise ValueError('counts must be pos >= 0 and neg > 0')
    with np.errstate(divide='ignore'):
        log_ratio = np.log10(pos / neg)  # -inf without positives
    per_cat = [None if not np.isfinite(v) else float(v) for v in log_ratio]
    return per_cat, group_means(log_ratio, groups)


@dataclass
class RegimeReport:
    """The regime checks of one run (or the mean of several seeds).

    Attributes:
        fl_apr_over_apf: focal loss's ``APr / APf`` (None if unknown).
        final_grad_ratio: per-group mean ``G_j`` at the end.
        mean_grad_ratio: per-group mean ``G_j`` averaged over training.
        fig2_log10_ratio: per-group mean ``log10(pos / neg)`` (EFL Fig. 2).
        source: which run the ``G_j`` come from (e.g. ``'FL'``).
    """
    fl_apr_over_apf: Optional[float] = None
    final_grad_ratio: Dict[str, float] = field(default_factory=dict)
    mean_grad_ratio: Dict[str, float] = field(default_factory=dict)
    fig2_log10_ratio: Dict[str, float] = field(default_factory=dict)
    source: str = ''

    @property
    def rare_over_frequent(self) -> Optional[float]:
        """Final ``G_rare / G_freq`` (None without those groups)."""
        g = self.final_grad_ratio
        if 'rare' not in g or 'frequent' not in g:
            return None
        return rare_over_frequent(g)

    def checks(self) -> List[Tuple[str, Optional[float], str,
                                   Optional[bool]]]:
        """``(name, value, condition, passed)`` per check; ``passed`` is
        None when the value is unknown."""
        ratio = self.rare_over_frequent
        return [
            ('FL APr / APf', self.fl_apr_over_apf,
             f'<= {MAX_FL_APR_OVER_APF}',
             None if self.fl_apr_over_apf is None else
             self.fl_apr_over_apf <= MAX_FL_APR_OVER_APF),
            ('final G_rare / G_freq', ratio,
             f'<= {MAX_RARE_OVER_FREQ_GRAD_RATIO}',
             None if ratio is None else
             ratio <= MAX_RARE_OVER_FREQ_GRAD_RATIO),
        ]

    def holds(self) -> bool:
        """True iff every check has a value and passes."""
        return all(passed is True for *_, passed in self.checks())

    def format(self) -> str:
        """The checks and the per-group values as printable lines."""
        lines = ['regime checks' + (f' (G_j from {self.source})'
                                    if self.source else '') + ':']
        for name, value, cond, passed in self.checks():
            mark = {True: 'ok', False: 'FAILS', None: 'unknown'}[passed]
            shown = 'n/a' if value is None else f'{value:.3f}'
            lines.append(f'  {name:<22} {shown:>8}  ({cond})  {mark}')

        def row(name: str, values: Dict[str, float], fmt: str) -> None:
            if values:
                cells = ' / '.join(format(values[g], fmt) if g in values
                                   else '-' for g in _ordered(values))
                lines.append(f'  {name:<22} {cells}  '
                             f'({" / ".join(_ordered(values))})')

        row('final G_j', self.final_grad_ratio, '.3f')
        row('mean G_j over training', self.mean_grad_ratio, '.3f')
        row('Fig. 2 log10(pos/neg)', self.fig2_log10_ratio, '.2f')
        lines.append('  regime ' + ('holds' if self.holds() else
                                    'does NOT hold'))
        return '\n'.join(lines)

    def to_dict(self) -> dict:
        return dict(fl_apr_over_apf=self.fl_apr_over_apf,
                    final_grad_ratio=dict(self.final_grad_ratio),
                    mean_grad_ratio=dict(self.mean_grad_ratio),
                    fig2_log10_ratio=dict(self.fig2_log10_ratio),
                    rare_over_frequent=self.rare_over_frequent,
                    holds=self.holds(), source=self.source)


def _ordered(values: Mapping[str, float]) -> List[str]:
    known = [g for g in GROUP_ORDER if g in values]
    return known + sorted(g for g in values if g not in GROUP_ORDER)
