# RetinaNet paper Table 3 / appendix A: FL* with gamma = 4, beta = 0,
# alpha = 0.25.
_base_ = './retinanet_r50_fpn_fl-1x_coco-600.py'

model = dict(
    bbox_head=dict(
        loss_cls=dict(
            _delete_=True,
            type='FocalLossStar',
            use_sigmoid=True,
            gamma=4.0,
            beta=0.0,
            alpha=0.25,
            loss_weight=1.0)))
