"""ATSS with an IoU-prediction branch: the head of EFL's improved baseline
(EFL sec. 4.1, Table 5 "IB"), and the predictor of YOLOX* (EFL appendix A,
Table 8)."""
import copy
from typing import List, Optional, Tuple

import torch
from mmdet.models.dense_heads import ATSSHead
from mmdet.models.losses import QualityFocalLoss
from mmdet.models.utils import filter_scores_and_topk
from mmdet.registry import MODELS
from mmdet.structures.bbox import bbox_overlaps, cat_boxes
from mmdet.utils import ConfigType, reduce_mean
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData
from torch import Tensor

from mmdet_efl.models.losses import EqualizedQualityFocalLoss

QUALITY_LOSSES = (QualityFocalLoss, EqualizedQualityFocalLoss)


@MODELS.register_module()
class ATSSIoUHead(ATSSHead):
    """``ATSSHead`` whose centerness branch predicts the IoU of the box.

    What differs from stock ATSS is what the EFL authors' improved baseline
    does (United-Perception ``up/tasks/det/models/postprocess``:
    ``retina_post_iou``, the ``atss`` supervisor with ``use_iou``, the
    ``base_multicls`` predictor):

    - The branch (mmdet's ``atss_centerness`` conv, one output per anchor)
      is trained with ``loss_centerness`` (sigmoid BCE, weight 1) against
      the IoU target: the IoU of each positive's decoded box with its
      ground truth, without gradient. Reported as ``loss_iou``.
    - The box loss of each positive is weighted by its IoU target and the
      sum is divided by the sum of the IoU targets of all images, averaged
      over processes and clamped at 1 (where stock ATSS uses the centerness
      target in the same way). The authors clamp the all-reduced sum before
      dividing by the number of processes; the two differ only while that
      sum is below the number of processes.
    - At test time each level keeps its ``nms_pre`` (anchor, class) pairs of
      highest ``sigmoid(cls) * sigmoid(iou)``, the score that is reported,
      after ``score_thr`` on that score; stock ATSS ranks by the class
      score alone and multiplies by the branch afterwards. NMS and
      ``max_per_img`` are mmdet's.

    Assigner, coder and anchors are mmdet's.

    Args:
        use_iou_branch: if False the head is stock ``ATSSHead``
            (centerness branch, centerness-weighted box loss, candidates
            ranked by class score), for ablations (EFL Table 5).
        quality_cls_target: train the classifier against ``(labels, IoU)``
            soft targets, as quality focal losses (QFL, EQFL; EFL Table 8)
            take them. ``None`` (default) turns it on exactly when
            ``loss_cls`` is ``QualityFocalLoss`` or
            ``EqualizedQualityFocalLoss``.
        loss_l1: an optional L1 loss between the predicted and the encoded
            target box deltas of positives, next to ``loss_bbox`` (YOLOX*'s
            "IoU loss combined with the L1 loss", EFL appendix A); reported
            as ``loss_l1``: the absolute differences summed over the 4
            coordinates and divided by the number of positives (all images,
            averaged over processes). A mean over the 4 N elements, as the
            authors' YOLOX* config has it, is ``loss_weight`` 0.25.

    Raises:
        ValueError: if ``quality_cls_target`` is set without the IoU branch,
            or turned off for a quality focal loss.
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
        """Per-level losses of one batch.

        Shapes: ``cls_score`` (N, A * C, H, W), ``bbox_pred`` (N, A * 4, H,
        W), ``centerness`` (N, A, H, W) for A anchors per location;
        ``anchors`` and ``bbox_targets`` (N, H * W * A, 4); ``labels`` and
        ``label_weights`` (N, H * W * A).

        Returns:
            ``(loss_cls, loss_bbox, loss_iou, iou_sum)``: ``loss_bbox`` is
            the IoU-target-weighted sum over this level's positives and
            ``iou_sum`` the sum of their IoU targets, by whose total over
            levels ``ATSSHead.loss_by_feat`` divides the box loss.
        """
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
            iou_sum = bbox_pred.new_tensor(0.)
        else:
            decoded = self.bbox_coder.decode(anchors[pos], bbox_pred[pos])
            iou_targets = self.iou_target(decoded, bbox_targets[pos])
            quality[pos] = iou_targets
            loss_bbox = self.loss_bbox(
                decoded, bbox_targets[pos], weight=iou_targets,
                avg_factor=1.0)
            loss_iou = self.loss_centerness(
                iou_pred[pos], iou_targets, avg_factor=avg_factor)
            if self.loss_l1 is not None:
                loss_l1 = self.loss_l1(
                    bbox_pred[pos],
                    self.bbox_coder.encode(anchors[pos], bbox_targets[pos]),
                    avg_factor=1.0)
            iou_sum = iou_targets.sum()
        if self.loss_l1 is not None:
            self._l1_levels.append((loss_l1, len(pos)))
        target = (labels, quality) if self.quality_cls_target else labels
        loss_cls = self.loss_cls(
            cls_score, target, label_weights, avg_factor=avg_factor)
        return loss_cls, loss_bbox, loss_iou, iou_sum

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
            # by the positives of all images, averaged over processes, as
            # the classification and IoU losses are
            num_pos = losses['loss_bbox'][0].new_tensor(
                float(sum(n for _, n in self._l1_levels)))
            num_pos = reduce_mean(num_pos).clamp_(min=1).item()
            losses['loss_l1'] = [l1 / num_pos for l1, _ in self._l1_levels]
            self._l1_levels = []
        return losses

    def _predict_by_feat_single(self,
                                cls_score_list: List[Tensor],
                                bbox_pred_list: List[Tensor],
                                score_factor_list: List[Tensor],
                                mlvl_priors: List[Tensor],
                                img_meta: dict,
                                cfg: ConfigDict,
                                rescale: bool = False,
                                with_nms: bool = True) -> InstanceData:
        """Boxes of one image, candidates chosen by ``cls x IoU``.

        Per level, ``cls_score_list[i]`` is (A * C, H, W),
        ``bbox_pred_list[i]`` (A * 4, H, W), ``score_factor_list[i]`` (the
        IoU logits) (A, H, W) and ``mlvl_priors[i]`` (H * W * A, 4). The
        (anchor, class) pairs whose product score exceeds ``score_thr`` are
        ranked by it and the first ``nms_pre`` kept, as the authors'
        predictor ranks them; then mmdet's post-process (rescale,
        ``min_bbox_size``, class-wise NMS, ``max_per_img``).

        Returns:
            InstanceData with ``bboxes`` (n, 4), ``scores`` (n,) equal to
            ``sigmoid(cls) * sigmoid(iou)``, and ``labels`` (n,).
        """
        if not self.use_iou_branch:
            return super()._predict_by_feat_single(
                cls_score_list, bbox_pred_list, score_factor_list,
                mlvl_priors, img_meta, cfg, rescale, with_nms)
        cfg = copy.deepcopy(self.test_cfg if cfg is None else cfg)
        nms_pre = cfg.get('nms_pre', -1)
        score_thr = cfg.get('score_thr', 0)
        mlvl_deltas, mlvl_valid_priors, mlvl_scores, mlvl_labels = \
            [], [], [], []
        for cls_score, bbox_pred, iou_pred, priors in zip(
                cls_score_list, bbox_pred_list, score_factor_list,
                mlvl_priors):
            assert cls_score.size()[-2:] == bbox_pred.size()[-2:]
            scores = cls_score.permute(1, 2, 0).reshape(
                -1, self.cls_out_channels).sigmoid()
            ious = iou_pred.permute(1, 2, 0).reshape(-1).sigmoid()
            scores = scores * ious[:, None]
            deltas = bbox_pred.permute(1, 2, 0).reshape(
                -1, self.bbox_coder.encode_size)
            scores, labels, _, kept = filter_scores_and_topk(
                scores, score_thr, nms_pre,
                dict(deltas=deltas, priors=priors))
            mlvl_deltas.append(kept['deltas'])
            mlvl_valid_priors.append(kept['priors'])
            mlvl_scores.append(scores)
            mlvl_labels.append(labels)
        results = InstanceData()
        results.bboxes = self.bbox_coder.decode(
            cat_boxes(mlvl_valid_priors), torch.cat(mlvl_deltas),
            max_shape=img_meta['img_shape'])
        results.scores = torch.cat(mlvl_scores)
        results.labels = torch.cat(mlvl_labels)
        return self._bbox_post_process(
            results=results, cfg=cfg, rescale=rescale, with_nms=with_nms,
            img_meta=img_meta)
