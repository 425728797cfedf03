"""Checkpoint loading that works on torch >= 2.6 without arbitrary pickles.

Since torch 2.6, ``torch.load`` defaults to ``weights_only=True``. MMEngine
0.10.7's local loader relies on the old default, and its own checkpoints
carry ``HistoryBuffer`` objects and numpy arrays in the message hub, so
``resume=True`` fails with an ``UnpicklingError``. Turning ``weights_only``
off would fix that, and would also execute any code a tampered checkpoint
carries.

This module registers, for local paths, a loader that keeps the restricted
unpickler and allow-lists exactly the types MMEngine/MMDetection checkpoints
hold. Anything else is refused with :class:`UnsafeCheckpointError`, listing
the offending globals, before any of it runs.

Opt-out for trusted legacy files: set ``MMDET_EFL_TRUST_CHECKPOINTS=1`` to
load local checkpoints with ``weights_only=False`` (full pickle, only for
files you trust), or allow-list specific types yourself with
``torch.serialization.add_safe_globals([...])``.
"""
import os
import pickle
from typing import Any, List, Optional

import numpy as np
import torch
from mmengine.logging import HistoryBuffer, print_log
from mmengine.runner import CheckpointLoader

TRUST_ENV = 'MMDET_EFL_TRUST_CHECKPOINTS'
# HistoryBuffer's built-in statistics; registers them lazily per instance.
_HISTORY_STATISTICS = frozenset({'min', 'max', 'current', 'mean'})


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint holds objects outside the allow-list; nothing of it ran."""


def _history_buffer_getattr(obj: Any, name: str) -> Any:
    """The only ``getattr`` a checkpoint may call.

    MMEngine's message hub pickles ``HistoryBuffer``'s statistics methods
    (``min``, ``max``, ``mean``, ...), which protocol 2 writes as
    ``getattr(HistoryBuffer, 'min')``. A free ``getattr`` would let a pickle
    walk from any allowed object to ``__globals__`` and ``eval``, so this
    one resolves nothing but those methods.
    """
    allowed = _HISTORY_STATISTICS | set(HistoryBuffer._statistics_methods)
    if (obj is HistoryBuffer or isinstance(obj, HistoryBuffer)) and \
            name in allowed:
        return getattr(obj, name)
    raise pickle.UnpicklingError(
        f'checkpoint asks for getattr({type(obj).__name__}, {name!r}), '
        'which is not a HistoryBuffer statistics method')


def checkpoint_safe_globals() -> List[Any]:
    """Types that MMEngine/MMDetection checkpoints legitimately pickle."""
    multiarray = getattr(np, '_core', None) or np.core  # numpy 2 / numpy 1
    dtype_classes = [type(np.dtype(t)) for t in (
        np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8,
        np.uint16, np.uint32, np.uint64, np.float16, np.float32, np.float64,
        np.complex64, np.complex128, np.str_, np.object_)]
    return [
        HistoryBuffer,
        (_history_buffer_getattr, 'builtins.getattr'),
        np.ndarray,
        np.dtype,
        multiarray.multiarray._reconstruct,
        multiarray.multiarray.scalar,
        *dtype_classes,
    ]


def load_checkpoint_safely(filename: str,
                           map_location: Optional[Any] = None) -> Any:
    """``torch.load`` with the restricted unpickler and our allow-list.

    Raises:
        FileNotFoundError: ``filename`` does not exist.
        UnsafeCheckpointError: the file holds globals outside the
            allow-list (it may be tampered with, or come from code that
            pickles other objects).
    """
    filename = os.path.expanduser(filename)
    if not os.path.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    if os.environ.get(TRUST_ENV, '') == '1':
        print_log(f'{TRUST_ENV}=1: loading {filename} with full pickle',
                  logger='current')
        return torch.load(filename, map_location=map_location,
                          weights_only=False)
    try:
        with torch.serialization.safe_globals(checkpoint_safe_globals()):
            return torch.load(filename, map_location=map_location,
                              weights_only=True)
    except pickle.UnpicklingError as err:
        try:
            unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(
                filename)
        except Exception:  # not a zip checkpoint: report torch's reason
            unsafe = []
        allowed = {g[1] if isinstance(g, tuple) else
                   f'{g.__module__}.{g.__qualname__}'
                   for g in checkpoint_safe_globals()}
        unsafe = [g for g in unsafe if g not in allowed]
        reasons = [line for line in str(err).splitlines()
                   if 'WeightsUnpickler error' in line]
        what = ', '.join(unsafe) if unsafe else (reasons or [str(err)])[0]
        raise UnsafeCheckpointError(
            f'Refused to load checkpoint {filename}: it holds objects '
            f'outside the allow-list of MMEngine/MMDetection checkpoints '
            f'({what}). Nothing from it was executed. If you trust this '
            f'file, set {TRUST_ENV}=1, or allow-list those types with '
            f'torch.serialization.add_safe_globals.') from None


def register_checkpoint_loader() -> None:
    """Makes :func:`load_checkpoint_safely` MMEngine's loader for local
    paths (the ``''`` scheme), used by ``load_from`` and ``resume``."""
    CheckpointLoader.register_scheme(
        prefixes='', loader=load_checkpoint_safely, force=True)
