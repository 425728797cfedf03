"""The embedded long-tail benchmark: FL vs EFL on the generated glyph
dataset (LVIS v1 format), with the regime checks.

    python projects/LongTailBenchmark/tools/longtail_demo.py \
        [--schedule {demo,benchmark}] \
        [--seeds 0 1 2] [--work-dir DIR] [--runs FL EFL 'FL stock decay']

``--schedule demo`` (the default, ``make demo``) trains the 4-epoch demo
configs, about 13 minutes on 2 cores; ``--schedule benchmark`` the 6-epoch
configs of ``make ablation`` and the project's ``docs/results.json``. See
``longtail_benchmark.benchmark``.
"""
import argparse
import sys
from pathlib import Path

# The project is not installed with the plugin: put its package (the folder
# above this one) on the path, whatever the working directory.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from longtail_benchmark import run_longtail_benchmark  # noqa: E402
from longtail_benchmark.benchmark import (  # noqa: E402
    BENCHMARK_CONFIGS, DEMO_CONFIGS)

SCHEDULES = {'demo': DEMO_CONFIGS, 'benchmark': BENCHMARK_CONFIGS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--data-root', default='data/synthetic_lvis')
    parser.add_argument('--work-dir', default='work_dirs/longtail_demo')
    parser.add_argument('--schedule', choices=list(SCHEDULES),
                        default='demo',
                        help='demo: 4 epochs, FL and EFL (~13 min); '
                        'benchmark: the 6-epoch runs of make ablation')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0],
                        help='training seeds; several give mean +- std')
    parser.add_argument('--data-seed', type=int, default=0,
                        help='seed of the generated dataset')
    parser.add_argument('--epochs', type=int, default=None,
                        help='override the configs\' schedule length')
    parser.add_argument('--runs', nargs='+', default=None,
                        help='which runs of the schedule to train (default '
                        'FL and EFL); demo: ' + ', '.join(DEMO_CONFIGS) +
                        '; benchmark: ' + ', '.join(BENCHMARK_CONFIGS))
    parser.add_argument('--workers', type=int, default=2,
                        help='runs trained at once, one process each (every '
                        'run is single-threaded, so the numbers do not '
                        'depend on it)')
    args = parser.parse_args()
    configs = SCHEDULES[args.schedule]
    runs = args.runs or ['FL', 'EFL']
    unknown = [r for r in runs if r not in configs]
    if unknown:
        parser.error(f'--runs {unknown} not in the {args.schedule} '
                     f'schedule; choose from {list(configs)}')
    run_longtail_benchmark(args.data_root, args.work_dir, args.seeds,
                           args.data_seed, args.epochs, runs, configs,
                           workers=args.workers)


if __name__ == '__main__':
    main()
