# RetinaNet paper Table 1d, "OHEM": sigmoid CE on the 512 highest-loss
# anchors per image after NMS over anchors at IoU 0.5.
_base_ = './retinanet_r101_fpn_fl-1x_coco-600.py'

model = dict(
    bbox_head=dict(
        type='OHEMRetinaHead',
        ohem=dict(type='DenseOHEM', batch_size=512, nms_iou=0.5),
        loss_cls=dict(
            _delete_=True,
            type='CrossEntropyLoss',
            use_sigmoid=True,
            loss_weight=1.0)))
