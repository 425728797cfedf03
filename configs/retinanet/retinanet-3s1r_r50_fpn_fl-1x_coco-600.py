# RetinaNet paper Table 1c: 3 anchor scale(s) (2^(k/3) octave steps) x
# 1 aspect ratio(s) per location; the default 3 x 3 is
# retinanet_r50_fpn_fl-1x_coco-600.py.
_base_ = './retinanet_r50_fpn_fl-1x_coco-600.py'

model = dict(
    bbox_head=dict(
        anchor_generator=dict(scales_per_octave=3, ratios=[1.0])))
