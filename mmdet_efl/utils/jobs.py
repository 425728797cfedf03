"""Resumable, parallel runs of independent training jobs.

The one mechanism behind the benchmark (``make demo``), the ablation
command and the simulator's sweeps: each finished job is saved as
``<cache_dir>/<tag>.json`` and read back on the next call instead of being
run again, so an interrupted sweep resumes where it stopped; jobs run
``workers`` at once in spawned processes, with a tqdm bar for the sweep.
"""
import inspect
import json
import multiprocessing
import os
import os.path as osp
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Callable, Dict, Optional, Sequence

from tqdm import tqdm


@dataclass(frozen=True)
class Job:
    """One run: ``fn(*args, **kwargs)`` returns a JSON-serialisable dict.

    ``tag`` names the run uniquely (it is the cache file's path relative to
    the cache dir, ``/`` allowed). ``fn`` must be a module-level function,
    so that worker processes can import it. If ``fn`` takes a
    ``bar_position`` argument, it is given the terminal line of the run's
    own progress bar.
    """
    tag: str
    fn: Callable[..., dict] = field(compare=False)
    args: tuple = field(default=(), compare=False)
    kwargs: dict = field(default_factory=dict, compare=False)


def _cache_file(cache_dir: str, tag: str) -> str:
    return osp.join(cache_dir, tag + '.json')


def run_jobs(jobs: Sequence[Job], cache_dir: Optional[str] = None,
             workers: int = 1, desc: str = 'runs',
             on_done: Optional[Callable[[Job, dict], None]] = None
             ) -> Dict[str, dict]:
    """Runs every job whose result is not cached and reads back the others.

    Args:
        jobs: the runs; tags must be unique.
        cache_dir: where results are saved and read back (``None``: run
            everything, save nothing).
        workers: jobs run at once, each in its own spawned process (a
            job's numbers must not depend on this: fix its thread count).
        desc: the sweep bar's label.
        on_done: called with each newly finished job and its result.

    Returns:
        ``{tag: result}`` for every job.

    Raises:
        ValueError: on duplicate tags.
    """
    tags = [job.tag for job in jobs]
    if len(set(tags)) != len(tags):
        raise ValueError(f'run_jobs: duplicate job tags in {tags}')
    results: Dict[str, dict] = {}
    todo = []
    for job in jobs:
        path = _cache_file(cache_dir, job.tag) if cache_dir else ''
        if path and osp.isfile(path):
            with open(path) as f:
                results[job.tag] = json.load(f)
        else:
            todo.append(job)
    parallel = workers > 1 and len(todo) > 1
    bar = tqdm(total=len(jobs), initial=len(jobs) - len(todo), desc=desc,
               unit='run', position=workers if parallel else None,
               leave=True)

    def finish(job: Job, result: dict) -> None:
        if cache_dir:
            path = _cache_file(cache_dir, job.tag)
            os.makedirs(osp.dirname(path), exist_ok=True)
            with open(path + '.part', 'w') as f:
                json.dump(result, f)
            os.replace(path + '.part', path)  # a killed run leaves no half
        results[job.tag] = result
        bar.set_postfix_str(job.tag)
        bar.update(1)
        if on_done is not None:
            on_done(job, result)

    def call_args(job: Job, position: int) -> dict:
        kwargs = dict(job.kwargs)
        try:
            params = inspect.signature(job.fn).parameters
        except ValueError:  # builtins without a signature
            params = {}
        if 'bar_position' in params:
            kwargs.setdefault('bar_position', position)
        return kwargs

    if parallel:
        context = multiprocessing.get_context('spawn')
        with ProcessPoolExecutor(min(workers, len(todo)),
                                 mp_context=context) as pool:
            futures = {
                pool.submit(job.fn, *job.args,
                            **call_args(job, i % workers)): job
                for i, job in enumerate(todo)
            }
            for future in as_completed(futures):
                finish(futures[future], future.result())
    else:
        for job in todo:
            finish(job, job.fn(*job.args, **call_args(job, None)))
    bar.close()
    return results
