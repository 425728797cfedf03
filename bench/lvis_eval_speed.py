"""LVIS box evaluation: official lvis-api vs faster-coco-eval's LVIS mode.

    python bench/lvis_eval_speed.py [--images 3000] [--repeats 3]

Generates an LVIS-format annotation file (boxes only, no images) and
imperfect detections, evaluates them with both backends in the same run,
checks the numbers agree, and prints the times and their ratio. Writes the
table as JSON to bench/results/lvis_eval_speed.json.
"""
import argparse
import json
import os
import tempfile
import time

from mmdet_efl.datasets import SyntheticSpec, generate_dataset
from mmdet_efl.evaluation.functional import (BACKENDS, evaluate_lvis,
                                             simulate_detections)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--images', type=int, default=3000)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--out', default='bench/results/lvis_eval_speed.json')
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        spec = SyntheticSpec(num_classes=48, num_train=args.images,
                             num_val=args.images, max_images=args.images // 2,
                             seed=0)
        ann = generate_dataset(tmp, spec, render=False)['val']
        dets = simulate_detections(ann, clutter_per_image=20)
        rows = {}
        for backend in BACKENDS:
            times = []
            for _ in range(args.repeats):
                start = time.perf_counter()
                res = evaluate_lvis(ann, dets, backend=backend)
                times.append(time.perf_counter() - start)
            rows[backend] = dict(seconds=min(times), AP=res['AP'],
                                 APr=res['APr'], APc=res['APc'],
                                 APf=res['APf'])
    base = rows['lvis']['seconds']
    print(f'{args.images} images, {len(dets)} detections, best of '
          f'{args.repeats}')
    print(f"{'backend':<18}{'seconds':>9}{'speed-up':>10}"
          f"{'AP':>9}{'APr':>9}{'APc':>9}{'APf':>9}")
    for backend, row in rows.items():
        row['speedup_vs_lvis'] = base / row['seconds']
        print(f"{backend:<18}{row['seconds']:>9.2f}"
              f"{row['speedup_vs_lvis']:>9.1f}x" + ''.join(
                  f'{row[k]:>9.4f}' for k in ('AP', 'APr', 'APc', 'APf')))
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, 'w') as f:
        json.dump(dict(images=args.images, detections=len(dets), rows=rows),
                  f, indent=2)


if __name__ == '__main__':
    main()
