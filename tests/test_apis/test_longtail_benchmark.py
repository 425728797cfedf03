"""The embedded benchmark end to end on a tiny dataset: both runs train,
test, and leave their table, numbers and plots."""
import json

import numpy as np

from mmdet_efl.apis import run_longtail_benchmark
from mmdet_efl.apis.longtail_benchmark import format_table


def test_tiny_benchmark_writes_table_and_plots(tiny_lvis, tmp_path, capsys):
    work = tmp_path / 'demo'
    results = run_longtail_benchmark(str(tiny_lvis), str(work), seeds=[0],
                                     max_epochs=1)
    out = capsys.readouterr().out
    assert set(results) == {'FL', 'EFL'}
    for runs in results.values():
        metrics = runs[0]['metrics']
        assert set(metrics) == {'AP', 'APr', 'APc', 'APf'}
        assert all(-1 <= v <= 1 for v in metrics.values())
    # EFL's final state covers the dataset's 6 categories
    assert results['EFL'][0]['category_values']['gamma'].shape == (6, )
    assert (results['EFL'][0]['category_values']['gamma'] >= 2.0).all()
    assert 'category_values' not in results['FL'][0]
    saved = json.loads((work / 'results.json').read_text())
    assert saved['table'] in out
    assert (work / 'loss_curves.png').stat().st_size > 10_000
    assert (work / 'focusing_factors.png').stat().st_size > 10_000


def test_table_reports_spread_over_seeds():
    runs = {'FL': [dict(metrics=dict(AP=a, APr=a, APc=a, APf=a), seconds=1)
                   for a in (0.10, 0.20)]}
    table = format_table(runs, [0, 1])
    mean, std = 100 * np.mean([0.1, 0.2]), 100 * np.std([0.1, 0.2])
    assert f'{mean:.2f} +-{std:4.2f}' in table
