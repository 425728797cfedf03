"""The input checks shared by the losses (``models/losses/utils.py``),
called directly: each refusal with its whole message, the boundary values
that pass, and what the accepted inputs turn into."""
import math

import pytest
import torch

from mmdet_efl.models.losses.utils import (BACKGROUND_COLUMN_HINT, FINITE,
                                           NON_NEGATIVE, check_arguments,
                                           check_finite, check_labels,
                                           check_pred, check_target,
                                           normalise_weight,
                                           reduction_denominator)

EPS = 2.0**-23  # float32 machine epsilon, as mmdet's weight_reduce_loss


def _raises(message, fn, *args, **kwargs):
    with pytest.raises(ValueError) as err:
        fn(*args, **kwargs)
    assert str(err.value) == message


@pytest.mark.parametrize('value,ok', [
    (2, True), (-0.5, True), (0, True), (True, False), (False, False),
    (math.nan, False), (math.inf, False), (-math.inf, False), ('1', False),
    (None, False)])
def test_finite_number_rule(value, ok):
    assert FINITE.test(value) is ok
    assert NON_NEGATIVE.test(value) is (ok and value >= 0)


def test_check_arguments_names_the_first_bad_argument():
    assert check_arguments('L', a=(1, FINITE), b=(0.0, NON_NEGATIVE)) is None
    _raises("L: b must be a finite number, got 'x'", check_arguments, 'L',
            a=(1, FINITE), b=('x', FINITE), c=(None, FINITE))


@pytest.mark.parametrize('pred,got', [
    ([[1.0, 2.0]], '[[1.0, 2.0]]'),
    (torch.zeros(3), '(3,)'),
    (torch.zeros(2, 3, 4), '(2, 3, 4)'),
])
def test_pred_that_is_not_2d_is_refused(pred, got):
    _raises('L: pred must be a 2-D [N, num_classes] tensor, got ' + got,
            check_pred, 'L', pred, 3)


def test_pred_of_the_right_width_passes():
    assert check_pred('L', torch.zeros(2, 3), 3) is None
    assert check_pred('L', torch.zeros(0, 3), 3) is None
    assert check_pred('L', torch.zeros(2, 5), None) is None  # unchecked


@pytest.mark.parametrize('columns', [2, 5])
def test_pred_of_another_width_is_refused(columns):
    _raises(f'L: pred has {columns} class columns but the loss was built '
            f'with num_classes=3 (pred shape (2, {columns})); set the same '
            'num_classes in the head and its loss_cls', check_pred, 'L',
            torch.zeros(2, columns), 3)


def test_pred_with_a_background_column_gets_the_hint():
    _raises('L: pred has 4 class columns but the loss was built with '
            'num_classes=3 (pred shape (2, 4))' + BACKGROUND_COLUMN_HINT,
            check_pred, 'L', torch.zeros(2, 4), 3)


@pytest.mark.parametrize('labels,got', [
    (torch.zeros(2, 1, dtype=torch.long), '(2, 1)'),
    (torch.zeros(3, dtype=torch.long), '(3,)'),
    (torch.zeros((), dtype=torch.long), '()'),
])
def test_labels_of_the_wrong_shape_are_refused(labels, got):
    _raises('L: labels must have shape [2], got ' + got, check_labels, 'L',
            labels, 2, 3)


def test_float_labels_are_refused():
    _raises('L: labels must be integer class indices (background = 3), got '
            'torch.float32', check_labels, 'L', torch.tensor([0.0, 1.0]), 2,
            3)


def test_labels_from_0_to_background_pass_as_long():
    out = check_labels('L', torch.tensor([0, 3, 1, 2], dtype=torch.int32), 4,
                       3)
    assert out.dtype == torch.long
    assert out.tolist() == [0, 3, 1, 2]


def test_labels_out_of_range_are_counted_and_named():
    _raises('L: labels must lie in [0, 3] (background = 3); got [-1, 4] at '
            '3 positions', check_labels, 'L', torch.tensor([0, 4, 3, -1, 4]),
            5, 3)


def test_at_most_ten_bad_labels_are_named():
    labels = torch.arange(4, 16)  # 12 labels, all past background 3
    _raises('L: labels must lie in [0, 3] (background = 3); got [4, 5, 6, '
            '7, 8, 9, 10, 11, 12, 13] at 12 positions', check_labels, 'L',
            labels, 12, 3)


def test_target_must_match_pred_and_lie_in_0_1():
    pred = torch.zeros(2, 3)
    _raises('L: target of shape (2, 4) does not match pred (2, 3)',
            check_target, 'L', torch.zeros(2, 4), pred)
    for bad in (1.5, -0.5):
        target = torch.zeros(2, 3)
        target[1, 2] = bad
        _raises('L: dense targets must lie in [0, 1]', check_target, 'L',
                target, pred)
    assert check_target('L', torch.tensor([[0.0, 1.0, 0.5]] * 2),
                        pred) is None
    assert check_target('L', torch.zeros(0, 3), torch.zeros(0, 3)) is None


def test_weight_is_shaped_to_broadcast_against_pred():
    pred = torch.zeros(3, 4)
    assert normalise_weight('L', None, pred) is None
    full = torch.rand(3, 4)
    assert normalise_weight('L', full, pred) is full
    per_sample = normalise_weight('L', torch.tensor([1.0, 2.0, 3.0]), pred)
    assert per_sample.shape == (3, 1)
    assert per_sample.flatten().tolist() == [1.0, 2.0, 3.0]
    flat = normalise_weight('L', torch.arange(12.0), pred)
    assert flat.shape == (3, 4)
    assert flat[1].tolist() == [4.0, 5.0, 6.0, 7.0]
    _raises('L: weight of shape (5,) fits neither [N] nor [N, C] for pred of '
            'shape (3, 4)', normalise_weight, 'L', torch.ones(5), pred)


@pytest.mark.parametrize('reduction,numel,avg_factor,expected', [
    ('mean', 6, None, 6.0),
    ('mean', 0, None, 1.0),  # an empty loss is 0, not 0 / 0
    ('mean', 1, None, 1.0),
    ('sum', 6, None, 1.0),
    ('none', 6, None, 1.0),
    ('mean', 6, 4, 4.0 + EPS),
    ('mean', 6, 0, EPS),
    ('mean', 6, torch.tensor([4.0]), 4.0 + EPS),
    ('mean', 6, torch.tensor(2.5), 2.5 + EPS),
    ('none', 6, 4.0, 1.0),
])
def test_reduction_denominator(reduction, numel, avg_factor, expected):
    assert reduction_denominator('L', reduction, numel,
                                 avg_factor) == expected


@pytest.mark.parametrize('reduction,avg_factor,message', [
    ('avg', None, "L: reduction must be 'none', 'mean' or 'sum', got 'avg'"),
    ('sum', 2.0, 'L: avg_factor can not be used with reduction="sum"'),
    ('mean', torch.ones(2), 'L: avg_factor must be a number or a '
     'one-element tensor, got shape (2,)'),
    ('mean', torch.tensor([-1.0]), 'L: avg_factor must be a finite number '
     '>= 0, got -1.0'),
    ('none', math.nan, 'L: avg_factor must be a finite number >= 0, got '
     'nan'),
])
def test_bad_reduction_or_avg_factor_is_refused(reduction, avg_factor,
                                                message):
    _raises(message, reduction_denominator, 'L', reduction, 6, avg_factor)


def test_non_finite_loss_says_why():
    nan, inf = math.nan, math.inf
    loss = torch.tensor([1.0, nan])
    finite = torch.zeros(2, 3)
    assert check_finite('L', torch.ones(2), finite, None) is None
    _raises('L: pred holds 2 NaN and 1 infinite logits (of 6); the model '
            'diverged or its input is corrupt', check_finite, 'L', loss,
            torch.tensor([[nan, 0.0, 1.0], [nan, -inf, 2.0]]), None)
    _raises('L: pred holds 0 NaN and 1 infinite logits (of 6); the model '
            'diverged or its input is corrupt', check_finite, 'L', loss,
            torch.tensor([[0.0, 0.0, 1.0], [0.0, inf, 2.0]]), None)
    _raises('L: weight holds non-finite values', check_finite, 'L', loss,
            finite, torch.tensor([1.0, inf]))
    for weight in (None, torch.ones(2)):
        _raises('L: the loss is not finite for finite inputs; check the '
                'target values', check_finite, 'L', loss, finite, weight)


def test_negative_weight_message():
    with pytest.raises(ValueError) as err:
        normalise_weight('EqualizedFocalLoss', torch.tensor([1.0, -0.25]),
                         torch.zeros(2, 3))
    assert str(err.value) == (
        'EqualizedFocalLoss: weight holds negative values (min -0.25); '
        'sample weights must be >= 0')
