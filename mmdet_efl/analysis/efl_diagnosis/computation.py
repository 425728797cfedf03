"""The diagnosis: the log's per-group course of ``G_j`` and the
checkpoints' per-category values, combined per frequency group.

The per-category values of a checkpoint's sums come from the trained loss
itself (:meth:`CategoryAdaptiveLoss.category_values`), so every loss of the
family is read by its own rule of ``G_j`` and ``gamma_j``. Between the last
two checkpoints the per-iteration masses test the stationarity relation
``1 - pos_j / neg_j = lambda_b |b_j| / neg_j`` of the classification bias
``b_j`` under SGD weight decay ``lambda_b``.
"""
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import torch

from ...datasets.longtail import GROUP_ORDER
from ...models.losses import CategoryAdaptiveLoss
from ...utils.compat import trapezoid
from .checkpoints import CheckpointState
from .report import SATURATION_TOL, Diagnosis, GroupState
from .run_log import log_group_series
from .verdict import judge


def saturated_since(steps: Sequence[int], values: Sequence[float],
                    tol: float = SATURATION_TOL) -> Optional[int]:
    """The first step from which every later value is ``>= 1 - tol``, or
    None if the last value is below it."""
    if not len(values):
        return None
    since = None
    for step, value in zip(steps, values):
        if value >= 1 - tol:
            if since is None:
                since = int(step)
        else:
            since = None
    return since


def build_criterion(loss_cfg: Optional[Mapping], num_classes: int
                    ) -> Optional[CategoryAdaptiveLoss]:
    """The trained loss, built from its config for ``num_classes``
    categories (the length of the checkpoint's sums, whatever the config
    says), to map the checkpoint's sums to ``G_j`` and ``gamma_j`` by its
    own rule; None without a config or for a loss that is not category
    adaptive (e.g. focal loss).

    Raises:
        ValueError: the loss refuses an argument of the config (its own
            checks, naming the argument).
    """
    if not loss_cfg:
        return None
    from mmdet.registry import MODELS
    kind = loss_cfg.get('type')
    cls = kind if isinstance(kind, type) else MODELS.get(kind)
    if cls is None or not issubclass(cls, CategoryAdaptiveLoss):
        return None
    return MODELS.build(dict(loss_cfg, num_classes=num_classes))


def category_values(criterion: Optional[CategoryAdaptiveLoss],
                    state: CheckpointState) -> Dict[str, np.ndarray]:
    """The per-category values (``grad_ratio`` ``G_j``, and EFL's
    ``gamma`` ``gamma_j``, each ``[C]``) of a checkpoint's sums, as the
    trained loss computes them (:meth:`CategoryAdaptiveLoss.category_values`:
    EFL clamps ``G_j`` to ``[0, 1]`` and starts it at 1, EQLv2&Focal starts
    it at 100 unclamped). Without the loss (``criterion`` None):
    ``G_j`` by EFL eq. 3, no ``gamma_j``."""
    if criterion is None:
        criterion = CategoryAdaptiveLoss(len(state.pos_grad))
    values = criterion.category_values(torch.from_numpy(state.pos_grad),
                                       torch.from_numpy(state.neg_grad))
    return {k: v.numpy() for k, v in values.items()}


def diagnose(records: Optional[List[dict]] = None,
             checkpoints: Sequence[CheckpointState] = (),
             groups: Optional[Mapping[str, Sequence[int]]] = None,
             criterion: Optional[CategoryAdaptiveLoss] = None,
             loss: Optional[str] = None,
             lr_series: Optional[Tuple[List[int], List[float]]] = None
             ) -> Diagnosis:
    """Combines the log and the checkpoints into a :class:`Diagnosis`,
    verdict included.

    Args:
        records: the work dir's ``scalars.json`` records, or None.
        checkpoints: states of the same loss, oldest first.
        groups: labels per frequency group (for per-category checkpoint
            values); None puts every category in ``'all'``.
        criterion: the trained loss (:func:`build_criterion`), whose rule
            gives ``G_j`` and ``gamma_j`` of the checkpoints' sums (see
            :func:`category_values`; None: ``G_j`` by EFL eq. 3 and no
            ``gamma_j`` from checkpoints).
        loss: which logged loss to read when the log has several.
        lr_series: ``(steps, lr)`` of the classifier, for its exposure.

    Raises:
        ValueError: neither source holds EFL-family statistics.
    """
    series = log_group_series(records) if records else {}
    if series:
        if loss is None:
            loss = sorted(series)[0]
        if loss not in series:
            raise ValueError(f'no logged statistics of {loss!r}; logged: '
                             f'{sorted(series)}')
    if not series and not checkpoints:
        raise ValueError(
            'no EFL statistics: the log has no */grad_ratio_* scalars and no '
            'checkpoint was read. Train with custom_hooks=[dict(type='
            "'GradientCollectorHook')] and a category-adaptive loss_cls.")
    logged = series.get(loss, {})
    names = list(logged) or (list(groups) if groups else ['all'])
    names = [g for g in GROUP_ORDER if g in names] + \
        [g for g in names if g not in GROUP_ORDER]
    states = {g: GroupState(g) for g in names}
    iterations = None
    for g, what in logged.items():
        st = states[g]
        if 'grad_ratio' in what:
            steps, values = what['grad_ratio']
            st.mean_grad_ratio = values[-1]
            st.saturated_since = saturated_since(steps, values)
            i = int(np.argmin(values))
            st.min_grad_ratio = (values[i], steps[i])
            iterations = max(iterations or 0, steps[-1])
        if 'gamma' in what:
            st.mean_gamma = what['gamma'][1][-1]

    last = checkpoints[-1] if checkpoints else None
    if last is not None:
        C = len(last.pos_grad)
        cat_groups = {k: list(v) for k, v in (groups or {}).items()
                      if len(v)} or {'all': list(range(C))}
        values = category_values(criterion, last)
        ratio, gamma = values['grad_ratio'], values.get('gamma')
        for g, labels in cat_groups.items():
            st = states.setdefault(g, GroupState(g))
            idx = np.asarray(labels, dtype=int)
            st.num_categories = len(idx)
            if not len(idx):
                continue
            r = ratio[idx]
            st.share_saturated = float(np.mean(r >= 1 - SATURATION_TOL))
            st.num_unseen = int(np.sum(last.pos_grad[idx] == 0))
            if st.mean_grad_ratio is None:
                st.mean_grad_ratio = float(r.mean())
            if st.mean_gamma is None and gamma is not None:
                st.mean_gamma = float(gamma[idx].mean())
        if last.iteration is not None:
            iterations = max(iterations or 0, last.iteration)
        _checkpoint_saturation(states, checkpoints, cat_groups, criterion)
        if len(checkpoints) >= 2:
            _stationarity(states, checkpoints[-2], last, cat_groups)

    diag = Diagnosis(loss=loss or (last.loss_key if last else '?'),
                     iterations=iterations, groups=states)
    if last is not None:
        diag.bias_decay = last.bias_decay
        diag.optimizer = last.optimizer
    if lr_series is not None and diag.bias_decay is not None:
        steps, lrs = lr_series
        if len(steps) > 1:
            diag.classifier_exposure = float(
                trapezoid(lrs, steps) * diag.bias_decay)
    judge(diag)
    return diag


def _checkpoint_saturation(states: Dict[str, GroupState],
                           checkpoints: Sequence[CheckpointState],
                           cat_groups: Mapping[str, Sequence[int]],
                           criterion: Optional[CategoryAdaptiveLoss]
                           ) -> None:
    """Saturation iterations from a sequence of checkpoints, for groups the
    log does not cover: a group is saturated at a checkpoint when all its
    categories are at 1."""
    if any(c.iteration is None for c in checkpoints):
        return
    for g, labels in cat_groups.items():
        st = states[g]
        if st.saturated_since is not None or st.min_grad_ratio is not None:
            continue
        idx = np.asarray(labels, dtype=int)
        values = [float(category_values(criterion, c)['grad_ratio'][idx]
                        .min()) for c in checkpoints]
        st.saturated_since = saturated_since(
            [c.iteration for c in checkpoints], values)


def _stationarity(states: Dict[str, GroupState], prev: CheckpointState,
                  last: CheckpointState,
                  cat_groups: Mapping[str, Sequence[int]]) -> None:
    """Per-iteration masses between two checkpoints against the decay
    term of the stationarity relation."""
    if prev.iteration is None or last.iteration is None or \
            last.iteration <= prev.iteration:
        return
    span = last.iteration - prev.iteration
    pos = (last.pos_grad - prev.pos_grad) / span
    neg = (last.neg_grad - prev.neg_grad) / span
    with np.errstate(divide='ignore', invalid='ignore'):
        measured = 1 - pos / neg
        predicted = None
        if last.bias is not None and last.bias_decay is not None and \
                last.optimizer == 'SGD':
            bias = (last.bias if prev.bias is None else
                    (last.bias + prev.bias) / 2)
            predicted = last.bias_decay * np.abs(bias) / neg
    for g, labels in cat_groups.items():
        idx = np.asarray(labels, dtype=int)
        ok = idx[neg[idx] > 0]
        if not len(ok):
            continue
        states[g].recent_one_minus_ratio = float(np.median(measured[ok]))
        if predicted is not None:
            states[g].predicted_one_minus_ratio = float(
                np.median(predicted[ok]))
