"""The one loss kernel behind every sigmoid focal-type loss of this package.

:func:`modulated_focal_loss` computes the generalised focal loss
(``focal_formula``), its closed-form gradient and the per-category gradient
statistics (``category_statistics``) of a whole input in one pass. Only the
gradient is stored for backward, instead of one full-size intermediate per
autograd op. Two interchangeable kernels do it:

* the eager kernel (here), in row chunks so that every temporary stays in
  cache (no compiler);
* the fused kernel (``fused_kernel``), the same computation compiled by
  ``torch.compile`` into one pass; used on CUDA and for large CPU inputs,
  checked against the eager kernel on first use.
"""
from typing import Callable, Optional, Tuple

import torch
from torch import Tensor

from . import fused_kernel
from .category_statistics import category_sums
from .focal_formula import FocalTerms, dense_target, focal_loss_and_grad

# Elements per chunk: a handful of fp32 temporaries of this size stay in L2.
_CHUNK_ELEMENTS = 1 << 15


def modulated_focal_loss(
        pred: Tensor,
        terms: FocalTerms,
        labels: Optional[Tensor] = None,
        scores: Optional[Tensor] = None,
        target: Optional[Tensor] = None,
        weight: Optional[Tensor] = None,
        scale: float = 1.0,
        reduce: bool = True,
        need_grad: bool = True,
        stats: bool = True
) -> Tuple[Tensor, Optional[Tensor], Optional[Tuple[Tensor, Tensor]]]:
    """Loss, gradient and per-category gradient statistics in one pass.

    Exactly one of ``labels`` (``[N]``, background ``== C``, optional quality
    ``scores``) and ``target`` (dense ``[N, C]``) is given. ``weight`` is
    ``[N, 1]`` or ``[N, C]``. ``scale`` multiplies loss and gradient (loss
    weight over normaliser).

    Returns:
        ``(loss, grad, (pos_sum, neg_sum))``: the loss summed over all
        elements (``reduce``) or element-wise ``[N, C]``; ``d loss / d pred``
        (``[N, C]``, ``None`` unless ``need_grad``); and the sums of
        ``|grad|`` over positive and negative entries per category (``None``
        unless ``need_grad`` and ``stats``). Everything is computed and
        returned in float32 (float64 for float64 input), the gradient too:
        for half-precision ``pred`` it is scaled by ``loss_weight /
        avg_factor`` long before an AMP loss scale arrives, and in fp16 it
        would underflow (bench/amp_underflow.py). Callers round it to
        ``pred``'s dtype once, after the upstream gradient is applied.
    """
    dtype = torch.float64 if pred.dtype == torch.float64 else torch.float32
    cast: Callable[[Optional[Tensor]], Optional[Tensor]] = \
        lambda t: None if t is None else t.to(device=pred.device,
                                              dtype=dtype)
    w_pos = cast(terms.w_pos)
    # a shared weight stays one tensor, so the kernel skips the blend
    w_neg = w_pos if terms.w_neg is terms.w_pos else cast(terms.w_neg)
    terms = FocalTerms(gamma=cast(torch.as_tensor(terms.gamma)),
                       w_pos=w_pos, w_neg=w_neg, alpha=terms.alpha)
    if weight is not None:
        weight = weight.to(dtype)
    args = (pred, terms, labels, scores, target, weight, scale, reduce)
    # Under autocast the kernel must stay in float32: CUDA autocast would
    # run its matrix-vector product (the negative sums) in fp16.
    with torch.autocast(pred.device.type, enabled=False):
        if need_grad and stats:
            fused = fused_kernel.fused_loss(*args, reference=_eager_kernel)
            if fused is not None:
                return fused
        return _eager_kernel(*args, need_grad, need_grad and stats)


def _eager_kernel(pred, terms, labels, scores, target, weight, scale,
                  reduce, need_grad, want_stats):
    """The kernel in row chunks (``terms`` and ``weight`` already in the
    compute dtype); returns what :func:`modulated_focal_loss` does."""
    num_rows, num_classes = pred.shape
    dtype = terms.gamma.dtype
    device = pred.device
    loss_out = torch.zeros((), dtype=dtype, device=device) if reduce else \
        torch.empty(num_rows, num_classes, dtype=dtype, device=device)
    grad_out = torch.empty(pred.shape, dtype=dtype, device=device) \
        if need_grad else None
    pos_sum = torch.zeros(num_classes, dtype=dtype, device=device) \
        if want_stats else None
    neg_sum = torch.zeros_like(pos_sum) if want_stats else None

    step = max(1, _CHUNK_ELEMENTS // max(num_classes, 1))
    for start in range(0, num_rows, step):
        rows = slice(start, min(start + step, num_rows))
        x = pred[rows].to(dtype)
        y = dense_target(labels, scores, target, rows, num_classes, dtype)
        w = None if weight is None else weight[rows]
        loss, grad = focal_loss_and_grad(x, y, terms, w, need_grad)
        if reduce:
            loss_out += loss.sum()
        else:
            loss_out[rows] = loss
        if not need_grad:
            continue
        grad.mul_(scale)
        grad_out[rows] = grad
        if want_stats:
            pos, neg = category_sums(
                grad.abs_(), None if labels is None else labels[rows],
                y if labels is None else None)
            pos_sum += pos
            neg_sum += neg
    loss_out = loss_out * scale
    statistics = (pos_sum, neg_sum) if want_stats else None
    return loss_out, grad_out, statistics
