# EFL Table 8 "QFL" with YOLOX* (small): quality focal loss against the IoU
# of each positive's decoded box (ATSSIoUHead turns on quality targets).
_base_ = './yolox-star_s_pafpn_fl-300e_lvis-v1.py'
model = dict(
    bbox_head=dict(
        loss_cls=dict(
            _delete_=True,
            type='QualityFocalLoss',
            use_sigmoid=True,
            beta=2.0,
            loss_weight=1.0)))
