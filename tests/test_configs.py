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
from mmengine.logging import MessageHub

import mmdet_efl  # noqa: F401

REPO = Path(__file__).resolve().parents[1]
# the plugin's configs and the long-tail project's, which inherit them
CONFIGS = sorted(p for p in [*(REPO / 'configs').rglob('*.py'),
                             *(REPO / 'projects').glob('*/configs/*.py')]
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
    # the runner's iteration, which YOLOX's batch resizing reads
    MessageHub.get_current_instance().update_info('iter', 0)
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


def test_yolox_star_efl_trains_through_its_data_pipeline(tiny_lvis, tmp_path):
    """EFL Table 8's YOLOX* + EFL config as it stands (mosaic, mixup, RFS
    under MultiImageMixDataset, ATSSIoUHead with L1, EMA, mode switch and
    GradientCollectorHook), pointed at a generated LVIS-format dataset for
    two iterations."""
    from mmdet_efl.engine.launch import train
    base = REPO / 'configs/yolox/yolox-star_s_pafpn_efl-s4-300e_lvis-v1.py'
    root = f'{tiny_lvis}/'
    cfg = tmp_path / 'yolox_tiny.py'
    cfg.write_text(f'''
_base_ = {str(base)!r}
model = dict(bbox_head=dict(num_classes=6, loss_cls=dict(num_classes=6)))
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(dataset=dict(dataset=dict(
        data_root={root!r}, ann_file='annotations/train.json'))))
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=2,
                 val_interval=10**6)
param_scheduler = [dict(type='ConstantLR', factor=1.0)]
default_hooks = dict(checkpoint=dict(interval=2, by_epoch=False))
val_dataloader = val_cfg = val_evaluator = None
test_dataloader = test_cfg = test_evaluator = None
visualizer = dict(name='yolox_tiny_visualizer')
''')
    runner = train([str(cfg), '--work-dir', str(tmp_path / 'work')])
    head = runner.model.bbox_head
    assert runner.iter == 2
    loss = head.loss_cls
    assert (loss.pos_grad > 0).any() and (loss.neg_grad > 0).all()
    logged = runner.message_hub.log_scalars
    for key in ('loss_cls', 'loss_bbox', 'loss_iou', 'loss_l1'):
        assert f'train/{key}' in logged, key
    assert (tmp_path / 'work/iter_2.pth').exists()
