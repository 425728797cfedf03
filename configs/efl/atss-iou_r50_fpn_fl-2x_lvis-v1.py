# The improved baseline of the EFL paper (sec. 4.1, Table 2 "Baseline†",
# Table 5 last row): ATSS with an IoU branch instead of centerness, two anchors
# per location (scales {6, 8}), top-k 18, GIoU box loss (weight 1), and the
# stabilised settings (6000-iteration warm-up, gradient clipping at 35).
# Test: 6000 candidates per level before NMS, ranked by cls x IoU
# (United-Perception efl_improved_baseline_r50_2x_rfs.yaml,
# roi_predictor.kwargs.pre_nms_top_n; ATSSIoUHead ranks by the product).
# Focal loss; the EFL config changes only loss_cls.
_base_ = '../atss/atss_r50_fpn_fl-2x_lvis-v1.py'

model = dict(
    bbox_head={{_base_.improved_baseline_head}},
    train_cfg={{_base_.two_scale_train_cfg}},
    test_cfg={{_base_.atss_test_cfg}})
param_scheduler = {{_base_.stabilized_param_scheduler}}
optim_wrapper = {{_base_.stabilized_optim_wrapper}}
