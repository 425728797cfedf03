"""Figures of simulator runs: G_j against the weight-decay exposure, G_j
over training, and the test of the stationarity hypothesis."""
from typing import Dict, List, Mapping, Sequence

import numpy as np

from mmdet_efl.analysis.category_axis import GROUP_COLOURS
from mmdet_efl.datasets.longtail import GROUP_METRIC_KEYS, GROUP_ORDER
from mmdet_efl.utils.figures import save_figure, subplots


def plot_exposure_sweep(results: Sequence[dict], out_file: str,
                        title: str = '') -> Dict[str, list]:
    """Final per-group ``G_j`` and AP against the classifier's weight-decay
    exposure ``Lambda_cls = sum_t lr_t lambda_cls`` (one point per run).
    Returns the plotted numbers."""
    runs = sorted(results, key=lambda r: r['exposure']['cls_bias'])
    x = [r['exposure']['cls_bias'] for r in runs]
    data = dict(exposure=x)
    fig, axes = subplots(1, 2, figsize=(10, 3.8))
    for g in GROUP_ORDER:
        key = GROUP_METRIC_KEYS[g]
        data[f'G_{g}'] = [r['final_grad_ratio'][g] for r in runs]
        data[key] = [r[key] for r in runs]
        axes[0].plot(x, data[f'G_{g}'], 'o-', color=GROUP_COLOURS[g], label=g)
        axes[1].plot(x, data[key], 'o-', color=GROUP_COLOURS[g], label=key)
    axes[0].set_ylabel('final $G_j$ (group mean)')
    axes[1].set_ylabel('AP (%)')
    for ax in axes:
        ax.set_xscale('log')
        ax.set_xlabel(r'classifier decay exposure '
                      r'$\Lambda_{cls}=\sum_t lr_t\,\lambda_{cls}$')
        ax.grid(alpha=0.3)
        ax.legend()
    save_figure(fig, out_file, title=title)
    return data


def plot_trajectories(results: Mapping[str, dict], out_file: str,
                      title: str = '') -> Dict[str, dict]:
    """Per-group mean ``G_j`` over training, one panel per group and one
    line per run (``{name: simulate() result}``)."""
    fig, axes = subplots(1, 3, figsize=(13, 3.6), sharey=True)
    data = {}
    for name, r in results.items():
        traj = r.get('trajectory')
        if not traj:
            continue
        data[name] = traj
        for ax, g in zip(axes, GROUP_ORDER):
            ax.plot(traj['steps'], traj['grad_ratio'][g], label=name,
                    linewidth=1.2)
    for ax, g in zip(axes, GROUP_ORDER):
        ax.set_title(g)
        ax.set_xlabel('iteration')
        ax.grid(alpha=0.3)
    axes[0].set_ylabel('group mean of $G_j$')
    axes[0].legend(fontsize=8)
    save_figure(fig, out_file, title=title)
    return data


def decomposition(result: dict) -> Dict[str, Dict[str, float]]:
    """Per-group medians of the exact decomposition of ``1 - G_j`` (whole
    run, unclamped) into the decay and drive shares, and of the
    stationary prediction against the measurement over the final
    window."""
    bi, st = result['bias_identity'], result['stationarity']
    pos, neg = np.array(bi['pos_total']), np.array(bi['neg_total'])
    decay = -np.array(bi['decay_sum']) / neg
    drive = (np.array(bi['grad_sum']) + np.array(bi['decay_sum'])) / neg
    out = {}
    for g in GROUP_ORDER:
        idx = np.asarray(result['groups'][g], dtype=int)
        if not len(idx):
            continue
        out[g] = dict(
            one_minus_ratio=float(np.median(1 - pos[idx] / neg[idx])),
            decay_share=float(np.median(decay[idx])),
            drive_share=float(np.median(drive[idx])),
            window_measured=float(np.median(
                np.array(st['one_minus_ratio'])[idx])),
            window_predicted=float(np.median(
                np.array(st['predicted'])[idx])))
    return out


def plot_decomposition(results: Sequence[dict], out_file: str,
                       title: str = '') -> Dict[str, List]:
    """Per group against ``Lambda_cls``: ``1 - G_j`` and its decay and
    drive shares (whole run), and the stationary prediction
    ``lambda_b |b_j| / neg_j`` against the measured ``1 - pos_j/neg_j``
    over the final window."""
    runs = sorted(results, key=lambda r: r['exposure']['cls_bias'])
    x = [r['exposure']['cls_bias'] for r in runs]
    parts = [decomposition(r) for r in runs]
    fig, axes = subplots(1, 3, figsize=(14, 3.8))
    data: Dict[str, List] = dict(exposure=x)
    for ax, g in zip(axes, GROUP_ORDER):
        for key, style in (('one_minus_ratio', 'o-'), ('decay_share', 's--'),
                           ('drive_share', 'v--'),
                           ('window_measured', 'o:'),
                           ('window_predicted', 'x:')):
            values = [p[g][key] for p in parts]
            data[f'{g}/{key}'] = values
            ax.plot(x, values, style, label=key.replace('_', ' '))
        ax.set_xscale('log')
        ax.set_yscale('symlog', linthresh=0.1)
        ax.axhline(0, color='grey', linewidth=0.6)
        ax.set_title(g)
        ax.set_xlabel(r'$\Lambda_{cls}$')
        ax.grid(alpha=0.3)
    axes[0].set_ylabel('median over the group')
    axes[0].legend(fontsize=7)
    save_figure(fig, out_file, title=title)
    return data


def plot_ap_against_s(per_s: Mapping[float, Mapping[str, Sequence[float]]],
                      out_file: str, title: str = '') -> Dict[str, list]:
    """EFL Table 4 as a figure: AP per group (mean and std over seeds)
    against the scale factor ``s`` (``{s: {'APr': [per seed], ...}}``;
    ``s = 0`` is focal loss)."""
    s_values = sorted(per_s)
    data: Dict[str, list] = dict(s=s_values)
    fig, ax = subplots(figsize=(6, 3.8))
    colours = dict(AP='black', **{GROUP_METRIC_KEYS[g]: GROUP_COLOURS[g]
                                  for g in GROUP_ORDER})
    for key, colour in colours.items():
        mean = [float(np.mean(per_s[s][key])) for s in s_values]
        std = [float(np.std(per_s[s][key], ddof=1)) if len(per_s[s][key]) > 1
               else 0.0 for s in s_values]
        data[key] = mean
        data[key + '_std'] = std
        ax.errorbar(s_values, mean, yerr=std, marker='o', capsize=3,
                    color=colour, label=key)
    ax.set_xlabel('scale factor s (0 = focal loss)')
    ax.set_ylabel('AP (%)')
    ax.set_yscale('log')
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title, fontsize=9)
    save_figure(fig, out_file)
    return data
