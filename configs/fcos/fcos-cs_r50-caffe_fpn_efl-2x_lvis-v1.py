# FCOS* with EFL on LVIS v1 (EFL Table 6, "FCOS*" with EFL).
_base_ = './fcos-cs_r50-caffe_fpn_fl-2x_lvis-v1.py'

model = dict(bbox_head=dict(loss_cls={{_base_.efl_loss_cls}}))
custom_hooks = {{_base_.long_tail_custom_hooks}}
