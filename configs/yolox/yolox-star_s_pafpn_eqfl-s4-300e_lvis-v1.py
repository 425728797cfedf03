# EFL Table 8 "EQFL (Ours)" with YOLOX* (small): the equalized quality focal
# loss (EFL appendix A, eq. 5), gamma_b 2 and s = 4.
_base_ = './yolox-star_s_pafpn_efl-s4-300e_lvis-v1.py'
model = dict(
    bbox_head=dict(
        loss_cls=dict(
            _delete_=True,
            type='EqualizedQualityFocalLoss',
            num_classes=1203,
            use_sigmoid=True,
            gamma=2.0,
            scale_factor=4.0,
            loss_weight=1.0)))
