"""Synchronises and logs the gradient statistics of category-adaptive losses.

EFL, EQFL and EQLv2&Focal steer every category by its accumulated gradient
ratio (EFL eq. 3). Each rank sees different images, so without
synchronisation the ranks' focusing factors drift apart. After every training
iteration this hook averages the iteration sums of *all* such losses in the
model over the ranks in a single collective (all-reduce, MEAN), then folds
them into the running sums, so that every rank holds identical state.

Why the mean. EFL's reference code all-reduces with SUM. Each rank's loss is
normalised by the all-ranks mean number of positives (mmdet's ``avg_factor``)
and DDP applies the mean of the ranks' gradients, so the summed statistics
are W times those of the gradient DDP applies (W = world size) and depend on
W: resuming on another number of GPUs would reweight the iterations before
and after. The mean equals the statistics of the applied gradient, i.e. of
one process trained on the same images, on any number of ranks. ``G_j`` is a
ratio of two such sums, so it, and with it the behaviour of EFL, EQFL and
EQLv2&Focal, is the reference's (up to rounding and the ``1e-10`` in its
denominator); only the logged or saved sums differ, by the factor W.

The hook also logs, per LVIS frequency group, the mean focusing factor and
gradient ratio to the message hub, from where they reach the text log and
TensorBoard.

Where the config registers no :class:`CategoryCheckHook`, this hook runs
that hook's training checks (dataset categories against ``num_classes``, a
resumed checkpoint's shapes), so that a wrong number of classes never
trains a category-adaptive loss silently.

It also keeps the statistics right where MMEngine's other machinery touches
them:

* checkpoints: it runs before every ``CheckpointHook`` whatever priority it
  is given, so a checkpoint always holds this iteration's synchronised sums
  (``Runner.save_checkpoint`` runs on rank 0 only, where no collective is
  possible);
* AMP: before every iteration it hands the optimiser wrapper's current loss
  scale to the losses, which divide it out of element-wise upstream
  gradients (see :class:`CategoryAdaptiveLoss`). A step that the loss
  scaler skips (inf/NaN gradients) trained nothing, so its statistics are
  dropped; static loss scales (``loss_scale=512.``) skip steps too, without
  changing the scale;
* EMA (``EMAHook``, e.g. ``update_buffers=True`` in the YOLOX configs): the
  statistics are training state, not weights. The EMA model shares the live
  ``pos_grad``/``neg_grad`` tensors instead of averaging them, so
  checkpoints (``state_dict`` and ``ema_state_dict``), resuming and
  ``load_from`` all see the live, accumulated sums.
"""
import functools
from collections import OrderedDict
from typing import Dict, List, Optional

import torch
from mmengine.dist import all_reduce, get_world_size
from mmengine.hooks import CheckpointHook, EMAHook, Hook
from mmdet.registry import HOOKS
from torch import Tensor
from torch.optim import Optimizer

from mmdet_efl.datasets.longtail import frequency_groups
from mmdet_efl.models.losses import CategoryAdaptiveLoss
from .category_check_hook import CategoryCheckHook, unwrapped


def loss_scale(optim_wrapper) -> float:
    """The factor by which the optimiser wrapper multiplies the loss before
    backward: ``loss_scaler.get_scale()`` of mmengine's ``AmpOptimWrapper``
    (and :class:`CPUAmpOptimWrapper`), 1 for wrappers without a scaler."""
    scaler = getattr(optim_wrapper, 'loss_scaler', None)
    return 1.0 if scaler is None else float(scaler.get_scale())


@HOOKS.register_module()
class GradientCollectorHook(Hook):
    """All-reduces and folds EFL-family gradient statistics every iteration.

    Add it to configs that train :class:`CategoryAdaptiveLoss` losses::

        custom_hooks = [dict(type='GradientCollectorHook')]

    Args:
        log_values: log the per-group means of the losses'
            ``category_values()`` (e.g. ``gamma`` and ``grad_ratio`` for EFL)
            as ``train/<loss>/<value>_<group>`` scalars.
    """

    # Before LoggerHook (BELOW_NORMAL) so this iteration's values are logged.
    # (Before CheckpointHook in any case: see before_run.)
    priority = 'ABOVE_NORMAL'

    def __init__(self, log_values: bool = True) -> None:
        self.log_values = log_values
        self._losses: 'OrderedDict[str, CategoryAdaptiveLoss]' = OrderedDict()
        self._groups: Dict[str, List[int]] = {}
        # the optimiser whose steps are watched; (it, its own ``step``
        # attribute before, the wrapper); whether it applied a step in this
        # iteration
        self._watched: Optional[Optimizer] = None
        self._watch_handle: Optional[tuple] = None
        self._stepped = False
        # the checks it runs for a config without a CategoryCheckHook
        self._category_check = CategoryCheckHook()

    def before_run(self, runner) -> None:
        """Moves this hook before the first ``CheckpointHook``.

        The iteration's sums exist on each rank after backward and are only
        complete after the all-reduce in :meth:`after_train_iter`. A
        checkpoint saved earlier in the same iteration would miss them, and
        rank 0, the only one that saves, cannot all-reduce alone.
        """
        hooks = runner.hooks
        mine = hooks.index(self)
        first = next((i for i, hook in enumerate(hooks)
                      if isinstance(hook, CheckpointHook)), None)
        if first is not None and first < mine:
            # moving a hook to an earlier position is safe while the runner
            # iterates the list: later positions are unchanged
            hooks.insert(first, hooks.pop(mine))
            runner.logger.warning(
                f'GradientCollectorHook (priority {self.priority}) now runs '
                f'before {type(hooks[first + 1]).__name__} (priority '
                f'{hooks[first + 1].priority}), so that checkpoints hold '
                "each iteration's synchronised gradient statistics.")

    @staticmethod
    def runs_category_checks(runner) -> bool:
        """Whether this hook runs CategoryCheckHook's checks: only where
        the runner has no CategoryCheckHook, which owns them (and its
        ``ignore``)."""
        return not any(isinstance(hook, CategoryCheckHook)
                       for hook in runner.hooks)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if self.runs_category_checks(runner):
            self._category_check.after_load_checkpoint(runner, checkpoint)

    def before_train(self, runner) -> None:
        if self.runs_category_checks(runner):
            self._category_check.before_train(runner)
        self._losses = OrderedDict(
            (name, module)
            for name, module in unwrapped(runner.model).named_modules()
            if isinstance(module, CategoryAdaptiveLoss))
        if not self._losses:
            runner.logger.warning(
                'GradientCollectorHook: the model has no category-adaptive '
                'loss (EqualizedFocalLoss, EqualizedQualityFocalLoss, '
                'EQLv2FocalLoss); the hook does nothing.')
            return
        self._groups = frequency_groups(runner.train_dataloader.dataset)
        sizes = {name: len(idx) for name, idx in self._groups.items()}
        runner.logger.info(
            f'GradientCollectorHook: synchronising {list(self._losses)} '
            f'over {get_world_size()} process(es); category groups {sizes}')
        self._share_with_ema(runner)

    def _share_with_ema(self, runner) -> None:
        """Gives every ``EMAHook``'s averaged model the live statistics.

        The averaged model is a deep copy (``EMAHook.before_run``) whose
        buffers, with ``update_buffers=True``, are exponentially averaged
        and swapped into checkpoints. The running sums of a loss are not
        weights: averaged, they lag behind the sums training needs. Each
        copy's ``pos_grad``/``neg_grad`` becomes the live tensor and leaves
        the averaged set, so every swap exchanges equal values.
        """
        for hook in runner.hooks:
            averaged = getattr(hook, 'ema_model', None)
            if not isinstance(hook, EMAHook) or averaged is None:
                continue
            for name, loss in self._losses.items():
                ema_loss = averaged.module.get_submodule(name)
                for key in ('pos_grad', 'neg_grad'):
                    setattr(ema_loss, key, getattr(loss, key))
                    if averaged.update_buffers:
                        averaged.avg_parameters.pop(f'{name}.{key}', None)
            runner.logger.info(
                f'GradientCollectorHook: {type(hook).__name__} keeps the live '
                f'gradient statistics of {list(self._losses)} (not averaged)')

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch=None) -> None:
        if not self._losses:
            return
        self._watch(getattr(runner.optim_wrapper, 'optimizer', None))
        self._stepped = False
        scale = loss_scale(runner.optim_wrapper)
        for loss in self._losses.values():
            loss.set_loss_scale(scale)

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        if not self._losses:
            return
        if self.step_skipped(runner.optim_wrapper):
            # the same on every rank, as DDP's gradients are
            for loss in self._losses.values():
                loss.discard_pending()
            runner.logger.info(
                'GradientCollectorHook: AMP skipped this step (non-finite '
                "gradients); its gradient statistics are dropped")
        else:
            self.synchronise(list(self._losses.values()))
        if self.log_values:
            for name, loss in self._losses.items():
                self._log(runner, name, loss)

    def after_train(self, runner) -> None:
        self._watch(None)

    def step_skipped(self, optim_wrapper) -> bool:
        """Whether the optimiser step due in this iteration was skipped.

        ``GradScaler.step`` (of mmengine's ``AmpOptimWrapper`` and
        :class:`CPUAmpOptimWrapper`) skips the optimiser's ``step`` when the
        unscaled gradients hold inf/NaN, whatever the loss scale: a dynamic
        scale then falls, a static one (``loss_scale=512.``) stays. Fused
        optimisers (``fused=True``) skip inside their ``step``, to which
        the scaler hands ``optimizer.found_inf``. So wrapping the
        optimiser's ``step`` tells the steps it applied; a step is due when
        the optimiser wrapper updates in this iteration (``should_update()``,
        False while it accumulates gradients).

        Args:
            optim_wrapper: the runner's optimiser wrapper, after the
                iteration's ``update_params``.

        Returns:
            True if a step was due and the optimiser did not apply it; False
            for wrappers without a single torch optimiser
            (``OptimWrapperDict``), which are not watched.
        """
        return (self._watched is not None and optim_wrapper.should_update()
                and not self._stepped)

    def _watch(self, optimizer) -> None:
        """Wraps ``optimizer.step`` on the instance (none if it is not a
        torch optimiser) so that this hook sees the steps it applies, unless
        it is wrapped already, and unwraps the one watched before.

        Not ``register_step_post_hook``: in torch 2.1 the first
        ``torch.compile`` of the process removes the class-level wrapper
        that runs step hooks from every optimiser class, and they never run
        again; an instance attribute is called whatever the class holds.
        """
        optimizer = optimizer if isinstance(optimizer, Optimizer) else None
        if optimizer is self._watched:
            return
        if self._watch_handle is not None:
            watched, previous, wrapper = self._watch_handle
            if watched.__dict__.get('step') is wrapper:
                if previous is None:
                    del watched.step
                else:
                    watched.step = previous
        self._watched = optimizer
        self._watch_handle = None
        if optimizer is None:
            return
        inner = optimizer.step

        @functools.wraps(inner)
        def step(*args, **kwargs):
            out = inner(*args, **kwargs)
            found_inf = getattr(optimizer, 'found_inf', None)
            self._stepped = found_inf is None or not bool(found_inf)
            return out

        self._watch_handle = (optimizer, optimizer.__dict__.get('step'), step)
        optimizer.step = step

    @staticmethod
    def synchronise(losses: List[CategoryAdaptiveLoss]) -> bool:
        """One all-reduce (MEAN over ranks, see the module docstring) of
        every loss's iteration sums, then fold them.

        Returns False if the reduced sums were non-finite (the iteration's
        statistics are skipped on every rank alike)."""
        flat = torch.cat([loss.pending_statistics() for loss in losses])
        if get_world_size() > 1:
            # mmengine's 'mean' is SUM then division: gloo has no AVG
            all_reduce(flat, op='mean')
        ok = True
        offset = 0
        for loss in losses:
            size = 2 * loss.num_classes
            ok &= loss.fold_statistics(flat[offset:offset + size])
            offset += size
        return ok

    def _log(self, runner, name: str, loss: CategoryAdaptiveLoss) -> None:
        short = name.split('.')[-1] or type(loss).__name__
        values: Dict[str, Tensor] = loss.category_values()
        for group, labels in self._groups.items():
            labels = [i for i in labels if i < loss.num_classes]
            if not labels:
                continue
            index = torch.as_tensor(labels, device=loss.pos_grad.device)
            for key, per_class in values.items():
                runner.message_hub.update_scalar(
                    f'train/{short}/{key}_{group}',
                    float(per_class[index].mean()))
