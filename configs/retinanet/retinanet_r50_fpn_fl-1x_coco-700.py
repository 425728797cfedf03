# RetinaNet R-50-FPN with focal loss (gamma 2, alpha 0.25, prior 0.01) on COCO
# at a 700-pixel train/test scale: RetinaNet Table 1e. Stock mmdet RetinaNet (3
# scales x 3 ratios, lr 0.01 for 16 images, 1x) at image scale 700 x 1166, as
# Detectron; smooth L1 (beta 0.11) and the ReLU before P7 as in the paper and
# Detectron (../_base_/models/retinanet_detectron.py).
_base_ = [
    'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py',
    '../_base_/datasets/coco_single_scale.py',
    '../_base_/models/retinanet_detectron.py',
]
custom_imports = dict(imports=['mmdet_efl'], allow_failed_imports=False)

train_pipeline = {{_base_.retinanet_scale_pipelines.s700.train}}
test_pipeline = {{_base_.retinanet_scale_pipelines.s700.test}}
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
model = {{_base_.detectron_retinanet_model}}
