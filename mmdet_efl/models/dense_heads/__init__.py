from .atss_iou_head import ATSSIoUHead
from .ohem_retina_head import OHEMRetinaHead

__all__ = ['ATSSIoUHead', 'OHEMRetinaHead']
