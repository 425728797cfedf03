"""The one fused kernel behind every sigmoid focal-type loss of this package.

All of EFL (EFL eq. 4), EQFL (EFL appendix A eq. 5), EQLv2&Focal (EFL
Table 1, derivative eq. 7) and plain FL (RetinaNet eq. 5) are instances of

    L_ij = a_ij * W_ij * |y_ij - p_ij| ** gamma_j * BCE(x_ij, y_ij)

with ``p = sigmoid(x)``, ``a_ij = alpha * y + (1 - alpha) * (1 - y)`` (or 1),
``W_ij = y * w_pos_j + (1 - y) * w_neg_j`` and a per-category focusing factor
``gamma_j``. For binary targets ``|y - p| = 1 - p_t`` and
``BCE = -log p_t``, which is the familiar focal form; for soft targets it is
the quality-focal form of mmdet's ``QualityFocalLoss``.

The derivative is closed-form (for binary targets it is EFL eq. 6):

    dL/dx = a W |d|^g [ (p - y) + g * sign(p - y) * p (1 - p) * BCE / |d| ]

Loss and gradient are computed together and only the gradient is stored for
backward, instead of one full-size intermediate per autograd op. The same
pass yields the per-category gradient statistics that the category-adaptive
losses accumulate. Two interchangeable implementations:

* eager, in row chunks so that every temporary stays in cache (no compiler);
* fused, the same expression compiled by ``torch.compile`` into one pass
  (Triton on CUDA, C++ on CPU). It is used automatically on CUDA and for
  large CPU inputs (``MMDET_EFL_FUSED=auto``, the default); ``1`` forces it,
  ``0`` disables it. The compiled kernel has never run on every device it
  may meet (Triton versions, GPUs), so the first time it runs on a device
  for a kind of input it checks itself against the eager kernel on a slice
  of the real input (loss, gradient, statistics). If compilation fails (no
  compiler) or the check disagrees, it warns once and that device uses the
  eager kernel from then on.
"""
import os
import warnings
from dataclasses import dataclass
from typing import Callable, Optional, Set, Tuple

import torch
from torch import Tensor

# Elements per chunk: a handful of fp32 temporaries of this size stay in L2.
_CHUNK_ELEMENTS = 1 << 15
# Smallest |y - p| used as a divisor; p (1 - p) <= 1/4 keeps the quotient
# finite in fp32.
_TINY = 1e-30
# Below this many logits the one-off compilation (~30 s on CPU) never pays.
_FUSED_MIN_ELEMENTS = 1 << 22
FUSED_ENV = 'MMDET_EFL_FUSED'


@dataclass
class FocalTerms:
    """Per-category factors of the generalised focal loss.

    Attributes:
        gamma: focusing factor, a scalar or one value per category ``[C]``.
        w_pos: weight of positive entries per category ``[C]``, or None (1).
        w_neg: weight of negative entries per category ``[C]``, or None (1).
        alpha: the alpha-balancing factor ``a_t`` (RetinaNet eq. 3), or None.
    """
    gamma: Tensor
    w_pos: Optional[Tensor] = None
    w_neg: Optional[Tensor] = None
    alpha: Optional[float] = None


def _chunk_target(labels: Optional[Tensor], scores: Optional[Tensor],
                  dense: Optional[Tensor], rows: slice, num_classes: int,
                  dtype: torch.dtype) -> Tensor:
    """Builds the ``[n, C]`` float target of one row chunk."""
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
    """``a_t * W * weight`` of the kernel, or None when all are 1."""
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


def _chunk_loss_and_grad(x: Tensor, y: Tensor, terms: FocalTerms,
                         weight: Optional[Tensor],
                         need_grad: bool) -> Tuple[Tensor, Optional[Tensor]]:
    """Element-wise loss and its closed-form derivative for one chunk."""
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


# Terms of the artanh series in _log1p_unit: the first one left out,
# s^15 / 15 with s^2 <= 1/9, is below 2e-8 relative, well under fp32's
# rounding of 6e-8 (tests).
_ARTANH_TERMS = 7


def _log1p_unit(e: Tensor) -> Tensor:
    """``log1p(e)`` for ``e`` in ``[0, 1]``, as a short series.

    ``log1p(e) = 2 artanh(s)`` with ``s = e / (2 + e)`` in ``[0, 1/3]``, and
    ``artanh(s) = s (1 + s^2/3 + s^4/5 + ...)`` to ``s^13/13``. A division
    and six multiply-adds (Horner in ``s^2``) replace the vectorised library
    ``log1p``, which was the slowest operation of the compiled CPU kernel
    (about 13 of its 45 ms at ``[20000, 1203]``, bench/loss_speed.py).
    Accurate to a few ulp in fp32 (tests); float64 keeps ``torch.log1p``.
    """
    if e.dtype == torch.float64:
        return torch.log1p(e)
    s = e / (2.0 + e)
    z = s * s
    acc = torch.full_like(z, 1.0 / (2 * _ARTANH_TERMS - 1))
    for k in range(_ARTANH_TERMS - 2, -1, -1):
        acc = acc * z + 1.0 / (2 * k + 1)
    return 2.0 * s * acc


def _binary_loss_and_grad(x: Tensor, is_pos: Tensor, y: Tensor,
                          terms: FocalTerms, weight: Optional[Tensor]
                          ) -> Tuple[Tensor, Tensor]:
    """The kernel for binary targets, in log space (used by the fused path).

    With ``x_t = x`` for positives and ``-x`` for negatives, one ``log1p``
    gives both logarithms: ``-log(1 - p_t) = softplus(x_t) = relu(x_t) +
    log1p(e^-|x|)`` and ``BCE = -log p_t = softplus(x_t) - x_t``. The
    modulator is then ``(1 - p_t)^g = exp(-g softplus(x_t))``: no ``pow`` (a
    log and an exp) and no division by ``|y - p|``. The derivative is EFL
    eq. 6 / RetinaNet eq. 10 in terms of ``x_t``::

        dL/dx_t = -c (1 - p_t)^g (g p_t BCE + (1 - p_t)),  dx_t/dx = +-1

    Written so that Inductor keeps every intermediate in registers: the only
    full-size buffer is the gradient (with the eager form it also wrote
    ``log1p(e^-|x|)`` to memory; bench/loss_speed.py).
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


def _fused_body(x: Tensor, labels: Optional[Tensor], scores: Optional[Tensor],
                target: Optional[Tensor], weight: Optional[Tensor],
                gamma: Tensor, w_pos: Optional[Tensor],
                w_neg: Optional[Tensor], alpha: Optional[Tensor],
                scale: Tensor, reduce: bool):
    """The whole computation as one graph, for ``torch.compile``.

    ``alpha`` and ``scale`` are tensors so that changing values (the
    normaliser differs every call) do not trigger recompilation."""
    dtype = gamma.dtype
    num_classes = x.shape[1]
    if target is None:
        classes = torch.arange(num_classes, device=x.device)
        is_pos = labels[:, None] == classes[None, :]
        y = is_pos.to(dtype)
        if scores is not None:
            y = y * scores[:, None].to(dtype)
    else:
        y = target.to(dtype)
    terms = FocalTerms(gamma=gamma, w_pos=w_pos, w_neg=w_neg, alpha=None)
    if target is None and scores is None:
        loss, grad = _binary_loss_and_grad(x.to(dtype), is_pos, y, terms,
                                           weight)
    else:
        loss, grad = _chunk_loss_and_grad(x.to(dtype), y, terms, weight,
                                          True)
    # alpha_t applied here rather than through FocalTerms.alpha: folded into
    # the kernel's shared coefficient, Inductor materialised one more [N, C]
    # buffer (bench/loss_speed.py).
    if alpha is not None:
        a = (1.0 - alpha) + (2.0 * alpha - 1.0) * y
        loss = loss * a
        grad = grad * a
    grad = grad * scale
    grad_abs = grad.abs()
    # Negatives are summed apart from the positives: as a column sum minus
    # the positives, a category whose positives get far more gradient than
    # its negatives (a rare one focused with a large gamma_j) would keep
    # only rounding noise of its negative sum.
    if target is None and scores is None:
        neg_sum = None  # from the gradient in _call_fused
    elif target is None:
        neg_sum = torch.where(is_pos, 0.0, grad_abs).sum(0)
    else:
        neg_sum = (grad_abs * (y <= 0)).sum(0)
    if target is None:
        # positives by label, as the eager path counts them (also at
        # quality 0), gathered without an [N, C] mask
        col = labels.clamp(max=num_classes - 1)
        at_label = grad_abs.gather(1, col[:, None])[:, 0]
        at_label = at_label * (labels < num_classes).to(dtype)
        pos_sum = torch.zeros(num_classes, dtype=dtype, device=x.device
                              ).scatter_add(0, col, at_label)
    else:
        pos_sum = (grad_abs * (y > 0)).sum(0)
    loss_out = loss.sum() * scale if reduce else loss * scale
    return loss_out, grad, pos_sum, neg_sum


_fused_compiled = None
# Devices (``str(device)``) where the compiled kernel failed or disagreed
# with the eager one; they use the eager kernel from then on.
_fused_disabled: Set[str] = set()
# (device, input kind) pairs whose compiled result was checked against eager.
_fused_verified: Set[Tuple] = set()
# Rows of the real input the self-check recomputes with both kernels.
_CHECK_ROWS = 256
# Self-check tolerances: both kernels compute in float32 but in a different
# form (log space, a series for log1p, FMA contraction; Triton's exp/log on
# CUDA), a few ulp per element; a wrong layout, sign or factor is far off.
_CHECK_RTOL = 1e-3
_CHECK_ATOL = 1e-5


def _use_fused(pred: Tensor) -> bool:
    mode = os.environ.get(FUSED_ENV, 'auto')
    if mode == '0' or str(pred.device) in _fused_disabled or \
            not hasattr(torch, 'compile'):
        return False
    if mode == '1':
        return True
    return pred.is_cuda or pred.numel() >= _FUSED_MIN_ELEMENTS


def _compile_options() -> dict:
    """Inductor options of the fused kernel that this torch knows."""
    from torch._inductor import config
    options = {}
    if hasattr(config.cpp, 'enable_floating_point_contract_flag'):
        # multiply-adds contracted to FMAs: ~10% of the CPU kernel's time,
        # and one rounding instead of two (bench/loss_speed.py); older
        # torch lacks the option and compiles without it
        options['cpp.enable_floating_point_contract_flag'] = 'fast'
    return options


def _call_fused(pred, terms, labels, scores, target, weight, scale, reduce):
    """The compiled kernel on one input: ``(loss, grad, (pos, neg))``."""
    global _fused_compiled
    if _fused_compiled is None:
        _fused_compiled = torch.compile(_fused_body, dynamic=True,
                                        options=_compile_options())
    dtype = terms.gamma.dtype
    alpha = None if terms.alpha is None else torch.tensor(
        terms.alpha, dtype=dtype, device=pred.device)
    # detached: the kernel builds no autograd graph, and a logits tensor
    # that requires grad and one that does not (the self-check's slice)
    # share one compiled graph instead of two (Dynamo guards on it)
    loss, grad, pos_sum, neg_sum = _fused_compiled(
        pred.detach(), labels, scores, target, weight, terms.gamma,
        terms.w_pos, terms.w_neg, alpha,
        torch.tensor(scale, dtype=dtype, device=pred.device), reduce)
    if neg_sum is None:
        neg_sum = _binary_negative_sums(grad, labels, scale)
    return loss, grad, (pos_sum, neg_sum)


def _binary_negative_sums(grad: Tensor, labels: Tensor,
                          scale: float) -> Tensor:
    """Per-category sums of ``|grad|`` over negative entries, for binary
    targets.

    Every negative entry's gradient has the sign of ``scale`` (the
    coefficients ``alpha_t``, the category weights and sample weights are
    >= 0). Background rows hold negatives only: one matrix-vector product
    over them (BLAS reads the gradient faster than a compiled column
    reduction) sums them without cancellation. The few foreground rows are
    summed apart, without their positive entry.
    """
    num_classes = grad.shape[1]
    is_fg = labels < num_classes
    sign = 1.0 if scale >= 0 else -1.0
    neg_sum = sign * torch.mv(grad.t(), (~is_fg).to(grad.dtype))
    fg = is_fg.nonzero(as_tuple=True)[0]
    fg_abs = grad[fg].abs()
    fg_abs[torch.arange(len(fg), device=grad.device), labels[fg]] = 0.0
    return neg_sum + fg_abs.sum(0)


def _disable_fused(device: str, why: str) -> None:
    _fused_disabled.add(device)
    warnings.warn(
        f'mmdet-efl: the compiled loss kernel {why} on {device}; using the '
        f'eager kernel on {device} from now on', RuntimeWarning)


def _self_check(pred, terms, labels, scores, target, weight, scale, reduce,
                fused) -> Optional[str]:
    """Recomputes a slice of the real input with both kernels.

    The first time the compiled kernel runs on a device for a kind of input
    (dtype, label/quality/dense target, weight, reduction), a slice of up to
    ``_CHECK_ROWS`` rows, positives included, goes through the compiled
    and the eager kernel. Loss, gradient and statistics must agree element
    by element within ``_CHECK_RTOL`` relative, or ``_CHECK_ATOL`` times
    the quantity's largest magnitude absolute, and so must the same rows of
    the full input's compiled gradient.

    Returns:
        None if they agree, otherwise what disagreed.
    """
    num_rows, num_classes = pred.shape
    if labels is not None:
        is_fg = labels < num_classes
    else:
        is_fg = (target > 0).any(1)
    half = _CHECK_ROWS // 2
    rows = torch.cat([is_fg.nonzero(as_tuple=True)[0][:half].cpu(),
                      torch.arange(min(half, num_rows))]).unique()
    rows_dev = rows.to(pred.device)

    def pick(t: Optional[Tensor]) -> Optional[Tensor]:
        if t is None or t.dim() == 0 or t.shape[0] != num_rows:
            return t
        return t.index_select(0, rows_dev)

    sub = (pick(pred), terms, pick(labels), pick(scores), pick(target),
           pick(weight), scale, reduce)
    ref = _eager_kernel(*sub, need_grad=True, want_stats=True)
    got = _call_fused(*sub) if len(rows) < num_rows else fused
    pairs = {'loss': (got[0], ref[0]), 'gradient': (got[1], ref[1]),
             'positive statistics': (got[2][0], ref[2][0]),
             'negative statistics': (got[2][1], ref[2][1]),
             'gradient of the full input': (pick(fused[1]), ref[1])}
    if not reduce:
        pairs['loss of the full input'] = (pick(fused[0]), ref[0])
    for what, (a, b) in pairs.items():
        a, b = a.double(), b.double()
        atol = _CHECK_ATOL * float(b.abs().max()) if b.numel() else 0.0
        if a.shape != b.shape or not bool(torch.isclose(
                a, b, rtol=_CHECK_RTOL, atol=atol).all()):
            err = float((a - b).abs().max()) if a.shape == b.shape else None
            return (f'{what} differs from the eager kernel (largest '
                    f'difference {err}, of values up to '
                    f'{float(b.abs().max()):.3g})')
    return None


def _run_fused(pred, terms, labels, scores, target, weight, scale, reduce):
    """The compiled kernel, self-checked on first use per device and kind
    of input; None (use eager) if it failed or disagreed."""
    device = str(pred.device)
    args = (pred, terms, labels, scores, target, weight, scale, reduce)
    try:
        fused = _call_fused(*args)
        kind = (device, pred.dtype, labels is None, scores is None,
                None if weight is None else tuple(weight.shape[1:]),
                terms.alpha is None, terms.w_pos is terms.w_neg, reduce)
        if kind in _fused_verified:
            return fused
        problem = _self_check(*args, fused)
    except Exception as err:  # no compiler, unsupported backend, ...
        _disable_fused(device, f'failed ({err!r:.200})')
        return None
    if problem is not None:
        _disable_fused(device, f'failed its self-check: {problem}')
        return None
    _fused_verified.add(kind)
    return fused


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
    # Under autocast the kernel must stay in float32: CUDA autocast would
    # run its matrix-vector product (the negative sums) in fp16.
    with torch.autocast(pred.device.type, enabled=False):
        return _dispatch(pred, terms, labels, scores, target, weight, scale,
                         reduce, need_grad, stats)


def _dispatch(pred, terms, labels, scores, target, weight, scale, reduce,
              need_grad, stats):
    if need_grad and stats and _use_fused(pred):
        fused = _run_fused(pred, terms, labels, scores, target, weight,
                           scale, reduce)
        if fused is not None:
            return fused
    return _eager_kernel(pred, terms, labels, scores, target, weight, scale,
                         reduce, need_grad, need_grad and stats)


def _eager_kernel(pred, terms, labels, scores, target, weight, scale,
                  reduce, need_grad, want_stats):
    """The kernel in row chunks (``terms`` and ``weight`` already in the
    compute dtype)."""
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
        y = _chunk_target(labels, scores, target, rows, num_classes, dtype)
        w = None if weight is None else weight[rows]
        loss, grad = _chunk_loss_and_grad(x, y, terms, w, need_grad)
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


def category_sums(grad_abs: Tensor, labels: Optional[Tensor] = None,
                  target: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
    """Per-category sums of ``|grad|`` over positive and negative entries.

    The negative sums are taken without the positive entries rather than
    as column sums minus the positives, which would leave only rounding
    noise for a category whose negatives get far less gradient than its
    positives (a rare category focused with a large gamma_j).

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
