"""The diagnosis's figure: each group's mean ``G_j`` over training."""
from typing import List, Optional

from .report import Diagnosis
from .run_log import log_group_series


def plot_diagnosis(records: Optional[List[dict]], diag: Diagnosis,
                   out_file: str) -> dict:
    """Per-group mean ``G_j`` over training from the log, titled with the
    verdict, written to ``out_file`` (format from its suffix).

    Args:
        records: the run's ``scalars.json`` records, or None (an empty
            plot).
        diag: the run's diagnosis; its ``loss`` picks the logged series.
        out_file: the image file to write.

    Returns:
        The diagnosis as a dict (:meth:`Diagnosis.to_dict`).
    """
    # a Figure of its own, without pyplot: no backend to select and no
    # figure kept alive by pyplot's registry
    from matplotlib.figure import Figure
    series = log_group_series(records).get(diag.loss, {}) if records else {}
    fig = Figure(figsize=(6, 3.6))
    ax = fig.subplots()
    for group, what in series.items():
        if 'grad_ratio' in what:
            ax.plot(*what['grad_ratio'], label=group)
    ax.axhline(1.0, color='grey', linewidth=0.8, linestyle=':')
    ax.set_xlabel('iteration')
    ax.set_ylabel('group mean of G_j')
    ax.set_title(diag.verdict.split(':')[0], fontsize=9)
    ax.grid(alpha=0.3)
    if series:
        ax.legend()
    fig.tight_layout()
    fig.savefig(out_file, dpi=120)
    return diag.to_dict()
