"""EFL Tables 3 and 4 on the simulator and FL vs EFL on the detector, as
one resumable command.

    python projects/LongTailBenchmark/tools/longtail_ablation.py \
        [--out work_dirs/longtail_ablation] \
        [--sim-seeds 0 1 ... 9] [--det-seeds 0 1 2] [--only simulator]

Finished runs are kept under OUT/runs/ and read back when the command is
run again. See ``longtail_benchmark.ablation``.
"""
import argparse
import sys
from pathlib import Path

# The project is not installed with the plugin: put its package (the folder
# above this one) on the path, whatever the working directory.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from longtail_benchmark.ablation import run_ablation  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', default='work_dirs/longtail_ablation',
                        help='folder for runs/, results.json, table.md and '
                        'the plots')
    parser.add_argument('--sim-seeds', type=int, nargs='+',
                        default=list(range(10)))
    parser.add_argument('--det-seeds', type=int, nargs='+',
                        default=[0, 1, 2])
    parser.add_argument('--data-root', default='data/synthetic_lvis')
    parser.add_argument('--data-seed', type=int, default=0,
                        help='seed of the generated detector dataset')
    parser.add_argument('--only', choices=('simulator', 'detector'),
                        help='run one bench only')
    parser.add_argument('--workers', type=int, default=2,
                        help='runs trained at once, one process each (every '
                        'run is single-threaded, so the numbers do not '
                        'depend on it)')
    args = parser.parse_args()
    benches = (args.only, ) if args.only else ('detector', 'simulator')
    run_ablation(args.out, args.sim_seeds, args.det_seeds, args.data_root,
                 args.data_seed, benches, args.workers)


if __name__ == '__main__':
    main()
