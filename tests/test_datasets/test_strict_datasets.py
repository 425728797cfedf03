"""Bad input gets an error that names the file and the record, never a
skip."""
import json
import shutil

import pytest
from mmdet.registry import DATASETS

import mmdet_efl  # noqa: F401


def _copy(tiny_lvis, tmp_path):
    root = tmp_path / 'data'
    shutil.copytree(tiny_lvis, root)
    return root


def _build(root, ann='annotations/train.json', kind='lvis'):
    cfg = dict(data_root=str(root) + '/', ann_file=ann,
               data_prefix=dict(img=''), pipeline=[])
    if kind == 'lvis':
        return DATASETS.build(dict(cfg, type='StrictLVISV1Dataset'))
    data = json.loads((root / ann).read_text())
    classes = tuple(c['name'] for c in data['categories'])
    return DATASETS.build(dict(cfg, type='StrictCocoDataset',
                               metainfo=dict(classes=classes)))


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
    for i in range(len(strict)):
        assert strict[i]['instances'] == plain[i]['instances']


def test_clean_coco_dataset_loads_like_mmdet(tiny_lvis):
    strict = _build(tiny_lvis, kind='coco')
    assert len(strict) == 24
    assert len(strict.cat_ids) == 6
    assert sum(len(strict[i]['instances']) for i in range(24)) == len(
        json.loads((tiny_lvis / 'annotations/train.json').read_text())[
            'annotations'])


def test_missing_image_names_the_file(tiny_lvis, tmp_path, monkeypatch):
    """Every image file is looked for (here none is sampled first)."""
    from mmdet_efl.datasets.strict_datasets import StrictAnnotationsMixin
    monkeypatch.setattr(StrictAnnotationsMixin, 'image_sample', (0, 0))
    root = _copy(tiny_lvis, tmp_path)
    (root / 'train/000005.png').unlink()
    with pytest.raises(FileNotFoundError, match='image id 5: image file '
                       r'.*000005\.png is missing'):
        _build(root)


def test_corrupt_json_names_the_file(tiny_lvis, tmp_path):
    root = _copy(tiny_lvis, tmp_path)
    path = root / 'annotations/train.json'
    path.write_text(path.read_text()[:-40])
    with pytest.raises(ValueError, match=r'^StrictLVISV1Dataset: annotation '
                       r'file .*train\.json is not valid JSON'):
        _build(root)


def test_missing_annotation_file(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        _build(tmp_path, 'nope.json')
    assert str(err.value) == (f'StrictLVISV1Dataset: annotation file '
                              f'{tmp_path}/nope.json does not exist')


def _ann(k, tail):
    """The message about annotation k: its label, then ``tail``."""
    return lambda d: (f"annotation id {d['annotations'][k]['id']} "
                      f'(annotations[{k}]): {tail}')


def _img(k, tail):
    return lambda d: f"image id {d['images'][k]['id']!r} (images[{k}]): {tail}"


def _set(section, k, **values):
    return lambda d: d[section][k].update(values)


def _drop(section, k, name):
    return lambda d: d[section][k].pop(name)


NAN = float('nan')
DROPS = '; mmdet would silently drop it'
UNIQUE = ('; ids must be unique (the later record would silently replace '
          'the earlier one)')
# the edit, and the whole message after "<file>: " (issue 14, item 7:
# non-finite values, wrong lengths, dangling and duplicate ids, and the
# zero-area boxes no test had)
BAD_RECORDS = {
    'nan_coordinate': (
        _set('annotations', 4, bbox=[10.0, NAN, 20.0, 20.0]),
        _ann(4, 'bbox [10.0, nan, 20.0, 20.0] holds a value that is not a '
             'finite number')),
    'infinite_area': (
        _set('annotations', 4, area=float('inf')),
        _ann(4, 'area must be a finite number, got inf' + DROPS)),
    'three_numbers': (
        _set('annotations', 3, bbox=[1.0, 2.0, 3.0]),
        _ann(3, 'bbox must be 4 numbers [x, y, w, h], got 3 values: '
             '[1.0, 2.0, 3.0]')),
    'dangling_image_id': (
        _set('annotations', 6, image_id=9999),
        _ann(6, "image_id 9999 is not the id of any of the file's images")),
    # True == 1: a dict lookup would find image 1
    'bool_image_id': (
        _set('annotations', 6, image_id=True),
        _ann(6, "image_id True is not the id of any of the file's images")),
    'duplicate_annotation_id': (
        lambda d: d['annotations'][5].update(id=d['annotations'][2]['id']),
        _ann(5, 'repeats the id of annotations[2]' + UNIQUE)),
    'zero_area_box': (
        _set('annotations', 1, bbox=[10.0, 10.0, 0.0, 12.0]),
        _ann(1, 'bbox [10.0, 10.0, 0.0, 12.0] (x, y, w, h) has no area')),
    'negative_height': (
        _set('annotations', 1, bbox=[10.0, 10.0, 5.0, -2.0]),
        _ann(1, 'bbox [10.0, 10.0, 5.0, -2.0] (x, y, w, h) has a negative '
             'width or height')),
    'box_under_1px': (
        _set('annotations', 1, bbox=[10.0, 10.0, 0.5, 12.0]),
        _ann(1, 'bbox [10.0, 10.0, 0.5, 12.0] (x, y, w, h) is less than '
             '1.0 px wide or high' + DROPS)),
    'zero_area_field': (
        _set('annotations', 2, area=0),
        _ann(2, 'area must be > 0, got 0' + DROPS)),
    'missing_bbox': (_drop('annotations', 2, 'bbox'),
                     _ann(2, "lacks the field 'bbox'")),
    'missing_image_id': (_drop('annotations', 2, 'image_id'),
                         _ann(2, "lacks the field 'image_id'")),
    'missing_category_id': (_drop('annotations', 2, 'category_id'),
                            _ann(2, "lacks the field 'category_id'")),
    'unknown_category': (
        _set('annotations', 7, category_id=99),
        _ann(7, 'category_id 99 is not in the category list (6 categories '
             "of this dataset's classes)" + DROPS)),
    'outside_image': (
        _set('annotations', 2, bbox=[120.0, 10.0, 30.0, 20.0]),
        lambda d: _ann(2, 'bbox [120.0, 10.0, 30.0, 20.0] (x, y, w, h) lies '
                       'outside its 128x128 image (image id '
                       f"{d['annotations'][2]['image_id']})")(d)),
    'duplicate_image_id': (
        lambda d: d['images'][3].update(id=d['images'][1]['id']),
        _img(3, 'repeats the id of images[1]' + UNIQUE)),
    'nan_width': (_set('images', 2, width=NAN),
                  _img(2, 'width must be a finite number, got nan')),
    'zero_height': (_set('images', 2, height=0),
                    _img(2, 'height must be > 0, got 0')),
    'string_image_id': (_set('images', 2, id='2'),
                        _img(2, "id must be an integer, got '2'")),
    'annotation_not_an_object': (
        lambda d: d['annotations'].__setitem__(3, [1, 2]),
        lambda d: 'annotations[3] must be a JSON object, got [1, 2]'),
    'duplicate_category_id': (
        lambda d: d['categories'][4].update(id=d['categories'][1]['id']),
        lambda d: (f"category id {d['categories'][4]['id']} (categories[4]): "
                   'repeats the id of categories[1]' + UNIQUE)),
    # a bad record after an ignored one is still found
    'bad_box_after_ignored_annotation': (
        lambda d: (d['annotations'][0].update(ignore=1),
                   d['annotations'][3].update(bbox=[1.0, 2.0, 3.0])),
        _ann(3, 'bbox must be 4 numbers [x, y, w, h], got 3 values: '
             '[1.0, 2.0, 3.0]')),
}


@pytest.mark.parametrize('kind', ['lvis', 'coco'])
@pytest.mark.parametrize('name', sorted(BAD_RECORDS))
def test_bad_record_names_file_record_and_field(tiny_lvis, tmp_path, name,
                                                kind):
    edit, message = BAD_RECORDS[name]
    root = _copy(tiny_lvis, tmp_path)
    data = _edit(root, edit)
    with pytest.raises(ValueError) as err:
        _build(root, kind=kind)
    assert str(err.value) == f'{root}/annotations/train.json: {message(data)}'


# Boxes may reach BORDER_TOLERANCE (1 px) past each border of their 128x128
# image, and no further: each side on its own, at and just past the limit.
BORDER_BOXES = {
    'left': ([-1.0, 10.0, 20.0, 20.0], [-1.5, 10.0, 20.0, 20.0]),
    'top': ([10.0, -1.0, 20.0, 20.0], [10.0, -1.5, 20.0, 20.0]),
    'right': ([109.0, 10.0, 20.0, 20.0], [109.5, 10.0, 20.0, 20.0]),
    'bottom': ([10.0, 109.0, 20.0, 20.0], [10.0, 109.5, 20.0, 20.0]),
}


@pytest.mark.parametrize('side', sorted(BORDER_BOXES))
def test_border_tolerance_per_side(tiny_lvis, tmp_path, side):
    inside, outside = BORDER_BOXES[side]
    root = _copy(tiny_lvis, tmp_path)
    data = _edit(root, _set('annotations', 2, bbox=inside))
    image = next(i for i in data['images']
                 if i['id'] == data['annotations'][2]['image_id'])
    assert (image['width'], image['height']) == (128, 128)
    assert len(_build(root)) == 24
    _edit(root, _set('annotations', 2, bbox=outside))
    with pytest.raises(ValueError, match=r'\(annotations\[2\]\): bbox '
                       r'.* lies outside its 128x128 image'):
        _build(root)


def test_records_are_checked_once_per_load(tiny_lvis, monkeypatch):
    """The whole file is checked when mmdet parses the first image, not
    again for every image (which would make loading quadratic)."""
    from mmdet_efl.datasets.strict_datasets import StrictAnnotationsMixin
    calls = []
    check = StrictAnnotationsMixin.check_records
    monkeypatch.setattr(StrictAnnotationsMixin, 'check_records',
                        lambda self, *a, **k: calls.append(1) or
                        check(self, *a, **k))
    assert len(_build(tiny_lvis)) == 24
    assert len(calls) == 1


def test_lvis_image_without_coco_url_is_named(tiny_lvis, tmp_path):
    """mmdet reads coco_url before parsing the first image."""
    root = _copy(tiny_lvis, tmp_path)
    _edit(root, _drop('images', 5, 'coco_url'))
    with pytest.raises(ValueError, match=r"\(images\[5\]\): lacks the field "
                       "'coco_url', from which mmdet finds the image file"):
        _build(root)


def test_ignored_annotations_are_kept_out_as_mmdet_does(
        tiny_lvis, tmp_path):
    """``ignore`` is a flag mmdet honours on purpose, not a bad record:
    its box is not checked."""
    root = _copy(tiny_lvis, tmp_path)
    data = _edit(root, _set('annotations', 0, ignore=1,
                            bbox=[1.0, 1.0, 0.0, 0.0]))
    image_id = data['annotations'][0]['image_id']
    dataset = _build(root)
    info = next(dataset[i] for i in range(len(dataset))
                if dataset[i]['img_id'] == image_id)
    expected = sum(a['image_id'] == image_id for a in data['annotations'])
    assert len(info['instances']) == expected - 1


def test_other_indexing_failure_names_the_file(tiny_lvis, tmp_path):
    """A field mmdet needs that is not a record check (COCO category names,
    read to map the classes): the file and the error are named."""
    root = _copy(tiny_lvis, tmp_path)
    classes = tuple(c['name'] for c in json.loads(
        (root / 'annotations/train.json').read_text())['categories'])
    _edit(root, _drop('categories', 0, 'name'))
    with pytest.raises(ValueError) as err:
        DATASETS.build(dict(type='StrictCocoDataset',
                            data_root=str(root) + '/',
                            ann_file='annotations/train.json',
                            metainfo=dict(classes=classes),
                            data_prefix=dict(img=''), pipeline=[]))
    assert str(err.value) == (
        f'StrictCocoDataset: annotation file {root}/annotations/train.json '
        "could not be indexed (KeyError: 'name')")


# -- a class subset (metainfo classes), as mmdet documents it

def _coco(root, classes, **kwargs):
    return DATASETS.build(dict(
        type=kwargs.pop('type', 'StrictCocoDataset'),
        data_root=str(root) + '/', ann_file='annotations/train.json',
        metainfo=dict(classes=tuple(classes)), data_prefix=dict(img=''),
        pipeline=[], **kwargs))


def test_class_subset_skips_the_other_categories_as_mmdet(tiny_lvis):
    """``metainfo=dict(classes=...)`` naming 3 of the file's 6 categories
    (what CategoryCheckHook recommends): the annotations of the other 3
    are skipped, and what is loaded is what mmdet's CocoDataset loads."""
    data = json.loads((tiny_lvis / 'annotations/train.json').read_text())
    subset = [c['name'] for c in data['categories']][1:4]
    strict = _coco(tiny_lvis, subset)
    plain = _coco(tiny_lvis, subset, type='CocoDataset')
    assert len(strict.cat_ids) == 3
    # mmdet keeps the images without annotations of the subset too
    assert len(strict) == len(plain) == 24
    kept = [strict[i]['instances'] for i in range(len(strict))]
    assert kept == [plain[i]['instances'] for i in range(len(plain))]
    in_subset = {c['id'] for c in data['categories'] if c['name'] in subset}
    assert 0 < sum(map(len, kept)) == sum(
        a['category_id'] in in_subset for a in data['annotations'])


def test_class_that_is_no_category_of_the_file_is_named(tiny_lvis):
    data = json.loads((tiny_lvis / 'annotations/train.json').read_text())
    names = [c['name'] for c in data['categories']]
    with pytest.raises(ValueError) as err:
        _coco(tiny_lvis, [names[0], 'unicorn', names[2]])
    assert str(err.value) == (
        f"{tiny_lvis}/annotations/train.json: the dataset's classes "
        "(metainfo) name ['unicorn'], which no category of the file is "
        "called; mmdet would silently map the labels to the file's "
        'categories without them, so that label i would no longer be '
        'classes[i]')


def test_bad_box_of_a_chosen_class_is_still_refused(tiny_lvis, tmp_path):
    root = _copy(tiny_lvis, tmp_path)
    data = _edit(root, _set('annotations', 2, bbox=[1.0, 2.0, 3.0]))
    chosen = next(c['name'] for c in data['categories']
                  if c['id'] == data['annotations'][2]['category_id'])
    with pytest.raises(ValueError, match=r'\(annotations\[2\]\): bbox must '
                       r'be 4 numbers'):
        _coco(root, [chosen])


# -- a wrong image folder is reported before the whole file is checked

@pytest.mark.parametrize('kind', ['lvis', 'coco'])
def test_wrong_image_folder_is_reported_before_the_full_check(
        tiny_lvis, tmp_path, monkeypatch, kind):
    from mmdet_efl.datasets.strict_datasets import StrictAnnotationsMixin
    root = _copy(tiny_lvis, tmp_path)
    shutil.rmtree(root / 'train')
    checked = []
    monkeypatch.setattr(StrictAnnotationsMixin, 'check_records',
                        lambda *a, **k: checked.append(1))
    with pytest.raises(FileNotFoundError) as err:
        _build(root, kind=kind)
    data = json.loads((root / 'annotations/train.json').read_text())
    img = data['images'][0]
    name = 'StrictLVISV1Dataset' if kind == 'lvis' else 'StrictCocoDataset'
    assert str(err.value) == (
        f"{name}: {root}/annotations/train.json: image id {img['id']} "
        f"(images[0]): image file {root}/train/{img['id']:06d}.png is "
        f"missing (data_prefix img='{root}/'; 8 images looked for before "
        'checking the whole file)')
    assert checked == []
