# EFL Table 3, "WF" only: the weighting factor gamma_j / gamma_b with every
# category focused by gamma_b.
_base_ = './atss-iou_r50_fpn_efl-2x_lvis-v1.py'

model = dict(bbox_head=dict(loss_cls=dict(use_focusing_factor=False)))
