"""What differs between the numpy and torch releases the README supports.

Each name here is the newer API where it exists and its older equivalent
otherwise, so that the code calling it reads the same on every stack.
"""
from typing import Any, Optional

import numpy as np
import torch
from mmengine.utils import digit_version

#: the oldest torch of the support matrix (README "Supported stacks")
MIN_TORCH = '2.1.0'

#: ``np.trapezoid`` (numpy >= 2.0); numpy 1 names it ``np.trapz``.
trapezoid = getattr(np, 'trapezoid', None) or np.trapz

#: Whether torch's ``GradScaler`` runs on the CPU (``torch.amp.GradScaler``,
#: torch >= 2.3). Older releases have only ``torch.cuda.amp.GradScaler``,
#: which disables itself without CUDA.
CPU_GRAD_SCALER = hasattr(torch, 'amp') and hasattr(torch.amp, 'GradScaler')


def cpu_grad_scaler(**kwargs: Any) -> Optional['torch.amp.GradScaler']:
    """A ``GradScaler`` on the CPU with ``kwargs`` (``init_scale``, ...),
    or None where torch has none (torch < 2.3)."""
    if not CPU_GRAD_SCALER:
        return None
    return torch.amp.GradScaler('cpu', **kwargs)


def check_torch_version(version: str = torch.__version__) -> None:
    """Raises ImportError if torch ``version`` is older than
    :data:`MIN_TORCH`, which the support matrix does not test (setup.py
    leaves torch out of its requirements so that pip never swaps a user's
    build)."""
    if digit_version(version) < digit_version(MIN_TORCH):
        raise ImportError(
            f'mmdet-efl needs torch >= {MIN_TORCH} (the oldest of its tested '
            f'stacks, README "Supported stacks"); found torch {version}')
