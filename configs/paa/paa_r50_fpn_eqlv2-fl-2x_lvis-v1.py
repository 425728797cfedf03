# PAA with EQLv2&Focal on LVIS v1 (EFL Table 1, "PAA +EQLv2&Focal").
_base_ = './paa_r50_fpn_fl-2x_lvis-v1.py'

model = dict(bbox_head=dict(loss_cls={{_base_.eqlv2_focal_loss_cls}}))
custom_hooks = {{_base_.long_tail_custom_hooks}}
