"""``modulated_focal_loss`` on inputs of several row chunks, against the
generalised focal loss written out in float64 (RetinaNet eq. 5, QFL, EFL
eq. 4), its derivative by autograd and the per-category sums of that
derivative's magnitude (EFL eq. 3); and what it returns for each request."""
import pytest
import torch
import torch.nn.functional as F

from mmdet_efl.models.losses import FocalTerms, modulated_focal_loss
from mmdet_efl.models.losses import fused_kernel
from mmdet_efl.models.losses import modulated_focal as kernel

C = 3
# rows of several chunks, the last one partial
N = 2 * (kernel._CHUNK_ELEMENTS // C) + 123


def _inputs(kind):
    g = torch.Generator().manual_seed(7)
    pred = (torch.rand(N, C, generator=g) - 0.5) * 16
    labels = torch.randint(0, C + 1, (N, ), generator=g)
    scores = torch.rand(N, generator=g) if kind == 'labels and scores' \
        else None
    if kind == 'dense':
        y = torch.rand(N, C, generator=g, dtype=torch.float64)
        y = y * (torch.rand(N, C, generator=g) < 0.3)
        return pred, dict(target=y.float()), y.float().double(), y > 0
    y = F.one_hot(labels, C + 1)[:, :C].double()
    positive = y > 0
    if scores is not None:
        y = y * scores[:, None].double()
    kw = dict(labels=labels) if scores is None else \
        dict(labels=labels, scores=scores)
    return pred, kw, y, positive


def _reference(pred, y, positive, gamma, w, weight, scale):
    """Loss, gradient and sums from the papers' formulas, float64."""
    x = pred.double().requires_grad_()
    p = torch.sigmoid(x)
    bce = -(y * F.logsigmoid(x) + (1 - y) * F.logsigmoid(-x))
    loss = (0.25 * y + 0.75 * (1 - y)) * w * (y - p).abs()**gamma * bce
    loss = loss * weight * scale
    grad, = torch.autograd.grad(loss.sum(), x)
    pos = (grad.abs() * positive).sum(0)
    neg = (grad.abs() * ~positive).sum(0)
    return loss.detach(), grad, pos, neg


@pytest.mark.parametrize('kind', ['labels', 'labels and scores', 'dense'])
@pytest.mark.parametrize('reduce', [True, False])
def test_row_chunks_add_up_to_the_whole(monkeypatch, kind, reduce):
    monkeypatch.setenv(fused_kernel.FUSED_ENV, '0')
    pred, kw, y, positive = _inputs(kind)
    # gamma >= 1: below, |y - p|^gamma of a soft target is steep at y = p
    gamma = torch.tensor([1.0, 2.0, 6.0], dtype=torch.float64)
    w = torch.tensor([1.5, 1.0, 3.0], dtype=torch.float64)
    weight = torch.rand(N, 1, generator=torch.Generator().manual_seed(2))
    scale = -0.37
    terms = FocalTerms(gamma=gamma, w_pos=w, w_neg=w, alpha=0.25)
    loss, grad, (pos, neg) = modulated_focal_loss(
        pred, terms, weight=weight, scale=scale, reduce=reduce, **kw)
    want = _reference(pred, y, positive, gamma, w, weight.double(), scale)
    assert loss.dtype == grad.dtype == pos.dtype == torch.float32
    # fp32 against float64: |y - p| of a soft target near p cancels, so
    # elements are compared to the largest one's precision
    close = (lambda a, b: torch.testing.assert_close(
        a.double(), b, rtol=1e-5, atol=1e-6 * float(b.abs().max())))
    if reduce:
        assert loss.dim() == 0
        close(loss, want[0].sum())
    else:
        assert loss.shape == (N, C)
        close(loss, want[0])
    close(grad, want[1])
    torch.testing.assert_close(pos.double(), want[2], rtol=1e-5, atol=0)
    torch.testing.assert_close(neg.double(), want[3], rtol=1e-5, atol=0)


def test_what_is_returned_for_each_request(monkeypatch):
    monkeypatch.setenv(fused_kernel.FUSED_ENV, '0')
    pred, kw, _, _ = _inputs('labels')
    terms = FocalTerms(gamma=torch.tensor(2.0))
    full = modulated_focal_loss(pred, terms, **kw)
    # by default the loss is summed, unscaled
    y = F.one_hot(kw['labels'], C + 1)[:, :C].double()
    x = pred.double()
    fl = (y - x.sigmoid()).abs()**2 * -(y * F.logsigmoid(x) +
                                       (1 - y) * F.logsigmoid(-x))
    assert full[0].dim() == 0
    torch.testing.assert_close(full[0].double(), fl.sum(), rtol=1e-5,
                               atol=0)
    # sample weights are taken in the compute dtype
    weight = torch.rand(N, 1, dtype=torch.float64)
    torch.testing.assert_close(
        modulated_focal_loss(pred, terms, weight=weight, **kw),
        modulated_focal_loss(pred, terms, weight=weight.float(), **kw),
        rtol=0, atol=0)
    loss, grad, stats = modulated_focal_loss(pred, terms, need_grad=False,
                                             **kw)
    assert grad is None and stats is None
    torch.testing.assert_close(loss, full[0], rtol=0, atol=0)
    loss, grad, stats = modulated_focal_loss(pred, terms, stats=False, **kw)
    assert stats is None
    torch.testing.assert_close((loss, grad), full[:2], rtol=0, atol=0)
    # float64 logits are computed in float64, half ones in float32
    out = modulated_focal_loss(pred.double(), terms, **kw)
    assert {out[0].dtype, out[1].dtype, out[2][0].dtype} == {torch.float64}
    torch.testing.assert_close(out[1], full[1].double(), rtol=1e-5,
                               atol=1e-8)
    out = modulated_focal_loss(pred.half(), terms, **kw)
    assert {out[0].dtype, out[1].dtype, out[2][0].dtype} == {torch.float32}


def test_fused_kernel_only_when_gradient_and_statistics_are_wanted(
        monkeypatch):
    """The fused kernel computes loss, gradient and statistics together;
    a request for less goes to the eager kernel."""
    monkeypatch.setenv(fused_kernel.FUSED_ENV, '1')
    calls = []

    def fused(*args, **kwargs):
        calls.append(1)
        return None  # fall back to eager
    monkeypatch.setattr(fused_kernel, 'fused_loss', fused)
    pred, kw, _, _ = _inputs('labels')
    terms = FocalTerms(gamma=torch.tensor(2.0))
    modulated_focal_loss(pred[:10], terms, labels=kw['labels'][:10],
                         need_grad=False)
    modulated_focal_loss(pred[:10], terms, labels=kw['labels'][:10],
                         stats=False)
    assert not calls
    out = modulated_focal_loss(pred[:10], terms, labels=kw['labels'][:10])
    assert calls == [1] and out[2] is not None
