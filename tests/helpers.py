"""Helpers of this repository's tests that need its files (the demo
configs); importable as ``tests.helpers``. Helpers that need none are in
:mod:`mmdet_efl.testing`."""
import uuid
from pathlib import Path
from typing import Sequence

from mmengine.config import Config

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / 'projects/LongTailBenchmark/configs'
DEMO_EFL = DEMO / 'atss-iou_r18_fpn_efl-demo_synthetic-lvis.py'


def write_tiny_config(path: Path, data_root: Path, base: Path = DEMO_EFL,
                      max_iters: int = 4, checkpoint_interval: int = 2,
                      num_classes: int = 6, extra_imports: Sequence[str] = (),
                      extra_hooks: Sequence[dict] = ()) -> Path:
    """A child config of ``base`` that trains a few iterations on
    ``data_root``. It keeps the real ``_base_`` chain (down to
    ``mmdet::atss/...``) so every entry point is tested on it."""
    root = f'{data_root}/'
    imports = ['mmdet_efl', *extra_imports]
    base_cfg = Config.fromfile(str(base))
    base_loss = base_cfg.model.bbox_head.loss_cls
    hooks = [h.to_dict() for h in base_cfg.get('custom_hooks', [])]
    hooks += list(extra_hooks)
    loss_cls = (f', loss_cls=dict(num_classes={num_classes})'
                if 'num_classes' in base_loss else '')
    path.write_text(f'''
_base_ = {str(base)!r}
custom_imports = dict(imports={imports!r}, allow_failed_imports=False)
_root = {root!r}
model = dict(bbox_head=dict(num_classes={num_classes}{loss_cls}))
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(dataset=dict(data_root=_root)))
val_dataloader = dict(num_workers=0, persistent_workers=False,
                      dataset=dict(data_root=_root))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=_root + 'annotations/val.json')
test_evaluator = val_evaluator
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop',
                 max_iters={max_iters}, val_interval=10**6)
param_scheduler = [dict(type='ConstantLR', factor=1.0)]
default_hooks = dict(
    checkpoint=dict(interval={checkpoint_interval}, by_epoch=False),
    logger=dict(interval=1))
log_processor = dict(window_size=1, by_epoch=False)
custom_hooks = {hooks!r}
randomness = dict(seed=0)
# mmengine keeps one visualizer per name per process: a fresh name gives
# every run its own backends and save dir
visualizer = dict(name={'visualizer_' + uuid.uuid4().hex!r})
''')
    return path
