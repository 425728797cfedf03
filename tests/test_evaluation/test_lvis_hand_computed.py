"""LVIS box AP on files whose AP is worked out by hand (``lvis_cases``
explains each value), for both backends, for mmdet's own ``LVISMetric``
and for ``LVISBoxMetric`` fed the way an mmdet runner feeds it (xyxy boxes,
labels)."""
import copy
import math

import pytest
import torch
from mmdet.evaluation import LVISMetric
from mmdet.registry import METRICS

import mmdet_efl  # noqa: F401
from mmdet_efl.evaluation import evaluate_lvis
from mmdet_efl.evaluation.functional import BACKENDS

from .lvis_cases import KEYS, cases, write

CASES = cases()
# mmdet's LVISMetric is one of the references
pytestmark = pytest.mark.usefixtures('lvis_api_on_numpy2')


def _ids(case):
    return case['name']


def _assert_summary(got, case, abs_tol=1e-9, prefix=''):
    for key in KEYS:
        assert got[prefix + key] == pytest.approx(
            case['expected'][key], abs=abs_tol), (case['name'], key)


def _assert_per_category(got, case):
    assert set(got) == set(case['per_category'])
    for cat_id, ap in case['per_category'].items():
        if math.isnan(ap):
            assert math.isnan(got[cat_id]), (case['name'], cat_id)
        else:
            assert got[cat_id] == pytest.approx(ap, abs=1e-9), (
                case['name'], cat_id)


def samples(dets, cat_ids):
    """mmdet data samples (xyxy boxes, 0-based labels) of COCO results."""
    by_image = {}
    for d in dets:
        x, y, w, h = d['bbox']
        s = by_image.setdefault(d['image_id'], dict(b=[], s=[], l=[]))
        s['b'].append([x, y, x + w, y + h])
        s['s'].append(d['score'])
        s['l'].append(cat_ids.index(d['category_id']))
    return [dict(img_id=i, ori_shape=(200, 200), pred_instances=dict(
        bboxes=torch.tensor(v['b'], dtype=torch.float64),
        scores=torch.tensor(v['s'], dtype=torch.float64),
        labels=torch.tensor(v['l']))) for i, v in by_image.items()]


@pytest.mark.parametrize('chunk_pairs', [1, 10 ** 9],
                         ids=['category-chunks', 'one-chunk'])
@pytest.mark.parametrize('backend', BACKENDS)
@pytest.mark.parametrize('case', CASES, ids=_ids)
def test_evaluate_lvis_gives_the_hand_computed_ap(case, backend, tmp_path,
                                                  chunk_pairs):
    out = evaluate_lvis(write(case, tmp_path), copy.deepcopy(case['dets']),
                        backend=backend, chunk_pairs=chunk_pairs)
    _assert_summary(out, case)
    _assert_per_category(out['per_category'], case)


@pytest.mark.parametrize('case', CASES, ids=_ids)
def test_mmdet_lvis_metric_gives_the_same_ap(case, tmp_path):
    """mmdet's LVISMetric (the official lvis-api; it rounds to 3
    decimals)."""
    gt = case['gt']
    cat_ids = [c['id'] for c in gt['categories']]
    metric = LVISMetric(ann_file=write(case, tmp_path), metric='bbox')
    metric.dataset_meta = dict(classes=[c['name'] for c in
                                        gt['categories']])
    batch = samples(case['dets'], cat_ids)
    metric.process({}, batch)
    _assert_summary(metric.evaluate(len(batch)), case, abs_tol=5e-4,
                    prefix='lvis/bbox_')


@pytest.mark.parametrize('backend', BACKENDS)
@pytest.mark.parametrize('case', CASES, ids=_ids)
def test_metric_on_mmdet_predictions_gives_the_hand_computed_ap(
        case, backend, tmp_path):
    """Through the runner's path: xyxy boxes and labels in, the metric
    writes xywh results with category ids and evaluates them."""
    gt = case['gt']
    cat_ids = [c['id'] for c in gt['categories']]
    metric = METRICS.build(dict(type='LVISBoxMetric', backend=backend,
                                ann_file=write(case, tmp_path)))
    metric.dataset_meta = dict(classes=[c['name'] for c in
                                        gt['categories']])
    batch = samples(case['dets'], cat_ids)
    metric.process({}, batch)
    _assert_summary(metric.evaluate(len(batch)), case,
                    prefix='lvis/bbox_')
    _assert_per_category(metric.per_category_ap, case)
