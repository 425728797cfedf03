"""ATSSIoUHead: IoU targets, test-time scoring, and stock ATSS when off."""
import pytest
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
    cfg = dict(
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
                            max_per_img=50))
    cfg.update(kwargs)
    return cfg


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


def _positives(head, outs, gt):
    """Per level: positive indices, their anchors, deltas and GT boxes,
    from mmdet's own target assignment."""
    cls_scores, bbox_preds, _ = outs
    anchors, valid = head.get_anchors([s.shape[-2:] for s in cls_scores],
                                      [META], device='cpu')
    anchors_l, labels_l, _, bbox_t_l = head.get_targets(
        anchors, valid, [gt], [META])[:4]
    levels = []
    for lvl, pred in enumerate(bbox_preds):
        labels = labels_l[lvl].reshape(-1)
        pos = ((labels >= 0) & (labels < C)).nonzero(as_tuple=True)[0]
        levels.append(dict(
            labels=labels, pos=pos,
            anchors=anchors_l[lvl].reshape(-1, 4)[pos],
            deltas=pred.permute(0, 2, 3, 1).reshape(-1, 4)[pos],
            gt=bbox_t_l[lvl].reshape(-1, 4)[pos]))
    return levels


class _TargetRecorder(nn.Module):
    """Stands in for loss_cls and remembers its targets."""

    def __init__(self, loss):
        super().__init__()
        self.loss, self.targets = loss, []

    def forward(self, pred, target, weight=None, avg_factor=None):
        self.targets.append(target)
        return self.loss(pred, target, weight, avg_factor=avg_factor)


def test_quality_losses_get_the_iou_of_decoded_positives_as_target():
    """QFL/EQFL (EFL Table 8) train against (label, IoU): the IoU of each
    positive's decoded box with its GT, 0 for the rest."""
    qfl = dict(type='QualityFocalLoss', use_sigmoid=True, beta=2.0,
               loss_weight=1.0)
    torch.manual_seed(0)
    head = MODELS.build(_cfg(loss_cls=qfl))
    assert head.quality_cls_target
    head.loss_cls = _TargetRecorder(head.loss_cls)
    feats, gt = _inputs()
    outs = head(feats)
    head.loss_by_feat(*outs, [gt], [META])
    levels = _positives(head, outs, gt)
    assert sum(len(lv['pos']) for lv in levels) > 0
    for lv, (labels, score) in zip(levels, head.loss_cls.targets):
        assert torch.equal(labels, lv['labels'])
        decoded = head.bbox_coder.decode(lv['anchors'], lv['deltas'])
        expected = torch.zeros_like(score)
        expected[lv['pos']] = bbox_overlaps(decoded, lv['gt'],
                                            is_aligned=True).detach()
        torch.testing.assert_close(score, expected)

    # EQFL with s = 0 is QFL with the same targets
    torch.manual_seed(0)
    eqfl = MODELS.build(_cfg(loss_cls=dict(
        type='EqualizedQualityFocalLoss', num_classes=C, use_sigmoid=True,
        gamma=2.0, scale_factor=0.0, loss_weight=1.0)))
    torch.manual_seed(0)
    ref = MODELS.build(_cfg(loss_cls=qfl))
    a = eqfl.loss_by_feat(*eqfl(feats), [gt], [META])['loss_cls']
    b = ref.loss_by_feat(*ref(feats), [gt], [META])['loss_cls']
    torch.testing.assert_close(sum(a), sum(b))


def test_quality_target_settings_are_checked():
    with pytest.raises(ValueError, match=r'takes \(labels, IoU\) targets'):
        MODELS.build(_cfg(quality_cls_target=False, loss_cls=dict(
            type='QualityFocalLoss', use_sigmoid=True)))
    with pytest.raises(ValueError, match='needs use_iou_branch=True'):
        MODELS.build(_cfg(quality_cls_target=True, use_iou_branch=False))


def test_l1_loss_on_encoded_deltas_of_positives():
    torch.manual_seed(4)
    head = MODELS.build(_cfg(loss_l1=dict(type='L1Loss', loss_weight=1.0)))
    feats, gt = _inputs(4)
    outs = head(feats)
    losses = head.loss_by_feat(*outs, [gt], [META])
    levels = _positives(head, outs, gt)
    num_pos = sum(len(lv['pos']) for lv in levels)
    expected = sum(
        (lv['deltas'] - head.bbox_coder.encode(lv['anchors'], lv['gt']))
        .abs().sum() for lv in levels) / num_pos
    torch.testing.assert_close(sum(losses['loss_l1']), expected)
    sum(losses['loss_l1']).backward()
    assert head.atss_reg.weight.grad.abs().sum() > 0
    # off by default
    assert 'loss_l1' not in MODELS.build(_cfg()).loss_by_feat(
        *outs, [gt], [META])
