"""Tiny trained checkpoints of the demo detector for the checkpoint
figures: a few CPU iterations with FL and with EFL on ``tiny_lvis``."""
from pathlib import Path
from typing import Dict

import pytest

from mmdet_efl.engine.launch import train
from tests.helpers import DEMO, write_tiny_config

ITERS = 4


@pytest.fixture(scope='session')
def tiny_runs(tiny_lvis, tmp_path_factory) -> Dict[str, Dict[str, Path]]:
    """``{'FL'|'EFL': {'config', 'checkpoint', 'work_dir'}}``."""
    root = tmp_path_factory.mktemp('tiny_runs')
    runs = {}
    for name in ('FL', 'EFL'):
        base = DEMO / f'atss-iou_r18_fpn_{name.lower()}-demo_synthetic-lvis.py'
        cfg = write_tiny_config(root / f'{name}.py', tiny_lvis, base=base,
                                max_iters=ITERS, checkpoint_interval=ITERS)
        work = root / name
        train([str(cfg), '--work-dir', str(work)])
        runs[name] = dict(config=cfg, checkpoint=work / f'iter_{ITERS}.pth',
                          work_dir=work)
    return runs
