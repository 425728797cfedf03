"""The version shims pick the API the installed numpy / torch has."""
import numpy as np
import pytest
import torch
from mmengine.utils import digit_version

from mmdet_efl.engine import checkpoint
from mmdet_efl.utils import compat

TORCH = digit_version(torch.__version__)


def test_trapezoid_integrates_by_the_trapezoidal_rule():
    # (1 + 3) / 2 * 1 + (3 + 2) / 2 * 3 = 2 + 7.5, on uneven steps
    assert compat.trapezoid([1.0, 3.0, 2.0], [0.0, 1.0, 4.0]) == 9.5
    assert compat.trapezoid(np.ones(5)) == 4.0


def test_cpu_grad_scaler_exists_from_torch_2_3():
    assert compat.CPU_GRAD_SCALER == (TORCH >= digit_version('2.3.0'))
    scaler = compat.cpu_grad_scaler(init_scale=8.0)
    if compat.CPU_GRAD_SCALER:
        assert scaler.get_scale() == 8.0
        assert scaler.scale(torch.ones(1)).item() == 8.0
    else:
        assert scaler is None


def test_weights_only_allow_list_is_extensible_from_torch_2_5():
    assert checkpoint.TORCH_HAS_SAFE_GLOBALS == (
        TORCH >= digit_version('2.5.0'))


def test_torch_older_than_the_matrix_is_refused_by_name():
    compat.check_torch_version('2.1.0')
    compat.check_torch_version('2.13.0+cpu')
    with pytest.raises(ImportError) as err:
        compat.check_torch_version('2.0.1+cu118')
    assert str(err.value) == (
        'mmdet-efl needs torch >= 2.1.0 (the oldest of its tested stacks, '
        'README "Supported stacks"); found torch 2.0.1+cu118')
