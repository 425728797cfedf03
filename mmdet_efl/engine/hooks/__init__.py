from .gradient_collector_hook import (GradientCollectorHook, frequency_groups,
                                      unwrap_dataset)

__all__ = ['GradientCollectorHook', 'frequency_groups', 'unwrap_dataset']
