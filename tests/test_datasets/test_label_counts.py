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


def test_lvis_frequency_groups_count_training_images(tmp_path):
    """LVIS v1's groups (Gupta et al., LVIS, sec. 2 and the v1 release):
    rare 1-10 training images, common 11-100, frequent more than 100.
    Categories seen in exactly 1, 10, 11, 100 and 101 images; category 2
    has two instances per image (20 instances: still rare, images count).
    The file's own ``frequency`` fields say 'f' everywhere and must not be
    what decides."""
    import json
    from mmdet_efl.datasets.longtail import frequency_group, frequency_groups
    images_per_cat = {1: 1, 2: 10, 3: 11, 4: 100, 5: 101}
    images = [dict(id=i, width=100, height=100,
                   coco_url=f'http://images.cocodataset.org/train2017/'
                   f'{i:012d}.jpg', neg_category_ids=[],
                   not_exhaustive_category_ids=[]) for i in range(1, 102)]
    anns = []
    for cat_id, n in images_per_cat.items():
        for img_id in range(1, n + 1):
            for _ in range(2 if cat_id == 2 else 1):
                anns.append(dict(id=len(anns) + 1, image_id=img_id,
                                 category_id=cat_id,
                                 bbox=[10.0, 10.0, 20.0, 20.0], area=400.0))
    cats = [dict(id=k, name=f'cat{k}', frequency='f') for k in
            images_per_cat]
    path = tmp_path / 'train.json'
    path.write_text(json.dumps(dict(images=images, annotations=anns,
                                    categories=cats)))
    dataset = DATASETS.build(dict(type='LVISV1Dataset', ann_file=str(path),
                                  data_prefix=dict(img=''), pipeline=[]))
    assert frequency_groups(dataset) == {'rare': [0, 1], 'common': [2, 3],
                                         'frequent': [4]}
    assert [frequency_group(n) for n in (1, 10, 11, 100, 101)] == \
        ['r', 'r', 'c', 'c', 'f']
    assert list(label_counts(dataset, 'image')) == [1, 10, 11, 100, 101]
    assert list(label_counts(dataset, 'instance')) == [1, 20, 11, 100, 101]
