"""Statistics are per true category whatever the head's channel layout: an
ATSS head with two anchors per location (scales {6, 8}, EFL sec. 4.1)."""
import pytest
import torch
from mmdet.registry import MODELS
from mmdet.structures.bbox import HorizontalBoxes  # noqa: F401
from mmengine.structures import InstanceData

import mmdet_efl  # noqa: F401

C = 5


def _head():
    return MODELS.build(
        dict(
            type='ATSSHead',
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


def test_gradient_planted_on_one_category_is_read_back():
    torch.manual_seed(0)
    head = _head()
    assert head.num_base_priors == 2
    category = 3
    feats = [torch.randn(1, 8, 16, 16), torch.randn(1, 8, 8, 8)]
    cls_scores, bbox_preds, centernesses = head(feats)
    for s in cls_scores:
        s.retain_grad()
    gt = InstanceData(
        bboxes=torch.tensor([[30.0, 40.0, 90.0, 100.0]]),
        labels=torch.tensor([category]))
    meta = dict(img_shape=(128, 128), pad_shape=(128, 128),
                batch_input_shape=(128, 128))
    losses = head.loss_by_feat(cls_scores, bbox_preds, centernesses, [gt],
                               [meta])
    sum(losses['loss_cls']).backward()
    efl = head.loss_cls
    state = efl.state_dict()
    pos, neg = state['pos_grad'], state['neg_grad']
    # only the planted category has positive gradient ...
    assert pos[category] > 0
    assert torch.count_nonzero(pos) == 1
    # ... and per category the statistics add up to the gradient that
    # reached that category's channels of the classifier (anchor-major
    # layout: channel a * C + c).
    per_class = torch.zeros(C, dtype=torch.float64)
    for s in cls_scores:
        g = s.grad.abs().sum(dim=(0, 2, 3)).view(head.num_base_priors, C)
        per_class += g.sum(0).double()
    torch.testing.assert_close(pos + neg, per_class, rtol=1e-5, atol=1e-9)


def test_softmax_head_gets_a_hint():
    """Without use_sigmoid=True in loss_cls mmdet builds C + 1 outputs."""
    cfg = dict(type='EqualizedFocalLoss', num_classes=C)
    with pytest.raises(ValueError, match='add use_sigmoid=True'):
        MODELS.build(cfg)(torch.zeros(4, C + 1), torch.zeros(4).long())
