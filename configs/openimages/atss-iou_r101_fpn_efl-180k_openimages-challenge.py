# EFL Table 7 "EFL (Ours)".
_base_ = './atss-iou_r50_fpn_efl-180k_openimages-challenge.py'
model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(type='Pretrained',
                      checkpoint='torchvision://resnet101')))
