from .category_check_hook import CategoryCheckHook
from .gradient_collector_hook import GradientCollectorHook
from .progress_bar_hook import ProgressBarHook
from .safe_checkpoint_hook import SafeCheckpointHook

__all__ = [
    'CategoryCheckHook', 'GradientCollectorHook', 'ProgressBarHook',
    'SafeCheckpointHook'
]
