"""The fast LVIS backend gives the official lvis-api numbers."""
import json

import pytest
import torch
from mmdet.registry import METRICS

import mmdet_efl  # noqa: F401
from mmdet_efl.datasets import SyntheticSpec, generate_dataset
from mmdet_efl.evaluation import evaluate_lvis
from mmdet_efl.evaluation.functional import simulate_detections


@pytest.fixture(scope='module')
def lvis_val(tmp_path_factory):
    root = tmp_path_factory.mktemp('lvis_eval')
    paths = generate_dataset(str(root), SyntheticSpec(
        num_train=420, num_val=120, seed=3), render=False)
    return paths['val']


def test_fast_backend_equals_lvis_api(lvis_val):
    dets = simulate_detections(lvis_val)
    ref = evaluate_lvis(lvis_val, dets, backend='lvis')
    fast = evaluate_lvis(lvis_val, dets, backend='faster_coco_eval')
    assert 0.05 < ref['AP'] < 0.9
    for key in ('AP', 'AP50', 'AP75', 'APr', 'APc', 'APf'):
        assert fast[key] == pytest.approx(ref[key], abs=1e-4), key
    for cat_id, ap in ref['per_category'].items():
        assert fast['per_category'][cat_id] == pytest.approx(ap, abs=1e-4)


def test_metric_in_mmdet_form(lvis_val):
    gt = json.load(open(lvis_val))
    cat_ids = [c['id'] for c in gt['categories']]
    dets = simulate_detections(lvis_val, seed=1)
    samples = {}
    for d in dets:
        s = samples.setdefault(d['image_id'], dict(b=[], s=[], l=[]))
        x, y, w, h = d['bbox']
        s['b'].append([x, y, x + w, y + h])
        s['s'].append(d['score'])
        s['l'].append(cat_ids.index(d['category_id']))
    batch = [dict(img_id=i, ori_shape=(128, 128), pred_instances=dict(
        bboxes=torch.tensor(v['b']), scores=torch.tensor(v['s']),
        labels=torch.tensor(v['l']))) for i, v in samples.items()]
    out = {}
    for backend in ('lvis', 'faster_coco_eval'):
        metric = METRICS.build(dict(type='LVISBoxMetric', ann_file=lvis_val,
                                    backend=backend))
        metric.dataset_meta = dict(classes=[c['name']
                                            for c in gt['categories']])
        metric.process({}, batch)
        out[backend] = metric.evaluate(len(batch))
        assert set(metric.per_category_ap) == set(cat_ids)
    for key, value in out['lvis'].items():
        assert out['faster_coco_eval'][key] == pytest.approx(value, abs=1e-4)
    assert out['lvis']['lvis/bbox_APr'] > 0


def test_unknown_backend_is_a_clear_error(lvis_val):
    with pytest.raises(ValueError, match='backend'):
        METRICS.build(dict(type='LVISBoxMetric', ann_file=lvis_val,
                           backend='cocoapi'))
