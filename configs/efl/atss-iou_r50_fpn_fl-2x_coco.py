# EFL Table 9, "FL": the improved baseline on COCO (80 balanced classes), 2x,
# random sampler; "all other settings are consistent with those in LVIS"
# (EFL appendix C): LVIS's scale jitter 640-800 (max 1333) with flip, the
# stabilised settings, prior 0.001, and the test settings (6000 candidates
# per level, 300 boxes, no score threshold, NMS 0.5).
_base_ = [
    'mmdet::atss/atss_r50_fpn_1x_coco.py',
    '../_base_/datasets/lvis_v1_detection.py',
    '../_base_/schedules/schedule_2x_lvis.py',
    '../_base_/models/atss_improved_baseline.py',
]
custom_imports = dict(imports=['mmdet_efl'], allow_failed_imports=False)

train_dataloader = dict(dataset=dict(pipeline={{_base_.lvis_train_pipeline}}))
train_cfg = {{_base_.lvis_train_cfg}}
param_scheduler = {{_base_.stabilized_param_scheduler}}
optim_wrapper = {{_base_.stabilized_optim_wrapper}}
auto_scale_lr = {{_base_.lvis_auto_scale_lr}}
model = dict(
    bbox_head={{_base_.improved_baseline_head}},
    train_cfg={{_base_.two_scale_train_cfg}},
    test_cfg={{_base_.atss_test_cfg}})
