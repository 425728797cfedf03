# LVIS v1 box detection as in the EFL paper (sec. 4.1): repeat factor
# sampling with threshold 1e-3, scale jitter 640-800 on the short side (max
# 1333) with horizontal flip; test at 800 x 1333; box AP/APr/APc/APf.
# Boxes only: mmdet's stock LVIS base also loads masks.
#
# The settings are named lvis_* so that this file can sit next to a stock
# mmdet detector config among the bases of a config (mmengine forbids
# duplicate keys among bases). That config then takes them over, e.g.
#     train_dataloader = {{_base_.lvis_train_dataloader}}
# and the _delete_ markers replace the stock COCO settings wholesale.
lvis_dataset_type = 'LVISV1Dataset'
lvis_data_root = 'data/lvis_v1/'

lvis_train_pipeline = [
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
lvis_test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(1333, 800), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor'))
]

lvis_train_dataloader = dict(
    batch_size=2,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=dict(
        _delete_=True,
        type='ClassBalancedDataset',
        oversample_thr=1e-3,
        dataset=dict(
            type=lvis_dataset_type,
            data_root=lvis_data_root,
            ann_file='annotations/lvis_v1_train.json',
            data_prefix=dict(img=''),
            filter_cfg=dict(filter_empty_gt=True, min_size=32),
            pipeline=lvis_train_pipeline)))
lvis_val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        _delete_=True,
        type=lvis_dataset_type,
        data_root=lvis_data_root,
        ann_file='annotations/lvis_v1_val.json',
        data_prefix=dict(img=''),
        test_mode=True,
        pipeline=lvis_test_pipeline))
# mmdet-efl's LVIS box metric: official numbers (tested to 1e-4) from the
# faster-coco-eval backend; backend='lvis' runs the lvis-api itself.
lvis_val_evaluator = dict(
    _delete_=True,
    type='LVISBoxMetric',
    backend='faster_coco_eval',
    ann_file=lvis_data_root + 'annotations/lvis_v1_val.json',
    metric='bbox')
# The test loop gets copies: mmengine pops _delete_ from a dict as it merges
# it, so one dict taken over for both val_* and test_* would be merged into
# the stock COCO test settings instead of replacing them.
lvis_test_dataloader = dict(
    lvis_val_dataloader, dataset=dict(lvis_val_dataloader['dataset']))
lvis_test_evaluator = dict(lvis_val_evaluator)
