"""EFL Table 7's metric: OpenImages mAP@0.5 and AP1-AP5 over groups of
categories by training instances."""
import copy
import json

import numpy as np
import pytest
import torch

from mmdet.evaluation import OpenImagesMetric
from mmdet.evaluation.functional import eval_map
from mmdet.registry import DATASETS, METRICS
from mmdet_efl.datasets import label_counts
from mmdet_efl.evaluation import OpenImagesGroupMetric
from mmdet_efl.evaluation.metrics.openimages_group_metric import \
    instance_groups
from tests.helpers import REPO

NUM_CLASSES = 6
META = dict(classes=tuple(f'c{i}' for i in range(NUM_CLASSES)),
            dataset_type='oid_challenge',
            RELATION_MATRIX=np.eye(NUM_CLASSES, dtype=bool))


def _samples(seed=0, num_images=30):
    """Images with GT boxes and predictions whose quality falls with the
    label, plus false positives, so classes get different APs."""
    rng = np.random.default_rng(seed)
    samples = []
    for _ in range(num_images):
        n = rng.integers(1, 4)
        labels = rng.integers(0, NUM_CLASSES, n)
        xy = rng.uniform(0, 200, (n, 2))
        boxes = np.hstack([xy, xy + rng.uniform(20, 60, (n, 2))])
        noise = rng.normal(0, 1, (n, 4)) * (2 + 6 * labels[:, None])
        fp_labels = rng.integers(0, NUM_CLASSES, 2)
        fp = np.hstack([rng.uniform(0, 200, (2, 2)),
                        rng.uniform(200, 260, (2, 2))])
        pred_boxes = np.vstack([boxes + noise, fp])
        samples.append(dict(
            instances=[dict(bbox_label=int(lb), bbox=b.tolist(),
                            is_group_of=False)
                       for lb, b in zip(labels, boxes)],
            image_level_labels=np.unique(np.r_[labels, fp_labels]),
            pred_instances=dict(
                bboxes=torch.tensor(pred_boxes, dtype=torch.float32),
                scores=torch.tensor(rng.uniform(0.1, 1, n + 2),
                                    dtype=torch.float32),
                labels=torch.tensor(np.r_[labels, fp_labels]))))
    return samples


def _evaluate(metric, samples):
    metric.dataset_meta = META
    metric.process({}, samples)
    return metric.compute_metrics(metric.results)


def test_groups_are_equal_sized_from_rarest_to_most_frequent():
    groups = instance_groups([50, 5, 30, 1, 100, 10], 3)
    assert [g.tolist() for g in groups] == [[3, 1], [5, 2], [0, 4]]


def test_map_equals_mmdet_and_group_aps_average_per_class_ap():
    counts = [50, 5, 30, 1, 100, 10]
    ours = _evaluate(OpenImagesGroupMetric(
        num_groups=3, instance_counts=counts, get_supercategory=False),
        _samples())
    stock = _evaluate(OpenImagesMetric(get_supercategory=False), _samples())
    assert ours['mAP'] == pytest.approx(stock['mAP'], abs=1e-12)
    assert ours['AP50'] == stock['AP50']
    # per-class AP from mmdet's eval_map on the same processed results
    metric = OpenImagesMetric(get_supercategory=False)
    metric.dataset_meta = META
    metric.process({}, _samples())
    gts, preds = zip(*metric.results)
    _, per_class = eval_map(preds, gts, iou_thr=0.5, ioa_thr=0.5,
                            dataset='oid_challenge', logger='silent',
                            use_group_of=True)
    ap = [float(r['ap']) for r in per_class]
    assert len(set(np.round(ap, 6))) > 3  # the classes differ
    assert ours['AP1'] == pytest.approx((ap[3] + ap[1]) / 2)
    assert ours['AP2'] == pytest.approx((ap[5] + ap[2]) / 2)
    assert ours['AP3'] == pytest.approx((ap[0] + ap[4]) / 2)


def test_counts_come_from_the_training_annotations(tiny_lvis):
    cfg = dict(type='StrictLVISV1Dataset', data_root=str(tiny_lvis),
               ann_file='annotations/train.json', data_prefix=dict(img=''))
    metric = OpenImagesGroupMetric(num_groups=2, count_dataset=cfg,
                                   get_supercategory=False)
    metric.dataset_meta = META
    data = json.loads((tiny_lvis / 'annotations/train.json').read_text())
    ids = [c['id'] for c in data['categories']]
    expected = np.bincount([ids.index(a['category_id'])
                            for a in data['annotations']], minlength=6)
    np.testing.assert_array_equal(metric._instance_counts(), expected)
    dataset = DATASETS.build(dict(cfg, pipeline=[]))
    np.testing.assert_array_equal(label_counts(dataset, 'instance'),
                                  expected)


def test_registered():
    metric = METRICS.build(dict(type='OpenImagesGroupMetric',
                                instance_counts=[3, 1], num_groups=2))
    assert isinstance(metric, OpenImagesGroupMetric)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match='exactly one of'):
        OpenImagesGroupMetric()
    with pytest.raises(ValueError, match='exactly one of'):
        OpenImagesGroupMetric(instance_counts=[1], count_dataset=dict())
    metric = OpenImagesGroupMetric(instance_counts=[1, 2, 3],
                                   get_supercategory=False)
    with pytest.raises(ValueError, match='3 instance counts for 6 classes'):
        _evaluate(metric, _samples(num_images=3))


def test_stock_metric_fails_on_challenge_data_and_ours_does_not():
    """mmdet's OpenImagesChallengeDataset stores 'is_group_ofs'; mmdet's
    metric reads 'is_group_of'."""
    samples = _samples(num_images=4)
    for s in samples:
        for inst in s['instances']:
            inst['is_group_ofs'] = inst.pop('is_group_of')
    with pytest.raises(KeyError, match='is_group_of'):
        _evaluate(OpenImagesMetric(get_supercategory=False),
                  copy.deepcopy(samples))
    ours = _evaluate(OpenImagesGroupMetric(
        num_groups=3, instance_counts=[1] * 6, get_supercategory=False),
        samples)
    assert 0 <= ours['mAP'] <= 1


def test_table7_efl_config_trains_and_evaluates(tiny_lvis, tmp_path):
    """EFL Table 7's EFL config as it stands, on the generated dataset
    written in the OpenImages Challenge layout: two training iterations,
    then the test loop with OpenImagesGroupMetric counting the groups from
    the training annotations."""
    from mmdet_efl.datasets import export_openimages_challenge
    from mmdet_efl.engine.launch import train
    root = tmp_path / 'openimages'
    export_openimages_challenge(str(tiny_lvis), str(root))
    base = REPO / ('configs/openimages/'
                   'atss-iou_r50_fpn_efl-180k_openimages-challenge.py')
    cfg = tmp_path / 'oi_tiny.py'
    cfg.write_text(f'''
_base_ = {str(base)!r}
_root = {str(root) + '/'!r}
model = dict(bbox_head=dict(num_classes=6, loss_cls=dict(num_classes=6)),
             backbone=dict(init_cfg=None))
train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
                        dataset=dict(data_root=_root))
val_dataloader = dict(num_workers=0, persistent_workers=False,
                      dataset=dict(data_root=_root))
test_dataloader = val_dataloader
val_evaluator = dict(num_groups=3, count_dataset=dict(data_root=_root))
test_evaluator = val_evaluator
train_cfg = dict(max_iters=2, val_interval=10**6)
default_hooks = dict(checkpoint=dict(interval=2))
visualizer = dict(name='openimages_tiny_visualizer')
''')
    runner = train([str(cfg), '--work-dir', str(tmp_path / 'work')])
    assert runner.iter == 2
    assert (runner.model.bbox_head.loss_cls.neg_grad > 0).all()
    metrics = runner.test()
    for key in ('AP50', 'mAP', 'AP1', 'AP2', 'AP3'):
        assert 0 <= metrics[f'openimages/{key}'] <= 1, key
    counts = runner.test_evaluator.metrics[0]._instance_counts()
    data = json.loads((tiny_lvis / 'annotations/train.json').read_text())
    assert counts.sum() == len(data['annotations'])
