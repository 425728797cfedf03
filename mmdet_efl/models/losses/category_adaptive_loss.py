"""Shared machinery of the losses whose modulation follows gradient statistics.

EFL (EFL eq. 3), EQFL (EFL appendix A) and EQLv2&Focal (EFL Table 1) all
steer each category by the accumulated gradient ratio

    G_j = pos_grad[j] / (neg_grad[j] + 1e-10)

of that category's positive to negative samples. This module holds the state
(``pos_grad``/``neg_grad`` buffers, so it lives in ``state_dict()`` and every
checkpoint), validates the inputs mmdet heads pass, and runs the fused kernel
inside an ``autograd.Function`` whose backward both returns the exact
gradient and records its per-category statistics. Statistics therefore only
count when a loss term is back-propagated: forward-only calls (PAA candidate
scoring, evaluation, ``torch.no_grad``) leave them untouched.

Accumulation is two-stage. Backward adds to *pending* iteration sums. They are
folded into the running sums by :class:`GradientCollectorHook` after each
training iteration, averaged over the ranks by one all-reduce (the
statistics of the gradient DDP applies; EFL's reference code sums, which
scales them, not G_j, by the world size) so that every rank holds identical
state. In a single process the loss also folds them by
itself before its next forward and before ``state_dict()``, so it works in
a plain training loop without the hook. Under DDP without the hook it
raises instead of letting the ranks drift apart.
"""
import warnings
from typing import Dict, Optional, Tuple, Union

import torch
from mmengine.dist import get_world_size
from torch import Tensor, nn

from .category_statistics import category_sums
from .focal_formula import FocalTerms
from .modulated_focal import modulated_focal_loss
from .utils import (FINITE, POSITIVE, POSITIVE_INT, REDUCTION, SIGMOID,
                    check_arguments, check_finite, check_labels, check_pred,
                    check_target, normalise_weight, reduction_denominator)

_EPS = 1e-10


class _ModulatedFocalFunction(torch.autograd.Function):
    """Loss forward with a precomputed closed-form gradient for backward.

    The stored gradient stays in the compute dtype (float32) and is rounded
    to ``pred``'s dtype only after the upstream gradient (an AMP loss scale
    included) is applied, so half-precision logits lose no more of it than
    one rounding.
    """

    @staticmethod
    def forward(ctx, pred: Tensor, owner: 'CategoryAdaptiveLoss',
                kwargs: dict) -> Tensor:
        loss, grad, stats = modulated_focal_loss(pred, need_grad=True,
                                                 **kwargs)
        ctx.save_for_backward(grad)
        ctx.owner = owner
        ctx.stats = stats
        ctx.pred_dtype = pred.dtype
        ctx.labels = kwargs.get('labels')
        ctx.target = kwargs.get('target')
        return loss

    @staticmethod
    def backward(ctx, grad_output: Tensor):
        grad, = ctx.saved_tensors
        owner: CategoryAdaptiveLoss = ctx.owner
        if grad_output.dim() == 0:
            owner._add_pending(*ctx.stats, upstream=grad_output)
            if grad.dtype == ctx.pred_dtype:
                # a plain loss.backward() passes 1: hand over the stored
                # gradient instead of writing a scaled [N, C] copy of it
                if not grad_output.is_cuda and float(grad_output) == 1.0:
                    return grad, None, None
                return grad * grad_output.to(grad.dtype), None, None
        out, sums = _apply_upstream(grad, grad_output, ctx.pred_dtype,
                                    ctx.labels, ctx.target)
        if sums is not None:
            owner._add_pending(*sums, upstream=None)
        return out, None, None


# Rows per block of _apply_upstream: float32 temporaries of about 4 MB
# instead of one as large as the gradient.
_BLOCK_ELEMENTS = 1 << 20


def _apply_upstream(grad: Tensor, upstream: Tensor, dtype: torch.dtype,
                    labels: Optional[Tensor], target: Optional[Tensor]
                    ) -> Tuple[Tensor, Optional[Tuple[Tensor, Tensor]]]:
    """``grad * upstream`` rounded once to ``dtype``, in row blocks.

    Returns the product and, for an element-wise (non-scalar) upstream, the
    per-category sums of its magnitude (positives, negatives), taken before
    rounding; None for a scalar upstream.
    """
    out = torch.empty(grad.shape, dtype=dtype, device=grad.device)
    element_wise = upstream.dim() > 0
    if element_wise:
        upstream = upstream.expand(grad.shape)
    else:
        upstream = upstream.to(grad.dtype)
    pos = neg = None
    step = max(1, _BLOCK_ELEMENTS // max(grad.shape[1], 1))
    for start in range(0, grad.shape[0], step):
        rows = slice(start, start + step)
        if element_wise:
            block = grad[rows] * upstream[rows].to(grad.dtype)
            p, n = category_sums(
                block.abs(), None if labels is None else labels[rows],
                None if target is None else target[rows])
            pos, neg = (p, n) if pos is None else (pos + p, neg + n)
        else:
            block = grad[rows] * upstream
        out[rows] = block
    return out, None if pos is None else (pos, neg)


class CategoryAdaptiveLoss(nn.Module):
    """Base class of the gradient-guided sigmoid losses.

    Subclasses define :meth:`focal_terms` (the per-category factors from the
    current gradient ratio) and may override :attr:`initial_ratio` and
    :attr:`clamp_ratio`.

    Which gradient the statistics count. They follow the gradient that
    back-propagation actually delivers to the logits, ``|dL/dx * u|`` with
    ``u`` the upstream gradient of this loss's output, but without the
    factors that only rescale a whole iteration:

    * a scalar upstream (``'mean'``/``'sum'`` reductions; the head's
      ``loss.backward()``, an AMP loss scale, a constant weight) is kept
      out of the sums, so that a changing AMP loss scale does not reweight
      iterations. ``loss_weight`` and ``avg_factor`` are part of ``dL/dx``
      and count. A scalar 0 (nothing reaches the logits) adds nothing.
    * a non-scalar upstream (``reduction='none'`` followed by per-element
      weights, ``.mean()``, ...) is honoured element by element. The AMP
      loss scale is then inside ``u``; it is divided out with the value
      given to :meth:`set_loss_scale`, which :class:`GradientCollectorHook`
      sets before every iteration from the optimiser wrapper's
      ``loss_scaler``.
    * a non-finite upstream poisons the iteration: :meth:`fold_statistics`
      skips its sums whole. An AMP step that ``GradScaler`` skips (its
      overflow is usually elsewhere in the gradient, with a finite loss
      scale) is dropped by :class:`GradientCollectorHook`, which sees that
      the optimiser applied no step (:meth:`discard_pending`).

    Args:
        num_classes: number of foreground categories ``C``; predictions must
            have exactly ``C`` columns (sigmoid classifiers, no background
            column).
        reduction: ``'none'``, ``'mean'`` or ``'sum'``, as in mmdet.
        loss_weight: multiplies the loss (and so its gradient statistics).
        use_sigmoid: must be True; mmdet heads read it to size their
            classifier to ``C`` outputs.

    Raises:
        ValueError: for an argument out of its range, naming the class and
            the argument (one rule set for the whole family,
            :func:`~mmdet_efl.models.losses.utils.check_arguments`).
    """

    #: gradient ratio of a category before any statistics were collected.
    initial_ratio: float = 1.0
    #: whether ``G_j`` is clamped to ``[0, 1]`` (EFL eq. 3) or left free.
    clamp_ratio: bool = True
    #: reduce per sample first, like mmdet's ``QualityFocalLoss``: the
    #: ``'none'`` reduction gives ``[N]`` and ``'mean'`` without
    #: ``avg_factor`` averages over samples rather than elements.
    per_sample: bool = False

    def __init__(self,
                 num_classes: int,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0,
                 use_sigmoid: bool = True) -> None:
        super().__init__()
        check_arguments(
            type(self).__name__,
            num_classes=(num_classes, POSITIVE_INT),
            reduction=(reduction, REDUCTION),
            loss_weight=(loss_weight, FINITE),
            use_sigmoid=(use_sigmoid, SIGMOID))
        self.num_classes = int(num_classes)
        self.reduction = reduction
        self.loss_weight = float(loss_weight)
        self.use_sigmoid = True
        # float64: these are sums over the whole of training, without decay.
        self.register_buffer('pos_grad',
                             torch.zeros(num_classes, dtype=torch.float64))
        self.register_buffer('neg_grad',
                             torch.zeros(num_classes, dtype=torch.float64))
        self.register_buffer('_pending_pos', torch.zeros_like(self.pos_grad),
                             persistent=False)
        self.register_buffer('_pending_neg', torch.zeros_like(self.neg_grad),
                             persistent=False)
        self._has_pending = False
        self._warned_non_finite = False
        self._loss_scale = 1.0

    # ------------------------------------------------------------------
    # state
    def gradient_ratio(self, pos_grad: Optional[Tensor] = None,
                       neg_grad: Optional[Tensor] = None) -> Tensor:
        """``G_j = pos_grad[j] / (neg_grad[j] + 1e-10)`` per category (EFL
        eq. 3), clamped to ``[0, 1]`` if :attr:`clamp_ratio`, and
        :attr:`initial_ratio` for a category without any gradient yet.

        Args:
            pos_grad, neg_grad: accumulated positive and negative gradient
                sums ``[C]`` (e.g. a checkpoint's); both None: the loss's
                own running sums.

        Returns:
            ``[C]``, float64 (as the sums are kept).

        Raises:
            ValueError: only one of the sums is given, or their shapes
                differ or are not ``[C]``-like (one dimension).
        """
        pos, neg = self._sums(pos_grad, neg_grad)
        ratio = pos / (neg + _EPS)
        if self.clamp_ratio:
            ratio = ratio.clamp(0.0, 1.0)
        untouched = (pos == 0) & (neg == 0)
        return torch.where(untouched, torch.full_like(ratio,
                                                      self.initial_ratio),
                           ratio)

    def _sums(self, pos_grad: Optional[Tensor], neg_grad: Optional[Tensor]
              ) -> Tuple[Tensor, Tensor]:
        """The given sums as float64 tensors, or the running sums."""
        if pos_grad is None and neg_grad is None:
            return self.pos_grad, self.neg_grad
        name = type(self).__name__
        if pos_grad is None or neg_grad is None:
            raise ValueError(f'{name}: give both pos_grad and neg_grad, or '
                             'neither')
        pos = torch.as_tensor(pos_grad, dtype=torch.float64)
        neg = torch.as_tensor(neg_grad, dtype=torch.float64)
        if pos.dim() != 1 or pos.shape != neg.shape:
            raise ValueError(f'{name}: pos_grad and neg_grad must both be '
                             f'[C], got {tuple(pos.shape)} and '
                             f'{tuple(neg.shape)}')
        return pos, neg

    def focal_terms(self) -> FocalTerms:
        """The per-category factors of the kernel for the current state."""
        raise NotImplementedError

    def category_values(self, pos_grad: Optional[Tensor] = None,
                        neg_grad: Optional[Tensor] = None
                        ) -> Dict[str, Tensor]:
        """Per-category quantities worth logging, ``{'grad_ratio': G}``
        here (subclasses add theirs, e.g. EFL's ``gamma``), each ``[C]``,
        of the running sums or of the given ones (see
        :meth:`gradient_ratio`, whose errors it raises)."""
        return {'grad_ratio': self.gradient_ratio(pos_grad, neg_grad)}

    def pending_statistics(self) -> Tensor:
        """This iteration's not yet folded sums, ``[2 * C]`` (pos, neg)."""
        return torch.cat([self._pending_pos, self._pending_neg])

    def fold_statistics(self, reduced: Optional[Tensor] = None) -> bool:
        """Adds the iteration sums to the running sums and clears them.

        Args:
            reduced: the iteration sums to add, ``[2 * C]``, typically the
                all-reduced :meth:`pending_statistics`; defaults to this
                rank's own.

        Returns:
            False if the sums were non-finite and therefore skipped (with a
            warning on the first occurrence), True otherwise.
        """
        sums = self.pending_statistics() if reduced is None else reduced
        ok = bool(torch.isfinite(sums).all())
        if ok:
            self.pos_grad += sums[:self.num_classes].to(self.pos_grad)
            self.neg_grad += sums[self.num_classes:].to(self.neg_grad)
        elif not self._warned_non_finite:
            self._warned_non_finite = True
            warnings.warn(
                f'{type(self).__name__}: non-finite gradients in this '
                'iteration; its gradient statistics are skipped (warned '
                'once).', RuntimeWarning, stacklevel=2)
        self._pending_pos.zero_()
        self._pending_neg.zero_()
        self._has_pending = False
        return ok

    def discard_pending(self) -> None:
        """Drops this iteration's sums unfolded (an AMP step that the loss
        scaler skipped)."""
        self._pending_pos.zero_()
        self._pending_neg.zero_()
        self._has_pending = False

    def set_loss_scale(self, scale: float) -> None:
        """The factor by which the loss is multiplied before backward (the
        AMP loss scale, ``GradScaler.get_scale()``); divided out of
        element-wise upstream gradients (see the class docstring).
        :class:`GradientCollectorHook` calls it every iteration."""
        check_arguments(type(self).__name__, loss_scale=(scale, POSITIVE))
        self._loss_scale = float(scale)

    def _add_pending(self, pos: Tensor, neg: Tensor,
                     upstream: Optional[Tensor]) -> None:
        """Adds one backward's sums; ``upstream`` is the scalar upstream
        gradient, or None if it is already applied element-wise."""
        pos = pos.to(self._pending_pos)
        neg = neg.to(self._pending_neg)
        if upstream is None:
            pos = pos / self._loss_scale
            neg = neg / self._loss_scale
        else:
            # No host sync: a zero upstream selects zeros; a non-finite one
            # (e.g. an AMP overflow step) adds NaN, so that
            # fold_statistics skips the iteration's sums whole.
            reaches = (upstream != 0).to(self._pending_pos.device)
            poison = torch.where(torch.isfinite(upstream), 0.0,
                                 float('nan')).to(self._pending_pos)
            pos = torch.where(reaches, pos, 0.0) + poison
            neg = torch.where(reaches, neg, 0.0) + poison
        self._pending_pos += pos
        self._pending_neg += neg
        self._has_pending = True

    def _fold_if_single_process(self) -> None:
        if not self._has_pending:
            return
        if get_world_size() > 1:
            raise RuntimeError(
                f'{type(self).__name__} is trained with {get_world_size()} '
                'processes but its gradient statistics were never '
                'synchronised, so the ranks would drift apart. Add '
                "custom_hooks=[dict(type='GradientCollectorHook')] to the "
                'config (it all-reduces them after every iteration).')
        self.fold_statistics()

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        if self._has_pending and get_world_size() == 1:
            self.fold_statistics()
        super()._save_to_state_dict(destination, prefix, keep_vars)

    # ------------------------------------------------------------------
    # forward
    def forward(self,
                pred: Tensor,
                target: Union[Tensor, Tuple[Tensor, Tensor]],
                weight: Optional[Tensor] = None,
                avg_factor: Optional[Union[int, float, Tensor]] = None,
                reduction_override: Optional[str] = None) -> Tensor:
        """Args:
            pred: logits ``[N, C]``.
            target: labels ``[N]`` (background ``== C``), a
                ``(labels, quality_scores)`` pair, or a one-hot/soft
                ``[N, C]`` target.
            weight: per-sample ``[N]`` or per-element ``[N, C]`` weights;
                zero-weight samples contribute neither loss nor statistics.
            avg_factor: normaliser of the ``'mean'`` reduction (mmdet passes
                the number of positives); a finite number >= 0.
            reduction_override: overrides ``reduction`` for this call.

        Returns:
            The loss: a scalar, or ``[N, C]`` (``[N]`` for per-sample
            losses) with ``reduction='none'``; float32 for half-precision
            logits (as autocast computes losses), else ``pred``'s dtype.

        Raises:
            ValueError: for inputs of the wrong shape or range (labels
                outside ``[0, C]``, a negative or non-finite avg_factor,
                ...), naming the class and the input.
        """
        return self._run(pred, weight=weight, avg_factor=avg_factor,
                         reduction_override=reduction_override,
                         **split_target(target))

    def _run(self,
             pred: Tensor,
             labels: Optional[Tensor] = None,
             scores: Optional[Tensor] = None,
             target: Optional[Tensor] = None,
             weight: Optional[Tensor] = None,
             avg_factor: Optional[Union[int, float, Tensor]] = None,
             reduction_override: Optional[str] = None) -> Tensor:
        """Validates inputs, applies reduction as mmdet's
        ``weight_reduce_loss`` does, and runs the kernel."""
        name = type(self).__name__
        check_pred(name, pred, self.num_classes)
        reduction = reduction_override or self.reduction
        numel = pred.shape[0] if self.per_sample else pred.numel()
        denom = reduction_denominator(name, reduction, numel, avg_factor)
        if labels is not None:
            labels = check_labels(name, labels, pred.shape[0],
                                  self.num_classes)
        else:
            check_target(name, target, pred)
        weight = normalise_weight(name, weight, pred)

        self._fold_if_single_process()
        kwargs = dict(terms=self.focal_terms(), labels=labels, scores=scores,
                      target=target, weight=weight,
                      scale=self.loss_weight / denom,
                      reduce=reduction != 'none')
        if torch.is_grad_enabled() and pred.requires_grad:
            loss = _ModulatedFocalFunction.apply(pred, self, kwargs)
        else:
            loss, _, _ = modulated_focal_loss(pred, need_grad=False, **kwargs)
        check_finite(name, loss, pred, weight)
        if self.per_sample and reduction == 'none':
            loss = loss.sum(dim=1)
        return loss

    def extra_repr(self) -> str:
        return (f'num_classes={self.num_classes}, '
                f'reduction={self.reduction!r}, '
                f'loss_weight={self.loss_weight}')


def split_target(target: Union[Tensor, Tuple[Tensor, Tensor]]) -> dict:
    """Maps what mmdet heads pass as target to kernel arguments.

    ``[N]`` integer labels, a ``(labels, scores)`` pair as mmdet's
    ``QualityFocalLoss`` takes, or a dense ``[N, C]`` target.
    """
    if isinstance(target, (tuple, list)):
        labels, scores = target
        return dict(labels=labels, scores=scores)
    if target.dim() == 2:
        return dict(target=target)
    return dict(labels=target)
