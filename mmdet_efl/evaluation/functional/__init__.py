from .lvis_annotations import (CheckedLVIS, check_detections,
                               check_lvis_annotations, load_lvis)
from .lvis_eval import BACKENDS, KEYS, evaluate_lvis
from .simulated_detections import simulate_detections

__all__ = [
    'BACKENDS', 'CheckedLVIS', 'KEYS', 'check_detections',
    'check_lvis_annotations', 'evaluate_lvis', 'load_lvis',
    'simulate_detections'
]
