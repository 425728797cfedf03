"""The base class of the gradient-guided losses: its state protocol (fold,
discard, the single-process rule and its DDP guard), defaults for user
subclasses, and the class named in every error."""
import warnings

import pytest
import torch

from mmdet_efl.models.losses import (CategoryAdaptiveLoss, EQLv2FocalLoss,
                                     EqualizedFocalLoss,
                                     category_adaptive_loss)

C = 4


def _backward(loss, seed=0):
    g = torch.Generator().manual_seed(seed)
    pred = torch.randn(12, C, generator=g).requires_grad_()
    labels = torch.randint(0, C + 1, (12, ), generator=g)
    loss(pred, labels).backward()


def test_user_subclass_gets_mmdets_defaults():
    class Plain(CategoryAdaptiveLoss):

        def focal_terms(self):
            return EqualizedFocalLoss(self.num_classes).focal_terms()

    loss = Plain(num_classes=C)
    assert (loss.reduction, loss.loss_weight, loss.use_sigmoid) == (
        'mean', 1.0, True)
    assert set(loss.category_values()) == {'grad_ratio'}
    # checkpoints hold the running sums only, not an iteration's pending ones
    assert set(loss.state_dict()) == {'pos_grad', 'neg_grad'}
    torch.testing.assert_close(loss.category_values()['grad_ratio'],
                               torch.ones(C, dtype=torch.float64))


def test_values_of_given_sums_follow_each_losss_rule():
    """Sums read from elsewhere (a checkpoint): category 0 has no gradient
    yet, category 1 more positive than negative gradient. EFL (eq. 3):
    G_j clamped to [0, 1], 1 before any gradient, gamma_j = gamma_b + s (1 -
    G_j); EQLv2: G_j unclamped, 100 before any gradient, neg_w =
    sigmoid(12 (G_j - 0.8)). The losses' own sums stay as they were."""
    f64 = dict(dtype=torch.float64)
    pos = torch.tensor([0.0, 3.0, 1.0], **f64)
    neg = torch.tensor([0.0, 2.0, 4.0], **f64)
    efl = EqualizedFocalLoss(3, gamma=2.0, scale_factor=4.0)
    values = efl.category_values(pos, neg)
    torch.testing.assert_close(values['grad_ratio'],
                               torch.tensor([1.0, 1.0, 0.25], **f64))
    torch.testing.assert_close(values['gamma'],
                               torch.tensor([2.0, 2.0, 5.0], **f64))
    eqlv2 = EQLv2FocalLoss(3)
    values = eqlv2.category_values(pos, neg)
    torch.testing.assert_close(values['grad_ratio'],
                               torch.tensor([100.0, 1.5, 0.25], **f64))
    torch.testing.assert_close(
        values['neg_w'], torch.sigmoid(torch.tensor([99.2, 0.7, -0.55], **f64)
                                       * 12))
    for loss in (efl, eqlv2):
        assert float(loss.pos_grad.abs().sum() + loss.neg_grad.abs().sum()) \
            == 0
    with pytest.raises(ValueError, match='EqualizedFocalLoss: give both'):
        efl.gradient_ratio(pos, None)
    with pytest.raises(ValueError, match=r'must both be \[C\], got \(3,\) '
                       r'and \(2,\)'):
        efl.focusing_factor(pos, neg[:2])


def test_fold_adds_the_given_reduced_sums_and_clears_pending():
    """What GradientCollectorHook does after its all-reduce: the given
    sums are added to the running ones, this rank's own pending sums are
    dropped."""
    loss = EqualizedFocalLoss(C)
    loss.pos_grad.fill_(0.5)
    loss.neg_grad.fill_(2.0)
    _backward(loss)
    assert loss.pending_statistics().abs().sum() > 0
    reduced = torch.arange(1.0, 2 * C + 1, dtype=torch.float64)
    assert loss.fold_statistics(reduced)
    torch.testing.assert_close(loss.pos_grad, 0.5 + reduced[:C])
    torch.testing.assert_close(loss.neg_grad, 2.0 + reduced[C:])
    assert loss.pending_statistics().abs().sum() == 0


def test_non_finite_sums_warn_once():
    loss = EqualizedFocalLoss(C)
    bad = torch.full((2 * C, ), float('nan'), dtype=torch.float64)
    with pytest.warns(RuntimeWarning) as record:
        assert not loss.fold_statistics(bad)
    assert str(record[0].message) == (
        'EqualizedFocalLoss: non-finite gradients in this iteration; its '
        'gradient statistics are skipped (warned once).')
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert not loss.fold_statistics(bad)
    assert loss.pos_grad.abs().sum() == 0


@pytest.fixture
def two_ranks(monkeypatch):
    """The loss as one of two DDP ranks sees itself (the world size it
    queries); the real two-process runs are in tests/test_engine."""
    monkeypatch.setattr(category_adaptive_loss, 'get_world_size', lambda: 2)


def test_ddp_without_the_hook_stops_at_the_next_forward(two_ranks):
    loss = EqualizedFocalLoss(C)
    _backward(loss)
    with pytest.raises(RuntimeError) as err:
        _backward(loss, seed=1)
    assert str(err.value) == (
        'EqualizedFocalLoss is trained with 2 processes but its gradient '
        'statistics were never synchronised, so the ranks would drift apart. '
        "Add custom_hooks=[dict(type='GradientCollectorHook')] to the config "
        '(it all-reduces them after every iteration).')


@pytest.mark.parametrize('settle', ['fold', 'discard'])
def test_ddp_with_the_hook_trains_on(two_ranks, settle):
    """After the hook folds (or drops, for a skipped AMP step) the
    iteration's sums, the next forward goes ahead, and a checkpoint saved
    by rank 0 alone does not fold pending sums on one rank."""
    loss = EqualizedFocalLoss(C)
    _backward(loss)
    pending = loss.pending_statistics().clone()
    if settle == 'fold':
        loss.fold_statistics()
        torch.testing.assert_close(loss.pos_grad, pending[:C])
    else:
        loss.discard_pending()
        assert loss.pos_grad.abs().sum() == 0
    assert loss.pending_statistics().abs().sum() == 0
    _backward(loss, seed=1)
    folded = loss.pos_grad.clone()
    assert torch.equal(loss.state_dict()['pos_grad'], folded)
    assert loss.pending_statistics().abs().sum() > 0


def test_reduction_override():
    loss = EqualizedFocalLoss(C, reduction='mean')
    pred = torch.randn(6, C)
    labels = torch.tensor([0, 1, 2, 3, 4, 4])
    assert loss(pred, labels).dim() == 0
    assert loss(pred, labels, reduction_override='none').shape == (6, C)


@pytest.mark.parametrize('call, message', [
    (lambda loss: loss.set_loss_scale(0.0),
     'EqualizedFocalLoss: loss_scale must be'),
    (lambda loss: loss(torch.zeros(3, C), torch.zeros(3, C + 1)),
     r'EqualizedFocalLoss: target of shape \(3, 5\) does not match pred'),
    (lambda loss: loss(torch.zeros(3, C), torch.tensor([0, 1, 2]),
                       weight=torch.tensor([1.0, float('inf'), 1.0])),
     'EqualizedFocalLoss: weight holds non-finite values'),
])
def test_errors_name_the_class(call, message):
    with pytest.raises(ValueError, match='^' + message):
        call(EqualizedFocalLoss(C))
