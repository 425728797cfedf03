"""Every command-line entry point (tools/, tools/analysis/, bench/) still
imports what it names and builds its argument parser.

Entry points are thin and no other test runs them all, so a rename in the
package (renaming the demo's table of configs once broke
``bench/train_step_speed.py`` unnoticed) would otherwise only show when a
user runs the command.
"""
import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO

FOLDERS = ('tools', 'tools/analysis', 'bench',
           'projects/LongTailBenchmark/tools')
SCRIPTS = sorted(str(p.relative_to(REPO)) for folder in FOLDERS
                 for p in (Path(REPO) / folder).glob('*.py'))


def test_every_folder_has_entry_points():
    for folder in ('tools/', 'tools/analysis/', 'bench/',
                   'projects/LongTailBenchmark/tools/'):
        assert any(s.startswith(folder) for s in SCRIPTS), folder


@pytest.mark.parametrize(
    'script', [s for s in SCRIPTS if s.startswith('projects/')])
def test_project_tools_find_their_package(script, tmp_path):
    """The long-tail project's tools run as ``python SCRIPT`` from any
    folder: its package is not installed, and in-process (test_help) the
    test session's own path would hide a tool that cannot find it."""
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    proc = subprocess.run([sys.executable, str(Path(REPO) / script), '--help'],
                          cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert 'usage:' in proc.stdout


@pytest.mark.parametrize('script', SCRIPTS)
def test_help(script, monkeypatch, capsys):
    path = Path(REPO) / script
    # as ``python <script>`` does: the script's folder first on sys.path
    monkeypatch.syspath_prepend(str(path.parent))
    monkeypatch.setattr(sys, 'argv', [str(path), '--help'])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(str(path), run_name='__main__')
    assert exit_info.value.code in (0, None)
    assert 'usage:' in capsys.readouterr().out


def _run_demo(monkeypatch, *argv) -> dict:
    """The project's tools/longtail_demo.py with ``argv``; returns what it
    asked run_longtail_benchmark to train (nothing trains)."""
    import longtail_benchmark
    calls = []
    monkeypatch.setattr(longtail_benchmark, 'run_longtail_benchmark',
                        lambda *args, **kwargs: calls.append((args, kwargs)))
    path = Path(REPO) / 'projects/LongTailBenchmark/tools/longtail_demo.py'
    monkeypatch.setattr(sys, 'argv', [str(path), *argv])
    runpy.run_path(str(path), run_name='__main__')
    (args, kwargs), = calls
    return dict(runs=args[5], configs=args[6], **kwargs)


def test_demo_trains_fl_and_efl_of_the_chosen_schedule(monkeypatch):
    from longtail_benchmark.benchmark import BENCHMARK_CONFIGS, DEMO_CONFIGS
    demo = _run_demo(monkeypatch)
    assert demo['configs'] is DEMO_CONFIGS and demo['runs'] == ['FL', 'EFL']
    assert all('-demo-4e_' in c for c in DEMO_CONFIGS.values())
    bench = _run_demo(monkeypatch, '--schedule', 'benchmark')
    assert bench['configs'] is BENCHMARK_CONFIGS
    assert bench['runs'] == ['FL', 'EFL']
    more = _run_demo(monkeypatch, '--schedule', 'benchmark', '--runs', 'FL',
                     'FL cls decay 0.013')
    assert more['runs'] == ['FL', 'FL cls decay 0.013']


def test_demo_rejects_a_run_outside_its_schedule(monkeypatch, capsys):
    """``make demo``'s 4-epoch schedule has FL and EFL only; FL's other
    recipes belong to the 6-epoch benchmark. Rejected before anything
    trains."""
    with pytest.raises(SystemExit) as exit_info:
        _run_demo(monkeypatch, '--runs', 'FL stock decay')
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "['FL stock decay'] not in the demo schedule" in err
    assert "'FL', 'EFL'" in err
