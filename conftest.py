"""Fixtures shared by the plugin's tests and the long-tail project's: a
tiny generated dataset and the repository paths."""
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent


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
