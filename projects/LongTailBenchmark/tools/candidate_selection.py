"""Test finished ATSSIoUHead runs under the old and the new test-time
candidate selection (ranked by class score, or by class x IoU).

    python projects/LongTailBenchmark/tools/candidate_selection.py \
        RUN_DIR [RUN_DIR ...] \
        [--out selection.json]

Each RUN_DIR is a finished run's work dir (its saved config and
``last_checkpoint``). Prints AP / APr / APc / APf (%) per run under both
selections and the difference. See ``longtail_benchmark.candidate_selection``.
"""
import argparse
import json
import os.path as osp
import sys
from pathlib import Path

# The project is not installed with the plugin: put its package (the folder
# above this one) on the path, whatever the working directory.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from longtail_benchmark.candidate_selection import (  # noqa: E402
    SELECTIONS, compare_candidate_selection, run_files)
from mmdet_efl.datasets.longtail import METRIC_KEYS  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('runs', nargs='+', help='finished runs\' work dirs')
    parser.add_argument('--out', help='write the numbers as JSON here')
    args = parser.parse_args()
    old, new = SELECTIONS
    rows = {}
    print('| run | ' + ' | '.join(f'{k} {old} / {new} (diff)'
                                  for k in METRIC_KEYS) + ' |')
    print('|---' * (len(METRIC_KEYS) + 1) + '|')
    for run in args.runs:
        files = run_files(run)
        res = compare_candidate_selection(files['config'],
                                          files['checkpoint'], METRIC_KEYS)
        rows[osp.basename(run.rstrip('/'))] = res
        print(f'| {osp.basename(run.rstrip("/"))} | ' + ' | '.join(
            f'{100 * res[old][k]:.2f} / {100 * res[new][k]:.2f} '
            f'({100 * (res[new][k] - res[old][k]):+.2f})'
            for k in METRIC_KEYS) + ' |', flush=True)
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(rows, f, indent=1)


if __name__ == '__main__':
    main()
