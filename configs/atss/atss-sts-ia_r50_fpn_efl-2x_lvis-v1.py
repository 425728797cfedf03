# EFL Table 5, "STS + IA": stabilised settings and the increased anchor
# scales {6, 8} with top-k 18, centerness branch kept.
_base_ = './atss-sts_r50_fpn_efl-2x_lvis-v1.py'

model = dict(
    bbox_head={{_base_.two_scale_head}},
    train_cfg={{_base_.two_scale_train_cfg}})
