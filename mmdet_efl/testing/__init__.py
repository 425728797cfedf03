"""Helpers for tests of this package and of code built on it, as
``mmdet.testing`` is for mmdet: ``import mmdet_efl`` does not import them.

Its ``lvis_like`` module writes annotation files of LVIS's real size.
Importing this module registers :class:`DumpStateHook`, so that a config's
``custom_imports=dict(imports=['mmdet_efl.testing'])`` makes it available in
every process of a launched run.
"""
from .captured_log import CapturedLog
from .checkpoint_loaders import mmengine_checkpoint_loaders
from .hooks import DumpStateHook
from .iou_heads import iou_head_training_cfg
from .loss_recorder import LossRecorder
from .processes import free_port, run_together
from .simulated_detections import simulate_detections

__all__ = [
    'CapturedLog', 'DumpStateHook', 'LossRecorder', 'free_port',
    'iou_head_training_cfg', 'mmengine_checkpoint_loaders', 'run_together',
    'simulate_detections'
]
