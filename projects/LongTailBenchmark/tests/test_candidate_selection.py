"""Old and new test-time candidate selection on a finished run: each equals
a test of the head built for it from the config, and the run's files are
found or their absence named."""
import os.path as osp
import uuid

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from longtail_benchmark.candidate_selection import (
    compare_candidate_selection, run_files)
from tests.helpers import write_tiny_config

KEYS = ('AP', 'APr', 'APc', 'APf')
# the reference Runners below load the run's checkpoint (load_from)
pytestmark = pytest.mark.usefixtures('safe_checkpoints')


def _fresh(cfg: Config, work_dir: str) -> Config:
    cfg.work_dir = work_dir
    cfg.visualizer.name = 'visualizer_' + uuid.uuid4().hex
    return cfg


@pytest.fixture(scope='module')
def finished_run(tiny_lvis, tmp_path_factory):
    tmp = tmp_path_factory.mktemp('selection')
    path = write_tiny_config(tmp / 'tiny.py', tiny_lvis, max_iters=6,
                             checkpoint_interval=6)
    cfg = _fresh(Config.fromfile(str(path)), str(tmp / 'run'))
    # few candidates per level, so that the ranking decides what is kept
    cfg.model.test_cfg.nms_pre = 3
    cfg.model.test_cfg.score_thr = 0.0
    Runner.from_cfg(cfg).train()
    # six iterations leave the IoU branch near constant, so that both
    # rankings keep the same candidates: make it vary across anchors
    ckpt = tmp / 'run' / 'iter_6.pth'
    state = torch.load(ckpt, map_location='cpu', weights_only=False)
    weight = state['state_dict']['bbox_head.atss_centerness.weight']
    weight.copy_(torch.randn(weight.shape,
                             generator=torch.Generator().manual_seed(0)))
    torch.save(state, ckpt)
    return tmp / 'run'


def test_run_files_are_the_saved_config_and_last_checkpoint(finished_run):
    files = run_files(str(finished_run))
    assert files['config'] == str(finished_run / 'tiny.py')
    assert files['checkpoint'] == str(finished_run / 'iter_6.pth')


def test_missing_run_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match='no last_checkpoint'):
        run_files(str(tmp_path))
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'epoch_1.pth'))
    for name in ('a.py', 'b.py'):
        (tmp_path / name).write_text('')
    with pytest.raises(FileNotFoundError, match=r"one saved config.*'a.py'"):
        run_files(str(tmp_path))
    with pytest.raises(FileNotFoundError, match='no checkpoint'):
        compare_candidate_selection(str(tmp_path / 'a.py'),
                                    str(tmp_path / 'epoch_1.pth'))


def test_each_selection_equals_the_head_built_for_it(finished_run, tmp_path):
    files = run_files(str(finished_run))
    got = compare_candidate_selection(files['config'], files['checkpoint'],
                                      KEYS)
    assert set(got) == {'cls', 'cls x IoU'}
    # written from the heads' docs, not read from SELECTIONS
    for selection, use_iou_branch in (('cls', False), ('cls x IoU', True)):
        cfg = _fresh(Config.fromfile(files['config']),
                     str(tmp_path / str(use_iou_branch)))
        # use_iou_branch=False is mmdet's ATSSHead predictor: candidates
        # ranked by class score, the IoU branch multiplied afterwards
        cfg.model.bbox_head.use_iou_branch = use_iou_branch
        cfg.load_from = files['checkpoint']
        metrics = Runner.from_cfg(cfg).test()
        assert got[selection] == {k: float(metrics[f'lvis/bbox_{k}'])
                                  for k in KEYS}
    # with 3 candidates per level the ranking shows in the numbers
    assert got['cls'] != got['cls x IoU']
    # a second run in the same process (the tool tests several)
    assert compare_candidate_selection(files['config'], files['checkpoint'],
                                       KEYS) == got
