"""The committed ablation results (docs/results.json, issue 16):
the keys the issue asks for, AP in %, and numbers that agree with each
other (paired differences, the targets' verdicts, FL's best recipe)."""
import json

import numpy as np
import pytest

from longtail_benchmark.ablation import FL_RECIPES

from tests.helpers import REPO

RESULTS = REPO / 'projects/LongTailBenchmark/docs/results.json'
METRICS = ('AP', 'APr', 'APc', 'APf')


@pytest.fixture(scope='module')
def results():
    return json.loads(RESULTS.read_text())


@pytest.mark.parametrize('bench,min_seeds', [('detector', 3),
                                             ('simulator', 10)])
def test_required_keys_and_units(results, bench, min_seeds):
    r = results[bench]
    seeds = r['seeds']
    assert len(seeds) >= min_seeds and len(set(seeds)) == len(seeds)
    for run in ('FL', 'EFL', 'FL_best_recipe'):
        for key in METRICS:
            values = r[run][key]
            assert len(values) == len(seeds)
            assert all(-1.0 <= v <= 100.0 for v in values)  # in %
        assert max(r[run]['AP']) > 1.0  # not fractions
    assert r['FL_best_recipe']['recipe'] in r
    assert 0 <= r['regime']['fl_apr_over_apf']
    groups = {'rare', 'common', 'frequent'}
    assert set(r['regime']['final_grad_ratio']) == groups


@pytest.mark.parametrize('bench', ['detector', 'simulator'])
def test_numbers_agree(results, bench):
    r = results[bench]
    efl, fl = r['EFL'], r['FL']
    best = r[r['FL_best_recipe']['recipe']]
    for key in METRICS:
        assert r['FL_best_recipe'][key] == best[key]
        diff = np.subtract(efl[key], fl[key])
        pair = efl['paired']['FL'][key]
        assert pair['values'] == pytest.approx(diff)
        assert pair['se'] == pytest.approx(
            np.std(diff, ddof=1) / np.sqrt(len(diff)))
        assert efl[f'{key}_std'] == pytest.approx(np.std(efl[key], ddof=1))
    # FL's best recipe has the highest mean AP of FL's recipes
    assert np.mean(best['AP']) == max(np.mean(r[n]['AP'])
                                      for n in FL_RECIPES[bench])
    for name, target in r['targets'].items():
        other = 'FL_best_recipe' if 'FL_best_recipe' in name else 'FL'
        if bench == 'simulator':
            d = np.subtract(efl['APr'], r[other]['APr'])
            se = np.std(d, ddof=1) / np.sqrt(len(d))
            assert target['met'] == bool(d.mean() > 2 * se)
        elif name.startswith('APr gain'):
            gain = np.mean(efl['APr']) - np.mean(r[other]['APr'])
            std = max(np.std(efl['APr'], ddof=1),
                      np.std(r[other]['APr'], ddof=1))
            assert target['met'] == bool(gain > std)
        else:
            assert target['met'] == bool(
                np.mean(efl['AP']) >= np.mean(r[other]['AP']))


def test_current_head_numbers_agree():
    """docs/results_current_head.json: FL and EFL retrained with
    the current ATSSIoUHead. The paired differences are the per-seed
    differences, and the cls x IoU selection is the runs' own test."""
    r = json.loads((REPO / 'projects/LongTailBenchmark/docs/'
                    'results_current_head.json').read_text())['detector']
    assert r['seeds'] == [0, 1, 2]
    selection = r['candidate_selection']['runs']
    for key in METRICS:
        diff = np.subtract(r['EFL'][key], r['FL'][key])
        assert r['EFL']['paired']['FL'][key]['values'] == pytest.approx(diff)
        for name in ('FL', 'EFL'):
            assert r[name][f'{key}_mean'] == pytest.approx(
                np.mean(r[name][key]))
            for seed, value in zip(r['seeds'], r[name][key]):
                run = selection[f'{name}_seed{seed}']
                assert 100 * run['cls x IoU'][key] == pytest.approx(value)
    assert r['regime']['checked_on'] == 'FL'
