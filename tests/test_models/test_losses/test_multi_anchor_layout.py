"""Statistics are per true category whatever the head's channel layout: the
improved baseline's ATSSIoUHead (and stock ATSSHead) with two anchors per
location (scales {6, 8}, EFL sec. 4.1), and YOLOX*'s YOLOXIoUHead, whose
per-level output convs carry two anchors per location (the authors'
num_point: 2)."""
import pytest
import torch
from mmdet.registry import MODELS
from mmdet.structures.bbox import HorizontalBoxes  # noqa: F401
from mmengine.structures import InstanceData

import mmdet_efl  # noqa: F401

C = 5


def _head(head_type):
    return MODELS.build(
        dict(
            type=head_type,
            num_classes=C,
            in_channels=8,
            feat_channels=8,
            stacked_convs=1,
            norm_cfg=None,
            anchor_generator=dict(
                type='AnchorGenerator', ratios=[1.0], scales=[6, 8],
                strides=[8, 16]),
            bbox_coder=dict(
                type='DeltaXYWHBBoxCoder',
                target_means=[.0, .0, .0, .0],
                target_stds=[0.1, 0.1, 0.2, 0.2]),
            loss_cls=dict(
                type='EqualizedFocalLoss', num_classes=C, use_sigmoid=True),
            loss_bbox=dict(type='GIoULoss', loss_weight=2.0),
            loss_centerness=dict(
                type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
            train_cfg=dict(
                assigner=dict(type='ATSSAssigner', topk=18),
                allowed_border=-1, pos_weight=-1, debug=False)))


def _cls_convs(head):
    """The final classification conv(s): one shared across levels, or one
    per level."""
    if hasattr(head, 'multi_level_conv_cls'):
        return list(head.multi_level_conv_cls)
    return [head.atss_cls] * len(head.prior_generator.strides)


@pytest.mark.parametrize('head_type',
                         ['ATSSIoUHead', 'ATSSHead', 'YOLOXIoUHead'])
def test_statistics_equal_gradient_of_each_category_channels(head_type):
    torch.manual_seed(0)
    head = _head(head_type)
    assert head.num_base_priors == 2
    efl = head.loss_cls
    # a state in which categories are focused differently
    efl.pos_grad.copy_(torch.tensor([0.2, 0.9, 0.5, 0.05, 1.0],
                                    dtype=torch.float64))
    efl.neg_grad.fill_(1.0)
    before = (efl.pos_grad.clone(), efl.neg_grad.clone())

    # The gradient that reaches the classification conv's output, taken by
    # hooks on the conv, independently of the loss.
    grads = []

    def capture(module, args, out):
        out.register_hook(grads.append)

    for conv in set(_cls_convs(head)):
        conv.register_forward_hook(capture)
    feats = [torch.randn(1, 8, 16, 16), torch.randn(1, 8, 8, 8)]
    outs = head(feats)
    gt = InstanceData(
        bboxes=torch.tensor([[30.0, 40.0, 90.0, 100.0],
                             [4.0, 6.0, 40.0, 30.0],
                             [70.0, 10.0, 120.0, 50.0]]),
        labels=torch.tensor([3, 0, 3]))
    meta = dict(img_shape=(128, 128), pad_shape=(128, 128),
                batch_input_shape=(128, 128))
    losses = head.loss_by_feat(*outs, [gt], [meta])
    sum(losses['loss_cls']).backward()
    assert len(grads) == 2  # one per level

    state = efl.state_dict()  # folds this iteration's sums
    pos = state['pos_grad'] - before[0]
    neg = state['neg_grad'] - before[1]
    # only the categories of the ground truth have positives ...
    assert pos[0] > 0 and pos[3] > 0
    assert torch.count_nonzero(pos) == 2
    # ... and per category pos + neg is the |gradient| summed over that
    # category's output channels of the conv: mmdet's anchor-major layout,
    # channel a * C + c for anchor a.
    per_class = torch.zeros(C, dtype=torch.float64)
    for g in grads:
        per_anchor = g.abs().sum(dim=(0, 2, 3)).view(head.num_base_priors, C)
        per_class += per_anchor.sum(0).double()
    torch.testing.assert_close(pos + neg, per_class, rtol=1e-5, atol=1e-9)
    # the categories' sums differ, so a permuted layout cannot pass
    assert per_class.unique().numel() == C


def test_softmax_head_gets_a_hint():
    """Without use_sigmoid=True in loss_cls mmdet builds C + 1 outputs."""
    cfg = dict(type='EqualizedFocalLoss', num_classes=C)
    with pytest.raises(ValueError, match='add use_sigmoid=True'):
        MODELS.build(cfg)(torch.zeros(4, C + 1), torch.zeros(4).long())
