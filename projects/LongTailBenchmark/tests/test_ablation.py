"""The ablation command: per-seed numbers, paired differences, targets and
regime checks in results.json, computed here by hand from the saved runs;
FL's best recipe per bench; resuming."""
import json

import numpy as np
import pytest

import longtail_benchmark.simulation as simulation
from longtail_benchmark import ablation as ablation
from longtail_benchmark import benchmark as detector
from longtail_benchmark.environment import (numeric_environment,
                                            reproducible_cpu_env)

TINY = dict(num_classes=12, num_train_images=150, max_images=120,
            family_size=3, input_dim=8, hidden_dim=8, anchors_per_image=1000,
            background_samples=4, num_eval_images=20, min_eval_images=2,
            steps=20, warmup_steps=5, record_every=10, lr=0.05)
SEEDS = [0, 1, 2]


def test_simulator_ablation_results_match_the_runs(tmp_path, monkeypatch,
                                                   capsys):
    monkeypatch.setattr(simulation, 'BENCHMARK_CONFIG',
                        simulation.SimulatorConfig(cls_decay_mult=30.0,
                                                   **TINY))
    monkeypatch.setattr(simulation, 'FL_BEST_CONFIG',
                        simulation.SimulatorConfig(**TINY))
    monkeypatch.setattr(ablation, 'SIMULATOR_RUNS',
                        ('FL', 'EFL', 'EFL s=1', 'FL stock decay'))
    out = tmp_path / 'ablation'
    report = ablation.run_ablation(str(out), sim_seeds=SEEDS,
                                   benches=('simulator', ), workers=1,
                                   pin_cpu_kernels=False)
    saved = json.loads((out / 'results.json').read_text())
    assert saved == json.loads(json.dumps(report))
    sim = saved['simulator']
    runs = {name: [json.loads(
        (out / 'runs/simulator' / f'{name}_seed{s}.json').read_text())
        for s in SEEDS] for name in ('FL', 'EFL', 'EFL_s1',
                                     'FL_stock_decay')}
    assert sim['seeds'] == SEEDS
    # FL's best recipe: the higher mean AP (the benchmark's on a tie)
    best = max(('FL', 'FL_stock_decay'), key=lambda n: np.mean(
        [r['AP'] for r in runs[n]]))
    assert sim['FL_best_recipe']['recipe'] == best.replace('_', ' ')
    for key in ('AP', 'APr', 'APc', 'APf'):
        assert sim['FL'][key] == [r[key] for r in runs['FL']]
        assert sim['FL_best_recipe'][key] == [r[key] for r in runs[best]]
    # the stock recipe decays the classifier 30 times less
    assert runs['FL_stock_decay'][0]['exposure']['cls_bias'] == \
        pytest.approx(runs['FL'][0]['exposure']['cls_bias'] / 30)
    # paired differences, seed by seed, and the target on them
    diff = np.array([e['APr'] - f['APr']
                     for e, f in zip(runs['EFL'], runs['FL'])])
    pair = sim['EFL']['paired']['FL']['APr']
    assert pair['values'] == pytest.approx(diff)
    assert pair['se'] == pytest.approx(diff.std(ddof=1) / np.sqrt(3))
    target = sim['targets']['APr gain over FL > 2 SE']
    assert target['met'] == bool(diff.mean() > 2 * pair['se'])
    assert 'APr gain over FL_best_recipe > 2 SE' in sim['targets']
    # regime: checked on FL's G_j; EFL's reported as final_grad_ratio
    regime = sim['regime']
    assert regime['checked_on'] == 'FL'
    for key, name in (('final_grad_ratio', 'EFL'),
                      ('fl_final_grad_ratio', 'FL')):
        assert regime[key]['rare'] == pytest.approx(np.mean(
            [r['final_grad_ratio']['rare'] for r in runs[name]]))
    assert regime['fl_apr_over_apf'] == pytest.approx(
        np.mean([r['APr'] for r in runs['FL']]) /
        np.mean([r['APf'] for r in runs['FL']]))
    assert sim['table4']['APr']['s'] == [0, 1, 8]
    for png in ('simulator_grad_ratio.png', 'simulator_ap_vs_s.png'):
        assert (out / png).stat().st_size > 10_000
    text = capsys.readouterr().out
    assert f"FL_best_recipe = {best.replace('_', ' ')} (highest mean AP" \
        in text
    assert 'regime checks (G_j from FL)' in text

    # a second call trains nothing and writes the same results
    monkeypatch.setattr(ablation, 'simulator_job', _must_not_run)
    again = ablation.run_ablation(str(out), sim_seeds=SEEDS,
                                  benches=('simulator', ), workers=1)
    assert json.loads(json.dumps(again)) == saved


def _must_not_run(*args, **kwargs):
    raise AssertionError('a finished run was trained again')


def _det(ap, apr, grad_ratio=(0.2, 0.5, 0.9)):
    return dict(metrics=dict(AP=ap, APr=apr, APc=ap, APf=0.8), seconds=1.0,
                category_values=dict(grad_ratio=list(grad_ratio)))


@pytest.mark.parametrize('stock_ap,decay013_ap,best', [
    (0.29, 0.28, 'FL'), (0.33, 0.28, 'FL stock decay'),
    (0.29, 0.34, 'FL cls decay 0.013')])
def test_detector_ablation_targets_and_best_recipe(tmp_path, monkeypatch,
                                                   stock_ap, decay013_ap,
                                                   best):
    """Fake detector runs (fractions, as the detector reports them): the
    targets use the larger of the two seed stds; FL's best recipe is the
    one of its three with the highest mean AP."""
    apr = {'FL': [0.10, 0.12, 0.14], 'EFL': [0.11, 0.15, 0.19],
           'stock': [0.10, 0.12, 0.14], 'decay013': [0.10, 0.12, 0.14]}
    ap = {'FL': [0.30, 0.30, 0.30], 'EFL': [0.31, 0.30, 0.32],
          'stock': [stock_ap] * 3, 'decay013': [decay013_ap] * 3}

    def fake_train(config, data_root, work_dir, seed, **kwargs):
        name = ('EFL' if '_efl-' in config else
                'stock' if 'stock-decay' in config else
                'decay013' if 'cls-decay-0.013' in config else 'FL')
        return _det(ap[name][seed], apr[name][seed])

    monkeypatch.setattr(detector, 'train_job', fake_train)
    monkeypatch.setattr(detector, 'ensure_dataset', lambda *a: None)
    monkeypatch.setattr(detector, 'category_groups', lambda f: dict(
        rare=[0], common=[1], frequent=[2]))
    monkeypatch.setattr(detector, 'demo_config', lambda *a: None)
    monkeypatch.setattr(detector, 'fig2_statistics', lambda *a: dict(
        per_group=dict(rare=-7.0, common=-6.0, frequent=-5.0)))
    # make ablation pins the CPU kernels of every run (seen here, then the
    # jobs run in this process so that the fakes apply)
    pinned = []
    run_jobs = ablation.run_jobs

    def spy(*args, env=None, **kwargs):
        pinned.append(env)
        return run_jobs(*args, **kwargs)

    monkeypatch.setattr(ablation, 'run_jobs', spy)
    report = ablation.run_ablation(str(tmp_path), det_seeds=SEEDS,
                                   benches=('detector', ), workers=1)
    assert pinned == [reproducible_cpu_env()]
    det = json.loads((tmp_path / 'results.json').read_text())['detector']
    assert det['EFL']['APr'] == pytest.approx([11.0, 15.0, 19.0])
    assert det['FL_best_recipe']['recipe'] == best
    assert det['FL_best_recipe']['AP'] == det[best]['AP']
    assert det['targets']['AP not lower than FL_best_recipe']['met'] is (
        best == 'FL')  # EFL's 0.31 against 0.30, 0.33 or 0.34
    # EFL APr 15 +- 4 (sample std), FL 12 +- 2: gain 3 < larger std 4
    target = det['targets']['APr gain over FL > larger seed std']
    assert target['gain'] == pytest.approx(3.0)
    assert target['larger_std'] == pytest.approx(4.0)
    assert target['met'] is False
    assert det['targets']['AP not lower than FL']['met'] is True
    assert det['regime']['final_grad_ratio'] == pytest.approx(
        dict(rare=0.2, common=0.5, frequent=0.9))
    assert det['regime']['fl_apr_over_apf'] == pytest.approx(0.12 / 0.8)
    assert report['detector']['seconds']['EFL'] == [1.0] * 3
    # every run says where it was measured (12 runs: 4 recipes x 3 seeds)
    assert det['environments'] == [dict(environment=numeric_environment(),
                                        runs=12)]
    assert 'measured on: ' in (tmp_path / 'table.md').read_text()


def test_detector_target_met_when_gain_exceeds_both_stds():
    runs = {'FL': [_det(0.3, a) for a in (0.10, 0.12, 0.14)],
            'EFL': [_det(0.3, a) for a in (0.16, 0.18, 0.20)]}
    runs['FL_best_recipe'] = runs['FL']
    summary = ablation.summarise_ablation(runs, SEEDS, lambda r: None)
    targets = ablation.targets(summary, 'detector')
    assert targets['APr gain over FL > larger seed std']['met'] is True
    assert targets['AP not lower than FL_best_recipe']['met'] is True


def test_unknown_bench_is_named(tmp_path):
    with pytest.raises(ValueError, match="unknown benches \\['detecor'\\]"):
        ablation.run_ablation(str(tmp_path), benches=('detecor', ))


def test_fl_best_recipe_is_the_first_on_a_tie():
    runs = {'FL': [_det(0.30, 0.1)], 'FL stock decay': [_det(0.31, 0.1)],
            'FL cls decay 0.013': [_det(0.31, 0.1)]}
    assert ablation.fl_best_recipe(
        runs, ('FL', 'FL stock decay', 'FL cls decay 0.013')) == \
        'FL stock decay'
    assert ablation.fl_best_recipe(
        runs, ('FL', 'FL cls decay 0.013', 'FL stock decay')) == \
        'FL cls decay 0.013'
