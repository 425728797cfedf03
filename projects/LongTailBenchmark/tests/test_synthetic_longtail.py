"""The generated long-tailed glyph dataset: valid LVIS, deterministic, with
look-alike families whose rare members have frequent siblings."""
import itertools
import json

import cv2
import numpy as np
import pytest
from mmdet.registry import DATASETS

import mmdet_efl  # noqa: F401
from longtail_benchmark.synthetic_longtail import (SyntheticSpec,
                                                   category_image_counts,
                                                   category_names,
                                                   dataset_summary,
                                                   generate_dataset,
                                                   glyph_patterns)
from mmdet_efl.datasets import frequency_group


def test_deterministic_from_seed(tmp_path):
    spec = SyntheticSpec(num_classes=5, num_train=6, num_val=2, max_images=5,
                         min_images=1, seed=3)
    a = generate_dataset(str(tmp_path / 'a'), spec)
    b = generate_dataset(str(tmp_path / 'b'), spec)
    assert open(a['train']).read() == open(b['train']).read()
    assert (tmp_path / 'a/train/000001.png').read_bytes() == \
        (tmp_path / 'b/train/000001.png').read_bytes()
    c = generate_dataset(str(tmp_path / 'c'), SyntheticSpec(
        num_classes=5, num_train=6, num_val=2, max_images=5, min_images=1,
        seed=4))
    assert open(a['train']).read() != open(c['train']).read()


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


def test_default_counts_follow_lvis_groups():
    """By rank: 300 images down to 2, with the group boundaries where the
    shares put them: 35 frequent (> 100 images), 40 common (11-100), 25
    rare (1-10), as LVIS v1's 34 / 38 / 28 %."""
    spec = SyntheticSpec()
    counts = category_image_counts(spec)
    assert counts[0] == 300 and counts[-1] == 2
    assert np.all(np.diff(counts) <= 0)
    groups = [frequency_group(int(n)) for n in counts]
    assert groups == ['f'] * 35 + ['c'] * 40 + ['r'] * 25


def test_generated_groups_match_the_law(tmp_path):
    spec = SyntheticSpec()
    paths = generate_dataset(str(tmp_path), spec, render=False)
    data = json.load(open(paths['train']))
    assert [c['image_count'] for c in data['categories']] == \
        category_image_counts(spec).tolist()
    assert dataset_summary(paths['train']) == dict(
        rare=25, common=40, frequent=35, total=100)
    val = json.load(open(paths['val']))
    val_images = {c['id']: set() for c in val['categories']}
    for ann in val['annotations']:
        val_images[ann['category_id']].add(ann['image_id'])
    assert min(len(v) for v in val_images.values()) >= spec.min_val_images


def test_families_are_look_alikes_with_a_frequent_member():
    """Members of a family differ in exactly 2 * member_flips cells; every
    category is unique; ranks are dealt round-robin, so each family's
    first member is among the most frequent and every rare category has a
    frequent sibling."""
    spec = SyntheticSpec()
    patterns = glyph_patterns(spec).reshape(spec.num_classes, -1)
    names = category_names(spec)
    families = {}
    for rank, name in enumerate(names):
        families.setdefault(name.split('_')[0], []).append(rank)
    assert len(families) == 25
    assert len({p.tobytes() for p in patterns}) == spec.num_classes
    groups = [frequency_group(int(n)) for n in category_image_counts(spec)]
    for ranks in families.values():
        assert len(ranks) == 4
        for a, b in itertools.combinations(ranks, 2):
            assert (patterns[a] != patterns[b]).sum() == \
                2 * spec.member_flips
        assert groups[ranks[0]] == 'f'
        assert groups[ranks[-1]] == 'r'
    # across families the patterns are unrelated: far more cells differ
    heads = [ranks[0] for ranks in families.values()]
    across = [(patterns[a] != patterns[b]).sum()
              for a, b in itertools.combinations(heads, 2)]
    assert np.mean(across) > 2 * 2 * spec.member_flips


def test_rendered_cells_are_the_pattern(tmp_path):
    """Each annotated box shows its category's pattern: cell centres of on
    cells are bright, of off cells dark background."""
    spec = SyntheticSpec(num_classes=8, num_train=10, num_val=8,
                         max_images=6, min_images=2, image_size=256,
                         seed=5)
    paths = generate_dataset(str(tmp_path), spec)
    patterns = glyph_patterns(spec)
    data = json.load(open(paths['train']))
    checked = 0
    for ann in data['annotations']:
        img = cv2.imread(str(tmp_path / f'train/{ann["image_id"]:06d}.png'))
        x, y, w, h = map(int, ann['bbox'])
        frame = max(1, min(w, h) // 10)
        cells = spec.glyph_cells
        pattern = patterns[ann['category_id'] - 1]
        for row, col in itertools.product(range(cells), repeat=2):
            cx = x + 2 * frame + (col + 0.5) * (w - 4 * frame) / cells
            cy = y + 2 * frame + (row + 0.5) * (h - 4 * frame) / cells
            bright = int(img[int(cy), int(cx)].max()) > 100
            assert bright == pattern[row, col], (ann['id'], row, col)
        checked += 1
    assert checked >= 10


def test_bad_spec_names_the_fields():
    with pytest.raises(ValueError, match='family_size \\* member_flips'):
        SyntheticSpec(family_size=9, member_flips=2, glyph_cells=4)
    with pytest.raises(ValueError, match='min_images <= max_images'):
        SyntheticSpec(min_images=5, max_images=3)
    with pytest.raises(ValueError, match='cannot hold the requested'):
        generate_dataset('/nonexistent', SyntheticSpec(num_train=200,
                                                       max_images=150),
                         render=False)


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
