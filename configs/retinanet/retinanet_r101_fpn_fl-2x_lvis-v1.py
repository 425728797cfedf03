# RetinaNet R-101 with focal loss on LVIS v1 (EFL Table 2, R-101).
_base_ = './retinanet_r50_fpn_fl-2x_lvis-v1.py'

model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(type='Pretrained',
                      checkpoint='torchvision://resnet101')))
