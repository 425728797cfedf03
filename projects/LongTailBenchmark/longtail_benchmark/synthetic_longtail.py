"""A generated long-tailed detection dataset in LVIS v1 (or COCO) format.

Nobody can download LVIS on a CPU-only machine without internet, yet the
papers' claim (EFL helps rare categories, EFL Table 2) should be testable
before renting GPUs. What makes LVIS's rare categories hard is that each
must be learned from its own handful of images, while it looks like frequent
categories that flood the classifier with negatives. This generator builds
that structure from glyphs:

* A category is a binary pattern on a ``glyph_cells x glyph_cells`` grid,
  drawn inside a square frame (the frame makes the box visible; the pattern
  is the identity). Colour and size are drawn per instance and carry no
  information.
* Categories come in families of ``family_size`` look-alikes: a random base
  pattern per family, each member flipping its own ``member_flips`` cells of
  it (disjoint between members), so members differ from each other in
  ``2 * member_flips`` cells. A member's identity is a set of cells no other
  category teaches; it cannot be composed from attributes of other
  categories.
* Categories are ranked by frequency and dealt to families round-robin, so
  every family holds a frequent member and the rarest members are look-alikes
  of frequent ones.
* Training-image counts follow LVIS's group structure: by rank, log-linear
  from ``max_images`` down to 101 over the frequent share, to 11 over the
  common share and to ``min_images`` over the rare share (LVIS v1: rare 1-10
  training images, common 11-100, frequent > 100; 28 / 38 / 34 % of 1203
  categories).

The files are what mmdet's ``LVISV1Dataset`` and the official lvis-api read,
with ``frequency``, ``image_count``, ``instance_count``, ``neg_category_ids``
and ``not_exhaustive_category_ids`` filled in. Everything is deterministic
from the seed.

``balanced=True`` writes a COCO-format dataset with uniform category
frequencies instead, for the "EFL equals FL on balanced data" check (EFL
Table 9).
"""
import colorsys
import json
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import cv2
import numpy as np

from mmdet_efl.datasets.longtail import (COMMON_MAX_IMAGES, GROUP_NAMES,
                                         RARE_MAX_IMAGES,
                                         annotation_frequencies,
                                         frequency_group)

# The URL prefix mmdet's LVISV1Dataset strips from ``coco_url`` to find the
# image file under ``data_prefix``.
_LVIS_URL_PREFIX = 'http://images.cocodataset.org/'


@dataclass
class SyntheticSpec:
    """What to generate.

    Attributes:
        num_classes: number of categories.
        family_size: look-alike categories per family.
        glyph_cells: side of a glyph's pattern grid, in cells.
        member_flips: cells in which a family member differs from the
            family's base pattern (its own cells, disjoint from its
            siblings'); ``family_size * member_flips <= glyph_cells ** 2``.
        num_train: training images.
        num_val: validation images.
        image_size: side of the square images, in pixels.
        max_objects: the most objects one image holds.
        max_images: training images of the most frequent category.
        min_images: training images of the rarest category.
        rare_share: share of categories that are rare (LVIS v1: 0.28).
        common_share: share of categories that are common (LVIS v1: 0.38);
            the rest are frequent when ``max_images`` exceeds 100.
        min_val_images: every category appears in at least so many
            validation images, so that its AP is measured at all.
        balanced: uniform category frequencies and COCO format.
        seed: the seed of everything.
    """
    num_classes: int = 100
    family_size: int = 4
    glyph_cells: int = 4
    member_flips: int = 2
    num_train: int = 1500
    num_val: int = 400
    image_size: int = 128
    max_objects: int = 6
    max_images: int = 300
    min_images: int = 2
    rare_share: float = 0.25
    common_share: float = 0.40
    min_val_images: int = 5
    balanced: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        problems = []
        if self.num_classes < 1:
            problems.append(f'num_classes={self.num_classes} must be >= 1')
        if self.family_size < 1:
            problems.append(f'family_size={self.family_size} must be >= 1')
        if self.glyph_cells < 2:
            problems.append(f'glyph_cells={self.glyph_cells} must be >= 2')
        if self.family_size * self.member_flips > self.glyph_cells**2:
            problems.append(
                f'family_size * member_flips = {self.family_size} * '
                f'{self.member_flips} exceeds the {self.glyph_cells ** 2} '
                'cells of a glyph')
        if not self.balanced and not (1 <= self.min_images <= self.max_images
                                      <= self.num_train):
            problems.append('need 1 <= min_images <= max_images <= '
                            f'num_train, got {self.min_images}, '
                            f'{self.max_images}, {self.num_train}')
        if not (0 <= self.rare_share and 0 <= self.common_share
                and self.rare_share + self.common_share <= 1):
            problems.append(f'rare_share={self.rare_share} and common_share='
                            f'{self.common_share} must be shares summing to '
                            'at most 1')
        if self.image_size < 32:
            problems.append(f'image_size={self.image_size} must be >= 32')
        if problems:
            raise ValueError('SyntheticSpec: ' + '; '.join(problems))


def category_names(spec: SyntheticSpec) -> List[str]:
    """``'glyph<family>_<member>'`` per category, in rank order (most
    frequent first): rank ``k`` is member ``k // F`` of family ``k % F``
    with ``F`` families."""
    families = _num_families(spec)
    letters = string.ascii_lowercase
    return [f'glyph{k % families:02d}_{letters[(k // families) % 26]}'
            f'{"" if k // families < 26 else k // families // 26}'
            for k in range(spec.num_classes)]


def _num_families(spec: SyntheticSpec) -> int:
    return -(-spec.num_classes // spec.family_size)


def glyph_patterns(spec: SyntheticSpec) -> np.ndarray:
    """The ``[C, cells, cells]`` boolean pattern of every category, in rank
    order. Deterministic from ``spec.seed`` (a stream of its own, so the
    patterns do not depend on the image counts)."""
    rng = np.random.default_rng([spec.seed, 1])
    cells = spec.glyph_cells
    families = _num_families(spec)
    patterns = np.zeros((spec.num_classes, cells, cells), dtype=bool)
    seen = set()
    for family in range(families):
        members = list(range(family, spec.num_classes, families))
        while True:
            base = rng.random(cells * cells) < 0.5
            order = rng.permutation(cells * cells)
            glyphs = []
            for m in range(len(members)):
                flip = order[m * spec.member_flips:(m + 1) *
                             spec.member_flips]
                glyph = base.copy()
                glyph[flip] = ~glyph[flip]
                glyphs.append(glyph)
            keys = [g.tobytes() for g in glyphs]
            # distinct from every other category, and never blank
            if all(g.any() for g in glyphs) and \
                    len(set(keys)) == len(keys) and not seen & set(keys):
                break
        seen.update(keys)
        for k, glyph in zip(members, glyphs):
            patterns[k] = glyph.reshape(cells, cells)
    return patterns


def category_image_counts(spec: SyntheticSpec) -> np.ndarray:
    """Training images per category, by rank; uniform when ``balanced``.

    Log-linear in rank between knots at the group boundaries: ``max_images``
    at rank 0, 100.5 / 10.5 images where the frequent / common shares end
    (knots outside ``[min_images, max_images]`` are left out), and
    ``min_images`` at the last rank."""
    if spec.balanced:
        per_class = spec.num_train * (spec.max_objects + 1) // 2
        return np.full(spec.num_classes,
                       max(1, per_class // spec.num_classes))
    c = spec.num_classes
    last = max(c - 1, 1)
    rare_start = c * (1 - spec.rare_share) - 0.5
    common_start = c * (1 - spec.rare_share - spec.common_share) - 0.5
    knots = [(0.0, float(spec.max_images))]
    for rank, images in ((common_start, COMMON_MAX_IMAGES + 0.5),
                         (rare_start, RARE_MAX_IMAGES + 0.5)):
        if spec.min_images < images < spec.max_images and 0 < rank < last:
            knots.append((rank, images))
    knots.append((float(last), float(spec.min_images)))
    xs, ys = zip(*knots)
    counts = np.exp(np.interp(np.arange(c), xs, np.log(ys)))
    return np.clip(np.round(counts).astype(int), spec.min_images,
                   spec.max_images)


def _draw(img: np.ndarray, pattern: np.ndarray, colour: Tuple[int, int, int],
          box: Tuple[int, int, int, int]) -> None:
    """A frame around the box and the pattern's cells inside it."""
    x0, y0, w, h = box
    frame = max(1, min(w, h) // 10)
    cv2.rectangle(img, (x0, y0), (x0 + w - 1, y0 + h - 1), colour, frame)
    cells = pattern.shape[0]
    inner_w, inner_h = w - 4 * frame, h - 4 * frame
    left, top = x0 + 2 * frame, y0 + 2 * frame
    for row, col in zip(*np.nonzero(pattern)):
        cx0 = left + col * inner_w // cells
        cx1 = left + (col + 1) * inner_w // cells - 1
        cy0 = top + row * inner_h // cells
        cy1 = top + (row + 1) * inner_h // cells - 1
        cv2.rectangle(img, (cx0, cy0), (cx1, cy1), colour, -1)


def _colour(rng: np.random.Generator) -> Tuple[int, int, int]:
    """A random bright BGR colour: colour carries no category
    information."""
    r, g, b = colorsys.hsv_to_rgb(rng.random(), rng.uniform(0.5, 1.0),
                                  rng.uniform(0.7, 1.0))
    return int(255 * b), int(255 * g), int(255 * r)


def _place(rng: np.random.Generator, size: int,
           boxes: List[Tuple[int, int, int, int]]
           ) -> Optional[Tuple[int, int, int, int]]:
    """A box of random size that overlaps no other box; in a crowded image
    the later tries draw smaller boxes, so that an object is seldom lost."""
    small, large = size // 6, size // 3
    for attempt in range(200):
        top = large if attempt < 100 else small + (large - small) * (
            199 - attempt) // 100
        w = int(rng.integers(small, top + 1))
        h = int(np.clip(w * rng.uniform(0.8, 1.25), small, large))
        x = int(rng.integers(0, size - w))
        y = int(rng.integers(0, size - h))
        if all(x + w <= bx or bx + bw <= x or y + h <= by or by + bh <= y
               for bx, by, bw, bh in boxes):
            return x, y, w, h
    return None


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
            raise ValueError(
                f'{num_images} images of at most {max_objects} objects '
                f'cannot hold the requested counts ({int(counts.sum())} '
                'category-image pairs); raise num_train/num_val or '
                'max_objects, or lower max_images')
        for i in chosen:
            per_image[i].append(int(cat))
    return per_image


def _render_split(rng: np.random.Generator, spec: SyntheticSpec,
                  patterns: np.ndarray, per_image: List[List[int]],
                  split: str, out_dir: Path, first_image_id: int,
                  first_ann_id: int, render: bool = True
                  ) -> Tuple[list, list]:
    images, anns = [], []
    ann_id = first_ann_id
    (out_dir / split).mkdir(parents=True, exist_ok=True)
    for index, cats in enumerate(per_image):
        img_id = first_image_id + index
        # background: dark noise, so that glyphs are the only structure
        img = rng.integers(0, 60, (spec.image_size, spec.image_size, 3),
                           dtype=np.uint8)
        boxes: List[Tuple[int, int, int, int]] = []
        # rarest first (as _assign lists them): if an image is too
        # crowded, a frequent category loses the instance
        for cat in cats:
            box = _place(rng, spec.image_size, boxes)
            if box is None:
                continue
            boxes.append(box)
            _draw(img, patterns[cat], _colour(rng), box)
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
    for k, name in enumerate(category_names(spec)):
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

    Raises:
        ValueError: if the images cannot hold the requested counts.
    """
    out = Path(out_dir)
    rng = np.random.default_rng(spec.seed)
    patterns = glyph_patterns(spec)
    counts = category_image_counts(spec)
    val_counts = np.maximum(
        np.round(counts * spec.num_val / spec.num_train).astype(int),
        min(spec.min_val_images, spec.num_val))
    train_images, train_anns = _render_split(
        rng, spec, patterns,
        _assign(rng, counts, spec.num_train, spec.max_objects), 'train', out,
        1, 1, render)
    val_images, val_anns = _render_split(
        rng, spec, patterns,
        _assign(rng, val_counts, spec.num_val, spec.max_objects), 'val', out,
        spec.num_train + 1, len(train_anns) + 1, render)
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
    """Number of categories per LVIS frequency group in an annotation file
    (``{'rare': n, 'common': n, 'frequent': n, 'total': n}``)."""
    letters = annotation_frequencies(ann_file)
    summary = {name: letters.count(letter)
               for letter, name in GROUP_NAMES.items()}
    return dict(summary, total=len(letters))
