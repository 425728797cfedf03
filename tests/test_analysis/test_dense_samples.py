"""The shared data path of the dataset and checkpoint figures: labels come
from the head's own assigner, logits in the head's anchor order."""
import copy
import itertools
import json

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.structures import InstanceData

from mmdet.registry import DATASETS, TASK_UTILS
from mmdet_efl.analysis import (analysis_dataset_cfg, build_detector,
                                iter_dense_samples, train_image_counts)
from tests.helpers import REPO, write_tiny_config


@pytest.fixture(scope='module')
def tiny_cfg(tiny_lvis, tmp_path_factory):
    path = write_tiny_config(
        tmp_path_factory.mktemp('cfg') / 'tiny.py', tiny_lvis)
    return Config.fromfile(str(path))


def _first_images(cfg, n, checkpoint=None, split='train', batch_size=2):
    return list(itertools.islice(
        iter_dense_samples(cfg, checkpoint, split=split,
                           batch_size=batch_size,
                           progress=False), n))


def test_labels_equal_the_atss_assigner_called_directly(tiny_cfg):
    """The head's get_targets path gives, anchor by anchor, the label of the
    GT that mmdet's ATSSAssigner picks, on feature maps of the real
    backbone (so the feature sizes computed from strides are right)."""
    samples = _first_images(tiny_cfg, 3)
    model = build_detector(tiny_cfg)
    head = model.bbox_head
    dataset = DATASETS.build(analysis_dataset_cfg(tiny_cfg, 'train'))
    assigner = TASK_UTILS.build(tiny_cfg.model.train_cfg.assigner)
    for idx, sample in enumerate(samples):
        data = model.data_preprocessor(pseudo_collate([dataset[idx]]), False)
        with torch.no_grad():
            sizes = [f.shape[-2:] for f in model.extract_feat(data['inputs'])]
        priors = head.prior_generator.grid_priors(sizes, device='cpu')
        gt = data['data_samples'][0].gt_instances
        result = assigner.assign(InstanceData(priors=torch.cat(priors)),
                                 [len(p) for p in priors], gt)
        expected = torch.full_like(sample.labels, head.num_classes)
        pos = result.gt_inds > 0
        expected[pos] = gt.labels[result.gt_inds[pos] - 1]
        assert pos.sum() >= len(gt)  # ATSS gives every GT a positive here
        assert torch.equal(sample.labels, expected)
        assert sample.valid.all()  # allowed_border -1: every anchor counts


def test_logits_follow_the_anchor_order(tiny_cfg, tiny_runs):
    """Flattened logit k belongs to anchor k: level, location, then base
    anchor, as mmdet's losses pair them."""
    ckpt = str(tiny_runs['EFL']['checkpoint'])
    sample = _first_images(tiny_cfg, 1, ckpt, split='val', batch_size=1)[0]
    model = build_detector(tiny_cfg, ckpt)
    dataset = DATASETS.build(analysis_dataset_cfg(tiny_cfg, 'val'))
    data = model.data_preprocessor(pseudo_collate([dataset[0]]), False)
    with torch.no_grad():
        cls_scores = model.bbox_head(model.extract_feat(data['inputs']))[0]
    num_base = model.bbox_head.num_base_priors
    num_classes = model.bbox_head.num_classes
    offset = sum(s[0, 0].numel() * num_base for s in cls_scores[:1])
    level = cls_scores[1][0]  # second level
    width = level.shape[-1]
    for y, x, a, c in [(0, 0, 0, 0), (1, 2, 1, 3), (2, 1, 1, 5)]:
        k = offset + (y * width + x) * num_base + a
        torch.testing.assert_close(sample.logits[k, c],
                                   level[a * num_classes + c, y, x])
    assert sample.logits.shape == (len(sample.labels), num_classes)


def test_train_image_counts_match_the_annotation_file(tiny_cfg, tiny_lvis):
    data = json.loads((tiny_lvis / 'annotations/train.json').read_text())
    images = {c['id']: set() for c in data['categories']}
    for ann in data['annotations']:
        images[ann['category_id']].add(ann['image_id'])
    expected = [len(images[c['id']]) for c in data['categories']]
    assert train_image_counts(tiny_cfg).tolist() == expected


def test_bad_inputs_raise_clear_errors(tiny_cfg):
    with pytest.raises(ValueError, match='split must be one of'):
        analysis_dataset_cfg(tiny_cfg, 'holdout')
    no_ann = copy.deepcopy(tiny_cfg)
    no_ann.test_dataloader.dataset.pipeline = [
        t for t in tiny_cfg.test_dataloader.dataset.pipeline
        if t['type'] != 'LoadAnnotations']
    with pytest.raises(ValueError, match='no LoadAnnotations'):
        analysis_dataset_cfg(no_ann, 'val')
    fcos = Config.fromfile(
        str(REPO / 'configs/fcos/fcos-cs_r50-caffe_fpn_fl-2x_lvis-v1.py'))
    with pytest.raises(TypeError, match='FCOSHead is not supported'):
        build_detector(fcos)
    with pytest.raises(FileNotFoundError, match='nonexistent'):
        train_image_counts(tiny_cfg, ann_file='/nonexistent/train.json')


def test_max_images_takes_a_seeded_subset(tiny_cfg):
    a = list(iter_dense_samples(tiny_cfg, max_images=4, seed=3,
                                progress=False))
    b = list(iter_dense_samples(tiny_cfg, max_images=4, seed=3,
                                progress=False))
    assert len(a) == 4
    assert all(torch.equal(x.labels, y.labels) for x, y in zip(a, b))
    c = list(iter_dense_samples(tiny_cfg, max_images=4, seed=4,
                                progress=False))
    assert [int((x.labels < 6).sum()) for x in a] != [
        int((x.labels < 6).sum()) for x in c]
