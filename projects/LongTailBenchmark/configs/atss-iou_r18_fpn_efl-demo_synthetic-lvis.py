# The embedded benchmark: the improved-baseline EFL config for LVIS
# (efl/atss-iou_r50_fpn_efl-2x_lvis-v1.py) at CPU scale, on the generated
# long-tailed glyph dataset (tools/generate_dataset.py, LVIS v1 format: 100
# categories in look-alike families, 25 rare / 40 common / 35 frequent,
# 1500 training images).
# Scale changes: a narrow ResNet-18 trained from scratch; a 64-channel FPN
# and head with 2 stacked convs; 128-pixel images with objects of 21-42 px,
# so the anchor scales {6, 8} become {3, 4} and P3-P6 suffice; a 6-epoch
# schedule with a 100-iteration warm-up; and the RFS threshold, given in
# training images: LVIS's 1e-3 of 100k images oversamples categories seen in
# fewer than 100 images, which of our 1500 is a fraction of 1/15.
# One recipe change, the same for every loss: weight decay on the final
# classification conv (see cls_weight_decay below).
_base_ = '../../../configs/efl/atss-iou_r50_fpn_efl-2x_lvis-v1.py'

data_root = 'data/synthetic_lvis/'
num_classes = 100
rfs_images = 100

model = dict(
    backbone=dict(
        depth=18,
        base_channels=32,
        frozen_stages=-1,
        norm_eval=False,
        init_cfg=None),
    neck=dict(in_channels=[32, 64, 128, 256], out_channels=64, num_outs=4),
    bbox_head=dict(
        num_classes=num_classes,
        in_channels=64,
        feat_channels=64,
        stacked_convs=2,
        anchor_generator=dict(scales=[3, 4], strides=[8, 16, 32, 64]),
        loss_cls=dict(num_classes=num_classes)),
    test_cfg=dict(nms_pre=300, max_per_img=100))

train_dataloader = dict(
    batch_size=8,
    num_workers=1,
    dataset=dict(
        oversample_thr=rfs_images / 1500,
        dataset=dict(
            type='StrictLVISV1Dataset',
            data_root=data_root,
            ann_file='annotations/train.json',
            filter_cfg=dict(min_size=8),
            pipeline=[
                dict(type='LoadImageFromFile'),
                dict(type='LoadAnnotations', with_bbox=True),
                dict(
                    type='RandomChoiceResize',
                    scales=[(213, 102), (213, 115), (213, 128)],
                    keep_ratio=True),
                dict(type='RandomFlip', prob=0.5),
                dict(type='PackDetInputs')
            ])))
val_dataloader = dict(
    batch_size=8,
    num_workers=1,
    dataset=dict(
        type='StrictLVISV1Dataset',
        data_root=data_root,
        ann_file='annotations/val.json',
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='Resize', scale=(213, 128), keep_ratio=True),
            dict(type='LoadAnnotations', with_bbox=True),
            dict(
                type='PackDetInputs',
                meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                           'scale_factor'))
        ]))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/val.json')
test_evaluator = val_evaluator

max_epochs = 6
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(
        type='LinearLR', start_factor=0.001, by_epoch=False, begin=0,
        end=100),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_epochs,
        by_epoch=True,
        milestones=[4, 6],
        gamma=0.1)
]
# The classifier's weight-decay exposure. LVIS 2x (lr 0.02, weight decay 1e-4,
# ~180k iterations with its lr steps) exposes the classifier to
# Lambda = sum_t lr_t * lambda ~ 0.25; a CPU-length run at stock decay has
# about a hundredth of it, and every category's gradient ratio G_j then
# saturates at 1 (EFL = FL; see README, "When EFL reduces to focal loss").
# This recipe restores it on the final classification conv only, at
# 0.02 * sum_t lr_t (~19 over this schedule) ~ 0.38: LVIS's exposure
# (0.013, Lambda ~ 0.25) left focal loss's G_rare at 0.52 x G_freq, short of
# the regime check (<= 0.5; the project's README, "The regime check on the
# detector").
cls_weight_decay = 0.02
optim_wrapper = dict(
    optimizer=dict(lr=0.01),
    paramwise_cfg=dict(custom_keys={
        'bbox_head.atss_cls': dict(decay_mult=cls_weight_decay / 1e-4)
    }))
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=max_epochs),
    visualization=dict(draw=False))
log_processor = dict(window_size=10)
env_cfg = dict(dist_cfg=dict(backend='gloo'))
