# EFL Table 7 "RetinaNet".
_base_ = './retinanet_r50_fpn_fl-180k_openimages-challenge.py'
model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(type='Pretrained',
                      checkpoint='torchvision://resnet101')))
