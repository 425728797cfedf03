"""What setup.py and the README promise is what the support matrix tests:
each lower bound is the version the lowest stack pins, and the README's
matrix lists every stack file (requirements/stacks/)."""
import re

from mmengine.utils import digit_version

from mmdet_efl.utils.compat import MIN_TORCH

from tests.helpers import REPO

STACKS = sorted((REPO / 'requirements/stacks').glob('*.txt'))


def _pins(path):
    text = path.read_text()
    pins = dict(re.findall(r'^([A-Za-z_-]+)==(\S+)', text, re.M))
    pins['python'] = re.search(r'^# python: (\S+)', text, re.M).group(1)
    return pins


def _lowest(name):
    return min((_pins(p)[name] for p in STACKS), key=digit_version)


def test_every_stack_pins_python_torch_and_openmmlab():
    assert len(STACKS) >= 3
    for path in STACKS:
        assert {'python', 'torch', 'numpy', 'mmengine', 'mmcv',
                'mmdet'} <= set(_pins(path)), path.name


def test_setup_py_lower_bounds_are_the_lowest_stack():
    setup = (REPO / 'setup.py').read_text()
    for name in ('mmdet', 'mmengine', 'mmcv'):
        bound = re.search(rf"'{name}>=([^,']+)", setup).group(1)
        assert bound == _lowest(name), name
    python = re.search(r"python_requires='>=([^']+)'", setup).group(1)
    assert python == _lowest('python')


def test_import_time_torch_floor_is_the_lowest_stack():
    lowest = digit_version(_lowest('torch'))
    assert digit_version(MIN_TORCH) <= lowest
    assert digit_version(MIN_TORCH)[:2] == lowest[:2]


def test_readme_matrix_lists_every_stack():
    readme = (REPO / 'README.md').read_text()
    section = readme.split('## Supported stacks', 1)[1].split('\n## ', 1)[0]
    rows = re.findall(r'^\| `(py[^`]+)`', section, re.M)
    assert sorted(rows) == sorted(p.stem for p in STACKS)
