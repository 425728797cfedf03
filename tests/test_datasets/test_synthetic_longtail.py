"""The generated long-tailed dataset is valid LVIS and deterministic."""
import json

from mmdet.registry import DATASETS

import mmdet_efl  # noqa: F401
from mmdet_efl.datasets import (SyntheticSpec, dataset_summary,
                                frequency_group, generate_dataset)


def test_deterministic_from_seed(tmp_path):
    spec = SyntheticSpec(num_classes=5, num_train=6, num_val=2, max_images=5,
                         min_images=1, seed=3)
    a = generate_dataset(str(tmp_path / 'a'), spec)
    b = generate_dataset(str(tmp_path / 'b'), spec)
    assert open(a['train']).read() == open(b['train']).read()
    assert (tmp_path / 'a/train/000001.png').read_bytes() == \
        (tmp_path / 'b/train/000001.png').read_bytes()


def test_lvis_fields_and_mmdet_loads_it(tiny_lvis):
    data = json.load(open(tiny_lvis / 'annotations/train.json'))
    for cat in data['categories']:
        images = {a['image_id'] for a in data['annotations']
                  if a['category_id'] == cat['id']}
        assert cat['image_count'] == len(images) >= 1
        assert cat['frequency'] == frequency_group(len(images))
    for img in data['images']:
        assert 'neg_category_ids' in img
        assert 'not_exhaustive_category_ids' in img
    ds = DATASETS.build(
        dict(type='LVISV1Dataset', data_root=str(tiny_lvis) + '/',
             ann_file='annotations/train.json', data_prefix=dict(img=''),
             pipeline=[]))
    assert len(ds) == 24
    assert ds[0]['img_path'].endswith('.png')


def test_default_spec_populates_all_frequency_groups(tmp_path):
    # The demo's dataset: rare, common and frequent all well populated.
    paths = generate_dataset(str(tmp_path), SyntheticSpec(num_val=40))
    groups = dataset_summary(paths['train'])
    assert groups['rare'] >= 4 and groups['common'] >= 4
    assert groups['frequent'] >= 4


def test_balanced_variant_is_uniform_coco(tmp_path):
    spec = SyntheticSpec(num_classes=6, num_train=30, num_val=10,
                         max_objects=3, balanced=True, seed=2)
    paths = generate_dataset(str(tmp_path), spec)
    data = json.load(open(paths['train']))
    counts = [c['image_count'] for c in data['categories']]
    assert max(counts) - min(counts) <= 1  # uniform up to placement
    assert 'neg_category_ids' not in data['images'][0]
    ds = DATASETS.build(
        dict(type='StrictCocoDataset', data_root=str(tmp_path) + '/',
             ann_file='annotations/train.json', data_prefix=dict(img=''),
             metainfo=dict(classes=tuple(c['name']
                                         for c in data['categories'])),
             pipeline=[]))
    assert len(ds) == 30
