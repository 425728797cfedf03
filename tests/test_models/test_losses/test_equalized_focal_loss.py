"""EqualizedFocalLoss against EFL eq. 2-4 and 6, mmdet's FocalLoss and the
RetinaNet paper's numbers."""
import copy
import math
import warnings

import pytest
import torch
import torch.nn.functional as F
from mmdet.models.losses import FocalLoss
from mmdet.registry import MODELS

from mmdet_efl.models.losses import EqualizedFocalLoss

C = 7


def _data(n=64, c=C, scale=3.0, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    pred = torch.randn(n, c, generator=g, dtype=dtype) * scale
    labels = torch.randint(0, c + 1, (n, ), generator=g)
    return pred, labels


def _formula(pred, labels, gamma_j, weight_j, alpha=0.25):
    """EFL eq. 4 written directly from the paper (element-wise)."""
    y = F.one_hot(labels, C + 1)[:, :C].to(pred.dtype)
    p = pred.sigmoid()
    pt = torch.where(y > 0, p, 1 - p)
    at = torch.where(y > 0, alpha, 1 - alpha)
    return -at * weight_j * (1 - pt)**gamma_j * torch.log(pt)


def _set_ratio(loss, ratio):
    """Plants statistics ``pos = ratio, neg = 1``; returns the gradient
    ratio EFL eq. 3 gives for them, ``clamp(pos / (neg + 1e-10), 0, 1)``."""
    loss.neg_grad.fill_(1.0)
    loss.pos_grad.copy_(torch.as_tensor(ratio, dtype=torch.float64))
    return (loss.pos_grad / (loss.neg_grad + 1e-10)).clamp(0, 1)


def test_registered_and_builds_from_config():
    loss = MODELS.build(dict(type='EqualizedFocalLoss', num_classes=C))
    assert isinstance(loss, EqualizedFocalLoss)
    assert (loss.gamma, loss.scale_factor, loss.alpha) == (2.0, 8.0, 0.25)
    assert 'pos_grad' in loss.state_dict() and 'neg_grad' in loss.state_dict()


def test_value_matches_eq4_with_planted_ratios():
    pred, labels = _data(scale=1.5)
    loss = EqualizedFocalLoss(C, scale_factor=8.0, reduction='none')
    ratio = _set_ratio(loss, torch.linspace(0.0, 1.0, C, dtype=torch.float64))
    gamma_j = 2.0 + 8.0 * (1 - ratio)
    expected = _formula(pred, labels, gamma_j, gamma_j / 2.0)
    torch.testing.assert_close(loss(pred, labels), expected, rtol=1e-10,
                               atol=1e-12)
    torch.testing.assert_close(loss.focusing_factor(), gamma_j)


def test_gradient_matches_eq6_and_gradcheck():
    pred, labels = _data(n=40, scale=2.0)
    loss = EqualizedFocalLoss(C, scale_factor=4.0)
    ratio = _set_ratio(loss, torch.linspace(0.1, 0.9, C, dtype=torch.float64))
    gamma_j = 2.0 + 4.0 * (1 - ratio)

    x = pred.clone().requires_grad_()
    loss(x, labels, avg_factor=5.0).backward()
    y = F.one_hot(labels, C + 1)[:, :C].double()
    p = pred.sigmoid()
    pt = torch.where(y > 0, p, 1 - p)
    at = torch.where(y > 0, 0.25, 0.75)
    eq6 = (gamma_j * (2 * y - 1) / 2.0 * (1 - pt)**gamma_j *
           (gamma_j * pt * torch.log(pt) + pt - 1))
    torch.testing.assert_close(x.grad, at * eq6 / (5.0 + loss_eps()),
                               rtol=1e-9, atol=1e-12)

    frozen = copy.deepcopy(loss)
    assert torch.autograd.gradcheck(
        lambda t: frozen(t, labels, avg_factor=5.0), (pred.clone()
                                                      .requires_grad_(), ))


def loss_eps():
    return torch.finfo(torch.float32).eps


@pytest.mark.parametrize('reduction,avg_factor,weighted', [
    ('mean', None, False), ('mean', 9.0, True), ('sum', None, True),
    ('none', None, True), ('mean', 9.0, False)
])
def test_scale_factor_zero_equals_mmdet_focal_loss(reduction, avg_factor,
                                                   weighted):
    pred, labels = _data(n=128, seed=3, dtype=torch.float32)
    pred = pred.clone()
    weight = (torch.rand(128) > 0.2).float() if weighted else None
    efl = EqualizedFocalLoss(C, scale_factor=0.0, reduction=reduction,
                             loss_weight=1.5)
    _set_ratio(efl, torch.rand(C))  # s = 0 makes the state irrelevant
    fl = FocalLoss(use_sigmoid=True, gamma=2.0, alpha=0.25,
                   reduction=reduction, loss_weight=1.5)
    x1 = pred.clone().requires_grad_()
    x2 = pred.clone().requires_grad_()
    out1 = efl(x1, labels, weight, avg_factor=avg_factor)
    out2 = fl(x2, labels, weight, avg_factor=avg_factor)
    torch.testing.assert_close(out1, out2, rtol=1e-6, atol=1e-6)
    out1.sum().backward()
    out2.sum().backward()
    torch.testing.assert_close(x1.grad, x2.grad, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize('gamma', [0.5, 2.0, 5.0])
def test_scale_factor_zero_gradient_is_fl_eq10(gamma):
    """RetinaNet appendix B eq. 10: dFL/dx = y (1 - p_t)^g (g p_t log p_t +
    p_t - 1) with y in {-1, +1}, times alpha_t."""
    pred, labels = _data(n=50, seed=9)
    x = pred.clone().requires_grad_()
    EqualizedFocalLoss(C, gamma=gamma, scale_factor=0.0,
                       reduction='sum')(x, labels).backward()
    y = F.one_hot(labels, C + 1)[:, :C].double()
    p = pred.sigmoid()
    pt = torch.where(y > 0, p, 1 - p)
    at = torch.where(y > 0, 0.25, 0.75)
    eq10 = (2 * y - 1) * (1 - pt)**gamma * (gamma * pt * torch.log(pt) +
                                            pt - 1)
    torch.testing.assert_close(x.grad, at * eq10, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize('s', [1.0, 4.0, 8.0, 12.0])
def test_first_iteration_equals_focal_loss_for_any_s(s):
    pred, labels = _data(n=96, seed=5, dtype=torch.float32)
    efl = EqualizedFocalLoss(C, scale_factor=s)
    fl = FocalLoss(use_sigmoid=True)
    x1 = pred.clone().requires_grad_()
    x2 = pred.clone().requires_grad_()
    out1, out2 = efl(x1, labels, avg_factor=4), fl(x2, labels, avg_factor=4)
    torch.testing.assert_close(out1, out2, rtol=1e-6, atol=1e-7)
    out1.backward()
    out2.backward()
    torch.testing.assert_close(x1.grad, x2.grad, rtol=1e-6, atol=1e-8)
    # ...and after a backward the statistics make it differ.
    assert not torch.allclose(efl(pred, labels, avg_factor=4), out2)


@pytest.mark.parametrize('pt,factor', [(0.9, 100.0), (0.968, 1000.0)])
def test_retinanet_paper_loss_reduction(pt, factor):
    """RetinaNet sec. 3.2: with gamma = 2, p_t = 0.9 gives 100x lower loss
    than CE, p_t ~ 0.968 about 1000x."""
    logit = torch.tensor([[math.log(pt / (1 - pt))]])
    efl = EqualizedFocalLoss(1, alpha=None, scale_factor=0.0,
                             reduction='sum')
    ce = F.binary_cross_entropy_with_logits(logit, torch.ones(1, 1),
                                            reduction='sum')
    ratio = float(ce / efl(logit, torch.tensor([0])))
    assert ratio == pytest.approx(factor, rel=0.03)


def test_table3_ablation_definitions():
    pred, labels = _data(scale=1.5, seed=7)
    planted = torch.linspace(0.0, 1.0, C, dtype=torch.float64)
    ratio = _set_ratio(EqualizedFocalLoss(C), planted)
    gamma_j = 2.0 + 8.0 * (1 - ratio)
    cases = {
        (True, True): (gamma_j, gamma_j / 2.0),
        (True, False): (gamma_j, torch.ones(C, dtype=torch.float64)),
        (False, True): (torch.full((C, ), 2.0, dtype=torch.float64),
                        gamma_j / 2.0),
    }
    for (ff, wf), (g, w) in cases.items():
        loss = EqualizedFocalLoss(C, use_focusing_factor=ff,
                                  use_weighting_factor=wf, reduction='none')
        _set_ratio(loss, planted)
        torch.testing.assert_close(
            loss(pred, labels), _formula(pred, labels, g, w), rtol=1e-10,
            atol=1e-12, msg=f'FF={ff} WF={wf}')


def test_statistics_equal_autograd_gradient_per_category():
    pred, labels = _data(n=80, seed=11)
    weight = torch.rand(80, dtype=torch.float64)
    weight[::5] = 0  # ignored samples
    loss = EqualizedFocalLoss(C, loss_weight=2.0)
    _set_ratio(loss, torch.rand(C))
    before_pos, before_neg = loss.pos_grad.clone(), loss.neg_grad.clone()
    x = pred.clone().requires_grad_()
    loss(x, labels, weight, avg_factor=7.0).backward()
    y = F.one_hot(labels, C + 1)[:, :C].double()
    g = x.grad.abs()
    state = loss.state_dict()  # folds this iteration's sums
    torch.testing.assert_close(state['pos_grad'] - before_pos,
                               (g * y).sum(0))
    torch.testing.assert_close(state['neg_grad'] - before_neg,
                               (g * (1 - y)).sum(0))
    # zero-weight samples have zero gradient, so they add nothing
    assert x.grad[::5].abs().sum() == 0


def test_forward_only_calls_leave_statistics_alone():
    pred, labels = _data()
    loss = EqualizedFocalLoss(C)
    with torch.no_grad():
        loss(pred.clone().requires_grad_(), labels)
    loss(pred, labels)  # no grad required
    x = pred.clone().requires_grad_()
    loss(x, labels)  # graph built, never back-propagated
    assert loss.pos_grad.sum() == 0 and loss.neg_grad.sum() == 0
    assert torch.equal(loss.gradient_ratio(), torch.ones(C,
                                                         dtype=torch.float64))


def test_several_calls_per_iteration_accumulate():
    """mmdet heads call the loss once per FPN level."""
    pred, labels = _data(n=60)
    a, b = EqualizedFocalLoss(C), EqualizedFocalLoss(C)
    x = pred.clone().requires_grad_()
    (a(x[:20], labels[:20], avg_factor=3) + a(x[20:], labels[20:],
                                              avg_factor=3)).backward()
    b(pred.clone().requires_grad_(), labels, avg_factor=3).backward()
    torch.testing.assert_close(a.state_dict()['pos_grad'],
                               b.state_dict()['pos_grad'])
    torch.testing.assert_close(a.state_dict()['neg_grad'],
                               b.state_dict()['neg_grad'])


def test_dense_one_hot_target_equals_labels():
    pred, labels = _data()
    onehot = F.one_hot(labels, C + 1)[:, :C]
    loss = EqualizedFocalLoss(C)
    _set_ratio(loss, torch.rand(C))
    torch.testing.assert_close(loss(pred, labels), loss(pred, onehot))


@pytest.mark.parametrize('dtype,bound', [(torch.float32, 100.0),
                                         (torch.float16, 30.0)])
def test_finite_at_extreme_logits(dtype, bound):
    pred = torch.tensor([[bound, -bound, 0.0], [-bound, bound, 1.0],
                         [bound, bound, -bound]])
    labels = torch.tensor([0, 0, 3])  # easy pos, hard pos, background
    loss = EqualizedFocalLoss(3, reduction='sum')
    _set_ratio(loss, torch.tensor([0.0, 0.5, 1.0]))
    frozen = copy.deepcopy(loss)
    x = pred.to(dtype).requires_grad_()
    out = loss(x, labels)
    out.backward()
    assert torch.isfinite(out) and torch.isfinite(x.grad).all()
    if dtype == torch.float16:
        ref = pred.clone().requires_grad_()
        ref_out = frozen(ref, labels)
        ref_out.backward()
        assert out.item() == pytest.approx(ref_out.item(), rel=1e-2)
        torch.testing.assert_close(x.grad.float(), ref.grad, rtol=1e-2,
                                   atol=1e-3)


def test_fp16_random_logits_close_to_fp32():
    pred, labels = _data(n=256, scale=10.0, dtype=torch.float32)
    pred = pred.clamp(-30, 30).half().float()  # representable in fp16
    loss = EqualizedFocalLoss(C)
    _set_ratio(loss, torch.rand(C))
    frozen = copy.deepcopy(loss)
    x16 = pred.half().requires_grad_()
    x32 = pred.clone().requires_grad_()
    out16, out32 = loss(x16, labels, avg_factor=10), frozen(
        x32, labels, avg_factor=10)
    assert out16.dtype == torch.float32  # losses in fp32, as autocast
    assert out16.item() == pytest.approx(out32.item(), rel=1e-2)


def test_wrong_num_classes_is_a_clear_error():
    pred, labels = _data()
    with pytest.raises(ValueError, match='num_classes=8'):
        EqualizedFocalLoss(8)(pred, labels)


def test_labels_out_of_range_name_the_values():
    pred, labels = _data()
    labels[3] = C + 5
    labels[4] = -1
    with pytest.raises(ValueError, match=r'\[-1, 12\]'):
        EqualizedFocalLoss(C)(pred, labels)


def test_nan_logits_are_a_clear_error():
    pred, labels = _data()
    pred[2, 3] = float('nan')
    with pytest.raises(ValueError, match='1 NaN'):
        EqualizedFocalLoss(C)(pred.requires_grad_(), labels)


def test_non_finite_upstream_gradient_is_skipped_and_warned_once():
    pred, labels = _data()
    loss = EqualizedFocalLoss(C)
    for _ in range(2):
        x = pred.clone().requires_grad_()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            (loss(x, labels) * float('inf')).backward()
            loss.state_dict()
        assert loss.pos_grad.sum() == 0 and loss.neg_grad.sum() == 0
        assert len([w for w in caught if 'non-finite' in str(w.message)
                    ]) == (1 if _ == 0 else 0)
    x = pred.clone().requires_grad_()
    loss(x, labels).backward()
    assert loss.state_dict()['neg_grad'].sum() > 0


def test_checkpoint_round_trip_continues_identically(tmp_path):
    pred, labels = _data(n=50, seed=2, dtype=torch.float32)
    torch.manual_seed(0)
    loss = EqualizedFocalLoss(C)
    for _ in range(3):
        loss(pred.clone().requires_grad_(), labels).backward()
    torch.save(loss.state_dict(), tmp_path / 'efl.pth')
    restored = EqualizedFocalLoss(C)
    restored.load_state_dict(torch.load(tmp_path / 'efl.pth'))
    for key in ('pos_grad', 'neg_grad'):
        assert torch.equal(restored.state_dict()[key], loss.state_dict()[key])
    torch.testing.assert_close(restored.focusing_factor(),
                               loss.focusing_factor(), rtol=0, atol=0)
    nxt = pred.flip(0)
    assert torch.equal(restored(nxt, labels), loss(nxt, labels))


def test_gradient_ratio_is_clamped_to_one():
    """EFL eq. 3 clamps G_j to [0, 1]: a category whose positives received
    more gradient than its negatives (pos_grad > neg_grad) is focused with
    gamma_b and weight 1, exactly like focal loss; unclamped, G_j = 3 would
    give gamma_j = 2 + 8 (1 - 3) = -14."""
    pred, labels = _data(scale=1.5, seed=13)
    loss = EqualizedFocalLoss(C, scale_factor=8.0, reduction='none')
    ratio = _set_ratio(loss, [3.0, 1.0, 0.5, 2.0, 0.0, 10.0, 1.5])
    assert ratio.max() == 1.0 and ratio[2] == pytest.approx(0.5)
    gamma_j = 2.0 + 8.0 * (1 - ratio)
    torch.testing.assert_close(loss.gradient_ratio(), ratio, rtol=1e-9,
                               atol=0)
    torch.testing.assert_close(loss.focusing_factor(), gamma_j, rtol=1e-9,
                               atol=0)
    torch.testing.assert_close(loss(pred, labels),
                               _formula(pred, labels, gamma_j, gamma_j / 2.0),
                               rtol=1e-10, atol=1e-12)
