"""Evaluation by category chunks, on arrays, gives the official lvis-api's
numbers (the lvis-api run here on the whole file, unchunked).

The file is an LVIS-like one (``mmdet_efl.testing.lvis_like``): the
r/c/f groups interleaved by id (so chunk boundaries split them), images
with ``neg_category_ids`` and ``not_exhaustive_category_ids``, more than
300 detections per image (the cap matters) with scores rounded so that
ties occur at the cap, and one category with ground truth but no
detection.
"""
import copy
import json

import numpy as np
import pytest
import torch
from lvis import LVIS, LVISEval, LVISResults
from mmdet.registry import METRICS

import mmdet_efl  # noqa: F401
from mmdet_efl.evaluation import evaluate_lvis, patch_lvis_for_numpy2
from mmdet_efl.testing.lvis_like import (lvis_like_detections,
                                         write_lvis_like)
from mmdet_efl.evaluation.functional import (BACKENDS, KEYS, LVISDetections,
                                             cap_per_image, load_lvis)
from mmdet_efl.evaluation.functional import lvis_eval

#: a category of the file with ground truth whose detections are removed
UNDETECTED = 7


@pytest.fixture(scope='module')
def case(tmp_path_factory):
    path = str(tmp_path_factory.mktemp('lvis_like') / 'val.json')
    data = write_lvis_like(path, 'val', images=40, num_categories=36,
                           polygon_points=4, seed=5)
    mm = lvis_like_detections(data, per_image=320, seed=5)
    mm['scores'] = np.round(mm['scores'], 2)
    keep = mm['labels'] != UNDETECTED - 1
    mm = {k: v[keep] for k, v in mm.items()}
    xyxy = mm['bboxes'].astype(np.float64)
    dicts = [dict(image_id=i, category_id=c + 1,
                  bbox=[b[0], b[1], b[2] - b[0], b[3] - b[1]], score=s)
             for i, c, b, s in zip(mm['img_ids'].tolist(),
                                   mm['labels'].tolist(), xyxy.tolist(),
                                   mm['scores'].astype(np.float64).tolist())]
    gt = json.load(open(path))
    assert UNDETECTED in {a['category_id'] for a in gt['annotations']}
    assert any(img['not_exhaustive_category_ids'] for img in gt['images'])
    return dict(path=path, mm=mm, dicts=dicts, gt=gt,
                official=_official(path, dicts))


def _official(path, dicts):
    """The lvis-api on the whole file: summary and per-category AP."""
    # run here directly, it needs the numpy view on numpy >= 1.24
    assert patch_lvis_for_numpy2()
    gt = LVIS(path)
    ev = LVISEval(gt, LVISResults(gt, copy.deepcopy(dicts), max_dets=300),
                  'bbox')
    ev.run()
    per_cat = lvis_eval._per_category(ev.eval['precision'],
                                      ev.params.cat_ids)
    return dict({k: float(ev.results[k]) for k in KEYS},
                per_category=per_cat)


def _assert_equal(got, ref, tol):
    for key in KEYS:
        assert got[key] == pytest.approx(ref[key], abs=tol), key
    assert set(got['per_category']) == set(ref['per_category'])
    for cat_id, ap in ref['per_category'].items():
        if np.isnan(ap):
            assert np.isnan(got['per_category'][cat_id]), cat_id
        else:
            assert got['per_category'][cat_id] == pytest.approx(
                ap, abs=tol), cat_id


def test_the_case_exercises_the_cap_and_every_group(case):
    ref = case['official']
    assert all(ref[k] > 0.05 for k in ('AP', 'APr', 'APc', 'APf'))
    assert ref['per_category'][UNDETECTED] == 0.0
    assert np.bincount(case['mm']['img_ids']).max() > 300


# the lvis-api on chunks gives its unchunked numbers to round-off; the
# fast backend its own (equal to 1e-4, its tie order differs)
TOLERANCE = dict(lvis=1e-12, faster_coco_eval=1e-4)


@pytest.mark.parametrize('backend', BACKENDS)
@pytest.mark.parametrize('chunk_pairs', [1, 120, 10 ** 9])
def test_chunks_give_the_lvis_api_numbers(case, backend, chunk_pairs):
    got = evaluate_lvis(case['path'], case['dicts'], backend=backend,
                        chunk_pairs=chunk_pairs)
    _assert_equal(got, case['official'], TOLERANCE[backend])


@pytest.mark.parametrize('backend', BACKENDS)
def test_arrays_give_the_lvis_api_numbers(case, backend):
    mm = case['mm']
    dets = LVISDetections.from_mmdet(
        [dict(img_id=i, bboxes=mm['bboxes'][mm['img_ids'] == i],
              scores=mm['scores'][mm['img_ids'] == i],
              labels=mm['labels'][mm['img_ids'] == i])
         for i in np.unique(mm['img_ids']).tolist()],
        [c['id'] for c in case['gt']['categories']])
    got = evaluate_lvis(case['path'], dets, backend=backend,
                        chunk_pairs=200, chunk_detections=500)
    _assert_equal(got, case['official'], TOLERANCE[backend])


def test_chunks_respect_their_budgets(case, monkeypatch):
    """Each chunk holds at most chunk_pairs (image, category) pairs and
    chunk_detections detections, unless it is a single category; together
    the chunks hold every category once, in id order."""
    seen = []

    def record(run):
        def wrapped(chunk_gt, dets=()):
            cats = [c['id'] for c in chunk_gt['categories']]
            seen.append((cats, len(chunk_gt['images']), len(dets)))
            return run(chunk_gt, dets) if dets else run(chunk_gt)
        return wrapped

    monkeypatch.setitem(lvis_eval._CHUNK_BACKENDS, 'lvis',
                        record(lvis_eval._CHUNK_BACKENDS['lvis']))
    monkeypatch.setattr(lvis_eval, '_without_detections',
                        record(lvis_eval._without_detections))
    got = evaluate_lvis(case['path'], case['dicts'], backend='lvis',
                        chunk_pairs=150, chunk_detections=400)
    _assert_equal(got, case['official'], TOLERANCE['lvis'])
    assert len(seen) > 5
    for cats, num_images, num_dets in seen:
        assert len(cats) == 1 or (len(cats) * num_images <= 150 and
                                  num_dets <= 400), (cats, num_images)
    cats = [c for chunk, _, _ in seen for c in chunk]
    assert cats == sorted(c['id'] for c in case['gt']['categories'])
    freqs = {c['id']: c['frequency'] for c in case['gt']['categories']}
    assert any(len({freqs[c] for c in chunk}) == 3 for chunk, _, _ in seen)


def test_cap_keeps_what_lvis_results_keeps(case):
    """Per image the 300 best, across categories, ties at the cut broken
    by order as the lvis-api's (stable) sort breaks them."""
    gt = load_lvis(case['path'])
    dets = LVISDetections.from_dicts(case['dicts'], gt)
    capped = cap_per_image(dets)
    ours = sorted(zip(capped.image_ids.tolist(),
                      capped.category_ids.tolist(),
                      map(tuple, capped.bboxes.tolist()),
                      capped.scores.tolist()))
    kept = LVISResults(gt, copy.deepcopy(case['dicts']),
                       max_dets=300).dataset['annotations']
    theirs = sorted((d['image_id'], d['category_id'], tuple(d['bbox']),
                     d['score']) for d in kept)
    assert len(ours) < len(case['dicts'])
    assert ours == theirs


def _mmdet_batch(case):
    mm = case['mm']
    return [dict(img_id=i, ori_shape=(480, 640), pred_instances=dict(
        bboxes=torch.from_numpy(mm['bboxes'][mm['img_ids'] == i]),
        scores=torch.from_numpy(mm['scores'][mm['img_ids'] == i]),
        labels=torch.from_numpy(mm['labels'][mm['img_ids'] == i]).long()))
        for i in np.unique(mm['img_ids']).tolist()]


@pytest.mark.parametrize('backend', BACKENDS)
def test_metric_gives_the_lvis_api_numbers(case, backend):
    metric = METRICS.build(dict(type='LVISBoxMetric', ann_file=case['path'],
                                backend=backend))
    metric.dataset_meta = dict(classes=[c['name'] for c in
                                        case['gt']['categories']])
    batch = _mmdet_batch(case)
    metric.process({}, batch)
    out = metric.evaluate(len(batch))
    for key in KEYS:
        assert out[f'lvis/bbox_{key}'] == pytest.approx(
            case['official'][key], abs=TOLERANCE[backend]), key


def test_submission_file_has_mmdets_records(case, tmp_path):
    """format_only writes, image by image, what mmdet's LVISMetric writes
    (loaded, the two files are equal)."""
    files = {}
    for kind in ('LVISBoxMetric', 'LVISMetric'):
        prefix = str(tmp_path / kind / 'sub')
        metric = METRICS.build(dict(type=kind, ann_file=case['path'],
                                    format_only=True, outfile_prefix=prefix))
        metric.dataset_meta = dict(classes=[c['name'] for c in
                                            case['gt']['categories']])
        batch = _mmdet_batch(case)
        metric.process({}, batch)
        assert metric.evaluate(len(batch)) == {}
        files[kind] = json.load(open(prefix + '.bbox.json'))
    assert len(files['LVISBoxMetric']) == len(case['mm']['scores'])
    assert files['LVISBoxMetric'] == files['LVISMetric']


BAD_ARRAYS = {
    'image_ids': (123456, "image_id 123456 is not the id of any of the "
                  "file's ground-truth images"),
    'category_ids': (999, "category_id 999 is not the id of any of the "
                     "file's ground-truth categories"),
    'scores': (np.nan, 'score must be a finite number, got nan'),
}


@pytest.mark.parametrize('name', sorted(BAD_ARRAYS))
def test_bad_detection_array_is_named(case, name):
    gt = load_lvis(case['path'])
    dets = LVISDetections.from_dicts(case['dicts'][:10], gt)
    value, message = BAD_ARRAYS[name]
    getattr(dets, name)[3] = value
    with pytest.raises(ValueError) as err:
        evaluate_lvis(gt, dets)
    assert str(err.value) == f'detections[3]: {message}'


def test_negative_box_side_in_arrays_is_named(case):
    gt = load_lvis(case['path'])
    dets = LVISDetections.from_dicts(case['dicts'][:10], gt)
    dets.bboxes[4] = [1.0, 2.0, -3.0, 4.0]
    with pytest.raises(ValueError) as err:
        evaluate_lvis(gt, dets)
    assert str(err.value) == ('detections[4]: bbox [1.0, 2.0, -3.0, 4.0] '
                              '(x, y, w, h) has a negative width or height')
