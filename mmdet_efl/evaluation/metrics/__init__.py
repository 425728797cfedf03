from .lvis_box_metric import LVISBoxMetric
from .openimages_group_metric import OpenImagesGroupMetric

__all__ = ['LVISBoxMetric', 'OpenImagesGroupMetric']
