from .category_adaptive_loss import CategoryAdaptiveLoss
from .eqlv2_focal_loss import EQLv2FocalLoss
from .equalized_focal_loss import EqualizedFocalLoss
from .equalized_quality_focal_loss import EqualizedQualityFocalLoss
from .focal_formula import FocalTerms
from .focal_loss_star import FocalLossStar
from .modulated_focal import modulated_focal_loss

__all__ = [
    'CategoryAdaptiveLoss', 'EQLv2FocalLoss', 'EqualizedFocalLoss',
    'EqualizedQualityFocalLoss', 'FocalLossStar', 'FocalTerms',
    'modulated_focal_loss'
]
