"""The generalised sigmoid focal loss and its closed-form derivative,
element by element.

All of EFL (EFL eq. 4), EQFL (EFL appendix A eq. 5), EQLv2&Focal (EFL
Table 1, derivative eq. 7) and plain FL (RetinaNet eq. 5) are instances of

    L_ij = a_ij * W_ij * |y_ij - p_ij| ** gamma_j * BCE(x_ij, y_ij)

with ``p = sigmoid(x)``, ``a_ij = alpha * y + (1 - alpha) * (1 - y)`` (or 1),
``W_ij = y * w_pos_j + (1 - y) * w_neg_j`` and a per-category focusing factor
``gamma_j``. For binary targets ``|y - p| = 1 - p_t`` and
``BCE = -log p_t``, which is the familiar focal form; for soft targets it is
the quality-focal form of mmdet's ``QualityFocalLoss``. The derivative (for
binary targets EFL eq. 6) is

    dL/dx = a W |d|^g [ (p - y) + g * sign(p - y) * p (1 - p) * BCE / |d| ]

with ``d = y - p``. Two forms compute it: :func:`focal_loss_and_grad` for
any target in ``[0, 1]`` and :func:`binary_focal_loss_and_grad`, in log
space, for binary targets (the fused kernel's form). Both are pure functions
of their arguments; the kernels that run them over a whole input are in
``modulated_focal`` (eager, in row chunks) and ``fused_kernel``
(``torch.compile``).
"""
from dataclasses import dataclass
from typing import Optional, Tuple

import torch
from torch import Tensor

# Smallest |y - p| used as a divisor; p (1 - p) <= 1/4 keeps the quotient
# finite in fp32.
_TINY = 1e-30
# Terms of the artanh series in _log1p_unit: the first one left out,
# s^15 / 15 with s^2 <= 1/9, is below 2e-8 relative, well under fp32's
# rounding of 6e-8 (tests).
_ARTANH_TERMS = 7


@dataclass
class FocalTerms:
    """Per-category factors of the generalised focal loss.

    Attributes:
        gamma: focusing factor, a scalar or one value per category ``[C]``.
        w_pos: weight of positive entries per category ``[C]``, or None (1).
        w_neg: weight of negative entries per category ``[C]``, or None (1).
            The same tensor as ``w_pos`` (EFL's ``gamma_j / gamma_b``)
            weights every entry of the category alike, without a blend.
        alpha: the alpha-balancing factor ``a_t`` (RetinaNet eq. 3), or None.
    """
    gamma: Tensor
    w_pos: Optional[Tensor] = None
    w_neg: Optional[Tensor] = None
    alpha: Optional[float] = None


def dense_target(labels: Optional[Tensor], scores: Optional[Tensor],
                 dense: Optional[Tensor], rows: slice, num_classes: int,
                 dtype: torch.dtype) -> Tensor:
    """The float target ``y`` of some rows, ``[n, C]``.

    Args:
        labels: ``[N]`` labels, background ``== num_classes``; used when
            ``dense`` is None.
        scores: ``[N]`` quality scores of the labels' entries (QFL's IoU),
            or None for 1.
        dense: a dense ``[N, C]`` target, taken as it is.
        rows: the rows to build.
        num_classes: ``C``.
        dtype: the target's dtype.
    """
    if dense is not None:
        return dense[rows].to(dtype)
    lab = labels[rows]
    target = torch.zeros(lab.numel(), num_classes, dtype=dtype,
                         device=lab.device)
    value = scores[rows].to(dtype) if scores is not None else \
        torch.ones(lab.numel(), dtype=dtype, device=lab.device)
    rows_fg = (lab < num_classes).nonzero(as_tuple=True)[0]
    target[rows_fg, lab[rows_fg]] = value[rows_fg]
    return target


def _coefficient(y: Tensor, terms: FocalTerms,
                 weight: Optional[Tensor]) -> Optional[Tensor]:
    """``a_t * W * weight`` of the loss, or None when all are 1."""
    coef = None
    if terms.alpha is not None:
        coef = (1.0 - terms.alpha) + (2.0 * terms.alpha - 1.0) * y
    if terms.w_pos is not None and terms.w_pos is terms.w_neg:
        # one weight for both (EFL's gamma_j / gamma_b): no blend by y
        coef = terms.w_pos if coef is None else coef * terms.w_pos
    elif terms.w_pos is not None or terms.w_neg is not None:
        w_pos = terms.w_pos if terms.w_pos is not None else 1.0
        w_neg = terms.w_neg if terms.w_neg is not None else 1.0
        w = w_neg + (w_pos - w_neg) * y
        coef = w if coef is None else coef * w
    if weight is not None:
        coef = weight if coef is None else coef * weight
    return coef


def focal_loss_and_grad(x: Tensor, y: Tensor, terms: FocalTerms,
                        weight: Optional[Tensor], need_grad: bool
                        ) -> Tuple[Tensor, Optional[Tensor]]:
    """Element-wise loss and its derivative ``dL/dx`` for targets in
    ``[0, 1]``.

    Args:
        x: logits ``[n, C]`` in the compute dtype.
        y: targets ``[n, C]``, same dtype.
        terms: the factors, in the compute dtype.
        weight: sample weights broadcastable to ``[n, C]``, or None.
        need_grad: compute the derivative too.

    Returns:
        ``(loss [n, C], grad [n, C] or None)``, unscaled.
    """
    e = torch.exp(-x.abs())
    sig_abs = 1.0 / (1.0 + e)  # sigmoid(|x|)
    sig_neg_abs = e * sig_abs  # sigmoid(-|x|), exact for large |x|
    nonneg = x >= 0
    p = torch.where(nonneg, sig_abs, sig_neg_abs)
    q = torch.where(nonneg, sig_neg_abs, sig_abs)  # 1 - p without cancelling
    # y - p written so that it is exact for y in {0, 1}: y q - (1 - y) p.
    y_minus_p = y * q - (1.0 - y) * p
    dist = y_minus_p.abs()
    # BCE(x, y) = softplus(x) - x y, stable for any x.
    bce = x.clamp(min=0) - x * y + torch.log1p(e)
    gamma = terms.gamma
    modulator = dist.pow(gamma)

    coef = _coefficient(y, terms, weight)
    scaled = modulator if coef is None else modulator * coef
    loss = scaled * bce
    if not need_grad:
        return loss, None
    ratio = (p * q).div_(dist.clamp(min=_TINY)).mul_(bce).mul_(gamma)
    # d/dx = scaled * [(p - y) + sign(p - y) * gamma p q BCE / |y - p|]
    grad = scaled * (ratio.mul_(torch.sign(y_minus_p)).add_(y_minus_p)).neg_()
    return loss, grad


def _log1p_unit(e: Tensor) -> Tensor:
    """``log1p(e)`` for ``e`` in ``[0, 1]``, as a short series.

    ``log1p(e) = 2 artanh(s)`` with ``s = e / (2 + e)`` in ``[0, 1/3]``, and
    ``artanh(s) = s (1 + s^2/3 + s^4/5 + ...)`` to ``s^13/13``. A division
    and six multiply-adds (Horner in ``s^2``) replace the vectorised library
    ``log1p``, the slowest operation of the compiled CPU kernel
    (bench/loss_speed.py). Accurate to a few ulp in fp32 (tests); float64
    keeps ``torch.log1p``.
    """
    if e.dtype == torch.float64:
        return torch.log1p(e)
    s = e / (2.0 + e)
    z = s * s
    acc = torch.full_like(z, 1.0 / (2 * _ARTANH_TERMS - 1))
    for k in range(_ARTANH_TERMS - 2, -1, -1):
        acc = acc * z + 1.0 / (2 * k + 1)
    return 2.0 * s * acc


def binary_focal_loss_and_grad(x: Tensor, is_pos: Tensor, y: Tensor,
                               terms: FocalTerms, weight: Optional[Tensor]
                               ) -> Tuple[Tensor, Tensor]:
    """Element-wise loss and its derivative for binary targets, in log
    space.

    With ``x_t = x`` for positives and ``-x`` for negatives, one ``log1p``
    gives both logarithms: ``-log(1 - p_t) = softplus(x_t) = relu(x_t) +
    log1p(e^-|x|)`` and ``BCE = -log p_t = softplus(x_t) - x_t``. The
    modulator is then ``(1 - p_t)^g = exp(-g softplus(x_t))``: no ``pow`` (a
    log and an exp) and no division by ``|y - p|``. The derivative is EFL
    eq. 6 / RetinaNet eq. 10 in terms of ``x_t``::

        dL/dx_t = -c (1 - p_t)^g (g p_t BCE + (1 - p_t)),  dx_t/dx = +-1

    Written so that Inductor keeps every intermediate in registers: the only
    full-size buffer is the gradient (with the general form it also wrote
    ``log1p(e^-|x|)`` to memory; bench/loss_speed.py).

    Args:
        x: logits ``[n, C]`` in the compute dtype.
        is_pos: ``[n, C]`` bool, the positive entries.
        y: ``is_pos`` in the compute dtype (for the coefficient).
        terms, weight: as :func:`focal_loss_and_grad`.

    Returns:
        ``(loss [n, C], grad [n, C])``, unscaled.
    """
    x_t = torch.where(is_pos, x, -x)
    e = torch.exp(-x.abs())
    log1p_e = _log1p_unit(e)
    softplus_t = torch.relu(x_t) + log1p_e
    # = softplus_t - x_t, without cancelling for a large x_t (a far-tail
    # negative: 12.000006 - 12 in fp32 kept one significant digit)
    bce = torch.relu(-x_t) + log1p_e
    modulator = torch.exp(-terms.gamma * softplus_t)
    # 1 - p_t = sigmoid(-x_t) from the same exp, without cancelling;
    # p_t = 1 - q_t is exact where it matters (p_t near 1) and only scales a
    # negligible term where p_t is tiny
    q_t = torch.where(x_t >= 0, e, 1.0) / (1.0 + e)
    coef = _coefficient(y, terms, weight)
    scaled = modulator if coef is None else modulator * coef
    loss = scaled * bce
    grad_t = scaled * (terms.gamma * (1.0 - q_t) * bce + q_t)
    return loss, torch.where(is_pos, -grad_t, grad_t)
