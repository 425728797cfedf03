# EFL Table 8 "FL" with YOLOX* (medium): YOLOX-M's width and depth.
_base_ = './yolox-star_s_pafpn_fl-300e_lvis-v1.py'
model = dict(
    backbone=dict(deepen_factor=0.67, widen_factor=0.75),
    neck=dict(in_channels=[192, 384, 768], out_channels=192, num_csp_blocks=2),
    bbox_head=dict(in_channels=192, feat_channels=192))
