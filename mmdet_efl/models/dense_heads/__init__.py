from .atss_iou_head import ATSSIoUHead
from .ohem_retina_head import OHEMRetinaHead
from .yolox_iou_head import YOLOXIoUHead

__all__ = ['ATSSIoUHead', 'OHEMRetinaHead', 'YOLOXIoUHead']
