"""The long-tail vocabulary: labels per group from LVIS's frequency
letters, the letters of an annotation file, and the dataset under sampling
wrappers."""
import json
from types import SimpleNamespace

import pytest

from mmdet_efl.datasets.longtail import (annotation_frequencies,
                                         group_labels, unwrap_dataset,
                                         unwrap_dataset_cfg)


def test_group_labels_keep_every_group_rare_first():
    groups = group_labels(['f', 'r', 'f', 'r'])
    assert list(groups) == ['rare', 'common', 'frequent']
    assert groups == {'rare': [1, 3], 'common': [], 'frequent': [0, 2]}
    with pytest.raises(ValueError, match="label 1 has frequency 'x'"):
        group_labels(['r', 'x'])


def test_annotation_frequencies_fall_back_to_image_counts(tmp_path):
    """A category without LVIS's ``frequency`` field is grouped by its
    ``image_count`` (rare up to 10 images, common up to 100); the field,
    where present, decides."""
    ann = tmp_path / 'train.json'
    ann.write_text(json.dumps(dict(categories=[
        dict(id=1, image_count=10), dict(id=2, image_count=11),
        dict(id=3, image_count=101), dict(id=4, frequency='r',
                                          image_count=500)])))
    assert annotation_frequencies(str(ann)) == ['r', 'c', 'f', 'r']
    ann.write_text(json.dumps(dict(categories=[dict(id=1)])))
    with pytest.raises(KeyError, match='image_count'):
        annotation_frequencies(str(ann))


def test_unwrap_reaches_the_dataset_under_sampling_wrappers():
    """RFS inside a repeat: the innermost dataset, built or as a
    config."""
    base = SimpleNamespace(metainfo=dict(classes=('a', )))
    wrapped = SimpleNamespace(dataset=SimpleNamespace(dataset=base))
    assert unwrap_dataset(wrapped) is base
    assert unwrap_dataset(base) is base
    cfg = dict(type='RepeatDataset', times=2, dataset=dict(
        type='ClassBalancedDataset', oversample_thr=1e-3,
        dataset=dict(type='LVISV1Dataset', ann_file='a.json')))
    assert unwrap_dataset_cfg(cfg) == dict(type='LVISV1Dataset',
                                           ann_file='a.json')
