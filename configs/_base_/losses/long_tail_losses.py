# The classification losses of the EFL paper for LVIS v1 (1203 classes), as
# named settings that configs take over with {{_base_.<name>}}:
#     model = dict(bbox_head=dict(loss_cls={{_base_.efl_loss_cls}}))
# _delete_ replaces the detector's stock FocalLoss wholesale.
efl_loss_cls = dict(  # EFL sec. 4.1: gamma_b = 2, alpha = 0.25, s = 8
    _delete_=True,
    type='EqualizedFocalLoss',
    num_classes=1203,
    use_sigmoid=True,
    gamma=2.0,
    scale_factor=8.0,
    alpha=0.25,
    loss_weight=1.0)
eqlv2_focal_loss_cls = dict(  # EFL Table 1 "EQLv2&Focal"
    _delete_=True,
    type='EQLv2FocalLoss',
    num_classes=1203,
    use_sigmoid=True,
    gamma=2.0,
    alpha=0.25,
    eqlv2_gamma=12.0,
    mu=0.8,
    eqlv2_alpha=4.0,
    loss_weight=1.0)
# GradientCollectorHook synchronises the category-adaptive losses' gradient
# statistics across GPUs and logs them per frequency group.
long_tail_custom_hooks = [dict(type='GradientCollectorHook')]
