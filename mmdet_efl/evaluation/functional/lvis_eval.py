"""LVIS box evaluation with two interchangeable backends, by category chunk.

``'lvis'`` is the official lvis-api (the reference numbers; numpy 2 needs
:func:`patch_lvis_for_numpy2`, applied before it runs).
``'faster_coco_eval'`` is faster-coco-eval's C++ COCO evaluator in its LVIS
mode (federated negatives, ``not_exhaustive`` handling, frequency groups,
300 detections per image). Both return the same keys, unrounded.

Neither backend fits LVIS v1 val (19,809 images x 300 detections, 1,203
categories) in 24 GiB when given the whole of it: both keep Python
objects for every detection and every (image, category) pair. The LVIS
protocol lets the work be split without changing a number:

* the 300-per-image cap is taken across categories first
  (:func:`~.lvis_detections.cap_per_image`, as ``LVISResults`` does);
* after that, every category is evaluated on its own: the precision and
  recall of a category depend only on its ground truth, its detections and
  the images' ``neg_category_ids``/``not_exhaustive_category_ids`` entries
  for it;
* a detection of a category on an image that has neither ground truth of
  it nor lists it as negative is dropped by both backends (the federated
  rule), and so is never turned into a dict here; an image that has
  neither for any category of a chunk contributes nothing to it.

So each backend runs on one chunk of consecutive categories at a time, on
a ground truth holding only that chunk's images, annotations and list
entries (new small dicts: the loaded file is neither copied nor changed),
with result dicts made for that chunk only. The per-category precision and
recall arrays of the chunks are concatenated, and the summary is the
lvis-api's own ``LVISEval.summarize`` over them.
"""
import logging
from collections import OrderedDict
from contextlib import contextmanager
from typing import Any, Dict, Iterator, List, Tuple, Union

import numpy as np
from lvis import LVIS, LVISEval, LVISResults
from lvis.eval import Params

from .lvis_annotations import load_lvis
from .lvis_detections import (MAX_DETS, LVISDetections, cap_per_image,
                              check_detection_arrays)

BACKENDS = ('lvis', 'faster_coco_eval')
#: summary keys, as the lvis-api names them
KEYS = ('AP', 'AP50', 'AP75', 'APs', 'APm', 'APl', 'APr', 'APc', 'APf')
#: the most (image, category) pairs one chunk evaluates (each backend keeps
#: Python objects per pair, the lvis-api several per pair and area range).
#: 1 evaluates each category on its own, on exactly its judged images: the
#: fewest pairs in all, and the fastest with both backends
CHUNK_PAIRS = 1
#: the most detections one chunk turns into result dicts
CHUNK_DETECTIONS = 600_000


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


def evaluate_lvis(gt: Union[str, Any],
                  detections: Union[List[dict], LVISDetections],
                  backend: str = 'faster_coco_eval',
                  chunk_pairs: int = CHUNK_PAIRS,
                  chunk_detections: int = CHUNK_DETECTIONS) -> dict:
    """Box AP of ``detections`` against LVIS ``gt``.

    Both the file and the detections are validated first
    (:mod:`.lvis_annotations`, :mod:`.lvis_detections`), so that both
    backends see the same, well-formed input. The categories are evaluated
    in chunks (see the module doc), which gives the numbers of one
    evaluation of the whole in bounded memory.

    Args:
        gt: path of an LVIS v1 annotation file, or a loaded ``lvis.LVIS``
            (not modified).
        detections: COCO result dicts (``image_id``, ``category_id``,
            ``bbox`` as xywh, ``score``) or :class:`LVISDetections`; at
            most 300 per image (the highest scoring) are used.
        backend: ``'lvis'`` (official) or ``'faster_coco_eval'``.
        chunk_pairs: the most (image, category) pairs of one chunk (a
            chunk holds at least one category; the default, 1, evaluates
            each category on its own).
        chunk_detections: the most evaluated detections of one chunk.

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
    if len(detections.scores if isinstance(detections, LVISDetections)
           else detections) == 0:
        raise ValueError('no detections to evaluate')
    lvis_gt = load_lvis(gt)
    if isinstance(detections, LVISDetections):
        check_detection_arrays(detections, lvis_gt)
    else:
        detections = LVISDetections.from_dicts(detections, lvis_gt)
    if backend == 'lvis':
        from ..lvis_numpy2 import patch_lvis_for_numpy2
        patch_lvis_for_numpy2()
    run_chunk = _CHUNK_BACKENDS[backend]
    index = FederatedIndex(lvis_gt)
    dets = index.evaluated(cap_per_image(detections))
    precisions, recalls = [], []
    for lo, hi, images in index.chunks(dets, chunk_pairs, chunk_detections):
        chunk_gt = index.chunk_gt(lo, hi, images)
        rows = dets.rows(lo, hi)
        if len(rows):
            precision, recall = run_chunk(chunk_gt, dets.dicts(rows))
        else:
            precision, recall = _without_detections(chunk_gt)
        precisions.append(precision)
        recalls.append(recall)
    summary = _ChunkedSummary(np.concatenate(precisions, axis=2),
                              np.concatenate(recalls, axis=1),
                              index.frequencies)
    summary.summarize()
    results = {k: float(summary.results[k]) for k in KEYS}
    results['per_category'] = _per_category(summary.eval['precision'],
                                            index.cat_ids.tolist())
    return results


class _EvaluatedDetections:
    """The detections the protocol evaluates, ordered by category (stably:
    within a category, in their given order), with the row range of each
    category index."""

    def __init__(self, dets: LVISDetections, order: np.ndarray,
                 cat_index: np.ndarray, num_cats: int) -> None:
        self.dets = dets
        self.order = order
        self.starts = np.searchsorted(cat_index[order],
                                      np.arange(num_cats + 1))

    def rows(self, lo: int, hi: int) -> np.ndarray:
        """Rows (into the detections) of category indices ``lo:hi``."""
        return self.order[self.starts[lo]:self.starts[hi]]

    def dicts(self, rows: np.ndarray) -> List[dict]:
        """COCO result dicts of ``rows``, in that order."""
        d = self.dets
        return [dict(image_id=i, category_id=c, bbox=b, score=s)
                for i, c, b, s in zip(d.image_ids[rows].tolist(),
                                      d.category_ids[rows].tolist(),
                                      d.bboxes[rows].tolist(),
                                      d.scores[rows].tolist())]


class FederatedIndex:
    """Which (image, category) pairs an LVIS file lets the protocol judge:
    those with ground truth of the category, or with the category among
    the image's ``neg_category_ids``. Detections of other pairs are
    dropped by both backends; images are judged per category on these
    pairs only.

    Args:
        gt: a validated ``lvis.LVIS`` (read, never modified).
    """

    def __init__(self, gt: LVIS) -> None:
        self.gt = gt
        self.cat_ids = np.array(sorted(gt.cats), dtype=np.int64)
        self.img_ids = np.array(sorted(gt.imgs), dtype=np.int64)
        self.frequencies = np.array(
            [gt.cats[c]['frequency'] for c in self.cat_ids.tolist()])
        anns = gt.dataset['annotations']
        pos_img = np.array([a['image_id'] for a in anns], dtype=np.int64)
        pos_cat = np.array([a['category_id'] for a in anns], dtype=np.int64)
        images = gt.dataset['images']
        neg_img = np.array([img['id'] for img in images
                            for _ in img['neg_category_ids']], np.int64)
        neg_cat = np.array([c for img in images
                            for c in img['neg_category_ids']], np.int64)
        self.known = np.unique(self.code(np.r_[pos_img, neg_img],
                                         np.r_[pos_cat, neg_cat]))
        num_imgs = len(self.img_ids)
        self.pair_img = self.known % num_imgs
        self.pair_starts = np.searchsorted(
            self.known // num_imgs, np.arange(len(self.cat_ids) + 1))
        # annotations by category index, in file order
        ann_cat = self.cat_index(pos_cat)
        ann_order = np.argsort(ann_cat, kind='stable')
        self.ann_order = ann_order
        self.ann_starts = np.searchsorted(ann_cat[ann_order],
                                          np.arange(len(self.cat_ids) + 1))

    def cat_index(self, cat_ids: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.cat_ids, cat_ids)

    def code(self, image_ids: np.ndarray, cat_ids: np.ndarray) -> np.ndarray:
        """One int64 per (image, category), ordered by category, then
        image."""
        return self.cat_index(cat_ids) * len(self.img_ids) + np.searchsorted(
            self.img_ids, image_ids)

    def evaluated(self, dets: LVISDetections) -> _EvaluatedDetections:
        """The detections of judged pairs, grouped by category."""
        codes = self.code(dets.image_ids, dets.category_ids)
        kept = np.flatnonzero(np.isin(codes, self.known))
        cat_index = self.cat_index(dets.category_ids)
        order = kept[np.argsort(cat_index[kept], kind='stable')]
        return _EvaluatedDetections(dets, order, cat_index, len(self.cat_ids))

    def chunks(self, dets: _EvaluatedDetections, max_pairs: int,
               max_dets: int) -> Iterator[Tuple[int, int, np.ndarray]]:
        """``(lo, hi, image indices)``: consecutive category indices
        ``lo:hi`` whose images times categories stay within ``max_pairs``
        and whose detections within ``max_dets`` (or a single category),
        and the images with a judged pair of them."""
        marked = np.zeros(len(self.img_ids), dtype=bool)
        lo, num_marked = 0, 0
        for k in range(len(self.cat_ids)):
            imgs = self.pair_img[self.pair_starts[k]:self.pair_starts[k + 1]]
            new = imgs[~marked[imgs]]
            num_dets = dets.starts[k + 1] - dets.starts[lo]
            if k > lo and ((k - lo + 1) * (num_marked + len(new)) > max_pairs
                           or num_dets > max_dets):
                yield lo, k, np.flatnonzero(marked)
                marked[:] = False
                lo, num_marked, new = k, 0, imgs
            marked[new] = True
            num_marked += len(new)
        yield lo, len(self.cat_ids), np.flatnonzero(marked)

    def chunk_gt(self, lo: int, hi: int, images: np.ndarray) -> dict:
        """An LVIS dataset dict of category indices ``lo:hi`` on
        ``images`` (indices): new dicts holding the fields the protocol
        reads (see :mod:`.lvis_annotations`), the images' category lists
        cut to the chunk's categories."""
        gt = self.gt
        cats = set(self.cat_ids[lo:hi].tolist())
        imgs = [gt.imgs[i] for i in self.img_ids[images].tolist()]
        anns = gt.dataset['annotations']
        return dict(
            images=[dict(id=img['id'], neg_category_ids=[
                c for c in img['neg_category_ids'] if c in cats],
                not_exhaustive_category_ids=[
                    c for c in img['not_exhaustive_category_ids']
                    if c in cats]) for img in imgs],
            annotations=[dict(id=a['id'], image_id=a['image_id'],
                              category_id=a['category_id'], bbox=a['bbox'],
                              area=a['area'])
                         for a in (anns[i] for i in self.ann_order[
                             self.ann_starts[lo]:self.ann_starts[hi]].tolist())
                         ],
            categories=[dict(id=c, frequency=gt.cats[c]['frequency'])
                        for c in self.cat_ids[lo:hi].tolist()])


class _InMemoryLVIS(LVIS):
    """``lvis.LVIS`` of a dataset dict instead of a file."""

    def __init__(self, dataset: dict) -> None:
        self._dataset = dataset
        super().__init__('<chunk>')

    def _load_json(self, path: str) -> dict:
        return self._dataset


@contextmanager
def _quiet(logger_name: str) -> Iterator[None]:
    """Silences a logger: ``LVISResults`` warns on every chunk that it
    assumes the results are well-formed (they were validated)."""
    logger = logging.getLogger(logger_name)
    disabled, logger.disabled = logger.disabled, True
    try:
        yield
    finally:
        logger.disabled = disabled


def _chunk_lvis_api(chunk_gt: dict,
                    dets: List[dict]) -> Tuple[np.ndarray, np.ndarray]:
    """Precision (T, R, K, A) and recall (T, K, A) of the lvis-api."""
    lvis_gt = _InMemoryLVIS(chunk_gt)
    with _quiet('lvis.results'):
        lvis_dt = LVISResults(lvis_gt, dets, max_dets=MAX_DETS)
    ev = LVISEval(lvis_gt, lvis_dt, 'bbox')
    ev.evaluate()
    ev.accumulate()
    return ev.eval['precision'], ev.eval['recall']


def _chunk_faster(chunk_gt: dict,
                  dets: List[dict]) -> Tuple[np.ndarray, np.ndarray]:
    """Precision (T, R, K, A) and recall (T, K, A) of faster-coco-eval."""
    from faster_coco_eval import COCO, COCOeval_faster
    coco_gt = COCO(chunk_gt)
    coco_dt = coco_gt.loadRes(dets)
    ev = COCOeval_faster(coco_gt, coco_dt, 'bbox', lvis_style=True,
                         print_function=lambda *a, **k: None)
    ev.params.maxDets = [MAX_DETS]
    ev.evaluate()
    ev.accumulate()
    return ev.eval['precision'][..., -1], ev.eval['recall'][..., -1]


_CHUNK_BACKENDS = dict(lvis=_chunk_lvis_api, faster_coco_eval=_chunk_faster)


def _without_detections(chunk_gt: dict) -> Tuple[np.ndarray, np.ndarray]:
    """Precision and recall of a chunk none of whose detections is judged
    (neither backend takes an empty result list): 0 where a category has
    ground truth in the area range, -1 where it has none."""
    params = Params(iou_type='bbox')
    cat_pos = {c['id']: k for k, c in enumerate(chunk_gt['categories'])}
    has_gt = np.zeros((len(cat_pos), len(params.area_rng)), dtype=bool)
    for ann in chunk_gt['annotations']:
        for a, (low, high) in enumerate(params.area_rng):
            if low <= ann['area'] <= high:
                has_gt[cat_pos[ann['category_id']], a] = True
    recall = np.where(has_gt, 0.0, -1.0)[None].repeat(
        len(params.iou_thrs), axis=0)
    precision = recall[:, None].repeat(len(params.rec_thrs), axis=1)
    return precision, recall


class _ChunkedSummary(LVISEval):
    """The lvis-api's ``summarize`` over precision (T, R, K, A) and recall
    (T, K, A) assembled from chunks; ``frequencies`` (K,) the categories'
    ``'r'``/``'c'``/``'f'``. Nothing is evaluated here."""

    def __init__(self, precision: np.ndarray, recall: np.ndarray,
                 frequencies: np.ndarray) -> None:
        self.logger = logging.getLogger(LVISEval.__module__)
        self.params = Params(iou_type='bbox')
        self.eval = dict(precision=precision, recall=recall)
        self.results: Dict[str, float] = OrderedDict()
        self.freq_groups = [np.flatnonzero(frequencies == f).tolist()
                            for f in self.params.img_count_lbl]
