"""FocalLossStar against RetinaNet appendix A (eq. 6-8 and 11)."""
import pytest
import torch
import torch.nn.functional as F
from mmdet.registry import MODELS

from mmdet_efl.models.losses import FocalLossStar

C = 4


def _data(n=40, seed=0):
    g = torch.Generator().manual_seed(seed)
    pred = torch.randn(n, C, generator=g, dtype=torch.float64) * 3
    labels = torch.randint(0, C + 1, (n, ), generator=g)
    return pred, labels


@pytest.mark.parametrize('gamma,beta', [(2.0, 1.0), (4.0, 0.0)])
def test_value_and_eq11_derivative(gamma, beta):
    pred, labels = _data()
    loss = MODELS.build(
        dict(type='FocalLossStar', gamma=gamma, beta=beta, reduction='sum'))
    y = F.one_hot(labels, C + 1)[:, :C].double()
    x_t = (2 * y - 1) * pred
    at = torch.where(y > 0, 0.25, 0.75)
    p_star = torch.sigmoid(gamma * x_t + beta)
    x = pred.clone().requires_grad_()
    out = loss(x, labels)
    torch.testing.assert_close(out, (-at * torch.log(p_star) / gamma).sum())
    out.backward()
    torch.testing.assert_close(x.grad, at * (2 * y - 1) * (p_star - 1))
    assert torch.autograd.gradcheck(lambda t: loss(t, labels),
                                    (pred.clone().requires_grad_(), ))


def test_finite_at_extreme_logits():
    pred = torch.tensor([[100.0, -100.0, 0.0, 3.0]]).requires_grad_()
    out = FocalLossStar(gamma=4.0, beta=0.0)(pred, torch.tensor([1]))
    out.backward()
    assert torch.isfinite(out) and torch.isfinite(pred.grad).all()


def test_bad_labels_are_a_clear_error():
    pred, labels = _data()
    labels[0] = 99
    with pytest.raises(ValueError, match=r'\[99\]'):
        FocalLossStar()(pred, labels)
