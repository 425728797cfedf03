"""EQLv2 & Focal: focal loss re-weighted by EQLv2's gradient-guided weights.

The one-stage baseline of EFL Table 1 (derivative EFL eq. 7), built from
EQLv2 (Tan et al., CVPR 2021) and focal loss (RetinaNet eq. 5).
"""
from typing import Dict, Optional

import torch
from mmdet.registry import MODELS
from torch import Tensor

from .category_adaptive_loss import CategoryAdaptiveLoss
from .focal_formula import FocalTerms
from .utils import (FINITE, NON_NEGATIVE, POSITIVE, PROBABILITY_OR_NONE,
                    check_arguments)


@MODELS.register_module()
class EQLv2FocalLoss(CategoryAdaptiveLoss):
    """Focal loss whose positive and negative terms of category ``j`` are
    weighted by EQLv2's gradient-guided weights::

        neg_w_j = sigmoid(eqlv2_gamma * (G_j - mu))
        pos_w_j = 1 + eqlv2_alpha * (1 - neg_w_j)

    ``G_j`` is the accumulated gradient ratio, not clamped, starting at 100
    (all weights ~1), as in EQLv2.

    Args:
        num_classes: number of foreground categories ``C``.
        gamma, alpha: the focal loss parameters (2.0 and 0.25; ``gamma >=
            0``, ``alpha`` in ``[0, 1]`` or None).
        eqlv2_gamma, mu, eqlv2_alpha: EQLv2's mapping (12, 0.8, 4.0;
            ``eqlv2_gamma > 0``, ``eqlv2_alpha >= 0``).
        reduction, loss_weight, use_sigmoid: as in mmdet's ``FocalLoss``.

    Raises:
        ValueError: for an argument out of its range, naming it.
    """

    initial_ratio = 100.0
    clamp_ratio = False

    def __init__(self,
                 num_classes: int,
                 gamma: float = 2.0,
                 alpha: Optional[float] = 0.25,
                 eqlv2_gamma: float = 12.0,
                 mu: float = 0.8,
                 eqlv2_alpha: float = 4.0,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0,
                 use_sigmoid: bool = True) -> None:
        super().__init__(num_classes, reduction, loss_weight, use_sigmoid)
        check_arguments(
            type(self).__name__,
            gamma=(gamma, NON_NEGATIVE),
            alpha=(alpha, PROBABILITY_OR_NONE),
            eqlv2_gamma=(eqlv2_gamma, POSITIVE),
            mu=(mu, FINITE),
            eqlv2_alpha=(eqlv2_alpha, NON_NEGATIVE))
        self.gamma = float(gamma)
        self.alpha = alpha
        self.eqlv2_gamma = float(eqlv2_gamma)
        self.mu = float(mu)
        self.eqlv2_alpha = float(eqlv2_alpha)

    def eqlv2_weights(self, pos_grad: Optional[Tensor] = None,
                      neg_grad: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """EQLv2's ``pos_w`` and ``neg_w`` per category (``[C]`` each), of
        the running sums or of the given ones (see :meth:`gradient_ratio`,
        whose errors it raises)."""
        neg_w = torch.sigmoid(self.eqlv2_gamma *
                              (self.gradient_ratio(pos_grad, neg_grad) -
                               self.mu))
        pos_w = 1 + self.eqlv2_alpha * (1 - neg_w)
        return {'pos_w': pos_w, 'neg_w': neg_w}

    def focal_terms(self) -> FocalTerms:
        w = self.eqlv2_weights()
        return FocalTerms(gamma=self.pos_grad.new_tensor(self.gamma),
                          w_pos=w['pos_w'], w_neg=w['neg_w'],
                          alpha=self.alpha)

    def category_values(self, pos_grad: Optional[Tensor] = None,
                        neg_grad: Optional[Tensor] = None
                        ) -> Dict[str, Tensor]:
        return dict(self.eqlv2_weights(pos_grad, neg_grad),
                    grad_ratio=self.gradient_ratio(pos_grad, neg_grad))
