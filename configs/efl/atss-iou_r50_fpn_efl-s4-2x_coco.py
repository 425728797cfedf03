# EFL Table 9, "EFL (s=4)": on balanced COCO EFL should match focal loss.
_base_ = './atss-iou_r50_fpn_fl-2x_coco.py'

model = dict(
    bbox_head=dict(
        loss_cls=dict(
            _delete_=True,
            type='EqualizedFocalLoss',
            num_classes=80,
            use_sigmoid=True,
            gamma=2.0,
            scale_factor=4.0,
            alpha=0.25,
            loss_weight=1.0)))
custom_hooks = [dict(type='GradientCollectorHook')]
