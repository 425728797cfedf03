"""LVIS-style AP of the simulator's classifier.

The simulated detector's candidates in an evaluation image are boxes with
one score per category: one box per object (its anchors' best score per
category, as NMS keeps the best box of a cluster), a few badly localised
boxes per object and background boxes. An object's own box matches its
ground truth (IoU 1) and every other box matches nothing (IoU < 0.5), so AP
is the same at every IoU threshold and measures classification only.

AP follows LVIS (Gupta et al., 2019; lvis-api ``LVISEval``):

* each image keeps its ``max_dets`` (300) highest-scoring (box, category)
  pairs *across* categories;
* a category is evaluated on the images where it is present or verified
  absent (federated; here by default every absent category is verified, as
  the simulator's labels are complete);
* per category, detections are ranked over all its evaluated images and the
  precision envelope is averaged at 101 recall points; group APs are means
  over their categories.

:func:`lvis_gt` and :func:`detections_as_records` write the same evaluation
in LVIS v1 files for the official evaluators; the tests check that
:func:`lvis_style_ap` gives their numbers. It exists because the official
evaluators spend seconds on the ~100k records of one evaluation, which is
longer than a whole simulator run should.

The cap is the path by which over-suppressed rare categories lose AP on
LVIS: a rare object whose own-category score is pushed below 300 other
pairs of its image is dropped before ranking.
:func:`lvis_style_ap` reports the share of ground truth lost this way.
"""
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from torch import Tensor

from mmdet_efl.datasets.longtail import GROUP_METRIC_KEYS, GROUP_ORDER

RECALL_POINTS = np.linspace(0.0, 1.0, 101)

_SLOT = 100  # horizontal pitch of object boxes (px)
_OBJ = 50  # object box side (px)
_NEAR_SHIFT = 30  # a near box is shifted by this: IoU 20*50 / 4000 = 0.25
_BG = 10  # background box side (px)
_BG_TOP = 500  # background boxes lie below every object box


@dataclass
class CappedDetections:
    """The (box, category) pairs each image keeps, flattened.

    Attributes:
        image, category, score: per kept pair ``[D]``.
        kind: 0 own box of an object, 1 badly localised box, 2 background.
        slot: the object's index within its image (kinds 0, 1) or the
            background box's index.
        obj: global object index for kind 0, else -1.
    """
    image: np.ndarray
    category: np.ndarray
    score: np.ndarray
    kind: np.ndarray
    slot: np.ndarray
    obj: np.ndarray


def cap_per_image(object_scores: Tensor, near_scores: Tensor,
                  background_scores: Tensor, obj_image: np.ndarray,
                  num_images: int, max_dets: int) -> CappedDetections:
    """Keeps each image's ``max_dets`` best (box, category) pairs.

    Args:
        object_scores: ``[O, C]`` scores of each object's own box.
        near_scores: ``[O * m, C]``, ``m`` badly localised boxes per object
            (object-major).
        background_scores: ``[I * n, C]``, ``n`` per image (image-major).
        obj_image: ``[O]`` image of each object, sorted.
        num_images: ``I``.
        max_dets: pairs kept per image.
    """
    num_obj, num_classes = object_scores.shape
    if len(background_scores) % num_images:
        raise ValueError(f'{len(background_scores)} background boxes do not '
                         f'split evenly over {num_images} images')
    if num_obj and len(near_scores) % num_obj:
        raise ValueError(f'{len(near_scores)} near boxes for {num_obj} '
                         'objects')
    if np.any(np.diff(obj_image) < 0):
        raise ValueError('objects must be sorted by image')
    n_bg = len(background_scores) // num_images
    m = len(near_scores) // num_obj if num_obj else 0
    ptr = np.searchsorted(obj_image, np.arange(num_images + 1))
    parts = {k: [] for k in ('image', 'category', 'score', 'kind', 'slot',
                             'obj')}
    for img in range(num_images):
        a, b = int(ptr[img]), int(ptr[img + 1])
        n_obj = b - a
        scores = torch.cat([object_scores[a:b], near_scores[a * m:b * m],
                            background_scores[img * n_bg:(img + 1) * n_bg]])
        flat = scores.reshape(-1)
        top_scores, top = torch.topk(flat, min(max_dets, flat.numel()))
        box, cat = np.divmod(top.numpy(), num_classes)
        kind = np.where(box < n_obj, 0, np.where(box < n_obj * (1 + m), 1, 2))
        slot = np.where(kind == 0, box, np.where(
            kind == 1, (box - n_obj) // max(m, 1), box - n_obj * (1 + m)))
        parts['image'].append(np.full(len(box), img))
        parts['category'].append(cat)
        parts['score'].append(top_scores.double().numpy())
        parts['kind'].append(kind)
        parts['slot'].append(slot)
        parts['obj'].append(np.where(kind == 0, a + box, -1))
    return CappedDetections(**{k: np.concatenate(v) if v else np.empty(0)
                               for k, v in parts.items()})


def verified_negatives(obj_image: np.ndarray, obj_label: np.ndarray,
                       num_images: int, num_classes: int,
                       federated_negatives: Optional[int] = None,
                       seed: int = 0) -> np.ndarray:
    """``[I, C]`` bool: category ``c`` verified absent from image ``i``.

    ``None``: every absent category (exhaustive labels). An int: that many
    absent images per category, drawn with ``seed`` (LVIS's federated
    design)."""
    present = np.zeros((num_images, num_classes), dtype=bool)
    present[obj_image, obj_label] = True
    if federated_negatives is None:
        return ~present
    rng = np.random.default_rng([seed, 2])
    neg = np.zeros_like(present)
    for c in range(num_classes):
        absent = np.flatnonzero(~present[:, c])
        take = rng.choice(absent, min(federated_negatives, len(absent)),
                          replace=False)
        neg[take, c] = True
    return neg


def average_precision(scores: np.ndarray, tp: np.ndarray,
                      num_gt: int) -> float:
    """LVIS/COCO AP of one category: ranked detections, precision envelope
    at 101 recall points; -1 without ground truth."""
    if num_gt == 0:
        return -1.0
    order = np.argsort(-scores, kind='mergesort')
    tp = tp[order].astype(float)
    tps = np.cumsum(tp)
    fps = np.cumsum(1 - tp)
    recall = tps / num_gt
    precision = tps / np.maximum(tps + fps, np.spacing(1))
    precision = np.maximum.accumulate(precision[::-1])[::-1]
    idx = np.searchsorted(recall, RECALL_POINTS, side='left')
    q = np.zeros(len(RECALL_POINTS))
    ok = idx < len(precision)
    q[ok] = precision[idx[ok]]
    return float(q.mean())


def lvis_style_ap(object_scores: Tensor, near_scores: Tensor,
                  background_scores: Tensor, obj_image: np.ndarray,
                  obj_label: np.ndarray, num_images: int,
                  groups: Dict[str, List[int]], max_dets: int = 300,
                  federated_negatives: Optional[int] = None,
                  seed: int = 0) -> Dict:
    """AP, APr, APc, APf (in %) of per-category scores, the LVIS way.

    Args:
        object_scores, near_scores, background_scores, obj_image,
        num_images, max_dets: see :func:`cap_per_image`.
        obj_label: ``[O]`` label of each object.
        groups: labels per frequency group (from the training set).
        federated_negatives, seed: see :func:`verified_negatives`.

    Returns:
        ``{'AP', 'APr', 'APc', 'APf', 'per_category_AP' [C] (%, None
        without ground truth), 'lost_to_cap' {group: share of its ground
        truth whose own box and category fell outside its image's top
        max_dets}}``.
    """
    num_classes = object_scores.shape[1]
    dets = cap_per_image(object_scores, near_scores, background_scores,
                         obj_image, num_images, max_dets)
    negs = verified_negatives(obj_image, obj_label, num_images, num_classes,
                              federated_negatives, seed)
    present = np.zeros_like(negs)
    present[obj_image, obj_label] = True
    evaluated = (present | negs)[dets.image, dets.category]
    own = dets.kind == 0
    tp = np.zeros(len(dets.score), dtype=bool)
    tp[own] = obj_label[dets.obj[own]] == dets.category[own]
    num_gt = np.bincount(obj_label, minlength=num_classes)
    per_cat = []
    for c in range(num_classes):
        sel = evaluated & (dets.category == c)
        per_cat.append(average_precision(dets.score[sel], tp[sel],
                                         int(num_gt[c])))
    per_cat = np.asarray(per_cat)

    def mean_ap(labels: Sequence[int]) -> float:
        v = per_cat[np.asarray(labels, dtype=int)]
        v = v[v > -1]
        return float(v.mean() * 100) if v.size else float('nan')

    kept_own = np.zeros(len(obj_label), dtype=bool)
    kept_own[dets.obj[tp]] = True
    out = dict(AP=mean_ap(range(num_classes)),
               per_category_AP=[None if v < 0 else float(v * 100)
                                for v in per_cat],
               lost_to_cap={})
    for name in GROUP_ORDER:
        out[GROUP_METRIC_KEYS[name]] = mean_ap(groups.get(name, []))
    for name, labels in groups.items():
        mask = np.isin(obj_label, labels)
        if mask.any():
            out['lost_to_cap'][name] = float(1 - kept_own[mask].mean())
    return out


# ----------------------------------------------------------------------
# the same evaluation as LVIS v1 files, for the official evaluators
def _box_of(kind: int, slot: int) -> List[float]:
    if kind == 0:  # object
        return [float(_SLOT * slot), 0.0, float(_OBJ), float(_OBJ)]
    if kind == 1:  # badly localised box of the object in this slot
        return [float(_SLOT * slot + _NEAR_SHIFT), 0.0, float(_OBJ),
                float(_OBJ)]
    row, col = divmod(int(slot), 100)  # background
    return [float(2 * _BG * col), float(_BG_TOP + 2 * _BG * row), float(_BG),
            float(_BG)]


def lvis_gt(obj_image: np.ndarray, obj_label: np.ndarray, num_images: int,
            frequency: Sequence[str], negatives: np.ndarray) -> dict:
    """LVIS v1 ground truth of the evaluation objects (sorted by image):
    object boxes by slot, ``neg_category_ids`` from ``negatives``
    ``[I, C]`` (:func:`verified_negatives`)."""
    num_classes = len(frequency)
    slots = np.zeros(num_images, dtype=np.int64)
    anns = []
    for i, (img, lab) in enumerate(zip(obj_image, obj_label)):
        anns.append(dict(id=i + 1, image_id=int(img) + 1,
                         category_id=int(lab) + 1,
                         bbox=_box_of(0, int(slots[img])),
                         area=float(_OBJ * _OBJ), iscrowd=0))
        slots[img] += 1
    width = max(_SLOT * (int(slots.max(initial=0)) + 1), 2 * _BG * 100)
    images = [dict(id=i + 1, width=width, height=_BG_TOP + 4000,
                   neg_category_ids=[int(c) + 1 for c in
                                     np.flatnonzero(negatives[i])],
                   not_exhaustive_category_ids=[])
              for i in range(num_images)]
    cats = [dict(id=c + 1, name=f'category_{c}', synset=f'category_{c}',
                 frequency=frequency[c], image_count=1, instance_count=1)
            for c in range(num_classes)]
    return dict(images=images, annotations=anns, categories=cats)


def detections_as_records(dets: CappedDetections) -> List[dict]:
    """COCO-style result records of :func:`cap_per_image`'s pairs."""
    return [dict(image_id=int(i) + 1, category_id=int(c) + 1,
                 bbox=_box_of(int(k), int(s)), score=float(sc))
            for i, c, k, s, sc in zip(dets.image, dets.category, dets.kind,
                                      dets.slot, dets.score)]
