"""The entry points: tools/train.py, tools/test.py and ``mim train mmdet``
on our configs. The distributed scripts (dist_train.sh, dist_test.sh,
slurm_train.sh, slurm_test.sh) are tested in tests/test_tools/
test_multinode.py."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

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


@pytest.mark.parametrize('script,args,env,message', [
    ('dist_train.sh', [], {}, 'usage: tools/dist_train.sh CONFIG '
     'NPROC_PER_NODE'),
    ('dist_test.sh', ['a.py', 'b.pth'], {}, 'usage: tools/dist_test.sh'),
    ('dist_train.sh', ['CFG', '1'], dict(NNODES='2'), 'NNODES=2 needs '
     'NODE_RANK'),
    ('dist_train.sh', ['CFG', '1'], dict(NNODES='2', NODE_RANK='1'),
     'NNODES=2 needs MASTER_ADDR'),
    ('dist_train.sh', ['CFG', '1'], dict(NNODES='2', NODE_RANK='2',
                                         MASTER_ADDR='10.0.0.1'),
     'NODE_RANK=2 must be below NNODES=2'),
    ('dist_test.sh', ['CFG', 'x.pth', '1'], dict(PORT='80a'),
     'PORT=80a is not a non-negative integer'),
    ('dist_train.sh', ['CFG', '0'], {}, 'NPROC_PER_NODE=0 must be a '
     'positive integer'),
    ('dist_train.sh', ['missing.py', '1'], {},
     'config file missing.py not found'),
])
def test_launch_scripts_refuse_bad_settings_before_torchrun(
        script, args, env, message):
    """Settings that would make torchrun wait forever for a node (two
    nodes both at rank 0) or fail deep inside it stop at once, exit 2."""
    cfg = str(REPO / 'projects/LongTailBenchmark/configs' /
              'atss-iou_r18_fpn_efl-demo_synthetic-lvis.py')
    args = [cfg if a == 'CFG' else a for a in args]
    environ = {k: v for k, v in os.environ.items()
               if k not in ('NNODES', 'NODE_RANK', 'MASTER_ADDR', 'PORT')}
    environ['PYTHON'] = 'false'  # torchrun must not start
    proc = subprocess.run(['bash', str(REPO / 'tools' / script), *args],
                          env={**environ, **env}, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr


@pytest.mark.parametrize('entry,argv', [('train', []),
                                        ('test', ['iter_2.pth'])])
def test_entry_points_prepare_the_process_before_the_config(
        entry, argv, tmp_path):
    """tools/train.py and tools/test.py (also under ``mim train/test
    mmdet_efl``) install the safe checkpoint loaders and the lvis-api's
    numpy view, and let configs name ours as ``mmdet_efl::`` bases, before
    they read the config; the test starts from the process as importing
    the package leaves it (the repository's conftest.py)."""
    import lvis.eval
    import numpy as np
    from mmengine.config.utils import MODULE2PACKAGE
    from mmengine.runner import CheckpointLoader

    from mmdet_efl.engine import launch

    def loaders():
        return [CheckpointLoader._get_checkpoint_loader(prefix + 'x.pth')
                .__name__ for prefix in ('', 'https://', 'torchvision://',
                                         'open-mmlab://', 'mmcls://')]

    assert not any(n.startswith('load_from_safe_') for n in loaders())
    assert 'mmdet_efl' not in MODULE2PACKAGE and lvis.eval.np is np
    missing = tmp_path / 'missing.py'
    with pytest.raises(FileNotFoundError, match='missing.py'):
        getattr(launch, entry)([str(missing), *argv])
    assert all(n.startswith('load_from_safe_') for n in loaders())
    assert MODULE2PACKAGE['mmdet_efl'] == 'mmdet_efl'
    assert lvis.eval.np.float is float
