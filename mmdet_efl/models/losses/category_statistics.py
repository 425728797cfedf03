"""Per-category sums of the gradient magnitude over positive and negative
entries: the statistics behind EFL's gradient ratio (EFL eq. 3).

One rule, in every kernel and for every upstream gradient:

* with labels ``[N]`` (background ``== C``) the positive entry of a row is
  its label's column, also at quality score 0 (EQFL); every other entry of
  the row is negative;
* with a dense ``[N, C]`` target the entries with ``target > 0`` are
  positive, the others negative;
* the negative sums are summed apart from the positives, never as column
  sums minus the positives: a category whose positives get far more
  gradient than all its negatives (a rare one focused with a large
  ``gamma_j``) would keep only rounding noise of its negative sum.

It is written three times because each kernel needs its own form, and each
form is kept exactly as it is so that the numbers do not change:
:func:`category_sums` works on any tensor in place (the eager kernel's
row chunks, an element-wise upstream gradient); :func:`fused_category_sums`
has no data-dependent shapes, so ``torch.compile`` traces it into the fused
kernel's graph; :func:`binary_negative_sums` runs after the fused kernel for
binary labels, where a matrix-vector product reads the gradient faster than
a compiled column reduction. The fused kernel's self-check compares the
first two on every new kind of input.
"""
from typing import Optional, Tuple

import torch
from torch import Tensor


def category_sums(grad_abs: Tensor, labels: Optional[Tensor] = None,
                  target: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
    """Per-category sums of ``|grad|`` over positive and negative entries.

    Args:
        grad_abs: ``|d loss / d pred|``, ``[N, C]``; its positive entries
            are overwritten with 0.
        labels: ``[N]`` labels (background ``== C``): the positive entry of
            a row is its label's column, also at quality score 0.
        target: dense ``[N, C]`` target, used when ``labels`` is None:
            entries with ``target > 0`` are positive.

    Returns:
        ``(pos [C], neg [C])`` in ``grad_abs``'s dtype.
    """
    num_classes = grad_abs.shape[1]
    if labels is None:
        positive = target > 0
        pos = (grad_abs * positive).sum(0)
        return pos, grad_abs.masked_fill_(positive, 0.0).sum(0)
    fg = (labels < num_classes).nonzero(as_tuple=True)[0]
    cols = labels[fg]
    pos = grad_abs.new_zeros(num_classes).index_add_(
        0, cols, grad_abs[fg, cols])
    grad_abs[fg, cols] = 0.0
    return pos, grad_abs.sum(0)


def fused_category_sums(grad_abs: Tensor, labels: Optional[Tensor],
                        is_pos: Optional[Tensor], y: Tensor,
                        binary: bool) -> Tuple[Tensor, Optional[Tensor]]:
    """:func:`category_sums` without data-dependent shapes, for the fused
    kernel's graph (``grad_abs`` is not modified).

    Args:
        grad_abs: ``[N, C]``.
        labels: ``[N]`` labels, or None for a dense target.
        is_pos: ``[N, C]`` bool, ``labels`` as one-hot (None for a dense
            target).
        y: the float target ``[N, C]`` (a dense target's entries).
        binary: labels without quality scores: the negative sums are left
            to :func:`binary_negative_sums` (returned as None).

    Returns:
        ``(pos [C], neg [C] or None)`` in ``grad_abs``'s dtype.
    """
    num_classes = grad_abs.shape[1]
    if binary:
        neg_sum = None
    elif labels is not None:
        neg_sum = torch.where(is_pos, 0.0, grad_abs).sum(0)
    else:
        neg_sum = (grad_abs * (y <= 0)).sum(0)
    if labels is not None:
        # positives by label (also at quality 0), gathered without an
        # [N, C] mask; background rows add a 0 to the last column
        col = labels.clamp(max=num_classes - 1)
        at_label = grad_abs.gather(1, col[:, None])[:, 0]
        at_label = at_label * (labels < num_classes).to(grad_abs.dtype)
        pos_sum = torch.zeros(num_classes, dtype=grad_abs.dtype,
                              device=grad_abs.device
                              ).scatter_add(0, col, at_label)
    else:
        pos_sum = (grad_abs * (y > 0)).sum(0)
    return pos_sum, neg_sum


def binary_negative_sums(grad: Tensor, labels: Tensor,
                         scale: float) -> Tensor:
    """Per-category sums of ``|grad|`` over negative entries, for binary
    targets given as labels.

    Every negative entry's gradient has the sign of ``scale`` (the
    coefficients ``alpha_t``, the category weights and sample weights are
    >= 0). Background rows hold negatives only: one matrix-vector product
    over them sums them without cancellation. The few foreground rows are
    summed apart, without their positive entry.

    Args:
        grad: the scaled gradient ``[N, C]`` (signed).
        labels: ``[N]`` labels, background ``== C``.
        scale: the factor the gradient was scaled by (its sign only).

    Returns:
        ``neg [C]`` in ``grad``'s dtype.
    """
    num_classes = grad.shape[1]
    is_fg = labels < num_classes
    sign = 1.0 if scale >= 0 else -1.0
    neg_sum = sign * torch.mv(grad.t(), (~is_fg).to(grad.dtype))
    fg = is_fg.nonzero(as_tuple=True)[0]
    fg_abs = grad[fg].abs()
    fg_abs[torch.arange(len(fg), device=grad.device), labels[fg]] = 0.0
    return neg_sum + fg_abs.sum(0)
