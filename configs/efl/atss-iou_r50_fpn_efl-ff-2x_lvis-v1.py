# EFL Table 3, "FF" only: the focusing factor gamma_j without the weighting
# factor.
_base_ = './atss-iou_r50_fpn_efl-2x_lvis-v1.py'

model = dict(bbox_head=dict(loss_cls=dict(use_weighting_factor=False)))
