"""EqualizedQualityFocalLoss against EFL appendix A eq. 5 and mmdet's QFL."""
import pytest
import torch
import torch.nn.functional as F
from mmdet.models.losses import QualityFocalLoss

from mmdet_efl.models.losses import EqualizedQualityFocalLoss

C = 5


def _data(n=48, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    pred = torch.randn(n, C, generator=g, dtype=dtype) * 3
    labels = torch.randint(0, C + 1, (n, ), generator=g)
    scores = torch.rand(n, generator=g, dtype=dtype)
    scores[labels == C] = 0
    return pred, labels, scores


@pytest.mark.parametrize('reduction,avg_factor', [('mean', None),
                                                  ('mean', 6.0),
                                                  ('sum', None),
                                                  ('none', None)])
def test_scale_factor_zero_equals_mmdet_qfl(reduction, avg_factor):
    pred, labels, scores = _data(dtype=torch.float32)
    weight = torch.rand(pred.shape[0])
    eqfl = EqualizedQualityFocalLoss(C, scale_factor=0.0,
                                     reduction=reduction)
    qfl = QualityFocalLoss(use_sigmoid=True, beta=2.0, reduction=reduction)
    x1, x2 = pred.clone().requires_grad_(), pred.clone().requires_grad_()
    out1 = eqfl(x1, (labels, scores), weight, avg_factor=avg_factor)
    out2 = qfl(x2, (labels, scores), weight, avg_factor=avg_factor)
    torch.testing.assert_close(out1, out2, rtol=1e-6, atol=1e-6)
    out1.sum().backward()
    out2.sum().backward()
    torch.testing.assert_close(x1.grad, x2.grad, rtol=1e-5, atol=1e-7)


def test_value_matches_eq5_and_gradcheck():
    pred, labels, scores = _data(seed=4)
    loss = EqualizedQualityFocalLoss(C, scale_factor=4.0, reduction='sum')
    ratio = torch.linspace(0, 1, C, dtype=torch.float64)
    loss.neg_grad.fill_(2.0)
    loss.pos_grad.copy_(2.0 * ratio)
    gamma_j = 2.0 + 4.0 * (1 - (2.0 * ratio / (2.0 + 1e-10)))
    y = F.one_hot(labels, C + 1)[:, :C].double() * scores[:, None]
    p = pred.sigmoid()
    expected = (gamma_j / 2.0 * (y - p).abs()**gamma_j *
                F.binary_cross_entropy_with_logits(pred, y,
                                                   reduction='none')).sum()
    torch.testing.assert_close(loss(pred, (labels, scores)), expected)
    assert torch.autograd.gradcheck(
        lambda t: loss(t, (labels, scores)), (pred.clone()
                                              .requires_grad_(), ))


def test_positive_statistics_follow_labels():
    pred, labels, scores = _data(seed=8)
    loss = EqualizedQualityFocalLoss(C)
    x = pred.clone().requires_grad_()
    loss(x, (labels, scores), avg_factor=3.0).backward()
    onehot = F.one_hot(labels, C + 1)[:, :C].double()
    state = loss.state_dict()
    torch.testing.assert_close(state['pos_grad'],
                               (x.grad.abs() * onehot).sum(0))


def test_bad_quality_scores_are_a_clear_error():
    pred, labels, scores = _data()
    with pytest.raises(ValueError, match=r'\[0, 1\]'):
        EqualizedQualityFocalLoss(C)(pred, (labels, scores + 2))
    with pytest.raises(ValueError, match='quality scores must have shape'):
        EqualizedQualityFocalLoss(C)(pred, (labels, scores[:3]))


def test_gradient_ratio_is_clamped_to_one():
    """pos_grad > neg_grad: G_j is clamped to 1 (EFL eq. 3), so gamma_j =
    gamma_b and the weight is 1: mmdet's QFL, value and gradient."""
    pred, labels, scores = _data(seed=6, dtype=torch.float32)
    eqfl = EqualizedQualityFocalLoss(C, scale_factor=4.0)
    eqfl.pos_grad.fill_(3.0)
    eqfl.neg_grad.fill_(1.0)
    qfl = QualityFocalLoss(use_sigmoid=True, beta=2.0)
    x1, x2 = pred.clone().requires_grad_(), pred.clone().requires_grad_()
    out1 = eqfl(x1, (labels, scores), avg_factor=4.0)
    out2 = qfl(x2, (labels, scores), avg_factor=4.0)
    torch.testing.assert_close(out1, out2, rtol=1e-6, atol=1e-7)
    out1.backward()
    out2.backward()
    torch.testing.assert_close(x1.grad, x2.grad, rtol=1e-5, atol=1e-8)
