"""``make mutation``'s plan (setup.cfg ``[mutation]``): every module and
every test path it names exists, so that a rename cannot silently drop a
module from the score or leave it without tests."""
import configparser
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'tools'))
from mutation import complete  # noqa: E402
from mutation_report import modules  # noqa: E402


def test_every_module_and_test_path_exists():
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / 'setup.cfg')
    plan = modules(cfg)
    assert len(plan) == 17
    for module, tests in plan.items():
        assert (ROOT / module).is_file(), module
        assert tests, module
        for test in tests:
            assert (ROOT / test).exists(), (module, test)


@pytest.mark.parametrize('codes, done', [
    ({'a': 1, 'b': 0}, True),
    ({'a': 1, 'b': None}, False),
    ({}, False),
])
def test_results_are_complete_only_when_every_mutant_was_checked(
        tmp_path, codes, done):
    import json
    meta = tmp_path / 'm.meta'
    meta.write_text(json.dumps({'exit_code_by_key': codes}))
    assert complete(meta) is done
    assert complete(tmp_path / 'missing.meta') is False
