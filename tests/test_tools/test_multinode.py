"""Scaling out as mmdet users do, on one machine.

* Two nodes: two ``tools/dist_train.sh`` invocations with ``NNODES=2``,
  ``NODE_RANK=0/1``, one process each, over the loopback address; then
  ``tools/dist_test.sh`` with two processes on one node.
* Slurm: ``tools/slurm_train.sh`` and ``tools/slurm_test.sh`` on a real
  two-node Slurm cluster (``slurmctld`` and two ``slurmd`` with their state,
  spool and logs in the test's temp dir), when Debian's Slurm packages are
  installed (``apt-get install slurmctld slurmd slurm-client``) and the test
  runs as root; skipped otherwise. ``tests/test_engine/test_dist.py`` checks
  the Slurm launcher with the variables ``srun`` sets either way.

Every rank must end with the same EFL statistics, equal to those of one
process trained on the same images (the hook averages the ranks' sums, as DDP
averages their gradients).
"""
import getpass
import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from mmdet_efl.testing import free_port, run_together
from tests.helpers import REPO, write_tiny_config

PER_RANK_BATCH = 2
RANKS = 2
ITERS = 3
STATS = ('bbox_head.loss_cls.pos_grad', 'bbox_head.loss_cls.neg_grad')


def _configs(tmp: Path, data_root: Path) -> Dict[int, Path]:
    """The tiny demo config for ``RANKS`` processes of ``PER_RANK_BATCH``
    images and for one process of all of them, by batch size."""
    base = write_tiny_config(
        tmp / 'tiny_base.py', data_root, max_iters=ITERS,
        checkpoint_interval=ITERS, extra_imports=['mmdet_efl.testing'],
        extra_hooks=[dict(type='DumpStateHook')])
    paths = {}
    for batch in (PER_RANK_BATCH, RANKS * PER_RANK_BATCH):
        paths[batch] = tmp / f'tiny_batch{batch}.py'
        paths[batch].write_text(f'''
_base_ = {str(base)!r}
# Only per-image computations, so that {RANKS} ranks of {PER_RANK_BATCH} images
# compute what one process of all of them does: the from-scratch backbone's
# BN uses its running statistics (batch statistics differ per rank), no
# random resize or flip (each process draws its own), one fixed shuffle.
model = dict(backbone=dict(norm_eval=True))
train_dataloader = dict(
    batch_size={batch},
    sampler=dict(type='DefaultSampler', shuffle=True, seed=0),
    dataset=dict(dataset=dict(pipeline=[
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations', with_bbox=True),
        dict(type='Resize', scale=(213, 128), keep_ratio=True),
        dict(type='PackDetInputs')])))
val_cfg = None
val_dataloader = None
val_evaluator = None
''')
    return paths


@pytest.fixture(scope='module')
def single_process(tiny_lvis, tmp_path_factory):
    """The EFL statistics of one process trained on what the ranks see
    together."""
    tmp = tmp_path_factory.mktemp('single_process')
    cfg = Config.fromfile(str(_configs(tmp, tiny_lvis)[RANKS *
                                                       PER_RANK_BATCH]))
    cfg.work_dir = str(tmp / 'work')
    runner = Runner.from_cfg(cfg)
    runner.train()
    loss = runner.model.bbox_head.loss_cls
    return {key: getattr(loss, key.split('.')[-1]).clone() for key in STATS}


def _environ(**extra) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith('SLURM_') and k not in ('RANK', 'WORLD_SIZE',
                                                       'LOCAL_RANK')}
    env.update(OMP_NUM_THREADS='1', PYTHON=sys.executable, **extra)
    return env


def _check_ranks_agree_with_single_process(work: Path, single: dict) -> None:
    states = [torch.load(work / f'state_rank{rank}.pth')
              for rank in range(RANKS)]
    pos_key, neg_key = STATS
    for key in STATS:
        assert states[0][key].sum() > 0, key
        for other in states[1:]:
            assert torch.equal(states[0][key], other[key]), key
    # The same images in one process, up to the summation order: each
    # rank's loss is normalised by the positives per rank (mmdet's
    # avg_factor, averaged over ranks), so a rank's gradient is RANKS times
    # one process's on its images; DDP applies the mean over ranks and the
    # hook averages the statistics likewise (EFL's reference code sums them,
    # which would give RANKS times these; G_j = pos/neg is the same).
    for key in STATS:  # shown with pytest -s
        rel = ((states[0][key] - single[key]).abs() /
               single[key].abs().clamp_min(1e-30)).max()
        print(f'{key}: ranks identical, sum {float(states[0][key].sum()):.6g}'
              f' vs one process {float(single[key].sum()):.6g}, largest '
              f'relative difference {float(rel):.2e}')
    torch.testing.assert_close(states[0][pos_key], single[pos_key],
                               rtol=1e-5, atol=0)
    # The negative sums add far more, far smaller terms in another order
    # on two ranks than in one process: float32 rounding of the sums.
    torch.testing.assert_close(states[0][neg_key], single[neg_key],
                               rtol=1e-4, atol=0)
    # DDP kept the parameters equal as well
    for key, value in states[0].items():
        if 'running_' not in key and 'num_batches' not in key:
            assert torch.equal(value, states[1][key]), key


def _check_predictions(pkl: Path, data_root: Path) -> None:
    preds = pickle.load(open(pkl, 'rb'))
    images = json.load(open(data_root / 'annotations/val.json'))['images']
    # every val image exactly once, gathered in dataset order
    assert [p['img_id'] for p in preds] == [img['id'] for img in images]
    assert all(len(p['pred_instances']['scores']) > 0 for p in preds)


def test_two_nodes_dist_train_then_dist_test(tiny_lvis, tmp_path,
                                             single_process):
    cfg = _configs(tmp_path, tiny_lvis)[PER_RANK_BATCH]
    work = tmp_path / 'work'
    port = str(free_port())
    envs = [_environ(NNODES=str(RANKS), NODE_RANK=str(node),
                     MASTER_ADDR='127.0.0.1', PORT=port)
            for node in range(RANKS)]
    cmd = ['bash', str(REPO / 'tools/dist_train.sh'), str(cfg), '1',
           '--work-dir', str(work)]
    outs = run_together([cmd] * RANKS, envs, tmp_path)
    assert f'over {RANKS} process(es)' in outs[0]
    _check_ranks_agree_with_single_process(work, single_process)

    # testing on one node of two processes (the default NNODES=1)
    pkl = tmp_path / 'preds.pkl'
    cmd = ['bash', str(REPO / 'tools/dist_test.sh'), str(cfg),
           str(work / f'iter_{ITERS}.pth'), str(RANKS), '--work-dir',
           str(tmp_path / 'test'), '--out', str(pkl)]
    out, = run_together([cmd], [_environ(PORT=str(free_port()))], tmp_path)
    assert 'Distributed launcher: pytorch' in out
    assert 'lvis/bbox_AP' in out
    _check_predictions(pkl, tiny_lvis)


SLURM_CONF = '''\
ClusterName=mmdet-efl-test
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmUser={user}
SlurmdUser={user}
AuthType=auth/none
CredType=cred/none
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool/%n
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.%n.pid
SlurmctldLogFile={root}/slurmctld.log
SlurmdLogFile={root}/slurmd.%n.log
ProctrackType=proctrack/pgid
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/builtin
ReturnToService=2
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
NodeName=node1 NodeHostname=localhost NodeAddr=127.0.0.1 Port={port1} CPUs=1
NodeName=node2 NodeHostname=localhost NodeAddr=127.0.0.1 Port={port2} CPUs=1
PartitionName=efl Nodes=node[1-2] Default=YES MaxTime=INFINITE State=UP
'''


@pytest.fixture(scope='module')
def slurm_cluster(tmp_path_factory):
    """A two-node Slurm cluster on this machine: yields its environment
    (``SLURM_CONF``)."""
    daemons = ('slurmctld', 'slurmd', 'srun', 'sinfo', 'scontrol')
    if not all(shutil.which(d) for d in daemons):
        pytest.skip('Slurm is not installed (apt-get install slurmctld '
                    'slurmd slurm-client)')
    if os.geteuid() != 0:
        pytest.skip('slurmd runs the test job as root')
    root = tmp_path_factory.mktemp('slurm')
    for sub in ('state', 'spool/node1', 'spool/node2'):
        (root / sub).mkdir(parents=True)
    conf = root / 'slurm.conf'
    conf.write_text(SLURM_CONF.format(
        root=root, user=getpass.getuser(), ctld_port=free_port(),
        port1=free_port(), port2=free_port()))
    env = _environ(SLURM_CONF=str(conf))
    daemons = [subprocess.Popen(['slurmctld', '-D', '-f', str(conf)],
                                env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)]
    daemons += [subprocess.Popen(['slurmd', '-D', '-N', node, '-f',
                                  str(conf)], env=env,
                                 stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
                for node in ('node1', 'node2')]
    try:
        deadline = time.monotonic() + 60
        states = ''
        while time.monotonic() < deadline:
            states = subprocess.run(['sinfo', '-h', '-N', '-o', '%N %T'],
                                    env=env, capture_output=True,
                                    text=True).stdout
            if states.split().count('idle') == 2:
                break
            time.sleep(0.5)
        else:
            logs = ''.join(p.read_text()[-2000:]
                           for p in sorted(root.glob('*.log')))
            pytest.fail(f'Slurm nodes not idle after 60 s: {states!r}\n'
                        f'{logs}')
        yield env
    finally:
        for proc in daemons:
            proc.send_signal(signal.SIGTERM)
        for proc in daemons:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_slurm_train_and_test_on_two_nodes(slurm_cluster, tiny_lvis,
                                           tmp_path, single_process):
    cfg = _configs(tmp_path, tiny_lvis)[PER_RANK_BATCH]
    work = tmp_path / 'work'
    # GRES= : the test cluster has no GPUs (gloo); the node names do not
    # resolve, so the first node's address is given as users do
    env = dict(slurm_cluster, GPUS=str(RANKS), GPUS_PER_NODE='1',
               CPUS_PER_TASK='1', GRES='', PORT=str(free_port()),
               MASTER_ADDR='127.0.0.1', SRUN_ARGS='--immediate=60')
    cmd = ['bash', str(REPO / 'tools/slurm_train.sh'), 'efl', 'efl-train',
           str(cfg), str(work)]
    out, = run_together([cmd], [env], tmp_path)
    assert f'over {RANKS} process(es)' in out
    assert 'srun -p efl --job-name=efl-train --ntasks=2' in out
    _check_ranks_agree_with_single_process(work, single_process)

    pkl = tmp_path / 'preds.pkl'
    env['PORT'] = str(free_port())
    cmd = ['bash', str(REPO / 'tools/slurm_test.sh'), 'efl', 'efl-test',
           str(cfg), str(work / f'iter_{ITERS}.pth'), '--work-dir',
           str(tmp_path / 'test'), '--out', str(pkl)]
    out, = run_together([cmd], [env], tmp_path)
    assert 'Distributed launcher: slurm' in out
    assert 'lvis/bbox_AP' in out
    _check_predictions(pkl, tiny_lvis)


if __name__ == '__main__':
    sys.exit(pytest.main([__file__]))
