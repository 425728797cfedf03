"""Every field the LVIS protocol reads is validated on load, with the same
error naming the file, the record and the field, whichever backend."""
import copy
import json
import re

import pytest
from mmdet.registry import METRICS

import mmdet_efl  # noqa: F401
from mmdet_efl.evaluation import evaluate_lvis
from mmdet_efl.evaluation.functional import BACKENDS
from mmdet_efl.evaluation.functional.lvis_annotations import (
    check_lvis_annotations, load_lvis)

from .lvis_cases import LARGE, cases


@pytest.fixture
def base():
    """The verified-negative case: AP 0.75 when the file is intact."""
    return next(c for c in cases() if c['name'] == 'fp_on_verified_negative')


def _set(section, k, **values):
    return lambda d: d[section][k].update(values)


def _drop(section, k, name):
    return lambda d: d[section][k].pop(name)


IMG = 'image id 2 (images[1]): '
ANN = 'annotation id 1 (annotations[0]): '
CAT = 'category id 1 (categories[0]): '
UNIQUE = ('; ids must be unique (the later record would silently replace '
          'the earlier one)')
# the edit, and the whole message after "<file>: "
BAD_FILES = {
    'missing_neg_category_ids': (
        _drop('images', 1, 'neg_category_ids'),
        IMG + "lacks the field 'neg_category_ids' (the categories verified "
        'absent from the image, whose detections LVIS counts as false '
        'positives)'),
    'missing_not_exhaustive_category_ids': (
        _drop('images', 1, 'not_exhaustive_category_ids'),
        IMG + "lacks the field 'not_exhaustive_category_ids' (the "
        'categories whose unmatched detections LVIS ignores in this image)'),
    'neg_ids_not_a_list': (
        _set('images', 1, neg_category_ids=1),
        IMG + "neg_category_ids must be a list of ids of the file's "
        'categories, got 1'),
    'unknown_neg_category': (
        _set('images', 1, neg_category_ids=[1, 42]),
        IMG + 'neg_category_ids holds [42], which are not ids of the '
        "file's categories"),
    'unknown_not_exhaustive_category': (
        _set('images', 1, not_exhaustive_category_ids=[42, 1]),
        IMG + 'not_exhaustive_category_ids holds [42], which are not ids of '
        "the file's categories"),
    'missing_bbox': (_drop('annotations', 0, 'bbox'),
                     ANN + "lacks the field 'bbox'"),
    'nan_bbox': (_set('annotations', 0, bbox=[1.0, 2.0, float('nan'), 4.0]),
                 ANN + 'bbox [1.0, 2.0, nan, 4.0] holds a value that is not '
                 'a finite number'),
    'short_bbox': (_set('annotations', 0, bbox=[1.0, 2.0, 3.0]),
                   ANN + 'bbox must be 4 numbers [x, y, w, h], got 3 '
                   'values: [1.0, 2.0, 3.0]'),
    'negative_bbox': (_set('annotations', 0, bbox=[1.0, 2.0, -3.0, 4.0]),
                      ANN + 'bbox [1.0, 2.0, -3.0, 4.0] (x, y, w, h) has a '
                      'negative width or height'),
    'missing_area': (_drop('annotations', 0, 'area'),
                     ANN + "lacks the field 'area'; it decides the area "
                     'range (small/medium/large)'),
    'negative_area': (_set('annotations', 0, area=-1.0),
                      ANN + 'area must be >= 0, got -1.0; it decides the '
                      'area range (small/medium/large)'),
    'nan_area': (_set('annotations', 0, area=float('nan')),
                 ANN + 'area must be a finite number, got nan; it decides '
                 'the area range (small/medium/large)'),
    'missing_category_id': (_drop('annotations', 0, 'category_id'),
                            ANN + "lacks the field 'category_id'"),
    'unknown_category_id': (_set('annotations', 0, category_id=42),
                            ANN + 'category_id 42 is not the id of any of '
                            "the file's categories"),
    'dangling_image_id': (_set('annotations', 0, image_id=42),
                          ANN + "image_id 42 is not the id of any of the "
                          "file's images"),
    'annotation_id_zero': (_set('annotations', 0, id=0),
                           'annotation id 0 (annotations[0]): id must be a '
                           'positive integer, got 0'),
    'duplicate_annotation_id': (_set('annotations', 1, id=1),
                                'annotation id 1 (annotations[1]): repeats '
                                'the id of annotations[0]' + UNIQUE),
    'duplicate_image_id': (_set('images', 1, id=1),
                           'image id 1 (images[1]): repeats the id of '
                           'images[0]' + UNIQUE),
    'boolean_category_id': (_set('categories', 0, id=True),
                            'category id True (categories[0]): id must be '
                            'an integer, got True'),
    'crowd_annotation': (_set('annotations', 0, iscrowd=1),
                         ANN + 'iscrowd=1; LVIS has no crowd or ignored '
                         'annotations, and the backends read different '
                         "flags (lvis-api 'ignore', faster-coco-eval "
                         "'iscrowd')"),
    'ignored_annotation': (_set('annotations', 0, ignore=True),
                           ANN + 'ignore=True; LVIS has no crowd or ignored '
                           'annotations, and the backends read different '
                           "flags (lvis-api 'ignore', faster-coco-eval "
                           "'iscrowd')"),
    'missing_frequency': (_drop('categories', 0, 'frequency'),
                          CAT + "lacks the field 'frequency', which LVIS "
                          "groups into APr/APc/APf by ('r', 'c', 'f')"),
    'unknown_frequency': (_set('categories', 0, frequency='x'),
                          CAT + "frequency must be one of ('r', 'c', 'f'), "
                          "got 'x'"),
    'image_not_an_object': (lambda d: d['images'].append([3]),
                            'images[2] must be a JSON object, got [3]'),
    'section_not_a_list': (lambda d: d.update(annotations={}),
                           "'annotations' must be a list, got dict"),
    'missing_section': (lambda d: d.pop('categories'),
                        "lacks the list 'categories'"),
}


def _write(tmp_path, gt):
    path = tmp_path / 'gt.json'
    path.write_text(json.dumps(gt))
    return str(path)


def test_intact_file_evaluates(base, tmp_path):
    for backend in BACKENDS:
        out = evaluate_lvis(_write(tmp_path, base['gt']),
                            copy.deepcopy(base['dets']), backend=backend)
        assert out['AP'] == pytest.approx(0.75)


@pytest.mark.parametrize('backend', BACKENDS)
@pytest.mark.parametrize('name', sorted(BAD_FILES))
def test_bad_field_is_named_by_both_backends(base, tmp_path, name,
                                             backend):
    edit, message = BAD_FILES[name]
    gt = copy.deepcopy(base['gt'])
    edit(gt)
    path = _write(tmp_path, gt)
    with pytest.raises(ValueError) as err:
        evaluate_lvis(path, copy.deepcopy(base['dets']), backend=backend)
    assert str(err.value) == f'{path}: {message}'
    with pytest.raises(ValueError) as err:
        METRICS.build(dict(type='LVISBoxMetric', ann_file=path,
                           backend=backend))
    assert str(err.value) == f'{path}: {message}'


def test_file_that_is_not_json_is_named(tmp_path):
    path = tmp_path / 'gt.json'
    path.write_text('{"images": [')
    with pytest.raises(ValueError, match=re.escape(str(path)) +
                       ' is not valid JSON'):
        evaluate_lvis(str(path), [dict(image_id=1)])


BAD_DETECTIONS = {
    'unknown_image': (dict(image_id=42), "image_id 42 is not the id of any "
                      "of the file's ground-truth images"),
    'unknown_category': (dict(category_id=42), 'category_id 42 is not the '
                         "id of any of the file's ground-truth categories"),
    'nan_score': (dict(score=float('nan')), 'score must be a finite number, '
                  'got nan'),
    'missing_score': (dict(score=None), 'score must be a finite number, '
                      'got None'),
    'short_bbox': (dict(bbox=[1.0, 2.0, 3.0]), 'bbox must be 4 numbers '
                   '[x, y, w, h], got 3 values: [1.0, 2.0, 3.0]'),
    'empty_bbox': (dict(bbox=[1.0, 2.0, 0.0, 3.0]), None),
    'not_a_dict': ([1, 2], 'must be a dict, got [1, 2]'),
}


@pytest.mark.parametrize('backend', BACKENDS)
@pytest.mark.parametrize('name', sorted(BAD_DETECTIONS))
def test_bad_detection_is_named_by_both_backends(base, tmp_path, name,
                                                 backend):
    change, problem = BAD_DETECTIONS[name]
    dets = copy.deepcopy(base['dets'])
    if isinstance(change, dict):
        dets[1].update(change)
    else:
        dets[1] = change
    path = _write(tmp_path, base['gt'])
    if problem is None:  # a zero-size box is a legal (useless) detection
        assert evaluate_lvis(path, dets, backend=backend)['AP'] < 0.75
        return
    with pytest.raises(ValueError) as err:
        evaluate_lvis(path, dets, backend=backend)
    sep = ' ' if problem.startswith('must') else ': '
    assert str(err.value) == f'detections[1]{sep}{problem}'


def test_loaded_lvis_object_is_validated(base, tmp_path):
    from lvis import LVIS
    gt = copy.deepcopy(base['gt'])
    del gt['images'][1]['neg_category_ids']
    lvis_gt = LVIS(_write(tmp_path, gt))
    with pytest.raises(ValueError, match=re.escape(
            f'the LVIS ground truth: {IMG}') + "lacks the field "
            "'neg_category_ids'"):
        evaluate_lvis(lvis_gt, [dict(image_id=1, category_id=1, bbox=LARGE,
                                     score=1.0)])


def test_load_lvis_refuses_other_types_and_names_the_source(base,
                                                            tmp_path):
    from lvis import LVIS
    with pytest.raises(TypeError) as err:
        load_lvis(dict(images=[]))
    assert str(err.value) == ('gt must be the path of an LVIS annotation '
                              'file or an lvis.LVIS, got dict')
    gt = copy.deepcopy(base['gt'])
    del gt['images'][1]['neg_category_ids']
    with pytest.raises(ValueError, match=re.escape(f'my gt: {IMG}') +
                       "lacks the field 'neg_category_ids'"):
        load_lvis(LVIS(_write(tmp_path, gt)), 'my gt')


def test_detection_without_score_is_named(base, tmp_path):
    dets = copy.deepcopy(base['dets'])
    del dets[1]['score']
    with pytest.raises(ValueError) as err:
        evaluate_lvis(_write(tmp_path, base['gt']), dets)
    assert str(err.value) == "detections[1]: lacks the field 'score'"


def test_zero_size_ground_truth_box_is_accepted(base):
    """Like a zero-size detection, a ground-truth box of no width or height
    is legal in LVIS (it matches nothing): only negative sides are refused.
    """
    gt = copy.deepcopy(base['gt'])
    gt['annotations'][0].update(bbox=[1.0, 2.0, 0.0, 4.0], area=0.0)
    assert check_lvis_annotations(gt, 'gt.json') is None
