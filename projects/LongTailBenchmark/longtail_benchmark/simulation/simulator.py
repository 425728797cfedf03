"""Trains a dense long-tailed sigmoid classifier with the package's losses.

The model is a learnable feature layer and a linear classifier,
``logits = W relu(U x + c) + b``, over the anchors of
:class:`~longtail_benchmark.simulation.world.LongTailWorld`, with the bias
at the prior (0.001, EFL's LVIS runs). Losses are built from mmdet's registry
(the package's EFL family, or mmdet's ``FocalLoss``) and called the way
mmdet's dense heads call them: labels with background ``C``, per-sample
weights and ``avg_factor`` = number of positives. Category-adaptive losses
have their iteration statistics folded by
:meth:`GradientCollectorHook.synchronise` after every step, as in a
detector run. The optimiser is MMEngine's (``SGD`` with momentum, weight
decay per parameter through ``paramwise_cfg.custom_keys``), with
``LinearLR`` warm-up and ``MultiStepLR`` steps.

Besides AP, a run measures what EFL's mechanism depends on: the gradient
ratios ``G_j`` over training, the classifier biases, the weight-decay
exposure ``Lambda = sum_t lr_t * lambda`` per parameter group, and per
category the sums that decompose ``G_j`` exactly. With ``g_t = dL/db_j``
at step ``t`` (the bias sees every logit of its category, so ``g_t =
neg_t - pos_t`` of the loss's own statistics) and ``lambda_b`` the bias
decay::

    sum_t neg_t - sum_t pos_t = sum_t (g_t + lambda_b b_t)     (drive)
                              + lambda_b sum_t |b_t|          (decay)

so ``1 - G_j = drive share + decay share`` (each divided by
``sum_t neg_t``). The drive is what moved the bias: SGD with momentum
``mu`` and lr ``lr_t`` steps ``b`` by ``-lr_t v_t`` with ``v_t = mu
v_{t-1} + g_t + lambda_b b_t``, so the drive is ``(1 - mu) sum_t v_t +
mu v_T``, negative while the bias rises. At a stationary point the drive
per iteration vanishes, which is issue 16's hypothesis
``1 - pos_j / neg_j = lambda_b |b_j| / neg_j`` (per iteration); it is
measured over a trailing window.
"""
import logging
import math
import time
from typing import Callable, Dict, Optional, Union

import numpy as np
import torch
from mmengine.logging import MMLogger
from mmengine.optim import LinearLR, MultiStepLR, build_optim_wrapper
from mmengine.registry import init_default_scope
from torch import Tensor, nn

from mmdet.registry import MODELS
from mmdet_efl.analysis.regime import (fig2_log_ratio, grad_ratio_summary,
                                       group_means)
from mmdet_efl.datasets.longtail import GROUP_ORDER
from mmdet_efl.engine.hooks.gradient_collector_hook import \
    GradientCollectorHook
from mmdet_efl.models.losses import CategoryAdaptiveLoss
from .config import SimulatorConfig
from .evaluation import lvis_style_ap
from .world import LongTailWorld

_EFL = dict(type='EqualizedFocalLoss', gamma=2.0, alpha=0.25)

#: The loss configurations of EFL Tables 3 and 4 and Table 1's baseline.
#: ``'FL'`` is EFL with ``s = 0``, which equals focal loss exactly (tests)
#: and records the ``G_j`` that EFL would see; ``'FL (mmdet)'`` is mmdet's
#: own ``FocalLoss`` (no statistics). ``num_classes`` is filled in.
LOSS_VARIANTS: Dict[str, dict] = {
    'FL': dict(_EFL, scale_factor=0.0),
    'FL (mmdet)': dict(type='FocalLoss', use_sigmoid=True, gamma=2.0,
                       alpha=0.25),
    'EFL': dict(_EFL, scale_factor=8.0),
    'EFL FF only': dict(_EFL, scale_factor=8.0, use_weighting_factor=False),
    'EFL WF only': dict(_EFL, scale_factor=8.0, use_focusing_factor=False),
    **{f'EFL s={s}': dict(_EFL, scale_factor=float(s))
       for s in (1, 2, 4, 12)},
    'EQLv2&Focal': dict(type='EQLv2FocalLoss', gamma=2.0, alpha=0.25),
}
#: EFL Table 3 rows (WF, FF, both; the baseline is FL) and Table 4's s.
TABLE3 = ('FL', 'EFL WF only', 'EFL FF only', 'EFL')
TABLE4 = {0: 'FL', 1: 'EFL s=1', 2: 'EFL s=2', 4: 'EFL s=4', 8: 'EFL',
          12: 'EFL s=12'}


class DenseClassifier(nn.Module):
    """``logits = cls(relu(features(x)))``: a learnable feature layer and a
    linear sigmoid classifier whose bias starts at ``prior_prob``."""

    def __init__(self, input_dim: int, hidden_dim: int, num_classes: int,
                 prior_prob: float, gen: torch.Generator) -> None:
        super().__init__()
        self.features = nn.Linear(input_dim, hidden_dim)
        self.cls = nn.Linear(hidden_dim, num_classes)
        with torch.no_grad():
            self.features.weight.copy_(
                torch.randn(hidden_dim, input_dim, generator=gen) /
                math.sqrt(input_dim))
            self.features.bias.zero_()
            # as mmdet's dense heads: normal(std=0.01), prior-init bias
            self.cls.weight.copy_(
                torch.randn(num_classes, hidden_dim, generator=gen) * 0.01)
            self.cls.bias.fill_(-math.log((1 - prior_prob) / prior_prob))

    def forward(self, x: Tensor) -> Tensor:
        return self.cls(torch.relu(self.features(x)))


def build_loss(loss: Union[str, dict], num_classes: int) -> nn.Module:
    """A loss from :data:`LOSS_VARIANTS` by name, or from an mmdet config
    dict; ``num_classes`` is set for the package's losses."""
    if isinstance(loss, str):
        if loss not in LOSS_VARIANTS:
            raise KeyError(f'unknown loss variant {loss!r}; known: '
                           f'{sorted(LOSS_VARIANTS)} (or pass a config '
                           'dict)')
        loss = LOSS_VARIANTS[loss]
    init_default_scope('mmdet')
    import mmdet_efl.models  # noqa: F401  (registers the losses)
    cfg = dict(loss)
    cls = MODELS.get(cfg['type'])
    if cls is None:
        raise KeyError(f'loss type {cfg["type"]!r} is not registered')
    if issubclass(cls, CategoryAdaptiveLoss):
        cfg['num_classes'] = num_classes
    return MODELS.build(cfg)


def _optimiser(model: nn.Module, cfg: SimulatorConfig):
    """MMEngine's SGD wrapper with per-parameter decay, and the warm-up and
    step schedulers."""
    cls_mult = cfg.cls_decay_mult
    optim_cfg = dict(
        type='OptimWrapper',
        optimizer=dict(type='SGD', lr=cfg.lr, momentum=cfg.momentum,
                       weight_decay=cfg.weight_decay),
        paramwise_cfg=dict(custom_keys={
            'cls.weight': dict(decay_mult=cls_mult),
            'cls.bias': dict(decay_mult=cls_mult * cfg.bias_decay_mult)
        }))
    # the constructor logs every parameter's options at INFO: once per run
    # is noise in a sweep of hundreds of runs
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        wrapper = build_optim_wrapper(model, optim_cfg)
    finally:
        logger.setLevel(level)
    milestones = [int(round(f * cfg.steps)) for f in cfg.lr_steps]
    schedulers = [MultiStepLR(wrapper, milestones=milestones,
                              gamma=cfg.lr_gamma, by_epoch=False)]
    if cfg.warmup_steps > 0:
        schedulers.insert(0, LinearLR(wrapper, start_factor=cfg.warmup_ratio,
                                      by_epoch=False, begin=0,
                                      end=cfg.warmup_steps))
    return wrapper, schedulers


def _group_of(optimizer: torch.optim.Optimizer, param: Tensor) -> dict:
    for group in optimizer.param_groups:
        if any(p is param for p in group['params']):
            return group
    raise KeyError('parameter not in the optimiser')


class _ImageSampler:
    """Training images in shuffled epochs; with repeat factor sampling each
    image appears ``ceil(r_i)`` times per epoch, as in mmdet's
    ``ClassBalancedDataset``."""

    def __init__(self, world: LongTailWorld, rfs_images: Optional[float],
                 rng: np.random.Generator) -> None:
        n = world.cfg.num_train_images
        if rfs_images is None:
            self.pool = np.arange(n)
        else:
            reps = np.ceil(world.repeat_factors(rfs_images)).astype(int)
            self.pool = np.repeat(np.arange(n), reps)
        self.rng = rng
        self.queue = np.empty(0, dtype=np.int64)

    def next(self, k: int) -> np.ndarray:
        while len(self.queue) < k:
            self.queue = np.concatenate([self.queue,
                                         self.rng.permutation(self.pool)])
        out, self.queue = self.queue[:k], self.queue[k:]
        return out


def simulate(config: SimulatorConfig,
             loss: Union[str, dict],
             seed: int = 0,
             progress: Optional[Callable[[int, int], None]] = None,
             evaluate: bool = True) -> Dict:
    """Trains and evaluates one run.

    Args:
        config: the simulator settings.
        loss: a name from :data:`LOSS_VARIANTS` or an mmdet loss config.
        seed: draws the dataset, the initial weights and the batches; the
            same seed gives the same run (it runs on one thread).
        progress: called as ``progress(step, steps)`` every iteration.
        evaluate: compute AP (the slowest part after training).

    Returns:
        A JSON-serialisable dict: ``AP, APr, APc, APf`` (%),
        ``final_grad_ratio`` and ``mean_grad_ratio`` per group,
        ``trajectory`` (``steps`` and per-group mean ``grad_ratio`` and
        bias), ``fig2_log10_ratio`` per group, ``lost_to_cap`` per group,
        ``exposure`` (Lambda of the features, ``W`` and ``b``),
        ``stationarity`` (window means of per-iteration masses, bias and
        drive), ``bias_identity`` (per category ``pos_total``,
        ``neg_total``, ``grad_sum`` = sum of ``dL/db``, ``decay_sum`` = sum
        of ``lambda_b b``, and per-group median drive and decay shares of
        ``1 - G_j``), ``per_category`` values and
        ``wall_time_s``. Keys that need gradient statistics are None for
        losses without them.
    """
    # one thread: the tensors are small, and a fixed thread count keeps the
    # matmul reductions, and so the run, the same for a seed everywhere
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _simulate(config, loss, seed, progress, evaluate)
    finally:
        torch.set_num_threads(threads)


def _simulate(config: SimulatorConfig, loss: Union[str, dict], seed: int,
              progress: Optional[Callable[[int, int], None]],
              evaluate: bool) -> Dict:
    start = time.perf_counter()
    cfg = config
    world = LongTailWorld(cfg, seed)
    C = cfg.num_classes
    gen = torch.Generator().manual_seed(int(seed) * 104729 + 3)
    model = DenseClassifier(cfg.input_dim, cfg.hidden_dim, C,
                            cfg.prior_prob, gen)
    loss_fn = build_loss(loss, C)
    adaptive = isinstance(loss_fn, CategoryAdaptiveLoss)
    wrapper, schedulers = _optimiser(model, cfg)
    bias = model.cls.bias
    bias_group = _group_of(wrapper.optimizer, bias)
    groups_by_param = [(name, _group_of(wrapper.optimizer, p))
                       for name, p in (('features', model.features.weight),
                                       ('cls_weight', model.cls.weight),
                                       ('cls_bias', bias))]
    sampler = _ImageSampler(world, cfg.rfs_images,
                            np.random.default_rng([int(seed), 3]))

    exposure = {name: 0.0 for name, _ in groups_by_param}
    # sums over iterations of dL/db (autograd) and of lambda_b * b
    grad_sum = torch.zeros(C, dtype=torch.float64)
    decay_sum = torch.zeros(C, dtype=torch.float64)
    window_start = cfg.steps - max(1, int(round(cfg.window * cfg.steps)))
    win = {k: torch.zeros(C, dtype=torch.float64)
           for k in ('pos', 'neg', 'bias', 'drive')}
    win_n = 0
    rec_steps, rec_ratio, rec_bias = [], [], []

    for step in range(cfg.steps):
        x, labels, weight, num_pos = world.train_batch(
            sampler.next(cfg.images_per_step), gen)
        value = loss_fn(model(x), labels, weight=weight,
                        avg_factor=max(num_pos, 1))
        for name, group in groups_by_param:
            exposure[name] += group['lr'] * group['weight_decay']
        b_now = bias.detach().double().clone()
        decay = bias_group['weight_decay'] * b_now
        wrapper.backward(value)
        grad = bias.grad.detach().double()
        wrapper.step()
        wrapper.zero_grad()
        grad_sum += grad
        decay_sum += decay
        if step >= window_start:
            win['bias'] += b_now
            win['drive'] += grad + decay
            win_n += 1
        if adaptive:
            pending = loss_fn.pending_statistics().double()
            GradientCollectorHook.synchronise([loss_fn])
            if step >= window_start:
                win['pos'] += pending[:C]
                win['neg'] += pending[C:]
        for sched in schedulers:
            sched.step()
        if adaptive and ((step + 1) % cfg.record_every == 0
                         or step + 1 == cfg.steps):
            rec_steps.append(step + 1)
            rec_ratio.append(loss_fn.gradient_ratio().double().numpy())
            rec_bias.append(bias.detach().double().numpy().copy())
        if progress is not None:
            progress(step + 1, cfg.steps)

    out = dict(loss=loss if isinstance(loss, str) else dict(loss),
               seed=int(seed), config=cfg.to_dict(),
               num_classes=C, groups={k: list(map(int, v))
                                      for k, v in world.groups.items()},
               exposure=exposure)
    pos_counts, neg_counts = world.sample_counts()
    per_cat_fig2, out['fig2_log10_ratio'] = fig2_log_ratio(
        pos_counts, neg_counts, world.groups)
    b_final = bias.detach().double()
    per_category = dict(
        frequency=list(world.frequency),
        image_count=world.image_counts.tolist(),
        family=world.family.tolist(),
        bias=b_final.tolist(),
        fig2_log10_ratio=per_cat_fig2)
    if adaptive:
        ratios = np.stack(rec_ratio)
        summary = grad_ratio_summary(rec_steps, ratios, world.groups)
        out['final_grad_ratio'] = summary['final']
        out['mean_grad_ratio'] = summary['mean']
        out['trajectory'] = dict(
            steps=rec_steps,
            grad_ratio={g: [group_means(r, world.groups)[g] for r in ratios]
                        for g in _present(world.groups)},
            bias={g: [group_means(b, world.groups)[g] for b in rec_bias]
                  for g in _present(world.groups)})
        if cfg.record_per_category:
            out['trajectory']['per_category'] = dict(
                grad_ratio=ratios.tolist(),
                bias=np.stack(rec_bias).tolist())
        per_category['grad_ratio'] = ratios[-1].tolist()
        per_category.update({k: v.double().numpy().tolist() for k, v in
                             loss_fn.category_values().items()
                             if k != 'grad_ratio'})
        out['stationarity'] = _window_stationarity(
            win, win_n, bias_group['weight_decay'], world.groups)
        neg_total = loss_fn.neg_grad.double()
        out['bias_identity'] = dict(
            pos_total=loss_fn.pos_grad.double().tolist(),
            neg_total=neg_total.tolist(),
            grad_sum=grad_sum.tolist(), decay_sum=decay_sum.tolist(),
            decay_share=_group_medians(-decay_sum / neg_total,
                                       world.groups),
            drive_share=_group_medians((grad_sum + decay_sum) / neg_total,
                                       world.groups))
    else:
        out['final_grad_ratio'] = out['mean_grad_ratio'] = None
        out['trajectory'] = out['stationarity'] = None
        out['bias_identity'] = dict(grad_sum=grad_sum.tolist(),
                                    decay_sum=decay_sum.tolist())
    out['bias_mean'] = group_means(b_final.numpy(), world.groups)
    out['train_time_s'] = time.perf_counter() - start
    if evaluate:
        out.update(_evaluate(model, world, seed))
        per_category['AP'] = out.pop('per_category_AP')
    out['per_category'] = per_category
    out['wall_time_s'] = time.perf_counter() - start
    return out


def _present(groups: Dict[str, list]) -> list:
    return [g for g in GROUP_ORDER if groups.get(g)]


def _group_medians(values: Tensor, groups: Dict[str, list]
                   ) -> Dict[str, float]:
    return {g: float(values[torch.as_tensor(groups[g])].median())
            for g in _present(groups)}


def _window_stationarity(win: Dict[str, Tensor], n: int,
                         bias_decay: float,
                         groups: Dict[str, list]) -> Dict:
    """Window means of the per-iteration masses, bias and bias drive
    ``dL/db + lambda_b b``, and the two sides of the stationary relation
    ``1 - pos/neg = lambda_b |b| / neg`` (which assumes zero drive)."""
    n = max(n, 1)
    pos, neg = win['pos'] / n, win['neg'] / n
    bias, drive = win['bias'] / n, win['drive'] / n
    safe = neg.clamp(min=1e-300)
    measured = 1 - pos / safe
    predicted = bias_decay * bias.abs() / safe
    return dict(
        window_steps=n, bias_decay=bias_decay,
        pos_per_iter=pos.tolist(), neg_per_iter=neg.tolist(),
        bias_mean=bias.tolist(), drive_per_iter=drive.tolist(),
        one_minus_ratio=measured.tolist(), predicted=predicted.tolist(),
        group_median={g: dict(one_minus_ratio=m, predicted=p,
                              drive_share=d)
                      for g, m, p, d in zip(
                          _present(groups),
                          _group_medians(measured, groups).values(),
                          _group_medians(predicted, groups).values(),
                          _group_medians(drive / safe, groups).values())})


@torch.no_grad()
def _evaluate(model: nn.Module, world: LongTailWorld, seed: int) -> Dict:
    cfg, ev = world.cfg, world.eval
    k = cfg.eval_anchors_per_object
    probs = torch.sigmoid(model(ev['anchors']))
    object_scores = probs.view(-1, k, world.num_classes).amax(dim=1)
    near = torch.sigmoid(model(ev['near']))
    background = torch.sigmoid(model(ev['background']))
    return lvis_style_ap(object_scores, near, background, ev['image'],
                         ev['label'], ev['num_images'], world.groups,
                         max_dets=cfg.max_dets,
                         federated_negatives=cfg.federated_negatives,
                         seed=seed)
