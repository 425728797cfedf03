# RetinaNet paper Table 1b: gamma = 0.2, alpha = 0.75.
_base_ = './retinanet_r50_fpn_fl-1x_coco-600.py'

model = dict(bbox_head=dict(loss_cls=dict(gamma=0.2, alpha=0.75)))
