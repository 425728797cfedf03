# RetinaNet R-101-FPN, focal loss, COCO at 700 pixels (RetinaNet Table 1e).
_base_ = './retinanet_r50_fpn_fl-1x_coco-700.py'

model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(type='Pretrained',
                      checkpoint='torchvision://resnet101')))
