# Focal loss under its own best recipe on the benchmark: the stock weight
# decay (1e-4) on the classification conv as on every other layer, instead of
# the benchmark recipe's classifier decay (atss-iou_r18_fpn_efl-demo_...).
# The benchmark reports EFL against FL under both.
_base_ = './atss-iou_r18_fpn_fl-demo_synthetic-lvis.py'

optim_wrapper = dict(
    paramwise_cfg=dict(
        custom_keys={'bbox_head.atss_cls': dict(decay_mult=1.0)}))
