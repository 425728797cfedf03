"""The fast LVIS backend gives the official lvis-api numbers."""
import json
import logging

import pytest
import torch
from mmdet.registry import METRICS

import mmdet_efl  # noqa: F401
from longtail_benchmark.synthetic_longtail import (SyntheticSpec,
                                                   generate_dataset)
from mmdet_efl.evaluation import evaluate_lvis
from mmdet_efl.testing import simulate_detections
from mmdet_efl.testing import CapturedLog


# mmdet's LVISMetric is one of the references
pytestmark = pytest.mark.usefixtures('lvis_api_on_numpy2')


@pytest.fixture(scope='module')
def lvis_val(tmp_path_factory):
    root = tmp_path_factory.mktemp('lvis_eval')
    paths = generate_dataset(str(root), SyntheticSpec(
        num_classes=24, num_train=420, num_val=120, max_images=150,
        seed=3), render=False)
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


# -- parity with mmdet's LVISMetric: format_only, outfile_prefix, classwise

@pytest.fixture
def log():
    """What MMEngine's current logger writes during the test."""
    with CapturedLog() as captured:
        yield captured


def _groups_case(tmp_path):
    """Hand-computed per-category AP: cat1 1.0, cat2 0.5, cat3 0.0."""
    from .lvis_cases import cases, write
    case = next(c for c in cases() if c['name'] == 'frequency_groups')
    return case, write(case, tmp_path)


def _run(metric_cfg, case, ann_file):
    from .test_lvis_hand_computed import samples
    gt = case['gt']
    metric = METRICS.build(dict(metric_cfg, ann_file=ann_file))
    metric.dataset_meta = dict(classes=[c['name'] for c in gt['categories']])
    batch = samples(case['dets'], [c['id'] for c in gt['categories']])
    metric.process({}, batch)
    return metric.evaluate(len(batch))


@pytest.mark.parametrize('backend', ['lvis', 'faster_coco_eval'])
def test_format_only_writes_the_submission_file_as_mmdet(tmp_path, backend,
                                                         log):
    case, ann_file = _groups_case(tmp_path)
    metric_cfg = dict(type='LVISBoxMetric', backend=backend, format_only=True,
                      outfile_prefix=str(tmp_path / 'ours/sub'))
    assert METRICS.build(dict(metric_cfg, ann_file=ann_file)
                         ).per_category_ap == {}
    ours = _run(metric_cfg, case, ann_file)
    theirs = _run(dict(type='LVISMetric', format_only=True,
                       outfile_prefix=str(tmp_path / 'mmdet/sub')),
                  case, ann_file)
    assert ours == theirs == {}
    assert (f"LVISBoxMetric: detections saved to {tmp_path / 'ours/sub'}"
            '.bbox.json; not evaluated (format_only)') in log.messages
    written = json.load(open(tmp_path / 'ours/sub.bbox.json'))
    assert written == json.load(open(tmp_path / 'mmdet/sub.bbox.json'))
    # xywh boxes and category ids, as the LVIS server reads them
    assert sorted((d['image_id'], d['category_id'], d['bbox'], d['score'])
                  for d in written) == sorted(
        (d['image_id'], d['category_id'], d['bbox'], d['score'])
        for d in case['dets'])


def test_format_only_needs_outfile_prefix(tmp_path):
    _, ann_file = _groups_case(tmp_path)
    with pytest.raises(AssertionError, match='outfile_prefix'):
        METRICS.build(dict(type='LVISBoxMetric', ann_file=ann_file,
                           format_only=True))


def test_outfile_prefix_keeps_the_results_and_evaluates(tmp_path):
    case, ann_file = _groups_case(tmp_path)
    out = _run(dict(type='LVISBoxMetric', outfile_prefix=str(
        tmp_path / 'run/results')), case, ann_file)
    assert out['lvis/bbox_AP'] == pytest.approx(0.5)
    assert len(json.load(open(tmp_path / 'run/results.bbox.json'))) == 3


@pytest.mark.parametrize('backend', ['lvis', 'faster_coco_eval'])
def test_classwise_adds_mmdets_per_category_keys_and_table(
        tmp_path, backend, log):
    case, ann_file = _groups_case(tmp_path)
    ours = _run(dict(type='LVISBoxMetric', backend=backend, classwise=True),
                case, ann_file)
    lines = log.messages  # ours only: taken before LVISMetric runs
    theirs = _run(dict(type='LVISMetric', classwise=True), case, ann_file)
    assert set(ours) == set(theirs)
    assert ours['lvis/cat1_precision'] == pytest.approx(1.0)
    assert ours['lvis/cat2_precision'] == pytest.approx(0.5)
    assert ours['lvis/cat3_precision'] == pytest.approx(0.0)
    for key, value in theirs.items():
        assert ours[key] == pytest.approx(value, abs=5e-4), key
    table = next(line for line in lines if '| category' in line)
    for row in ('cat1', '1.000', 'cat2', '0.500', 'cat3', '0.000'):
        assert row in table


def test_metric_items_select_the_keys(tmp_path):
    case, ann_file = _groups_case(tmp_path)
    out = _run(dict(type='LVISBoxMetric', metric_items=['APr', 'APf']),
               case, ann_file)
    assert out == {'lvis/bbox_APr': pytest.approx(1.0),
                   'lvis/bbox_APf': pytest.approx(0.0)}
    with pytest.raises(ValueError, match=r"metric_items \['APx'\]"):
        METRICS.build(dict(type='LVISBoxMetric', ann_file=ann_file,
                           metric_items=['APx']))


def test_category_table_layout():
    """Three (category, AP) pairs per row, as mmdet's classwise tables."""
    from mmdet_efl.evaluation.metrics.lvis_box_metric import category_table
    table = category_table([('a', 1.0), ('bb', 0.5), ('c', 0.25),
                            ('d', 0.0)])
    assert table.splitlines() == [
        '+----------+-------+----------+-------+----------+-------+',
        '| category | AP    | category | AP    | category | AP    |',
        '+----------+-------+----------+-------+----------+-------+',
        '| a        | 1.000 | bb       | 0.500 | c        | 0.250 |',
        '| d        | 0.000 |          |       |          |       |',
        '+----------+-------+----------+-------+----------+-------+']
    assert category_table([('a', 1.0)]).splitlines()[1] == \
        '| category | AP    |'


@pytest.mark.parametrize('backend', ['lvis', 'faster_coco_eval'])
def test_evaluation_prints_nothing(tmp_path, backend, capsys):
    """Both evaluators print their own tables: a runner logs ours."""
    case, ann_file = _groups_case(tmp_path)
    capsys.readouterr()
    evaluate_lvis(ann_file, case['dets'], backend=backend)
    assert capsys.readouterr().out == ''


def test_argument_errors(tmp_path):
    case, ann_file = _groups_case(tmp_path)
    with pytest.raises(ValueError) as err:
        evaluate_lvis(ann_file, case['dets'], backend='cocoapi')
    assert str(err.value) == ("unknown LVIS backend 'cocoapi'; use one of "
                              "('lvis', 'faster_coco_eval')")
    with pytest.raises(ValueError) as err:
        evaluate_lvis(ann_file, [])
    assert str(err.value) == 'no detections to evaluate'
    with pytest.raises(ValueError) as err:
        METRICS.build(dict(type='LVISBoxMetric', ann_file=ann_file,
                           backend='cocoapi'))
    assert str(err.value) == ("LVISBoxMetric: backend must be one of "
                              "('lvis', 'faster_coco_eval'), got 'cocoapi'")
    with pytest.raises(ValueError) as err:
        METRICS.build(dict(type='LVISBoxMetric', ann_file=ann_file,
                           metric=['bbox', 'segm']))
    assert str(err.value) == ("LVISBoxMetric evaluates boxes only, got "
                              "metric=['bbox', 'segm']")
    with pytest.raises(ValueError) as err:
        METRICS.build(dict(type='LVISBoxMetric'))
    assert str(err.value) == ('LVISBoxMetric needs ann_file (the LVIS '
                              'annotation file of the evaluated split)')
    with pytest.raises(TypeError, match='gt must be the path of an LVIS '
                       'annotation file or an lvis.LVIS, got dict'):
        evaluate_lvis(case['gt'], case['dets'])


@pytest.mark.parametrize('backend', ['lvis', 'faster_coco_eval'])
def test_no_detections_scores_zero(tmp_path, backend, log):
    case, ann_file = _groups_case(tmp_path)
    metric = METRICS.build(dict(type='LVISBoxMetric', ann_file=ann_file,
                                backend=backend, classwise=True))
    metric.dataset_meta = dict(classes=['cat1', 'cat2', 'cat3'])
    metric.process({}, [dict(img_id=1, ori_shape=(200, 200),
                             pred_instances=dict(
                                 bboxes=torch.zeros(0, 4),
                                 scores=torch.zeros(0),
                                 labels=torch.zeros(0, dtype=torch.long)))])
    out = metric.evaluate(1)
    assert out == {**{f'lvis/cat{k}_precision': 0.0 for k in (1, 2, 3)},
                   **{f'lvis/bbox_{k}': 0.0 for k in (
                       'AP', 'AP50', 'AP75', 'APs', 'APm', 'APl', 'APr',
                       'APc', 'APf')}}
    assert metric.per_category_ap == {1: 0.0, 2: 0.0, 3: 0.0}
    assert 'LVISBoxMetric: no detections; AP is 0' in log.messages


def test_without_outfile_prefix_no_file_is_left(tmp_path, monkeypatch):
    """The results go to a temporary directory that is removed."""
    import tempfile
    work, tmp = tmp_path / 'cwd', tmp_path / 'tmp'
    work.mkdir()
    tmp.mkdir()
    case, ann_file = _groups_case(work)
    gt_files = list(work.iterdir())
    monkeypatch.chdir(work)
    monkeypatch.setattr(tempfile, 'tempdir', str(tmp))
    out = _run(dict(type='LVISBoxMetric'), case, ann_file)
    assert out['lvis/bbox_AP'] == pytest.approx(0.5)
    assert list(work.iterdir()) == gt_files
    assert list(tmp.iterdir()) == []


def test_each_backend_is_the_one_asked_for(tmp_path, caplog):
    """The official lvis-api logs its steps (logger ``lvis.eval``);
    faster-coco-eval does not use it."""
    case, ann_file = _groups_case(tmp_path)

    def lvis_api_ran(run):
        caplog.clear()
        with caplog.at_level(logging.INFO, logger='lvis'):
            run()
        return any(r.name == 'lvis.eval' for r in caplog.records)

    for backend, official in (('lvis', True), ('faster_coco_eval', False)):
        assert lvis_api_ran(lambda: evaluate_lvis(
            ann_file, case['dets'], backend=backend)) is official
        assert lvis_api_ran(lambda: _run(
            dict(type='LVISBoxMetric', backend=backend), case,
            ann_file)) is official


def test_fast_backend_leaves_the_ground_truth_as_it_was(tmp_path):
    import copy
    from mmdet_efl.evaluation.functional import load_lvis
    case, ann_file = _groups_case(tmp_path)
    gt = load_lvis(ann_file)
    before = copy.deepcopy(gt.dataset)
    evaluate_lvis(gt, case['dets'], backend='faster_coco_eval')
    assert gt.dataset == before


@pytest.mark.parametrize('backend', ['lvis', 'faster_coco_eval'])
def test_logged_summary_and_table(tmp_path, backend, log):
    from mmdet_efl.evaluation.metrics.lvis_box_metric import category_table
    case, ann_file = _groups_case(tmp_path)
    _run(dict(type='LVISBoxMetric', backend=backend, classwise=True), case,
         ann_file)
    assert '\n' + category_table([('cat1', 1.0), ('cat2', 0.5),
                                  ('cat3', 0.0)]) in log.messages
    assert (f'LVIS box AP ({backend}): AP 0.5000  AP50 0.5000  AP75 0.5000'
            '  APs -1.0000  APm 0.5000  APl 0.5000  APr 1.0000  APc 0.5000'
            '  APf 0.0000') in log.messages


def test_fast_backend_logs_no_table_of_its_own(tmp_path, caplog):
    case, ann_file = _groups_case(tmp_path)
    with caplog.at_level(logging.INFO):
        evaluate_lvis(ann_file, case['dets'], backend='faster_coco_eval')
    assert not [r for r in caplog.records
                if r.name.startswith('faster_coco_eval')]
