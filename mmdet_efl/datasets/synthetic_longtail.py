"""A generated long-tailed detection dataset in LVIS v1 (or COCO) format.

Nobody can download LVIS on a CPU-only machine without internet, yet the
papers' claim (EFL helps rare categories, EFL Table 2) should be testable
before renting GPUs. This generator draws images of simple shapes whose
category is a visual property a small CNN can learn: the pair (shape, colour).
Category frequencies follow a Zipf-like (Zipf-Mandelbrot) law so that, by
LVIS's own definition (rare: 1-10 training images, common: 11-100, frequent:
> 100), all three groups are populated. The files are what mmdet's
``LVISV1Dataset`` and the official lvis-api read, with ``frequency``,
``image_count``, ``instance_count``, ``neg_category_ids`` and
``not_exhaustive_category_ids`` filled in. Everything is deterministic
from the seed.

``balanced=True`` writes a COCO-format dataset with uniform category
frequencies instead, for the "EFL equals FL on balanced data" check (EFL
Table 9).
"""
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import cv2
import numpy as np

SHAPES: Tuple[str, ...] = ('disc', 'square', 'triangle', 'cross', 'ring',
                           'diamond')
COLOURS: Dict[str, Tuple[int, int, int]] = {  # BGR, for cv2
    'red': (40, 40, 220),
    'green': (60, 180, 60),
    'blue': (200, 110, 20),
    'yellow': (30, 220, 230),
    'magenta': (200, 40, 200),
    'cyan': (220, 220, 40),
    'orange': (20, 130, 245),
    'white': (245, 245, 245),
}
# LVIS v1 groups by the number of training images a category appears in.
RARE_MAX_IMAGES = 10
COMMON_MAX_IMAGES = 100
# The URL prefix mmdet's LVISV1Dataset strips from ``coco_url`` to find the
# image file under ``data_prefix``.
_LVIS_URL_PREFIX = 'http://images.cocodataset.org/'


@dataclass
class SyntheticSpec:
    """What to generate.

    Attributes:
        num_classes: number of categories, at most ``len(SHAPES) *
            len(COLOURS)``.
        num_train: training images.
        num_val: validation images.
        image_size: side of the square images, in pixels.
        max_objects: the most objects one image holds.
        max_images: training images of the most frequent category.
        min_images: training images of the rarest category.
        zipf_shift: ``q`` of the Zipf-Mandelbrot law: category ``k`` (by
            rank) appears in ``n_k = A (k + q) ** -a`` training images, with
            ``A`` and ``a`` fitted to ``max_images`` and ``min_images``. A
            shift flattens the head of a pure Zipf law (``q = 1``) so that
            frequent categories are more than a handful.
        min_val_images: every category appears in at least so many
            validation images, so that its AP is measured at all.
        balanced: uniform category frequencies and COCO format.
        seed: the seed of everything.
    """
    num_classes: int = 24
    num_train: int = 600
    num_val: int = 150
    image_size: int = 128
    max_objects: int = 5
    max_images: int = 400
    min_images: int = 3
    zipf_shift: float = 12.0
    min_val_images: int = 4
    balanced: bool = False
    seed: int = 0


def category_names(num_classes: int) -> List[str]:
    """``'<colour>_<shape>'`` for the first ``num_classes`` categories,
    shapes varying fastest so that neighbouring categories differ in
    shape and in colour."""
    limit = len(SHAPES) * len(COLOURS)
    if not 1 <= num_classes <= limit:
        raise ValueError(f'num_classes must be in [1, {limit}], got '
                         f'{num_classes}')
    colours = list(COLOURS)
    return [f'{colours[(k // len(SHAPES) + k) % len(colours)]}_'
            f'{SHAPES[k % len(SHAPES)]}' for k in range(num_classes)]


def frequency_group(image_count: int) -> str:
    """LVIS's ``frequency`` letter for a category seen in so many images."""
    if image_count <= RARE_MAX_IMAGES:
        return 'r'
    return 'c' if image_count <= COMMON_MAX_IMAGES else 'f'


def _draw(img: np.ndarray, shape: str, colour: Tuple[int, int, int],
          box: Tuple[int, int, int, int]) -> None:
    x0, y0, w, h = box
    x1, y1 = x0 + w - 1, y0 + h - 1
    cx, cy = x0 + w // 2, y0 + h // 2
    if shape == 'disc':
        cv2.ellipse(img, (cx, cy), (w // 2, h // 2), 0, 0, 360, colour, -1)
    elif shape == 'ring':
        thick = max(2, min(w, h) // 5)
        cv2.ellipse(img, (cx, cy), (w // 2 - thick // 2, h // 2 - thick // 2),
                    0, 0, 360, colour, thick)
    elif shape == 'square':
        cv2.rectangle(img, (x0, y0), (x1, y1), colour, -1)
    elif shape == 'triangle':
        pts = np.array([[cx, y0], [x1, y1], [x0, y1]], np.int32)
        cv2.fillPoly(img, [pts], colour)
    elif shape == 'diamond':
        pts = np.array([[cx, y0], [x1, cy], [cx, y1], [x0, cy]], np.int32)
        cv2.fillPoly(img, [pts], colour)
    elif shape == 'cross':
        tw, th = max(2, w // 3), max(2, h // 3)
        cv2.rectangle(img, (cx - tw // 2, y0), (cx + tw // 2, y1), colour, -1)
        cv2.rectangle(img, (x0, cy - th // 2), (x1, cy + th // 2), colour, -1)
    else:
        raise ValueError(f'unknown shape {shape!r}')


def _place(rng: np.random.Generator, size: int,
           boxes: List[Tuple[int, int, int, int]]
           ) -> Optional[Tuple[int, int, int, int]]:
    """A box of random size that overlaps no other box much."""
    for _ in range(50):
        side = int(rng.integers(size // 8, size // 3))
        w = side
        h = int(np.clip(side * rng.uniform(0.75, 1.33), size // 10, size // 2))
        x = int(rng.integers(0, size - w))
        y = int(rng.integers(0, size - h))
        if all(x + w <= bx or bx + bw <= x or y + h <= by or by + bh <= y
               for bx, by, bw, bh in boxes):
            return x, y, w, h
    return None


def category_image_counts(spec: SyntheticSpec) -> np.ndarray:
    """Training images per category, by rank (Zipf-Mandelbrot, see
    :class:`SyntheticSpec`); uniform when ``balanced``."""
    if spec.balanced:
        per_class = spec.num_train * (spec.max_objects + 1) // 2
        return np.full(spec.num_classes,
                       max(1, per_class // spec.num_classes))
    if not 1 <= spec.min_images <= spec.max_images <= spec.num_train:
        raise ValueError('need 1 <= min_images <= max_images <= num_train, '
                         f'got {spec.min_images}, {spec.max_images}, '
                         f'{spec.num_train}')
    q = spec.zipf_shift
    rank = np.arange(spec.num_classes, dtype=np.float64)
    last = max(spec.num_classes - 1, 1)
    a = np.log(spec.max_images / spec.min_images) / np.log((last + q) / q)
    counts = spec.max_images * ((rank + q) / q)**-a
    return np.maximum(np.round(counts).astype(int), 1)


def _assign(rng: np.random.Generator, counts: np.ndarray, num_images: int,
            max_objects: int) -> List[List[int]]:
    """Puts category ``k`` into ``counts[k]`` distinct images, rarest first,
    each time into the least-loaded images (ties broken at random), so
    that loads stay even and every count fits."""
    per_image: List[List[int]] = [[] for _ in range(num_images)]
    for cat in np.argsort(counts, kind='stable'):
        load = np.array([len(cats) for cats in per_image])
        order = np.lexsort((rng.random(num_images), load))
        chosen = order[:int(counts[cat])]
        if len(chosen) < counts[cat] or load[chosen].max() >= max_objects:
            raise ValueError(f'{num_images} images of at most {max_objects} '
                             'objects cannot hold the requested counts')
        for i in chosen:
            per_image[i].append(int(cat))
    return per_image


def _render_split(rng: np.random.Generator, spec: SyntheticSpec,
                  per_image: List[List[int]], split: str, out_dir: Path,
                  first_image_id: int, first_ann_id: int,
                  render: bool = True) -> Tuple[list, list]:
    names = category_names(spec.num_classes)
    images, anns = [], []
    ann_id = first_ann_id
    (out_dir / split).mkdir(parents=True, exist_ok=True)
    for index, cats in enumerate(per_image):
        img_id = first_image_id + index
        # background: dark noise, so that shapes are the only structure
        img = rng.integers(0, 60, (spec.image_size, spec.image_size, 3),
                           dtype=np.uint8)
        boxes: List[Tuple[int, int, int, int]] = []
        for cat in cats:
            box = _place(rng, spec.image_size, boxes)
            if box is None:
                continue
            boxes.append(box)
            colour_name, shape = names[cat].split('_')
            _draw(img, shape, COLOURS[colour_name], box)
            x, y, w, h = box
            anns.append(
                dict(
                    id=ann_id,
                    image_id=img_id,
                    category_id=cat + 1,
                    bbox=[float(x), float(y), float(w), float(h)],
                    area=float(w * h),
                    segmentation=[[x, y, x + w, y, x + w, y + h, x, y + h]],
                    iscrowd=0))
            ann_id += 1
        file_name = f'{split}/{img_id:06d}.png'
        if render:
            cv2.imwrite(str(out_dir / file_name), img)
        images.append(
            dict(
                id=img_id,
                file_name=file_name,
                coco_url=_LVIS_URL_PREFIX + file_name,
                height=spec.image_size,
                width=spec.image_size))
    return images, anns


def _categories(spec: SyntheticSpec, train_anns: list) -> List[dict]:
    image_sets: Dict[int, set] = {}
    instances: Dict[int, int] = {}
    for ann in train_anns:
        image_sets.setdefault(ann['category_id'], set()).add(ann['image_id'])
        instances[ann['category_id']] = instances.get(ann['category_id'],
                                                      0) + 1
    cats = []
    for k, name in enumerate(category_names(spec.num_classes)):
        cat_id = k + 1
        count = len(image_sets.get(cat_id, ()))
        cats.append(
            dict(
                id=cat_id,
                name=name,
                synset=f'{name}.n.01',
                frequency=frequency_group(count),
                image_count=count,
                instance_count=instances.get(cat_id, 0)))
    return cats


def _lvis_image_fields(images: list, anns: list, rng: np.random.Generator,
                       num_classes: int) -> None:
    """Fills LVIS's federated-annotation fields. Every category present in
    an image is exhaustively annotated, and a few absent ones are verified
    negatives, so ``neg_category_ids`` lets the evaluation count false
    positives on them."""
    present: Dict[int, set] = {}
    for ann in anns:
        present.setdefault(ann['image_id'], set()).add(ann['category_id'])
    for img in images:
        have = present.get(img['id'], set())
        absent = [c for c in range(1, num_classes + 1) if c not in have]
        take = min(len(absent), max(1, num_classes // 3))
        img['neg_category_ids'] = sorted(
            int(c) for c in rng.choice(absent, size=take, replace=False))
        img['not_exhaustive_category_ids'] = []


def generate_dataset(out_dir: str, spec: SyntheticSpec,
                     render: bool = True) -> Dict[str, str]:
    """Writes images and ``annotations/{train,val}.json`` under ``out_dir``.

    ``render=False`` writes the annotations only (for evaluation
    benchmarks); the boxes are the same.

    Returns the paths of the two annotation files.
    """
    out = Path(out_dir)
    rng = np.random.default_rng(spec.seed)
    counts = category_image_counts(spec)
    val_counts = np.maximum(
        np.round(counts * spec.num_val / spec.num_train).astype(int),
        min(spec.min_val_images, spec.num_val))
    train_images, train_anns = _render_split(
        rng, spec, _assign(rng, counts, spec.num_train, spec.max_objects),
        'train', out, 1, 1, render)
    val_images, val_anns = _render_split(
        rng, spec, _assign(rng, val_counts, spec.num_val, spec.max_objects),
        'val', out, spec.num_train + 1, len(train_anns) + 1, render)
    categories = _categories(spec, train_anns)
    (out / 'annotations').mkdir(parents=True, exist_ok=True)
    paths = {}
    for split, images, anns in (('train', train_images, train_anns),
                                ('val', val_images, val_anns)):
        if not spec.balanced:
            _lvis_image_fields(images, anns, rng, spec.num_classes)
        data = dict(
            info=dict(description='mmdet-efl synthetic long-tail dataset',
                      seed=spec.seed),
            licenses=[],
            images=images,
            annotations=anns,
            categories=categories)
        path = out / 'annotations' / f'{split}.json'
        path.write_text(json.dumps(data))
        paths[split] = str(path)
    return paths


def dataset_summary(ann_file: str) -> Dict[str, int]:
    """Number of categories per LVIS frequency group in an annotation file."""
    with open(ann_file) as f:
        cats = json.load(f)['categories']
    counts = {'r': 0, 'c': 0, 'f': 0}
    for cat in cats:
        counts[cat.get('frequency', frequency_group(cat['image_count']))] += 1
    return {'rare': counts['r'], 'common': counts['c'],
            'frequent': counts['f'], 'total': len(cats)}
