# EFL Table 8 "Sigmoid" (medium): YOLOX-M, as mmdet's yolox_m config widens
# and deepens YOLOX-S.
_base_ = './yolox_s_pafpn_bce-300e_lvis-v1.py'
model = dict(
    backbone=dict(deepen_factor=0.67, widen_factor=0.75),
    neck=dict(in_channels=[192, 384, 768], out_channels=192, num_csp_blocks=2),
    bbox_head=dict(in_channels=192, feat_channels=192))
