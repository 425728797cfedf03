# EFL Table 9, "EFL (s=8)": on balanced COCO EFL should match focal loss.
_base_ = './atss-iou_r50_fpn_efl-s2-2x_coco.py'

model = dict(bbox_head=dict(loss_cls=dict(scale_factor=8.0)))
