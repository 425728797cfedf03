# ATSS with Equalized Focal Loss on LVIS v1 (EFL Table 6 style, stock ATSS):
# gamma_b = 2, alpha = 0.25, s = 8 (EFL sec. 4.1). GradientCollectorHook
# synchronises the gradient statistics across GPUs and logs them.
_base_ = '../atss/atss_r50_fpn_fl-2x_lvis-v1.py'

model = dict(
    bbox_head=dict(
        loss_cls=dict(
            _delete_=True,
            type='EqualizedFocalLoss',
            num_classes=1203,
            use_sigmoid=True,
            gamma=2.0,
            scale_factor=8.0,
            alpha=0.25,
            loss_weight=1.0)))
custom_hooks = [dict(type='GradientCollectorHook')]
