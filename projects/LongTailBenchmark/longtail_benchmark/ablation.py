"""The papers' ablations as one resumable command (issue 16).

* On the loss-level simulator (:mod:`longtail_benchmark.simulation`), over
  many seeds: EFL Table 3 (weighting factor only, focusing factor only,
  both), Table 4 (``s`` in {0, 1, 2, 4, 8, 12}), EQLv2&Focal (Table 1's
  baseline), and focal loss under its own best recipe.
* On the detector benchmark (:mod:`longtail_benchmark.benchmark`),
  over a few seeds: FL and EFL under the benchmark recipe, and FL under its
  own best recipe.

Every finished run is saved as JSON under ``<out>/runs/`` and read back on
the next call, so an interrupted sweep resumes where it stopped. The
summary goes to ``<out>/results.json`` (per-seed numbers per run, the
regime checks, paired differences and the targets), ``<out>/table.md`` and
PNG plots: the per-group gradient-ratio curves of FL and EFL on both
benches, and the simulator's per-group AP against ``s``.
"""
import json
import os
import os.path as osp
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from mmdet_efl.analysis.category_axis import GROUP_COLOURS
from mmdet_efl.analysis.regime import (RegimeReport, ap_ratio,
                                       group_means)
from mmdet_efl.datasets.longtail import (GROUP_METRIC_KEYS,
                                         GROUP_ORDER, METRIC_KEYS)
from mmdet_efl.utils.figures import save_figure, subplots

from . import benchmark as detector
from .environment import (distinct_environments,
                          format_environments, reproducible_cpu_env)
from .jobs import Job, run_jobs
from .simulation.sweep import mean_std
from .synthetic_longtail import SyntheticSpec

#: Simulator runs, each trained on every seed: EFL Table 3 and Table 4
#: rows, EQLv2&Focal, all under the simulator's benchmark setting, and FL
#: under its own best recipe (``FL stock decay``).
SIMULATOR_RUNS = ('FL', 'EFL WF only', 'EFL FF only', 'EFL', 'EFL s=1',
                  'EFL s=2', 'EFL s=4', 'EFL s=12', 'EQLv2&Focal',
                  'FL stock decay')
#: Detector runs (keys of :data:`longtail_benchmark.BENCHMARK_CONFIGS`).
DETECTOR_RUNS = ('FL', 'EFL', 'FL stock decay', 'FL cls decay 0.013')
#: Focal loss's recipes per bench: the benchmark's, mmdet's stock weight
#: decay and, on the detector, LVIS's classifier decay exposure.
#: ``FL_best_recipe`` is the one with the highest mean AP over the seeds.
FL_RECIPES = {'simulator': ('FL', 'FL stock decay'),
              'detector': ('FL', 'FL stock decay', 'FL cls decay 0.013')}


def fl_best_recipe(runs: Dict[str, List[dict]],
                   recipes: Sequence[str]) -> str:
    """The name of focal loss's best recipe among ``recipes`` (one entry
    of :data:`FL_RECIPES`): the highest mean AP over seeds (the first on a
    tie)."""
    means = {name: np.mean([_metric(r, 'AP') for r in runs[name]])
             for name in recipes}
    return max(recipes, key=lambda name: means[name])


def simulator_job(name: str, seed: int) -> dict:
    """One simulator run: ``name`` is a loss variant under the benchmark
    setting, or ``'FL stock decay'`` (module level, for worker
    processes)."""
    from .simulation import BENCHMARK_CONFIG, FL_BEST_CONFIG, simulate
    if name == 'FL stock decay':
        return simulate(FL_BEST_CONFIG, 'FL', seed)
    return simulate(BENCHMARK_CONFIG, name, seed)


def _safe(name: str) -> str:
    return name.replace(' ', '_').replace('=', '').replace('&', '+')


def ablation_jobs(bench: str, names: Sequence[str], seeds: Sequence[int],
                  out_dir: str, data_root: str) -> Dict[Tuple[str, int], Job]:
    """The jobs of one bench, keyed by ``(name, seed)``."""
    jobs = {}
    for seed in seeds:
        for name in names:
            tag = f'{bench}/{_safe(name)}_seed{seed}'
            if bench == 'simulator':
                jobs[name, seed] = Job(tag, simulator_job, (name, seed))
            else:
                jobs[name, seed] = Job(tag, detector.train_job, (
                    detector.BENCHMARK_CONFIGS[name], data_root,
                    osp.join(out_dir, 'work_dirs', tag), seed))
    return jobs


def _metric(result: dict, key: str) -> float:
    """AP in % (the detector stores fractions, the simulator %)."""
    if 'metrics' in result:
        return 100.0 * result['metrics'][key]
    return float(result[key])


def summarise_ablation(
        results: Dict[str, List[dict]], seeds: Sequence[int],
        final_grad_ratio: Callable[[dict], Optional[Dict[str, float]]],
        baselines: Sequence[str] = ('FL', 'FL_best_recipe')) -> dict:
    """Per run: per-seed AP (%) with mean and sample std over seeds, and
    the final per-group G_j (seed mean, if the runs have statistics).
    ``paired[<baseline>]`` holds each run's differences from a baseline
    seed by seed, with their mean, sample std and standard error."""
    out: Dict[str, dict] = {}
    for name, runs in results.items():
        entry: Dict[str, object] = {}
        for key in METRIC_KEYS:
            values = [_metric(r, key) for r in runs]
            mean, std, _ = mean_std(values)
            entry.update({key: values, f'{key}_mean': mean,
                          f'{key}_std': std})
        finals = [f for f in map(final_grad_ratio, runs) if f]
        if finals:
            entry['final_grad_ratio'] = {
                g: float(np.mean([f[g] for f in finals])) for g in finals[0]}
        entry['paired'] = {}
        for base in baselines:
            if base not in results or base == name:
                continue
            entry['paired'][base] = {}
            for key in METRIC_KEYS:
                diff = [_metric(r, key) - _metric(b, key)
                        for r, b in zip(runs, results[base])]
                mean, std, se = mean_std(diff)
                entry['paired'][base][key] = dict(values=diff, mean=mean,
                                                  std=std, se=se)
        out[name] = entry
    out['seeds'] = list(seeds)
    return out


def targets(summary: dict, bench: str) -> Dict[str, dict]:
    """The issue's targets, evaluated (never relaxed to pass).

    Simulator: EFL's rare-group AP gain exceeds twice its standard error
    (paired over seeds), against FL under the same setting and against FL
    under its own best recipe. Detector: EFL's mean APr gain exceeds the
    larger seed std, against both, and EFL's AP is not lower than
    either's."""
    efl = summary['EFL']
    out = {}
    for other in ('FL', 'FL_best_recipe'):
        if bench == 'simulator':
            pair = efl['paired'][other]['APr']
            out[f'APr gain over {other} > 2 SE'] = dict(
                gain=pair['mean'], se=pair['se'],
                met=bool(pair['mean'] > 2 * pair['se']))
            continue
        ref = summary[other]
        gain = efl['APr_mean'] - ref['APr_mean']
        spread = max(efl['APr_std'], ref['APr_std'])
        out[f'APr gain over {other} > larger seed std'] = dict(
            gain=gain, larger_std=spread, met=bool(gain > spread))
        out[f'AP not lower than {other}'] = dict(
            difference=efl['AP_mean'] - ref['AP_mean'],
            met=bool(efl['AP_mean'] >= ref['AP_mean']))
    return out


def simulator_regime(runs: Dict[str, List[dict]],
                     grad_ratio_from: str = 'FL') -> RegimeReport:
    """Regime checks of the simulator, means over seeds: FL's APr / APf,
    the final and time-averaged per-group G_j of the ``grad_ratio_from``
    runs, and Fig. 2's per-group log10(pos / neg)."""
    fl, runs_g = runs['FL'], runs[grad_ratio_from]
    report = RegimeReport(source=grad_ratio_from)
    report.fl_apr_over_apf = ap_ratio(np.mean([r['APr'] for r in fl]),
                                      np.mean([r['APf'] for r in fl]))
    for attr in ('final_grad_ratio', 'mean_grad_ratio', 'fig2_log10_ratio'):
        setattr(report, attr, {
            g: float(np.mean([r[attr][g] for r in runs_g]))
            for g in runs_g[0][attr]})
    return report


def _mean_curves(runs: List[dict], bench: str) -> Dict[str, list]:
    """Per-group G_j curves averaged over seeds (recorded at the same
    steps in every seed)."""
    curves = []
    for r in runs:
        if bench == 'simulator':
            if r.get('trajectory'):
                curves.append(dict(steps=r['trajectory']['steps'],
                                   **r['trajectory']['grad_ratio']))
        elif r.get('grad_ratio_curves'):
            curves.append(r['grad_ratio_curves'])
    if not curves:
        return {}
    n = min(len(c['steps']) for c in curves)
    out = {'steps': curves[0]['steps'][:n]}
    for g in GROUP_ORDER:
        if g in curves[0]:
            out[g] = np.mean([c[g][:n] for c in curves], axis=0).tolist()
    return out


def plot_grad_ratio_curves(runs: Dict[str, List[dict]], bench: str,
                           out_file: str) -> dict:
    """FL's and EFL's per-group mean G_j against iterations (seed mean)."""
    data = {name: _mean_curves(runs[name], bench) for name in ('FL', 'EFL')
            if name in runs}
    fig, ax = subplots(figsize=(6.5, 3.8))
    for name, style in (('FL', '--'), ('EFL', '-')):
        curve = data.get(name) or {}
        for g in GROUP_ORDER:
            if g in curve:
                ax.plot(curve['steps'], curve[g], style,
                        color=GROUP_COLOURS[g], label=f'{name} {g}')
    ax.set_xlabel('iteration')
    ax.set_ylabel('mean gradient ratio G_j')
    ax.set_ylim(0, 1.05)
    ax.set_title(f'{bench}: accumulated G_j per frequency group')
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    save_figure(fig, out_file)
    return data


def plot_table4(summary: dict, out_file: str) -> dict:
    """EFL Table 4 on the simulator: per-group AP against ``s`` (the
    simulator's figure), as ``{key: {'s', 'mean', 'std'}}``."""
    from longtail_benchmark.simulation import TABLE4
    from longtail_benchmark.simulation.figures import plot_ap_against_s as plot
    per_s = {s: {key: summary[name][key] for key in METRIC_KEYS}
             for s, name in TABLE4.items() if name in summary}
    data = plot(per_s, out_file, title='EFL Table 4 on the simulator')
    return {key: dict(s=data['s'], mean=data[key], std=data[f'{key}_std'])
            for key in [GROUP_METRIC_KEYS[g] for g in GROUP_ORDER] + ['AP']}


def format_ablation(summary: dict, names: Sequence[str],
                    title: str) -> str:
    """A markdown table: mean +- std over seeds per run, and the paired
    APr and AP differences from FL and from FL at its best recipe (mean
    +- standard error over seeds)."""
    bases = [b for b in ('FL', 'FL_best_recipe') if b in summary]
    head = ('| run | ' + ' | '.join(METRIC_KEYS) + ' | ' +
            ' | '.join(f'APr / AP - {b} (paired)' for b in bases) + ' |')
    lines = [f'### {title} (seeds {summary["seeds"]})', '', head,
             '|' + ' --- |' * (len(METRIC_KEYS) + len(bases) + 1)]
    for name in names:
        if name not in summary:
            continue
        e = summary[name]
        cells = [f"{e[f'{k}_mean']:.2f} +- {e[f'{k}_std']:.2f}"
                 for k in METRIC_KEYS]
        for b in bases:
            pair = e['paired'].get(b)
            cells.append(
                f"{pair['APr']['mean']:+.2f} +- {pair['APr']['se']:.2f} / "
                f"{pair['AP']['mean']:+.2f} +- {pair['AP']['se']:.2f}"
                if pair else '')
        lines.append(f'| {name} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def run_ablation(out_dir: str = 'work_dirs/longtail_ablation',
                 sim_seeds: Sequence[int] = tuple(range(10)),
                 det_seeds: Sequence[int] = (0, 1, 2),
                 data_root: str = 'data/synthetic_lvis',
                 data_seed: int = 0,
                 benches: Sequence[str] = ('detector', 'simulator'),
                 workers: int = 2,
                 pin_cpu_kernels: bool = True) -> dict:
    """Runs the sweep (resuming finished runs, ``workers`` at once; the
    detector's first, so that its run times are measured on an otherwise
    idle machine) and writes ``results.json``, ``table.md`` and the plots
    to ``out_dir``. With ``pin_cpu_kernels`` every run trains in a spawned
    process with its CPU kernels capped at AVX2, as the committed results
    were (see :func:`.longtail_benchmark.run_detector`).

    Returns:
        ``{bench: summary}``; a summary has per run the per-seed AP (%),
        means, stds, paired differences and final per-group G_j, and
        ``FL_best_recipe`` (FL under its own best recipe), ``regime``
        (the regime checks), ``targets`` and ``grad_ratio_curves``.
    """
    unknown = sorted(set(benches) - {'simulator', 'detector'})
    if unknown:
        raise ValueError(f'unknown benches {unknown}: use simulator and/or '
                         'detector')
    os.makedirs(out_dir, exist_ok=True)
    plan = {'simulator': (sim_seeds, SIMULATOR_RUNS),
            'detector': (det_seeds, DETECTOR_RUNS)}
    jobs = {}
    for bench in benches:
        if bench == 'detector':
            detector.ensure_dataset(data_root, SyntheticSpec(seed=data_seed))
        seeds, names = plan[bench]
        jobs[bench] = ablation_jobs(bench, names, seeds, out_dir, data_root)
    done = run_jobs([job for bench in benches
                     for job in jobs[bench].values()],
                    osp.join(out_dir, 'runs'), workers, desc='ablation runs',
                    env=reproducible_cpu_env() if pin_cpu_kernels else None)

    report: dict = {}
    tables = []
    for bench in benches:
        seeds, names = plan[bench]
        runs = {name: [done[jobs[bench][name, s].tag] for s in seeds]
                for name in names}
        best = fl_best_recipe(runs, FL_RECIPES[bench])
        runs['FL_best_recipe'] = runs[best]
        if bench == 'simulator':
            summary = summarise_ablation(runs, seeds,
                                lambda r: r.get('final_grad_ratio'))
            regime = simulator_regime(runs, 'FL')
            efl_regime = simulator_regime(runs, 'EFL')
            summary['table4'] = plot_table4(
                summary, osp.join(out_dir, 'simulator_ap_vs_s.png'))
        else:
            groups = detector.category_groups(
                osp.join(data_root, 'annotations', 'train.json'))
            summary = summarise_ablation(runs, seeds, lambda r: group_means(
                r['category_values']['grad_ratio'], groups)
                if 'category_values' in r else None)
            cfg = detector.demo_config(
                detector.BENCHMARK_CONFIGS['EFL'], data_root,
                osp.join(out_dir, 'work_dirs', 'fig2'), seeds[0])
            fig2 = detector.fig2_statistics(
                cfg, groups, osp.join(out_dir, 'detector_fig2.json'))
            regime = detector.regime_report(runs, groups, fig2,
                                            grad_ratio_from='FL')
            efl_regime = detector.regime_report(runs, groups, fig2,
                                                grad_ratio_from='EFL')
            summary['seconds'] = {name: [r['seconds'] for r in rs]
                                  for name, rs in runs.items()}
        summary['FL_best_recipe']['recipe'] = best
        summary['environments'] = distinct_environments(
            r for name in names for r in runs[name])
        summary['regime'] = detector.regime_entry(regime, efl_regime)
        summary['targets'] = targets(summary, bench)
        summary['grad_ratio_curves'] = plot_grad_ratio_curves(
            runs, bench, osp.join(out_dir, f'{bench}_grad_ratio.png'))
        report[bench] = summary
        met = '\n'.join(
            f"- {k}: {'met' if v['met'] else 'NOT met'} (" + ', '.join(
                f'{a} {b:.2f}' for a, b in v.items() if a != 'met') + ')'
            for k, v in summary['targets'].items())
        tables.append(
            format_ablation(summary, list(names) + ['FL_best_recipe'], bench)
            + f'\n\nFL_best_recipe = {best} (highest mean AP of '
            f'{", ".join(FL_RECIPES[bench])})\n\n```\n'
            + detector.format_regime(regime, efl_regime) + '\n```\n' + met
            + '\n\n' + format_environments(summary['environments']))
    text = '\n\n'.join(tables)
    print(text)
    with open(osp.join(out_dir, 'table.md'), 'w') as f:
        f.write(text + '\n')
    with open(osp.join(out_dir, 'results.json'), 'w') as f:
        json.dump(report, f, indent=1)
    print(f'results.json, table.md and plots in {out_dir}')
    return report
