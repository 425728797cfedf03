from .checkpoint import (UnsafeCheckpointError, checkpoint_safe_globals,
                         load_checkpoint_safely, register_checkpoint_loader,
                         safe_checkpoint_loading)
from .dist import setup_cpu_distributed
from .hooks import GradientCollectorHook, ProgressBarHook, SafeCheckpointHook
from .optimizers import CPUAmpOptimWrapper

__all__ = [
    'CPUAmpOptimWrapper', 'GradientCollectorHook', 'ProgressBarHook',
    'SafeCheckpointHook', 'UnsafeCheckpointError', 'checkpoint_safe_globals',
    'load_checkpoint_safely', 'register_checkpoint_loader',
    'safe_checkpoint_loading', 'setup_cpu_distributed'
]
