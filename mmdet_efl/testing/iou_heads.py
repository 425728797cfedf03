"""What the tests of the IoU-branch heads (``ATSSIoUHead``,
``YOLOXIoUHead``) build them with."""


def iou_head_training_cfg() -> dict:
    """The losses and ``train_cfg`` of a small IoU-branch head as the EFL
    improved baseline trains it: focal loss (gamma 2, alpha 0.25), GIoU
    (weight 1), BCE on the IoU branch, ATSS with top-k 18. Keyword
    arguments of the head's config."""
    return dict(
        loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0,
                      alpha=0.25, loss_weight=1.0),
        loss_bbox=dict(type='GIoULoss', loss_weight=1.0),
        loss_centerness=dict(type='CrossEntropyLoss', use_sigmoid=True,
                             loss_weight=1.0),
        train_cfg=dict(assigner=dict(type='ATSSAssigner', topk=18),
                       allowed_border=-1, pos_weight=-1, debug=False))
