"""The formula figures: the numbers behind them match the papers' formulas."""
import json
import subprocess
import sys

import numpy as np

from mmdet_efl.analysis import loss_figures as lf
from tests.helpers import REPO


def test_fig1_gamma0_is_ce_and_focal_reduces_easy_loss(tmp_path):
    data = lf.retinanet_fig1(str(tmp_path / 'f1.png'))
    p_t = np.array(data['p_t'])
    ce = -np.log(p_t)
    np.testing.assert_allclose(data['curves']['0'], ce, rtol=1e-9,
                               atol=1e-12)
    fl2 = np.array(data['curves']['2'])
    np.testing.assert_allclose(fl2, (1 - p_t)**2 * ce, rtol=1e-9,
                               atol=1e-12)
    assert (tmp_path / 'f1.png').stat().st_size > 10_000


def test_figs5_6_derivatives(tmp_path):
    data = lf.retinanet_figs5_6(str(tmp_path / 'f56.png'))
    x = np.array(data['x_t'])
    p = 1 / (1 + np.exp(-x))
    c = data['curves']
    np.testing.assert_allclose(c['CE']['grad'], p - 1, atol=1e-12)
    fl10 = (1 - p)**2 * (2 * p * np.log(p) + p - 1)  # RetinaNet eq. 10
    np.testing.assert_allclose(c['FL, g=2']['grad'], fl10, atol=1e-12)
    p_star = 1 / (1 + np.exp(-(4 * x)))  # eq. 11 with gamma 4, beta 0
    np.testing.assert_allclose(c['FL*, g=4, b=0']['grad'], p_star - 1,
                               atol=1e-12)


def test_efl_fig3_weighting_and_fig5_eq6(tmp_path):
    f3 = lf.efl_fig3(str(tmp_path / 'f3.png'))
    for name, g in f3['gamma_j'].items():
        np.testing.assert_allclose(
            f3['with_weight'][name], np.array(f3['without'][name]) * g / 2,
            rtol=1e-12)
    assert f3['gamma_j']['G=1'] == 2.0 and f3['gamma_j']['G=0'] == 10.0
    f5 = lf.efl_fig5(str(tmp_path / 'f5.png'))
    x = np.array(f5['x_t'])
    p = 1 / (1 + np.exp(-x))
    for name, g in f5['gamma_j'].items():
        eq6 = g / 2 * (1 - p)**g * (g * p * np.log(p) + p - 1)
        np.testing.assert_allclose(f5['grad'][name], eq6, atol=1e-12)


TOOL = str(REPO / 'tools/analysis/loss_figures.py')


def test_command_line_writes_every_figure(tmp_path):
    subprocess.run([sys.executable, TOOL, str(tmp_path)], check=True,
                   capture_output=True)
    for name in lf.FORMULA_FIGURES:
        assert (tmp_path / f'{name}.png').stat().st_size > 10_000
        assert json.loads((tmp_path / f'{name}.json').read_text())
