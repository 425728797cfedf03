"""Mutation score of the modules whose bugs would corrupt results, one
module at a time (``make mutation``; docs/mutation.md).

    python tools/mutation.py [--max-children 2] [--resume] [MODULE ...]

For each module of setup.cfg's ``[mutation]`` section (``module = tests``),
mutmut runs in a scratch copy of the working tree
(``work_dirs/mutation/<module>``) whose ``[mutmut]`` section mutates only
that module and runs only its tests: a surviving mutant then runs the tests
of its own module, not every test of every module. Each module's results
are copied to ``mutants/<module>.meta``, where
``tools/mutation_report.py`` reads them, and the table is printed at the
end. ``--resume`` skips modules whose results there are complete.
"""
import argparse
import configparser
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from mutation_report import modules

ROOT = Path(__file__).resolve().parents[1]


def complete(meta: Path) -> bool:
    """Whether mutmut checked every mutant recorded in ``meta``."""
    if not meta.is_file():
        return False
    codes = json.loads(meta.read_text())['exit_code_by_key']
    return bool(codes) and None not in codes.values()


def scratch_copy(dest: Path) -> None:
    """The working tree's files (tracked, and untracked but not ignored)
    copied to ``dest``."""
    if dest.exists():
        shutil.rmtree(dest)
    files = subprocess.run(
        ['git', 'ls-files', '-co', '--exclude-standard', '-z'], cwd=ROOT,
        check=True, capture_output=True).stdout.decode().split('\0')
    for name in filter(None, files):
        src = ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)


def run_module(module: str, tests: list, max_children: int) -> Path:
    """mutmut on ``module`` with ``tests`` in a scratch copy; returns the
    results file it wrote."""
    scratch = ROOT / 'work_dirs' / 'mutation' / module.replace('/', '_')
    scratch_copy(scratch)
    cfg = configparser.ConfigParser()
    cfg.read(scratch / 'setup.cfg')
    cfg.set('mutmut', 'only_mutate', module)
    cfg.set('mutmut', 'pytest_add_cli_args_test_selection',
            '\n'.join(tests))
    with open(scratch / 'setup.cfg', 'w') as f:
        cfg.write(f)
    print(f'== {module}: mutmut with {" ".join(tests)}', flush=True)
    # mutmut forks every mutant's test process from one that has run
    # torch: a forked child blocks forever on a lock held by a thread of
    # the parent (OpenMP's pool; Inductor's pool of compile workers, which
    # the fused loss kernel starts) and is then reported as a timeout, that
    # is, as killed. One thread each keeps the locks in the child's hands.
    env = dict(os.environ, OMP_NUM_THREADS='1',
               TORCHINDUCTOR_COMPILE_THREADS='1')
    subprocess.run([sys.executable, '-m', 'mutmut', 'run', '--max-children',
                    str(max_children)], cwd=scratch, env=env, check=True)
    return scratch / 'mutants' / f'{module}.meta'


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('modules', nargs='*',
                        help='modules to run (default: all of [mutation])')
    parser.add_argument('--max-children', type=int, default=2)
    parser.add_argument('--resume', action='store_true',
                        help='skip modules whose results are complete')
    args = parser.parse_args()
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / 'setup.cfg')
    plan = modules(cfg)
    unknown = sorted(set(args.modules) - set(plan))
    if unknown:
        parser.error(f'not in setup.cfg [mutation]: {unknown}; known: '
                     f'{sorted(plan)}')
    for module in args.modules or plan:
        meta = ROOT / 'mutants' / f'{module}.meta'
        if args.resume and complete(meta):
            print(f'== {module}: complete, skipped (--resume)')
            continue
        result = run_module(module, plan[module], args.max_children)
        meta.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(result, meta)
    subprocess.run([sys.executable, str(ROOT / 'tools' / 'mutation_report.py'),
                    '--root', str(ROOT)], check=True)


if __name__ == '__main__':
    main()
