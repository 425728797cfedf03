# What the RetinaNet paper's own implementation (Detectron) does where mmdet's
# stock RetinaNet differs, for the COCO rows of RetinaNet Tables 1-3:
# - box loss: "the standard smooth L1 loss" (RetinaNet sec. 4.1) with
#   beta 0.11 and weight 1.0 (Detectron core/config.py,
#   RETINANET.BBOX_REG_BETA / BBOX_REG_WEIGHT); mmdet's stock is L1.
# - P7 is "computed by applying ReLU followed by a 3x3 stride-2 conv on P6"
#   (RetinaNet sec. 4, footnote 2); mmdet's FPN applies no ReLU unless
#   relu_before_extra_convs (P6 stays a conv on C5, add_extra_convs
#   'on_input').
# A named setting, taken over next to the stock RetinaNet base with
#     model = {{_base_.detectron_retinanet_model}}
detectron_retinanet_model = dict(
    neck=dict(relu_before_extra_convs=True),
    bbox_head=dict(
        loss_bbox=dict(
            _delete_=True, type='SmoothL1Loss', beta=0.11, loss_weight=1.0)))
