"""The simulator's LVIS-style AP: hand values, the per-image cap, and the
official LVIS evaluators' numbers on the same detections."""
import json

import numpy as np
import pytest
import torch

from mmdet_efl.evaluation import evaluate_lvis
from longtail_benchmark.simulation.evaluation import (
    average_precision, cap_per_image, detections_as_records, lvis_gt,
    lvis_style_ap, verified_negatives)


def test_average_precision_by_hand():
    # ranked: TP, FP, TP of 2 ground truths. precision 1, 1/2, 2/3 at
    # recall 1/2, 1/2, 1; envelope 1, 2/3, 2/3. Recall points 0..0.5 (51)
    # read 1, points 0.51..1 (50) read 2/3.
    ap = average_precision(np.array([0.7, 0.9, 0.8]),
                           np.array([True, True, False]), num_gt=2)
    assert ap == pytest.approx((51 + 50 * 2 / 3) / 101)
    assert average_precision(np.array([0.5]), np.array([True]), 4) == \
        pytest.approx(26 / 101)  # recall 1/4: points 0..0.25
    assert average_precision(np.empty(0), np.empty(0, bool), 3) == 0.0
    assert average_precision(np.empty(0), np.empty(0, bool), 0) == -1.0


def test_the_cap_drops_an_outscored_rare_object():
    # one image, one object of category 1 scored 0.5; 3 background boxes
    # score 0.9 for category 0. With 300 kept the object is found (AP 1);
    # with 3 kept, its pair is cut before ranking.
    obj = torch.tensor([[0.1, 0.5]])
    near = torch.zeros(0, 2)
    bg = torch.tensor([[0.9, 0.0]] * 3)
    groups = {'rare': [1], 'frequent': [0]}
    args = (obj, near, bg, np.array([0]), np.array([1]), 1, groups)
    full = lvis_style_ap(*args, max_dets=300)
    assert full['APr'] == pytest.approx(100.0)
    assert full['lost_to_cap'] == {'rare': 0.0}
    capped = lvis_style_ap(*args, max_dets=3)
    assert capped['APr'] == 0.0
    assert capped['lost_to_cap'] == {'rare': 1.0}
    assert np.isnan(capped['APf'])  # no ground truth of category 0


@pytest.mark.parametrize('backend', ['lvis', 'faster_coco_eval'])
def test_equals_the_official_evaluators(backend, tmp_path):
    rng = np.random.default_rng(0)
    num_images, num_classes = 12, 6
    obj_image = np.sort(rng.integers(0, num_images, 30))
    obj_label = rng.integers(0, num_classes, 30)
    gen = torch.Generator().manual_seed(0)
    objects = torch.rand(30, num_classes, generator=gen)
    near = torch.rand(60, num_classes, generator=gen) * 0.8
    background = torch.rand(num_images * 5, num_classes, generator=gen)
    groups = {'rare': [0, 1], 'common': [2, 3], 'frequent': [4, 5]}
    freq = ['r', 'r', 'c', 'c', 'f', 'f']
    for federated in (None, 3):
        for max_dets in (300, 20):  # 20 < the 72 pairs of an image
            ours = lvis_style_ap(objects, near, background, obj_image,
                                 obj_label, num_images, groups,
                                 max_dets=max_dets,
                                 federated_negatives=federated)
            dets = cap_per_image(objects, near, background, obj_image,
                                 num_images, max_dets)
            negs = verified_negatives(obj_image, obj_label, num_images,
                                      num_classes, federated)
            path = tmp_path / f'gt_{federated}_{max_dets}.json'
            path.write_text(json.dumps(lvis_gt(obj_image, obj_label,
                                               num_images, freq, negs)))
            theirs = evaluate_lvis(str(path), detections_as_records(dets),
                                   backend=backend)
            for key in ('AP', 'APr', 'APc', 'APf'):
                assert ours[key] == pytest.approx(100 * theirs[key],
                                                  abs=1e-9), (federated,
                                                              max_dets, key)
            if max_dets == 20:
                assert max(ours['lost_to_cap'].values()) > 0
