"""LVIS box AP (AP, APr, APc, APf) with a fast backend, for mmdet runners."""
import itertools
import json
import os.path as osp
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple

from mmdet.evaluation.metrics import LVISMetric
from mmdet.registry import METRICS
from mmengine.fileio import get_local_path
from mmengine.logging import MMLogger
from mmengine.utils import mkdir_or_exist
from terminaltables import AsciiTable

from ..functional import (BACKENDS, KEYS, LVISDetections, evaluate_lvis,
                          load_lvis)


@METRICS.register_module()
class LVISBoxMetric(LVISMetric):
    """mmdet's ``LVISMetric`` for boxes, with a choice of evaluator.

    Takes the same config keys as ``LVISMetric`` (``ann_file``,
    ``classwise``, ``metric_items``, ``format_only``, ``outfile_prefix``,
    ``backend_args``, ...) plus ``backend``: ``'lvis'`` runs the official
    lvis-api (the reference numbers), ``'faster_coco_eval'`` runs
    faster-coco-eval's C++ evaluator in LVIS mode, which gives the same
    numbers several times faster.

    With ``outfile_prefix``, the detections are written to
    ``{outfile_prefix}.bbox.json`` (the records of ``LVISMetric``'s file);
    ``format_only=True`` stops there (an LVIS test-dev submission) and
    returns no metrics; ``classwise=True`` adds ``{category name}_precision``
    (the AP of each category) to the results and logs a per-category
    table. Unlike ``LVISMetric``, results are not rounded (it rounds to 3
    decimals), the annotation file is validated on load
    (:func:`~mmdet_efl.evaluation.functional.check_lvis_annotations`), and
    per-category AP of the last evaluation, keyed by category id, is kept
    in :attr:`per_category_ap`.

    Unlike ``LVISMetric``, the evaluation fits LVIS v1 val (19,809 images
    x 300 detections) in a few GiB: the detections stay in the arrays that
    ``process`` stores (also what ranks gather under ``dist_test.sh``), and
    are evaluated by category chunks
    (:func:`~mmdet_efl.evaluation.functional.evaluate_lvis`) instead of
    going through a JSON file of one dict per detection; the result file
    is written image by image, and only when asked for
    (``outfile_prefix``). The polygons of the loaded annotation file are
    dropped (box evaluation never reads them). ``bench/lvis_full_size.py``
    measures it against ``LVISMetric``.

    Args:
        ann_file: the LVIS annotation file of the evaluated split
            (required: LVIS evaluation reads its negative and
            not-exhaustive category lists).
        backend: ``'faster_coco_eval'`` (default) or ``'lvis'``.
        **kwargs: the other arguments of ``LVISMetric``.

    Raises:
        ValueError: an unknown backend, a metric other than ``'bbox'``, no
            ``ann_file``, unknown ``metric_items``, or a bad record of the
            annotation file.
    """

    def __init__(self, ann_file: Optional[str] = None,
                 backend: str = 'faster_coco_eval', **kwargs) -> None:
        if backend not in BACKENDS:
            raise ValueError(f'LVISBoxMetric: backend must be one of '
                             f'{BACKENDS}, got {backend!r}')
        if ann_file is None:
            raise ValueError('LVISBoxMetric needs ann_file (the LVIS '
                             'annotation file of the evaluated split)')
        kwargs.setdefault('metric', 'bbox')
        # without ann_file: mmdet's LVISMetric would index the file
        # unchecked; it is loaded (and validated) below
        super().__init__(**kwargs)
        if self.metrics != ['bbox']:
            raise ValueError('LVISBoxMetric evaluates boxes only, got '
                             f'metric={self.metrics}')
        unknown = set(self.metric_items or ()) - set(KEYS)
        if unknown:
            raise ValueError(f'LVISBoxMetric: metric_items {sorted(unknown)} '
                             f'are not among {KEYS}')
        with get_local_path(ann_file,
                            backend_args=self.backend_args) as local_path:
            self._lvis_api = load_lvis(local_path)
        # box evaluation never reads the polygons, which hold most of the
        # memory of a loaded LVIS file
        for ann in self._lvis_api.dataset['annotations']:
            ann.pop('segmentation', None)
        self.backend = backend
        self.per_category_ap: Dict[int, float] = {}

    def results2json(self, results: Sequence[dict],
                     outfile_prefix: str) -> dict:
        """Writes ``{outfile_prefix}.bbox.json``: the records of mmdet's
        ``results2json`` (``image_id``, ``bbox`` xywh, ``score``,
        ``category_id``, in that order), written image by image so that
        memory stays bounded at LVIS val size (mmdet builds the whole list
        and encodes it with Python's pure JSON encoder).

        Args:
            results: mmdet's per-image results (``img_id``, ``bboxes``
                (n, 4) xyxy, ``scores`` (n,), ``labels`` (n,)).
            outfile_prefix: the path without ``.bbox.json``.

        Returns:
            ``{'bbox': path, 'proposal': path}``, as mmdet's.
        """
        path = f'{outfile_prefix}.bbox.json'
        mkdir_or_exist(osp.dirname(osp.abspath(path)))
        cat_ids = self.cat_ids
        with open(path, 'w') as f:
            f.write('[')
            first = True
            for idx, result in enumerate(results):
                if len(result['labels']) == 0:
                    continue
                dets = LVISDetections.from_mmdet(
                    [dict(result, img_id=result.get('img_id', idx))],
                    cat_ids)
                records = [dict(image_id=i, bbox=b, score=s, category_id=c)
                           for i, b, s, c in zip(dets.image_ids.tolist(),
                                                 dets.bboxes.tolist(),
                                                 dets.scores.tolist(),
                                                 dets.category_ids.tolist())]
                f.write(('' if first else ', ') + json.dumps(records)[1:-1])
                first = False
            f.write(']')
        return dict(bbox=path, proposal=path)

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """AP, AP50, ..., APf (``bbox_`` keys), plus ``<name>_precision``
        per category with ``classwise``; ``{}`` with ``format_only``.

        The detections stay in arrays (:class:`LVISDetections`) and are
        evaluated by category chunks (:func:`evaluate_lvis`); the result
        file is written only with ``outfile_prefix`` (or ``format_only``).
        """
        logger = MMLogger.get_current_instance()
        preds = [pred for _, pred in results]
        # read by results2json to map labels to category ids
        self.cat_ids = self._lvis_api.get_cat_ids()
        if self.outfile_prefix:
            result_file = self.results2json(preds,
                                            self.outfile_prefix)['bbox']
            if self.format_only:
                logger.info(f'LVISBoxMetric: detections saved to '
                            f'{result_file}; not evaluated (format_only)')
                return OrderedDict()
        detections = LVISDetections.from_mmdet(preds, self.cat_ids)
        del preds

        items = self.metric_items or KEYS
        eval_results: Dict[str, float] = OrderedDict()
        if len(detections.scores) == 0:
            logger.warning('LVISBoxMetric: no detections; AP is 0')
            self.per_category_ap = {cat_id: 0.0 for cat_id in self.cat_ids}
            summary = dict.fromkeys(KEYS, 0.0)
        else:
            summary = evaluate_lvis(self._lvis_api, detections,
                                    backend=self.backend)
            self.per_category_ap = summary.pop('per_category')
        if self.classwise:
            names = [cat['name'] for cat in
                     self._lvis_api.load_cats(self.cat_ids)]
            pairs = [(name, self.per_category_ap[cat_id])
                     for name, cat_id in zip(names, self.cat_ids)]
            for name, ap in pairs:
                eval_results[f'{name}_precision'] = ap
            logger.info('\n' + category_table(pairs))
        for key in items:
            eval_results[f'bbox_{key}'] = summary[key]
        logger.info(f'LVIS box AP ({self.backend}): ' + '  '.join(
            f'{k} {summary[k]:.4f}' for k in KEYS))
        return eval_results


def category_table(pairs: Sequence[Tuple[str, float]],
                   columns: int = 3) -> str:
    """``(category, AP)`` pairs as a text table of ``columns`` pairs per
    row (the layout of mmdet's classwise tables)."""
    columns = max(1, min(columns, len(pairs)))
    cells: List[str] = list(itertools.chain.from_iterable(
        (name, f'{ap:0.3f}') for name, ap in pairs))
    width = 2 * columns
    rows = [cells[i:i + width] for i in range(0, len(cells), width)]
    rows[-1] += [''] * (width - len(rows[-1]))
    return AsciiTable([['category', 'AP'] * columns] + rows).table
