"""Half-precision logits under AMP loss scaling (issue 13, bench/
amp_underflow.py at a smaller shape): every gradient entry that fp16 can
hold after scaling survives, as with mmdet's FocalLoss."""
import pytest
import torch
from mmdet.models.losses import FocalLoss

from mmdet_efl.models.losses import (EQLv2FocalLoss, EqualizedFocalLoss,
                                     EqualizedQualityFocalLoss)

# smallest positive fp16 subnormal: a value at least this large never
# rounds to 0 in fp16
FP16_TINY = 2.0**-24
N, C, AVG, SCALE = 2000, 50, 300.0, 1024.0


def _inputs():
    g = torch.Generator().manual_seed(0)
    pred = (torch.randn(N, C, generator=g) - 4.6).half()
    labels = torch.full((N, ), C, dtype=torch.long)
    rows = torch.randperm(N, generator=g)[:30]
    labels[rows] = torch.randint(0, C, (30, ), generator=g)
    scores = torch.zeros(N)
    scores[rows] = 0.3 + 0.6 * torch.rand(30, generator=g)
    return pred, labels, scores


def _adaptive(loss_type):
    loss = loss_type(C)
    loss.pos_grad[:C // 2] = 0.05  # G_j = 0.05 for half the categories
    loss.neg_grad[:C // 2] = 1.0
    return loss


def _lost(loss_fn, pred16):
    """Entries representable in fp16 after scaling (by the fp32 run) that
    the fp16 run returns as 0, and how many were representable."""
    grads = []
    for x in (pred16.float(), pred16):
        x = x.clone().requires_grad_()
        (loss_fn(x) * torch.tensor([SCALE])).backward()
        grads.append(x.grad)
    ref, got = grads
    assert got.dtype == torch.float16
    representable = ref.abs() >= FP16_TINY
    return int((got[representable] == 0).sum()), int(representable.sum())


@pytest.mark.parametrize('name', ['EqualizedFocalLoss',
                                  'EqualizedQualityFocalLoss',
                                  'EQLv2FocalLoss'])
def test_no_more_underflow_than_mmdet_focal_loss(name):
    pred, labels, scores = _inputs()
    focal = FocalLoss(use_sigmoid=True)
    base_lost, base_total = _lost(
        lambda x: focal(x, labels, avg_factor=AVG), pred)
    assert base_lost == 0 and base_total > 0
    loss_type, target = {
        'EqualizedFocalLoss': (EqualizedFocalLoss, labels),
        'EqualizedQualityFocalLoss': (EqualizedQualityFocalLoss,
                                      (labels, scores)),
        'EQLv2FocalLoss': (EQLv2FocalLoss, labels)}[name]
    state = _adaptive(loss_type).state_dict()

    def run(x):
        loss = loss_type(C)
        loss.load_state_dict(state)
        return loss(x, target, avg_factor=AVG)

    lost, total = _lost(run, pred)
    assert total > 1000
    assert lost <= base_lost, f'{lost} of {total} representable entries lost'


def test_half_logits_give_a_float32_loss_and_one_rounding():
    """The loss is returned in float32 (as autocast computes losses), the
    gradient in the logits' dtype, equal to the float32 gradient rounded
    once (after the upstream factor)."""
    pred, labels, _ = _inputs()
    loss = _adaptive(EqualizedFocalLoss)
    frozen = loss.state_dict()
    x16 = pred.clone().requires_grad_()
    out = loss(x16, labels, avg_factor=AVG)
    assert out.dtype == torch.float32
    (out * SCALE).backward()
    ref = EqualizedFocalLoss(C)
    ref.load_state_dict(frozen)
    x32 = pred.float().requires_grad_()
    (ref(x32, labels, avg_factor=AVG) * SCALE).backward()
    assert x16.grad.dtype == torch.float16
    assert torch.equal(x16.grad, x32.grad.half())


def _cpu_autocast_enabled() -> bool:
    try:
        return torch.is_autocast_enabled('cpu')
    except TypeError:  # torch < 2.4 takes no device
        return torch.is_autocast_cpu_enabled()


def test_kernel_runs_outside_autocast(monkeypatch):
    """Under CUDA autocast a matrix product in the kernel (the fused
    path's negative sums) would run in fp16; the kernel switches autocast
    off for itself (checked here with CPU autocast, the same switch)."""
    from mmdet_efl.models.losses import modulated_focal
    seen = []
    kernel = modulated_focal._eager_kernel

    def spy(*args, **kwargs):
        seen.append(_cpu_autocast_enabled())
        return kernel(*args, **kwargs)

    monkeypatch.setattr(modulated_focal, '_eager_kernel', spy)
    pred, labels, _ = _inputs()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        assert _cpu_autocast_enabled()
        EqualizedFocalLoss(C)(pred.float().requires_grad_(), labels,
                              avg_factor=AVG)
    assert seen == [False]


def test_elementwise_upstream_with_half_logits_loses_nothing():
    """reduction='none' and a per-element reweighting (a head's own
    weighting) under a loss scale: the fp16 gradient equals the float32
    one rounded once, after the element-wise upstream gradient."""
    pred, labels, _ = _inputs()
    g = torch.Generator().manual_seed(1)
    reweight = torch.rand(N, C, generator=g)
    grads = []
    for x in (pred.float(), pred):
        loss = _adaptive(EqualizedFocalLoss)
        x = x.clone().requires_grad_()
        out = loss(x, labels, avg_factor=AVG, reduction_override='none')
        ((out * reweight).sum() * torch.tensor([SCALE])).backward()
        grads.append(x.grad)
    ref, got = grads
    representable = ref.abs() >= FP16_TINY
    assert int(representable.sum()) > 1000
    assert int((got[representable] == 0).sum()) == 0
    assert torch.equal(got, ref.half())
