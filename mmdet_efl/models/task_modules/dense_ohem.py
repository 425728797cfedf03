"""Online hard example mining for one-stage detectors (RetinaNet Table 1d)."""
from typing import Optional

import torch
from mmcv.ops import nms
from mmdet.registry import TASK_UTILS
from torch import Tensor


@TASK_UTILS.register_module()
class DenseOHEM:
    """Selects the anchors of one image that a one-stage detector trains on.

    As in RetinaNet sec. 5.1 (Table 1d): every anchor is scored by its
    loss, non-maximum suppression over the anchors' (predicted) boxes at
    ``nms_iou`` removes near-duplicates, and the ``batch_size``
    highest-loss survivors form the minibatch. With ``pos_fraction`` (0.25
    for "OHEM 1:3") at most that fraction of the minibatch are positives and
    exactly three negatives (``(1 - f) / f``) are kept per positive.

    Args:
        batch_size: anchors kept per image (128, 256 or 512 in the paper).
        nms_iou: IoU threshold of the NMS over anchors (0.7 or 0.5).
        pos_fraction: None for pure loss ranking, else the positive share.
    """

    def __init__(self, batch_size: int = 256, nms_iou: float = 0.7,
                 pos_fraction: Optional[float] = None) -> None:
        if batch_size < 1:
            raise ValueError(f'DenseOHEM: batch_size must be >= 1, got '
                             f'{batch_size}')
        if not 0 < nms_iou <= 1:
            raise ValueError(f'DenseOHEM: nms_iou must be in (0, 1], got '
                             f'{nms_iou}')
        if pos_fraction is not None and not 0 < pos_fraction < 1:
            raise ValueError('DenseOHEM: pos_fraction must be in (0, 1), got '
                             f'{pos_fraction}')
        self.batch_size = batch_size
        self.nms_iou = nms_iou
        self.pos_fraction = pos_fraction

    def select(self, losses: Tensor, boxes: Tensor, is_pos: Tensor,
               valid: Tensor) -> Tensor:
        """Boolean mask of the kept anchors.

        Args:
            losses: per-anchor loss ``[A]`` (the score of the ranking).
            boxes: per-anchor boxes ``[A, 4]`` (x1, y1, x2, y2) for the NMS.
            is_pos: ``[A]`` True for positive anchors.
            valid: ``[A]`` False for anchors that must not be chosen
                (ignored, outside the image).
        """
        keep = torch.zeros_like(valid, dtype=torch.bool)
        cand = valid.nonzero(as_tuple=True)[0]
        if cand.numel() == 0:
            return keep
        _, order = nms(boxes[cand].float(), losses[cand].float(),
                       self.nms_iou)
        ranked = cand[order]  # survivors, highest loss first
        if self.pos_fraction is None:
            keep[ranked[:self.batch_size]] = True
            return keep
        pos = ranked[is_pos[ranked]]
        neg = ranked[~is_pos[ranked]]
        num_pos = min(len(pos), int(self.batch_size * self.pos_fraction))
        per_pos = (1 - self.pos_fraction) / self.pos_fraction
        num_neg = min(len(neg), int(round(num_pos * per_pos)))
        keep[pos[:num_pos]] = True
        keep[neg[:num_neg]] = True
        return keep
