# RetinaNet paper Table 3 / appendix A: FL* with gamma = 4, beta = 0,
# alpha = 0.25.
_base_ = './retinanet_r50_fpn_flstar-g2-b1-1x_coco-600.py'

model = dict(bbox_head=dict(loss_cls=dict(gamma=4.0, beta=0.0)))
