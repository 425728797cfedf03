"""What differs between the numpy and torch releases the README supports.

Each name here is the newer API where it exists and its older equivalent
otherwise, so that the code calling it reads the same on every stack.
"""
from typing import Any, Optional

import numpy as np
import torch

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
