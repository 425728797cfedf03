# EFL Table 5, "STS + IB": stabilised settings and the IoU branch, one anchor
# scale {8} with top-k 9.
_base_ = './atss-sts_r50_fpn_efl-2x_lvis-v1.py'

model = dict(bbox_head={{_base_.iou_branch_head}})
