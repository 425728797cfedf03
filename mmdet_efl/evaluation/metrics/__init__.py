from .lvis_box_metric import LVISBoxMetric

__all__ = ['LVISBoxMetric']
