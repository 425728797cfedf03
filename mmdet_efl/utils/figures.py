"""Writing the package's figures."""
from typing import Optional

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402


def save_figure(fig: Figure, out_file: str, dpi: int = 120,
                title: Optional[str] = None) -> None:
    """Titles ``fig`` over all its panels (if ``title``), lays it out,
    writes it to ``out_file`` (format from the suffix, e.g. PNG) and
    closes it, because pyplot keeps every open figure alive until
    closed."""
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(out_file, dpi=dpi)
    plt.close(fig)
