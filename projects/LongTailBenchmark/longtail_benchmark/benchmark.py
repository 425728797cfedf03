"""The detector long-tail benchmark behind ``make demo`` and the ablation
command.

Generates the glyph dataset (:mod:`longtail_benchmark.synthetic_longtail`)
if it is missing, trains the demo configs on it (``configs/``:
identical but for ``loss_cls`` or, for FL's other recipes, the classifier's
weight decay; ``make demo`` trains a shorter schedule of FL and EFL), each
in a process with pinned CPU kernels
(:func:`~longtail_benchmark.environment.reproducible_cpu_env`), evaluates
each with the LVIS metric, and prints
AP / APr / APc / APf next to the regime checks of
:mod:`mmdet_efl.analysis.regime`: focal loss's APr / APf, the per-group
gradient ratio G_j at the end and over training, and EFL Fig. 2's
positive-to-negative ratio per group. Plots go to the work dir: loss and
per-group G_j curves, and the EFL model's focusing factors against the
categories' training-image counts.
"""
import json
import logging
import os
import os.path as osp
import time
from contextlib import contextmanager
from typing import Dict, Iterator, List, Optional, Sequence

import numpy as np
import torch
from mmengine.config import Config
from mmengine.runner import Runner
from tqdm import tqdm

from mmdet_efl.analysis import (SampleCounter, consume, iter_dense_samples,
                                plot_curves, plot_focusing_factors,
                                read_scalars, scalar_series,
                                train_image_counts)
from mmdet_efl.analysis.regime import (RegimeReport, ap_ratio, fig2_log_ratio,
                                       grad_ratio_summary, group_means)
from mmdet_efl.datasets.longtail import (GROUP_ORDER, METRIC_KEYS,
                                         annotation_frequencies, group_labels)
from mmdet_efl.models.losses import CategoryAdaptiveLoss
from .environment import (distinct_environments, format_environments,
                          reproducible_cpu_env)
from .jobs import Job, run_jobs
from .synthetic_longtail import (SyntheticSpec, dataset_summary,
                                 generate_dataset)

#: the project's folder (``projects/LongTailBenchmark``)
PROJECT = osp.dirname(osp.dirname(osp.abspath(__file__)))
_DEMO = osp.join(PROJECT, 'configs')
#: The benchmark's runs: FL and EFL under one recipe (they differ only in
#: ``loss_cls``), and FL under two other classifier weight decays: mmdet's
#: stock 1e-4, and 0.013 (LVIS's exposure; see the project's README).
BENCHMARK_CONFIGS = {
    'FL': osp.join(_DEMO, 'atss-iou_r18_fpn_fl-demo_synthetic-lvis.py'),
    'EFL': osp.join(_DEMO, 'atss-iou_r18_fpn_efl-demo_synthetic-lvis.py'),
    'FL stock decay': osp.join(
        _DEMO, 'atss-iou_r18_fpn_fl-demo-stock-decay_synthetic-lvis.py'),
    'FL cls decay 0.013': osp.join(
        _DEMO, 'atss-iou_r18_fpn_fl-demo-cls-decay-0.013_synthetic-lvis.py'),
}
#: What ``make demo`` trains: FL and EFL on a 4-epoch schedule with the
#: benchmark's classifier weight-decay exposure, to fit in 15 minutes on 2
#: cores (the detector is undertrained there; the benchmark is
#: :data:`BENCHMARK_CONFIGS`).
DEMO_CONFIGS = {
    'FL': osp.join(_DEMO, 'atss-iou_r18_fpn_fl-demo-4e_synthetic-lvis.py'),
    'EFL': osp.join(_DEMO, 'atss-iou_r18_fpn_efl-demo-4e_synthetic-lvis.py'),
}
GRAD_RATIO_KEY = 'loss_cls/grad_ratio_{}'
#: Intra-op threads of every benchmark run. Fixed, because floating-point
#: sums depend on the thread count and the same seed must give the same
#: numbers on every machine it can; a 2-core machine trains two runs at once in
#: separate processes instead (``workers``).
RUN_THREADS = 1


def ensure_dataset(data_root: str, spec: SyntheticSpec) -> None:
    """Generates the dataset unless its annotation files exist."""
    if not osp.isfile(osp.join(data_root, 'annotations', 'train.json')):
        print(f'generating the synthetic long-tail dataset in {data_root} '
              f'(seed {spec.seed})')
        generate_dataset(data_root, spec)
    print('categories per LVIS frequency group:',
          dataset_summary(osp.join(data_root, 'annotations', 'train.json')))


def category_groups(ann_file: str) -> Dict[str, List[int]]:
    """Label indices per LVIS frequency group, from the ``frequency`` field
    of an LVIS annotation file (labels in the file's category order, as
    mmdet's LVIS datasets number them); groups without a category are
    left out."""
    groups = group_labels(annotation_frequencies(ann_file))
    return {k: v for k, v in groups.items() if v}


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


def regime_report(results: Dict[str, List[dict]],
                  groups: Dict[str, List[int]],
                  fig2: Optional[dict] = None,
                  grad_ratio_from: str = 'EFL',
                  fl_name: str = 'FL') -> RegimeReport:
    """The regime checks of a benchmark run, means over seeds.

    ``fl_apr_over_apf`` comes from the ``fl_name`` runs; the final and
    time-averaged per-group G_j from the ``grad_ratio_from`` runs (their
    final per-category state, and their logged per-group curves)."""
    report = RegimeReport(source=grad_ratio_from)
    if fl_name in results:
        apr = np.mean([r['metrics']['APr'] for r in results[fl_name]])
        apf = np.mean([r['metrics']['APf'] for r in results[fl_name]])
        report.fl_apr_over_apf = ap_ratio(max(apr, 0), max(apf, 0))
    runs = [r for r in results.get(grad_ratio_from, [])
            if 'category_values' in r]
    if runs:
        finals = [group_means(r['category_values']['grad_ratio'], groups)
                  for r in runs]
        report.final_grad_ratio = {
            g: float(np.mean([f[g] for f in finals])) for g in groups}
        means = []
        for r in runs:
            curves = r.get('grad_ratio_curves') or {}
            present = [g for g in groups if g in curves]
            if not present:
                continue
            summary = grad_ratio_summary(
                curves['steps'], np.array([curves[g] for g in present]).T,
                {g: [i] for i, g in enumerate(present)})
            means.append(summary['mean'])
        if means:
            report.mean_grad_ratio = {
                g: float(np.mean([m[g] for m in means])) for g in means[0]}
    if fig2:
        report.fig2_log10_ratio = dict(fig2['per_group'])
    return report


def regime_entry(fl: RegimeReport, efl: RegimeReport) -> dict:
    """The regime checks as saved in ``results.json``: checked on focal
    loss's run (the baseline defines the regime; EFL's own ``G_j`` rise as
    it acts), with ``final_grad_ratio`` and ``mean_grad_ratio`` those of
    the EFL run and ``fl_final_grad_ratio`` / ``fl_mean_grad_ratio``
    those of FL (means over seeds)."""
    out = fl.to_dict()
    out.update(fl_final_grad_ratio=out.pop('final_grad_ratio'),
               fl_mean_grad_ratio=out.pop('mean_grad_ratio'),
               final_grad_ratio=dict(efl.final_grad_ratio),
               mean_grad_ratio=dict(efl.mean_grad_ratio),
               efl_rare_over_frequent=efl.rare_over_frequent,
               checked_on=fl.source)
    return out


def format_regime(fl: RegimeReport, efl: RegimeReport) -> str:
    """The regime checks (on FL's run) and EFL's own per-group ``G_j``."""
    lines = [fl.format()]
    for name, values in (('EFL final G_j', efl.final_grad_ratio),
                         ('EFL mean G_j', efl.mean_grad_ratio)):
        if values:
            groups = [g for g in GROUP_ORDER if g in values]
            lines.append(f'  {name:<22} ' + ' / '.join(
                f'{values[g]:.3f}' for g in groups) + '  (not checked)')
    return '\n'.join(lines)


def format_table(results: Dict[str, List[dict]], seeds: Sequence[int],
                 baseline: str = 'FL') -> str:
    """Side-by-side table in %; with several seeds, mean +- std over seeds
    and, per other run, its paired differences from ``baseline`` per
    seed."""
    lines = [f"{'run':<15}" + ''.join(f'{k:>16}' for k in METRIC_KEYS) +
             f"{'wall time':>14}"]
    for name, runs in results.items():
        cells = []
        for key in METRIC_KEYS:
            values = np.array([r['metrics'][key] for r in runs]) * 100
            cells.append(f'{values.mean():>10.2f} +-{values.std(ddof=1):4.2f}'
                         if len(runs) > 1 else f'{values[0]:>16.2f}')
        seconds = np.mean([r['seconds'] for r in runs])
        lines.append(f'{name:<15}' + ''.join(cells) + f'{seconds:>12.0f} s')
    lines.append(f'(box AP in %, LVIS v1 protocol, seeds {list(seeds)}; '
                 'sample std over seeds)')
    base = results.get(baseline)
    if base and len(results) > 1:
        lines.append(f'paired differences from {baseline}, per seed:')
        for name, runs in results.items():
            if name == baseline or len(runs) != len(base):
                continue
            diffs = [
                f"{key} " + ' / '.join(
                    f"{100 * (r['metrics'][key] - b['metrics'][key]):+.2f}"
                    for r, b in zip(runs, base)) for key in METRIC_KEYS]
            lines.append(f'  {name} - {baseline}: ' + ', '.join(diffs))
    return '\n'.join(lines)


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


def run_detector(names: Sequence[str], data_root: str, work_dir: str,
                 seeds: Sequence[int], max_epochs: Optional[int] = None,
                 configs: Optional[Dict[str, str]] = None,
                 cache_dir: Optional[str] = None,
                 workers: int = 1,
                 pin_cpu_kernels: bool = True) -> Dict[str, List[dict]]:
    """Trains and tests each named run for each seed.

    Args:
        names: keys of ``configs`` (default :data:`BENCHMARK_CONFIGS`).
        data_root: the dataset.
        work_dir: each run works in ``<work_dir>/<name>_seed<seed>``.
        seeds: training seeds.
        max_epochs: rescales the schedule (tests).
        configs: run name to config file.
        cache_dir: each finished run is saved there as JSON and read back
            instead of trained again, so an interrupted sweep resumes where
            it stopped (:func:`longtail_benchmark.jobs.run_jobs`).
        workers: runs trained at once, each in its own process (spawned;
            every run has ``RUN_THREADS`` threads, so the numbers are the
            same for any ``workers``).
        pin_cpu_kernels: train each run in a spawned process whose CPU
            kernels are capped at AVX2
            (:func:`~longtail_benchmark.environment.reproducible_cpu_env`), so
            that a seed gives the same numbers on x86-64 machines with
            AVX2 of one CPU vendor (see
            :mod:`~longtail_benchmark.environment`) (from a script,
            call under ``if __name__ == '__main__':``, as for any spawned
            process);
            ``False``: this machine's own kernels, and ``workers=1``
            trains in this process.

    Returns:
        ``{name: [result per seed]}`` (see :func:`train_and_test`).
    """
    configs = configs or BENCHMARK_CONFIGS
    unknown = sorted(set(names) - set(configs))
    if unknown:
        raise KeyError(f'unknown benchmark runs {unknown}; known: '
                       f'{sorted(configs)}')
    jobs = {(name, seed): detector_job(configs[name], name, data_root,
                                       work_dir, seed, max_epochs)
            for seed in seeds for name in names}

    def report(job: Job, res: dict) -> None:
        tqdm.write(f'{job.tag}: ' + '  '.join(
            f'{k} {100 * v:.2f}' for k, v in res['metrics'].items()) +
            f"  ({res['seconds']:.0f} s)")

    done = run_jobs(list(jobs.values()), cache_dir, workers,
                    desc='benchmark runs', on_done=report,
                    env=reproducible_cpu_env() if pin_cpu_kernels else None)
    return {name: [done[jobs[name, seed].tag] for seed in seeds]
            for name in names}


def detector_job(config: str, name: str, data_root: str, work_dir: str,
                 seed: int, max_epochs: Optional[int] = None) -> Job:
    """The :class:`~longtail_benchmark.jobs.Job` of one benchmark run, working in
    ``<work_dir>/<name>_seed<seed>``."""
    tag = f'{name.lower()}_seed{seed}'
    return Job(tag, train_job,
               (config, data_root, osp.join(work_dir, tag), seed,
                max_epochs))


def run_longtail_benchmark(data_root: str = 'data/synthetic_lvis',
                           work_dir: str = 'work_dirs/longtail_demo',
                           seeds: Sequence[int] = (0, ),
                           data_seed: int = 0,
                           max_epochs: Optional[int] = None,
                           runs: Optional[Sequence[str]] = None,
                           configs: Optional[Dict[str, str]] = None,
                           workers: int = 2,
                           pin_cpu_kernels: bool = True
                           ) -> Dict[str, List[dict]]:
    """Runs the benchmark; prints the table and the regime checks, and
    writes ``results.json``, ``loss_curves.png``, ``grad_ratio_curves.png``
    and ``focusing_factors.png`` to ``work_dir``. ``configs`` maps run names
    to config files (default :data:`DEMO_CONFIGS`, what ``make demo``
    trains); ``runs`` picks some of them (default all). ``workers`` runs
    train at once, with pinned CPU kernels unless ``pin_cpu_kernels`` is
    ``False`` (see :func:`run_detector`)."""
    configs = configs or DEMO_CONFIGS
    runs = list(runs or configs)
    ensure_dataset(data_root, SyntheticSpec(seed=data_seed))
    os.makedirs(work_dir, exist_ok=True)
    groups = category_groups(osp.join(data_root, 'annotations',
                                      'train.json'))
    results = run_detector(runs, data_root, work_dir, seeds, max_epochs,
                           configs, workers=workers,
                           pin_cpu_kernels=pin_cpu_kernels)
    first_cfg = demo_config(configs[runs[0]], data_root,
                            osp.join(work_dir, 'fig2'), seeds[0], max_epochs)
    fig2 = fig2_statistics(first_cfg, groups,
                           osp.join(work_dir, 'fig2_counts.json'))
    report = regime_report(results, groups, fig2, grad_ratio_from='FL')
    efl_report = regime_report(results, groups, fig2, grad_ratio_from='EFL')
    table = format_table(results, seeds)
    environments = distinct_environments(
        r for rs in results.values() for r in rs)
    print('\n' + table + '\n\n' + format_regime(report, efl_report) +
          '\n' + format_environments(environments))
    curve_runs = {f'{name} seed {seed}': r['work_dir']
                  for name, rs in results.items()
                  for seed, r in zip(seeds, rs)}
    plot_curves(curve_runs, ('loss', 'loss_cls'),
                osp.join(work_dir, 'loss_curves.png'),
                title='the benchmark runs on the glyph long-tail dataset')
    adaptive = {k: v for k, v in curve_runs.items()
                if any(r['work_dir'] == v and 'category_values' in r
                       for rs in results.values() for r in rs)}
    if adaptive:
        plot_curves(adaptive, [GRAD_RATIO_KEY.format(g) for g in groups],
                    osp.join(work_dir, 'grad_ratio_curves.png'),
                    title='per-group mean gradient ratio G_j')
    efl_runs = results.get('EFL', [])
    if efl_runs:
        plot_focusing_factors(
            {k: np.asarray(v)
             for k, v in efl_runs[0]['category_values'].items()},
            train_image_counts(first_cfg),
            osp.join(work_dir, 'focusing_factors.png'),
            title='EFL state at the end of training')
    with open(osp.join(work_dir, 'results.json'), 'w') as f:
        json.dump(
            dict(table=table, regime=regime_entry(report, efl_report),
                 seeds=list(seeds),
                 data_seed=data_seed, fig2=fig2, environments=environments,
                 runs={name: [dict(metrics=r['metrics'],
                                   seconds=r['seconds'],
                                   train_seconds=r['train_seconds'],
                                   final_grad_ratio=group_means(
                                       r['category_values']['grad_ratio'],
                                       groups)
                                   if 'category_values' in r else None)
                              for r in rs] for name, rs in results.items()}),
            f, indent=2)
    print(f'plots and results.json in {work_dir}')
    return results
