# EFL Table 8 "Sigmoid" (small): the original YOLOX-S (sigmoid BCE
# classification, SimOTA assignment) trained from scratch for 300 epochs on
# LVIS v1 with repeat factor sampling (threshold 1e-3) under YOLOX's mosaic
# pipeline, evaluated with the LVIS protocol (up to 300 boxes per image).
# All other settings are YOLOX's own, as the paper keeps them.
_base_ = [
    'mmdet::yolox/yolox_s_8xb8-300e_coco.py',
    '../_base_/datasets/lvis_v1_detection.py',
]
custom_imports = dict(imports=['mmdet_efl'], allow_failed_imports=False)

model = dict(
    bbox_head=dict(num_classes=1203),
    test_cfg=dict(score_thr=0.0, max_per_img=300))

train_dataloader = dict(
    dataset=dict(
        dataset=dict(
            _delete_=True,
            type='ClassBalancedDataset',
            oversample_thr=1e-3,
            dataset=dict(
                type='LVISV1Dataset',
                data_root={{_base_.lvis_data_root}},
                ann_file='annotations/lvis_v1_train.json',
                data_prefix=dict(img=''),
                filter_cfg=dict(filter_empty_gt=False, min_size=32),
                pipeline=[
                    dict(type='LoadImageFromFile'),
                    dict(type='LoadAnnotations', with_bbox=True)
                ]))))
val_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='LVISV1Dataset',
        data_root={{_base_.lvis_data_root}},
        ann_file='annotations/lvis_v1_val.json',
        data_prefix=dict(img=''),
        test_mode=True,
        pipeline={{_base_.test_pipeline}}))
# a copy: mmengine pops _delete_ from a dict as it merges it
test_dataloader = dict(dataset=dict(val_dataloader['dataset']))
val_evaluator = {{_base_.lvis_val_evaluator}}
test_evaluator = {{_base_.lvis_test_evaluator}}
