"""EFL in a two-stage RoI head (issue 14, item 6): mmdet's BBoxHead always
classifies C + 1 softmax columns, so the error says so and what to do,
instead of advising a use_sigmoid=True that is already set."""
import pytest
import torch
from mmdet.registry import MODELS
from mmengine.config import Config

import mmdet_efl  # noqa: F401

C = 5


def test_faster_rcnn_bbox_head_with_efl_explains_the_real_limit(tmp_path):
    cfg_file = tmp_path / 'frcnn_efl.py'
    cfg_file.write_text(f'''
_base_ = 'mmdet::_base_/models/faster-rcnn_r50_fpn.py'
model = dict(roi_head=dict(bbox_head=dict(
    num_classes={C},
    loss_cls=dict(_delete_=True, type='EqualizedFocalLoss',
                  num_classes={C}, use_sigmoid=True))))
''')
    head_cfg = Config.fromfile(str(cfg_file)).model.roi_head.bbox_head
    assert head_cfg.type == 'Shared2FCBBoxHead'
    head = MODELS.build(head_cfg)
    n = 6
    cls_score, bbox_pred = head(torch.randn(n, 256, 7, 7))
    # use_sigmoid=True is set and still BBoxHead adds the background column
    assert cls_score.shape == (n, C + 1)
    rois = torch.cat([torch.zeros(n, 1), torch.rand(n, 4) * 50], dim=1)
    labels = torch.tensor([0, 2, C, C, 4, C])
    with pytest.raises(ValueError) as err:
        head.loss(cls_score, bbox_pred, rois, labels, torch.ones(n),
                  torch.zeros(n, 4), torch.zeros(n, 4))
    message = str(err.value)
    assert message.startswith('EqualizedFocalLoss: pred has 6 class columns '
                              'but the loss was built with num_classes=5')
    assert "Two-stage RoI heads (mmdet's BBoxHead in roi_head.bbox_head) " \
        'always classify C + 1 softmax columns' in message
    assert 'SeesawLoss' in message
