"""Forward+backward time and peak extra memory of the classification losses.

    python bench/loss_speed.py [--n 20000] [--c 1203] [--repeats 5]

All rows are measured in the same run on ``[N, C]`` logits with about one
positive anchor per 1000 (LVIS-like sparsity). Rows: the naive autograd EFL
written straight from EFL eq. 4 (the baseline), this package's
``EqualizedFocalLoss`` (statistics included), mmdet's ``FocalLoss``,
``FocalLossStar``, ``EQLv2FocalLoss``, and a plain copy of the logits as the
memory-bandwidth reference. Time is the median over repeats, the rows
taking turns within each repeat; ratios are against the naive baseline of the
same run. Peak extra memory is measured in a fresh subprocess per row
(growth of the peak resident set over the inputs).
Effective GB/s counts the bytes of logits read plus gradient written.
``EqualizedFocalLoss`` and ``EQLv2FocalLoss`` use the fused (compiled)
kernel at this size; ``MMDET_EFL_FUSED=0`` measures the eager one. The
one-off compilation happens in the warm-up step and is not timed.
Writes the table as JSON to ``bench/results/loss_speed.json``.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Callable, Dict

import torch

ROWS = ('naive_efl', 'EqualizedFocalLoss', 'mmdet_FocalLoss',
        'FocalLossStar', 'EQLv2FocalLoss', 'copy')


def make_inputs(n: int, c: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    pred = torch.randn(n, c, generator=g) * 2 - 4
    labels = torch.full((n, ), c, dtype=torch.long)
    # about one positive anchor (row) per 1000: a detector has ~100 positives
    # among ~100k anchors. (One per 1000 *logits* would need more positives
    # than rows: each anchor has at most one foreground label.)
    num_pos = max(1, n // 1000)
    rows = torch.randperm(n, generator=g)[:num_pos]
    labels[rows] = torch.randint(0, c, (num_pos, ), generator=g)
    return pred, labels


def naive_efl(num_classes: int) -> Callable:
    """EFL eq. 4 as a chain of autograd ops, as the reference code does."""
    pos_grad = torch.rand(num_classes)
    neg_grad = torch.rand(num_classes) + 0.5

    def loss_fn(pred, labels):
        target = torch.nn.functional.one_hot(labels, num_classes + 1)
        target = target[:, :num_classes].float()
        ratio = torch.clamp(pos_grad / (neg_grad + 1e-10), 0, 1)
        gamma = 2.0 + 8.0 * (1 - ratio)
        weight = gamma / 2.0
        p = torch.sigmoid(pred)
        pt = p * target + (1 - p) * (1 - target)
        at = 0.25 * target + 0.75 * (1 - target)
        ce = torch.nn.functional.binary_cross_entropy_with_logits(
            pred, target, reduction='none')
        loss = at * weight * (1 - pt).pow(gamma) * ce
        return loss.sum() / max(1.0, float((labels < num_classes).sum()))

    return loss_fn


def build(name: str, num_classes: int) -> Callable:
    import mmdet_efl  # noqa: F401
    from mmdet.models.losses import FocalLoss

    from mmdet_efl.models.losses import (EQLv2FocalLoss, EqualizedFocalLoss,
                                         FocalLossStar)
    if name == 'naive_efl':
        return naive_efl(num_classes)
    if name == 'copy':
        return lambda pred, labels: pred.clone()
    module = {
        'EqualizedFocalLoss': lambda: EqualizedFocalLoss(num_classes),
        'mmdet_FocalLoss': lambda: FocalLoss(use_sigmoid=True),
        'FocalLossStar': lambda: FocalLossStar(num_classes=num_classes),
        'EQLv2FocalLoss': lambda: EQLv2FocalLoss(num_classes),
    }[name]()
    if isinstance(module, (EqualizedFocalLoss, EQLv2FocalLoss)):
        module.pos_grad.uniform_()  # non-trivial per-class factors
        module.neg_grad.uniform_(0.5, 1.5)
    return lambda pred, labels: module(
        pred, labels, avg_factor=max(1.0, float((labels < num_classes).sum())))


def step(fn: Callable, pred: torch.Tensor, labels: torch.Tensor,
         name: str) -> None:
    if name == 'copy':
        fn(pred, labels)
        return
    x = pred.detach().requires_grad_()
    fn(x, labels).backward()


def time_rows(names, pred, labels, repeats: int) -> Dict[str, float]:
    """Median seconds per row. Rows take turns within each repeat, so that
    drift of this shared machine (page-fault and allocator cost, other
    load) reaches every row alike instead of whichever row ran then."""
    fns = {name: build(name, pred.shape[1]) for name in names}
    for name, fn in fns.items():
        step(fn, pred, labels, name)  # warm-up (and compilation)
    times: Dict[str, list] = {name: [] for name in names}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            step(fn, pred, labels, name)
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def _status_kb(field: str) -> int:
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1])
    raise RuntimeError(f'no {field} in /proc/self/status')


def peak_memory_child(name: str, n: int, c: int) -> None:
    """Runs one row once in this (fresh) process and prints peak extra MB.

    Uses the kernel's resident-set high-water mark (VmHWM), reset just
    before the step; ``ru_maxrss`` would carry the parent's peak over."""
    pred, labels = make_inputs(n, c)
    fn = build(name, c)
    step(fn, pred, labels, name)  # warm-up: compilation is not the loss's
    with open('/proc/self/clear_refs', 'w') as f:
        f.write('5')  # reset VmHWM to the current RSS
    base = _status_kb('VmRSS')
    step(fn, pred, labels, name)
    print((_status_kb('VmHWM') - base) / 1024.0)


def peak_memory(name: str, n: int, c: int) -> float:
    out = subprocess.run(
        [sys.executable, __file__, '--memory-row', name, '--n', str(n),
         '--c', str(c)], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--n', type=int, default=20000)
    parser.add_argument('--c', type=int, default=1203)
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--memory-row', help=argparse.SUPPRESS)
    parser.add_argument('--out', default='bench/results/loss_speed.json')
    args = parser.parse_args()
    if args.memory_row:
        peak_memory_child(args.memory_row, args.n, args.c)
        return

    pred, labels = make_inputs(args.n, args.c)
    traffic_gb = 2 * pred.numel() * pred.element_size() / 1e9
    rows: Dict[str, dict] = {}
    for name, seconds in time_rows(ROWS, pred, labels,
                                   args.repeats).items():
        rows[name] = dict(seconds=seconds,
                          peak_extra_mb=peak_memory(name, args.n, args.c),
                          gb_per_s=traffic_gb / seconds)
    base, copy = rows['naive_efl'], rows['copy']
    print(f'logits [{args.n}, {args.c}] fp32, '
          f'{int((labels < args.c).sum())} positives, '
          f'{torch.get_num_threads()} threads, median of {args.repeats}')
    print(f"{'row':<20}{'fwd+bwd ms':>11}{'speed-up':>10}{'peak MB':>9}"
          f"{'mem ratio':>10}{'GB/s':>7}{'% copy':>8}")
    for name, row in rows.items():
        row['speedup_vs_naive'] = base['seconds'] / row['seconds']
        row['memory_vs_naive'] = row['peak_extra_mb'] / base['peak_extra_mb']
        row['fraction_of_copy_bandwidth'] = row['gb_per_s'] / copy['gb_per_s']
        print(f"{name:<20}{1000 * row['seconds']:>11.1f}"
              f"{row['speedup_vs_naive']:>9.2f}x{row['peak_extra_mb']:>9.0f}"
              f"{row['memory_vs_naive']:>10.2f}{row['gb_per_s']:>7.1f}"
              f"{100 * row['fraction_of_copy_bandwidth']:>7.0f}%")
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, 'w') as f:
        json.dump(dict(n=args.n, c=args.c, repeats=args.repeats, rows=rows),
                  f, indent=2)


if __name__ == '__main__':
    main()
