import matplotlib.pyplot as plt
from PIL import Image

from mmdet_efl.utils.figures import save_figure


def test_save_figure_writes_the_png_at_its_dpi_and_closes_it(tmp_path):
    fig, ax = plt.subplots(figsize=(2.0, 1.5))
    ax.plot([0, 1], [1, 0])
    out = tmp_path / 'curve.png'
    save_figure(fig, str(out), dpi=50)
    with Image.open(out) as image:
        assert image.format == 'PNG'
        assert image.size == (100, 75)  # inches x dpi
    assert fig.number not in plt.get_fignums()  # pyplot no longer holds it
