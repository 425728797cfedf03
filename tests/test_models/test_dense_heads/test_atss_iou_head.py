"""ATSSIoUHead: IoU targets, test-time scoring, and stock ATSS when off."""
import pytest
import torch
from mmdet.registry import MODELS
from mmdet.structures.bbox import bbox_overlaps
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData
from torch import nn

import mmdet_efl  # noqa: F401
from mmdet_efl.testing import LossRecorder, iou_head_training_cfg

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
        **iou_head_training_cfg(),
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




def test_iou_target_is_overlap_of_decoded_positives():
    torch.manual_seed(0)
    head = MODELS.build(_cfg())
    recorder = LossRecorder()
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


def _one_level_head(nms_pre, **kwargs):
    """One FPN level of stride 8, one square anchor of side 64 per
    location."""
    cfg = _cfg(anchor_generator=dict(type='AnchorGenerator', ratios=[1.0],
                                     scales=[8], strides=[8]),
               **kwargs)
    cfg['test_cfg'] = ConfigDict(nms_pre=nms_pre, min_bbox_size=0,
                                 score_thr=0.0,
                                 nms=dict(type='nms', iou_threshold=0.5),
                                 max_per_img=10)
    return MODELS.build(cfg)


def _ranking_case():
    """Two locations, C classes. Location 0: class 0 at p = 0.9 with
    predicted IoU 0.1 (score 0.09); location 1: class 0 at p = 0.6 with
    predicted IoU 0.9 (score 0.54). Every other class is at p = 0.01."""
    cls = torch.full((1, C, 1, 2), 0.01).logit()
    cls[0, 0, 0] = torch.tensor([0.9, 0.6]).logit()
    iou = torch.tensor([0.1, 0.9]).logit().reshape(1, 1, 1, 2)
    deltas = torch.zeros(1, 4, 1, 2)
    return [cls], [deltas], [iou]


def test_candidates_are_ranked_by_class_score_times_iou():
    """With one candidate per level, cls x IoU keeps location 1 (0.6 x 0.9
    = 0.54), which ranking by the class score alone (0.9 at location 0)
    drops; the kept score is the product."""
    head = _one_level_head(nms_pre=1)
    head.eval()
    cls, deltas, iou = _ranking_case()
    with torch.no_grad():
        result = head.predict_by_feat(cls, deltas, iou,
                                      batch_img_metas=[META],
                                      rescale=False)[0]
    assert result.scores.tolist() == pytest.approx([0.54])
    assert result.labels.tolist() == [0]
    # the anchor of location 1: centre (8, 0), side 64, clipped to the image
    torch.testing.assert_close(result.bboxes,
                               torch.tensor([[0., 0., 40., 32.]]))


def test_score_threshold_applies_to_the_product():
    head = _one_level_head(nms_pre=1000)
    head.test_cfg.score_thr = 0.1  # above 0.09, below 0.54
    # the two anchors overlap by IoU 0.8: keep both through NMS
    head.test_cfg.nms = dict(type='nms', iou_threshold=0.9)
    head.eval()
    with torch.no_grad():
        result = head.predict_by_feat(*_ranking_case(),
                                      batch_img_metas=[META],
                                      rescale=False)[0]
    assert result.scores.tolist() == pytest.approx([0.54])


def test_without_iou_branch_candidates_are_ranked_as_stock_atss():
    torch.manual_seed(0)
    ours = _one_level_head(nms_pre=1, use_iou_branch=False)
    torch.manual_seed(0)
    stock = _one_level_head(nms_pre=1, type='ATSSHead')
    for head in (ours, stock):
        head.eval()
    with torch.no_grad():
        a = ours.predict_by_feat(*_ranking_case(), batch_img_metas=[META],
                                 rescale=False)[0]
        b = stock.predict_by_feat(*_ranking_case(), batch_img_metas=[META],
                                  rescale=False)[0]
    # stock keeps location 0 by its class score, then multiplies
    assert a.scores.tolist() == pytest.approx([0.09])
    torch.testing.assert_close(a.scores, b.scores)
    torch.testing.assert_close(a.bboxes, b.bboxes)


def test_box_loss_weighted_by_iou_target_by_hand():
    """Three positives whose zero deltas decode to their anchors:
    anchor (0, 0, 10, 10) against GT (5, 5, 15, 15): IoU 25/175 = 1/7,
    enclosing 225, GIoU 1/7 - 50/225 = -5/63, loss 68/63;
    (20, 0, 30, 10) against itself: IoU 1, loss 0;
    (40, 0, 50, 10) against (40, 0, 50, 20): IoU 1/2, GIoU 1/2, loss 1/2.
    The level returns sum(IoU x loss) = 68/441 + 1/4 and sum(IoU) =
    1/7 + 1 + 1/2; the plain mean over positives would be (68/63 + 1/2)/3.
    """
    head = MODELS.build(_cfg())
    anchors = torch.tensor([[[0., 0., 10., 10.], [20., 0., 30., 10.],
                             [40., 0., 50., 10.]]])
    targets = torch.tensor([[[5., 5., 15., 15.], [20., 0., 30., 10.],
                             [40., 0., 50., 20.]]])
    labels = torch.tensor([[0, 1, 2]])
    _, loss_bbox, _, iou_sum = head.loss_by_feat_single(
        anchors, torch.zeros(1, C, 1, 3), torch.zeros(1, 4, 1, 3),
        torch.zeros(1, 1, 1, 3), labels, torch.ones(1, 3), targets,
        avg_factor=3.0)
    assert loss_bbox.item() == pytest.approx(68 / 441 + 1 / 4, rel=1e-5)
    assert iou_sum.item() == pytest.approx(1 / 7 + 1 + 1 / 2, rel=1e-5)


def _giou_loss(boxes, gts):
    lt = torch.max(boxes[:, :2], gts[:, :2])
    rb = torch.min(boxes[:, 2:], gts[:, 2:])
    inter = (rb - lt).clamp(min=0).prod(1)
    area = (boxes[:, 2:] - boxes[:, :2]).prod(1)
    area_gt = (gts[:, 2:] - gts[:, :2]).prod(1)
    union = area + area_gt - inter
    iou = inter / union
    hull = (torch.max(boxes[:, 2:], gts[:, 2:]) -
            torch.min(boxes[:, :2], gts[:, :2])).prod(1)
    return iou, 1 - (iou - (hull - union) / hull)


def test_box_loss_is_divided_by_the_sum_of_iou_targets():
    """Over all levels: sum_i IoU_i (1 - GIoU_i) / sum_i IoU_i, with IoU and
    GIoU written out here from their definitions."""
    torch.manual_seed(5)
    head = MODELS.build(_cfg())
    feats, gt = _inputs(5)
    outs = head(feats)
    losses = head.loss_by_feat(*outs, [gt], [META])
    levels = _positives(head, outs, gt)
    ious, giou_losses = zip(*(
        _giou_loss(head.bbox_coder.decode(lv['anchors'], lv['deltas']),
                   lv['gt']) for lv in levels))
    iou, giou_loss = torch.cat(ious).detach(), torch.cat(giou_losses)
    assert len(iou) > 1 and iou.std() > 0.01
    expected = (iou * giou_loss).sum() / iou.sum()
    torch.testing.assert_close(sum(losses['loss_bbox']), expected)
    assert not torch.allclose(expected, giou_loss.mean())
