"""The shared job runner: results saved and read back (an interrupted
sweep resumes), parallel runs in spawned processes give the same results,
duplicate tags are refused."""
import json

import pytest

from mmdet_efl.utils import Job, run_jobs


def test_runs_in_spawned_processes_and_resumes(tmp_path):
    cache = tmp_path / 'runs'
    jobs = [Job(f'bench/run{i}', dict, kwargs=dict(i=i, square=i * i))
            for i in range(3)]
    done = run_jobs(jobs, str(cache), workers=2)
    assert done == {f'bench/run{i}': dict(i=i, square=i * i)
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
    assert again['bench/run0'] == dict(edited=True)
    assert again['bench/run2'] == dict(i=2, square=4)


def test_without_cache_everything_runs(tmp_path):
    seen = []
    run_jobs([Job('a', dict, kwargs=dict(x=1))], None,
             on_done=lambda job, res: seen.append(res))
    run_jobs([Job('a', dict, kwargs=dict(x=1))], None,
             on_done=lambda job, res: seen.append(res))
    assert seen == [dict(x=1), dict(x=1)]
    assert list(tmp_path.iterdir()) == []


def test_duplicate_tags_are_refused():
    with pytest.raises(ValueError, match=r"duplicate job tags.*'a', 'a'"):
        run_jobs([Job('a', dict), Job('a', dict)])
