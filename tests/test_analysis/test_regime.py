"""Regime checks against hand-computed values."""
import math

import numpy as np
import pytest

from mmdet_efl.analysis.regime import (MAX_FL_APR_OVER_APF,
                                       MAX_RARE_OVER_FREQ_GRAD_RATIO,
                                       RegimeReport, ap_ratio,
                                       fig2_log_ratio, grad_ratio_summary,
                                       group_means, rare_over_frequent)

GROUPS = {'rare': [0, 1], 'common': [2], 'frequent': [3]}


def test_thresholds_are_the_ones_fixed_in_issue_16():
    assert MAX_FL_APR_OVER_APF == 0.6
    assert MAX_RARE_OVER_FREQ_GRAD_RATIO == 0.5


def test_final_and_time_averaged_group_means():
    steps = [0, 10, 30]
    # rare mean: 1.0, 0.5, 0.25; common: 1, 1, 0.5; frequent: 1, 1, 1
    ratios = np.array([[1.0, 1.0, 1.0, 1.0],
                       [0.6, 0.4, 1.0, 1.0],
                       [0.3, 0.2, 0.5, 1.0]])
    out = grad_ratio_summary(steps, ratios, GROUPS)
    assert out['final'] == {'rare': 0.25, 'common': 0.5, 'frequent': 1.0}
    # trapezoid: rare (1 + .5) / 2 * 10 + (.5 + .25) / 2 * 20 = 15 over 30
    assert out['mean']['rare'] == pytest.approx(15 / 30)
    assert out['mean']['common'] == pytest.approx((10 + 15) / 30)
    assert out['mean']['frequent'] == pytest.approx(1.0)
    single = grad_ratio_summary([5], ratios[2:], GROUPS)
    assert single['mean'] == single['final']


def test_bad_trajectories_are_refused():
    with pytest.raises(ValueError, match='strictly increasing'):
        grad_ratio_summary([0, 0], np.ones((2, 4)), GROUPS)
    with pytest.raises(ValueError, match=r'\[T, C\]'):
        grad_ratio_summary([0, 1, 2], np.ones((2, 4)), GROUPS)
    with pytest.raises(ValueError, match="group 'frequent' holds labels"):
        group_means([1.0, 1.0, 1.0], GROUPS)


def test_ratios_and_fig2_values():
    assert rare_over_frequent({'rare': 0.2, 'frequent': 0.8}) == 0.25
    assert ap_ratio(14.3, 32.7) == pytest.approx(0.4373, abs=1e-4)
    with pytest.raises(KeyError, match='frequency groups'):
        rare_over_frequent({'all': 1.0})
    per_cat, per_group = fig2_log_ratio([1, 10, 0, 1000], [1e7, 1e7, 1e6,
                                                           1e6], GROUPS)
    assert per_cat == [-7.0, -6.0, None, -3.0]
    assert per_group['rare'] == pytest.approx(-6.5)
    assert math.isnan(per_group['common'])  # no positives: left out
    assert per_group['frequent'] == pytest.approx(-3.0)


def test_report_holds_only_when_both_checks_pass():
    ok = RegimeReport(fl_apr_over_apf=0.44,
                      final_grad_ratio={'rare': 0.2, 'common': 0.5,
                                        'frequent': 0.9},
                      fig2_log10_ratio={'rare': -7.1, 'common': -5.2,
                                        'frequent': -3.4}, source='FL')
    assert ok.holds()
    assert ok.rare_over_frequent == pytest.approx(0.2 / 0.9)
    text = ok.format()
    assert 'FL APr / APf' in text and '0.440' in text and 'holds' in text
    assert '-7.10 / -5.20 / -3.40' in text
    # at the threshold passes, just above fails
    edge = RegimeReport(fl_apr_over_apf=0.6,
                        final_grad_ratio={'rare': 0.5, 'frequent': 1.0})
    assert edge.holds()
    assert not RegimeReport(
        fl_apr_over_apf=0.61,
        final_grad_ratio={'rare': 0.5, 'frequent': 1.0}).holds()
    saturated = RegimeReport(fl_apr_over_apf=0.4,
                             final_grad_ratio={'rare': 1.0, 'frequent': 1.0})
    assert not saturated.holds()
    assert 'FAILS' in saturated.format()
    unknown = RegimeReport(final_grad_ratio={'rare': 0.1, 'frequent': 1.0})
    assert not unknown.holds() and 'unknown' in unknown.format()
    assert unknown.to_dict()['rare_over_frequent'] == pytest.approx(0.1)
