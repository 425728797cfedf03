"""What the diagnosis finds, per frequency group and for the run, and its
printed and JSON forms."""
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

#: ``G_j >= 1 - SATURATION_TOL`` counts as "at 1" (EFL is focal loss there:
#: ``gamma_j - gamma_b = s * SATURATION_TOL``, 0.008 at ``s = 8``).
SATURATION_TOL = 1e-3


@dataclass
class GroupState:
    """What is known about one frequency group.

    Attributes:
        name: ``'rare'``, ``'common'``, ``'frequent'`` or ``'all'``.
        num_categories: categories in the group (checkpoint), or None.
        share_saturated: share of its categories with ``G_j`` at 1
            (checkpoint), or None when only the log's mean is known.
        mean_grad_ratio: the group mean of ``G_j`` at the end.
        mean_gamma: the group mean of ``gamma_j`` at the end (None for
            losses without a focusing factor, e.g. EQLv2).
        saturated_since: the first iteration from which the group mean
            stayed at 1 until the end; None if it is not at 1 at the end.
        min_grad_ratio: the lowest logged group mean and its iteration.
        recent_one_minus_ratio: ``1 - pos/neg`` of the per-iteration masses
            between the last two checkpoints (group median), or None.
        predicted_one_minus_ratio: ``lambda_b |b_j| / neg_j`` for the same
            window (group median), or None.
        num_unseen: categories without any positive gradient yet (``G_j =
            0`` by definition, not by imbalance), from the checkpoint.
    """
    name: str
    num_categories: Optional[int] = None
    share_saturated: Optional[float] = None
    mean_grad_ratio: Optional[float] = None
    mean_gamma: Optional[float] = None
    saturated_since: Optional[int] = None
    min_grad_ratio: Optional[Tuple[float, int]] = None
    recent_one_minus_ratio: Optional[float] = None
    predicted_one_minus_ratio: Optional[float] = None
    num_unseen: Optional[int] = None


@dataclass
class Diagnosis:
    """The diagnosis of one run: the groups' states and the run's
    optimiser facts (from :func:`~.computation.diagnose`), and the verdict,
    its reason and the advice (from :func:`~.verdict.judge`).
    :meth:`format` gives the printed report, :meth:`to_dict` the JSON."""
    loss: str
    iterations: Optional[int]
    groups: Dict[str, GroupState]
    verdict: str = ''
    reason: str = ''
    advice: List[str] = field(default_factory=list)
    bias_decay: Optional[float] = None
    classifier_exposure: Optional[float] = None
    optimizer: Optional[str] = None

    def format(self) -> str:
        """The report the command prints: a table of the groups, the
        stationarity check, the optimiser facts and the verdict."""
        lines = [f'EFL diagnosis of {self.loss}'
                 + (f' after {self.iterations} iterations'
                    if self.iterations else '')]
        head = (f'  {"group":<9} {"cats":>5} {"at G=1":>7} {"unseen":>6} '
                f'{"mean G":>8} {"mean gamma":>10} {"saturated since":>16}')
        lines.append(head)
        for g in self.groups.values():
            share = '-' if g.share_saturated is None else \
                f'{100 * g.share_saturated:.0f}%'
            since = 'not saturated' if g.saturated_since is None else \
                f'iter {g.saturated_since}'
            lines.append(
                f'  {g.name:<9} {_fmt(g.num_categories, "d"):>5} '
                f'{share:>7} {_fmt(g.num_unseen, "d"):>6} '
                f'{_fmt(g.mean_grad_ratio, ".3f"):>8} '
                f'{_fmt(g.mean_gamma, ".2f"):>10} {since:>16}')
        if any(g.recent_one_minus_ratio is not None
               for g in self.groups.values()):
            lines.append('  stationarity between the last two checkpoints '
                         '(group medians): 1 - pos/neg per iteration vs '
                         'lambda_b |b_j| / neg')
            for g in self.groups.values():
                if g.recent_one_minus_ratio is not None:
                    lines.append(
                        f'    {g.name:<9} '
                        f'{g.recent_one_minus_ratio:9.3g} vs '
                        f'{_fmt(g.predicted_one_minus_ratio, ".3g")}')
        if any(g.num_unseen for g in self.groups.values()):
            lines.append('  (unseen: categories without a positive sample '
                         'yet; their G_j is 0 by definition)')
        if self.optimizer == 'Adam':
            lines.append('  the classifier is trained with an Adam-type '
                         'optimiser: its decoupled weight decay is not the '
                         'lambda_b b_j term of SGD that the stationarity '
                         'relation uses, so no prediction is shown')
        if self.classifier_exposure is not None:
            lines.append(f'  classifier bias decay {self.bias_decay:g}, '
                         'weight-decay exposure Lambda = sum_t lr_t lambda '
                         f'= {self.classifier_exposure:.3g}')
        lines.append(f'verdict: {self.verdict}')
        lines.append(f'  because {self.reason}')
        if self.advice:
            lines.append('  to move the run back into EFL\'s regime:')
            lines.extend(f'   - {a}' for a in self.advice)
        return '\n'.join(lines)

    def to_dict(self) -> dict:
        """The diagnosis as JSON-ready builtins (the command's
        ``efl_diagnosis.json``)."""
        return dict(loss=self.loss, iterations=self.iterations,
                    verdict=self.verdict, reason=self.reason,
                    advice=list(self.advice), bias_decay=self.bias_decay,
                    optimizer=self.optimizer,
                    classifier_exposure=self.classifier_exposure,
                    groups={k: vars(v) for k, v in self.groups.items()})


def _fmt(value, spec: str) -> str:
    return '-' if value is None else format(value, spec)
