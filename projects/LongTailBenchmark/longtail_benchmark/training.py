"""One benchmark run: a demo config pointed at the dataset, trained and
tested in this process with a fixed thread count, and the statistics the
regime checks read from it (the logged per-group G_j, EFL Fig. 2's sample
counts)."""
import json
import logging
import os.path as osp
import time
from contextlib import contextmanager
from typing import Dict, Iterator, List, Optional

import torch
from mmengine.config import Config
from mmengine.runner import Runner

from mmdet_efl.analysis import (SampleCounter, consume, iter_dense_samples,
                                read_scalars, scalar_series)
from mmdet_efl.analysis.regime import fig2_log_ratio
from mmdet_efl.datasets.longtail import GROUP_ORDER, METRIC_KEYS
from mmdet_efl.models.losses import CategoryAdaptiveLoss

GRAD_RATIO_KEY = 'loss_cls/grad_ratio_{}'
#: Intra-op threads of every benchmark run. Fixed, because floating-point
#: sums depend on the thread count and the same seed must give the same
#: numbers on every machine it can; a 2-core machine trains two runs at once in
#: separate processes instead (``workers``).
RUN_THREADS = 1


def demo_config(path: str, data_root: str, work_dir: str, seed: int,
                max_epochs: Optional[int] = None,
                bar_position: Optional[int] = None) -> Config:
    """A demo config pointed at ``data_root``, evaluated once at the end.

    The number of classes follows the dataset's annotation file, and the
    repeat-factor threshold its number of training images (see the
    config). ``max_epochs`` rescales the schedule; ``bar_position`` is the
    terminal line of the run's progress bar.

    Raises:
        ValueError: ``max_epochs`` below 1.
    """
    cfg = Config.fromfile(path)
    root = data_root.rstrip('/') + '/'
    with open(root + 'annotations/train.json') as f:
        train = json.load(f)
    num_classes = len(train['categories'])
    head = cfg.model.bbox_head
    head.num_classes = num_classes
    if 'num_classes' in head.loss_cls:
        head.loss_cls.num_classes = num_classes
    cfg.work_dir = work_dir
    rfs = cfg.train_dataloader.dataset
    rfs.oversample_thr = cfg.rfs_images / len(train['images'])
    rfs.dataset.data_root = root
    for key in ('val_dataloader', 'test_dataloader'):
        cfg[key].dataset.data_root = root
    for key in ('val_evaluator', 'test_evaluator'):
        cfg[key].ann_file = root + 'annotations/val.json'
    if max_epochs is not None:
        if max_epochs < 1:
            raise ValueError(f'max_epochs must be at least 1, got '
                             f'{max_epochs} ({path})')
        scale = max_epochs / cfg.train_cfg.max_epochs
        cfg.train_cfg.max_epochs = max_epochs
        for sched in cfg.param_scheduler:
            if sched.type == 'MultiStepLR':
                sched.end = max_epochs
                sched.milestones = [int(m * scale) for m in sched.milestones]
    # no validation during training (mmengine would still validate after
    # the last epoch without val_begin): the test at the end evaluates
    cfg.train_cfg.val_begin = cfg.train_cfg.max_epochs + 1
    cfg.default_hooks.checkpoint.interval = cfg.train_cfg.max_epochs
    cfg.randomness = dict(seed=seed, deterministic=False)
    name = osp.basename(work_dir.rstrip('/'))
    # one process runs several Runners: keep their singletons apart
    cfg.visualizer.name = f'visualizer_{name}'
    cfg.experiment_name = name
    cfg.custom_hooks = list(cfg.get('custom_hooks', [])) + [
        dict(type='ProgressBarHook', desc=name, position=bar_position)
    ]
    return cfg


def _quiet_console(runner: Runner) -> None:
    """Leave INFO logs to the log file; the console shows progress bars."""
    for handler in runner.logger.handlers:
        if not isinstance(handler, logging.FileHandler):
            handler.setLevel(logging.WARNING)


def grad_ratio_curves(work_dir: str) -> Dict[str, list]:
    """The per-group mean G_j that ``GradientCollectorHook`` logged:
    ``{'steps': [...], '<group>': [...]}`` (empty without the hook)."""
    records = read_scalars(work_dir)
    curves: Dict[str, list] = {}
    for group in GROUP_ORDER:
        steps, values = scalar_series(records, GRAD_RATIO_KEY.format(group))
        if steps:
            curves['steps'] = steps
            curves[group] = values
    return curves


def train_and_test(cfg: Config) -> dict:
    """Trains ``cfg``, then tests it.

    Returns:
        ``metrics`` (AP, APr, APc, APf as fractions), ``seconds`` and
        ``train_seconds``, ``work_dir``; for category-adaptive losses also
        the final per-category values (``category_values``: lists) and the
        logged per-group G_j curves (``grad_ratio_curves``).
    """
    runner = Runner.from_cfg(cfg)
    _quiet_console(runner)
    start = time.perf_counter()
    runner.train()
    train_seconds = time.perf_counter() - start
    metrics = runner.test()
    total_seconds = time.perf_counter() - start
    result = dict(
        metrics={k: float(metrics[f'lvis/bbox_{k}']) for k in METRIC_KEYS},
        train_seconds=train_seconds,
        seconds=total_seconds,
        work_dir=cfg.work_dir)
    loss = runner.model.bbox_head.loss_cls
    if isinstance(loss, CategoryAdaptiveLoss):
        result['category_values'] = {
            k: v.cpu().tolist() for k, v in loss.category_values().items()}
        result['grad_ratio_curves'] = grad_ratio_curves(cfg.work_dir)
    return result


def fig2_statistics(cfg: Config, groups: Dict[str, List[int]],
                    cache_file: Optional[str] = None) -> dict:
    """EFL Fig. 2 on the config's training set under its own assigner.

    Returns ``{'pos': [C], 'neg': [C], 'per_group': {group: mean
    log10(pos / neg)}}``, read from ``cache_file`` if it exists (the
    anchors and assigner do not depend on the loss or the seed)."""
    if cache_file and osp.isfile(cache_file):
        with open(cache_file) as f:
            return json.load(f)
    counter = SampleCounter(cfg.model.bbox_head.num_classes)
    consume(iter_dense_samples(cfg, batch_size=8), [counter])
    _, per_group = fig2_log_ratio(counter.pos, counter.neg, groups)
    out = dict(pos=counter.pos.tolist(), neg=counter.neg.tolist(),
               per_group=per_group)
    if cache_file:
        with open(cache_file, 'w') as f:
            json.dump(out, f)
    return out


@contextmanager
def _run_threads() -> Iterator[None]:
    previous = torch.get_num_threads()
    torch.set_num_threads(RUN_THREADS)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def train_job(config: str, data_root: str, work_dir: str, seed: int,
              max_epochs: Optional[int] = None,
              bar_position: Optional[int] = None) -> dict:
    """:func:`train_and_test` of one benchmark run with ``RUN_THREADS``
    threads (a top-level function, so that worker processes can run it)."""
    with _run_threads():
        return train_and_test(demo_config(config, data_root, work_dir, seed,
                                          max_epochs, bar_position))
