"""The package as users install it: built and installed, not in editable
mode, into a folder of its own, then used from outside the repository. Its
configs are found as ``mmdet_efl::<path>`` bases and by ``mim train/test
mmdet_efl``, which run the installed entry points."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO

#: what the package is built from (what an sdist of it holds)
SOURCES = ('setup.py', 'README.md', 'MANIFEST.in', 'mmdet_efl', 'configs',
           'tools')
#: a provided config, and the LVIS one the probe takes as a base
CONFIG = 'retinanet/retinanet_r50_fpn_fl-2x_lvis-v1.py'

#: Runs from a folder outside the repository, with only the installed
#: package on PYTHONPATH; prints one JSON line.
PROBE = r'''
import json
import os
import subprocess
import sys

import mmdet_efl
from mmengine.config import Config
from mmengine.registry import METRICS, init_default_scope

out = dict(file=mmdet_efl.__file__)
# a user's config on top of one of ours, read after registering the scope
mmdet_efl.register_config_scope()
cfg = Config.fromfile('mine.py')
out['loss'] = cfg.model.bbox_head.loss_cls.type
out['metric_scope'] = cfg.val_evaluator.get('_scope_')
# what came in under the mmdet_efl scope builds (mmdet_efl.registry)
init_default_scope('mmdet')
metric = METRICS.build(dict(cfg.val_evaluator, ann_file='ann.json'))
out['metric'] = type(metric).__name__

# mim finds the installed entry points and configs; record the command
# it would run instead of training (its `train.py -h` check does run)
from mim.commands.test import test as mim_test
from mim.commands.train import train as mim_train

commands = []
subprocess.check_call = lambda cmd, **kwargs: commands.append(cmd) or 0
name = os.path.basename(sys.argv[1])
out['mim_train'] = mim_train('mmdet_efl', name, gpus=0)
out['mim_test'] = mim_test('mmdet_efl', name, checkpoint='latest.pth',
                           gpus=0)
out['commands'] = commands
print(json.dumps(out))
'''

#: a one-category LVIS annotation file, enough to build the metric
ANN = dict(images=[dict(id=1, file_name='a.jpg', height=8, width=8,
                        neg_category_ids=[], not_exhaustive_category_ids=[])],
           annotations=[dict(id=1, image_id=1, category_id=1,
                             bbox=[1, 1, 4, 4], area=16)],
           categories=[dict(id=1, name='a', frequency='r',
                            image_count=1, instance_count=1)])


def _run(cmd, **kwargs):
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                          **kwargs)
    assert proc.returncode == 0, (
        f'{cmd} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}')
    return proc.stdout


@pytest.fixture(scope='module')
def installed(tmp_path_factory) -> Path:
    """``pip install --target`` of a copy of the checkout (building in the
    checkout would leave build/ and egg-info there)."""
    tmp = tmp_path_factory.mktemp('install')
    src = tmp / 'src'
    src.mkdir()
    skip = shutil.ignore_patterns('__pycache__', '*.pyc', '.mim')
    for name in SOURCES:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=skip)
        else:
            shutil.copy2(path, src / name)
    site = tmp / 'site'
    _run([sys.executable, '-m', 'pip', 'install', '-q', '--no-deps',
          '--no-build-isolation', '--no-index',
          '--disable-pip-version-check', '--target', str(site), str(src)],
         env=dict(os.environ, PIP_NO_INPUT='1'))
    return site


def _configs(root: Path) -> set:
    return {str(p.relative_to(root)) for p in root.rglob('*.py')
            if '__pycache__' not in p.parts}


def test_configs_and_tools_are_installed(installed):
    mim = installed / 'mmdet_efl/.mim'
    shipped = _configs(REPO / 'configs')
    assert CONFIG in shipped
    assert _configs(mim / 'configs') == shipped
    for tool in ('train.py', 'test.py', 'dist_train.sh', 'dist_test.sh',
                 'dist_checks.sh', 'slurm_train.sh', 'slurm_test.sh'):
        assert (mim / 'tools' / tool).read_bytes() == \
            (REPO / 'tools' / tool).read_bytes(), tool


def test_installed_configs_resolve_as_bases_and_with_mim(installed,
                                                         tmp_path):
    work = tmp_path / 'elsewhere'
    work.mkdir()
    (work / 'mine.py').write_text(
        f"_base_ = 'mmdet_efl::{CONFIG}'\n"
        "model = dict(bbox_head=dict(loss_cls=dict(\n"
        "    _delete_=True, type='EqualizedFocalLoss', num_classes=1203,\n"
        "    use_sigmoid=True, gamma=2.0, scale_factor=8.0, alpha=0.25)))\n")
    (work / 'ann.json').write_text(json.dumps(ANN))
    env = dict(os.environ, PYTHONPATH=str(installed), OMP_NUM_THREADS='1')
    out = json.loads(_run([sys.executable, '-c', PROBE, CONFIG], cwd=work,
                          env=env).strip().splitlines()[-1])
    package = installed / 'mmdet_efl'
    assert out['file'] == str(package / '__init__.py')
    assert out['loss'] == 'EqualizedFocalLoss'
    assert out['metric_scope'] == 'mmdet_efl'
    assert out['metric'] == 'LVISBoxMetric'
    assert out['mim_train'][0] and out['mim_test'][0]
    config = os.path.realpath(package / '.mim/configs' / CONFIG)
    train, test = out['commands']
    assert train[:3] == [sys.executable,
                         str(package / '.mim/tools/train.py'), config]
    assert test[:4] == [sys.executable, str(package / '.mim/tools/test.py'),
                        config, 'latest.pth']


#: Runs the long-tail project's demo tool from a folder outside the
#: repository, with only the installed plugin on PYTHONPATH; prints where
#: each package came from, then the tool's own output.
DEMO = r'''
import runpy
import sys

tool, *argv = sys.argv[1:]
sys.argv = [tool, *argv]
runpy.run_path(tool, run_name='__main__')
import longtail_benchmark
import mmdet_efl
print('PACKAGES', mmdet_efl.__file__, longtail_benchmark.__file__)
'''


def test_benchmark_runs_on_the_installed_plugin(installed, tiny_lvis,
                                                tmp_path):
    """The research project beside the plugin (not installed with it)
    trains, tests and reports with the installed plugin: one epoch of FL
    and EFL on the tiny dataset, as ``make demo`` runs them."""
    work = tmp_path / 'elsewhere'
    work.mkdir()
    tool = REPO / 'projects/LongTailBenchmark/tools/longtail_demo.py'
    env = dict(os.environ, PYTHONPATH=str(installed), OMP_NUM_THREADS='1')
    out = _run([sys.executable, '-c', DEMO, str(tool), '--data-root',
                str(tiny_lvis), '--work-dir', str(work / 'demo'),
                '--epochs', '1', '--workers', '1'], cwd=work, env=env)
    plugin, project = out.strip().splitlines()[-1].split()[1:]
    assert plugin == str(installed / 'mmdet_efl/__init__.py')
    assert project == str(
        REPO / 'projects/LongTailBenchmark/longtail_benchmark/__init__.py')
    assert 'regime checks (G_j from FL)' in out
    saved = json.loads((work / 'demo/results.json').read_text())
    assert set(saved['runs']) == {'FL', 'EFL'}
    for runs in saved['runs'].values():
        assert set(runs[0]['metrics']) == {'AP', 'APr', 'APc', 'APf'}
