"""The statistics GradientCollectorHook logs: per-group means of ``G_j``
and ``gamma_j`` over training, read from a run's ``scalars.json``
records (:func:`~mmdet_efl.analysis.training_curves.read_scalars` joins the
logs of every start of a resumed run)."""
import re
from typing import Dict, List

from ..training_curves import scalar_series

# ``[train/]<loss>/grad_ratio_<group>`` or ``.../gamma_<group>``, as the
# hook names its scalars
_KEY = re.compile(r'^(?:train/)?(?P<loss>.+)/(?P<what>grad_ratio|gamma)_'
                  r'(?P<group>[A-Za-z0-9]+)$')


def log_group_series(records: List[dict]) -> Dict[str, Dict[str, Dict]]:
    """The per-group series GradientCollectorHook logged, by loss.

    Args:
        records: ``scalars.json`` records.

    Returns:
        ``{loss: {group: {'grad_ratio': (steps, values), 'gamma': ...}}}``,
        only the series with at least one value.
    """
    found: Dict[str, Dict[str, Dict]] = {}
    keys = sorted({k for rec in records for k in rec if _KEY.match(k)})
    for key in keys:
        m = _KEY.match(key)
        series = scalar_series(records, key)
        if series[0]:
            found.setdefault(m['loss'], {}).setdefault(
                m['group'], {})[m['what']] = series
    return found
