"""Is EFL acting on my data? A diagnosis of a finished (or running) training.

EFL modulates category ``j`` only while its accumulated gradient ratio
``G_j`` is below 1 (EFL eq. 3: ``gamma_j = gamma_b + s (1 - G_j)``); at
``G_j = 1`` it is focal loss. The diagnosis reads what
:class:`~mmdet_efl.engine.hooks.GradientCollectorHook` leaves behind:

* the work dir's log (``vis_data/scalars.json`` of every start of the run,
  resumptions joined: the per-group means ``<loss>/grad_ratio_<group>``
  and ``<loss>/gamma_<group>``), which give the course of each group over
  training;
* checkpoints (the loss's ``pos_grad``/``neg_grad`` buffers), which give
  every category's ``G_j`` at the checkpoint, and, between two checkpoints,
  the recent per-iteration positive and negative gradient masses. With the
  classification bias and its weight decay from the checkpoint, these test
  the mechanism that keeps ``G_j`` below 1 (issue 16, measured on the
  simulator, docs/longtail/when_efl_degenerates.md): at a stationary point
  ``dL/db_j = neg_j - pos_j + lambda_b b_j = 0``, so
  ``1 - pos_j / neg_j = lambda_b |b_j| / neg_j``.

It prints, per frequency group, the share of categories at ``G_j = 1``,
the mean ``gamma_j`` and since when the group is saturated, then a verdict
with its reason and what would move the run back into EFL's regime.
"""
import os.path as osp
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import (Dict, List, Mapping, NamedTuple, Optional, Sequence,
                    Tuple)

import numpy as np
import torch

from ..datasets.longtail import (GROUP_ORDER, frequency_groups,
                                 unwrap_dataset_cfg)
from ..models.losses import CategoryAdaptiveLoss
from ..utils.compat import trapezoid
from .regime import MAX_RARE_OVER_FREQ_GRAD_RATIO, rare_over_frequent
from .training_curves import read_scalars, scalar_series

#: ``G_j >= 1 - SATURATION_TOL`` counts as "at 1" (EFL is focal loss there:
#: ``gamma_j - gamma_b = s * SATURATION_TOL``, 0.008 at ``s = 8``).
SATURATION_TOL = 1e-3
#: a run that saturated within this fraction of its iterations did so in
#: its start-up phase (the prior-initialisation surplus of positives).
EARLY_FRACTION = 0.1
#: An EFL run whose rare categories are focused at least this much more
#: than its frequent ones (mean gamma_j) is acting, whatever G_rare / G_freq:
#: EFL raises the rare categories' G_j as it acts (their positives gain
#: weight), so its own ratios stay above the regime check's 0.5 that its
#: focal-loss twin meets. A spread of 1 at gamma_b = 2 weights rare
#: categories 1.5 times as much as frequent ones (EFL eq. 4).
MIN_GAMMA_SPREAD = 1.0

_KEY = re.compile(r'^(?:train/)?(?P<loss>.+)/(?P<what>grad_ratio|gamma)_'
                  r'(?P<group>[A-Za-z0-9]+)$')


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
    #: categories without any positive gradient yet (``G_j = 0`` by
    #: definition, not by imbalance), from the checkpoint
    num_unseen: Optional[int] = None


@dataclass
class Diagnosis:
    """The diagnosis of one run; :meth:`format` prints it."""
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
        return dict(loss=self.loss, iterations=self.iterations,
                    verdict=self.verdict, reason=self.reason,
                    advice=list(self.advice), bias_decay=self.bias_decay,
                    optimizer=self.optimizer,
                    classifier_exposure=self.classifier_exposure,
                    groups={k: vars(v) for k, v in self.groups.items()})


def _fmt(value, spec: str) -> str:
    return '-' if value is None else format(value, spec)


# ----------------------------------------------------------------------
# the log
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


def log_group_series(records: List[dict]) -> Dict[str, Dict[str, Dict]]:
    """The per-group series GradientCollectorHook logged, by loss:
    ``{loss: {group: {'grad_ratio': (steps, values), 'gamma': ...}}}``."""
    found: Dict[str, Dict[str, Dict]] = {}
    keys = sorted({k for rec in records for k in rec if _KEY.match(k)})
    for key in keys:
        m = _KEY.match(key)
        series = scalar_series(records, key)
        if series[0]:
            found.setdefault(m['loss'], {}).setdefault(
                m['group'], {})[m['what']] = series
    return found


# ----------------------------------------------------------------------
# checkpoints
def find_checkpoints(work_dir: str) -> List[str]:
    """``iter_N.pth`` / ``epoch_N.pth`` of a work dir, oldest first (none
    if the folder does not exist). The work dir's name is taken literally,
    glob characters (``work_dirs/atss[efl]``) included."""
    paths = [str(path) for path in Path(work_dir).glob('*.pth')]

    def key(path: str) -> Tuple[int, int]:
        m = re.match(r'(iter|epoch)_(\d+)\.pth$', osp.basename(path))
        return (0, 0) if m is None else (1, int(m[2]))
    return sorted((p for p in paths if key(p)[0]), key=key)


@dataclass
class CheckpointState:
    """A category-adaptive loss's state in one checkpoint."""
    path: str
    iteration: Optional[int]
    loss_key: str
    pos_grad: np.ndarray
    neg_grad: np.ndarray
    #: classification bias per category, summed over its entries
    bias: Optional[np.ndarray] = None
    bias_decay: Optional[float] = None
    bias_lr: Optional[float] = None
    #: 'SGD' or 'Adam' (any optimiser with betas), None if unknown
    optimizer: Optional[str] = None


class ParameterNames(NamedTuple):
    """A model's parameter names in ``named_parameters`` order (the order
    MMEngine's optimiser constructor adds them in): all of them, and the
    trainable ones: with one group per parameter, some MMEngine releases
    (0.10.3) give frozen parameters groups too, others (0.10.7) leave them
    out."""
    all: List[str]
    trainable: List[str]


def read_checkpoint(path: str, loss_key: Optional[str] = None,
                    param_names: Optional[ParameterNames] = None
                    ) -> CheckpointState:
    """The gradient statistics of ``loss_key`` (found by its ``pos_grad``
    buffer when None) and, where it can be told, the per-category
    classification bias, its weight decay and the optimiser type.

    Args:
        path: a checkpoint of MMEngine's ``CheckpointHook``.
        loss_key: the loss module's name (``bbox_head.loss_cls``).
        param_names: the model's parameter names
            (:func:`parameter_names`), to find the bias's optimiser group
            when there is one group per parameter.

    Raises:
        KeyError: the checkpoint holds no category-adaptive loss state, or
            several and ``loss_key`` is not given.
    """
    from mmengine.runner import CheckpointLoader
    ckpt = CheckpointLoader.load_checkpoint(path, map_location='cpu')
    state = ckpt.get('state_dict', ckpt)
    keys = [k[:-len('.pos_grad')] for k in state if k.endswith('.pos_grad')]
    if loss_key is None:
        if len(keys) != 1:
            raise KeyError(
                f'{path}: ' + ('holds no category-adaptive loss state '
                               '(*.pos_grad); was it trained with EFL, EQFL '
                               'or EQLv2&Focal?' if not keys else
                               f'holds several losses {keys}; pick one with '
                               '--loss-key'))
        loss_key = keys[0]
    if loss_key + '.pos_grad' not in state:
        raise KeyError(f'{path}: no {loss_key}.pos_grad (losses with '
                       f'statistics: {keys})')
    pos = state[loss_key + '.pos_grad'].double().numpy()
    neg = state[loss_key + '.neg_grad'].double().numpy()
    meta = ckpt.get('meta', {}) or {}
    it = meta.get('iter')
    out = CheckpointState(path=path, iteration=None if it is None else
                          int(it), loss_key=loss_key, pos_grad=pos,
                          neg_grad=neg)
    names, bias = classifier_bias(state, len(pos))
    if bias is not None:
        out.bias = bias
        group = _param_group_of(ckpt, names[0], param_names)
        if group is not None:
            out.bias_decay = group.get('weight_decay')
            out.bias_lr = group.get('lr')
            # Adam-type groups carry betas; their decay is not the coupled
            # lambda * b of SGD that the stationarity relation assumes
            out.optimizer = 'Adam' if 'betas' in group else 'SGD'
    return out


def classifier_bias(state: Mapping[str, torch.Tensor], num_classes: int
                    ) -> Tuple[Optional[List[str]], Optional[np.ndarray]]:
    """The final classification layer's bias per category, summed over
    every entry of the category.

    The layer is a ``*cls*.bias`` parameter (not of a ``*_convs`` tower)
    with ``k * C`` entries: ``k`` anchors per location, channel ``a * C +
    c`` as mmdet orders them, or one ``cls_branches.<i>`` per decoder layer
    in DETR-like heads. The statistics of the loss add the gradients of all
    of them, so the stationarity relation holds for their sum. None if no
    such parameter is found."""
    names = [k for k, v in state.items()
             if k.endswith('.bias') and 'cls' in k and '_convs.' not in k
             and 'loss' not in k and v.dim() == 1 and v.numel() > 0
             and v.numel() % num_classes == 0]
    if not names:
        return None, None
    total = sum(state[k].double().numpy().reshape(-1, num_classes).sum(0)
                for k in names)
    return names, total


def _param_group_of(ckpt: dict, name: str,
                    param_names: Optional[ParameterNames]) -> Optional[dict]:
    """The checkpoint's optimiser group of parameter ``name``: the only
    group, or, given the model's parameter names, the group holding its
    index among those the groups count. None when it can not be told."""
    optim = ckpt.get('optimizer')
    if not optim or 'param_groups' not in optim:
        return None
    groups = optim['param_groups']
    if len(groups) == 1:
        return groups[0]
    if param_names is None:
        return None
    total = sum(len(g['params']) for g in groups)
    order = next((names for names in (param_names.trainable,
                                      param_names.all)
                  if len(names) == total and name in names), None)
    if order is None:
        return None
    index = list(order).index(name)
    return next((g for g in groups if index in g['params']), None)


def parameter_names(cfg) -> ParameterNames:
    """A config's parameter names, all and trainable, in the order
    MMEngine's optimiser constructor indexes them (the model is built, not
    loaded)."""
    from mmengine.registry import init_default_scope

    from mmdet.registry import MODELS
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    model = MODELS.build(cfg.model)
    named = list(model.named_parameters())
    return ParameterNames(all=[n for n, _ in named],
                          trainable=[n for n, p in named if p.requires_grad])


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
                    state: 'CheckpointState') -> Dict[str, np.ndarray]:
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


# ----------------------------------------------------------------------
def diagnose(records: Optional[List[dict]] = None,
             checkpoints: Sequence[CheckpointState] = (),
             groups: Optional[Mapping[str, Sequence[int]]] = None,
             criterion: Optional[CategoryAdaptiveLoss] = None,
             loss: Optional[str] = None,
             lr_series: Optional[Tuple[List[int], List[float]]] = None
             ) -> Diagnosis:
    """Combines the log and the checkpoints into a :class:`Diagnosis`.

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
    _verdict(diag)
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


def _verdict(diag: Diagnosis) -> None:
    states = diag.groups
    final = {g: s.mean_grad_ratio for g, s in states.items()
             if s.mean_grad_ratio is not None}
    saturated = {g: s for g, s in states.items()
                 if s.mean_grad_ratio is not None
                 and s.mean_grad_ratio >= 1 - SATURATION_TOL}
    exposure = diag.classifier_exposure
    advice = [
        'more weight-decay exposure of the classification bias, '
        'Lambda_b = sum_t lr_t * lambda_b'
        + (f' (this run: {exposure:.3g})' if exposure is not None else '')
        + ', with the same recipe for every loss, e.g. '
        "optim_wrapper.paramwise_cfg.custom_keys={'bbox_head.<cls layer>"
        ".bias': dict(decay_mult=...)}. On the simulator the regime switched "
        'on between Lambda 0.012 and 0.04 (stock decay on a short run: '
        '0.004; LVIS 2x: ~0.25), decay of the bias alone gave it without '
        'costing focal loss any AP, decay of the weights alone did nothing '
        'to G_j, and too much (Lambda ~1) collapses rare classifiers',
        'a longer schedule at the same decay (the sums never forget the '
        'start-up surplus of positive gradient at prior initialisation)',
        'data closer to LVIS: rare categories that must be learned from '
        'their own few images, many categories and anchors per image '
        '(a rare category\'s small gradient mass against the decay term is '
        'what keeps its G_j low)',
    ]
    mechanism = (
        'Exactly, 1 - G_j = (lambda_b sum_t |b_j| + sum_t (dL/db_j + '
        'lambda_b b_j)) / sum_t neg_j: the second (drive) term is what moved '
        'the bias and is negative while it rises, as it does at the start. '
        'After the start-up only weight decay on the classifier (the first '
        'term) keeps G_j below 1.')
    N = diag.iterations
    if final and len(saturated) == len(final):
        since = max((s.saturated_since for s in saturated.values()
                     if s.saturated_since is not None), default=None)
        early = since is not None and N and since <= EARLY_FRACTION * N
        diag.verdict = ('EFL has reduced to focal loss' +
                        (f' since iteration {since}' if since is not None
                         else '') + ': every group is at G_j = 1, so '
                        'gamma_j = gamma_b and the weight is 1.')
        diag.reason = (
            'each category\'s accumulated positive gradient has caught up '
            'with its negative gradient. '
            + ('It happened in the start-up phase: at prior initialisation '
               '(p ~ 0.001) one positive\'s gradient outweighs one '
               'negative\'s by ~1e8, and the sums never decay. '
               if early else '')
            + mechanism + ' Here it is too small.')
        diag.advice = advice
        return
    ratio = None
    if 'rare' in final and 'frequent' in final:
        ratio = rare_over_frequent(final)
    gammas = [states[g].mean_gamma if g in states else None
              for g in ('rare', 'frequent')]
    spread = None if None in gammas else gammas[0] - gammas[1]
    if spread is not None and spread >= MIN_GAMMA_SPREAD:
        diag.verdict = (
            f'EFL is acting: rare categories are focused with mean gamma_j '
            f'= {gammas[0]:.2f} against {gammas[1]:.2f} for frequent ones '
            f'(spread {spread:.2f} >= {MIN_GAMMA_SPREAD}; G_rare / G_freq = '
            f'{ratio:.2f}).')
        diag.reason = (
            'the rare categories\' negatives keep outweighing their '
            'positives: the weight decay on the classifier is large against '
            'their small gradient mass. EFL itself raises G_rare as it '
            'weights their positives up, so judge it by gamma_j; the '
            f'regime check (G_rare / G_freq <= '
            f'{MAX_RARE_OVER_FREQ_GRAD_RATIO}) applies to its focal-loss '
            'twin (EFL with scale_factor=0). ' + mechanism)
        return
    if ratio is not None and ratio <= MAX_RARE_OVER_FREQ_GRAD_RATIO:
        gamma = states['rare'].mean_gamma
        diag.verdict = ('EFL is acting: G_rare / G_freq = '
                        f'{ratio:.2f} <= {MAX_RARE_OVER_FREQ_GRAD_RATIO}'
                        + (f', rare categories are focused with mean '
                           f'gamma_j = {gamma:.2f}' if gamma is not None
                           else '') + '.')
        diag.reason = ('the rare categories\' negatives keep outweighing '
                       'their positives, as on LVIS: the weight decay on '
                       'the classifier is large against their small '
                       'gradient mass. ' + mechanism)
        return
    low = min(final, key=final.get) if final else None
    diag.verdict = ('EFL acts weakly: some categories are below G_j = 1 '
                    f'(lowest group mean: {low} {final[low]:.3f})'
                    if low is not None else 'EFL state unknown')
    unseen = sum(s.num_unseen or 0 for s in states.values())
    diag.reason = (
        ('rare categories are not clearly below frequent ones '
         f'(G_rare / G_freq = {ratio:.2f} > '
         f'{MAX_RARE_OVER_FREQ_GRAD_RATIO}). ' if ratio is not None else '')
        + (f'{unseen} categories have no positive yet (G_j = 0 by '
           'definition). ' if unseen else '')
        + mechanism + ' Here it is small, or the run is still in its '
        'start-up (check that G_j still falls).')
    diag.advice = advice


# ----------------------------------------------------------------------
def train_groups(cfg, ann_file: Optional[str] = None,
                 data_root: Optional[str] = None) -> Dict[str, List[int]]:
    """Labels per LVIS frequency group of a config's training set, as
    GradientCollectorHook forms them (``{'all': ...}`` without frequency
    information). Only the annotations are parsed: no pipeline runs, so a
    config without a test split works too."""
    import copy

    from mmengine.registry import init_default_scope

    from mmdet.registry import DATASETS
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    data_cfg = copy.deepcopy(unwrap_dataset_cfg(cfg.train_dataloader.dataset))
    data_cfg.pipeline = []
    data_cfg.pop('filter_cfg', None)
    if ann_file is not None:
        data_cfg.ann_file = ann_file
    if data_root is not None:
        data_cfg.data_root = data_root
    return frequency_groups(DATASETS.build(data_cfg))


def diagnose_work_dir(work_dir: str,
                      checkpoints: Optional[Sequence[str]] = None,
                      groups: Optional[Mapping[str, Sequence[int]]] = None,
                      loss_cfg: Optional[Mapping] = None,
                      loss_key: Optional[str] = None,
                      param_names: Optional[ParameterNames] = None,
                      records: Optional[List[dict]] = None) -> Diagnosis:
    """:func:`diagnose` from a work dir: its logs (every start of a resumed
    run, :func:`~mmdet_efl.analysis.training_curves.read_scalars`) and its
    last two checkpoints (or ``checkpoints``).

    Args:
        work_dir: the run's ``work_dir``.
        checkpoints: checkpoint files to read instead of the work dir's.
        groups: labels per frequency group (e.g. from
            :func:`~mmdet_efl.datasets.longtail.frequency_groups` of the
            training set); None: the log's groups, and ``'all'`` for
            per-category values.
        loss_cfg: the loss's config (:func:`build_criterion`), for its
            rule of ``G_j`` and ``gamma_j``.
        loss_key: the loss module's name in the checkpoint (found when
            there is one).
        param_names: see :func:`read_checkpoint`.
        records: the work dir's log records if already read.
    """
    if records is None:
        try:
            records = read_scalars(work_dir)
        except FileNotFoundError:  # checkpoints only
            records = None
    paths = list(checkpoints) if checkpoints is not None else \
        find_checkpoints(work_dir)[-2:]
    states = []
    for path in paths:
        try:
            states.append(read_checkpoint(path, loss_key, param_names))
        except KeyError:  # e.g. a focal-loss run: said by diagnose()
            if loss_key is not None:
                raise
    criterion = build_criterion(loss_cfg, len(states[-1].pos_grad)) \
        if states else None
    lr = scalar_series(records, 'lr') if records else None
    loss = None
    if records:
        logged = log_group_series(records)
        if states and logged:
            short = states[-1].loss_key.split('.')[-1]
            loss = short if short in logged else None
    return diagnose(records, states, groups, criterion, loss,
                    lr_series=lr if lr and lr[0] else None)


def plot_diagnosis(records: Optional[List[dict]], diag: Diagnosis,
                   out_file: str) -> dict:
    """Per-group mean ``G_j`` over training from the log; returns the
    diagnosis as a dict."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    from mmdet_efl.utils.figures import save_figure
    series = log_group_series(records).get(diag.loss, {}) if records else {}
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for group, what in series.items():
        if 'grad_ratio' in what:
            ax.plot(*what['grad_ratio'], label=group)
    ax.axhline(1.0, color='grey', linewidth=0.8, linestyle=':')
    ax.set_xlabel('iteration')
    ax.set_ylabel('group mean of G_j')
    ax.set_title(diag.verdict.split(':')[0], fontsize=9)
    ax.grid(alpha=0.3)
    if series:
        ax.legend()
    save_figure(fig, out_file)
    return diag.to_dict()
