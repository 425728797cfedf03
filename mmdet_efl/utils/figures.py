"""Making and writing the package's figures.

Figures are made with matplotlib's object-oriented API
(``matplotlib.figure.Figure``), which draws and saves without pyplot and
without a GUI backend. So matplotlib's backend, which is process-wide, is
never switched (a notebook or a user's interactive session keeps its own),
no window opens, and pyplot holds no reference to our figures. matplotlib
is imported when the first figure is made, not when this module is.
"""
import sys
from typing import Any, Optional, Tuple


def subplots(nrows: int = 1, ncols: int = 1, *,
             figsize: Tuple[float, float], **kwargs: Any) -> Tuple[Any, Any]:
    """A new figure of ``figsize`` inches and its grid of axes, as
    ``matplotlib.pyplot.subplots(nrows, ncols, figsize=..., **kwargs)``
    returns them (``sharey``, ``squeeze``, ... as there), but not held by
    pyplot."""
    from matplotlib.figure import Figure
    fig = Figure(figsize=figsize)
    return fig, fig.subplots(nrows, ncols, **kwargs)


def save_figure(fig: Any, out_file: str, dpi: int = 120,
                title: Optional[str] = None) -> None:
    """Titles ``fig`` over all its panels (if ``title``), lays it out and
    writes it to ``out_file`` (format from the suffix, e.g. PNG).

    ``fig`` may also come from pyplot (``plt.subplots``): it is then closed,
    because pyplot keeps every figure it made alive until closed.
    """
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(out_file, dpi=dpi)
    # Only a figure pyplot made can be held by it, and pyplot is then
    # imported already; a figure of ours is freed with its last reference.
    pyplot = sys.modules.get('matplotlib.pyplot')
    if pyplot is not None:
        pyplot.close(fig)
