"""ATSSIoUHead: IoU targets, test-time scoring, and stock ATSS when off."""
import torch
import torch.nn.functional as F
from mmdet.registry import MODELS
from mmdet.structures.bbox import bbox_overlaps
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData
from torch import nn

import mmdet_efl  # noqa: F401

C = 4
META = dict(img_shape=(96, 96), pad_shape=(96, 96),
            batch_input_shape=(96, 96), scale_factor=(1.0, 1.0))


def _cfg(head_type='ATSSIoUHead', **kwargs):
    return dict(
        type=head_type, num_classes=C, in_channels=8, feat_channels=8,
        stacked_convs=1, norm_cfg=dict(type='GN', num_groups=4),
        anchor_generator=dict(type='AnchorGenerator', ratios=[1.0],
                              scales=[6, 8], strides=[8, 16]),
        bbox_coder=dict(type='DeltaXYWHBBoxCoder',
                        target_means=[.0, .0, .0, .0],
                        target_stds=[0.1, 0.1, 0.2, 0.2]),
        loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0,
                      alpha=0.25, loss_weight=1.0),
        loss_bbox=dict(type='GIoULoss', loss_weight=1.0),
        loss_centerness=dict(type='CrossEntropyLoss', use_sigmoid=True,
                             loss_weight=1.0),
        train_cfg=dict(assigner=dict(type='ATSSAssigner', topk=18),
                       allowed_border=-1, pos_weight=-1, debug=False),
        test_cfg=ConfigDict(nms_pre=1000, min_bbox_size=0, score_thr=0.0,
                            nms=dict(type='nms', iou_threshold=1.0),
                            max_per_img=50), **kwargs)


def _inputs(seed=0):
    g = torch.Generator().manual_seed(seed)
    feats = [torch.randn(1, 8, 12, 12, generator=g),
             torch.randn(1, 8, 6, 6, generator=g)]
    gt = InstanceData(bboxes=torch.tensor([[10., 12., 50., 60.],
                                           [40., 30., 90., 80.]]),
                      labels=torch.tensor([1, 3]))
    return feats, gt


class _Recorder(nn.Module):
    """Stands in for loss_centerness and remembers what it was given."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def forward(self, pred, target, avg_factor=None):
        self.calls.append((pred.detach(), target.detach()))
        return F.binary_cross_entropy_with_logits(
            pred, target, reduction='sum') / avg_factor


def test_iou_target_is_overlap_of_decoded_positives():
    torch.manual_seed(0)
    head = MODELS.build(_cfg())
    recorder = _Recorder()
    head.loss_centerness = recorder
    feats, gt = _inputs()
    outs = head(feats)
    losses = head.loss_by_feat(*outs, [gt], [META])
    assert 'loss_iou' in losses and 'loss_centerness' not in losses

    # independent recomputation with mmdet's own target assignment
    cls_scores, bbox_preds, _ = outs
    anchors, valid = head.get_anchors([s.shape[-2:] for s in cls_scores],
                                      [META], device='cpu')
    targets = head.get_targets(anchors, valid, [gt], [META])
    anchors_l, labels_l, _, bbox_t_l = targets[:4]
    expected = []
    for lvl, pred in enumerate(bbox_preds):
        labels = labels_l[lvl].reshape(-1)
        pos = ((labels >= 0) & (labels < C)).nonzero(as_tuple=True)[0]
        deltas = pred.permute(0, 2, 3, 1).reshape(-1, 4)[pos]
        decoded = head.bbox_coder.decode(anchors_l[lvl].reshape(-1, 4)[pos],
                                         deltas)
        expected.append(bbox_overlaps(decoded, bbox_t_l[lvl].reshape(-1, 4)
                                      [pos], is_aligned=True))
    got = [target for _, target in recorder.calls]
    assert sum(len(e) for e in expected) > 0
    for e, g in zip(expected, got):
        torch.testing.assert_close(g, e.detach())


def test_test_score_is_class_score_times_predicted_iou():
    torch.manual_seed(1)
    head = MODELS.build(_cfg())
    head.eval()
    feats, _ = _inputs(1)
    with torch.no_grad():
        cls_scores, bbox_preds, ious = head(feats)
        result = head.predict_by_feat(cls_scores, bbox_preds, ious,
                                      batch_img_metas=[META], rescale=False)[0]
    products = []
    for cls, iou in zip(cls_scores, ious):
        cls = cls.permute(0, 2, 3, 1).reshape(-1, C).sigmoid()
        iou = iou.permute(0, 2, 3, 1).reshape(-1).sigmoid()
        products.append((cls * iou[:, None]).reshape(-1))
    top = torch.cat(products).sort(descending=True).values[:50]
    torch.testing.assert_close(result.scores.sort(descending=True).values,
                               top)


def test_without_iou_branch_it_is_stock_atss():
    feats, gt = _inputs(2)
    torch.manual_seed(3)
    ours = MODELS.build(_cfg(use_iou_branch=False))
    torch.manual_seed(3)
    stock = MODELS.build(_cfg('ATSSHead'))
    a = ours.loss_by_feat(*ours(feats), [gt], [META])
    b = stock.loss_by_feat(*stock(feats), [gt], [META])
    assert set(a) == set(b) == {'loss_cls', 'loss_bbox', 'loss_centerness'}
    for key in a:
        torch.testing.assert_close(sum(a[key]), sum(b[key]))
