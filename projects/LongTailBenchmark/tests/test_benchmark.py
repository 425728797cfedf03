"""The detector benchmark: end to end on a tiny dataset (both runs train,
test, and leave their table, regime checks, numbers and plots), and its
summaries against hand-computed values."""
import json

import numpy as np
import pytest

from mmdet_efl.analysis.regime import MAX_FL_APR_OVER_APF
from longtail_benchmark import benchmark as bench
from longtail_benchmark import run_longtail_benchmark
from longtail_benchmark.environment import (numeric_environment,
                                            reproducible_cpu_env)


def test_tiny_benchmark_writes_table_regime_and_plots(tiny_lvis, tmp_path,
                                                      capsys):
    work = tmp_path / 'demo'
    results = run_longtail_benchmark(str(tiny_lvis), str(work), seeds=[0],
                                     max_epochs=1)
    out = capsys.readouterr().out
    assert set(results) == {'FL', 'EFL'}
    for runs in results.values():
        metrics = runs[0]['metrics']
        assert set(metrics) == {'AP', 'APr', 'APc', 'APf'}
        assert all(-1 <= v <= 1 for v in metrics.values())
    # both log statistics: FL is EFL with s = 0, whose gamma_j is gamma_b
    efl = results['EFL'][0]['category_values']
    fl = results['FL'][0]['category_values']
    assert len(efl['gamma']) == len(fl['gamma']) == 6
    assert all(g >= 2.0 for g in efl['gamma'])
    assert fl['gamma'] == [2.0] * 6
    curves = results['EFL'][0]['grad_ratio_curves']
    assert curves['steps'] == sorted(curves['steps']) and curves['rare']
    saved = json.loads((work / 'results.json').read_text())
    assert saved['table'] in out
    # both runs measured with the pinned kernels, and the output says so
    pinned = reproducible_cpu_env()
    expected = numeric_environment()
    if pinned:
        expected.update(cpu_capability='AVX2', kernel_caps=' '.join(
            f'{k}={v}' for k, v in pinned.items()))
    assert saved['environments'] == [dict(environment=expected, runs=2)]
    assert 'measured on: ' in out and 'WARNING' not in out
    # checked on FL's statistics; EFL's own G_j reported beside them
    assert 'regime checks (G_j from FL)' in out and 'EFL final G_j' in out
    assert 'FL APr / APf' in out and 'Fig. 2 log10(pos/neg)' in out
    regime = saved['regime']
    assert set(regime['final_grad_ratio']) == {'rare', 'common'}
    assert regime['checked_on'] == 'FL'
    groups = bench.category_groups(str(tiny_lvis / 'annotations/train.json'))
    for key, name in (('fl_final_grad_ratio', 'FL'),
                      ('final_grad_ratio', 'EFL')):
        values = results[name][0]['category_values']['grad_ratio']
        assert regime[key] == pytest.approx(
            {g: np.mean([values[i] for i in labels])
             for g, labels in groups.items()})
    # Fig. 2 counts: every valid anchor is a positive of one category or a
    # negative of it, so pos + neg is the same for every category
    fig2 = saved['fig2']
    totals = {p + n for p, n in zip(fig2['pos'], fig2['neg'])}
    assert len(totals) == 1 and all(p > 0 for p in fig2['pos'])
    for name in ('loss_curves', 'grad_ratio_curves', 'focusing_factors'):
        assert (work / f'{name}.png').stat().st_size > 10_000
    # the same seed gives the same numbers (the ablation's results.json
    # must be reproducible): FL again, in another work dir
    again = bench.run_detector(['FL'], str(tiny_lvis), str(tmp_path / 'b'),
                               [0], max_epochs=1)['FL'][0]
    assert again['metrics'] == results['FL'][0]['metrics']
    assert again['category_values'] == fl


def _run(ap, apr, apc, apf, seconds=1.0, **extra):
    return dict(metrics=dict(AP=ap, APr=apr, APc=apc, APf=apf),
                seconds=seconds, **extra)


def test_table_reports_spread_and_paired_differences():
    runs = {'FL': [_run(0.10, 0.10, 0.1, 0.1), _run(0.20, 0.20, 0.2, 0.2)],
            'EFL': [_run(0.13, 0.15, 0.1, 0.1), _run(0.21, 0.30, 0.2, 0.2)]}
    table = bench.format_table(runs, [0, 1])
    mean, std = 100 * np.mean([0.1, 0.2]), 100 * np.std([0.1, 0.2], ddof=1)
    assert f'{mean:.2f} +-{std:4.2f}' in table
    assert 'EFL - FL: AP +3.00 / +1.00, APr +5.00 / +10.00' in table


def test_regime_report_means_over_seeds():
    """G_j: group means of the final per-category state, averaged over
    seeds; over training: the time average of the logged group curve."""
    groups = {'rare': [0, 1], 'frequent': [2]}
    efl = [
        _run(0, 0, 0, 0, category_values=dict(grad_ratio=[0.2, 0.4, 1.0]),
             grad_ratio_curves=dict(steps=[0, 10], rare=[1.0, 0.5],
                                    frequent=[1.0, 1.0])),
        _run(0, 0, 0, 0, category_values=dict(grad_ratio=[0.6, 0.0, 0.8]),
             grad_ratio_curves=dict(steps=[0, 10, 30], rare=[1.0, 1.0, 0.0],
                                    frequent=[1.0, 1.0, 1.0])),
    ]
    fl = [_run(0, 0.10, 0, 0.40), _run(0, 0.20, 0, 0.40)]
    report = bench.regime_report({'FL': fl, 'EFL': efl}, groups,
                                 dict(per_group={'rare': -5.0}))
    assert report.fl_apr_over_apf == pytest.approx(0.15 / 0.40)
    # rare: (0.3 + 0.3) / 2; frequent: (1.0 + 0.8) / 2
    assert report.final_grad_ratio == pytest.approx(
        dict(rare=0.3, frequent=0.9))
    # rare: seed 0 trapezoid 0.75, seed 1 (10 * 1 + 20 * 0.5) / 30
    assert report.mean_grad_ratio['rare'] == pytest.approx(
        (0.75 + 20 / 30) / 2)
    assert report.fig2_log10_ratio == {'rare': -5.0}
    assert report.fl_apr_over_apf <= MAX_FL_APR_OVER_APF
    assert report.rare_over_frequent == pytest.approx(0.3 / 0.9)
    assert report.holds()


def test_category_groups_follow_the_frequency_field(tmp_path):
    ann = tmp_path / 'train.json'
    ann.write_text(json.dumps(dict(categories=[
        dict(id=1, frequency='f'), dict(id=2, frequency='r'),
        dict(id=3, frequency='c'), dict(id=4, frequency='r')])))
    assert bench.category_groups(str(ann)) == dict(
        rare=[1, 3], common=[2], frequent=[0])


def test_finished_runs_are_read_back_not_retrained(tmp_path, monkeypatch):
    cache = tmp_path / 'cache'
    cache.mkdir()
    saved = _run(0.5, 0.4, 0.5, 0.6)
    (cache / 'efl_seed3.json').write_text(json.dumps(saved))

    def must_not_train(*args, **kwargs):
        raise AssertionError('a cached run was trained again')

    # the function each run's job calls (detector_job), so that a run that
    # is not read back fails here, before any config is read
    monkeypatch.setattr(bench, 'train_job', must_not_train)
    results = bench.run_detector(['EFL'], 'unused', str(tmp_path), [3],
                                 cache_dir=str(cache),
                                 pin_cpu_kernels=False)
    assert results == {'EFL': [saved]}


def test_zero_epochs_is_refused(tiny_lvis, tmp_path):
    with pytest.raises(ValueError, match=r'max_epochs must be at least 1, '
                       r'got 0 \(.*efl-demo-4e_synthetic-lvis.py\)'):
        bench.demo_config(bench.DEMO_CONFIGS['EFL'], str(tiny_lvis),
                          str(tmp_path), seed=0, max_epochs=0)
