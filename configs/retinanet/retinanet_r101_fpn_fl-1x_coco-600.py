# RetinaNet R-101-FPN, focal loss, COCO at 600 pixels (RetinaNet Table 1e, and
# the FL row of Table 1d).
_base_ = './retinanet_r50_fpn_fl-1x_coco-600.py'

model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(type='Pretrained',
                      checkpoint='torchvision://resnet101')))
