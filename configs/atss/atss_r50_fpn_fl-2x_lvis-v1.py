# ATSS with focal loss on LVIS v1, 2x with RFS 1e-3 (EFL Table 1, "ATSS").
# Stock mmdet ATSS; what differs is LVIS (sec. 4.1): 1203 classes, prior
# 0.001, no score threshold and 300 boxes per image at test, lr 0.02 for a
# total batch of 16, 24 epochs with steps at 16 and 22.
_base_ = [
    'mmdet::atss/atss_r50_fpn_1x_coco.py',
    '../_base_/datasets/lvis_v1_detection.py',
]
custom_imports = dict(imports=['mmdet_efl'], allow_failed_imports=False)

train_dataloader = {{_base_.lvis_train_dataloader}}
val_dataloader = {{_base_.lvis_val_dataloader}}
test_dataloader = {{_base_.lvis_val_dataloader}}
val_evaluator = {{_base_.lvis_val_evaluator}}
test_evaluator = {{_base_.lvis_val_evaluator}}

model = dict(
    bbox_head=dict(
        num_classes=1203,
        init_cfg=dict(
            type='Normal',
            layer='Conv2d',
            std=0.01,
            override=dict(
                type='Normal', name='atss_cls', std=0.01, bias_prob=0.001))),
    test_cfg=dict(
        nms_pre=1000,
        min_bbox_size=0,
        score_thr=0.0,
        nms=dict(type='nms', iou_threshold=0.5),
        max_per_img=300))

train_cfg = dict(max_epochs=24, val_interval=24)
param_scheduler = [
    dict(
        type='LinearLR', start_factor=0.001, by_epoch=False, begin=0,
        end=500),
    dict(
        type='MultiStepLR',
        begin=0,
        end=24,
        by_epoch=True,
        milestones=[16, 22],
        gamma=0.1)
]
optim_wrapper = dict(optimizer=dict(lr=0.02))
auto_scale_lr = dict(base_batch_size=16)
