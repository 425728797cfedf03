"""Every config in configs/ loads through its ``_base_`` chain (``mmdet::``
needs pkg_resources at run time), builds its real model with pretrained
weights off, and runs one training step and one predict step on a tiny
generated batch. A new config is covered without editing this test."""
from pathlib import Path

import pytest
import torch
from mmdet.registry import MODELS
from mmdet.testing import demo_mm_inputs
from mmengine.config import Config

import mmdet_efl  # noqa: F401

REPO = Path(__file__).resolve().parents[1]
CONFIGS = sorted(p for p in (REPO / 'configs').rglob('*.py')
                 if '_base_' not in p.parts)


def _no_pretrained(cfg):
    if isinstance(cfg, dict):
        init = cfg.get('init_cfg')
        if isinstance(init, dict) and init.get('type') == 'Pretrained':
            cfg['init_cfg'] = None
        for value in cfg.values():
            _no_pretrained(value)
    elif isinstance(cfg, (list, tuple)):
        for value in cfg:
            _no_pretrained(value)


def test_there_are_configs():
    assert len(CONFIGS) >= 3


@pytest.mark.parametrize('path', CONFIGS,
                         ids=[str(p.relative_to(REPO)) for p in CONFIGS])
def test_config_builds_trains_and_predicts(path):
    cfg = Config.fromfile(str(path))
    assert 'mmdet_efl' in cfg.custom_imports['imports']
    model_cfg = cfg.model
    _no_pretrained(model_cfg)
    torch.manual_seed(0)
    model = MODELS.build(model_cfg)
    model.init_weights()
    two_stage = hasattr(model, 'roi_head')
    head = model.roi_head.bbox_head if two_stage else model.bbox_head
    num_classes = head.num_classes
    packed = demo_mm_inputs(
        batch_size=2, image_shapes=[(3, 96, 128), (3, 128, 96)],
        num_items=[2, 1], num_classes=num_classes, with_mask=False)
    model.train()
    data = model.data_preprocessor(packed, True)
    losses = model(**data, mode='loss')
    total, _ = model.parse_losses(losses)
    assert torch.isfinite(total)
    total.backward()
    model.eval()
    # With random weights and no score threshold, the stock candidate counts
    # (x 1203 classes) make PAA's multi-class NMS take a minute on CPU, so
    # the predict step looks at fewer candidates; all else is as configured.
    if two_stage:
        model.rpn_head.test_cfg.update(nms_pre=20, max_per_img=20)
    else:
        model.bbox_head.test_cfg.nms_pre = 20
    with torch.no_grad():
        results = model(**model.data_preprocessor(packed, False),
                        mode='predict')
    assert len(results) == 2
    assert results[0].pred_instances.bboxes.shape[1] == 4
