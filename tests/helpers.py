"""Helpers shared by tests (importable as ``tests.helpers``)."""
import logging
import os
import uuid
from pathlib import Path
from typing import List, Optional, Sequence

import torch
from mmengine.config import Config
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.logging import MMLogger
from mmengine.model import is_model_wrapper
from mmdet.registry import HOOKS

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / 'projects/LongTailBenchmark/configs'
DEMO_EFL = DEMO / 'atss-iou_r18_fpn_efl-demo_synthetic-lvis.py'


class CapturedLog:
    """What an MMLogger writes while this context is open. MMEngine's
    loggers do not propagate to the root logger, so pytest's ``caplog``
    misses them.

    Args:
        name: the MMLogger instance (default: the current one).
    """

    def __init__(self, name: Optional[str] = None) -> None:
        self.logger = (MMLogger.get_instance(name) if name else
                       MMLogger.get_current_instance())
        self.records: List[logging.LogRecord] = []
        self._handler = logging.Handler()
        self._handler.emit = self.records.append

    def __enter__(self) -> 'CapturedLog':
        self.logger.addHandler(self._handler)
        return self

    def __exit__(self, *exc) -> None:
        self.logger.removeHandler(self._handler)

    @property
    def messages(self) -> List[str]:
        """One message per record."""
        return [r.getMessage() for r in self.records]

    @property
    def text(self) -> str:
        """``'LEVEL message'`` lines."""
        return '\n'.join(f'{r.levelname} {r.getMessage()}'
                         for r in self.records)


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


@HOOKS.register_module()
class DumpStateHook(Hook):
    """Saves each rank's final model state to ``work_dir/state_rank{r}.pth``
    (tests compare ranks)."""

    def after_run(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        torch.save({k: v.detach().cpu() for k, v in
                    model.state_dict().items()},
                   os.path.join(runner.work_dir,
                                f'state_rank{get_rank()}.pth'))


def mmengine_checkpoint_loaders() -> dict:
    """MMEngine's checkpoint scheme table with MMEngine's own loaders in
    place of any safe loader of ``mmdet_efl.engine.checkpoint``: the table
    of a process that never asked for ours (the test process may have, as
    ``tools/train.py`` does)."""
    from mmengine.runner import CheckpointLoader
    from mmengine.runner import checkpoint as mmengine_checkpoint

    from mmdet_efl.engine import checkpoint as safe_checkpoint
    schemes = CheckpointLoader._schemes
    return type(schemes)(
        (prefix, getattr(mmengine_checkpoint, loader.__name__.replace(
            'load_from_safe_', 'load_from_'))
         if loader.__module__ == safe_checkpoint.__name__ else loader)
        for prefix, loader in schemes.items())
