import matplotlib.pyplot as plt
import pytest
from PIL import Image

from mmdet_efl.utils.figures import save_figure, subplots


def test_save_figure_lays_out_writes_at_its_dpi_and_closes(tmp_path):
    fig, ax = plt.subplots(figsize=(2.0, 1.5))
    ax.plot([0, 1], [1, 0])
    ax.set_xlabel('iteration')
    default_box = ax.get_position().bounds
    out = tmp_path / 'curve.png'
    save_figure(fig, str(out), dpi=50)
    # tight_layout moved the axes off matplotlib's default subplot box
    assert ax.get_position().bounds != pytest.approx(default_box)
    with Image.open(out) as image:
        assert image.format == 'PNG'
        assert image.size == (100, 75)  # inches x dpi
    assert fig.number not in plt.get_fignums()  # pyplot no longer holds it


def _draw(make, out):
    fig, axes = make(1, 2, figsize=(3.0, 1.5), sharey=True)
    axes[0].plot([0, 1, 2], [1, 0, 2], label='a')
    axes[1].bar([0, 1], [2, 1])
    axes[0].legend()
    save_figure(fig, str(out), dpi=60, title='t')
    return fig


def test_subplots_draws_what_pyplot_draws_without_pyplot(tmp_path):
    """The package's figures are pyplot's, byte for byte, but pyplot never
    holds them (and no backend is involved)."""
    before = plt.get_fignums()
    ours = _draw(subplots, tmp_path / 'ours.png')
    assert plt.get_fignums() == before
    assert ours.canvas.manager is None  # no window, no pyplot number
    _draw(plt.subplots, tmp_path / 'pyplot.png')
    assert (tmp_path / 'ours.png').read_bytes() == \
        (tmp_path / 'pyplot.png').read_bytes()
    with Image.open(tmp_path / 'ours.png') as image:
        assert image.size == (180, 90)
