"""LVIS annotation files and detections, validated before evaluation.

The LVIS protocol (Gupta et al., LVIS, sec. 5; the lvis-api's ``LVISEval``)
reads these fields, and nothing else, of the ground truth:

* ``images``: ``id``; ``neg_category_ids`` (categories verified absent:
  a detection of one counts as a false positive); and
  ``not_exhaustive_category_ids`` (categories not exhaustively annotated:
  an unmatched detection of one is ignored).
* ``annotations``: ``id`` (a positive integer: the evaluator marks
  unmatched detections with id 0), ``image_id``, ``category_id``,
  ``bbox`` (x, y, w, h) and ``area`` (which decides the area range).
* ``categories``: ``id`` and ``frequency`` (``'r'``, ``'c'`` or ``'f'``,
  the APr/APc/APf groups).

The two backends differ on a missing field: the lvis-api raises a bare
``KeyError`` and faster-coco-eval reads an empty list, which drops every
false positive of that image (an inflated AP). Both are therefore fed
only files that passed :func:`check_lvis_annotations`, which refuses
the first bad record with an error naming the file, the record and the
field.
"""
import json
from typing import Any, Dict, List, Optional

from lvis import LVIS

from mmdet_efl.datasets.record_checks import (field, id_list, index_by_id,
                                              is_number, number,
                                              record_label, reference,
                                              sections, xywh_box)

FREQUENCIES = ('r', 'c', 'f')


def check_lvis_annotations(data: Any, source: str) -> None:
    """Raises ValueError on the first record of an LVIS ground-truth file
    that lacks, or holds a bad value of, a field the protocol reads (see
    the module doc); also on repeated ids and on ids that name no record.

    Args:
        data: the loaded JSON.
        source: what to call it in errors (its path).
    """
    sections(data, source)
    cats = index_by_id(data, 'categories', source)
    images = index_by_id(data, 'images', source)
    index_by_id(data, 'annotations', source, positive=True)
    for pos, cat in enumerate(data['categories']):
        where = record_label(source, 'categories', pos, cat)
        freq = field(cat, 'frequency', where,
                     ", which LVIS groups into APr/APc/APf by ('r', 'c', "
                     "'f')")
        if freq not in FREQUENCIES:
            raise ValueError(f'{where}: frequency must be one of '
                             f'{FREQUENCIES}, got {freq!r}')
    for pos, img in enumerate(data['images']):
        where = record_label(source, 'images', pos, img)
        id_list(img, 'neg_category_ids', where, cats, 'categories',
                ' (the categories verified absent from the image, whose '
                'detections LVIS counts as false positives)')
        id_list(img, 'not_exhaustive_category_ids', where, cats,
                'categories', ' (the categories whose unmatched detections '
                'LVIS ignores in this image)')
    for pos, ann in enumerate(data['annotations']):
        where = record_label(source, 'annotations', pos, ann)
        reference(ann, 'image_id', where, images, 'images')
        reference(ann, 'category_id', where, cats, 'categories')
        xywh_box(ann, where, allow_empty=True)
        number(ann, 'area', where, minimum=0,
               why='; it decides the area range (small/medium/large)')
        for flag in ('iscrowd', 'ignore'):
            if ann.get(flag):
                raise ValueError(
                    f'{where}: {flag}={ann[flag]!r}; LVIS has no crowd or '
                    'ignored annotations, and the backends read different '
                    "flags (lvis-api 'ignore', faster-coco-eval "
                    "'iscrowd')")


def check_detections(detections: List[dict], gt: LVIS) -> None:
    """Raises ValueError on the first detection (a COCO result dict) whose
    ``image_id``/``category_id`` is not in ``gt``, whose ``bbox`` is not
    four finite numbers with ``w, h >= 0``, or whose ``score`` is not a
    finite number. (The lvis-api asserts on unknown images, faster-coco-eval
    skips them.)"""
    images, cats = gt.imgs, gt.cats
    for pos, det in enumerate(detections):
        where = f'detections[{pos}]'
        if not isinstance(det, dict):
            raise ValueError(f'{where} must be a dict, got {det!r}')
        reference(det, 'image_id', where, images, 'ground-truth images')
        reference(det, 'category_id', where, cats,
                  'ground-truth categories')
        xywh_box(det, where, allow_empty=True)
        score = field(det, 'score', where)
        if not is_number(score):
            raise ValueError(f'{where}: score must be a finite number, got '
                             f'{score!r}')


class CheckedLVIS(LVIS):
    """``lvis.LVIS`` that validates the file (:func:`check_lvis_annotations`)
    before indexing it, so that no backend sees a bad record."""

    def _load_json(self, path: str) -> Dict[str, Any]:
        try:
            data = super()._load_json(path)
        except json.JSONDecodeError as err:
            raise ValueError(
                f'{path} is not valid JSON ({err.msg} at line {err.lineno}, '
                f'column {err.colno})') from None
        check_lvis_annotations(data, path)
        return data


def load_lvis(gt: Any, source: Optional[str] = None) -> LVIS:
    """A validated ``lvis.LVIS`` from a path, or ``gt`` itself if it is an
    ``LVIS`` (validated once, unless it already is a :class:`CheckedLVIS`).
    """
    if isinstance(gt, str):
        return CheckedLVIS(gt)
    if not isinstance(gt, LVIS):
        raise TypeError('gt must be the path of an LVIS annotation file or '
                        f'an lvis.LVIS, got {type(gt).__name__}')
    if not isinstance(gt, CheckedLVIS):
        check_lvis_annotations(gt.dataset, source or 'the LVIS ground truth')
    return gt


__all__ = ['CheckedLVIS', 'check_detections', 'check_lvis_annotations',
           'load_lvis']
