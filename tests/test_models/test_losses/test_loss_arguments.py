"""One validation path for the arguments of every loss of the family: the
message names the class, the argument and the value (issue 14, item 8 and
the "Labels" and "Loss arguments" gaps)."""
import math
import re

import pytest
import torch
from mmdet.registry import MODELS

from mmdet_efl.models.losses import (EQLv2FocalLoss, EqualizedFocalLoss,
                                     EqualizedQualityFocalLoss, FocalLossStar)

C = 4
ADAPTIVE = [EqualizedFocalLoss, EqualizedQualityFocalLoss, EQLv2FocalLoss]
ALL = ADAPTIVE + [FocalLossStar]


def _build(loss_type, **kwargs):
    if loss_type is not FocalLossStar:
        kwargs.setdefault('num_classes', C)
    return loss_type(**kwargs)


# (argument, bad value, what the message says it must be)
COMMON = [
    ('reduction', 'avg', "'none', 'mean' or 'sum'"),
    ('loss_weight', float('nan'), 'a finite number'),
    ('loss_weight', 'x', 'a finite number'),
    ('use_sigmoid', False, 'True: this is a sigmoid loss'),
]
SPECIFIC = {
    EqualizedFocalLoss: [
        ('gamma', 0.0, 'a finite number > 0'),
        ('gamma', -1, 'a finite number > 0'),
        ('scale_factor', -0.5, 'a finite number >= 0'),
        ('scale_factor', math.inf, 'a finite number >= 0'),
        ('alpha', 1.5, r'None or a number in \[0, 1\]'),
        ('alpha', -0.1, r'None or a number in \[0, 1\]'),
        ('use_focusing_factor', 'yes', 'True or False'),
        ('use_weighting_factor', 1, 'True or False'),
        ('num_classes', 0, 'a positive int'),
        ('num_classes', 2.0, 'a positive int'),
    ],
    EqualizedQualityFocalLoss: [
        ('gamma', -1, 'a finite number > 0'),
        ('scale_factor', -1.0, 'a finite number >= 0'),
        ('num_classes', True, 'a positive int'),
    ],
    EQLv2FocalLoss: [
        ('gamma', -1, 'a finite number >= 0'),
        ('alpha', 1.5, r'None or a number in \[0, 1\]'),
        ('eqlv2_gamma', 0.0, 'a finite number > 0'),
        ('mu', float('nan'), 'a finite number'),
        ('eqlv2_alpha', -4.0, 'a finite number >= 0'),
        ('num_classes', -3, 'a positive int'),
    ],
    FocalLossStar: [
        ('gamma', 0.0, 'a finite number > 0'),
        ('beta', math.inf, 'a finite number'),
        ('alpha', 1.5, r'None or a number in \[0, 1\]'),
        ('num_classes', 0, 'None or a positive int'),
    ],
}
CASES = [(t, *case) for t in ALL for case in COMMON + SPECIFIC[t]]


@pytest.mark.parametrize('loss_type,arg,value,wants', CASES,
                         ids=[f'{t.__name__}-{a}={v!r}'
                              for t, a, v, _ in CASES])
def test_bad_argument_names_class_and_argument(loss_type, arg, value, wants):
    with pytest.raises(ValueError) as err:
        _build(loss_type, **{arg: value})
    message = str(err.value)
    assert message.startswith(f'{loss_type.__name__}: {arg} must be ')
    assert f'got {value!r}' in message
    assert re.search(wants, message), message


def test_eqfl_gamma_message_names_eqfl():
    """EQFL validates through EFL's constructor; the message names EQFL."""
    with pytest.raises(ValueError, match=r'^EqualizedQualityFocalLoss: '
                       r'gamma must be'):
        MODELS.build(dict(type='EqualizedQualityFocalLoss', num_classes=C,
                          gamma=-1))


def test_eqlv2_focal_gamma_minus_one_is_refused():
    with pytest.raises(ValueError, match=r'^EQLv2FocalLoss: gamma must be '
                       r'a finite number >= 0, got -1'):
        EQLv2FocalLoss(C, gamma=-1)


@pytest.mark.parametrize('loss_type', ALL)
def test_valid_edge_values_are_accepted(loss_type):
    """The bounds themselves: alpha 0 and 1, alpha None, scale_factor 0,
    a negative loss_weight (the gradient flips; used on purpose)."""
    for kwargs in (dict(alpha=0.0), dict(alpha=1.0), dict(alpha=None),
                   dict(loss_weight=-0.5)):
        if loss_type is EqualizedQualityFocalLoss and 'alpha' in kwargs:
            continue  # EQFL has no alpha_t
        _build(loss_type, **kwargs)
    if loss_type is not EQLv2FocalLoss and loss_type is not FocalLossStar:
        _build(loss_type, scale_factor=0.0)
    if loss_type is EQLv2FocalLoss:
        _build(loss_type, gamma=0.0)  # focal loss with gamma 0 = alpha-CE


def _inputs(n=12):
    g = torch.Generator().manual_seed(0)
    return (torch.randn(n, C, generator=g),
            torch.randint(0, C + 1, (n, ), generator=g))


@pytest.mark.parametrize('loss_type', ALL)
@pytest.mark.parametrize('avg_factor,wants', [
    (-3.0, 'a finite number >= 0, got -3.0'),
    (float('nan'), 'a finite number >= 0, got nan'),
    (float('inf'), 'a finite number >= 0, got inf'),
    (torch.tensor(-1.0), 'a finite number >= 0, got -1.0'),
])
def test_bad_avg_factor_names_class_and_argument(loss_type, avg_factor,
                                                 wants):
    pred, labels = _inputs()
    loss = _build(loss_type)
    with pytest.raises(ValueError) as err:
        loss(pred.requires_grad_(), labels, avg_factor=avg_factor)
    assert str(err.value) == f'{loss_type.__name__}: avg_factor must be ' \
        + wants


@pytest.mark.parametrize('loss_type', ALL)
def test_avg_factor_zero_and_tensors_are_accepted(loss_type):
    """mmdet passes avg_factor as a float or a one-element tensor, and 0
    when an image has no positives (its eps keeps the division finite)."""
    pred, labels = _inputs()
    loss = _build(loss_type)
    a = loss(pred, labels, avg_factor=torch.tensor([5.0]))
    b = loss(pred, labels, avg_factor=5.0)
    torch.testing.assert_close(a, b)
    assert torch.isfinite(loss(pred, labels, avg_factor=0))


@pytest.mark.parametrize('loss_type', ALL)
def test_label_one_past_background_is_refused(loss_type):
    """Background is C; C + 1 is out of range, not a second background."""
    pred, labels = _inputs()
    labels[5] = C + 1
    with pytest.raises(ValueError, match=rf'^{loss_type.__name__}: labels '
                       rf'must lie in \[0, {C}\].*got \[{C + 1}\] at 1 '
                       'positions'):
        _build(loss_type)(pred, labels)


@pytest.mark.parametrize('loss_type', ALL)
def test_negative_sample_weight_is_refused(loss_type):
    """A negative weight flips a sample's gradient; the statistics (sums of
    |gradient|) and the compiled kernel's sign-based negative sums would
    disagree about it. mmdet's heads never produce one."""
    pred, labels = _inputs()
    weight = torch.ones(len(labels))
    weight[3] = -0.5
    with pytest.raises(ValueError, match=rf'^{loss_type.__name__}: weight '
                       r'holds negative values \(min -0.5\)'):
        _build(loss_type)(pred, labels, weight)
