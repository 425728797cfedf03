"""The simulated long-tailed dataset: LVIS's frequency law, look-alike
families, anchor weights and EFL Fig. 2 counts."""
import numpy as np
import pytest
import torch

from longtail_benchmark.simulation import (LongTailWorld, SimulatorConfig,
                                           simulated_image_counts)
from longtail_benchmark.simulation.world import group_split

TINY = SimulatorConfig(num_classes=12, num_train_images=150, max_images=120,
                       family_size=3, input_dim=8, hidden_dim=8,
                       anchors_per_image=1000, background_samples=4,
                       num_eval_images=20, min_eval_images=2)


def test_groups_follow_lvis_v1_proportions_and_ranges():
    cfg = SimulatorConfig()
    # LVIS v1: 337 / 461 / 405 of 1203 categories
    assert group_split(cfg) == (28, 38, 34)
    counts = simulated_image_counts(cfg)
    assert len(counts) == 100
    rare, common, freq = counts[-28:], counts[34:72], counts[:34]
    assert rare.min() == 1 and rare.max() == 10
    assert common.min() == 11 and common.max() == 100
    assert freq.min() == 101 and freq.max() == cfg.max_images
    world = LongTailWorld(cfg, seed=0)
    assert [len(world.groups[g]) for g in ('rare', 'common', 'frequent')] \
        == [28, 38, 34]


def test_objects_families_and_determinism():
    world = LongTailWorld(TINY, seed=3)
    tr = world.train
    # every category is in exactly image_counts[c] distinct images
    for c in range(TINY.num_classes):
        imgs = tr['image'][tr['label'] == c]
        assert len(imgs) == len(set(imgs)) == world.image_counts[c]
    # each family has a frequent member, so rare ones have look-alikes
    for fam in np.unique(world.family):
        members = np.flatnonzero(world.family == fam)
        assert 1 <= len(members) <= TINY.family_size
        assert any(world.frequency[m] == 'f' for m in members)
    again = LongTailWorld(TINY, seed=3)
    assert torch.equal(again.train['code'], tr['code'])
    assert torch.equal(again.eval['background'], world.eval['background'])
    other = LongTailWorld(TINY, seed=4)
    assert not torch.equal(other.prototypes, world.prototypes)


def test_batch_weights_stand_for_all_anchors():
    world = LongTailWorld(TINY, seed=0)
    gen = torch.Generator().manual_seed(0)
    images = np.arange(TINY.num_train_images)
    x, labels, weight, num_pos = world.train_batch(images, gen)
    k, m = TINY.positives_per_object, TINY.near_negatives_per_object
    num_obj = len(world.train['label'])
    assert num_pos == k * num_obj
    assert len(x) == len(labels) == (k + m) * num_obj + \
        TINY.num_train_images * TINY.background_samples
    np.testing.assert_array_equal(labels[:num_pos].numpy(),
                                  np.repeat(world.train['label'], k))
    assert (labels[num_pos:] == TINY.num_classes).all()
    # over the whole training set the weights add up to every anchor
    assert float(weight.double().sum()) == pytest.approx(
        TINY.num_train_images * TINY.anchors_per_image, rel=1e-6)
    pos, neg = world.sample_counts()
    objects = np.bincount(world.train['label'], minlength=12)
    np.testing.assert_array_equal(pos, k * objects)
    np.testing.assert_array_equal(neg, 150 * 1000 - k * objects)


def test_bad_settings_are_named():
    with pytest.raises(ValueError, match='max_images=5000 must lie in'):
        SimulatorConfig(max_images=5000)
    with pytest.raises(ValueError, match='prior_prob=0'):
        SimulatorConfig(prior_prob=0)
    with pytest.raises(TypeError, match=r"no setting \['lr_decay'\]"):
        SimulatorConfig().replace(lr_decay=0.1)
    with pytest.raises(ValueError, match='fewer than background_samples'):
        LongTailWorld(TINY.replace(anchors_per_image=10), seed=0)
