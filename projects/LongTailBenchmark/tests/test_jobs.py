"""The shared job runner: results saved and read back (an interrupted
sweep resumes), parallel runs in spawned processes give the same results,
each new result records its environment, duplicate tags are refused."""
import json
import os

import pytest

from longtail_benchmark.environment import numeric_environment
from longtail_benchmark.jobs import Job, run_jobs

ENV = numeric_environment()


def test_runs_in_spawned_processes_and_resumes(tmp_path):
    cache = tmp_path / 'runs'
    jobs = [Job(f'bench/run{i}', dict, kwargs=dict(i=i, square=i * i))
            for i in range(3)]
    done = run_jobs(jobs, str(cache), workers=2)
    assert done == {f'bench/run{i}': dict(i=i, square=i * i, environment=ENV)
                    for i in range(3)}
    assert sorted(p.name for p in (cache / 'bench').iterdir()) == [
        'run0.json', 'run1.json', 'run2.json']  # no '.part' left behind

    # interrupted: run2 lost, run0's file edited; only run2 runs again
    (cache / 'bench/run2.json').unlink()
    (cache / 'bench/run0.json').write_text(json.dumps(dict(edited=True)))
    seen = []
    again = run_jobs(jobs, str(cache), workers=1,
                     on_done=lambda job, res: seen.append(job.tag))
    assert seen == ['bench/run2']
    # read back as saved: a cached result is not stamped with this machine
    assert again['bench/run0'] == dict(edited=True)
    assert again['bench/run2'] == dict(i=2, square=4, environment=ENV)
    # a job that records its own environment keeps it
    own = run_jobs([Job('own', dict, kwargs=dict(environment='elsewhere'))])
    assert own['own'] == dict(environment='elsewhere')


def test_without_cache_everything_runs(tmp_path):
    seen = []
    run_jobs([Job('a', dict, kwargs=dict(x=1))], None,
             on_done=lambda job, res: seen.append(res))
    run_jobs([Job('a', dict, kwargs=dict(x=1))], None,
             on_done=lambda job, res: seen.append(res))
    assert seen == [dict(x=1, environment=ENV)] * 2
    assert list(tmp_path.iterdir()) == []


def test_duplicate_tags_and_no_workers_are_refused():
    with pytest.raises(ValueError, match=r"duplicate job tags.*'a', 'a'"):
        run_jobs([Job('a', dict), Job('a', dict)])
    with pytest.raises(ValueError, match='workers must be at least 1, got 0'):
        run_jobs([Job('a', dict)], workers=0)


def _env_and_pid(name: str) -> dict:
    return dict(value=os.environ.get(name), pid=os.getpid())


def test_env_reaches_a_fresh_process_and_is_restored_here(monkeypatch):
    """Variables read once per process (ATEN_CPU_CAPABILITY) only act in a
    process that starts with them: with ``env`` even one job on one worker
    runs in a spawned process, and this process's environment is left as
    it was."""
    name = 'MMDET_EFL_TEST_VAR'
    monkeypatch.delenv(name, raising=False)
    jobs = [Job(f'j{i}', _env_and_pid, (name, )) for i in range(2)]
    done = run_jobs(jobs, workers=1, env={name: 'pinned'})
    for result in done.values():
        assert result['value'] == 'pinned'
        assert result['pid'] != os.getpid()
    assert name not in os.environ
    monkeypatch.setenv(name, 'mine')
    run_jobs(jobs, workers=1, env={name: 'pinned'})
    assert os.environ[name] == 'mine'
    # without env, one worker runs the jobs here
    here = run_jobs(jobs[:1], workers=1)['j0']
    assert here['pid'] == os.getpid() and here['value'] == 'mine'


def _fail(message: str) -> dict:
    raise ValueError(message)


@pytest.mark.parametrize('env', [None, {'MMDET_EFL_TEST_VAR': '1'}])
def test_a_failed_job_is_named_and_the_finished_ones_are_kept(tmp_path, env):
    """No new job starts after a failure, the error names the job, and the
    jobs that finished are saved, so that a second call resumes."""
    jobs = [Job('ok', dict, kwargs=dict(x=1)), Job('bad', _fail, ('boom', )),
            Job('later', dict, kwargs=dict(x=3))]
    with pytest.raises(RuntimeError, match=r"job bad failed \(ValueError"
                       r"\('boom'\)\).*saved in") as info:
        run_jobs(jobs, str(tmp_path), workers=1, env=env)
    assert isinstance(info.value.__cause__, ValueError)
    assert (tmp_path / 'ok.json').is_file()
    if env is None:  # in this process: nothing after the failure runs
        assert not (tmp_path / 'later.json').exists()
