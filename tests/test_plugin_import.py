"""``import mmdet_efl`` (what ``custom_imports`` runs) registers the
package's modules in mmdet's registries and changes nothing else in the
process: no matplotlib (nor its backend), no analysis or benchmark code,
MMEngine's checkpoint loaders, mmengine's config package table and the
lvis-api as they were. Each check runs in a fresh interpreter, where
nothing else has made those changes."""
import json
import os
import subprocess
import sys

from tests.helpers import REPO

#: Runs in a fresh interpreter: imports what the plugin builds on (mmdet's
#: registries and the modules it subclasses), takes stock of the process,
#: imports ``mmdet_efl`` and takes stock again; prints both as JSON.
IMPORT_PROBE = r'''
import json
import sys
import types

import matplotlib
# a backend of the user's own choosing, set before the plugin comes in
matplotlib.use('svg')
import lvis.eval
import lvis.lvis
import lvis.results
import mmdet.datasets
import mmdet.engine
import mmdet.evaluation
import mmdet.models
import mmdet.registry
from mmengine.config.utils import MODULE2PACKAGE
from mmengine.runner import CheckpointLoader

LVIS_MODULES = (lvis.eval, lvis.lvis, lvis.results)


def stock():
    return dict(
        modules=set(sys.modules),
        backend=matplotlib.get_backend(),
        schemes=dict(CheckpointLoader._schemes),
        lvis={(m.__name__, k): v for m in LVIS_MODULES
              for k, v in vars(m).items()},
        packages=dict(MODULE2PACKAGE))


before = stock()
import mmdet_efl  # noqa: E402
after = stock()


def names_matplotlib(value):
    name = (value.__name__ if isinstance(value, types.ModuleType) else
            getattr(value, '__module__', None))
    return isinstance(name, str) and name.split('.')[0] == 'matplotlib'


registries = {name: sorted(getattr(mmdet.registry, name).module_dict)
              for name in ('MODELS', 'HOOKS', 'METRICS', 'DATASETS',
                           'TASK_UTILS', 'OPTIM_WRAPPERS')}
print(json.dumps(dict(
    file=mmdet_efl.__file__,
    added_modules=sorted(after['modules'] - before['modules']),
    backend=[before['backend'], after['backend']],
    schemes_changed=sorted(
        p for p in set(before['schemes']) | set(after['schemes'])
        if before['schemes'].get(p) is not after['schemes'].get(p)),
    lvis_changed=sorted(
        f'{m}.{k}' for (m, k) in set(before['lvis']) | set(after['lvis'])
        if before['lvis'].get((m, k)) is not after['lvis'].get((m, k))),
    packages_added=sorted(set(after['packages']) - set(before['packages'])),
    matplotlib_in_package=sorted(
        f'{name}.{k}' for name, module in list(sys.modules.items())
        if name.split('.')[0] == 'mmdet_efl' and module is not None
        for k, v in vars(module).items() if names_matplotlib(v)),
    registries=registries)))
'''


def _probe(code: str, cwd: str = str(REPO)) -> dict:
    """Runs ``code`` in a fresh interpreter that imports this checkout's
    package; returns the JSON it prints last."""
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS='1')
    proc = subprocess.run([sys.executable, '-c', code], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_import_registers_modules_and_changes_nothing_else():
    out = _probe(IMPORT_PROBE)
    assert out['file'] == str(REPO / 'mmdet_efl/__init__.py')

    # registered in mmdet's registries, what custom_imports is for
    registries = out['registries']
    for name, modules in dict(
            MODELS=['EqualizedFocalLoss', 'EqualizedQualityFocalLoss',
                    'EQLv2FocalLoss', 'FocalLossStar', 'ATSSIoUHead',
                    'OHEMRetinaHead'],
            HOOKS=['GradientCollectorHook', 'CategoryCheckHook',
                   'ProgressBarHook', 'SafeCheckpointHook'],
            METRICS=['LVISBoxMetric', 'OpenImagesGroupMetric'],
            DATASETS=['StrictLVISV1Dataset', 'StrictCocoDataset'],
            TASK_UTILS=['DenseOHEM'],
            OPTIM_WRAPPERS=['CPUAmpOptimWrapper']).items():
        assert set(modules) <= set(registries[name]), name

    # nothing else: no plotting, no analysis or benchmark code ...
    added = out['added_modules']
    assert [m for m in added if m.split('.')[0] == 'matplotlib'] == []
    assert [m for m in added if m.startswith((
        'mmdet_efl.analysis', 'mmdet_efl.testing', 'longtail_benchmark'))
    ] == []
    assert out['matplotlib_in_package'] == []
    assert out['backend'] == ['svg', 'svg']
    # ... and MMEngine, mmengine's config table and lvis as they were
    assert out['schemes_changed'] == []
    assert out['packages_added'] == []
    assert out['lvis_changed'] == []


#: Imports every module of the package after choosing a backend, then
#: draws a figure the way the analysis tools do.
ANALYSIS_PROBE = r'''
import importlib
import json
import pkgutil
import sys
import types

import matplotlib
matplotlib.use('svg')
import matplotlib.pyplot as plt

import mmdet_efl

imported = []
for info in pkgutil.walk_packages(mmdet_efl.__path__, 'mmdet_efl.'):
    importlib.import_module(info.name)
    imported.append(info.name)
backend_after_import = matplotlib.get_backend()


def names_matplotlib(value):
    name = (value.__name__ if isinstance(value, types.ModuleType) else
            getattr(value, '__module__', None))
    return isinstance(name, str) and name.split('.')[0] == 'matplotlib'


holding = sorted(
    f'{name}.{k}' for name in imported
    for k, v in vars(sys.modules[name]).items() if names_matplotlib(v))

from mmdet_efl.analysis import plot_sample_ratio
from PIL import Image
plot_sample_ratio(dict(log10_ratio=[-1.0, -2.0, -3.0]), [50, 20, 3],
                  sys.argv[1])
with Image.open(sys.argv[1]) as image:
    size = list(image.size)
print(json.dumps(dict(
    imported=imported, holding=holding,
    backend=[backend_after_import, matplotlib.get_backend()],
    pyplot_figures=plt.get_fignums(), size=size)))
'''


def test_analysis_draws_without_pyplot_or_a_backend_switch(tmp_path):
    """The analysis and figure helpers import matplotlib only when they
    draw, never switch the backend the process chose (a notebook's, an
    interactive session's), and pyplot holds none of their figures."""
    out = _probe(ANALYSIS_PROBE.replace(
        'sys.argv[1]', repr(str(tmp_path / 'ratio.png'))))
    assert 'mmdet_efl.analysis.commands' in out['imported']
    assert 'mmdet_efl.utils.figures' in out['imported']
    assert out['holding'] == []
    assert out['backend'] == ['svg', 'svg']
    assert out['pyplot_figures'] == []
    assert out['size'] == [960, 432]  # 8 x 3.6 inches at 120 dpi
