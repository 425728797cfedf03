"""Per-label image and instance counts from a dataset's annotations."""
import pytest

from mmdet.registry import DATASETS
from mmdet_efl.datasets import label_counts


def test_label_counts_by_image_and_by_instance(tiny_lvis):
    cfg = dict(type='StrictLVISV1Dataset', data_root=str(tiny_lvis),
               ann_file='annotations/train.json', data_prefix=dict(img=''),
               pipeline=[])
    dataset = DATASETS.build(cfg)
    # two instances of label 0 in the first image
    first = dataset.get_data_info(0)
    first['instances'].append(dict(first['instances'][0]))
    dataset.get_data_info = lambda i: first if i == 0 else \
        type(dataset).get_data_info(dataset, i)
    label = first['instances'][0]['bbox_label']
    images = label_counts(dataset, 'image')
    instances = label_counts(dataset, 'instance')
    assert instances[label] == images[label] + 1
    assert len(images) == 6  # the file's categories, not LVIS's 1203 names
    with pytest.raises(ValueError, match="unit must be"):
        label_counts(dataset, 'box')
