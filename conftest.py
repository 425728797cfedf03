"""Fixtures shared by the plugin's tests and the long-tail project's: a
tiny generated dataset, the repository paths, and the process-wide state
each test starts from."""
import os
from pathlib import Path

import lvis.eval
import pytest
from mmengine.config.utils import MODULE2PACKAGE
from mmengine.runner import CheckpointLoader

REPO = Path(__file__).resolve().parent

# What the process-wide changes of the package's entry points
# (mmdet_efl.engine.launch.prepare_process) change, as they were before any
# test ran: importing the package leaves them so.
_SCHEMES = type(CheckpointLoader._schemes)(CheckpointLoader._schemes)
_MODULE2PACKAGE = dict(MODULE2PACKAGE)
_LVIS_NUMPY = lvis.eval.np


def _restore_process() -> None:
    CheckpointLoader._schemes = type(_SCHEMES)(_SCHEMES)
    MODULE2PACKAGE.clear()
    MODULE2PACKAGE.update(_MODULE2PACKAGE)
    lvis.eval.np = _LVIS_NUMPY


@pytest.fixture(autouse=True)
def _process_as_imported():
    """Every test starts, and leaves the next one, with MMEngine's own
    checkpoint loaders, its own config packages and the lvis-api's own
    numpy, as importing the package leaves them. A test that calls
    tools/train.py's ``train`` in-process makes the entry point's changes;
    without this they would last into whichever tests come next, and a
    test that needs one of them must ask for it (``safe_checkpoints``)."""
    _restore_process()
    yield
    _restore_process()


@pytest.fixture
def safe_checkpoints():
    """The safe checkpoint loaders during the test, as ``tools/train.py``
    has them: for tests that load a Runner's checkpoints through MMEngine
    (MMEngine's own loader cannot read them on torch >= 2.6)."""
    from mmdet_efl.engine import safe_checkpoint_loading
    with safe_checkpoint_loading():
        yield


@pytest.fixture(scope='session')
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope='session')
def tiny_lvis(tmp_path_factory) -> Path:
    """A 6-category LVIS-format dataset of 24 + 8 images of 128 px."""
    from longtail_benchmark.synthetic_longtail import (SyntheticSpec,
                                                       generate_dataset)
    root = tmp_path_factory.mktemp('tiny_lvis')
    generate_dataset(
        str(root),
        SyntheticSpec(num_classes=6, num_train=24, num_val=8, max_images=20,
                      min_images=2, seed=1))
    return root


@pytest.fixture(scope='session', autouse=True)
def _quiet_threads():
    # Two cores: keep torch from oversubscribing when tests spawn processes.
    os.environ.setdefault('OMP_NUM_THREADS', '1')
    yield
