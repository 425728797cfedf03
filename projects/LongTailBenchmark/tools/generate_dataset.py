"""Generate the synthetic long-tailed detection dataset (LVIS v1 format).

    python projects/LongTailBenchmark/tools/generate_dataset.py \
        data/synthetic_lvis --seed 0
    python projects/LongTailBenchmark/tools/generate_dataset.py \
        data/synthetic_coco --balanced
    python projects/LongTailBenchmark/tools/generate_dataset.py \
        data/synthetic_lvis \
        --openimages data/synthetic_openimages

See ``longtail_benchmark.synthetic_longtail`` for what is drawn.
"""
import argparse
import dataclasses
import sys
from pathlib import Path

# The project is not installed with the plugin: put its package (the folder
# above this one) on the path, whatever the working directory.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from longtail_benchmark.synthetic_longtail import (  # noqa: E402
    SyntheticSpec, dataset_summary, generate_dataset)
from mmdet_efl.datasets import export_openimages_challenge  # noqa: E402


def main() -> None:
    defaults = SyntheticSpec()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('out_dir', help='output folder')
    parser.add_argument(
        '--openimages', metavar='DIR',
        help='also write it in the OpenImages Challenge 2019 layout to DIR '
        '(the data_root of configs/openimages/)')
    for field in dataclasses.fields(SyntheticSpec):
        default = getattr(defaults, field.name)
        flag = '--' + field.name.replace('_', '-')
        if isinstance(default, bool):
            parser.add_argument(flag, action='store_true')
        else:
            parser.add_argument(flag, type=type(default), default=default)
    args = vars(parser.parse_args())
    out_dir = args.pop('out_dir')
    openimages = args.pop('openimages')
    paths = generate_dataset(out_dir, SyntheticSpec(**args))
    print(f"wrote {paths['train']} and {paths['val']}")
    if openimages:
        export_openimages_challenge(out_dir, openimages)
        print(f'wrote the OpenImages Challenge layout to {openimages}')
    print('categories per frequency group:', dataset_summary(paths['train']))


if __name__ == '__main__':
    main()
