# EFL Table 4: scale factor s = 2; s = 8 is
# atss-iou_r50_fpn_efl-2x_lvis-v1.py.
_base_ = './atss-iou_r50_fpn_efl-2x_lvis-v1.py'

model = dict(bbox_head=dict(loss_cls=dict(scale_factor=2.0)))
