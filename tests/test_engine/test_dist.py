"""CPU-only distributed set-up: the Slurm launcher from the variables srun
sets (two real processes joining one gloo group) and its clear errors."""
import json
import os
import sys

import pytest
from mmengine.config import Config

from mmdet_efl.engine.dist import setup_cpu_distributed, slurm_environment
from mmdet_efl.testing import free_port, run_together
from tests.helpers import REPO

SLURM_KEYS = ('SLURM_PROCID', 'SLURM_NTASKS', 'SLURM_NODELIST',
              'SLURM_LOCALID', 'MASTER_ADDR', 'MASTER_PORT')

# One task of a two-node job, as srun starts it: joins the process group,
# all-reduces its rank and reports what the run sees.
_TASK = '''
import json, os, torch, torch.distributed as dist
from mmengine.config import Config
from mmdet_efl.engine.dist import setup_cpu_distributed
cfg = Config(dict(launcher='slurm'))
assert setup_cpu_distributed(cfg)
t = torch.tensor([dist.get_rank() + 1.0])
dist.all_reduce(t)
print(json.dumps(dict(rank=dist.get_rank(), world=dist.get_world_size(),
                      backend=dist.get_backend(), sum=t.item(),
                      env={k: os.environ[k] for k in (
                          'RANK', 'WORLD_SIZE', 'LOCAL_RANK')},
                      wrapper=cfg.model_wrapper_cfg.to_dict())))
dist.destroy_process_group()
'''


def test_slurm_launcher_two_tasks_on_cpu(tmp_path):
    """``--launcher slurm`` without CUDA: each task's rank and the world
    size come from SLURM_PROCID / SLURM_NTASKS, the group is gloo, DDP gets
    no device ids (MMEngine's own launcher would call
    ``torch.cuda.set_device``)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith('SLURM')}
    env.update(PYTHONPATH=str(REPO), OMP_NUM_THREADS='1',
               SLURM_NTASKS='2', SLURM_NODELIST='node[1-2]',
               SLURM_LOCALID='0', MASTER_ADDR='127.0.0.1',
               MASTER_PORT=str(port))
    env.pop('RANK', None)
    env.pop('WORLD_SIZE', None)
    outs = run_together([[sys.executable, '-c', _TASK]] * 2,
                        [{**env, 'SLURM_PROCID': str(rank)}
                         for rank in range(2)], tmp_path, timeout=300)
    results = [json.loads(out.strip().splitlines()[-1]) for out in outs]
    for rank, res in enumerate(results):
        assert res['rank'] == rank and res['world'] == 2
        assert res['backend'] == 'gloo'
        assert res['sum'] == 3.0  # 1 + 2: both tasks are in one group
        assert res['env'] == dict(RANK=str(rank), WORLD_SIZE='2',
                                  LOCAL_RANK='0')
        assert res['wrapper']['device_ids'] is None
        assert res['wrapper']['type'] == 'MMDistributedDataParallel'


def test_slurm_environment_without_srun_is_a_clear_error(monkeypatch):
    for key in SLURM_KEYS:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv('SLURM_PROCID', '0')
    with pytest.raises(RuntimeError,
                       match=r'\$SLURM_NTASKS, \$SLURM_NODELIST, '
                       r'\$SLURM_LOCALID.*srun'):
        slurm_environment()


def test_slurm_master_address_needs_scontrol_or_master_addr(
        monkeypatch, tmp_path):
    for key in SLURM_KEYS:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv('SLURM_PROCID', '3')
    monkeypatch.setenv('SLURM_NTASKS', '4')
    monkeypatch.setenv('SLURM_NODELIST', 'gpu[07-08]')
    monkeypatch.setenv('SLURM_LOCALID', '1')
    monkeypatch.setenv('PATH', str(tmp_path))  # no scontrol
    with pytest.raises(RuntimeError, match=r"SLURM_NODELIST='gpu\[07-08\]' "
                       r'\(scontrol not found\); set MASTER_ADDR'):
        slurm_environment()
    monkeypatch.setenv('MASTER_ADDR', '10.0.0.7')
    assert slurm_environment() == dict(
        RANK='3', WORLD_SIZE='4', LOCAL_RANK='1', MASTER_ADDR='10.0.0.7',
        MASTER_PORT='29500')
    # MMEngine's precedence: dist_cfg's port, then $MASTER_PORT
    monkeypatch.setenv('MASTER_PORT', '29611')
    assert slurm_environment()['MASTER_PORT'] == '29611'
    assert slurm_environment(port=29700)['MASTER_PORT'] == '29700'


def test_other_launchers_on_cpu_are_refused_by_name():
    with pytest.raises(ValueError, match="'pytorch'.*'slurm'.*'mpi'"):
        setup_cpu_distributed(Config(dict(launcher='mpi')))
