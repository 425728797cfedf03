# EFL Table 7 "Faster R-CNN".
_base_ = './faster-rcnn_r50_fpn_180k_openimages-challenge.py'
model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(type='Pretrained',
                      checkpoint='torchvision://resnet101')))
