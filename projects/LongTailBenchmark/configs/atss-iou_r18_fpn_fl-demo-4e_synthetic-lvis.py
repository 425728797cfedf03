# The 4-epoch demo's focal-loss twin: identical to
# atss-iou_r18_fpn_efl-demo-4e_synthetic-lvis.py but for loss_cls (EFL with
# s = 0 is focal loss; see atss-iou_r18_fpn_fl-demo_synthetic-lvis.py).
_base_ = './atss-iou_r18_fpn_efl-demo-4e_synthetic-lvis.py'

model = dict(bbox_head=dict(loss_cls=dict(scale_factor=0.0)))
