from .functional import evaluate_lvis
from .lvis_numpy2 import patch_lvis_for_numpy2
from .metrics import LVISBoxMetric, OpenImagesGroupMetric

__all__ = [
    'LVISBoxMetric', 'OpenImagesGroupMetric', 'evaluate_lvis',
    'patch_lvis_for_numpy2'
]
