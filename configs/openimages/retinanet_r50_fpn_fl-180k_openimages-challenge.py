# EFL Table 7 "RetinaNet": the LVIS RetinaNet config of EFL Table 1
# on OpenImages Challenge 2019, 180k iterations, random sampler.
_base_ = [
    '../retinanet/retinanet_r50_fpn_fl-2x_lvis-v1.py',
    '../_base_/datasets/openimages_challenge_detection.py',
]
train_dataloader = {{_base_.oic_train_dataloader}}
val_dataloader = {{_base_.oic_val_dataloader}}
test_dataloader = {{_base_.oic_test_dataloader}}
val_evaluator = {{_base_.oic_val_evaluator}}
test_evaluator = {{_base_.oic_test_evaluator}}
train_cfg = {{_base_.oic_train_cfg}}
param_scheduler = {{_base_.oic_param_scheduler}}
default_hooks = {{_base_.oic_default_hooks}}
log_processor = {{_base_.oic_log_processor}}
model = dict(bbox_head=dict(num_classes=500))
