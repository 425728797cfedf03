"""Per-module mutation score of the last ``mutmut run`` (``make mutation``).

Reads mutmut's result files (``mutants/<module>.meta``) for every module of
setup.cfg's ``[mutation]`` section and prints a Markdown table
(docs/mutation.md), then the surviving mutants (``mutmut show NAME`` in the
module's ``work_dirs/mutation/`` copy prints one's diff).

Score = (killed + timeout) / checked mutants: a mutant that no test covers
counts as surviving; mutants not yet checked (an interrupted run) are
counted apart.
"""
import argparse
import configparser
import json
from collections import Counter
from pathlib import Path

KILLED = ('killed', 'timeout')


def modules(cfg: configparser.ConfigParser) -> dict:
    """``{module: [tests]}`` from setup.cfg's ``[mutation]`` section (keys
    ending in ``.py``; the others are test lists they interpolate)."""
    return {module: tests.split()
            for module, tests in cfg.items('mutation')
            if module.endswith('.py')}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--root', default='.', help='repository root')
    args = parser.parse_args()
    try:
        from mutmut.stats import status_by_exit_code
    except ImportError:
        raise SystemExit('mutation_report.py needs mutmut, which `make '
                         'mutation` installs (requirements/mutation.txt)')
    root = Path(args.root)
    cfg = configparser.ConfigParser()
    cfg.read(root / 'setup.cfg')
    print('| module | mutants | not checked | killed | timeout | survived | '
          'no tests | score |')
    print('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
    survivors = []
    for module in modules(cfg):
        meta = root / 'mutants' / f'{module}.meta'
        if not meta.exists():
            print(f'| `{module}` | not run | | | | | | |')
            continue
        codes = json.loads(meta.read_text())['exit_code_by_key']
        status = {name: status_by_exit_code[code]
                  for name, code in codes.items()}
        counts = Counter(status.values())
        checked = len(status) - counts['not checked']
        score = sum(counts[s] for s in KILLED) / checked if checked else 0
        print(f'| `{module}` | {len(status)} | {counts["not checked"]} | '
              f'{counts["killed"]} | {counts["timeout"]} | '
              f'{counts["survived"]} | {counts["no tests"]} | '
              f'{100 * score:.1f}% |')
        survivors += [f'{name}: {s}' for name, s in sorted(status.items())
                      if s not in KILLED + ('not checked', )]
    if survivors:
        print('\nnot killed:')
        print('\n'.join(survivors))


if __name__ == '__main__':
    main()
