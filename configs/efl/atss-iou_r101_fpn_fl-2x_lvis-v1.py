# The improved baseline with ResNet-101 (EFL Table 2, R-101 "Baseline†").
_base_ = './atss-iou_r50_fpn_fl-2x_lvis-v1.py'

model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(type='Pretrained',
                      checkpoint='torchvision://resnet101')))
