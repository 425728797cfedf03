"""Per-group focusing-factor curves from the logs GradientCollectorHook
writes."""
import json

import numpy as np
import pytest

from mmdet_efl.analysis import read_scalars
from mmdet_efl.analysis.commands import training_curves_main
from mmdet_efl.analysis.training_curves import group_keys
from tests.test_analysis.conftest import ITERS


def test_group_curves_equal_the_logged_values(tiny_runs, tmp_path):
    work = str(tiny_runs['EFL']['work_dir'])
    records = read_scalars(work)
    keys = group_keys(records)
    # tiny_lvis has rare (<= 10 images) and common categories only
    assert keys == ['loss_cls/gamma_rare', 'loss_cls/gamma_common']
    data = training_curves_main([str(tmp_path), '--run', 'EFL', work,
                                 '--log-x'])
    saved = json.loads((tmp_path / 'training_curves.json').read_text())
    assert saved == json.loads(json.dumps(data))
    for key in keys:
        steps, values = saved['EFL'][key]
        assert steps == list(range(1, ITERS + 1))
        np.testing.assert_allclose(values,
                                   [r[key] for r in records if key in r])
        assert all(2.0 <= v <= 2.0 + 8.0 for v in values)
    assert (tmp_path / 'training_curves.png').stat().st_size > 10_000


def test_run_without_the_hook_names_the_problem(tiny_runs):
    records = read_scalars(str(tiny_runs['FL']['work_dir']))
    with pytest.raises(ValueError, match='GradientCollectorHook'):
        group_keys(records)
