# EFL on the improved baseline with ResNet-101 (EFL Table 2, R-101 "EFL").
_base_ = './atss-iou_r101_fpn_fl-2x_lvis-v1.py'

model = dict(bbox_head=dict(loss_cls={{_base_.efl_loss_cls}}))
custom_hooks = {{_base_.long_tail_custom_hooks}}
