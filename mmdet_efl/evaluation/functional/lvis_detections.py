"""LVIS detections as arrays: one row per detection instead of one dict.

At the size of LVIS v1 val (19,809 images x 300 detections, about 5.9 M
detections) a COCO result dict per detection takes several GiB, and the
JSON round trip through mmdet's ``results2json`` most of a minute. The
evaluation (:func:`~.lvis_eval.evaluate_lvis`) therefore works on
:class:`LVISDetections` and makes result dicts only for the categories of
one chunk at a time, and only for the detections the protocol evaluates.
"""
from typing import List, NamedTuple, Sequence

import numpy as np
from lvis import LVIS

from .lvis_annotations import check_detections

#: the lvis-api's cap (``LVISResults(max_dets=300)``): per image, across
#: categories, the highest-scoring detections are kept
MAX_DETS = 300


class LVISDetections(NamedTuple):
    """Detections of one evaluation, as parallel arrays.

    Attributes:
        image_ids: (N,) int64, the ``id`` of the image in the LVIS file.
        category_ids: (N,) int64, the LVIS category ``id``.
        bboxes: (N, 4) float64, ``[x, y, w, h]`` in pixels, as in a COCO
            result file.
        scores: (N,) float64.
    """
    image_ids: np.ndarray
    category_ids: np.ndarray
    bboxes: np.ndarray
    scores: np.ndarray

    @classmethod
    def from_dicts(cls, detections: List[dict],
                   gt: LVIS) -> 'LVISDetections':
        """COCO result dicts (``image_id``, ``category_id``, ``bbox`` as
        xywh, ``score``), validated against ``gt`` first
        (:func:`~.lvis_annotations.check_detections`: a ValueError names
        the first bad detection)."""
        check_detections(detections, gt)
        return cls(
            np.array([d['image_id'] for d in detections], dtype=np.int64),
            np.array([d['category_id'] for d in detections],
                     dtype=np.int64),
            np.array([d['bbox'] for d in detections],
                     dtype=np.float64).reshape(-1, 4),
            np.array([d['score'] for d in detections], dtype=np.float64))

    @classmethod
    def from_mmdet(cls, preds: Sequence[dict],
                   cat_ids: Sequence[int]) -> 'LVISDetections':
        """The per-image results that mmdet's ``LVISMetric.process`` stores
        (``img_id``; ``bboxes`` (n, 4) xyxy, ``scores`` (n,), ``labels``
        (n,) indices into ``cat_ids``), converted as mmdet's
        ``results2json`` converts them: the float32 values are widened to
        float64 and ``w = x2 - x1``, ``h = y2 - y1`` are taken in float64,
        so that both paths give the evaluator the same numbers.

        Raises:
            ValueError: a label outside ``cat_ids``, or boxes, scores and
                labels of different lengths (naming the image).
        """
        cat_ids = np.asarray(cat_ids, dtype=np.int64)
        parts = []
        for pred in preds:
            # a copy: the xyxy arrays are the stored results
            boxes = np.array(pred['bboxes'], dtype=np.float64).reshape(
                -1, 4)
            scores = np.asarray(pred['scores'], dtype=np.float64).ravel()
            labels = np.asarray(pred['labels']).ravel()
            if not len(boxes) == len(scores) == len(labels):
                raise ValueError(
                    f"image id {pred['img_id']}: {len(boxes)} boxes, "
                    f'{len(scores)} scores and {len(labels)} labels')
            bad = (labels < 0) | (labels >= len(cat_ids))
            if bad.any():
                raise ValueError(
                    f"image id {pred['img_id']}: label {labels[bad][0]} is "
                    f'not among the {len(cat_ids)} classes')
            boxes[:, 2:] -= boxes[:, :2]
            parts.append((np.full(len(scores), pred['img_id'],
                                  dtype=np.int64), cat_ids[labels], boxes,
                          scores))
        if not parts:
            return cls(np.zeros(0, np.int64), np.zeros(0, np.int64),
                       np.zeros((0, 4)), np.zeros(0))
        return cls(*(np.concatenate(column) for column in zip(*parts)))


def check_detection_arrays(dets: LVISDetections, gt: LVIS) -> None:
    """Raises ValueError on the first detection (by row) whose image or
    category is not in ``gt``, whose box is not four finite numbers with
    ``w, h >= 0``, or whose score is not finite: the checks of
    :func:`~.lvis_annotations.check_detections`, on arrays."""
    n = len(dets.scores)
    shapes = dict(image_ids=(n, ), category_ids=(n, ), bboxes=(n, 4))
    for name, shape in shapes.items():
        if getattr(dets, name).shape != shape:
            raise ValueError(f'detections.{name} has shape '
                             f'{getattr(dets, name).shape}, expected {shape}')
    problems = (
        (~np.isin(dets.image_ids, np.fromiter(gt.imgs, np.int64)),
         lambda k: f'image_id {dets.image_ids[k]} is not the id of any of '
         "the file's ground-truth images"),
        (~np.isin(dets.category_ids, np.fromiter(gt.cats, np.int64)),
         lambda k: f'category_id {dets.category_ids[k]} is not the id of '
         "any of the file's ground-truth categories"),
        (~np.isfinite(dets.bboxes).all(axis=1),
         lambda k: f'bbox {dets.bboxes[k].tolist()} holds a value that is '
         'not a finite number'),
        ((dets.bboxes[:, 2:] < 0).any(axis=1),
         lambda k: f'bbox {dets.bboxes[k].tolist()} (x, y, w, h) has a '
         'negative width or height'),
        (~np.isfinite(dets.scores),
         lambda k: f'score must be a finite number, got {dets.scores[k]}'),
    )
    for bad, message in problems:
        if bad.any():
            k = int(np.argmax(bad))
            raise ValueError(f'detections[{k}]: {message(k)}')


def cap_per_image(dets: LVISDetections,
                  max_dets: int = MAX_DETS) -> LVISDetections:
    """The ``max_dets`` highest-scoring detections of each image, across
    categories, as the lvis-api's ``LVISResults`` keeps them (a stable
    sort: of equal scores at the cut, the earlier detection is kept).
    The order of the kept detections is unchanged."""
    order = np.lexsort((-dets.scores, dets.image_ids))
    sorted_images = dets.image_ids[order]
    starts = np.flatnonzero(np.r_[True, sorted_images[1:] !=
                                  sorted_images[:-1]])
    rank = np.arange(len(order)) - np.repeat(
        starts, np.diff(np.r_[starts, len(order)]))
    if rank.size == 0 or rank.max() < max_dets:
        return dets
    keep = np.zeros(len(order), dtype=bool)
    keep[order[rank < max_dets]] = True
    return LVISDetections(*(column[keep] for column in dets))


__all__ = ['LVISDetections', 'MAX_DETS', 'cap_per_image',
           'check_detection_arrays']
