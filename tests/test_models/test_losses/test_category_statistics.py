"""The per-category gradient sums, each form against sums taken by hand:
positives by label (also at quality 0) or by ``target > 0``, negatives
summed apart from them (EFL eq. 3's ``pos_grad`` and ``neg_grad``)."""
import pytest
import torch

from mmdet_efl.models.losses.category_statistics import (
    binary_negative_sums, category_sums, fused_category_sums)

C = 4
# rows: background, label 2, label 0, background, label 3 (quality 0)
LABELS = torch.tensor([C, 2, 0, C, 3])
SCORES = torch.tensor([0.7, 0.5, 1.0, 0.2, 0.0])


def _grad_abs():
    """Distinct powers of two: every sum is exact and tells which entries
    it holds."""
    return (2.0 ** -torch.arange(5 * C, dtype=torch.float64)).view(5, C)


def _by_hand(grad_abs, positive):
    pos = torch.zeros(C, dtype=grad_abs.dtype)
    neg = torch.zeros(C, dtype=grad_abs.dtype)
    for i in range(grad_abs.shape[0]):
        for j in range(C):
            if positive[i][j]:
                pos[j] += grad_abs[i, j]
            else:
                neg[j] += grad_abs[i, j]
    return pos, neg


def _label_positives():
    return [[int(LABELS[i]) == j for j in range(C)] for i in range(5)]


def _dense_target():
    target = torch.zeros(5, C, dtype=torch.float64)
    target[1, 2] = 0.5
    target[2, 0] = 1.0
    target[4, 1] = 1e-6
    target[3, 3] = 0.0
    return target


def test_category_sums_by_label():
    grad_abs = _grad_abs()
    want = _by_hand(grad_abs, _label_positives())
    pos, neg = category_sums(grad_abs.clone(), labels=LABELS)
    assert pos.dtype == neg.dtype == torch.float64
    torch.testing.assert_close((pos, neg), want, rtol=0, atol=0)
    # the label-3 row's positive counts though its quality score is 0
    assert pos[3] == grad_abs[4, 3] and pos[1] == 0


def test_category_sums_by_dense_target():
    grad_abs = _grad_abs()
    target = _dense_target()
    want = _by_hand(grad_abs, (target > 0).tolist())
    pos, neg = category_sums(grad_abs.clone(), target=target)
    torch.testing.assert_close((pos, neg), want, rtol=0, atol=0)


def test_category_sums_of_one_dominant_positive_keep_the_negatives():
    """A positive 10^12 times all negatives of its category: the negative
    sum is the negatives' own, not rounding noise of a difference."""
    grad_abs = torch.full((5, C), 1e-6)
    grad_abs[1, 2] = 1e6
    pos, neg = category_sums(grad_abs.clone(), labels=LABELS)
    assert pos[2] == 1e6
    torch.testing.assert_close(neg[2], torch.tensor(4e-6), rtol=1e-6,
                               atol=0)


@pytest.mark.parametrize('kind', ['labels', 'labels and scores', 'dense'])
def test_fused_form_gives_the_same_sums(kind):
    grad_abs = _grad_abs()
    before = grad_abs.clone()
    classes = torch.arange(C)
    is_pos = LABELS[:, None] == classes[None, :]
    if kind == 'dense':
        y = _dense_target()
        want = _by_hand(grad_abs, (y > 0).tolist())
        pos, neg = fused_category_sums(grad_abs, None, None, y, False)
    else:
        y = is_pos.double()
        if kind == 'labels and scores':
            y = y * SCORES[:, None].double()
        want = _by_hand(grad_abs, _label_positives())
        pos, neg = fused_category_sums(grad_abs, LABELS, is_pos, y,
                                       kind == 'labels')
    assert torch.equal(grad_abs, before), 'the fused form writes nothing'
    torch.testing.assert_close(pos, want[0], rtol=0, atol=0)
    if kind == 'labels':
        assert neg is None  # binary_negative_sums after the graph
    else:
        torch.testing.assert_close(neg, want[1], rtol=0, atol=0)
    ref = category_sums(grad_abs.clone(), None if kind == 'dense' else
                        LABELS, y if kind == 'dense' else None)
    torch.testing.assert_close(pos, ref[0], rtol=0, atol=0)


@pytest.mark.parametrize('scale', [0.5, -2.0])
def test_binary_negative_sums_of_a_signed_gradient(scale):
    """Negative entries carry the sign of the scale (their coefficients
    are >= 0); positives have the opposite sign and are left out."""
    grad_abs = _grad_abs()
    positive = torch.tensor(_label_positives())
    sign = 1.0 if scale > 0 else -1.0
    grad = torch.where(positive, -sign * grad_abs, sign * grad_abs)
    want = _by_hand(grad_abs, positive.tolist())[1]
    neg = binary_negative_sums(grad, LABELS, scale)
    assert neg.dtype == torch.float64
    torch.testing.assert_close(neg, want, rtol=0, atol=0)
