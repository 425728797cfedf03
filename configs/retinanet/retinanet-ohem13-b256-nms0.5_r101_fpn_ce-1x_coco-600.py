# RetinaNet paper Table 1d, "OHEM 1:3" (SSD's variant, R-101): batch 256, NMS
# 0.5, one positive per three negatives.
_base_ = './retinanet-ohem-b256-nms0.5_r101_fpn_ce-1x_coco-600.py'

model = dict(bbox_head=dict(ohem=dict(pos_fraction=0.25)))
