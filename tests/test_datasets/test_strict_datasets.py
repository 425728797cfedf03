"""Bad input gets an error that names the file or record, never a skip."""
import json
import shutil

import pytest
from mmdet.registry import DATASETS

import mmdet_efl  # noqa: F401


def _copy(tiny_lvis, tmp_path):
    root = tmp_path / 'data'
    shutil.copytree(tiny_lvis, root)
    return root


def _build(root, ann='annotations/train.json'):
    return DATASETS.build(
        dict(type='StrictLVISV1Dataset', data_root=str(root) + '/',
             ann_file=ann, data_prefix=dict(img=''), pipeline=[]))


def _edit(root, fn):
    path = root / 'annotations/train.json'
    data = json.loads(path.read_text())
    fn(data)
    path.write_text(json.dumps(data))
    return data


def test_clean_dataset_loads_like_mmdet(tiny_lvis):
    strict = _build(tiny_lvis)
    plain = DATASETS.build(
        dict(type='LVISV1Dataset', data_root=str(tiny_lvis) + '/',
             ann_file='annotations/train.json', data_prefix=dict(img=''),
             pipeline=[]))
    assert len(strict) == len(plain) == 24
    assert strict[3]['instances'] == plain[3]['instances']


def test_missing_image_names_the_file(tiny_lvis, tmp_path):
    root = _copy(tiny_lvis, tmp_path)
    (root / 'train/000005.png').unlink()
    with pytest.raises(FileNotFoundError, match='000005.png'):
        _build(root)


def test_corrupt_json_names_the_file(tiny_lvis, tmp_path):
    root = _copy(tiny_lvis, tmp_path)
    path = root / 'annotations/train.json'
    path.write_text(path.read_text()[:-40])
    with pytest.raises(ValueError, match=r'train\.json is not valid JSON'):
        _build(root)


def test_missing_annotation_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.json'):
        _build(tmp_path, 'nope.json')


def test_unknown_category_names_the_record(tiny_lvis, tmp_path):
    root = _copy(tiny_lvis, tmp_path)
    data = _edit(root, lambda d: d['annotations'][7].update(category_id=99))
    ann = data['annotations'][7]
    with pytest.raises(ValueError, match=f"annotation id {ann['id']}: "
                       'category_id 99'):
        _build(root)


def test_box_outside_image_names_the_record(tiny_lvis, tmp_path):
    root = _copy(tiny_lvis, tmp_path)
    data = _edit(root, lambda d: d['annotations'][2].update(
        bbox=[120.0, 10.0, 30.0, 20.0]))
    with pytest.raises(ValueError, match=f"annotation id "
                       f"{data['annotations'][2]['id']}.*outside"):
        _build(root)
