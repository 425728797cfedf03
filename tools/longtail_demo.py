"""The embedded long-tail benchmark: FL vs EFL on the generated glyph
dataset (LVIS v1 format), with the regime checks.

    python tools/longtail_demo.py [--seeds 0 1 2] [--work-dir DIR] \
        [--runs FL EFL 'FL stock decay']

See ``mmdet_efl.apis.longtail_benchmark``.
"""
import argparse

from mmdet_efl.apis import run_longtail_benchmark
from mmdet_efl.apis.longtail_benchmark import BENCHMARK_CONFIGS, DEMO_RUNS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--data-root', default='data/synthetic_lvis')
    parser.add_argument('--work-dir', default='work_dirs/longtail_demo')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0],
                        help='training seeds; several give mean +- std')
    parser.add_argument('--data-seed', type=int, default=0,
                        help='seed of the generated dataset')
    parser.add_argument('--epochs', type=int, default=None,
                        help='override the configs\' schedule length')
    parser.add_argument('--runs', nargs='+', default=list(DEMO_RUNS),
                        choices=list(BENCHMARK_CONFIGS),
                        help='which benchmark runs to train')
    parser.add_argument('--workers', type=int, default=2,
                        help='runs trained at once, one process each (every '
                        'run is single-threaded, so the numbers do not '
                        'depend on it)')
    args = parser.parse_args()
    run_longtail_benchmark(args.data_root, args.work_dir, args.seeds,
                           args.data_seed, args.epochs, args.runs,
                           workers=args.workers)


if __name__ == '__main__':
    main()
