"""The element-wise loss and derivative of both forms against the papers'
formulas: the generalised focal loss ``a_t W |y - p|^gamma BCE(x, y)``
(RetinaNet eq. 3 and 5, QFL, EQLv2's pos/neg weights, EFL eq. 4) written
out in float64, and its derivative taken by autograd of that expression (for
binary targets it is EFL eq. 6)."""
import pytest
import torch
import torch.nn.functional as F

from mmdet_efl.models.losses.focal_formula import (FocalTerms,
                                                   binary_focal_loss_and_grad,
                                                   dense_target,
                                                   focal_loss_and_grad)

N, C = 64, 5


def _paper_loss(x, y, gamma, w_pos=None, w_neg=None, alpha=None,
                weight=None):
    """The loss as the papers write it, element-wise, float64."""
    p = torch.sigmoid(x)
    bce = -(y * F.logsigmoid(x) + (1 - y) * F.logsigmoid(-x))
    loss = (y - p).abs() ** gamma * bce
    if alpha is not None:
        loss = loss * (alpha * y + (1 - alpha) * (1 - y))
    w_pos = 1.0 if w_pos is None else w_pos
    w_neg = 1.0 if w_neg is None else w_neg
    loss = loss * (y * w_pos + (1 - y) * w_neg)
    return loss if weight is None else loss * weight


def _inputs(binary, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = (torch.rand(N, C, generator=g, dtype=torch.float64) - 0.5) * 24
    if binary:
        y = (torch.rand(N, C, generator=g) < 0.3).double()
    else:
        y = torch.rand(N, C, generator=g, dtype=torch.float64)
        y = y * (torch.rand(N, C, generator=g) < 0.4)
        y[0] = 1.0  # hard positives next to soft ones
    gamma = torch.tensor([0.0, 0.5, 2.0, 4.5, 10.0], dtype=torch.float64)
    w_pos = 1 + torch.rand(C, generator=g, dtype=torch.float64)
    w_neg = torch.rand(C, generator=g, dtype=torch.float64)
    sample = torch.rand(N, 1, generator=g, dtype=torch.float64)
    element = torch.rand(N, C, generator=g, dtype=torch.float64)
    return x, y, gamma, w_pos, w_neg, sample, element


FACTORS = {
    'none': {},
    'alpha': dict(alpha=0.25),
    'one weight for both': dict(w_pos='w', w_neg='w'),
    'positive weight only': dict(w_pos='pos'),
    'negative weight only': dict(w_neg='neg'),
    'EQLv2 weights and alpha': dict(w_pos='pos', w_neg='neg', alpha=0.25),
    'sample weight': dict(weight='sample'),
    'element weight': dict(weight='element'),
    'all': dict(w_pos='w', w_neg='w', alpha=0.75, weight='element'),
}


def _factors(name, w_pos, w_neg, sample, element):
    spec = FACTORS[name]
    pick = {'w': w_pos, 'pos': w_pos, 'neg': w_neg, 'sample': sample,
            'element': element, None: None}
    return dict(w_pos=pick[spec.get('w_pos')], w_neg=pick[spec.get('w_neg')],
                alpha=spec.get('alpha'), weight=pick[spec.get('weight')])


@pytest.mark.parametrize('factors', list(FACTORS))
@pytest.mark.parametrize('form', ['general, binary targets',
                                  'general, soft targets', 'log space'])
@pytest.mark.parametrize('dtype', [torch.float64, torch.float32])
def test_loss_and_derivative_are_the_papers(form, factors, dtype):
    binary = form != 'general, soft targets'
    x, y, gamma, w_pos, w_neg, sample, element = _inputs(binary)
    f = _factors(factors, w_pos, w_neg, sample, element)
    xr = x.clone().requires_grad_()
    want = _paper_loss(xr, y, gamma, **f)
    want_grad, = torch.autograd.grad(want.sum(), xr)

    cast = (lambda t: None if t is None else t.to(dtype))
    terms = FocalTerms(gamma=cast(gamma), w_pos=cast(f['w_pos']),
                       w_neg=cast(f['w_neg']), alpha=f['alpha'])
    if f['w_pos'] is not None and f['w_pos'] is f['w_neg']:
        terms.w_neg = terms.w_pos  # one tensor: EFL's shared weight
    weight = cast(f['weight'])
    if form == 'log space':
        loss, grad = binary_focal_loss_and_grad(x.to(dtype), y > 0,
                                                y.to(dtype), terms, weight)
    else:
        loss, grad = focal_loss_and_grad(x.to(dtype), y.to(dtype), terms,
                                         weight, True)
        no_grad = focal_loss_and_grad(x.to(dtype), y.to(dtype), terms,
                                      weight, False)
        assert no_grad[1] is None
        torch.testing.assert_close(no_grad[0], loss, rtol=0, atol=0)
    assert loss.dtype == grad.dtype == dtype
    tol = dict(rtol=1e-9, atol=1e-12) if dtype == torch.float64 else \
        dict(rtol=2e-5, atol=1e-6)
    torch.testing.assert_close(loss.double(), want.detach(), **tol)
    torch.testing.assert_close(grad.double(), want_grad, **tol)


def test_binary_derivative_is_efl_eq6():
    """EFL eq. 6 as printed, for binary targets and gamma_j = 2 + s(1 - G):
    dL/dx = a_t W y' (1 - p_t)^g (g p_t log p_t + p_t - 1), y' = 2y - 1."""
    x, y, _, w, _, _, _ = _inputs(True, seed=3)
    gamma = 2 + 8 * torch.tensor([0.0, 0.2, 0.5, 0.9, 1.0],
                                 dtype=torch.float64)
    p = torch.sigmoid(x)
    pt = torch.where(y > 0, p, 1 - p)
    at = torch.where(y > 0, 0.25, 0.75)
    eq6 = at * w * (2 * y - 1) * (1 - pt)**gamma * (
        gamma * pt * torch.log(pt) + pt - 1)
    terms = FocalTerms(gamma=gamma, w_pos=w, w_neg=w, alpha=0.25)
    for form in ('general', 'log space'):
        if form == 'general':
            _, grad = focal_loss_and_grad(x, y, terms, None, True)
        else:
            _, grad = binary_focal_loss_and_grad(x, y > 0, y, terms, None)
        torch.testing.assert_close(grad, eq6, rtol=1e-9, atol=1e-12)


def test_dense_target_from_labels_scores_or_a_dense_target():
    labels = torch.tensor([2, C, 0, 4, C, 1])
    scores = torch.tensor([0.5, 0.9, 0.0, 1.0, 0.3, 0.25])
    rows = slice(1, 5)
    want = torch.zeros(4, C)
    want[1, 0] = 1.0
    want[2, 4] = 1.0
    y = dense_target(labels, None, None, rows, C, torch.float64)
    assert y.dtype == torch.float64
    torch.testing.assert_close(y, want.double(), rtol=0, atol=0)
    # quality scores at the labels' entries (a score of 0 stays 0);
    # background rows hold none
    want[2, 4] = 1.0
    want[1, 0] = 0.0
    y = dense_target(labels, scores, None, rows, C, torch.float32)
    assert y.dtype == torch.float32
    torch.testing.assert_close(y, want, rtol=0, atol=0)
    # a dense target is taken as it is, in the requested dtype
    dense = torch.rand(6, C, dtype=torch.float64)
    y = dense_target(None, None, dense, rows, C, torch.float32)
    assert y.dtype == torch.float32
    torch.testing.assert_close(y, dense[rows].float(), rtol=0, atol=0)
