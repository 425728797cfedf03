"""The training and testing entry points behind ``tools/train.py`` and
``tools/test.py``.

They follow mmdet's own ``tools/train.py``/``tools/test.py`` flags, import
this package (so its modules are registered even for configs without
``custom_imports``), make the process-wide changes of
:func:`prepare_process` and prepare CPU-only multi-process runs.
"""
import argparse
import os
import os.path as osp
from typing import List, Optional

import torch
from mmengine.config import Config, DictAction
from mmengine.registry import RUNNERS
from mmengine.runner import Runner
from mmdet.evaluation import DumpDetResults

from ..evaluation.lvis_numpy2 import patch_lvis_for_numpy2
from ..registry import register_config_scope
from .checkpoint import register_checkpoint_loader
from .dist import setup_cpu_distributed


def prepare_process() -> None:
    """What the package's entry points change in their own process, before
    they read a config; importing the package changes none of it.

    * ``_base_ = 'mmdet_efl::<path>'`` resolves
      (:func:`~mmdet_efl.registry.register_config_scope`);
    * MMEngine loads checkpoints (``load_from``, ``resume``, ``init_cfg``
      URLs) with the safe loaders
      (:func:`~mmdet_efl.engine.checkpoint.register_checkpoint_loader`);
    * the lvis-api runs on numpy >= 1.24, for configs that evaluate with
      mmdet's ``LVISMetric``
      (:func:`~mmdet_efl.evaluation.patch_lvis_for_numpy2`; nothing
      without lvis installed).
    """
    register_config_scope()
    register_checkpoint_loader()
    patch_lvis_for_numpy2()


def _common_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--work-dir', help='where logs and checkpoints go')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, key=value (as in mmdet)')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def _load_config(args: argparse.Namespace) -> Config:
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    prepare_process()
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    setup_cpu_distributed(cfg)
    return cfg


def build_runner(cfg: Config) -> Runner:
    """``Runner.from_cfg``, or the config's ``runner_type``."""
    if 'runner_type' not in cfg:
        return Runner.from_cfg(cfg)
    return RUNNERS.build(cfg)


def train(argv: Optional[List[str]] = None) -> Runner:
    """Trains a detector from a config; returns the finished runner."""
    parser = argparse.ArgumentParser(description='Train a detector')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--amp', action='store_true',
                        help='automatic mixed precision (fp16 with a '
                        'dynamic loss scale on CUDA, bf16 on CPU)')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the lr by the actual batch size')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from this checkpoint, or without a path from the '
        'latest checkpoint in the work dir')
    _common_args(parser)
    args = parser.parse_args(argv)
    cfg = _load_config(args)
    if args.amp:
        # mmengine's AmpOptimWrapper asserts CUDA; without it, the same
        # wrapper with bf16 CPU autocast (mmdet_efl.engine.optimizers)
        cfg.optim_wrapper.type = ('AmpOptimWrapper' if
                                  torch.cuda.is_available() else
                                  'CPUAmpOptimWrapper')
        cfg.optim_wrapper.loss_scale = 'dynamic'
    if args.auto_scale_lr:
        if 'base_batch_size' not in cfg.get('auto_scale_lr', {}):
            raise RuntimeError('--auto-scale-lr needs auto_scale_lr.'
                               'base_batch_size in the config')
        cfg.auto_scale_lr.enable = True
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    runner = build_runner(cfg)
    runner.train()
    return runner


def test(argv: Optional[List[str]] = None) -> dict:
    """Evaluates a checkpoint on the config's test set; returns metrics."""
    parser = argparse.ArgumentParser(description='Test a detector')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', help='dump predictions to a pickle file')
    _common_args(parser)
    args = parser.parse_args(argv)
    cfg = _load_config(args)
    cfg.load_from = args.checkpoint
    runner = build_runner(cfg)
    if args.out is not None:
        if not args.out.endswith(('.pkl', '.pickle')):
            raise ValueError('--out must be a .pkl or .pickle file')
        runner.test_evaluator.metrics.append(
            DumpDetResults(out_file_path=args.out))
    return runner.test()
