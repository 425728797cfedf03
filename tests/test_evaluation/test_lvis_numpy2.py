"""The official lvis-api runs on numpy >= 1.24, which removed the aliases it
uses (numpy 2 included): through this package's LVIS evaluation without
anything asked for, and through mmdet's LVISMetric after
``patch_lvis_for_numpy2`` (which importing the package does not call)."""
import json
import sys

import numpy as np
import pytest
import torch
from mmdet.registry import METRICS

import mmdet_efl  # noqa: F401
from mmdet_efl.evaluation import patch_lvis_for_numpy2


def _predictions(ann_file, jitter=0.0, drop_every=0):
    """Detections made from the ground truth, optionally imperfect."""
    data = json.load(open(ann_file))
    rng = np.random.default_rng(0)
    cat_ids = [c['id'] for c in data['categories']]
    by_image = {img['id']: [] for img in data['images']}
    for k, ann in enumerate(data['annotations']):
        if drop_every and k % drop_every == 0:
            continue
        by_image[ann['image_id']].append(ann)
    samples = []
    for img_id, anns in by_image.items():
        boxes, labels, scores = [], [], []
        for ann in anns:
            x, y, w, h = ann['bbox']
            d = rng.normal(0, jitter, 4) * [w, h, w, h]
            boxes.append([x + d[0], y + d[1], x + w + d[2], y + h + d[3]])
            labels.append(cat_ids.index(ann['category_id']))
            scores.append(float(rng.uniform(0.5, 1.0)))
        samples.append(
            dict(img_id=img_id, ori_shape=(128, 128),
                 pred_instances=dict(
                     bboxes=torch.tensor(boxes).reshape(-1, 4).float(),
                     labels=torch.tensor(labels, dtype=torch.long),
                     scores=torch.tensor(scores))))
    return samples, [c['name'] for c in data['categories']]


def _evaluate(ann_file, samples, classes, **metric):
    metric = METRICS.build(dict(ann_file=str(ann_file), metric='bbox',
                                **metric))
    metric.dataset_meta = dict(classes=classes)
    metric.process({}, samples)
    return metric.evaluate(len(samples))


@pytest.fixture
def lvis_api_as_released(monkeypatch):
    """``lvis.eval`` with numpy itself, as a process has it before anything
    installs the view (restored after the test)."""
    import lvis.eval
    monkeypatch.setattr(lvis.eval, 'np', np)


@pytest.mark.parametrize('metric', [
    dict(type='LVISBoxMetric', backend='lvis'),
    dict(type='LVISMetric')])
def test_lvis_api_metrics_on_numpy2(metric, tiny_lvis, lvis_api_as_released):
    """Our metric with the official backend installs the view itself before
    running the lvis-api; mmdet's LVISMetric needs it installed first."""
    # the alias the lvis-api uses is gone (numpy >= 1.24, numpy 2 included)
    assert not hasattr(np, 'float')
    if metric['type'] == 'LVISMetric':
        assert patch_lvis_for_numpy2()
    ann = tiny_lvis / 'annotations/val.json'
    samples, classes = _predictions(ann)
    perfect = _evaluate(ann, samples, classes, **metric)
    assert perfect['lvis/bbox_AP'] == pytest.approx(1.0)
    samples, classes = _predictions(ann, jitter=0.08, drop_every=3)
    imperfect = _evaluate(ann, samples, classes, **metric)
    assert 0.05 < imperfect['lvis/bbox_AP'] < 0.95


def test_unpatched_lvis_api_fails_on_numpy2(tiny_lvis, lvis_api_as_released):
    """Why the patch exists: the release's accumulate() uses np.float."""
    from lvis import LVIS, LVISEval, LVISResults
    ann = str(tiny_lvis / 'annotations/val.json')
    gt = LVIS(ann)
    dets = [dict(image_id=a['image_id'], category_id=a['category_id'],
                 bbox=a['bbox'], score=1.0)
            for a in json.load(open(ann))['annotations']]
    ev = LVISEval(gt, LVISResults(gt, dets), 'bbox')
    ev.evaluate()
    with pytest.raises(AttributeError, match='float'):
        ev.accumulate()


def test_removed_aliases_keep_their_old_meaning(lvis_api_as_released):
    """numpy < 1.24 defined np.float etc. as the builtins; lvis-api's
    numpy view does the same, and is numpy otherwise."""
    import lvis.eval
    assert patch_lvis_for_numpy2()
    view = lvis.eval.np
    assert patch_lvis_for_numpy2() and lvis.eval.np is view  # idempotent
    assert (view.float, view.int, view.bool, view.object) == (
        float, int, bool, object)
    assert view.float64 is np.float64 and view.linspace is np.linspace
    assert not hasattr(np, 'float')  # numpy itself is left alone


def test_patch_reports_a_missing_lvis_api(monkeypatch):
    monkeypatch.setitem(sys.modules, 'lvis.eval', None)
    assert patch_lvis_for_numpy2() is False
