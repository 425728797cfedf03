# RetinaNet paper Table 2 (COCO test-dev): RetinaNet-101-800 "trained with
# scale jitter and for 1.5x longer" than Table 1e (18 epochs, steps at 12 and
# 16). The paper gives no jitter range and Detectron has no RetinaNet jitter
# config; short sides 640-800 in steps of 32 (max 1333) are Detectron's scale
# jitter list (e2e_mask_rcnn_X-152-32x8d-FPN-IN5k_1.44x.yaml, TRAIN.SCALES).
_base_ = './retinanet_r101_fpn_fl-1x_coco-800.py'

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='RandomChoiceResize',
        scales=[(1333, 640), (1333, 672), (1333, 704), (1333, 736),
                (1333, 768), (1333, 800)],
        keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
train_cfg = dict(max_epochs=18)
param_scheduler = [
    dict(
        type='LinearLR', start_factor=0.001, by_epoch=False, begin=0,
        end=500),
    dict(
        type='MultiStepLR',
        begin=0,
        end=18,
        by_epoch=True,
        milestones=[12, 16],
        gamma=0.1)
]
