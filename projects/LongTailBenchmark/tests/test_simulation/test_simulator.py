"""Simulator runs of a few dozen steps: the gradient statistics against
autograd, the bias decomposition against SGD's own updates, exposure by
hand, focal loss two ways, determinism."""
import numpy as np
import pytest

from longtail_benchmark.simulation import (LOSS_VARIANTS, SimulatorConfig,
                                           simulate)
from longtail_benchmark.simulation.simulator import build_loss

TINY = SimulatorConfig(num_classes=12, num_train_images=150, max_images=120,
                       family_size=3, input_dim=8, hidden_dim=8,
                       anchors_per_image=1000, background_samples=4,
                       num_eval_images=20, min_eval_images=2, steps=30,
                       images_per_step=4, warmup_steps=5, record_every=10,
                       lr=0.05)


@pytest.fixture(scope='module')
def efl_run():
    return simulate(TINY, 'EFL', seed=0)


def test_statistics_sum_to_the_bias_gradient(efl_run):
    """dL/db_j sums every logit gradient of category j, so its sum over the
    run (autograd) is the loss's neg_grad - pos_grad (its statistics,
    folded by GradientCollectorHook.synchronise)."""
    ident = efl_run['bias_identity']
    pos, neg = np.array(ident['pos_total']), np.array(ident['neg_total'])
    grad = np.array(ident['grad_sum'])
    assert (pos > 0).all() and (neg > 0).all()
    np.testing.assert_allclose(grad, neg - pos, rtol=1e-5,
                               atol=1e-6 * np.abs(neg).max())
    # G_j reported is the clamped ratio of the same sums
    np.testing.assert_allclose(efl_run['per_category']['grad_ratio'],
                               np.clip(pos / neg, 0, 1), rtol=1e-12)


def test_drive_is_what_moved_the_bias():
    """drive = sum_t (dL/db + lambda b) = (1 - mu) sum_t v_t + mu v_T with
    SGD's step b_{t+1} = b_t - lr v_t (constant lr here)."""
    cfg = TINY.replace(warmup_steps=0, lr_gamma=1.0, record_every=1,
                       record_per_category=True, prior_prob=0.5, lr=0.5,
                       weight_decay=0.01, steps=20)
    run = simulate(cfg, 'EFL', seed=1, evaluate=False)
    ident = run['bias_identity']
    drive = np.array(ident['grad_sum']) + np.array(ident['decay_sum'])
    # biases after every step; b_0 = 0 at prior 0.5
    per_cat = run['trajectory']['per_category']
    assert run['trajectory']['steps'] == list(range(1, 21))
    bias = np.array([[0.0] * cfg.num_classes] + per_cat['bias'])
    v = (bias[:-1] - bias[1:]) / cfg.lr
    mu = cfg.momentum
    np.testing.assert_allclose(drive, (1 - mu) * v.sum(0) + mu * v[-1],
                               rtol=1e-3, atol=1e-4 * np.abs(drive).max())


def test_exposure_by_hand():
    cfg = TINY.replace(steps=10, warmup_steps=0, lr_steps=(0.5, ),
                       lr=0.01, weight_decay=1e-3, cls_decay_mult=10.0,
                       bias_decay_mult=2.0)
    run = simulate(cfg, 'FL', seed=0, evaluate=False)
    lr_sum = 5 * 0.01 + 5 * 0.001
    assert run['exposure']['features'] == pytest.approx(lr_sum * 1e-3)
    assert run['exposure']['cls_weight'] == pytest.approx(lr_sum * 1e-2)
    assert run['exposure']['cls_bias'] == pytest.approx(lr_sum * 2e-2)
    assert run['stationarity']['bias_decay'] == pytest.approx(2e-2)


def test_efl_with_s0_trains_exactly_as_mmdet_focal_loss(efl_run):
    ours = simulate(TINY, 'FL', seed=0)
    mmdet = simulate(TINY, 'FL (mmdet)', seed=0)
    np.testing.assert_allclose(ours['per_category']['bias'],
                               mmdet['per_category']['bias'], rtol=1e-5)
    for key in ('AP', 'APr', 'APc', 'APf'):
        assert ours[key] == pytest.approx(mmdet[key], abs=1e-3)
    assert mmdet['final_grad_ratio'] is None  # no statistics in FocalLoss
    # EFL (s = 8) does train differently
    assert not np.allclose(ours['per_category']['bias'],
                           efl_run['per_category']['bias'], rtol=1e-5)


def test_same_seed_same_run(efl_run):
    again = simulate(TINY, 'EFL', seed=0)
    for key in ('AP', 'APr', 'final_grad_ratio', 'fig2_log10_ratio'):
        assert again[key] == efl_run[key]
    assert again['per_category']['bias'] == efl_run['per_category']['bias']
    other = simulate(TINY, 'EFL', seed=1, evaluate=False)
    assert other['per_category']['bias'] != efl_run['per_category']['bias']


def test_result_keys_and_fig2_values(efl_run):
    for key in ('AP', 'APr', 'APc', 'APf'):
        assert 0 <= efl_run[key] <= 100
    assert efl_run['trajectory']['steps'] == [10, 20, 30]
    assert set(efl_run['final_grad_ratio']) == {'rare', 'common',
                                                'frequent'}
    # Fig. 2 from the data: log10(4 * objects / (150 * 1000 - 4 * objects))
    pc = efl_run['per_category']
    counts = np.array(pc['image_count'])
    expected = np.log10(4 * counts / (150 * 1000 - 4 * counts))
    np.testing.assert_allclose(pc['fig2_log10_ratio'], expected)
    gamma = 2 + 8 * (1 - np.array(pc['grad_ratio']))
    np.testing.assert_allclose(pc['gamma'], gamma, rtol=1e-12)


def test_loss_variants_and_errors():
    efl = build_loss('EFL FF only', 12)
    assert (efl.scale_factor, efl.use_focusing_factor,
            efl.use_weighting_factor) == (8.0, True, False)
    assert build_loss('EFL WF only', 12).use_focusing_factor is False
    assert {v['scale_factor'] for k, v in LOSS_VARIANTS.items()
            if k.startswith('EFL s=')} == {1.0, 2.0, 4.0, 12.0}
    with pytest.raises(KeyError, match="unknown loss variant 'EFL2'"):
        build_loss('EFL2', 12)


def test_decomposition_figure(efl_run, tmp_path):
    from longtail_benchmark.simulation.figures import plot_decomposition
    data = plot_decomposition([efl_run], str(tmp_path / 'd.png'))
    ident = efl_run['bias_identity']
    pos, neg = np.array(ident['pos_total']), np.array(ident['neg_total'])
    rare = np.array(efl_run['groups']['rare'])
    assert data['rare/one_minus_ratio'] == [
        pytest.approx(np.median(1 - pos[rare] / neg[rare]))]
    decay = -np.array(ident['decay_sum'])[rare] / neg[rare]
    assert data['rare/decay_share'] == [pytest.approx(np.median(decay))]
    assert (tmp_path / 'd.png').stat().st_size > 10_000
