"""Tiny trained checkpoints of the demo detector for the checkpoint
figures: a few CPU iterations with mmdet's FocalLoss (no gradient
statistics) and with EFL on ``tiny_lvis``."""
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
    efl = DEMO / 'atss-iou_r18_fpn_efl-demo_synthetic-lvis.py'
    # the demo's own FL config is EFL with s = 0, which keeps statistics;
    # the figures must also handle a plain mmdet FocalLoss run
    mmdet_fl = root / 'mmdet_fl.py'
    mmdet_fl.write_text(
        f'_base_ = {str(efl)!r}\n'
        "model = dict(bbox_head=dict(loss_cls=dict(_delete_=True, "
        "type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25, "
        "loss_weight=1.0)))\ncustom_hooks = []\n")
    for name, base in (('FL', mmdet_fl), ('EFL', efl)):
        cfg = write_tiny_config(root / f'{name}.py', tiny_lvis, base=base,
                                max_iters=ITERS, checkpoint_interval=ITERS)
        work = root / name
        train([str(cfg), '--work-dir', str(work)])
        runs[name] = dict(config=cfg, checkpoint=work / f'iter_{ITERS}.pth',
                          work_dir=work)
    return runs
