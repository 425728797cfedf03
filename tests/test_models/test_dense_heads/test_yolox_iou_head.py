"""YOLOXIoUHead: YOLOX's head layers with the improved baseline's
supervisor and predictor (EFL appendix A, Table 8, YOLOX*)."""
import math

import pytest
import torch
from mmcv.cnn import ConvModule
from mmdet.registry import MODELS
from mmdet.structures.bbox import bbox_overlaps
from mmengine.config import ConfigDict
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData
from torch import nn

import mmdet_efl  # noqa: F401
from mmdet_efl.testing import LossRecorder, iou_head_training_cfg

C, WIDTH, ANCHORS = 7, 16, 2
META = dict(img_shape=(128, 128), pad_shape=(128, 128),
            batch_input_shape=(128, 128), scale_factor=(1.0, 1.0))


def _ours(**kwargs):
    init_default_scope('mmdet')
    cfg = dict(
        type='YOLOXIoUHead', num_classes=C, in_channels=WIDTH,
        feat_channels=WIDTH,
        anchor_generator=dict(type='AnchorGenerator', ratios=[1.0],
                              scales=[3, 4], strides=[8, 16, 32]),
        bbox_coder=dict(type='DeltaXYWHBBoxCoder',
                        target_means=[.0] * 4, target_stds=[1.0] * 4),
        **iou_head_training_cfg(),
        test_cfg=ConfigDict(nms_pre=1000, min_bbox_size=0, score_thr=0.0,
                            nms=dict(type='nms', iou_threshold=0.65),
                            max_per_img=300))
    cfg.update(kwargs)
    return MODELS.build(cfg)


def _yolox():
    init_default_scope('mmdet')
    return MODELS.build(dict(type='YOLOXHead', num_classes=C,
                             in_channels=WIDTH, feat_channels=WIDTH))


def _layers(module):
    return [(type(m).__name__, tuple(p.shape for p in m.parameters(False)))
            for m in module.modules()]


def test_layers_are_yoloxs_with_outputs_for_two_anchors():
    ours, yolox = _ours(), _yolox()
    assert ours.num_base_priors == ANCHORS
    for level in range(3):
        for branch in ('multi_level_cls_convs', 'multi_level_reg_convs'):
            mine = getattr(ours, branch)[level]
            theirs = getattr(yolox, branch)[level]
            assert _layers(mine) == _layers(theirs)
            convs = [m for m in mine if isinstance(m, ConvModule)]
            assert len(convs) == 2
            for conv in convs:
                assert isinstance(conv.bn, nn.BatchNorm2d)
                assert (conv.bn.momentum, conv.bn.eps) == (0.03, 0.001)
                assert type(conv.activate).__name__ == 'Swish'
                assert conv.conv.bias is None
        # YOLOX's 1x1 outputs with A times the channels: class, box, and
        # the objectness that is our IoU branch
        for name, theirs, per_anchor in (
                ('multi_level_conv_cls', 'multi_level_conv_cls', C),
                ('multi_level_conv_reg', 'multi_level_conv_reg', 4),
                ('multi_level_conv_iou', 'multi_level_conv_obj', 1)):
            conv = getattr(ours, name)[level]
            ref = getattr(yolox, theirs)[level]
            assert conv.weight.shape == (ANCHORS * per_anchor, WIDTH, 1, 1)
            assert ref.weight.shape == (per_anchor, WIDTH, 1, 1)
    # parameters: YOLOX's, plus (A - 1) more 1x1 outputs of C + 4 + 1
    # channels with bias on each of the 3 levels
    count = sum(p.numel() for p in ours.parameters())
    extra = 3 * (ANCHORS - 1) * (C + 4 + 1) * (WIDTH + 1)
    assert count == sum(p.numel() for p in _yolox().parameters()) + extra


def test_class_and_iou_biases_start_at_the_prior():
    torch.manual_seed(0)
    head = _ours()
    head.init_weights()
    prior = -math.log((1 - 0.001) / 0.001)
    for level in range(3):
        for conv in (head.multi_level_conv_cls[level],
                     head.multi_level_conv_iou[level]):
            torch.testing.assert_close(conv.bias,
                                       torch.full_like(conv.bias, prior))
        assert head.multi_level_conv_reg[level].bias.abs().max() < 1


def test_outputs_per_level():
    head = _ours()
    feats = [torch.randn(2, WIDTH, 16 // 2**i, 16 // 2**i) for i in range(3)]
    cls, box, iou = head(feats)
    for i, (c, b, q) in enumerate(zip(cls, box, iou)):
        size = 16 // 2**i
        assert c.shape == (2, ANCHORS * C, size, size)
        assert b.shape == (2, ANCHORS * 4, size, size)
        assert q.shape == (2, ANCHORS, size, size)




def test_iou_output_is_trained_against_the_iou_target():
    """The objectness conv's logits of each positive go to the IoU loss with
    the IoU of that positive's decoded box and its ground truth."""
    torch.manual_seed(1)
    head = _ours()
    head.loss_centerness = LossRecorder()
    feats = [torch.randn(1, WIDTH, 16 // 2**i, 16 // 2**i) for i in range(3)]
    gt = InstanceData(bboxes=torch.tensor([[10., 12., 60., 70.],
                                           [50., 40., 120., 110.]]),
                      labels=torch.tensor([2, 5]))
    outs = head(feats)
    head.loss_by_feat(*outs, [gt], [META])
    cls_scores, bbox_preds, ious = outs
    anchors, valid = head.get_anchors([s.shape[-2:] for s in cls_scores],
                                      [META], device='cpu')
    anchors_l, labels_l, _, bbox_t_l = head.get_targets(
        anchors, valid, [gt], [META])[:4]
    # one call per level that has positives
    levels = [lvl for lvl in range(3)
              if ((labels_l[lvl] >= 0) & (labels_l[lvl] < C)).any()]
    assert len(levels) >= 2
    assert len(head.loss_centerness.calls) == len(levels)
    for lvl, (pred, target) in zip(levels, head.loss_centerness.calls):
        labels = labels_l[lvl].reshape(-1)
        pos = ((labels >= 0) & (labels < C)).nonzero(as_tuple=True)[0]
        deltas = bbox_preds[lvl].permute(0, 2, 3, 1).reshape(-1, 4)[pos]
        decoded = head.bbox_coder.decode(
            anchors_l[lvl].reshape(-1, 4)[pos], deltas)
        expected = bbox_overlaps(decoded, bbox_t_l[lvl].reshape(-1, 4)[pos],
                                 is_aligned=True).detach()
        torch.testing.assert_close(target, expected)
        # YOLOX's objectness conv on the regression branch
        objectness = head.multi_level_conv_iou[lvl](
            head.multi_level_reg_convs[lvl](feats[lvl]))
        logits = objectness.permute(0, 2, 3, 1).reshape(-1)[pos]
        torch.testing.assert_close(pred, logits.detach())


def test_trains_and_predicts_with_iou_ranked_candidates():
    torch.manual_seed(2)
    head = _ours()
    feats = [torch.randn(1, WIDTH, 16 // 2**i, 16 // 2**i) for i in range(3)]
    gt = InstanceData(bboxes=torch.tensor([[10., 12., 60., 70.]]),
                      labels=torch.tensor([2]))
    losses = head.loss_by_feat(*head(feats), [gt], [META])
    assert set(losses) == {'loss_cls', 'loss_bbox', 'loss_iou'}
    sum(sum(v) for v in losses.values()).backward()
    assert sum(conv.weight.grad.abs().sum()
               for conv in head.multi_level_conv_iou) > 0
    head.eval()
    with torch.no_grad():
        cls, box, iou = head(feats)
        result = head.predict_by_feat(cls, box, iou, batch_img_metas=[META],
                                      rescale=False)[0]
    products = torch.cat([
        (c[0].permute(1, 2, 0).reshape(-1, C).sigmoid() *
         q[0].permute(1, 2, 0).reshape(-1, 1).sigmoid()).reshape(-1)
        for c, q in zip(cls, iou)])
    assert len(result.scores) > 0
    assert result.scores.max() == pytest.approx(products.max().item())
