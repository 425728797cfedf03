"""Equalized Focal Loss (EFL, Li et al., CVPR 2022, eq. 2-4)."""
from typing import Dict, Optional

from mmdet.registry import MODELS
from torch import Tensor

from .category_adaptive_loss import CategoryAdaptiveLoss
from .focal_formula import FocalTerms
from .utils import (BOOL, NON_NEGATIVE, POSITIVE, PROBABILITY_OR_NONE,
                    check_arguments)


@MODELS.register_module()
class EqualizedFocalLoss(CategoryAdaptiveLoss):
    """Focal loss with a category-relevant focusing and weighting factor.

    For category ``j`` (EFL eq. 3-4)::

        gamma_j = gamma_b + s * (1 - G_j)
        EFL     = -alpha_t * (gamma_j / gamma_b) * (1 - p_t)**gamma_j * log p_t

    where ``G_j`` is the accumulated gradient ratio of positives to negatives
    (clamped to ``[0, 1]``, 1 before any statistics), so rare categories get
    a larger focusing factor and a larger loss weight. With ``s = 0``, and at
    the first iteration for any ``s``, EFL equals focal loss exactly.

    Args:
        num_classes: number of foreground categories ``C``.
        gamma: the base focusing factor ``gamma_b`` (2.0, as focal loss).
        scale_factor: ``s``, the upper limit of the variable part (8.0 on
            LVIS, EFL Table 4; 4.0 for YOLOX, Table 8).
        alpha: the balance factor ``alpha_t`` (0.25), in ``[0, 1]``, or
            None for none.
        use_focusing_factor: use ``gamma_j``; if False every category is
            focused with ``gamma_b`` (EFL Table 3, "WF" only).
        use_weighting_factor: multiply by ``gamma_j / gamma_b``; if False
            the weight is 1 (EFL Table 3, "FF" only).
        reduction, loss_weight, use_sigmoid: as in mmdet's ``FocalLoss``.

    Raises:
        ValueError: ``gamma <= 0``, ``scale_factor < 0``, ``alpha`` outside
            ``[0, 1]`` and the base class's checks, naming the argument.
    """

    def __init__(self,
                 num_classes: int,
                 gamma: float = 2.0,
                 scale_factor: float = 8.0,
                 alpha: Optional[float] = 0.25,
                 use_focusing_factor: bool = True,
                 use_weighting_factor: bool = True,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0,
                 use_sigmoid: bool = True) -> None:
        super().__init__(num_classes, reduction, loss_weight, use_sigmoid)
        check_arguments(
            type(self).__name__,
            # gamma_b > 0: the weighting factor divides by it
            gamma=(gamma, POSITIVE),
            scale_factor=(scale_factor, NON_NEGATIVE),
            alpha=(alpha, PROBABILITY_OR_NONE),
            use_focusing_factor=(use_focusing_factor, BOOL),
            use_weighting_factor=(use_weighting_factor, BOOL))
        self.gamma = float(gamma)
        self.scale_factor = float(scale_factor)
        self.alpha = alpha
        self.use_focusing_factor = use_focusing_factor
        self.use_weighting_factor = use_weighting_factor

    def focusing_factor(self, pos_grad: Optional[Tensor] = None,
                        neg_grad: Optional[Tensor] = None) -> Tensor:
        """``gamma_j = gamma_b + s (1 - G_j)`` per category ``[C]`` (EFL
        eq. 3), of the running sums or of the given ones (see
        :meth:`gradient_ratio`, whose errors it raises)."""
        return self.gamma + self.scale_factor * (
            1 - self.gradient_ratio(pos_grad, neg_grad))

    def focal_terms(self) -> FocalTerms:
        gamma_j = self.focusing_factor()
        weight = gamma_j / self.gamma if self.use_weighting_factor else None
        gamma = gamma_j if self.use_focusing_factor else gamma_j.new_tensor(
            self.gamma)
        return FocalTerms(gamma=gamma, w_pos=weight, w_neg=weight,
                          alpha=self.alpha)

    def category_values(self, pos_grad: Optional[Tensor] = None,
                        neg_grad: Optional[Tensor] = None
                        ) -> Dict[str, Tensor]:
        return {'gamma': self.focusing_factor(pos_grad, neg_grad),
                'grad_ratio': self.gradient_ratio(pos_grad, neg_grad)}

    def extra_repr(self) -> str:
        return (super().extra_repr() + f', gamma={self.gamma}, '
                f'scale_factor={self.scale_factor}, alpha={self.alpha}, '
                f'use_focusing_factor={self.use_focusing_factor}, '
                f'use_weighting_factor={self.use_weighting_factor}')
