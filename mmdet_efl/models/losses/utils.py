"""Input checks and reduction shared by the sigmoid losses of this package.

mmdet heads pass ``(pred [N, C], labels [N] with background == C, weight,
avg_factor, reduction_override)``. Mistakes there (a head and loss built with
different ``num_classes``, labels out of range, a diverged model) otherwise
surface as index errors deep inside torch or as silently wrong training, so
every loss here checks them and names the offending values.
"""
from typing import Optional, Union

import torch
from torch import Tensor

# mmdet's weight_reduce_loss adds this to avg_factor; we match it exactly.
AVG_EPS = torch.finfo(torch.float32).eps


def check_pred(name: str, pred: Tensor, num_classes: Optional[int]) -> None:
    """Raises ValueError unless ``pred`` is ``[N, num_classes]``."""
    if not isinstance(pred, Tensor) or pred.dim() != 2:
        shape = tuple(pred.shape) if isinstance(pred, Tensor) else pred
        raise ValueError(f'{name}: pred must be a 2-D [N, num_classes] '
                         f'tensor, got {shape}')
    if num_classes is not None and pred.shape[1] != num_classes:
        hint = ('; the head added a background column: mmdet heads read '
                "use_sigmoid from the loss config, so add use_sigmoid=True "
                'to loss_cls' if pred.shape[1] == num_classes + 1 else
                '; set the same num_classes in the head and its loss_cls')
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
    if reduction not in ('none', 'mean', 'sum'):
        raise ValueError(f"{name}: reduction must be 'none', 'mean' or "
                         f"'sum', got {reduction!r}")
    if avg_factor is not None:
        if reduction == 'sum':
            raise ValueError(
                f'{name}: avg_factor can not be used with reduction="sum"')
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
