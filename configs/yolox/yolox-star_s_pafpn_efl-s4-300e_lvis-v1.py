# EFL Table 8 "EFL (Ours)" with YOLOX* (small): gamma_b 2, alpha 0.25 and
# s = 4 ("The scale factor s in EFL and EQFL are all set to 4").
_base_ = './yolox-star_s_pafpn_fl-300e_lvis-v1.py'
model = dict(
    bbox_head=dict(
        loss_cls=dict(
            _delete_=True,
            type='EqualizedFocalLoss',
            num_classes=1203,
            use_sigmoid=True,
            gamma=2.0,
            scale_factor=4.0,
            alpha=0.25,
            loss_weight=1.0)))
custom_hooks = [
    dict(type='YOLOXModeSwitchHook', num_last_epochs=15, priority=48),
    dict(type='SyncNormHook', priority=48),
    dict(
        type='EMAHook',
        ema_type='ExpMomentumEMA',
        momentum=0.0001,
        update_buffers=True,
        priority=49),
    dict(type='GradientCollectorHook')
]
