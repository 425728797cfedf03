from .category_check_hook import CategoryCheckHook
from .gradient_collector_hook import GradientCollectorHook
from .progress_bar_hook import ProgressBarHook

__all__ = ['CategoryCheckHook', 'GradientCollectorHook', 'ProgressBarHook']
