"""Input checks and reduction shared by the sigmoid losses of this package.

mmdet heads pass ``(pred [N, C], labels [N] with background == C, weight,
avg_factor, reduction_override)``. Mistakes there (a head and loss built with
different ``num_classes``, labels out of range, a diverged model) otherwise
surface as index errors deep inside torch or as silently wrong training, so
every loss here checks them and names the offending values.
"""
import math
import numbers
from typing import Any, Callable, NamedTuple, Optional, Tuple, Union

import torch
from torch import Tensor

# mmdet's weight_reduce_loss adds this to avg_factor; we match it exactly.
AVG_EPS = torch.finfo(torch.float32).eps


class Rule(NamedTuple):
    """What a loss argument must be: a test and its wording."""
    test: Callable[[Any], bool]
    wants: str


def _number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and \
        not isinstance(value, bool) and math.isfinite(value)


FINITE = Rule(_number, 'a finite number')
NON_NEGATIVE = Rule(lambda v: _number(v) and v >= 0, 'a finite number >= 0')
POSITIVE = Rule(lambda v: _number(v) and v > 0, 'a finite number > 0')
PROBABILITY_OR_NONE = Rule(lambda v: v is None or (_number(v) and 0 <= v <= 1),
                           'None or a number in [0, 1]')
POSITIVE_INT = Rule(
    lambda v: isinstance(v, numbers.Integral) and not isinstance(v, bool)
    and v >= 1,
    'a positive int')
OPTIONAL_POSITIVE_INT = Rule(lambda v: v is None or POSITIVE_INT.test(v),
                             'None or a positive int')
BOOL = Rule(lambda v: isinstance(v, bool), 'True or False')
REDUCTION = Rule(lambda v: v in ('none', 'mean', 'sum'),
                 "'none', 'mean' or 'sum'")
SIGMOID = Rule(lambda v: v is True,
               'True: this is a sigmoid loss, use_sigmoid=False is not '
               'supported')


def check_arguments(owner: str, **arguments: Tuple[Any, Rule]) -> None:
    """The one validation path of the losses' constructor arguments.

    Args:
        owner: the loss class name, for the message.
        arguments: ``name=(value, rule)`` for each argument.

    Raises:
        ValueError: naming the class, the first argument that breaks its
            rule, what it must be and the value given.
    """
    for name, (value, rule) in arguments.items():
        if not rule.test(value):
            raise ValueError(f'{owner}: {name} must be {rule.wants}, got '
                             f'{value!r}')


# What to do when a head hands C + 1 columns to a sigmoid loss of C classes.
BACKGROUND_COLUMN_HINT = (
    '; the head added a background column. One-stage (dense) mmdet heads '
    '(RetinaNet, ATSS, FCOS, PAA, ...) size their classifier from the '
    'loss config: add use_sigmoid=True to loss_cls. Two-stage RoI heads '
    "(mmdet's BBoxHead in roi_head.bbox_head) always classify C + 1 "
    'softmax columns, background included, whatever use_sigmoid says, so '
    'these sigmoid losses cannot train them: use the EFL family in '
    'one-stage heads, and for a long-tailed two-stage detector a softmax '
    "loss made for RoI heads, such as mmdet's SeesawLoss")


def check_pred(name: str, pred: Tensor, num_classes: Optional[int]) -> None:
    """Raises ValueError unless ``pred`` is ``[N, num_classes]``."""
    if not isinstance(pred, Tensor) or pred.dim() != 2:
        shape = tuple(pred.shape) if isinstance(pred, Tensor) else pred
        raise ValueError(f'{name}: pred must be a 2-D [N, num_classes] '
                         f'tensor, got {shape}')
    if num_classes is not None and pred.shape[1] != num_classes:
        hint = (BACKGROUND_COLUMN_HINT if pred.shape[1] == num_classes + 1
                else '; set the same num_classes in the head and its '
                'loss_cls')
        raise ValueError(
            f'{name}: pred has {pred.shape[1]} class columns but the loss '
            f'was built with num_classes={num_classes} (pred shape '
            f'{tuple(pred.shape)}){hint}')


def check_labels(name: str, labels: Tensor, num_rows: int,
                 num_classes: int) -> Tensor:
    """Validates ``[N]`` integer labels in ``[0, C]`` (``C`` = background)."""
    if labels.dim() != 1 or labels.numel() != num_rows:
        raise ValueError(f'{name}: labels must have shape [{num_rows}], got '
                         f'{tuple(labels.shape)}')
    if labels.is_floating_point():
        raise ValueError(f'{name}: labels must be integer class indices '
                         f'(background = {num_classes}), got {labels.dtype}')
    bad = (labels < 0) | (labels > num_classes)
    if bool(bad.any()):
        values = labels[bad].unique()[:10].tolist()
        raise ValueError(
            f'{name}: labels must lie in [0, {num_classes}] (background = '
            f'{num_classes}); got {values} at {int(bad.sum())} positions')
    return labels.long()


def check_target(name: str, target: Tensor, pred: Tensor) -> None:
    """Validates a dense ``[N, C]`` target with values in ``[0, 1]``."""
    if target.shape != pred.shape:
        raise ValueError(f'{name}: target of shape {tuple(target.shape)} '
                         f'does not match pred {tuple(pred.shape)}')
    if target.numel() and not bool(((target >= 0) & (target <= 1)).all()):
        raise ValueError(f'{name}: dense targets must lie in [0, 1]')


def normalise_weight(name: str, weight: Optional[Tensor],
                     pred: Tensor) -> Optional[Tensor]:
    """Reshapes a per-sample ``[N]`` or flat per-element weight to
    broadcast against ``pred``, as mmdet's ``FocalLoss`` does."""
    if weight is not None and bool((weight < 0).any()):
        # the statistics are sums of |gradient|, and a negative weight
        # would flip a sample's gradient: neither loss nor G_j means that
        raise ValueError(f'{name}: weight holds negative values (min '
                         f'{float(weight.min()):.3g}); sample weights '
                         'must be >= 0')
    if weight is None or weight.shape == pred.shape:
        return weight
    if weight.dim() == 1 and weight.numel() == pred.shape[0]:
        return weight.view(-1, 1)
    if weight.numel() == pred.numel():
        return weight.view(pred.shape)
    raise ValueError(f'{name}: weight of shape {tuple(weight.shape)} fits '
                     f'neither [N] nor [N, C] for pred of shape '
                     f'{tuple(pred.shape)}')


def reduction_denominator(name: str, reduction: str, numel: int,
                          avg_factor: Optional[Union[int, float, Tensor]]
                          ) -> float:
    """What the summed loss is divided by, as in ``weight_reduce_loss``."""
    check_arguments(name, reduction=(reduction, REDUCTION))
    if avg_factor is not None:
        if reduction == 'sum':
            raise ValueError(
                f'{name}: avg_factor can not be used with reduction="sum"')
        if isinstance(avg_factor, Tensor):
            if avg_factor.numel() != 1:
                raise ValueError(f'{name}: avg_factor must be a number or a '
                                 'one-element tensor, got shape '
                                 f'{tuple(avg_factor.shape)}')
            avg_factor = avg_factor.item()
        check_arguments(name, avg_factor=(avg_factor, NON_NEGATIVE))
        return float(avg_factor) + AVG_EPS if reduction == 'mean' else 1.0
    if reduction == 'mean':
        return float(max(numel, 1))
    return 1.0


def check_finite(name: str, loss: Tensor, pred: Tensor,
                 weight: Optional[Tensor]) -> None:
    """Turns a non-finite loss into a ValueError that says why."""
    if bool(torch.isfinite(loss).all()):
        return
    n_nan = int(torch.isnan(pred).sum())
    n_inf = int(torch.isinf(pred).sum())
    if n_nan or n_inf:
        raise ValueError(f'{name}: pred holds {n_nan} NaN and {n_inf} '
                         f'infinite logits (of {pred.numel()}); the model '
                         'diverged or its input is corrupt')
    if weight is not None and not bool(torch.isfinite(weight).all()):
        raise ValueError(f'{name}: weight holds non-finite values')
    raise ValueError(f'{name}: the loss is not finite for finite inputs; '
                     'check the target values')
