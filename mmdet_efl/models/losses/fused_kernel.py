"""The fused kernel: the focal loss, its gradient and the per-category
statistics compiled by ``torch.compile`` into one pass (Triton on CUDA,
C++ on CPU), with the process-wide state that guards it.

It is used on CUDA and for large CPU inputs (``MMDET_EFL_FUSED=auto``, the
default); ``1`` forces it, ``0`` disables it. The compiled kernel has never
run on every device it may meet (Triton versions, GPUs), so the first time
it runs on a device for a kind of input it checks itself against a
reference kernel (the eager one) on a slice of the real input: loss,
gradient, statistics. If compilation fails (no compiler) or the check
disagrees, it warns once and that device uses the reference kernel from
then on. The state is per process: the compiled function, the devices
where it failed, the kinds of input already checked.
"""
import os
import warnings
from typing import Callable, Optional, Set, Tuple

import torch
from torch import Tensor

from .category_statistics import binary_negative_sums, fused_category_sums
from .focal_formula import (FocalTerms, binary_focal_loss_and_grad,
                            focal_loss_and_grad)

FUSED_ENV = 'MMDET_EFL_FUSED'
# Below this many logits the one-off compilation never pays on CPU.
_FUSED_MIN_ELEMENTS = 1 << 22
# Rows of the real input the self-check recomputes with both kernels.
_CHECK_ROWS = 256
# Self-check tolerances: both kernels compute in float32 but in a different
# form (log space, a series for log1p, FMA contraction; Triton's exp/log on
# CUDA), a few ulp per element; a wrong layout, sign or factor is far off.
_CHECK_RTOL = 1e-3
_CHECK_ATOL = 1e-5

#: ``(loss, grad, (pos_sum, neg_sum))``, as ``modulated_focal_loss``
#: returns it.
KernelResult = Tuple[Tensor, Optional[Tensor],
                     Optional[Tuple[Tensor, Tensor]]]

_fused_compiled = None
# Devices (``str(device)``) where the compiled kernel failed or disagreed
# with the reference; they use the reference kernel from then on.
_fused_disabled: Set[str] = set()
# (device, input kind) pairs whose compiled result was checked.
_fused_verified: Set[Tuple] = set()


def _fused_body(x: Tensor, labels: Optional[Tensor], scores: Optional[Tensor],
                target: Optional[Tensor], weight: Optional[Tensor],
                gamma: Tensor, w_pos: Optional[Tensor],
                w_neg: Optional[Tensor], alpha: Optional[Tensor],
                scale: Tensor, reduce: bool):
    """The whole computation as one graph, for ``torch.compile``.

    ``alpha`` and ``scale`` are tensors so that changing values (the
    normaliser differs every call) do not trigger recompilation.

    Returns:
        ``(loss, grad, pos_sum, neg_sum)``; ``neg_sum`` is None for binary
        labels (:func:`binary_negative_sums` after the graph).
    """
    dtype = gamma.dtype
    num_classes = x.shape[1]
    is_pos = None
    if target is None:
        classes = torch.arange(num_classes, device=x.device)
        is_pos = labels[:, None] == classes[None, :]
        y = is_pos.to(dtype)
        if scores is not None:
            y = y * scores[:, None].to(dtype)
    else:
        y = target.to(dtype)
    terms = FocalTerms(gamma=gamma, w_pos=w_pos, w_neg=w_neg, alpha=None)
    binary = target is None and scores is None
    if binary:
        loss, grad = binary_focal_loss_and_grad(x.to(dtype), is_pos, y,
                                                terms, weight)
    else:
        loss, grad = focal_loss_and_grad(x.to(dtype), y, terms, weight,
                                         True)
    # alpha_t applied here rather than through FocalTerms.alpha: folded into
    # the kernel's shared coefficient, Inductor materialised one more [N, C]
    # buffer (bench/loss_speed.py).
    if alpha is not None:
        a = (1.0 - alpha) + (2.0 * alpha - 1.0) * y
        loss = loss * a
        grad = grad * a
    grad = grad * scale
    pos_sum, neg_sum = fused_category_sums(grad.abs(), labels, is_pos, y,
                                           binary)
    loss_out = loss.sum() * scale if reduce else loss * scale
    return loss_out, grad, pos_sum, neg_sum


def _compile_options() -> dict:
    """Inductor options of the fused kernel that this torch knows."""
    from torch._inductor import config
    options = {}
    if hasattr(config.cpp, 'enable_floating_point_contract_flag'):
        # multiply-adds contracted to FMAs: faster, and one rounding instead
        # of two (bench/loss_speed.py); older torch lacks the option and
        # compiles without it
        options['cpp.enable_floating_point_contract_flag'] = 'fast'
    return options


def _call_fused(pred, terms, labels, scores, target, weight, scale,
                reduce) -> KernelResult:
    """The compiled kernel on one input (compiled on first use)."""
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
        neg_sum = binary_negative_sums(grad, labels, scale)
    return loss, grad, (pos_sum, neg_sum)


def _self_check(pred, terms, labels, scores, target, weight, scale, reduce,
                fused: KernelResult, reference: Callable[..., KernelResult]
                ) -> Optional[str]:
    """Recomputes a slice of the real input with both kernels.

    A slice of up to ``_CHECK_ROWS`` rows, positives included, goes through
    the compiled and the reference kernel. Loss, gradient and statistics
    must agree element by element within ``_CHECK_RTOL`` relative, or
    ``_CHECK_ATOL`` times the quantity's largest magnitude absolute, and so
    must the same rows of the full input's compiled result ``fused``.

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
    ref = reference(*sub, need_grad=True, want_stats=True)
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


def _run_fused(pred, terms, labels, scores, target, weight, scale, reduce,
               reference) -> Optional[KernelResult]:
    """The compiled kernel, self-checked on first use per device and kind
    of input; None (use the reference) if it failed or disagreed, after
    which the device is disabled with a warning."""
    device = str(pred.device)
    args = (pred, terms, labels, scores, target, weight, scale, reduce)
    problem = None
    try:
        fused = _call_fused(*args)
        kind = (device, pred.dtype, labels is None, scores is None,
                None if weight is None else tuple(weight.shape[1:]),
                terms.alpha is None, terms.w_pos is terms.w_neg, reduce)
        if kind in _fused_verified:
            return fused
        check = _self_check(*args, fused, reference)
        if check is not None:
            problem = f'failed its self-check: {check}'
    except Exception as err:  # no compiler, unsupported backend, ...
        problem = f'failed ({err!r:.200})'
    if problem is not None:
        _fused_disabled.add(device)
        warnings.warn(
            f'mmdet-efl: the compiled loss kernel {problem} on {device}; '
            f'using the eager kernel on {device} from now on',
            RuntimeWarning)
        return None
    _fused_verified.add(kind)
    return fused


def fused_loss(pred: Tensor, terms: FocalTerms, labels: Optional[Tensor],
               scores: Optional[Tensor], target: Optional[Tensor],
               weight: Optional[Tensor], scale: float, reduce: bool,
               reference: Callable[..., KernelResult]
               ) -> Optional[KernelResult]:
    """The fused kernel's result, or None where the reference kernel is to
    be used instead.

    It is used when ``MMDET_EFL_FUSED`` is ``1``, or ``auto`` (unset) for a
    CUDA input or one of at least 2^22 logits; never with ``0``, on a device
    where it failed before, or without ``torch.compile``.

    Args:
        pred: logits ``[N, C]``.
        terms, labels, scores, target, weight, scale, reduce: as
            ``modulated_focal_loss`` takes them, already in the compute
            dtype on ``pred``'s device.
        reference: the kernel it checks itself against, called as
            ``reference(pred, terms, labels, scores, target, weight, scale,
            reduce, need_grad=True, want_stats=True)``.

    Returns:
        ``(loss, grad, (pos_sum, neg_sum))`` in the compute dtype, or None.
    """
    mode = os.environ.get(FUSED_ENV, 'auto')
    if mode == '0' or str(pred.device) in _fused_disabled or \
            not hasattr(torch, 'compile'):
        return None
    if mode != '1' and not (pred.is_cuda or
                            pred.numel() >= _FUSED_MIN_ELEMENTS):
        return None
    return _run_fused(pred, terms, labels, scores, target, weight, scale,
                      reduce, reference)
