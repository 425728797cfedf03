"""Which gradient the statistics count (CategoryAdaptiveLoss docstring):
|dL/dx * upstream| element by element for a non-scalar upstream, with the
AMP loss scale divided out; a scalar upstream kept out of the sums, and 0
adding nothing. Expected sums come from EFL eq. 6 in closed form."""
import pytest
import torch
import torch.nn.functional as F

from mmdet_efl.engine.hooks.gradient_collector_hook import loss_scale
from mmdet_efl.models.losses import EqualizedFocalLoss
from mmdet_efl.utils.compat import CPU_GRAD_SCALER

C = 5
S = 8.0  # scale factor s


def _data(n=60, seed=0):
    g = torch.Generator().manual_seed(seed)
    pred = torch.randn(n, C, generator=g, dtype=torch.float64) * 2 - 1
    labels = torch.randint(0, C + 1, (n, ), generator=g)
    upstream = torch.rand(n, C, generator=g, dtype=torch.float64)
    # a per-element reweighting that zeroes some entries and boosts others
    upstream[::4] = 0.0
    upstream[1::7] *= 20.0
    return pred, labels, upstream


def _loss(loss_weight=1.5, reduction='mean'):
    loss = EqualizedFocalLoss(C, scale_factor=S, loss_weight=loss_weight,
                              reduction=reduction)
    loss.pos_grad.copy_(torch.tensor([0.1, 0.4, 0.7, 1.0, 3.0],
                                     dtype=torch.float64))
    loss.neg_grad.fill_(1.0)
    return loss


def _eq6(pred, labels, loss_weight=1.5):
    """dEFL/dx (EFL eq. 6 times alpha_t) for the planted state, and the
    one-hot target."""
    ratio = torch.tensor([0.1, 0.4, 0.7, 1.0, 1.0], dtype=torch.float64)
    gamma_j = 2.0 + S * (1 - ratio)
    y = F.one_hot(labels, C + 1)[:, :C].double()
    p = pred.sigmoid()
    pt = torch.where(y > 0, p, 1 - p)
    at = torch.where(y > 0, 0.25, 0.75)
    grad = (at * gamma_j * (2 * y - 1) / 2.0 * (1 - pt)**gamma_j *
            (gamma_j * pt * torch.log(pt) + pt - 1))
    return loss_weight * grad, y


def _increment(loss, before):
    state = loss.state_dict()  # folds the pending sums (one process)
    return (state['pos_grad'] - before[0], state['neg_grad'] - before[1])


def _sums(grad, y):
    return (grad.abs() * y).sum(0), (grad.abs() * (1 - y)).sum(0)


def test_element_wise_upstream_is_honoured():
    """reduction='none' then a per-element reweighting: the statistics are
    the gradient that reaches the logits, not the unweighted one."""
    pred, labels, upstream = _data()
    loss = _loss(reduction='none')
    before = (loss.pos_grad.clone(), loss.neg_grad.clone())
    x = pred.clone().requires_grad_()
    (loss(x, labels) * upstream).sum().backward()
    eq6, y = _eq6(pred, labels)
    torch.testing.assert_close(x.grad, eq6 * upstream)
    pos, neg = _increment(loss, before)
    exp_pos, exp_neg = _sums(eq6 * upstream, y)
    torch.testing.assert_close(pos, exp_pos)
    torch.testing.assert_close(neg, exp_neg)
    # ... and they differ from the unweighted sums by far
    unweighted = _sums(eq6, y)[1].sum()
    assert not torch.isclose(neg.sum(), unweighted, rtol=0.1)


@pytest.mark.skipif(not CPU_GRAD_SCALER,
                    reason='torch < 2.3 has no CPU GradScaler')
def test_element_wise_upstream_with_amp_loss_scale_divided_out():
    """Under a real GradScaler (CPU) the per-element upstream includes the
    loss scale; with the scale handed over (as GradientCollectorHook does
    from the optimiser wrapper) the sums are those without it."""
    from mmengine.optim import OptimWrapper

    pred, labels, upstream = _data(seed=1)
    scaler = torch.amp.GradScaler('cpu', init_scale=1024.0)
    wrapper = OptimWrapper(torch.optim.SGD([torch.zeros(1)], lr=0.1))
    wrapper.loss_scaler = scaler  # what AmpOptimWrapper holds
    assert loss_scale(wrapper) == 1024.0
    loss = _loss(reduction='none')
    loss.set_loss_scale(loss_scale(wrapper))
    before = (loss.pos_grad.clone(), loss.neg_grad.clone())
    x = pred.clone().requires_grad_()
    scaler.scale((loss(x, labels) * upstream).sum()).backward()
    eq6, y = _eq6(pred, labels)
    torch.testing.assert_close(x.grad, 1024.0 * eq6 * upstream)
    pos, neg = _increment(loss, before)
    exp_pos, exp_neg = _sums(eq6 * upstream, y)
    torch.testing.assert_close(pos, exp_pos)
    torch.testing.assert_close(neg, exp_neg)


def test_loss_scale_is_one_without_a_scaler():
    from mmengine.optim import OptimWrapper
    assert loss_scale(OptimWrapper(torch.optim.SGD([torch.zeros(1)],
                                                   lr=0.1))) == 1.0
    with pytest.raises(ValueError, match='loss_scale must be'):
        _loss().set_loss_scale(0.0)


@pytest.mark.parametrize('factor', [7.25, 1024.0, -0.5])
def test_scalar_upstream_is_kept_out(factor):
    """A scalar upstream (an AMP loss scale, a constant weight) multiplies
    the gradient but not the statistics: a changing loss scale does not
    reweight iterations. loss_weight and avg_factor do count."""
    pred, labels, _ = _data(seed=2)
    loss = _loss(loss_weight=1.5)
    before = (loss.pos_grad.clone(), loss.neg_grad.clone())
    x = pred.clone().requires_grad_()
    (factor * loss(x, labels, avg_factor=4.0)).backward()
    eq6, y = _eq6(pred, labels)
    eq6 = eq6 / (4.0 + torch.finfo(torch.float32).eps)
    torch.testing.assert_close(x.grad, factor * eq6)
    pos, neg = _increment(loss, before)
    exp_pos, exp_neg = _sums(eq6, y)
    torch.testing.assert_close(pos, exp_pos)
    torch.testing.assert_close(neg, exp_neg)


def test_scalar_zero_upstream_adds_nothing():
    """(0 * loss).backward(): nothing reaches the logits, so nothing is
    counted; a later real backward still is."""
    pred, labels, _ = _data(seed=3)
    loss = _loss()
    before = (loss.pos_grad.clone(), loss.neg_grad.clone())
    x = pred.clone().requires_grad_()
    (0 * loss(x, labels)).backward()
    assert x.grad.abs().sum() == 0
    pos, neg = _increment(loss, before)
    assert pos.abs().sum() == 0 and neg.abs().sum() == 0
    loss(pred.clone().requires_grad_(), labels).backward()
    pos, neg = _increment(loss, before)
    assert neg.sum() > 0


def test_non_finite_element_wise_upstream_skips_the_iteration():
    pred, labels, upstream = _data(seed=4)
    upstream[3, 2] = float('inf')
    loss = _loss(reduction='none')
    before = (loss.pos_grad.clone(), loss.neg_grad.clone())
    with pytest.warns(RuntimeWarning, match='non-finite'):
        (loss(pred.clone().requires_grad_(), labels) *
         upstream).sum().backward()
        pos, neg = _increment(loss, before)
    assert pos.abs().sum() == 0 and neg.abs().sum() == 0


@pytest.mark.parametrize('target_kind', ['labels', 'dense'])
def test_element_wise_upstream_in_row_blocks(monkeypatch, target_kind):
    """The product with an element-wise upstream is formed in row blocks
    (to bound its float32 temporaries): gradient and sums are those of
    eq. 6 whatever the block size, for labels and for a dense target."""
    from mmdet_efl.models.losses import category_adaptive_loss
    monkeypatch.setattr(category_adaptive_loss, '_BLOCK_ELEMENTS', 3 * C)
    pred, labels, upstream = _data(n=61, seed=5)  # 20 blocks of 3, and 1
    loss = _loss(reduction='none')
    before = (loss.pos_grad.clone(), loss.neg_grad.clone())
    eq6, y = _eq6(pred, labels)
    x = pred.clone().requires_grad_()
    target = labels if target_kind == 'labels' else y
    (loss(x, target) * upstream).sum().backward()
    torch.testing.assert_close(x.grad, eq6 * upstream)
    pos, neg = _increment(loss, before)
    exp_pos, exp_neg = _sums(eq6 * upstream, y)
    torch.testing.assert_close(pos, exp_pos)
    torch.testing.assert_close(neg, exp_neg)


def test_half_precision_scalar_upstream_counts_once():
    """fp16 logits with a scalar upstream: the statistics are counted once,
    and equal EFL eq. 6 at the fp16-rounded logits."""
    pred, labels, _ = _data(seed=6)
    half = pred.half()
    eq6, y = _eq6(half.double(), labels)
    exp_pos, exp_neg = _sums(eq6, y)
    loss = _loss()
    before = (loss.pos_grad.clone(), loss.neg_grad.clone())
    x = half.clone().requires_grad_()
    (3.0 * loss(x, labels)).backward()
    assert x.grad.dtype == torch.float16
    pos, neg = _increment(loss, before)
    # 'mean' without avg_factor divides by the number of elements
    torch.testing.assert_close(pos, exp_pos / pred.numel(), rtol=2e-3,
                               atol=1e-6)
    torch.testing.assert_close(neg, exp_neg / pred.numel(), rtol=2e-3,
                               atol=1e-6)
