"""Equalized Quality Focal Loss (EQFL, EFL appendix A, eq. 5)."""
from typing import Optional, Sequence, Union

from mmdet.registry import MODELS
from torch import Tensor

from .equalized_focal_loss import EqualizedFocalLoss


@MODELS.register_module()
class EqualizedQualityFocalLoss(EqualizedFocalLoss):
    """Quality focal loss with EFL's category-relevant modulating factor.

    For category ``j`` (EFL eq. 5)::

        EQFL = (gamma_j / gamma_b) * |y' - p|**gamma_j * BCE(x, y')

    with ``y'`` the IoU quality score of a positive and 0 for a negative,
    and ``gamma_j = gamma_b + s (1 - G_j)`` as in EFL. There is no
    ``alpha_t``. With ``s = 0`` it equals mmdet's ``QualityFocalLoss`` with
    ``beta = gamma_b``.

    Args:
        num_classes: number of foreground categories ``C``.
        gamma: ``gamma_b``, QFL's ``beta`` (2.0).
        scale_factor: ``s`` (4.0 with YOLOX, EFL Table 8).
        use_focusing_factor, use_weighting_factor: as in EFL.
        reduction, loss_weight, use_sigmoid: as in mmdet's QualityFocalLoss
            (``'none'`` gives one value per sample).
    """

    per_sample = True

    def __init__(self,
                 num_classes: int,
                 gamma: float = 2.0,
                 scale_factor: float = 8.0,
                 use_focusing_factor: bool = True,
                 use_weighting_factor: bool = True,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0,
                 use_sigmoid: bool = True) -> None:
        super().__init__(
            num_classes,
            gamma=gamma,
            scale_factor=scale_factor,
            alpha=None,
            use_focusing_factor=use_focusing_factor,
            use_weighting_factor=use_weighting_factor,
            reduction=reduction,
            loss_weight=loss_weight,
            use_sigmoid=use_sigmoid)

    def forward(self,
                pred: Tensor,
                target: Union[Sequence[Tensor], Tensor],
                weight: Optional[Tensor] = None,
                avg_factor: Optional[Union[int, float, Tensor]] = None,
                reduction_override: Optional[str] = None) -> Tensor:
        """Args:
            pred: logits ``[N, C]``.
            target: ``(labels [N], quality_scores [N])`` as mmdet's
                ``QualityFocalLoss`` takes (background ``== C``), or a dense
                ``[N, C]`` soft target.
            weight, avg_factor, reduction_override: as in EFL.
        """
        if isinstance(target, (tuple, list)):
            scores = target[1]
            name = type(self).__name__
            if scores.shape != (pred.shape[0], ):
                raise ValueError(f'{name}: quality scores must have shape '
                                 f'[{pred.shape[0]}], got '
                                 f'{tuple(scores.shape)}')
            if scores.numel() and not bool(((scores >= 0) &
                                            (scores <= 1)).all()):
                raise ValueError(f'{name}: quality scores must lie in '
                                 f'[0, 1], got min {float(scores.min())}, '
                                 f'max {float(scores.max())}')
        return super().forward(pred, target, weight, avg_factor,
                               reduction_override)
