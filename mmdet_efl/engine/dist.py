"""Multi-process and multi-node training on CPU-only PyTorch builds.

MMEngine 0.10.7's PyTorch and Slurm launchers call ``torch.cuda.set_device``
(fails without CUDA), and its default DDP wrapper passes ``device_ids`` (DDP
rejects them for CPU modules). The Runner skips its own ``init_dist`` when a
process group already exists and accepts a ``model_wrapper_cfg``, so on a
machine without CUDA we create the gloo process group ourselves and wrap the
model without device ids. With CUDA present nothing changes.

Both launchers work across nodes: ``torchrun`` (``tools/dist_train.sh`` with
``NNODES``/``NODE_RANK``/``MASTER_ADDR``/``PORT``) sets ``RANK`` and
``WORLD_SIZE`` over all nodes, and under Slurm every task's rank, the number
of tasks and the first node of the allocation come from the variables
``srun`` sets, as in MMEngine's own Slurm launcher.
"""
import os
import shutil
import subprocess
from typing import Dict, Optional

import torch
import torch.distributed as torch_dist
from mmengine.config import Config

#: the torch.distributed default, used by MMEngine's Slurm launcher too
DEFAULT_PORT = 29500


def slurm_environment(port: Optional[int] = None) -> Dict[str, str]:
    """The ``torch.distributed`` environment of a task started by ``srun``.

    ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK`` come from ``SLURM_PROCID``,
    ``SLURM_NTASKS`` and ``SLURM_LOCALID``. ``MASTER_ADDR`` is kept if set,
    otherwise it is the first host of ``SLURM_NODELIST``
    (``scontrol show hostnames``). ``MASTER_PORT`` is ``port`` if given,
    else kept if set, else 29500 (MMEngine's rules).

    Raises:
        RuntimeError: a Slurm variable is missing (not started by ``srun``),
            or ``MASTER_ADDR`` is unset and ``scontrol`` cannot expand the
            node list.
    """
    missing = [key for key in ('SLURM_PROCID', 'SLURM_NTASKS',
                               'SLURM_NODELIST', 'SLURM_LOCALID')
               if key not in os.environ]
    if missing:
        raise RuntimeError(
            f'launcher=slurm needs ${", $".join(missing)}; start the run '
            'with srun (tools/slurm_train.sh, tools/slurm_test.sh)')
    env = {
        'RANK': os.environ['SLURM_PROCID'],
        'WORLD_SIZE': os.environ['SLURM_NTASKS'],
        'LOCAL_RANK': os.environ['SLURM_LOCALID'],
        'MASTER_PORT': str(port if port is not None else
                           os.environ.get('MASTER_PORT', DEFAULT_PORT)),
    }
    addr = os.environ.get('MASTER_ADDR')
    if not addr:
        nodes = os.environ['SLURM_NODELIST']
        scontrol = shutil.which('scontrol')
        proc = (subprocess.run([scontrol, 'show', 'hostnames', nodes],
                               capture_output=True, text=True)
                if scontrol else None)
        if proc is None or proc.returncode != 0 or not proc.stdout.split():
            why = proc.stderr.strip() if proc else 'scontrol not found'
            raise RuntimeError(
                f'launcher=slurm: cannot find the first host of '
                f'SLURM_NODELIST={nodes!r} ({why}); set MASTER_ADDR')
        addr = proc.stdout.split()[0]
    env['MASTER_ADDR'] = addr
    return env


def setup_cpu_distributed(cfg: Config) -> bool:
    """Prepares ``cfg`` for a ``launcher='pytorch'`` or ``'slurm'`` run
    without CUDA.

    Initialises a gloo process group from the launcher's environment
    (``torchrun``: ``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``,
    ``MASTER_PORT``; Slurm: see :func:`slurm_environment`, whose values are
    exported so the run sees the same variables as under MMEngine's own
    launcher) and sets ``model_wrapper_cfg`` to ``MMDistributedDataParallel``
    with ``device_ids=None``.

    Returns:
        True if the config was prepared for CPU, False if nothing was needed
        (no launcher, or CUDA available).

    Raises:
        ValueError: another launcher (``mpi``) on a machine without CUDA.
        RuntimeError: the launcher's environment variables are missing.
    """
    launcher = cfg.get('launcher', 'none')
    if launcher == 'none' or torch.cuda.is_available():
        return False
    if launcher == 'slurm':
        dist_cfg = cfg.get('env_cfg', {}).get('dist_cfg', {}) or {}
        os.environ.update(slurm_environment(dist_cfg.get('port')))
    elif launcher != 'pytorch':
        raise ValueError(f"CPU multi-process training supports the 'pytorch' "
                         f"(torchrun) and 'slurm' launchers, got {launcher!r}")
    for key in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT'):
        if key not in os.environ:
            raise RuntimeError(f'launcher=pytorch needs ${key}; start the '
                               'run with torchrun or tools/dist_train.sh')
    if not torch_dist.is_initialized():
        torch_dist.init_process_group(
            backend='gloo',
            rank=int(os.environ['RANK']),
            world_size=int(os.environ['WORLD_SIZE']))
    wrapper = dict(cfg.get('model_wrapper_cfg') or {})
    wrapper.setdefault('type', 'MMDistributedDataParallel')
    wrapper.setdefault('broadcast_buffers', False)
    wrapper.setdefault('find_unused_parameters',
                       cfg.get('find_unused_parameters', False))
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper
    return True
