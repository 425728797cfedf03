"""LVIS box evaluation with two interchangeable backends.

``'lvis'`` is the official lvis-api (the reference numbers; numpy 2 needs
:func:`patch_lvis_for_numpy2`, applied on import of this package).
``'faster_coco_eval'`` is faster-coco-eval's C++ COCO evaluator in its LVIS
mode (federated negatives, ``not_exhaustive`` handling, frequency groups,
300 detections per image). Both return the same keys, unrounded.
"""
import copy
from typing import Any, Dict, List, Union

import numpy as np

from .lvis_annotations import check_detections, load_lvis

BACKENDS = ('lvis', 'faster_coco_eval')
#: summary keys, as the lvis-api names them
KEYS = ('AP', 'AP50', 'AP75', 'APs', 'APm', 'APl', 'APr', 'APc', 'APf')
_FCE_KEYS = dict(AP='AP_all', AP50='AP_50', AP75='AP_75', APs='AP_small',
                 APm='AP_medium', APl='AP_large', APr='APr', APc='APc',
                 APf='APf')
MAX_DETS = 300


def _per_category(precision: np.ndarray, cat_ids: List[int],
                  cat_axis: int = 2) -> Dict[int, float]:
    """Mean precision over IoU thresholds and recalls per category (area
    'all'), ignoring the -1 of categories without ground truth."""
    out = {}
    for idx, cat_id in enumerate(cat_ids):
        p = np.take(precision, idx, axis=cat_axis)
        p = p[..., 0] if p.ndim == 3 else p[..., 0, -1]
        p = p[p > -1]
        out[cat_id] = float(p.mean()) if p.size else float('nan')
    return out


def evaluate_lvis(gt: Union[str, Any], detections: List[dict],
                  backend: str = 'faster_coco_eval') -> dict:
    """Box AP of ``detections`` (COCO result dicts: ``image_id``,
    ``category_id``, ``bbox`` as xywh, ``score``) against LVIS ``gt``.

    Both the file and the detections are validated first
    (:mod:`.lvis_annotations`), so that both backends see the same,
    well-formed input.

    Args:
        gt: path of an LVIS v1 annotation file, or a loaded ``lvis.LVIS``.
        detections: the results, at most 300 per image (the highest
            scoring) are used.
        backend: ``'lvis'`` (official) or ``'faster_coco_eval'``.

    Returns:
        ``{'AP': ..., ..., 'APf': ..., 'per_category': {cat_id: AP}}``;
        a group or area range without ground truth has AP -1, a category
        without ground truth NaN.

    Raises:
        ValueError: an unknown backend, no detections, or a bad record of
            the file or the detections (named in the message).
    """
    if backend not in BACKENDS:
        raise ValueError(f'unknown LVIS backend {backend!r}; use one of '
                         f'{BACKENDS}')
    if not detections:
        raise ValueError('no detections to evaluate')
    lvis_gt = load_lvis(gt)
    check_detections(detections, lvis_gt)
    if backend == 'lvis':
        return _evaluate_lvis_api(lvis_gt, detections)
    return _evaluate_faster(lvis_gt, detections)


def _evaluate_lvis_api(lvis_gt, detections):
    from lvis import LVISEval, LVISResults
    from ..lvis_numpy2 import patch_lvis_for_numpy2
    patch_lvis_for_numpy2()
    # LVISResults adds fields to the result dicts: give it copies
    lvis_dt = LVISResults(lvis_gt, [dict(d) for d in detections],
                          max_dets=MAX_DETS)
    ev = LVISEval(lvis_gt, lvis_dt, 'bbox')
    ev.run()
    results = {k: float(ev.results[k]) for k in KEYS}
    results['per_category'] = _per_category(ev.eval['precision'],
                                            ev.params.cat_ids)
    return results


def _evaluate_faster(lvis_gt, detections):
    from faster_coco_eval import COCO, COCOeval_faster
    # COCO adds fields to the annotations it indexes: work on a copy
    coco_gt = COCO(copy.deepcopy(lvis_gt.dataset))
    # keep the highest-scoring MAX_DETS per image, as LVISResults does
    by_image: Dict[int, list] = {}
    for det in detections:
        by_image.setdefault(det['image_id'], []).append(det)
    kept = []
    for dets in by_image.values():
        dets.sort(key=lambda d: -d['score'])
        kept.extend(dets[:MAX_DETS])
    coco_dt = coco_gt.loadRes([dict(d) for d in kept])
    ev = COCOeval_faster(coco_gt, coco_dt, 'bbox', lvis_style=True,
                         print_function=lambda *a, **k: None)
    ev.params.maxDets = [MAX_DETS]
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    stats = ev.stats_as_dict
    results = {k: float(stats[_FCE_KEYS[k]]) for k in KEYS}
    results['per_category'] = _per_category(ev.eval['precision'],
                                            ev.params.catIds)
    return results
