# The improved baseline's changes to stock mmdet ATSS (EFL sec. 4.1, Table 5):
# an IoU branch in place of centerness ("IB"), anchor scales {6, 8} with
# top-k 18 ("IA"), and a GIoU box loss of weight 1. Named settings, taken over
# with {{_base_.<name>}} next to a stock ATSS base (no duplicate keys), e.g.
#     model = dict(bbox_head={{_base_.improved_baseline_head}},
#                  train_cfg={{_base_.two_scale_train_cfg}})
iou_branch_head = dict(
    type='ATSSIoUHead',
    loss_bbox=dict(type='GIoULoss', loss_weight=1.0),
    loss_centerness=dict(
        type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0))
two_scale_head = dict(
    anchor_generator=dict(
        _delete_=True,
        type='AnchorGenerator',
        ratios=[1.0],
        scales=[6, 8],
        strides=[8, 16, 32, 64, 128]))
# with the classification prior 0.001 of the paper's runs (sec. 4.1)
improved_baseline_head = dict(
    **iou_branch_head,
    **two_scale_head,
    init_cfg=dict(
        type='Normal',
        layer='Conv2d',
        std=0.01,
        override=dict(
            type='Normal', name='atss_cls', std=0.01, bias_prob=0.001)))
two_scale_train_cfg = dict(assigner=dict(topk=18))
