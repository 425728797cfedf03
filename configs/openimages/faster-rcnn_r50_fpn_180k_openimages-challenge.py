# EFL Table 7 "Faster R-CNN", the two-stage reference: stock mmdet
# Faster R-CNN with the same data, schedule and test settings as the
# one-stage rows (stabilised warm-up and clipping, 300 boxes, no threshold).
_base_ = [
    'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py',
    '../_base_/datasets/openimages_challenge_detection.py',
    '../_base_/schedules/schedule_2x_lvis.py',
]
custom_imports = dict(imports=['mmdet_efl'], allow_failed_imports=False)
train_dataloader = {{_base_.oic_train_dataloader}}
val_dataloader = {{_base_.oic_val_dataloader}}
test_dataloader = {{_base_.oic_test_dataloader}}
val_evaluator = {{_base_.oic_val_evaluator}}
test_evaluator = {{_base_.oic_test_evaluator}}
train_cfg = {{_base_.oic_train_cfg}}
param_scheduler = {{_base_.oic_param_scheduler}}
default_hooks = {{_base_.oic_default_hooks}}
log_processor = {{_base_.oic_log_processor}}
optim_wrapper = {{_base_.stabilized_optim_wrapper}}
auto_scale_lr = {{_base_.lvis_auto_scale_lr}}
model = dict(
    roi_head=dict(bbox_head=dict(num_classes=500)),
    test_cfg=dict(rcnn=dict(score_thr=0.0, max_per_img=300)))
