"""The entry points: tools/train.py, tools/test.py, tools/dist_train.sh on
two CPU processes, and ``mim train mmdet`` on our configs."""
import os
import subprocess
import sys
from pathlib import Path

import torch

from tests.helpers import REPO, write_tiny_config

PYTHON = sys.executable


def _run(cmd, cwd, timeout=600, env=None):
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True,
                          timeout=timeout,
                          env={**os.environ, 'OMP_NUM_THREADS': '1',
                               **(env or {})})
    assert proc.returncode == 0, (
        f'{cmd} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n'
        f'{proc.stderr[-4000:]}')
    return proc.stdout + proc.stderr


def test_train_then_test_scripts(tiny_lvis, tmp_path):
    cfg = write_tiny_config(tmp_path / 'tiny.py', tiny_lvis, max_iters=2)
    work = tmp_path / 'work'
    out = _run([PYTHON, str(REPO / 'tools/train.py'), str(cfg),
                '--work-dir', str(work)], cwd=tmp_path)
    assert 'GradientCollectorHook: synchronising' in out
    ckpt = work / 'iter_2.pth'
    assert ckpt.exists()
    out = _run([PYTHON, str(REPO / 'tools/test.py'), str(cfg), str(ckpt),
                '--work-dir', str(work), '--out', str(tmp_path / 'p.pkl')],
               cwd=tmp_path)
    assert 'lvis/bbox_AP' in out or 'bbox_AP' in out
    assert (tmp_path / 'p.pkl').exists()


def test_dist_train_two_cpu_processes_agree(tiny_lvis, tmp_path):
    cfg = write_tiny_config(
        tmp_path / 'tiny_dist.py', tiny_lvis, max_iters=3,
        checkpoint_interval=3, extra_imports=['tests.helpers'],
        extra_hooks=[dict(type='DumpStateHook')])
    work = tmp_path / 'work'
    _run(['bash', str(REPO / 'tools/dist_train.sh'), str(cfg), '2',
          '--work-dir', str(work)], cwd=tmp_path,
         env={'PYTHON': PYTHON, 'PORT': '29611'})
    rank0 = torch.load(work / 'state_rank0.pth')
    rank1 = torch.load(work / 'state_rank1.pth')
    # Parameters are kept equal by DDP, the EFL state by the hook. (BN
    # running statistics are per rank: broadcast_buffers is off by default.)
    checked = 0
    for key, value in rank0.items():
        if 'running_' in key or 'num_batches_tracked' in key:
            continue
        assert torch.equal(value, rank1[key]), key
        checked += 1
    assert checked > 50
    assert rank0['bbox_head.loss_cls.neg_grad'].sum() > 0


def test_mim_train_with_mmdet_tools(tiny_lvis, tmp_path):
    """``mim train mmdet`` runs mmdet's own tools/train.py; our modules come
    in through the config's custom_imports."""
    cfg = write_tiny_config(tmp_path / 'tiny_mim.py', tiny_lvis, max_iters=2)
    work = tmp_path / 'work'
    mim = Path(PYTHON).with_name('mim')
    out = _run([str(mim), 'train', 'mmdet', str(cfg), '--gpus', '0',
                '--work-dir', str(work)], cwd=tmp_path)
    assert (work / 'iter_2.pth').exists(), out[-3000:]
    assert 'EqualizedFocalLoss' in out
