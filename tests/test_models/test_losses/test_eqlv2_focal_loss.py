"""EQLv2FocalLoss against its definition and EFL appendix B eq. 7."""
import torch
import torch.nn.functional as F
from mmdet.models.losses import FocalLoss

from mmdet_efl.models.losses import EQLv2FocalLoss

C = 6


def _data(n=50, seed=0):
    g = torch.Generator().manual_seed(seed)
    pred = torch.randn(n, C, generator=g, dtype=torch.float64) * 2
    labels = torch.randint(0, C + 1, (n, ), generator=g)
    return pred, labels


def test_starts_as_focal_loss():
    pred, labels = _data()
    loss = EQLv2FocalLoss(C)
    torch.testing.assert_close(loss.gradient_ratio(),
                               torch.full((C, ), 100.0, dtype=torch.float64))
    ref = FocalLoss(use_sigmoid=True)(pred.float(), labels, avg_factor=5)
    torch.testing.assert_close(
        loss(pred.float(), labels, avg_factor=5), ref, rtol=1e-6, atol=1e-7)


def test_weights_and_eq7_derivative():
    pred, labels = _data(seed=3)
    loss = EQLv2FocalLoss(C, reduction='sum')
    ratio = torch.tensor([0.0, 0.3, 0.8, 1.0, 2.0, 5.0], dtype=torch.float64)
    loss.neg_grad.fill_(1.0)
    loss.pos_grad.copy_(ratio)  # not clamped: G = 2 and 5 stay
    torch.testing.assert_close(loss.gradient_ratio(), ratio, rtol=1e-9,
                               atol=0)
    neg_w = torch.sigmoid(12 * (ratio - 0.8))
    pos_w = 1 + 4 * (1 - neg_w)
    y = F.one_hot(labels, C + 1)[:, :C].double()
    p = pred.sigmoid()
    pt = torch.where(y > 0, p, 1 - p)
    at = torch.where(y > 0, 0.25, 0.75)
    w_t = pos_w * y + neg_w * (1 - y)
    expected = (-at * w_t * (1 - pt)**2 * torch.log(pt)).sum()
    x = pred.clone().requires_grad_()
    out = loss(x, labels)
    torch.testing.assert_close(out, expected)
    out.backward()
    eq7 = w_t * (2 * y - 1) * (1 - pt)**2 * (2 * pt * torch.log(pt) + pt - 1)
    torch.testing.assert_close(x.grad, at * eq7)
