# FCOS* (FCOS with center sampling, as ATSS describes it) with focal loss on
# LVIS v1 (EFL Tables 1 and 6, "FCOS*"): mmdet's center-sampling FCOS with
# the LVIS settings and, as in the paper, the stabilised settings.
_base_ = [
    'mmdet::fcos/fcos_r50-caffe_fpn_gn-head-center_1x_coco.py',
    '../_base_/datasets/lvis_v1_detection.py',
    '../_base_/schedules/schedule_2x_lvis.py',
    '../_base_/losses/long_tail_losses.py',
]
custom_imports = dict(imports=['mmdet_efl'], allow_failed_imports=False)

train_dataloader = {{_base_.lvis_train_dataloader}}
val_dataloader = {{_base_.lvis_val_dataloader}}
test_dataloader = {{_base_.lvis_test_dataloader}}
val_evaluator = {{_base_.lvis_val_evaluator}}
test_evaluator = {{_base_.lvis_test_evaluator}}
train_cfg = {{_base_.lvis_train_cfg}}
param_scheduler = {{_base_.stabilized_param_scheduler}}
optim_wrapper = {{_base_.stabilized_optim_wrapper}}
auto_scale_lr = {{_base_.lvis_auto_scale_lr}}

model = dict(
    bbox_head=dict(
        num_classes=1203,
        init_cfg=dict(
            type='Normal',
            layer='Conv2d',
            std=0.01,
            override=dict(
                type='Normal', name='conv_cls', std=0.01, bias_prob=0.001))),
    test_cfg={{_base_.lvis_test_cfg}})
