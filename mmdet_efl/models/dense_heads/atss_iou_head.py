"""ATSS with an IoU-prediction branch: the head of EFL's improved baseline
(EFL sec. 4.1, Table 5 "IB")."""
from typing import Tuple

from mmdet.models.dense_heads import ATSSHead
from mmdet.registry import MODELS
from mmdet.structures.bbox import bbox_overlaps
from torch import Tensor


@MODELS.register_module()
class ATSSIoUHead(ATSSHead):
    """``ATSSHead`` whose centerness branch predicts the IoU of the box.

    The branch (mmdet's ``atss_centerness`` conv, one output per anchor) is
    trained with ``loss_centerness`` (sigmoid BCE, weight 1) against the IoU
    of each positive's decoded box with its ground truth, and the box loss
    is averaged over positives instead of weighted by centerness. At test
    time mmdet multiplies the class score by the branch's sigmoid, which is
    now the predicted IoU. Assigner, coder, anchors and post-processing are
    mmdet's. The loss is reported as ``loss_iou``.

    Args:
        use_iou_branch: if False the head is stock ``ATSSHead``
            (centerness), for ablations (EFL Table 5).
    """

    def __init__(self, *args, use_iou_branch: bool = True, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.use_iou_branch = use_iou_branch

    def loss_by_feat_single(self, anchors: Tensor, cls_score: Tensor,
                            bbox_pred: Tensor, centerness: Tensor,
                            labels: Tensor, label_weights: Tensor,
                            bbox_targets: Tensor,
                            avg_factor: float) -> Tuple[Tensor, ...]:
        """Per-level losses; the last value is this level's number of
        positives, by which ``ATSSHead.loss_by_feat`` divides the summed box
        loss."""
        if not self.use_iou_branch:
            return super().loss_by_feat_single(anchors, cls_score, bbox_pred,
                                               centerness, labels,
                                               label_weights, bbox_targets,
                                               avg_factor)
        anchors = anchors.reshape(-1, 4)
        cls_score = cls_score.permute(0, 2, 3, 1).reshape(
            -1, self.cls_out_channels).contiguous()
        bbox_pred = bbox_pred.permute(0, 2, 3, 1).reshape(-1, 4)
        iou_pred = centerness.permute(0, 2, 3, 1).reshape(-1)
        bbox_targets = bbox_targets.reshape(-1, 4)
        labels = labels.reshape(-1)
        label_weights = label_weights.reshape(-1)

        loss_cls = self.loss_cls(
            cls_score, labels, label_weights, avg_factor=avg_factor)

        pos = ((labels >= 0) & (labels < self.num_classes)).nonzero(
            as_tuple=True)[0]
        if len(pos) == 0:
            zero = bbox_pred.sum() * 0 + iou_pred.sum() * 0
            return loss_cls, zero, zero, bbox_pred.new_tensor(0.)
        decoded = self.bbox_coder.decode(anchors[pos], bbox_pred[pos])
        iou_targets = self.iou_target(decoded, bbox_targets[pos])
        loss_bbox = self.loss_bbox(decoded, bbox_targets[pos], avg_factor=1.0)
        loss_iou = self.loss_centerness(
            iou_pred[pos], iou_targets, avg_factor=avg_factor)
        return loss_cls, loss_bbox, loss_iou, bbox_pred.new_tensor(
            float(len(pos)))

    @staticmethod
    def iou_target(decoded_boxes: Tensor, gt_boxes: Tensor) -> Tensor:
        """IoU of each decoded positive box with its ground truth (no
        gradient flows into the box branch through the target)."""
        return bbox_overlaps(
            decoded_boxes.detach(), gt_boxes, is_aligned=True).clamp(min=0)

    def loss_by_feat(self, *args, **kwargs) -> dict:
        losses = super().loss_by_feat(*args, **kwargs)
        if self.use_iou_branch:
            losses['loss_iou'] = losses.pop('loss_centerness')
        return losses
