"""RetinaNet trained on OHEM-selected anchors (RetinaNet Table 1d)."""
from typing import List, Optional

import torch
import torch.nn.functional as F
from mmdet.models.dense_heads import RetinaHead
from mmdet.registry import MODELS, TASK_UTILS
from torch import Tensor


@MODELS.register_module()
class OHEMRetinaHead(RetinaHead):
    """``RetinaHead`` whose losses cover only the anchors that
    :class:`DenseOHEM` selects per image.

    Every anchor is scored by its classification loss (summed sigmoid CE
    over classes), then ``ohem`` keeps the minibatch; all other anchors get
    zero label and box weight. Losses are averaged over the kept anchors.
    Use it with ``loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=True)``
    for the paper's "OHEM" rows.

    Args:
        ohem: config of the selector, e.g.
            ``dict(type='DenseOHEM', batch_size=256, nms_iou=0.7)``.
    """

    def __init__(self, *args, ohem: dict = dict(type='DenseOHEM'),
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.ohem = TASK_UTILS.build(ohem)
        self._ohem_outputs: Optional[tuple] = None

    def loss_by_feat(self, cls_scores: List[Tensor], bbox_preds: List[Tensor],
                     *args, **kwargs) -> dict:
        # get_targets, called by the parent, needs the predictions to rank
        self._ohem_outputs = (cls_scores, bbox_preds)
        try:
            return super().loss_by_feat(cls_scores, bbox_preds, *args,
                                        **kwargs)
        finally:
            self._ohem_outputs = None

    def get_targets(self, anchor_list, *args, **kwargs) -> tuple:
        targets = super().get_targets(anchor_list, *args, **kwargs)
        if self._ohem_outputs is None:
            return targets
        labels_l, label_w_l, bbox_t_l, bbox_w_l, _ = targets[:5]
        cls_scores, bbox_preds = self._ohem_outputs
        num_imgs = len(anchor_list)
        with torch.no_grad():
            scores = torch.cat([
                s.permute(0, 2, 3, 1).reshape(num_imgs, -1,
                                              self.cls_out_channels)
                for s in cls_scores], 1)
            deltas = torch.cat([
                b.permute(0, 2, 3, 1).reshape(num_imgs, -1, 4)
                for b in bbox_preds], 1)
            labels = torch.cat(labels_l, 1)
            label_w = torch.cat(label_w_l, 1)
            keep = torch.zeros_like(labels, dtype=torch.bool)
            for i in range(num_imgs):
                onehot = F.one_hot(labels[i], self.num_classes + 1)
                onehot = onehot[:, :self.num_classes].to(scores.dtype)
                losses = F.binary_cross_entropy_with_logits(
                    scores[i], onehot, reduction='none').sum(1)
                anchors = torch.cat([a.tensor if hasattr(a, 'tensor') else a
                                     for a in anchor_list[i]])
                boxes = self.bbox_coder.decode(anchors, deltas[i])
                is_pos = (labels[i] >= 0) & (labels[i] < self.num_classes)
                keep[i] = self.ohem.select(losses, boxes, is_pos,
                                           label_w[i] > 0)
        sizes = [t.shape[1] for t in labels_l]
        keep_l = keep.split(sizes, 1)
        label_w_l = [w * k.to(w.dtype) for w, k in zip(label_w_l, keep_l)]
        bbox_w_l = [w * k[..., None].to(w.dtype)
                    for w, k in zip(bbox_w_l, keep_l)]
        avg_factor = max(1, int(keep.sum()))
        return (labels_l, label_w_l, bbox_t_l, bbox_w_l,
                avg_factor) + tuple(targets[5:])
