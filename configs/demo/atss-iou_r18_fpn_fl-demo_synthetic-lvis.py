# The demo's focal-loss twin: identical to the EFL demo but for loss_cls.
_base_ = './atss-iou_r18_fpn_efl-demo_synthetic-lvis.py'

model = dict(
    bbox_head=dict(
        loss_cls=dict(
            _delete_=True,
            type='FocalLoss',
            use_sigmoid=True,
            gamma=2.0,
            alpha=0.25,
            loss_weight=1.0)))
custom_hooks = []
