"""The entry points: tools/train.py, tools/test.py and ``mim train mmdet``
on our configs. The distributed scripts (dist_train.sh, dist_test.sh,
slurm_train.sh, slurm_test.sh) are tested in tests/test_tools/
test_multinode.py."""
import os
import subprocess
import sys
from pathlib import Path

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
