"""DenseOHEM keeps batch_size anchors, respects the NMS threshold and the
1:3 ratio; OHEMRetinaHead trains on exactly those anchors."""
import pytest
import torch
from mmdet.registry import MODELS, TASK_UTILS
from mmdet.structures.bbox import bbox_overlaps
from mmengine.structures import InstanceData

import mmdet_efl  # noqa: F401


def _anchors(n=600, seed=0):
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(n, 2, generator=g) * 200
    wh = torch.rand(n, 2, generator=g) * 40 + 8
    boxes = torch.cat([xy, xy + wh], 1)
    losses = torch.rand(n, generator=g)
    is_pos = torch.rand(n, generator=g) < 0.1
    valid = torch.rand(n, generator=g) > 0.05
    return losses, boxes, is_pos, valid


@pytest.mark.parametrize('batch,iou', [(128, 0.7), (256, 0.5), (64, 0.7)])
def test_keeps_batch_size_highest_loss_nms_survivors(batch, iou):
    losses, boxes, is_pos, valid = _anchors()
    ohem = TASK_UTILS.build(dict(type='DenseOHEM', batch_size=batch,
                                 nms_iou=iou))
    keep = ohem.select(losses, boxes, is_pos, valid)
    assert int(keep.sum()) == batch
    assert not (keep & ~valid).any()
    kept = keep.nonzero(as_tuple=True)[0]
    ious = bbox_overlaps(boxes[kept], boxes[kept])
    ious.fill_diagonal_(0)
    assert float(ious.max()) <= iou + 1e-6
    # every dropped valid anchor is either suppressed by a kept one with a
    # higher loss, or ranks below all kept ones
    dropped = (valid & ~keep).nonzero(as_tuple=True)[0]
    lowest_kept = float(losses[kept].min())
    for a in dropped[:200]:
        overl = bbox_overlaps(boxes[a][None], boxes[kept])[0]
        suppressed = ((overl > iou) & (losses[kept] >= losses[a])).any()
        assert suppressed or float(losses[a]) <= lowest_kept


def test_one_to_three_ratio():
    losses, boxes, is_pos, valid = _anchors(n=2000, seed=1)
    ohem = TASK_UTILS.build(dict(type='DenseOHEM', batch_size=128,
                                 nms_iou=0.7, pos_fraction=0.25))
    keep = ohem.select(losses, boxes, is_pos, valid)
    num_pos = int((keep & is_pos).sum())
    num_neg = int((keep & ~is_pos).sum())
    assert num_pos == 32 and num_neg == 96


def test_bad_arguments():
    with pytest.raises(ValueError, match='nms_iou'):
        TASK_UTILS.build(dict(type='DenseOHEM', nms_iou=0))


def test_retina_head_trains_only_on_kept_anchors():
    torch.manual_seed(0)
    head = MODELS.build(dict(
        type='OHEMRetinaHead', num_classes=3, in_channels=8,
        feat_channels=8, stacked_convs=1,
        ohem=dict(type='DenseOHEM', batch_size=32, nms_iou=0.7),
        anchor_generator=dict(type='AnchorGenerator', octave_base_scale=4,
                              scales_per_octave=3, ratios=[0.5, 1.0, 2.0],
                              strides=[8, 16]),
        bbox_coder=dict(type='DeltaXYWHBBoxCoder',
                        target_means=[.0, .0, .0, .0],
                        target_stds=[1.0, 1.0, 1.0, 1.0]),
        loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=True,
                      loss_weight=1.0),
        loss_bbox=dict(type='L1Loss', loss_weight=1.0),
        train_cfg=dict(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5,
                                     neg_iou_thr=0.4, min_pos_iou=0,
                                     ignore_iof_thr=-1),
                       sampler=dict(type='PseudoSampler'), allowed_border=-1,
                       pos_weight=-1, debug=False)))
    feats = [torch.randn(2, 8, 12, 12), torch.randn(2, 8, 6, 6)]
    cls_scores, bbox_preds = head(feats)
    for s in cls_scores:
        s.retain_grad()
    gts = [InstanceData(bboxes=torch.tensor([[10., 10., 50., 60.]]),
                        labels=torch.tensor([1]))] * 2
    meta = dict(img_shape=(96, 96), pad_shape=(96, 96),
                batch_input_shape=(96, 96))
    losses = head.loss_by_feat(cls_scores, bbox_preds, gts, [meta, meta])
    sum(losses['loss_cls']).backward()
    touched = sum(int((s.grad.abs().permute(0, 2, 3, 1).reshape(2, -1, 3)
                       .sum(-1) > 0).sum())
                  for s in cls_scores)
    assert touched == 2 * 32
