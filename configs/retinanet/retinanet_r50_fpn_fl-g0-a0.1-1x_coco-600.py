# RetinaNet paper Table 1a (alpha-balanced CE: FL with gamma = 0): gamma = 0,
# alpha = 0.1.
_base_ = './retinanet_r50_fpn_fl-1x_coco-600.py'

model = dict(bbox_head=dict(loss_cls=dict(gamma=0.0, alpha=0.1)))
