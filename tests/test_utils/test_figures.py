import matplotlib.pyplot as plt
import pytest
from PIL import Image

from mmdet_efl.utils.figures import save_figure


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
