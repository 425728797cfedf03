"""FL*, the alternative focal loss of RetinaNet appendix A (eq. 6-8)."""
from typing import Optional, Union

import torch.nn.functional as F
from mmdet.registry import MODELS
from torch import Tensor, nn

from .utils import (FINITE, OPTIONAL_POSITIVE_INT, POSITIVE,
                    PROBABILITY_OR_NONE, REDUCTION, SIGMOID, check_arguments,
                    check_finite, check_labels, check_pred, check_target,
                    normalise_weight, reduction_denominator)


@MODELS.register_module()
class FocalLossStar(nn.Module):
    """``FL* = -alpha_t * log(sigmoid(gamma * x_t + beta)) / gamma``.

    ``x_t = (2y - 1) x`` (RetinaNet eq. 6-8). Its derivative w.r.t. ``x`` is
    ``alpha_t * y' * (p*_t - 1)`` with ``y' = 2y - 1`` and
    ``p*_t = sigmoid(gamma x_t + beta)`` (eq. 11). The paper reports
    ``(gamma, beta) = (2, 1)`` and ``(4, 0)`` with ``alpha = 0.25``
    (RetinaNet Table 3, Fig. 7).

    Args:
        gamma: the scale of ``x_t`` (must be > 0).
        beta: the shift of ``gamma x_t``.
        alpha: the balance factor ``alpha_t`` in ``[0, 1]``, or None for
            none.
        num_classes: if given, predictions must have this many columns.
        reduction, loss_weight, use_sigmoid: as in mmdet's ``FocalLoss``.

    Raises:
        ValueError: for an argument out of its range, naming it.
    """

    def __init__(self,
                 gamma: float = 2.0,
                 beta: float = 1.0,
                 alpha: Optional[float] = 0.25,
                 num_classes: Optional[int] = None,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0,
                 use_sigmoid: bool = True) -> None:
        super().__init__()
        check_arguments(
            type(self).__name__,
            gamma=(gamma, POSITIVE),
            beta=(beta, FINITE),
            alpha=(alpha, PROBABILITY_OR_NONE),
            num_classes=(num_classes, OPTIONAL_POSITIVE_INT),
            reduction=(reduction, REDUCTION),
            loss_weight=(loss_weight, FINITE),
            use_sigmoid=(use_sigmoid, SIGMOID))
        self.gamma = float(gamma)
        self.beta = float(beta)
        self.alpha = alpha
        self.num_classes = num_classes
        self.reduction = reduction
        self.loss_weight = loss_weight
        self.use_sigmoid = True

    def forward(self,
                pred: Tensor,
                target: Tensor,
                weight: Optional[Tensor] = None,
                avg_factor: Optional[Union[int, float, Tensor]] = None,
                reduction_override: Optional[str] = None) -> Tensor:
        """Same arguments as mmdet's ``FocalLoss``: labels ``[N]`` with
        background ``== C``, or a binary ``[N, C]`` target."""
        name = type(self).__name__
        check_pred(name, pred, self.num_classes)
        num_classes = pred.shape[1]
        reduction = reduction_override or self.reduction
        denom = reduction_denominator(name, reduction, pred.numel(),
                                      avg_factor)
        if target.dim() == 1:
            labels = check_labels(name, target, pred.shape[0], num_classes)
            target = F.one_hot(labels, num_classes + 1)[:, :num_classes]
        else:
            check_target(name, target, pred)
        weight = normalise_weight(name, weight, pred)
        y = target.to(pred.dtype)
        x_t = (2 * y - 1) * pred
        # -log(sigmoid(z)) = softplus(-z): stable for any z.
        loss = F.softplus(-(self.gamma * x_t + self.beta)) / self.gamma
        if self.alpha is not None:
            loss = loss * ((1 - self.alpha) + (2 * self.alpha - 1) * y)
        if weight is not None:
            loss = loss * weight
        if reduction != 'none':
            loss = loss.sum()
        loss = loss * (self.loss_weight / denom)
        check_finite(name, loss.detach(), pred, weight)
        return loss

    def extra_repr(self) -> str:
        return f'gamma={self.gamma}, beta={self.beta}, alpha={self.alpha}'
