"""The "is EFL acting?" diagnosis: hand-made logs and checkpoint states,
and real work dirs (the demo ATSS run, and DINO with EFL as loss_cls)."""
import json

import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmdet_efl.analysis.commands import efl_diagnosis_main
from mmdet_efl.analysis.efl_diagnosis import (CheckpointState,
                                              ParameterNames, diagnose,
                                              diagnose_work_dir,
                                              parameter_names,
                                              read_checkpoint,
                                              saturated_since)
from mmdet_efl.analysis.efl_diagnosis.checkpoints import _param_group_of
from mmdet_efl.models.losses import EqualizedFocalLoss


def _records(series, lr=0.01, s=8):
    """scalars.json records with per-group G (and gamma at ``s``)."""
    steps = sorted({s for values in series.values() for s, _ in values})
    recs = []
    for step in steps:
        rec = dict(lr=lr, iter=step, step=step)
        for group, values in series.items():
            for at, g in values:
                if at == step:
                    rec[f'loss_cls/grad_ratio_{group}'] = g
                    rec[f'loss_cls/gamma_{group}'] = 2 + s * (1 - g)
        recs.append(rec)
    return recs


def test_saturated_since():
    assert saturated_since([10, 20, 30, 40], [0.5, 1.0, 0.99, 1.0]) == 40
    assert saturated_since([10, 20, 30], [1.0, 1.0, 1.0]) == 10
    assert saturated_since([10, 20], [1.0, 0.98]) is None
    assert saturated_since([10, 20], [0.5, 0.9995]) == 20  # within 1e-3


def test_saturated_run_is_reduced_to_focal_loss_since_start_up():
    log = _records({g: [(10, 0.4), (20, 1.0), (1000, 1.0)]
                    for g in ('rare', 'common', 'frequent')})
    diag = diagnose(log)
    assert diag.iterations == 1000
    assert diag.verdict.startswith(
        'EFL has reduced to focal loss since iteration 20')
    assert 'start-up phase' in diag.reason  # 20 <= 10% of 1000
    assert diag.groups['rare'].mean_gamma == pytest.approx(2.0)
    assert diag.groups['rare'].min_grad_ratio == (0.4, 10)
    assert any('weight-decay exposure' in a for a in diag.advice)
    text = diag.format()
    assert 'iter 20' in text and 'verdict: EFL has reduced' in text


def test_late_saturation_is_not_called_start_up():
    log = _records({'rare': [(100, 0.5), (900, 1.0), (1000, 1.0)],
                    'frequent': [(100, 1.0), (1000, 1.0)]})
    diag = diagnose(log)
    assert 'since iteration 900' in diag.verdict
    assert 'start-up phase' not in diag.reason


def test_acting_and_weak_runs():
    # the focal-loss twin (s = 0, gamma_j = 2) in the regime
    acting = diagnose(_records({'rare': [(100, 0.8), (200, 0.3)],
                                'common': [(100, 0.9), (200, 0.7)],
                                'frequent': [(100, 1.0), (200, 0.9)]}, s=0))
    assert acting.verdict.startswith('EFL is acting: G_rare / G_freq = '
                                     '0.33')
    assert 'gamma_j = 2.00' in acting.verdict
    weak = diagnose(_records({'rare': [(100, 0.8), (200, 0.8)],
                              'frequent': [(100, 1.0), (200, 0.9)]}))
    assert weak.verdict.startswith('EFL acts weakly')  # spread 0.8
    assert 'G_rare / G_freq = 0.89 > 0.5' in weak.reason


def test_efl_run_judged_by_its_focusing_factors():
    """EFL raises its own G_rare as it acts: the demo's EFL run ends at
    G r / f = 0.69 / 0.95 (ratio 0.73 > 0.5) with gamma 4.48 / 2.40."""
    diag = diagnose(_records({'rare': [(100, 0.5), (200, 0.69)],
                              'frequent': [(100, 0.9), (200, 0.95)]}))
    assert diag.verdict.startswith(
        'EFL is acting: rare categories are focused with mean gamma_j = '
        '4.48 against 2.40 for frequent ones (spread 2.08 >= 1.0; '
        'G_rare / G_freq = 0.73)')
    assert 'focal-loss twin' in diag.reason
    # just below the spread: gamma 2 + 8 * 0.125 = 3.0 vs 2.0 - 1e-3 * 8
    below = diagnose(_records({'rare': [(200, 0.876)],
                               'frequent': [(200, 1.0 - 1e-4)]}))
    assert below.verdict.startswith('EFL acts weakly')
    with pytest.raises(ValueError, match='GradientCollectorHook'):
        diagnose([dict(lr=0.01, iter=1, loss=1.0)])


def test_checkpoint_shares_and_stationarity_by_hand():
    groups = {'rare': [0, 1], 'frequent': [2, 3]}
    prev = CheckpointState('a', 100, 'loss_cls',
                           pos_grad=np.array([1.0, 1.0, 5.0, 5.0]),
                           neg_grad=np.array([1.0, 2.0, 5.0, 5.0]))
    # 100 further iterations: rare 0 gains pos 0.1 / neg 0.4 (1 - pos/neg
    # = 0.75), category 1 pos 0.2 / neg 0.4 (0.5); frequent pos = neg
    last = CheckpointState('b', 200, 'loss_cls',
                           pos_grad=np.array([1.1, 1.2, 9.0, 9.0]),
                           neg_grad=np.array([1.4, 2.4, 9.0, 9.0]),
                           bias=np.array([-5.0, -3.0, -2.0, -2.0]),
                           bias_decay=0.001, optimizer='SGD')
    diag = diagnose(None, [prev, last], groups,
                    EqualizedFocalLoss(4, gamma=2.0, scale_factor=8.0))
    rare, freq = diag.groups['rare'], diag.groups['frequent']
    assert rare.num_categories == 2 and rare.share_saturated == 0.0
    assert freq.share_saturated == 1.0
    assert rare.mean_grad_ratio == pytest.approx((1.1 / 1.4 + 1.2 / 2.4) / 2)
    assert rare.mean_gamma == pytest.approx(
        2 + 8 * (1 - (1.1 / 1.4 + 1.2 / 2.4) / 2))
    assert rare.recent_one_minus_ratio == pytest.approx((0.75 + 0.5) / 2)
    # lambda |b| / neg per iteration: 0.001 * 5 / 0.004, 0.001 * 3 / 0.004
    assert rare.predicted_one_minus_ratio == pytest.approx((1.25 + 0.75) / 2)
    assert freq.recent_one_minus_ratio == pytest.approx(0.0)
    # frequent: saturated at both checkpoints, so since iteration 100
    assert freq.saturated_since == 100 and rare.saturated_since is None
    assert 'lambda_b |b_j| / neg' in diag.format()


def test_eqlv2_checkpoint_is_read_by_eqlv2s_rule(tmp_path):
    """EQLv2 (Tan et al., CVPR 2021) starts every category's ratio at 100
    and leaves it unclamped: G_j = pos_j / neg_j, 100 before any gradient.
    EFL's rule (clamped to [0, 1], 1 before any gradient) would give the
    rare group (1 + 0.5) / 2 and the frequent group (1 + 0.25) / 2."""
    path = tmp_path / 'iter_10.pth'
    torch.save(dict(meta=dict(iter=10), state_dict={
        'bbox_head.loss_cls.pos_grad': torch.tensor(
            [0.0, 0.5, 3.0, 1.0], dtype=torch.float64),
        'bbox_head.loss_cls.neg_grad': torch.tensor(
            [0.0, 1.0, 2.0, 4.0], dtype=torch.float64)}), path)
    diag = diagnose_work_dir(str(tmp_path), [str(path)],
                             {'rare': [0, 1], 'frequent': [2, 3]},
                             dict(type='EQLv2FocalLoss', num_classes=4))
    rare, freq = diag.groups['rare'], diag.groups['frequent']
    assert rare.mean_grad_ratio == pytest.approx((100 + 0.5) / 2)
    assert freq.mean_grad_ratio == pytest.approx((3.0 / 2.0 + 0.25) / 2)
    assert rare.num_unseen == 1 and freq.num_unseen == 0
    # at or above 1: the untouched category and 3 / 2
    assert rare.share_saturated == freq.share_saturated == 0.5
    assert rare.mean_gamma is None  # EQLv2 has no focusing factor


def test_demo_work_dir(tiny_runs, tmp_path, capsys):
    run = tiny_runs['EFL']
    cfg = Config.fromfile(str(run['config']))
    state = read_checkpoint(str(run['checkpoint']),
                            param_names=parameter_names(cfg))
    assert state.loss_key == 'bbox_head.loss_cls'
    saved = torch.load(run['checkpoint'], weights_only=False)
    # two anchors per location: channel a * C + c, summed per category
    bias = saved['state_dict']['bbox_head.atss_cls.bias'].double()
    np.testing.assert_allclose(state.bias, bias.view(2, 6).sum(0).numpy())
    # the bias's decay: the base decay times the decay_mult of the longest
    # custom key in its name (MMEngine's rule), as the config sets it
    optim = cfg.optim_wrapper
    keys = optim.get('paramwise_cfg', {}).get('custom_keys', {})
    match = [k for k in keys if k in 'bbox_head.atss_cls.bias']
    mult = keys[max(match, key=len)].get('decay_mult', 1.0) if match else 1.0
    assert state.optimizer == 'SGD'
    assert state.bias_decay == pytest.approx(
        optim.optimizer.weight_decay * mult)
    out = efl_diagnosis_main([str(run['work_dir']), '--config',
                              str(run['config']), '--out-dir',
                              str(tmp_path)])
    text = capsys.readouterr().out
    assert 'verdict: ' in text and 'rare' in text
    saved_json = json.loads((tmp_path / 'efl_diagnosis.json').read_text())
    assert saved_json['verdict'] == out['verdict']
    groups = out['groups']
    assert set(groups) == {'rare', 'common'}  # tiny_lvis has no frequent
    assert groups['rare']['num_categories'] + \
        groups['common']['num_categories'] == 6
    assert (tmp_path / 'efl_diagnosis.png').stat().st_size > 5_000


def test_focal_loss_work_dir_is_refused_by_name(tiny_runs):
    with pytest.raises(ValueError, match='GradientCollectorHook'):
        efl_diagnosis_main([str(tiny_runs['FL']['work_dir']), '--config',
                            str(tiny_runs['FL']['config'])])


DINO_TINY = '''
_base_ = 'mmdet::dino/dino-4scale_r50_8xb2-12e_coco.py'
custom_imports = dict(imports=['mmdet_efl'], allow_failed_imports=False)
_root = {root!r}
model = dict(
    num_queries=20,
    backbone=dict(depth=18, base_channels=16, init_cfg=None),
    neck=dict(in_channels=[32, 64, 128]),
    encoder=dict(num_layers=1,
                 layer_cfg=dict(ffn_cfg=dict(feedforward_channels=128))),
    decoder=dict(num_layers=1,
                 layer_cfg=dict(ffn_cfg=dict(feedforward_channels=128))),
    bbox_head=dict(num_classes=6, loss_cls=dict(
        _delete_=True, type='EqualizedFocalLoss', num_classes=6,
        scale_factor=8.0)),
    dn_cfg=dict(group_cfg=dict(num_dn_queries=10)))
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(_delete_=True, type='LVISV1Dataset', data_root=_root,
                 ann_file='annotations/train.json', data_prefix=dict(img=''),
                 pipeline=[dict(type='LoadImageFromFile'),
                           dict(type='LoadAnnotations', with_bbox=True),
                           dict(type='Resize', scale=(128, 128),
                                keep_ratio=True),
                           dict(type='PackDetInputs')]))
val_dataloader = val_evaluator = val_cfg = None
test_dataloader = test_evaluator = test_cfg = None
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=2)
param_scheduler = []
default_hooks = dict(checkpoint=dict(interval=2, by_epoch=False),
                     logger=dict(interval=1))
log_processor = dict(window_size=1, by_epoch=False)
custom_hooks = [dict(type='GradientCollectorHook')]
visualizer = dict(name='visualizer_dino_efl_diagnosis')
'''


def test_dino_with_efl_as_loss_cls(tiny_lvis, tmp_path, capsys):
    """A query-based detector: stock mmdet DINO (R-18, one encoder and
    decoder layer, 20 queries) with EFL as loss_cls, 2 iterations."""
    from mmdet_efl.engine.launch import train
    config = tmp_path / 'dino_efl.py'
    config.write_text(DINO_TINY.format(root=f'{tiny_lvis}/'))
    work = tmp_path / 'work'
    train([str(config), '--work-dir', str(work)])
    out = efl_diagnosis_main([str(work)])  # the config saved in work
    text = capsys.readouterr().out
    assert 'EFL diagnosis of loss_cls after 2 iterations' in text
    assert sum(g['num_categories'] for g in out['groups'].values()) == 6
    assert out['optimizer'] == 'Adam'  # DINO's AdamW: no SGD prediction
    state = read_checkpoint(str(work / 'iter_2.pth'))
    saved = torch.load(work / 'iter_2.pth', weights_only=False)['state_dict']
    # one classification branch per decoder layer and one for the encoder
    branches = [saved[f'bbox_head.cls_branches.{i}.bias'] for i in (0, 1)]
    np.testing.assert_allclose(state.bias, sum(branches).double().numpy())


@pytest.mark.parametrize('frozen_in_groups', [False, True])
def test_bias_group_found_with_or_without_frozen_parameters(
        frozen_in_groups):
    """One optimiser group per parameter: the bias's group is found whether
    the optimiser constructor gave the frozen parameter a group or not."""
    names = ParameterNames(all=['frozen.w', 'head.w', 'head.cls.bias'],
                           trainable=['head.w', 'head.cls.bias'])
    order = names.all if frozen_in_groups else names.trainable
    groups = [dict(params=[i], weight_decay=float(i), lr=0.1)
              for i in range(len(order))]
    ckpt = dict(optimizer=dict(param_groups=groups))
    group = _param_group_of(ckpt, 'head.cls.bias', names)
    assert group['weight_decay'] == (2.0 if frozen_in_groups else 1.0)
    # groups that count neither list: not told
    ckpt['optimizer']['param_groups'] = groups + [dict(params=[9])]
    assert _param_group_of(ckpt, 'head.cls.bias', names) is None


def test_plot_draws_without_pyplot(tmp_path, monkeypatch):
    """The figure is drawn on a Figure of its own: pyplot (which keeps
    every figure alive until closed) is not used, and the backend a user
    chose is left alone."""
    import matplotlib
    import matplotlib.pyplot as plt

    from mmdet_efl.analysis.efl_diagnosis import plot_diagnosis

    def refused(*args, **kwargs):
        raise AssertionError('pyplot or matplotlib.use called')
    for name in ('figure', 'subplots'):
        monkeypatch.setattr(plt, name, refused)
    monkeypatch.setattr(matplotlib, 'use', refused)
    records = _records({'rare': [(10, 0.4), (20, 0.3)],
                        'frequent': [(10, 0.9), (20, 1.0)]})
    diag = diagnose(records)
    out = plot_diagnosis(records, diag, str(tmp_path / 'g.png'))
    assert out == diag.to_dict()
    assert (tmp_path / 'g.png').stat().st_size > 5_000
