"""Imperfect detections made from ground truth, for evaluation tests and
benchmarks without a trained model."""
import json
from typing import List

import numpy as np


def simulate_detections(ann_file: str, seed: int = 0,
                        miss_rate: float = 0.2, mislabel_rate: float = 0.2,
                        jitter: float = 0.12,
                        clutter_per_image: int = 4) -> List[dict]:
    """COCO-style results from an LVIS/COCO annotation file.

    Each ground-truth box is missed with ``miss_rate``, otherwise detected
    with relative box noise ``jitter`` and a wrong category with
    ``mislabel_rate``. Every image also gets ``clutter_per_image`` random
    low-score boxes, half of them on its verified-negative categories
    (LVIS ``neg_category_ids``) so that federated evaluation counts them.
    """
    with open(ann_file) as f:
        gt = json.load(f)
    rng = np.random.default_rng(seed)
    num_cats = len(gt['categories'])
    cat_ids = [c['id'] for c in gt['categories']]
    dets = []
    for ann in gt['annotations']:
        if rng.random() < miss_rate:
            continue
        x, y, w, h = ann['bbox']
        d = rng.normal(0, jitter, 4) * [w, h, w, h]
        cat = ann['category_id'] if rng.random() >= mislabel_rate else \
            cat_ids[int(rng.integers(num_cats))]
        dets.append(dict(image_id=ann['image_id'], category_id=cat,
                         bbox=[x + d[0], y + d[1], w + d[2], h + d[3]],
                         score=float(rng.random())))
    for img in gt['images']:
        negs = list(img.get('neg_category_ids', []))
        for k in range(clutter_per_image):
            cat = negs[k % len(negs)] if negs and k % 2 == 0 else \
                cat_ids[int(rng.integers(num_cats))]
            x, y = rng.uniform(0, 0.7, 2) * [img['width'], img['height']]
            w, h = rng.uniform(0.05, 0.3, 2) * [img['width'], img['height']]
            dets.append(dict(image_id=img['id'], category_id=int(cat),
                             bbox=[float(x), float(y), float(w), float(h)],
                             score=float(rng.random() * 0.6)))
    return dets
