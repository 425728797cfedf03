"""Training curves from MMEngine's ``vis_data/scalars.json`` logs."""
import json
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from mmdet_efl.datasets.longtail import GROUP_ORDER
from mmdet_efl.utils.figures import save_figure, subplots


def read_scalars(work_dir: str) -> List[dict]:
    """All records of a run's logs, joined over its resumptions.

    MMEngine starts a log folder ``<work_dir>/<YYYYmmdd_HHMMSS>/`` on every
    start, resumptions included, and writes the records of each start to
    its ``vis_data/scalars.json``. Every such file below ``work_dir`` is
    read, in the time order of the folder names, and the records are joined
    by :func:`join_resumed`.

    Args:
        work_dir: the run's ``work_dir``, or one of its log folders (its
            name may hold glob characters such as ``[``).

    Returns:
        The records (dicts with ``iter``, ``lr``, losses, ... for training
        iterations, metrics and ``step`` for validations), oldest first.

    Raises:
        FileNotFoundError: no ``vis_data/scalars.json`` below ``work_dir``.
    """
    # rglob matches its pattern only below work_dir: a work_dir named
    # 'atss[efl]' is a folder name, not a character class
    files = sorted(Path(work_dir).rglob('vis_data/scalars.json'),
                   key=lambda path: path.parts[-3])
    if not files:
        raise FileNotFoundError(f'no vis_data/scalars.json under {work_dir}; '
                                'was the run logged with LocalVisBackend?')
    records = []
    for path in files:
        with open(path) as f:
            records += [json.loads(line) for line in f if line.strip()]
    return join_resumed(records)


def join_resumed(records: List[dict]) -> List[dict]:
    """One record per training iteration from the logs of a run that was
    resumed, in the order they were written.

    A resumed run restarts at the iteration after its checkpoint, which may
    lie before the last iteration logged before the interruption. A
    training record (one with ``iter``) whose iteration is not above the
    last one kept starts such a restart: the earlier records from that
    iteration on, and the records logged after them (validations), are
    dropped, so the later log's values win.

    Args:
        records: the records of a run's ``scalars.json`` files, in the
            order they were written.

    Returns:
        The records that the run's final course of training logged.
    """
    joined: List[dict] = []
    last = None
    for rec in records:
        it = rec.get('iter')
        if it is not None and last is not None and it <= last:
            cut = next(i for i, kept in enumerate(joined)
                       if 'iter' in kept and kept['iter'] >= it)
            del joined[cut:]
        joined.append(rec)
        if it is not None:
            last = it
    return joined


def scalar_series(records: List[dict], key: str) -> Tuple[List[int],
                                                          List[float]]:
    """``(steps, values)`` of one scalar over training iterations."""
    steps, values = [], []
    for rec in records:
        if key in rec and 'lr' in rec:  # training records carry the lr
            steps.append(int(rec.get('iter', rec.get('step'))))
            values.append(float(rec[key]))
    return steps, values


def plot_curves(runs: Dict[str, str], keys: Optional[Sequence[str]],
                out_file: str, title: str = '',
                log_x: bool = False) -> Dict[str, Dict]:
    """One panel per scalar ``key``, one line per run (``name: work_dir``);
    ``keys=None`` plots the per-group focusing factors of the first run's
    log (:func:`group_keys`).

    Returns the plotted numbers, ``{run: {key: (steps, values)}}``.
    """
    records = {name: read_scalars(wd) for name, wd in runs.items()}
    if keys is None:
        keys = group_keys(next(iter(records.values())))
    data = {name: {key: scalar_series(recs, key) for key in keys}
            for name, recs in records.items()}
    fig, axes = subplots(1, len(keys), figsize=(5 * len(keys), 3.6),
                         squeeze=False)
    for ax, key in zip(axes[0], keys):
        for name in runs:
            steps, values = data[name][key]
            ax.plot(steps, values, label=name, linewidth=1.2)
        ax.set_xlabel('iteration')
        if log_x:  # EFL's factors move in the first iterations
            ax.set_xscale('log')
        ax.set_ylabel(key)
        ax.grid(alpha=0.3)
        ax.legend()
    save_figure(fig, out_file, title=title)
    return data


def group_keys(records: List[dict], quantity: str = 'gamma') -> List[str]:
    """The per-group keys of ``quantity`` that ``GradientCollectorHook``
    logged (``loss_cls/gamma_rare``, ...), rare to frequent."""
    order = {name: i for i, name in enumerate(GROUP_ORDER)}
    keys = {k for rec in records for k in rec
            if k.rsplit('/', 1)[-1].startswith(quantity + '_')}
    if not keys:
        raise ValueError(f'no */{quantity}_* scalars in the log; was the run '
                         'trained with GradientCollectorHook and a '
                         'category-adaptive loss?')
    return sorted(keys, key=lambda k: (k.rsplit('/', 1)[0], order.get(
        k.rsplit('_', 1)[-1], len(order)), k))
