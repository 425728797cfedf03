# EFL on the improved baseline (EFL Table 2 "EFL (Ours)", Table 3 "WF+FF",
# Table 4 s = 8, Table 5 last row, Table 6): gamma_b = 2, alpha = 0.25, s = 8.
_base_ = './atss-iou_r50_fpn_fl-2x_lvis-v1.py'

model = dict(bbox_head=dict(loss_cls={{_base_.efl_loss_cls}}))
custom_hooks = {{_base_.long_tail_custom_hooks}}
