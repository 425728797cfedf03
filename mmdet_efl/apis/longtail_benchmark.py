"""The embedded long-tail benchmark behind ``make demo``.

Generates the synthetic LVIS-format dataset if it is missing, trains the FL
and EFL demo configs (identical but for ``loss_cls``) on it, evaluates both
with the LVIS metric, prints AP / APr / APc / APf side by side with wall
times, and writes plots to the work dir: loss curves, and the EFL model's
per-category focusing factor against the category's training-image count.
"""
import json
import logging
import os
import os.path as osp
import time
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.config import Config
from mmengine.runner import Runner

from mmdet_efl.analysis import (plot_curves, plot_focusing_factors,
                                train_image_counts)
from mmdet_efl.datasets import SyntheticSpec, dataset_summary, generate_dataset
from mmdet_efl.models.losses import CategoryAdaptiveLoss

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
_DEMO = osp.join(REPO, 'configs', 'demo')
DEMO_CONFIGS = {
    'FL': osp.join(_DEMO, 'atss-iou_r18_fpn_fl-demo_synthetic-lvis.py'),
    'EFL': osp.join(_DEMO, 'atss-iou_r18_fpn_efl-demo_synthetic-lvis.py'),
}
METRIC_KEYS = ('AP', 'APr', 'APc', 'APf')


def ensure_dataset(data_root: str, spec: SyntheticSpec) -> None:
    """Generates the dataset unless its annotation files exist."""
    if not osp.isfile(osp.join(data_root, 'annotations', 'train.json')):
        print(f'generating the synthetic long-tail dataset in {data_root} '
              f'(seed {spec.seed})')
        generate_dataset(data_root, spec)
    print('categories per LVIS frequency group:',
          dataset_summary(osp.join(data_root, 'annotations', 'train.json')))


def demo_config(path: str, data_root: str, work_dir: str, seed: int,
                max_epochs: Optional[int] = None) -> Config:
    """A demo config pointed at ``data_root``, evaluated once at the end.

    The number of classes follows the dataset's annotation file."""
    cfg = Config.fromfile(path)
    root = data_root.rstrip('/') + '/'
    with open(root + 'annotations/train.json') as f:
        num_classes = len(json.load(f)['categories'])
    head = cfg.model.bbox_head
    head.num_classes = num_classes
    if 'num_classes' in head.loss_cls:
        head.loss_cls.num_classes = num_classes
    cfg.work_dir = work_dir
    cfg.train_dataloader.dataset.dataset.data_root = root
    for key in ('val_dataloader', 'test_dataloader'):
        cfg[key].dataset.data_root = root
    for key in ('val_evaluator', 'test_evaluator'):
        cfg[key].ann_file = root + 'annotations/val.json'
    if max_epochs is not None:
        scale = max_epochs / cfg.train_cfg.max_epochs
        cfg.train_cfg.max_epochs = max_epochs
        for sched in cfg.param_scheduler:
            if sched.type == 'MultiStepLR':
                sched.end = max_epochs
                sched.milestones = [int(m * scale) for m in sched.milestones]
    cfg.train_cfg.val_interval = cfg.train_cfg.max_epochs + 1  # test at end
    cfg.randomness = dict(seed=seed, deterministic=False)
    name = osp.basename(work_dir.rstrip('/'))
    # one process runs several Runners: keep their singletons apart
    cfg.visualizer.name = f'visualizer_{name}'
    cfg.experiment_name = name
    cfg.custom_hooks = list(cfg.get('custom_hooks', [])) + [
        dict(type='ProgressBarHook', desc=name)
    ]
    return cfg


def _quiet_console(runner: Runner) -> None:
    """Leave INFO logs to the log file; the console shows progress bars."""
    for handler in runner.logger.handlers:
        if not isinstance(handler, logging.FileHandler):
            handler.setLevel(logging.WARNING)


def train_and_test(cfg: Config) -> dict:
    """Trains ``cfg``, then tests it; returns metrics, seconds and state."""
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
            k: v.cpu().numpy() for k, v in loss.category_values().items()}
    return result


def format_table(results: Dict[str, List[dict]], seeds: Sequence[int]) -> str:
    """Side-by-side table; with several seeds, mean +- std over seeds."""
    lines = [f"{'loss':<6}" + ''.join(f'{k:>16}' for k in METRIC_KEYS) +
             f"{'wall time':>14}"]
    for name, runs in results.items():
        cells = []
        for key in METRIC_KEYS:
            values = np.array([r['metrics'][key] for r in runs]) * 100
            cells.append(f'{values.mean():>10.2f} +-{values.std():4.2f}'
                         if len(runs) > 1 else f'{values[0]:>16.2f}')
        seconds = np.mean([r['seconds'] for r in runs])
        lines.append(f'{name:<6}' + ''.join(cells) + f'{seconds:>12.0f} s')
    lines.append(f'(box AP in %, LVIS v1 protocol, seeds {list(seeds)})')
    return '\n'.join(lines)


def run_longtail_benchmark(data_root: str = 'data/synthetic_lvis',
                           work_dir: str = 'work_dirs/longtail_demo',
                           seeds: Sequence[int] = (0, ),
                           data_seed: int = 0,
                           max_epochs: Optional[int] = None,
                           configs: Optional[Dict[str, str]] = None
                           ) -> Dict[str, List[dict]]:
    """Runs the benchmark; prints the table and writes ``results.json``,
    ``loss_curves.png`` and ``focusing_factors.png`` to ``work_dir``."""
    configs = configs or DEMO_CONFIGS
    ensure_dataset(data_root, SyntheticSpec(seed=data_seed))
    os.makedirs(work_dir, exist_ok=True)
    results: Dict[str, List[dict]] = {name: [] for name in configs}
    for seed in seeds:
        for name, path in configs.items():
            run_dir = osp.join(work_dir, f'{name.lower()}_seed{seed}')
            cfg = demo_config(path, data_root, run_dir, seed, max_epochs)
            res = train_and_test(cfg)
            print(f'{name} seed {seed}: ' + '  '.join(
                f'{k} {100 * v:.2f}' for k, v in res['metrics'].items()) +
                  f"  ({res['seconds']:.0f} s)")
            results[name].append(res)

    table = format_table(results, seeds)
    print('\n' + table)
    runs = {f'{name} seed {seed}': r['work_dir']
            for name, rs in results.items() for seed, r in zip(seeds, rs)}
    plot_curves(runs, ('loss', 'loss_cls'),
                osp.join(work_dir, 'loss_curves.png'),
                title='FL vs EFL on the synthetic long-tail dataset')
    efl_runs = [r for rs in results.values() for r in rs
                if 'category_values' in r]
    if efl_runs:
        plot_focusing_factors(
            efl_runs[0]['category_values'], train_image_counts(cfg),
            osp.join(work_dir, 'focusing_factors.png'),
            title='EFL state at the end of training')
    with open(osp.join(work_dir, 'results.json'), 'w') as f:
        json.dump(
            dict(table=table, seeds=list(seeds), data_seed=data_seed,
                 runs={name: [dict(metrics=r['metrics'],
                                   seconds=r['seconds'],
                                   train_seconds=r['train_seconds'])
                              for r in rs] for name, rs in results.items()}),
            f, indent=2)
    print(f'plots and results.json in {work_dir}')
    return results
