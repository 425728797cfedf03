"""The generated dataset in the OpenImages Challenge 2019 layout, read by
mmdet's own OpenImagesChallengeDataset."""
import copy
import json

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmdet.registry import DATASETS
from mmdet_efl.datasets import export_openimages_challenge
from tests.helpers import REPO

CONFIG = REPO / ('configs/openimages/'
                 'atss-iou_r50_fpn_efl-180k_openimages-challenge.py')


@pytest.fixture(scope='module')
def tiny_openimages(tiny_lvis, tmp_path_factory):
    root = tmp_path_factory.mktemp('tiny_openimages')
    export_openimages_challenge(str(tiny_lvis), str(root))
    return root


def _dataset(split, root):
    init_default_scope('mmdet')
    cfg = Config.fromfile(str(CONFIG))
    data = copy.deepcopy(cfg[f'{split}_dataloader'].dataset)
    data.pop('_delete_', None)
    data.data_root = f'{root}/'
    return DATASETS.build(data)


@pytest.mark.parametrize('split,name', [('train', 'train'),
                                        ('val', 'val')])
def test_mmdet_reads_the_same_boxes_and_labels(tiny_lvis, tiny_openimages,
                                               split, name):
    source = json.loads((tiny_lvis / f'annotations/{name}.json').read_text())
    dataset = _dataset(split, tiny_openimages)
    cats = [c['id'] for c in source['categories']]
    assert list(dataset.metainfo['classes']) == [
        c['name'] for c in source['categories']]
    assert len(dataset) == len(source['images'])
    for i, img in enumerate(source['images']):
        info = dataset.get_data_info(i)
        anns = [a for a in source['annotations'] if a['image_id'] == img['id']]
        assert [inst['bbox_label'] for inst in info['instances']] == [
            cats.index(a['category_id']) for a in anns]
        boxes = np.array([inst['bbox'] for inst in info['instances']])
        expected = np.array([[x, y, x + w, y + h]
                             for x, y, w, h in (a['bbox'] for a in anns)])
        np.testing.assert_allclose(boxes, expected, atol=1e-3)
        assert (info['height'], info['width']) == (img['height'],
                                                   img['width'])
        if split == 'val':
            present = {cats.index(a['category_id']) for a in anns}
            negatives = {cats.index(c) for c in img['neg_category_ids']}
            assert set(info['image_level_labels'].tolist()) == \
                present | negatives
    item = dataset[0]  # the image itself loads through the pipeline
    assert item['inputs'].shape[0] == 3
