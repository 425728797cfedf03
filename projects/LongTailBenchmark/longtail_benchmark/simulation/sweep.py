"""Many simulator runs, resumable, and their summary over seeds."""
import os.path as osp
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from mmdet_efl.datasets.longtail import GROUP_ORDER
from ..jobs import Job, run_jobs
from .config import SimulatorConfig
from .simulator import simulate


@dataclass(frozen=True)
class SweepRun:
    """One run: ``tag`` names the setting (``changes`` to the base config),
    ``loss`` a :data:`~longtail_benchmark.simulation.LOSS_VARIANTS` name."""
    tag: str
    loss: str
    seed: int
    changes: Dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def key(self) -> Tuple[str, str, int]:
        return (self.tag, self.loss, int(self.seed))


def simulate_record(tag: str, loss: str, seed: int, changes: Dict,
                    base: SimulatorConfig) -> dict:
    """One sweep run as a record ``tag, loss, seed, changes, result``
    (module level, so that worker processes can run it)."""
    result = simulate(base.replace(**changes), loss, seed)
    return dict(tag=tag, loss=loss, seed=int(seed), changes=dict(changes),
                result=result)


def run_sweep(sweep: Sequence[SweepRun], out_dir: str,
              base: Optional[SimulatorConfig] = None,
              workers: int = 1,
              log: Optional[Callable[[str], None]] = print) -> List[dict]:
    """Runs the sweep's runs not yet saved under ``<out_dir>/runs/`` (one
    JSON record per run: ``tag, loss, seed, changes, result``), ``workers`` at
    once, so an interrupted sweep resumes where it stopped
    (:func:`longtail_benchmark.jobs.run_jobs`).

    Returns all records of the sweep, in its order.
    """
    base = base or SimulatorConfig()
    runs = [
        Job(_run_tag(job), simulate_record,
            (job.tag, job.loss, job.seed, dict(job.changes), base))
        for job in sweep
    ]

    def report(_, record: dict) -> None:
        if log is not None:
            log(summary_line(record))

    done = run_jobs(runs, osp.join(out_dir, 'runs'), workers,
                    desc='simulator runs', on_done=report)
    return [done[run.tag] for run in runs]


def _run_tag(job: SweepRun) -> str:
    name = f'{job.tag}/{job.loss}_seed{job.seed}'
    return ''.join(c if c.isalnum() or c in '/_.-' else '_' for c in name)


def summary_line(record: dict) -> str:
    """One line of a record: AP per group, final G_j per group, time."""
    r = record['result']
    g = r.get('final_grad_ratio') or {}
    ratios = '/'.join(f'{g[k]:.3f}' if k in g else '-'
                      for k in GROUP_ORDER)
    return (f"{record['tag']} {record['loss']} seed {record['seed']}: AP "
            f"{r['AP']:.1f} r/c/f {r['APr']:.1f}/{r['APc']:.1f}/"
            f"{r['APf']:.1f}  G r/c/f {ratios}  "
            f"Lambda_cls {r['exposure']['cls_bias']:.3g}  "
            f"{r['wall_time_s']:.0f} s")


def by_setting(records: Iterable[dict]) -> Dict[Tuple[str, str],
                                                Dict[int, dict]]:
    """``{(tag, loss): {seed: result}}``."""
    out: Dict[Tuple[str, str], Dict[int, dict]] = {}
    for rec in records:
        out.setdefault((rec['tag'], rec['loss']), {})[rec['seed']] = \
            rec['result']
    return out


def mean_std(values: Sequence[float]) -> Tuple[float, float, float]:
    """Mean, sample std and standard error of the mean."""
    v = np.asarray(values, dtype=float)
    std = float(v.std(ddof=1)) if v.size > 1 else 0.0
    return float(v.mean()), std, float(std / np.sqrt(max(v.size, 1)))


def paired(a: Dict[int, dict], b: Dict[int, dict],
           key: str) -> Tuple[List[int], np.ndarray]:
    """Per-seed differences ``b - a`` of ``key`` over their common seeds."""
    seeds = sorted(set(a) & set(b))
    return seeds, np.array([b[s][key] - a[s][key] for s in seeds])
