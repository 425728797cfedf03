"""The command line of ``tools/longtail_simulator.py``."""
import argparse
import inspect
import json
import os
import os.path as osp
from typing import Dict, List, Optional

from mmdet_efl.analysis.regime import RegimeReport, ap_ratio
from mmdet_efl.datasets.longtail import METRIC_KEYS
from .config import SimulatorConfig
from .figures import plot_exposure_sweep, plot_trajectories
from .simulator import LOSS_VARIANTS
from .sweep import SweepRun, by_setting, mean_std, paired, run_sweep


def _value(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _assignments(items: Optional[List[str]]) -> Dict:
    out = {}
    for item in items or []:
        if '=' not in item:
            raise SystemExit(f'expected key=value, got {item!r}')
        key, value = item.split('=', 1)
        out[key] = _value(value)
    return out


def simulator_main(argv: Optional[List[str]] = None) -> dict:
    """Trains the loss-level long-tail simulator for several losses and
    seeds, optionally over a grid of one setting, e.g.

      out/ --losses FL EFL --num-seeds 10 --set cls_decay_mult=30
      out/ --losses FL --grid cls_decay_mult=1,10,30,100

    Writes runs/ (one JSON file per run; resumable: finished runs are
    skipped), summary.json
    and figures, and prints AP per group (mean +- std over seeds, paired
    differences to the first loss) with the regime checks of the first
    loss's runs."""
    parser = argparse.ArgumentParser(
        description=inspect.cleandoc(simulator_main.__doc__),
        formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument('out_dir')
    parser.add_argument('--losses', nargs='+', default=['FL', 'EFL'],
                        choices=sorted(LOSS_VARIANTS), metavar='LOSS',
                        help=f'of {sorted(LOSS_VARIANTS)}')
    parser.add_argument('--num-seeds', type=int, default=1)
    parser.add_argument('--seeds', type=int, nargs='+')
    parser.add_argument('--set', nargs='+', metavar='KEY=VALUE',
                        help='SimulatorConfig settings for every run')
    parser.add_argument('--workers', type=int, default=1,
                        help='runs at once, each in its own process')
    parser.add_argument('--grid', metavar='KEY=V1,V2,...',
                        help='one setting to sweep')
    args = parser.parse_args(argv)
    base = SimulatorConfig().replace(**_assignments(args.set))
    seeds = args.seeds if args.seeds else list(range(args.num_seeds))
    grid = [('base', {})]
    if args.grid:
        key, values = args.grid.split('=', 1)
        grid = [(f'{key}={v}', {key: _value(v)}) for v in values.split(',')]
    sweep = [SweepRun(tag, loss, seed, changes) for tag, changes in grid
             for seed in seeds for loss in args.losses]
    os.makedirs(args.out_dir, exist_ok=True)
    records = run_sweep(sweep, args.out_dir, base, args.workers)
    summary = summarise_sweep(records, args.losses)
    print(format_sweep(summary))
    with open(osp.join(args.out_dir, 'summary.json'), 'w') as f:
        json.dump(summary, f, indent=1)
    first = {tag: setting[seeds[0]] for (tag, loss), setting in
             by_setting(records).items() if loss == args.losses[0]}
    if len(grid) > 1 and all(r.get('final_grad_ratio') for r in
                             first.values()):
        plot_exposure_sweep(list(first.values()),
                            osp.join(args.out_dir, 'exposure_sweep.png'))
    for tag, _ in grid:
        runs = {loss: setting[seeds[0]] for (t, loss), setting in
                by_setting(records).items() if t == tag}
        plot_trajectories(runs, osp.join(
            args.out_dir, f'grad_ratio_{tag.replace("=", "_")}.png'),
            title=f'{tag}, seed {seeds[0]}')
    return summary


def summarise_sweep(records: List[dict], losses: List[str]) -> Dict:
    """Per setting: each loss's per-seed AP and final ``G_j``, mean and
    std, paired differences to ``losses[0]``, and the regime checks of
    ``losses[0]``'s runs (seed means)."""
    out: Dict = {}
    table = by_setting(records)
    for (tag, loss), runs in sorted(table.items()):
        entry = out.setdefault(tag, {})
        seeds = sorted(runs)
        row = dict(seeds=seeds)
        for key in METRIC_KEYS:
            values = [runs[s][key] for s in seeds]
            mean, std, sem = mean_std(values)
            row[key] = dict(values=values, mean=mean, std=std, sem=sem)
        if all(runs[s].get('final_grad_ratio') for s in seeds):
            row['final_grad_ratio'] = {
                g: mean_std([runs[s]['final_grad_ratio'][g]
                             for s in seeds])[0]
                for g in runs[seeds[0]]['final_grad_ratio']}
        ref = table.get((tag, losses[0]))
        if ref is not None and loss != losses[0]:
            row['paired'] = {}
            for key in METRIC_KEYS:
                common, diff = paired(ref, runs, key)
                mean, std, sem = mean_std(diff)
                row['paired'][key] = dict(seeds=common,
                                          values=diff.tolist(), mean=mean,
                                          std=std, sem=sem)
        entry[loss] = row
    for tag, entry in out.items():
        base = entry.get(losses[0])
        if base is None:
            continue
        runs = table[(tag, losses[0])]
        report = RegimeReport(
            fl_apr_over_apf=ap_ratio(base['APr']['mean'],
                                     base['APf']['mean']),
            final_grad_ratio=base.get('final_grad_ratio', {}),
            fig2_log10_ratio=next(iter(runs.values()))['fig2_log10_ratio'],
            source=losses[0])
        entry['regime'] = report.to_dict()
        entry['regime_text'] = report.format()
    return out


def format_sweep(summary: Dict) -> str:
    lines = []
    for tag, entry in summary.items():
        lines.append(f'== {tag}')
        for loss, row in entry.items():
            if loss.startswith('regime'):
                continue
            cells = '  '.join(
                f"{k} {row[k]['mean']:5.1f}+-{row[k]['std']:.1f}"
                for k in METRIC_KEYS)
            lines.append(f'  {loss:<12} {cells}  ({len(row["seeds"])} '
                         'seeds)')
            if 'paired' in row:
                cells = '  '.join(
                    f"{k} {row['paired'][k]['mean']:+5.1f}"
                    f"+-{row['paired'][k]['sem']:.1f}" for k in METRIC_KEYS)
                lines.append(f'  {"  paired":<12} {cells}  (mean +- s.e.)')
        if 'regime_text' in entry:
            lines.append(entry['regime_text'])
    return '\n'.join(lines)
