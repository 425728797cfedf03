# EFL Table 8 "FL" with YOLOX* (small). YOLOX* (EFL appendix A) replaces
# YOLOX's supervisor and predictor with the improved baseline's: ATSS
# assignment (top-k 18), an IoU branch, larger anchors (scales {3, 4} on
# strides 8-32, two per location), and "the IoU loss combined with the L1
# loss" throughout (YOLOX uses L1 only in its last 15 epochs). Where the paper
# is silent, the authors' released config (United-Perception
# configs/det/efl/efl_yolox_small.yaml, commit 52aaeb9) decides:
# - the head stays YOLOX's (roi_head YoloXHead, num_point 2): per-level
#   decoupled branches of two conv-BN-SiLU, 1x1 outputs for two anchors per
#   location, objectness as the IoU branch, prior 0.001 on the class and
#   IoU biases (init_prior): YOLOXIoUHead.
# - box losses (post_process loc_loss compose_loc_loss): GIoU of weight 1,
#   weighted by each positive's IoU target and divided by the sum of the IoU
#   targets (ATSSIoUHead's box loss), plus L1 of weight 1 on raw deltas
#   (coder stds 1, as the authors' bbox2offset) averaged over the 4 N
#   elements: weight 0.25 on ATSSIoUHead's per-positive sum over 4 coordinates.
# - lr 0.0003125 per image (trainer.optimizer.kwargs.lr), 0.02 for YOLOX's 64
#   images; the cosine floor stays 0.05 of it (lr_scheduler min_lr_scale).
# - test: 1000 candidates per level ranked by cls x IoU, NMS 0.65, 300 boxes
#   (roi_predictor pre_nms_top_n, merger nms_iou_thresh and top_n).
# - classification-bias weight decay: the paper gives 1e-4 ("of vital
#   importance"; YOLOX has 0), the authors' config 5e-4 (its yolov5_except
#   optimizer puts the cls_preds biases in the weight group at
#   weight_decay 0.0005). We keep the paper's 1e-4: it is the value the paper
#   reports for Table 8 and singles out, and the released config post-dates
#   it; with YOLOX's base decay of 5e-4 that is decay_mult 0.2.
# Everything else is YOLOX-S's.
_base_ = './yolox_s_pafpn_bce-300e_lvis-v1.py'

model = dict(
    bbox_head=dict(
        _delete_=True,
        type='YOLOXIoUHead',
        num_classes=1203,
        in_channels=128,
        feat_channels=128,
        stacked_convs=2,
        norm_cfg=dict(type='BN', momentum=0.03, eps=0.001),
        act_cfg=dict(type='Swish'),
        prior_prob=0.001,
        anchor_generator=dict(
            type='AnchorGenerator',
            ratios=[1.0],
            scales=[3, 4],
            strides=[8, 16, 32]),
        bbox_coder=dict(
            type='DeltaXYWHBBoxCoder',
            target_means=[.0, .0, .0, .0],
            target_stds=[1.0, 1.0, 1.0, 1.0]),
        loss_cls=dict(
            type='FocalLoss',
            use_sigmoid=True,
            gamma=2.0,
            alpha=0.25,
            loss_weight=1.0),
        loss_bbox=dict(type='GIoULoss', loss_weight=1.0),
        loss_l1=dict(type='L1Loss', loss_weight=0.25),
        loss_centerness=dict(
            type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)),
    train_cfg=dict(
        _delete_=True,
        assigner=dict(type='ATSSAssigner', topk=18),
        allowed_border=-1,
        pos_weight=-1,
        debug=False),
    test_cfg=dict(
        _delete_=True,
        nms_pre=1000,
        min_bbox_size=0,
        score_thr=0.0,
        nms=dict(type='nms', iou_threshold=0.65),
        max_per_img=300))
optim_wrapper = dict(
    optimizer=dict(lr=0.02),
    paramwise_cfg=dict(
        custom_keys={
            f'bbox_head.multi_level_conv_cls.{level}.bias':
            dict(decay_mult=0.2)
            for level in range(3)
        }))
# YOLOX's schedule with the floor of the cosine at 0.05 x 0.02
param_scheduler = [
    dict(
        type='mmdet.QuadraticWarmupLR',
        by_epoch=True,
        begin=0,
        end=5,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        eta_min=0.02 * 0.05,
        begin=5,
        T_max=285,
        end=285,
        by_epoch=True,
        convert_to_iter_based=True),
    dict(type='ConstantLR', by_epoch=True, factor=1, begin=285, end=300)
]
