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
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np
from tqdm import tqdm

from mmdet_efl.analysis import (plot_curves, plot_focusing_factors,
                                train_image_counts)
from mmdet_efl.analysis.regime import group_means
from mmdet_efl.datasets.longtail import annotation_frequencies, group_labels
from .environment import (distinct_environments, format_environments,
                          reproducible_cpu_env)
from .jobs import Job, run_jobs
from .report import format_regime, format_table, regime_entry, regime_report
from .synthetic_longtail import (SyntheticSpec, dataset_summary,
                                 generate_dataset)
from .training import (GRAD_RATIO_KEY, demo_config, fig2_statistics,
                       train_job)

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
            every run has :data:`~.training.RUN_THREADS` threads, so the
            numbers are the same for any ``workers``).
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
        ``{name: [result per seed]}`` (see :func:`~.training.train_and_test`).
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
    """The :class:`~longtail_benchmark.jobs.Job` of one benchmark run,
    working in ``<work_dir>/<name>_seed<seed>``."""
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
