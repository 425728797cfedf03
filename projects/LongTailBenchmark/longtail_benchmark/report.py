"""What a benchmark run reports: the regime checks (means over seeds), the
side-by-side table with paired differences, and how they are printed and
saved."""
from typing import Dict, List, Optional, Sequence

import numpy as np

from mmdet_efl.analysis.regime import (RegimeReport, ap_ratio,
                                       grad_ratio_summary, group_means)
from mmdet_efl.datasets.longtail import GROUP_ORDER, METRIC_KEYS


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
