"""Per-category gamma_j and G_j read back from a checkpoint's EFL state."""
import json

import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmdet_efl.analysis import category_state_from_checkpoint
from mmdet_efl.analysis.commands import focusing_factors_main
from mmdet_efl.analysis.dense_samples import train_image_counts


def test_values_follow_eq3_from_the_saved_buffers(tiny_runs, tmp_path):
    run = tiny_runs['EFL']
    cfg = Config.fromfile(str(run['config']))
    values = category_state_from_checkpoint(cfg, str(run['checkpoint']))
    state = torch.load(run['checkpoint'], weights_only=False)['state_dict']
    pos = state['bbox_head.loss_cls.pos_grad'].numpy()
    neg = state['bbox_head.loss_cls.neg_grad'].numpy()
    assert (neg > 0).all()
    ratio = np.clip(pos / neg, 0, 1)
    assert ratio.min() < 0.5  # a few iterations: some categories lag
    np.testing.assert_allclose(values['grad_ratio'], ratio, rtol=1e-9)
    loss_cfg = cfg.model.bbox_head.loss_cls
    np.testing.assert_allclose(
        values['gamma'],
        loss_cfg.gamma + loss_cfg.scale_factor * (1 - ratio), rtol=1e-9)

    data = focusing_factors_main([str(run['config']), str(run['checkpoint']),
                                  str(tmp_path)])
    saved = json.loads((tmp_path / 'focusing_factors.json').read_text())
    assert saved['gamma'] == data['gamma']
    np.testing.assert_allclose(saved['gamma'], values['gamma'])
    assert saved['image_count'] == train_image_counts(cfg).tolist()
    assert (tmp_path / 'focusing_factors.png').stat().st_size > 10_000


def test_focal_loss_checkpoint_is_refused_by_name(tiny_runs):
    run = tiny_runs['FL']
    with pytest.raises(TypeError, match='FocalLoss, which has no'):
        category_state_from_checkpoint(Config.fromfile(str(run['config'])),
                                       str(run['checkpoint']))
    # an EFL config with an FL checkpoint: nothing to read
    with pytest.raises(KeyError, match='no bbox_head.loss_cls'):
        category_state_from_checkpoint(
            Config.fromfile(str(tiny_runs['EFL']['config'])),
            str(run['checkpoint']))
