# The benchmark's focal-loss twin: identical to the EFL config but for
# loss_cls. Focal loss is EFL with s = 0 (EFL eq. 3-4: gamma_j = gamma_b and
# weight 1 for every category; equal to mmdet's FocalLoss in value and
# gradient, tests/test_models/test_losses/test_equalized_focal_loss.py), so
# that GradientCollectorHook also logs FL's gradient ratios G_j, which the
# regime checks read.
_base_ = './atss-iou_r18_fpn_efl-demo_synthetic-lvis.py'

model = dict(bbox_head=dict(loss_cls=dict(scale_factor=0.0)))
