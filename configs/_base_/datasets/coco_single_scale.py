# RetinaNet Table 1e (and the 600-pixel ablations of sec. 5.1): train and
# test at one image scale, short side s with the long side capped at 5s/3
# (Detectron's 400 x 666 ... 800 x 1333), horizontal flip in training.
# One pair of pipelines per scale, taken over with
#     {{_base_.retinanet_scale_pipelines.s600.train}}
retinanet_scale_pipelines = {
    f's{short}': dict(
        train=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadAnnotations', with_bbox=True),
            dict(type='Resize', scale=(long, short), keep_ratio=True),
            dict(type='RandomFlip', prob=0.5),
            dict(type='PackDetInputs')
        ],
        test=[
            dict(type='LoadImageFromFile'),
            dict(type='Resize', scale=(long, short), keep_ratio=True),
            dict(type='LoadAnnotations', with_bbox=True),
            dict(
                type='PackDetInputs',
                meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                           'scale_factor'))
        ])
    for short, long in ((400, 666), (500, 833), (600, 1000), (700, 1166),
                        (800, 1333))
}
