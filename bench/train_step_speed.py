"""End to end: training-iteration time of the demo detector, EFL vs FL.

    python bench/train_step_speed.py [--iters 60] [--rounds 3]

Trains the small ATSS-IoU demo detector of the long-tail project
(projects/LongTailBenchmark/configs/) with EFL plus
GradientCollectorHook and with mmdet's FocalLoss and no hook (what a user
would train without this package), identical otherwise, on the
generated dataset (made if missing), in alternating rounds in the same run so
that machine noise hits both alike. Reports the median seconds per iteration
after warm-up and EFL's overhead in percent. Writes
bench/results/train_step_speed.json.
"""
import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from mmengine.hooks import Hook
from mmengine.runner import Runner

# the demo detector and its dataset belong to the long-tail project, which
# is not installed with the plugin
sys.path.insert(
    0, str(Path(__file__).resolve().parents[1] / 'projects/LongTailBenchmark'))
from longtail_benchmark.benchmark import (  # noqa: E402
    BENCHMARK_CONFIGS, demo_config, ensure_dataset)
from longtail_benchmark.synthetic_longtail import SyntheticSpec  # noqa: E402


class _IterTimes(Hook):
    """Wall time of every training iteration."""

    priority = 'VERY_LOW'

    def __init__(self):
        self.times = []
        self._start = None

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self._start = time.perf_counter()

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        self.times.append(time.perf_counter() - self._start)


#: mmdet's own focal loss with the EFL config's gamma and alpha (EFL sec. 4.1)
MMDET_FOCAL_LOSS = dict(type='FocalLoss', use_sigmoid=True, gamma=2.0,
                        alpha=0.25, loss_weight=1.0)


def time_config(loss, data_root, work_dir, iters, warmup):
    cfg = demo_config(BENCHMARK_CONFIGS['EFL'], data_root, work_dir, seed=0)
    if loss == 'FL':
        cfg.model.bbox_head.loss_cls = MMDET_FOCAL_LOSS
        cfg.custom_hooks = [h for h in cfg.custom_hooks
                            if h['type'] != 'GradientCollectorHook']
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=iters,
                         val_interval=iters + 1)
    cfg.param_scheduler = [dict(type='ConstantLR', factor=1.0)]
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook',
                                        interval=iters + 1, by_epoch=False)
    cfg.custom_hooks = [h for h in cfg.custom_hooks
                        if h['type'] != 'ProgressBarHook']
    cfg.log_level = 'WARNING'
    runner = Runner.from_cfg(cfg)
    timer = _IterTimes()
    runner.register_hook(timer)
    runner.train()
    return statistics.median(timer.times[warmup:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--data-root', default='data/synthetic_lvis')
    parser.add_argument('--iters', type=int, default=60)
    parser.add_argument('--warmup', type=int, default=10)
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--out',
                        default='bench/results/train_step_speed.json')
    args = parser.parse_args()
    ensure_dataset(args.data_root, SyntheticSpec())
    per = {name: [] for name in ('FL', 'EFL')}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for name in per:
                per[name].append(time_config(
                    name, args.data_root, os.path.join(tmp, f'{name}{r}'),
                    args.iters, args.warmup))
    fl = statistics.median(per['FL'])
    efl = statistics.median(per['EFL'])
    print(f"{'detector (demo ATSS-IoU, batch 8)':<40}{'s / iter':>10}")
    print(f"{'FocalLoss':<40}{fl:>10.4f}")
    print(f"{'EqualizedFocalLoss + GradientCollectorHook':<40}{efl:>10.4f}")
    print(f'EFL overhead: {100 * (efl / fl - 1):+.1f}% (median of '
          f'{args.rounds} alternating rounds of {args.iters} iterations)')
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, 'w') as f:
        json.dump(dict(fl_s_per_iter=fl, efl_s_per_iter=efl,
                       overhead=efl / fl - 1, rounds=per), f, indent=2)


if __name__ == '__main__':
    main()
