from .checkpoint import (UnsafeCheckpointError, checkpoint_safe_globals,
                         load_checkpoint_safely, register_checkpoint_loader)
from .dist import setup_cpu_distributed
from .hooks import GradientCollectorHook, ProgressBarHook
from .optimizers import CPUAmpOptimWrapper

register_checkpoint_loader()

__all__ = [
    'CPUAmpOptimWrapper', 'GradientCollectorHook', 'ProgressBarHook',
    'UnsafeCheckpointError', 'checkpoint_safe_globals',
    'load_checkpoint_safely', 'register_checkpoint_loader',
    'setup_cpu_distributed'
]
