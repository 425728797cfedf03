"""Fixtures of the LVIS evaluation tests."""
import pytest

from mmdet_efl.evaluation import patch_lvis_for_numpy2


@pytest.fixture
def lvis_api_on_numpy2():
    """The lvis-api's numpy view, which code that runs mmdet's
    ``LVISMetric`` or ``LVISEval`` itself (the references of these tests)
    installs on numpy >= 1.24; importing the package does not."""
    assert patch_lvis_for_numpy2()
