"""ATSS with an IoU-prediction branch: the head of EFL's improved baseline
(EFL sec. 4.1, Table 5 "IB"), and the predictor of YOLOX* (EFL appendix A,
Table 8)."""
from typing import Optional, Tuple

import torch
from mmdet.models.dense_heads import ATSSHead
from mmdet.models.losses import QualityFocalLoss
from mmdet.registry import MODELS
from mmdet.structures.bbox import bbox_overlaps
from mmdet.utils import ConfigType, reduce_mean
from torch import Tensor

from mmdet_efl.models.losses import EqualizedQualityFocalLoss

QUALITY_LOSSES = (QualityFocalLoss, EqualizedQualityFocalLoss)


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
        quality_cls_target: train the classifier against ``(labels, IoU)``
            soft targets, as quality focal losses (QFL, EQFL; EFL Table 8)
            take them. ``None`` (default) turns it on exactly when
            ``loss_cls`` is ``QualityFocalLoss`` or
            ``EqualizedQualityFocalLoss``.
        loss_l1: an optional L1 loss between the predicted and the encoded
            target box deltas of positives, next to ``loss_bbox`` (YOLOX*'s
            "IoU loss combined with the L1 loss", EFL appendix A); reported
            as ``loss_l1`` and averaged over positives like ``loss_bbox``.
    """

    def __init__(self,
                 *args,
                 use_iou_branch: bool = True,
                 quality_cls_target: Optional[bool] = None,
                 loss_l1: Optional[ConfigType] = None,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.use_iou_branch = use_iou_branch
        quality_loss = isinstance(self.loss_cls, QUALITY_LOSSES)
        if quality_cls_target is None:
            quality_cls_target = quality_loss
        if quality_cls_target and not use_iou_branch:
            raise ValueError('quality_cls_target needs use_iou_branch=True: '
                             'the quality target is the IoU')
        if quality_loss and not quality_cls_target:
            raise ValueError(f'{type(self.loss_cls).__name__} takes '
                             '(labels, IoU) targets; leave '
                             'quality_cls_target at None or True')
        self.quality_cls_target = quality_cls_target
        self.loss_l1 = MODELS.build(loss_l1) if loss_l1 else None
        self._l1_levels = []

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

        pos = ((labels >= 0) & (labels < self.num_classes)).nonzero(
            as_tuple=True)[0]
        # float32 like the IoU targets, whatever autocast made the scores
        quality = labels.new_zeros(labels.shape, dtype=torch.float32)
        if len(pos) == 0:
            zero = bbox_pred.sum() * 0 + iou_pred.sum() * 0
            loss_bbox = loss_iou = loss_l1 = zero
        else:
            decoded = self.bbox_coder.decode(anchors[pos], bbox_pred[pos])
            iou_targets = self.iou_target(decoded, bbox_targets[pos])
            quality[pos] = iou_targets
            loss_bbox = self.loss_bbox(decoded, bbox_targets[pos],
                                       avg_factor=1.0)
            loss_iou = self.loss_centerness(
                iou_pred[pos], iou_targets, avg_factor=avg_factor)
            if self.loss_l1 is not None:
                loss_l1 = self.loss_l1(
                    bbox_pred[pos],
                    self.bbox_coder.encode(anchors[pos], bbox_targets[pos]),
                    avg_factor=1.0)
        if self.loss_l1 is not None:
            self._l1_levels.append((loss_l1, len(pos)))
        target = (labels, quality) if self.quality_cls_target else labels
        loss_cls = self.loss_cls(
            cls_score, target, label_weights, avg_factor=avg_factor)
        return loss_cls, loss_bbox, loss_iou, bbox_pred.new_tensor(
            float(len(pos)))

    @staticmethod
    def iou_target(decoded_boxes: Tensor, gt_boxes: Tensor) -> Tensor:
        """IoU of each decoded positive box with its ground truth (no
        gradient flows into the box branch through the target)."""
        return bbox_overlaps(
            decoded_boxes.detach(), gt_boxes, is_aligned=True).clamp(min=0)

    def loss_by_feat(self, *args, **kwargs) -> dict:
        self._l1_levels = []
        losses = super().loss_by_feat(*args, **kwargs)
        if self.use_iou_branch:
            losses['loss_iou'] = losses.pop('loss_centerness')
        if self.loss_l1 is not None:
            # normalised like ATSSHead's box loss: by the positives of all
            # images, averaged over processes
            num_pos = losses['loss_bbox'][0].new_tensor(
                float(sum(n for _, n in self._l1_levels)))
            num_pos = reduce_mean(num_pos).clamp_(min=1).item()
            losses['loss_l1'] = [l1 / num_pos for l1, _ in self._l1_levels]
            self._l1_levels = []
        return losses
