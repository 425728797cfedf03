"""Writing the package's figures."""
import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402


def save_figure(fig: Figure, out_file: str, dpi: int = 120) -> None:
    """Lays out ``fig``, writes it to ``out_file`` (format from the
    suffix, e.g. PNG) and closes it, because pyplot keeps every open
    figure alive until closed."""
    fig.tight_layout()
    fig.savefig(out_file, dpi=dpi)
    plt.close(fig)
