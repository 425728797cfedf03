# EFL on stock ATSS, LVIS v1 (EFL Table 5 first row: no stabilised settings,
# IoU branch or extra anchor scale).
_base_ = './atss_r50_fpn_fl-2x_lvis-v1.py'

model = dict(bbox_head=dict(loss_cls={{_base_.efl_loss_cls}}))
custom_hooks = {{_base_.long_tail_custom_hooks}}
