from .lvis_annotations import (CheckedLVIS, check_detections,
                               check_lvis_annotations, load_lvis)
from .lvis_detections import (MAX_DETS, LVISDetections, cap_per_image,
                              check_detection_arrays)
from .lvis_eval import BACKENDS, KEYS, evaluate_lvis

__all__ = [
    'BACKENDS', 'CheckedLVIS', 'KEYS', 'LVISDetections', 'MAX_DETS',
    'cap_per_image', 'check_detection_arrays', 'check_detections',
    'check_lvis_annotations', 'evaluate_lvis', 'load_lvis'
]
