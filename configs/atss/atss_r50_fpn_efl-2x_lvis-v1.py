# EFL on stock ATSS, LVIS v1 (EFL Table 5 first row: no stabilised settings,
# IoU branch or extra anchor scale). What every Table 5 row shares with the
# last one (the improved baseline), so that the rows differ only in the
# named components: GIoU weight 1.0 (United-Perception
# efl_improved_baseline_r50_2x_rfs.yaml, loc_loss.kwargs.loss_weight; stock
# ATSS has 2.0) and 6000 candidates per level before NMS (same file,
# roi_predictor.kwargs.pre_nms_top_n).
_base_ = './atss_r50_fpn_fl-2x_lvis-v1.py'

model = dict(
    bbox_head=dict(
        loss_cls={{_base_.efl_loss_cls}},
        loss_bbox=dict(type='GIoULoss', loss_weight=1.0)),
    test_cfg={{_base_.atss_test_cfg}})
custom_hooks = {{_base_.long_tail_custom_hooks}}
