"""Simulator figures return the numbers they plot."""
import pytest

from longtail_benchmark.simulation.figures import plot_ap_against_s


def test_ap_against_s_means_and_stds(tmp_path):
    per_s = {8: dict(AP=[1, 3], APr=[2, 2], APc=[1, 2], APf=[4, 6]),
             0: dict(AP=[1, 1], APr=[1, 3], APc=[1, 1], APf=[5, 5])}
    data = plot_ap_against_s(per_s, str(tmp_path / 's.png'))
    assert data['s'] == [0, 8]
    assert data['APr'] == [2.0, 2.0] and data['AP'] == [1.0, 2.0]
    # sample std: [1, 3] -> sqrt(2)
    assert data['APr_std'] == pytest.approx([2 ** 0.5, 0.0])
    assert data['APf_std'] == pytest.approx([0.0, 2 ** 0.5])
    assert (tmp_path / 's.png').stat().st_size > 10_000
