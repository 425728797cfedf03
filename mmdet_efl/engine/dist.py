"""Multi-process training on CPU-only PyTorch builds.

MMEngine 0.10.7's PyTorch launcher calls ``torch.cuda.set_device`` (fails
without CUDA), and its default DDP wrapper passes ``device_ids`` (DDP
rejects them for CPU modules). The Runner skips its own ``init_dist`` when a
process group already exists and accepts a ``model_wrapper_cfg``, so on a
machine without CUDA we create the gloo process group ourselves and wrap the
model without device ids. With CUDA present nothing changes.
"""
import os

import torch
import torch.distributed as torch_dist
from mmengine.config import Config


def setup_cpu_distributed(cfg: Config) -> bool:
    """Prepares ``cfg`` for a ``launcher='pytorch'`` run without CUDA.

    Initialises a gloo process group from the ``torchrun`` environment
    (``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``, ``MASTER_PORT``) and sets
    ``model_wrapper_cfg`` to ``MMDistributedDataParallel`` with
    ``device_ids=None``.

    Returns:
        True if the config was prepared for CPU, False if nothing was needed
        (no launcher, or CUDA available).
    """
    launcher = cfg.get('launcher', 'none')
    if launcher == 'none' or torch.cuda.is_available():
        return False
    if launcher != 'pytorch':
        raise ValueError(f"CPU multi-process training supports the 'pytorch' "
                         f'launcher (torchrun), got {launcher!r}')
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
