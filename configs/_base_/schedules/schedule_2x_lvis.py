# Training and test settings shared by the LVIS v1 configs (EFL sec. 4.1):
# SGD, momentum 0.9, weight decay 1e-4, lr 0.02 for a total batch of 16
# images, 24 epochs (2x) with steps at 16 and 22; no score threshold and 300
# boxes per image at test, NMS 0.5. Runs without the "stabilised settings"
# warm up linearly over 1000 iterations; the stabilised settings (EFL sec.
# 4.1, Table 5 "STS": "extend the warm-up iterations from 1000 to 6000")
# warm up over 6000 and clip gradients at max L2 norm 35.
#
# Named lvis_*/stabilized_* so that this file can sit next to a stock mmdet
# detector config among a config's bases (no duplicate keys); the config
# takes them over with {{_base_.<name>}}.
lvis_train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=24, val_interval=24)
lvis_param_scheduler = [
    dict(
        type='LinearLR', start_factor=0.001, by_epoch=False, begin=0,
        end=1000),  # EFL sec. 4.1: "from 1000 to 6000"
    dict(
        type='MultiStepLR',
        begin=0,
        end=24,
        by_epoch=True,
        milestones=[16, 22],
        gamma=0.1)
]
stabilized_param_scheduler = [
    dict(lvis_param_scheduler[0], end=6000), lvis_param_scheduler[1]
]
lvis_optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=0.0001))
stabilized_optim_wrapper = dict(
    lvis_optim_wrapper, clip_grad=dict(max_norm=35, norm_type=2))
lvis_auto_scale_lr = dict(enable=False, base_batch_size=16)
lvis_test_cfg = dict(
    nms_pre=1000,
    min_bbox_size=0,
    score_thr=0.0,
    nms=dict(type='nms', iou_threshold=0.5),
    max_per_img=300)
# The authors' predictor for ATSS-type heads keeps 6000 candidates per FPN
# level before NMS (United-Perception efl_improved_baseline_r50_2x_rfs.yaml,
# roi_predictor.kwargs.pre_nms_top_n); mmdet's stock ATSS keeps 1000.
atss_test_cfg = dict(lvis_test_cfg, nms_pre=6000)
