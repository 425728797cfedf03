"""Resumable, parallel runs of independent training jobs.

The one mechanism behind the benchmark (``make demo``), the ablation
command and the simulator's sweeps: each finished job is saved as
``<cache_dir>/<tag>.json`` and read back on the next call instead of being
run again, so an interrupted sweep resumes where it stopped; jobs run
``workers`` at once in spawned processes, with a tqdm bar for the sweep.
Each new result records the machine and software it was computed on
(:func:`~longtail_benchmark.environment.numeric_environment`), so that a
sweep resumed on another machine shows it; ``env`` runs the jobs in
processes with given environment variables, such as the pinned CPU kernels
that make the benchmark's numbers the same on every x86-64 machine
(:func:`~longtail_benchmark.environment.reproducible_cpu_env`).
"""
import inspect
import json
import multiprocessing
import os
import os.path as osp
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterator, Optional, Sequence

from tqdm import tqdm

from .environment import numeric_environment


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


def _call(fn: Callable[..., dict], args: tuple, kwargs: dict) -> dict:
    # in the process that computed the result: its kernels are the ones
    # that count
    result = fn(*args, **kwargs)
    result.setdefault('environment', numeric_environment())
    return result


@contextmanager
def _environ(env: Dict[str, str]) -> Iterator[None]:
    # spawned processes copy os.environ when they start
    saved = {k: os.environ.get(k) for k in env}
    try:
        os.environ.update(env)
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def run_jobs(jobs: Sequence[Job], cache_dir: Optional[str] = None,
             workers: int = 1, desc: str = 'runs',
             on_done: Optional[Callable[[Job, dict], None]] = None,
             env: Optional[Dict[str, str]] = None) -> Dict[str, dict]:
    """Runs every job whose result is not cached and reads back the others.

    Args:
        jobs: the runs; tags must be unique.
        cache_dir: where results are saved and read back (``None``: run
            everything, save nothing).
        workers: jobs run at once, each in its own spawned process (a
            job's numbers must not depend on this: fix its thread count).
        desc: the sweep bar's label.
        on_done: called with each newly finished job and its result.
        env: environment variables of the jobs' processes. Libraries read
            some of them once, when a process first uses them (PyTorch's
            ``ATEN_CPU_CAPABILITY``, oneDNN's ``ONEDNN_MAX_CPU_ISA``), so
            with ``env`` the jobs run in spawned worker processes started
            with it, also with ``workers=1``. A spawned process imports
            the calling script again: call from under
            ``if __name__ == '__main__':``.

    Returns:
        ``{tag: result}`` for every job; a newly run result gets an
        ``environment`` entry (see
        :func:`~longtail_benchmark.environment.numeric_environment`) unless
        it has one.

    Raises:
        ValueError: on duplicate tags, or ``workers`` below 1.
        RuntimeError: a job raised (chained to its error, naming its tag).
            No new job starts after a failure; the jobs that finish are
            saved, so that a second call resumes.
    """
    if workers < 1:
        raise ValueError(f'run_jobs: workers must be at least 1, got '
                         f'{workers}')
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
    parallel = bool(todo) and (bool(env) or workers > 1 and len(todo) > 1)
    bar = tqdm(total=len(jobs), initial=len(jobs) - len(todo), desc=desc,
               unit='run', position=workers if parallel else None,
               leave=True)

    failed: list = []

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
        workers = min(workers, len(todo))
        with _environ(env or {}), ProcessPoolExecutor(
                workers, mp_context=context) as pool:
            futures = {
                pool.submit(_call, job.fn, job.args,
                            call_args(job, i % workers)): job
                for i, job in enumerate(todo)
            }
            for future in as_completed(futures):
                if future.cancelled():
                    continue
                job, error = futures[future], future.exception()
                if error is None:
                    finish(job, future.result())
                    continue
                # keep what runs already, start nothing new
                failed.append((job.tag, error))
                for other in futures:
                    other.cancel()
    else:
        for job in todo:
            try:
                result = _call(job.fn, job.args, call_args(job, None))
            except Exception as exc:
                failed.append((job.tag, exc))
                break
            finish(job, result)
    bar.close()
    if failed:
        tags = [tag for tag, _ in failed]
        raise RuntimeError(
            f'run_jobs: job {tags[0]} failed ({failed[0][1]!r}); '
            f'failed: {tags}. Finished jobs are ' +
            ('saved in ' + cache_dir + ': run again to resume'
             if cache_dir else 'lost (no cache_dir)')) from failed[0][1]
    return results
