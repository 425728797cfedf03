from .lvis_eval import BACKENDS, KEYS, evaluate_lvis
from .simulated_detections import simulate_detections

__all__ = ['BACKENDS', 'KEYS', 'evaluate_lvis', 'simulate_detections']
