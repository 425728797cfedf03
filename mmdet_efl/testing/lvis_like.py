"""Annotation-only LVIS v1 files of the real sizes, and detections of a
detector's shape, for measuring loading and evaluation without the data.

LVIS v1 (Gupta et al., 2019; the files ``lvis_v1_{train,val}.json``):

* train: 100,170 images, 1,270,141 boxes; val: 19,809 images, 244,707
  boxes; 1,203 categories, 337 rare, 461 common, 405 frequent, ordered by
  id with the groups interleaved (the ids follow the names).
* every image has ``neg_category_ids`` and ``not_exhaustive_category_ids``;
  every annotation a polygon ``segmentation``, ``area`` and ``bbox``.

The files written here have those counts (scaled down with fewer
images), all the fields of the real records, and polygons of
``polygon_points`` vertices; box counts per image are long-tailed and
categories are drawn by a popularity that follows their group. No image
pixels are written: the image files, where a dataset needs them, are
empty files (:func:`touch_images`).

The detections (:func:`lvis_like_detections`) are those of a detector
configured as mmdet's LVIS models are (``max_per_img=300``): exactly
``per_image`` per image, one jittered box per ground truth with its
category, the rest false positives, half of them on a category the image
has ground truth or a negative label for (which the federated protocol
judges), half on any category (which it ignores).
"""
import json
import os
import os.path as osp
from typing import Dict, Optional

import numpy as np

#: the real sizes of LVIS v1
LVIS_V1 = dict(train=dict(images=100_170, boxes=1_270_141),
               val=dict(images=19_809, boxes=244_707))
LVIS_V1_GROUPS = dict(r=337, c=461, f=405)
#: relative popularity of a category of each group when drawing boxes
_POPULARITY = dict(r=1.0, c=12.0, f=150.0)
#: the most ground-truth boxes of one image (detections stay at 300)
MAX_GT_PER_IMAGE = 200


def _groups(num_categories: int) -> Dict[str, int]:
    """LVIS's r/c/f proportions for ``num_categories`` (1,203: the real
    337/461/405)."""
    total = sum(LVIS_V1_GROUPS.values())
    counts = {g: int(round(n * num_categories / total))
              for g, n in LVIS_V1_GROUPS.items()}
    counts['c'] += num_categories - sum(counts.values())
    return counts


def lvis_like_arrays(split: str = 'val', images: Optional[int] = None,
                     num_categories: int = 1203,
                     seed: int = 0) -> Dict[str, np.ndarray]:
    """The content of an LVIS-like file as arrays.

    Args:
        split: ``'train'`` or ``'val'`` (the real sizes, :data:`LVIS_V1`).
        images: the number of images (default the split's); the number of
            boxes is scaled with it.
        num_categories: 1,203 for LVIS v1.
        seed: everything follows from it.

    Returns:
        ``img_ids``, ``widths``, ``heights`` (I,); ``neg`` and
        ``not_exhaustive`` (lists of category-id arrays per image);
        ``box_img`` (image index), ``box_cat`` (category id), ``boxes``
        (B, 4) xywh and ``areas`` (B,); ``frequencies`` (C,) of category
        ids 1..C.
    """
    if split not in LVIS_V1:
        raise ValueError(f"split must be 'train' or 'val', got {split!r}")
    real = LVIS_V1[split]
    num_images = real['images'] if images is None else int(images)
    if num_images < 1 or num_categories < 3:
        raise ValueError('need at least 1 image and 3 categories, got '
                         f'{num_images} and {num_categories}')
    num_boxes = max(num_images, round(real['boxes'] * num_images /
                                      real['images']))
    rng = np.random.default_rng(seed)
    groups = _groups(num_categories)
    frequencies = np.array([g for g, n in groups.items() for _ in range(n)])
    rng.shuffle(frequencies)
    popularity = np.array([_POPULARITY[f] for f in frequencies]) * \
        rng.lognormal(0.0, 0.7, num_categories)
    popularity /= popularity.sum()

    img_ids = np.sort(rng.choice(np.arange(1, 6 * num_images + 10),
                                 num_images, replace=False))
    widths = np.full(num_images, 640)
    heights = rng.integers(360, 641, num_images)
    flip = rng.random(num_images) < 0.3
    widths[flip], heights[flip] = heights[flip], 640
    # long-tailed boxes per image, at least one, at most MAX_GT_PER_IMAGE
    weights = rng.gamma(0.7, 1.0, num_images)
    counts = 1 + rng.multinomial(num_boxes - num_images,
                                 weights / weights.sum())
    counts = np.minimum(counts, MAX_GT_PER_IMAGE)

    box_cat, neg, not_exhaustive = [], [], []
    cat_ids = np.arange(1, num_categories + 1)
    for n in counts.tolist():
        k = min(n, 1 + rng.poisson(2.5))
        present = np.unique(rng.choice(cat_ids, k, p=popularity))
        per_cat = 1 + rng.multinomial(n - len(present),
                                      np.full(len(present),
                                              1 / len(present)))
        box_cat.append(np.repeat(present, per_cat))
        candidates = rng.choice(cat_ids, 1 + rng.poisson(6), p=popularity)
        neg.append(np.setdiff1d(candidates, present))
        not_exhaustive.append(
            present[rng.random(len(present)) < 0.12])
    box_cat = np.concatenate(box_cat)
    box_img = np.repeat(np.arange(num_images), counts)
    # box sides log-uniform from 6 px to the image: every area range occurs
    img_w, img_h = widths[box_img], heights[box_img]
    w = np.minimum(np.exp(rng.uniform(np.log(6), np.log(500), len(box_img))),
                   img_w - 1)
    h = np.minimum(w * np.exp(rng.uniform(-0.7, 0.7, len(box_img))),
                   img_h - 1)
    h = np.maximum(h, 2.0)
    x = rng.uniform(0, 1, len(box_img)) * (img_w - w)
    y = rng.uniform(0, 1, len(box_img)) * (img_h - h)
    boxes = np.round(np.stack([x, y, w, h], axis=1), 2)
    # a polygon covers part of its box
    areas = np.round(boxes[:, 2] * boxes[:, 3] *
                     rng.uniform(0.5, 0.9, len(box_img)), 2)
    return dict(img_ids=img_ids, widths=widths, heights=heights, neg=neg,
                not_exhaustive=not_exhaustive, box_img=box_img,
                box_cat=box_cat, boxes=boxes, areas=areas,
                frequencies=frequencies)


def write_lvis_like(path: str, split: str = 'val',
                    images: Optional[int] = None, num_categories: int = 1203,
                    polygon_points: int = 32, seed: int = 0) -> Dict:
    """Writes an LVIS-like annotation file (see the module doc) at
    ``path``, record by record (bounded memory at train size).

    Returns:
        The arrays of :func:`lvis_like_arrays`, plus ``split``.
    """
    data = lvis_like_arrays(split, images, num_categories, seed)
    rng = np.random.default_rng(seed + 1)
    folder = 'train2017' if split == 'train' else 'val2017'
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    freq = data['frequencies']
    box_cat = data['box_cat']
    image_counts = np.bincount(
        np.unique(data['box_img'] * (len(freq) + 1) + box_cat) %
        (len(freq) + 1), minlength=len(freq) + 1)
    instance_counts = np.bincount(box_cat, minlength=len(freq) + 1)
    angles = np.linspace(0, 2 * np.pi, polygon_points, endpoint=False)
    with open(path, 'w') as f:
        f.write('{"info": {"description": "LVIS-like annotation-only file '
                '(mmdet_efl.testing.lvis_like)", "version": "1.0"}, '
                '"licenses": [{"id": 1, "name": "none", "url": ""}], '
                '"images": [')
        for i, img_id in enumerate(data['img_ids'].tolist()):
            f.write((', ' if i else '') + json.dumps(dict(
                id=img_id, license=1, height=int(data['heights'][i]),
                width=int(data['widths'][i]),
                coco_url=f'http://images.cocodataset.org/{folder}/'
                f'{img_id:012d}.jpg',
                flickr_url=f'http://farm1.staticflickr.com/{img_id}.jpg',
                date_captured='2013-11-14 16:28:13',
                neg_category_ids=data['neg'][i].tolist(),
                not_exhaustive_category_ids=data['not_exhaustive'][i]
                .tolist())))
        f.write('], "annotations": [')
        img_ids = data['img_ids'][data['box_img']].tolist()
        for k, (box, area) in enumerate(zip(data['boxes'].tolist(),
                                            data['areas'].tolist())):
            x, y, w, h = box
            radius = rng.uniform(0.8, 1.0, polygon_points)
            px = x + w / 2 * (1 + radius * np.cos(angles))
            py = y + h / 2 * (1 + radius * np.sin(angles))
            polygon = np.round(np.stack([px, py], 1).ravel(), 2).tolist()
            f.write((', ' if k else '') + json.dumps(dict(
                id=k + 1, image_id=img_ids[k],
                category_id=int(box_cat[k]), segmentation=[polygon],
                area=area, bbox=box)))
        f.write('], "categories": [')
        for c in range(1, len(freq) + 1):
            name = f'category_{c:04d}'
            f.write((', ' if c > 1 else '') + json.dumps({
                'id': c, 'name': name, 'synset': f'{name}.n.01',
                'synonyms': [name], 'def': f'made-up category {c}',
                'instance_count': int(instance_counts[c]),
                'image_count': int(image_counts[c]),
                'frequency': str(freq[c - 1])}))
        f.write(']}')
    data['split'] = split
    return data


def lvis_like_detections(data: Dict, per_image: int = 300,
                         seed: int = 0) -> Dict[str, np.ndarray]:
    """Detections of ``data`` (:func:`lvis_like_arrays`) in the form of
    mmdet's per-image results: exactly ``per_image`` per image (see the
    module doc).

    Returns:
        ``img_ids`` (N,) int64, ``bboxes`` (N, 4) float32 xyxy pixels,
        ``scores`` (N,) float32, ``labels`` (N,) int32 (category id - 1,
        the index into the file's categories), grouped by image in the
        order of ``data['img_ids']``.
    """
    rng = np.random.default_rng(seed + 2)
    num_images = len(data['img_ids'])
    num_cats = len(data['frequencies'])
    gt_counts = np.bincount(data['box_img'], minlength=num_images)
    if gt_counts.max() > per_image:
        raise ValueError(f'an image has {gt_counts.max()} boxes, more than '
                         f'per_image={per_image}')
    fp_counts = per_image - gt_counts
    # one jittered box per ground truth
    boxes = data['boxes']
    jitter = rng.normal(0, 0.1, boxes.shape) * boxes[:, [2, 3, 2, 3]]
    tp = boxes + jitter
    tp[:, 2:] = np.maximum(tp[:, 2:], 1.0)
    tp_scores = rng.uniform(0.05, 1.0, len(boxes))
    # false positives: half on a judged category of the image
    fp_img = np.repeat(np.arange(num_images), fp_counts)
    fp_cat = rng.integers(1, num_cats + 1, len(fp_img))
    starts = np.r_[0, np.cumsum(gt_counts)]
    fp_starts = np.r_[0, np.cumsum(fp_counts)]
    judged = rng.random(len(fp_img)) < 0.5
    for i in range(num_images):
        rows = np.arange(fp_starts[i], fp_starts[i + 1])
        rows = rows[judged[rows]]
        known = np.r_[data['box_cat'][starts[i]:starts[i + 1]],
                      data['neg'][i]]
        fp_cat[rows] = rng.choice(known, len(rows))
    w_img = data['widths'][fp_img]
    h_img = data['heights'][fp_img]
    fw = rng.uniform(0.03, 0.6, len(fp_img)) * w_img
    fh = rng.uniform(0.03, 0.6, len(fp_img)) * h_img
    fx = rng.uniform(0, 1, len(fp_img)) * (w_img - fw)
    fy = rng.uniform(0, 1, len(fp_img)) * (h_img - fh)
    fp = np.stack([fx, fy, fw, fh], axis=1)
    fp_scores = rng.uniform(0.0, 0.6, len(fp_img))

    img = np.r_[data['box_img'], fp_img]
    scores = np.r_[tp_scores, fp_scores].astype(np.float32)
    # by image, highest score first, as mmdet's heads return them
    order = np.lexsort((-scores, img))
    xywh = np.r_[tp, fp][order]
    xyxy = np.c_[xywh[:, :2], xywh[:, :2] + xywh[:, 2:]]
    return dict(img_ids=data['img_ids'][img[order]].astype(np.int64),
                bboxes=xyxy.astype(np.float32),
                scores=scores[order],
                labels=(np.r_[data['box_cat'], fp_cat][order] - 1).astype(
                    np.int32))


def touch_images(data: Dict, root: str) -> str:
    """Empty image files where an LVIS v1 dataset looks for them
    (``root/{train,val}2017/<id>.jpg``); returns the folder."""
    folder = osp.join(root, 'train2017' if data['split'] == 'train'
                      else 'val2017')
    os.makedirs(folder, exist_ok=True)
    for img_id in data['img_ids'].tolist():
        open(osp.join(folder, f'{img_id:012d}.jpg'), 'w').close()
    return folder
