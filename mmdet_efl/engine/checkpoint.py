"""Checkpoint loading that works on torch >= 2.6 without arbitrary pickles.

Since torch 2.6, ``torch.load`` defaults to ``weights_only=True``. MMEngine
0.10.7's local loader relies on the old default, and its own checkpoints
carry ``HistoryBuffer`` objects and numpy arrays in the message hub, so
``resume=True`` fails with an ``UnpicklingError``. Its URL loaders go the other
way: ``http(s)://``, ``torchvision://``, ``open-mmlab://`` and ``mmcls://``
end in ``torch.hub.load_state_dict_from_url``, which unpickles with
``weights_only=False`` and so executes whatever code a checkpoint carries.

This module provides, for local paths and for every one of those URL
schemes, a loader that keeps a restricted unpickler and allow-lists exactly
the types MMEngine/MMDetection checkpoints hold. URLs are downloaded into
torch.hub's cache (``$TORCH_HOME/hub/checkpoints``, as MMEngine does) and the
downloaded file goes through the same check as a local one. Anything outside
the allow-list is refused with :class:`UnsafeCheckpointError`, listing the
offending globals, before any of it runs.

Which restricted unpickler depends on torch:

* torch >= 2.5: torch's own weights-only unpickler, its allow-list extended
  for the one load (``torch.serialization.safe_globals``). It checks every
  opcode, not only the globals.
* torch < 2.5: its weights-only unpickler cannot be extended for one load
  and refuses the numpy arrays and ``HistoryBuffer`` objects of every
  MMEngine checkpoint, so ``torch.load`` runs with Python's unpickler whose
  ``find_class`` resolves only the same allow-list (torch's own weights-only
  globals plus ours). No other global can be loaded or called; objects of
  the allowed types are rebuilt by pickle's standard rules.

Opt-out for trusted legacy files: set ``MMDET_EFL_TRUST_CHECKPOINTS=1`` to
load checkpoints with ``weights_only=False`` (full pickle, only for files
you trust), or allow-list specific types yourself with
``torch.serialization.add_safe_globals([...])``.

Making them MMEngine's loaders changes MMEngine's scheme table for the whole
process, so importing this package does not do it. It happens where asked
for: :func:`register_checkpoint_loader` (called by ``tools/train.py`` and
``tools/test.py``; a script of one's own calls it too),
``SafeCheckpointHook`` in a config's ``custom_hooks`` (installs them before
the Runner loads anything), or :func:`safe_checkpoint_loading` for one
block (the package's own readers of checkpoints use it).

MMEngine logs ``Loads checkpoint by <name> backend``, ``<name>`` being the
loader function's name without its first ten characters (``load_from_``);
the loaders are named ``load_from_safe_<scheme>`` so that it reads
``safe_local``, ``safe_http``, ``safe_torchvision``, ...
"""
import _compat_pickle
import codecs
import hashlib
import logging
import os
import pickle
import re
import types
import zipfile
from contextlib import contextmanager
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple
from urllib.parse import urlparse

import mmengine
import numpy as np
import torch
from mmengine.dist import barrier, get_dist_info
from mmengine.logging import HistoryBuffer, print_log
from mmengine.runner import CheckpointLoader
from mmengine.runner import checkpoint as mmengine_checkpoint

TRUST_ENV = 'MMDET_EFL_TRUST_CHECKPOINTS'
#: Whether torch can extend its weights-only unpickler's allow-list for one
#: load (torch >= 2.5); else :func:`load_checkpoint_safely` restricts
#: Python's unpickler to the same allow-list.
TORCH_HAS_SAFE_GLOBALS = hasattr(torch.serialization, 'safe_globals')
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
    what = getattr(obj, '__qualname__', type(obj).__name__)
    raise pickle.UnpicklingError(
        f'checkpoint asks for getattr({what}, {name!r}), which is not a '
        'HistoryBuffer statistics method')


def _empty_bytes(*args: Any) -> bytes:
    """The only ``bytes`` call a checkpoint may make.

    Pickle protocol 2 (``torch.save``'s) writes an empty ``bytes`` object
    as the call ``bytes()``; an empty ``np.ndarray`` or an unused
    ``HistoryBuffer`` holds one. Any argument (``bytes(10**12)`` allocates a
    terabyte) is refused.
    """
    if args:
        raise pickle.UnpicklingError(
            f'checkpoint calls bytes{args!r}; only bytes() is allowed')
    return b''


def checkpoint_safe_globals() -> List[Any]:
    """Types that MMEngine/MMDetection checkpoints legitimately pickle.

    numpy's array and scalar constructors are allowed under both the names
    numpy 1 pickles (``numpy.core.multiarray``: nearly every published
    checkpoint) and numpy 2 (``numpy._core.multiarray``), whichever numpy
    loads them.
    """
    multiarray = getattr(np, '_core', None) or np.core  # numpy 2 / numpy 1
    dtype_classes = [type(np.dtype(t)) for t in (
        np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8,
        np.uint16, np.uint32, np.uint64, np.float16, np.float32, np.float64,
        np.longdouble, np.complex64, np.complex128, np.str_, np.bytes_,
        np.void, np.object_, np.datetime64, np.timedelta64)]
    return [
        HistoryBuffer,
        (_history_buffer_getattr, 'builtins.getattr'),
        (_empty_bytes, 'builtins.bytes'),
        np.ndarray,
        np.dtype,
        *[(fn, f'{module}.multiarray.{fn.__name__}')
          for module in ('numpy.core', 'numpy._core')
          for fn in (multiarray.multiarray._reconstruct,
                     multiarray.multiarray.scalar)],
        *dtype_classes,
    ]


def _torch_formats() -> Tuple[bytes, ...]:
    """How a legacy (pre-1.6, non-zip) ``torch.save`` file starts: its
    pickled magic number, for each pickle protocol it may use."""
    magic = torch.serialization.MAGIC_NUMBER
    return tuple(pickle.dumps(magic, protocol=p)[:-1] for p in range(2, 6))


def _check_format(filename: str, source: str) -> None:
    """Raises unless ``filename`` is a ``torch.save`` file: a zip archive or
    the legacy format (a truncated zip is neither)."""
    if os.path.isdir(filename):
        raise IsADirectoryError(f'{source} is a directory, not a checkpoint '
                                'file')
    if zipfile.is_zipfile(filename):
        return
    with open(filename, 'rb') as f:
        head = f.read(32)
    if not any(head.startswith(magic) for magic in _torch_formats()):
        raise ValueError(
            f'{source} is not a PyTorch checkpoint: torch.save writes a zip '
            'archive (before PyTorch 1.6, a pickle that starts with its '
            'magic number), and this file is neither, or is truncated')


def load_checkpoint_safely(filename: str,
                           map_location: Optional[Any] = None,
                           source: Optional[str] = None) -> Any:
    """``torch.load`` of a local file with the restricted unpickler and our
    allow-list.

    Args:
        filename: path of the checkpoint file.
        map_location: as in ``torch.load``.
        source: where the file came from (a URL), for error messages;
            defaults to ``filename``.

    Raises:
        FileNotFoundError: ``filename`` does not exist.
        UnsafeCheckpointError: the file holds globals outside the
            allow-list (it may be tampered with, or come from code that
            pickles other objects).
    """
    filename = os.path.expanduser(filename)
    if source is None:
        source = filename
    elif source != filename:
        source = f'{source} (downloaded to {filename})'
    if not os.path.exists(filename):
        raise FileNotFoundError(f'{source} can not be found.')
    _check_format(filename, source)
    if os.environ.get(TRUST_ENV, '') == '1':
        print_log(f'{TRUST_ENV}=1: loading {source} with full pickle',
                  logger='current')
        return torch.load(filename, map_location=map_location,
                          weights_only=False)
    loader = (_load_weights_only if TORCH_HAS_SAFE_GLOBALS else
              _load_allow_listed)
    try:
        return loader(filename, map_location)
    except (EOFError, RuntimeError) as err:  # a corrupt archive or pickle
        raise ValueError(f'{source} could not be read as a PyTorch '
                         f'checkpoint ({type(err).__name__}: {err})') from err
    except _Refused as err:
        what = str(err)
    except pickle.UnpicklingError as err:
        what = _refused_globals(filename) or _weights_only_reason(err)
    raise UnsafeCheckpointError(
        f'Refused to load checkpoint {source}: it holds objects '
        f'outside the allow-list of MMEngine/MMDetection checkpoints '
        f'({what}). Nothing from it was executed. If you trust this '
        f'file, set {TRUST_ENV}=1, or allow-list those types with '
        f'torch.serialization.add_safe_globals.')


def _load_weights_only(filename: str, map_location: Optional[Any]) -> Any:
    """torch's weights-only unpickler with our allow-list (torch >= 2.5)."""
    with torch.serialization.safe_globals(checkpoint_safe_globals()):
        return torch.load(filename, map_location=map_location,
                          weights_only=True)


def _refused_globals(filename: str) -> str:
    """The globals of a zip checkpoint outside the allow-list, sorted and
    comma-separated, as torch >= 2.5 lists them; '' where it cannot."""
    if not TORCH_HAS_SAFE_GLOBALS:
        return ''
    with torch.serialization.safe_globals(checkpoint_safe_globals()):
        try:
            unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(
                filename)
        except Exception:  # not a zip checkpoint: report torch's reason
            unsafe = []
    return ', '.join(sorted(unsafe))


class _Refused(pickle.UnpicklingError):
    """Globals outside the allow-list met by :func:`_load_allow_listed`
    (the message lists them)."""


def _allow_list() -> Dict[str, Any]:
    """``'module.name'`` -> object: the globals torch's weights-only
    unpickler allows, plus :func:`checkpoint_safe_globals` (named as
    ``torch.serialization.add_safe_globals`` names them)."""
    from torch import _weights_only_unpickler
    allowed = dict(_weights_only_unpickler._get_allowed_globals())
    # Protocol 2 writes non-empty bytes (a numpy array's data) as
    # _codecs.encode(text, 'latin1'); torch >= 2.5 allows it too.
    allowed['_codecs.encode'] = codecs.encode
    for entry in checkpoint_safe_globals():
        obj, name = entry if isinstance(entry, tuple) else (
            entry, f'{entry.__module__}.{entry.__qualname__}')
        allowed[name] = obj
    return allowed


def _load_allow_listed(filename: str, map_location: Optional[Any]) -> Any:
    """``torch.load`` with Python's unpickler restricted to
    :func:`_allow_list` (torch < 2.5).

    A global outside the list resolves to an inert placeholder, so that
    unpickling goes on and every refused name is collected, then
    :class:`_Refused` is raised; none of them is ever imported or called.
    """
    allowed = _allow_list()
    refused = set()

    class _Placeholder:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            pass

        def __setstate__(self, state: Any) -> None:
            pass

    class Unpickler(pickle.Unpickler):

        def find_class(self, module: str, name: str) -> Any:
            # Protocols 0-2 name Python 2's modules (``__builtin__``): map
            # them as pickle's own find_class does (the result is checked
            # against the same list)
            if (module, name) in _compat_pickle.NAME_MAPPING:
                module, name = _compat_pickle.NAME_MAPPING[(module, name)]
            module = _compat_pickle.IMPORT_MAPPING.get(module, module)
            key = f'{module}.{name}'
            if key in allowed:
                return allowed[key]
            refused.add(key)
            return _Placeholder

    def load(file: Any, **kwargs: Any) -> Any:
        return Unpickler(file, **kwargs).load()

    restricted = types.ModuleType('mmdet_efl_allow_listed_pickle')
    restricted.Unpickler = Unpickler
    restricted.load = load
    try:
        result = torch.load(filename, map_location=map_location,
                            pickle_module=restricted, weights_only=False)
    except Exception:
        # An allowed call that got a placeholder fails: the refusal is
        # what to report. Without one, the error is the file's own (a
        # corrupt archive, or a bytes(5) / getattr refusal of ours).
        if not refused:
            raise
    if refused:
        raise _Refused(', '.join(sorted(refused)))
    return result


def _weights_only_reason(err: pickle.UnpicklingError) -> str:
    """What torch's ``weights_only`` error says was refused, on one line,
    without the paragraphs around it that advise ``weights_only=False``
    (which is what the caller must not do blindly)."""
    text = str(err)
    marker = 'WeightsUnpickler error:'
    if marker in text:
        text = text.split(marker, 1)[1]
    advice = ('Weights only load failed', 'Check the documentation')
    kept = [p for p in re.split(r'\n\s*\n', text)
            if p.strip() and not p.strip().startswith(advice)]
    return ' '.join(' '.join(kept or [text]).split())


def download_checkpoint(url: str) -> str:
    """Downloads ``url`` into torch.hub's checkpoint cache (once) and returns
    the local path; nothing is unpickled.

    As in MMEngine's ``load_from_http``, rank 0 downloads first and the other
    ranks wait for it, so that ranks sharing the cache download once.
    """
    cache = os.path.join(torch.hub.get_dir(), 'checkpoints')
    name = os.path.basename(urlparse(url).path)
    if not name:
        raise ValueError(f'{url}: the URL names no file (it ends in "/")')
    path = os.path.join(cache, name)
    # torch.hub (and MMEngine) key the cache on the file name alone, so
    # run_a/latest.pth would be served for run_b/latest.pth. Each download
    # records its URL beside it; another URL of the same name gets its own
    # file. A file without a record (put there by torch.hub) is reused, as
    # torch.hub would.
    source = path + '.url'
    if os.path.exists(source) and open(source).read() != url:
        stem, ext = os.path.splitext(name)
        digest = hashlib.sha256(url.encode()).hexdigest()[:12]
        path = os.path.join(cache, f'{stem}-{digest}{ext}')
        source = path + '.url'

    def fetch() -> None:
        if not os.path.exists(path):
            os.makedirs(cache, exist_ok=True)
            torch.hub.download_url_to_file(url, path, progress=False)
            with open(source, 'w') as f:
                f.write(url)

    rank, world_size = get_dist_info()
    if rank == 0:
        fetch()
    if world_size > 1:
        barrier()
        if rank > 0:
            fetch()
    return path


def _model_url(filename: str, prefix: str, table: Dict[str, str]) -> str:
    """The URL (or MMEngine-home-relative path) that ``prefix + name``
    stands for in one of MMEngine's name-to-URL tables."""
    name = filename[len(prefix):]
    if name not in table:
        raise KeyError(f'{filename}: MMEngine knows no model named {name!r} '
                       f'for {prefix} ({len(table)} names)')
    return table[name]


def _load_resolved(url: str, map_location: Optional[Any]) -> Any:
    if url.startswith(('http://', 'https://')):
        return load_from_safe_http(url, map_location)
    # open-mmlab names may map to files under MMEngine's home directory
    return load_checkpoint_safely(
        os.path.join(mmengine_checkpoint._get_mmengine_home(), url),
        map_location)


def load_from_safe_local(filename: str,
                         map_location: Optional[Any] = None) -> Any:
    """MMEngine's ``''`` scheme (local paths): :func:`load_checkpoint_safely`.
    """
    return load_checkpoint_safely(filename, map_location)


def load_from_safe_http(filename: str,
                        map_location: Optional[Any] = None) -> Any:
    """``http://`` and ``https://``: downloaded, then loaded like a local
    file."""
    return load_checkpoint_safely(download_checkpoint(filename),
                                  map_location, source=filename)


def _torchvision_urls() -> Dict[str, str]:
    """MMEngine's torchvision model URLs; without torchvision installed, the
    table MMEngine ships for torchvision 0.12 (``resnet50``, ``resnet101``,
    ... as mmdet's configs name them)."""
    try:
        return mmengine_checkpoint.get_torchvision_models()
    except ImportError:
        return mmengine.load(os.path.join(mmengine.__path__[0], 'hub',
                                          'torchvision_0.12.json'))


def load_from_safe_torchvision(filename: str,
                               map_location: Optional[Any] = None) -> Any:
    """``torchvision://NAME`` (and the deprecated ``modelzoo://NAME``)."""
    prefix = 'torchvision://'
    if filename.startswith('modelzoo://'):
        prefix = 'modelzoo://'
        print_log('The URL scheme of "modelzoo://" is deprecated, please '
                  'use "torchvision://" instead', logger='current',
                  level=logging.WARNING)
    url = _model_url(filename, prefix, _torchvision_urls())
    return _load_resolved(url, map_location)


def load_from_safe_openmmlab(filename: str,
                             map_location: Optional[Any] = None) -> Any:
    """``open-mmlab://NAME`` / ``openmmlab://NAME``, including names added
    in ``$MMENGINE_HOME/open_mmlab.json``."""
    prefix = ('open-mmlab://' if filename.startswith('open-mmlab://') else
              'openmmlab://')
    name = filename[len(prefix):]
    deprecated = mmengine_checkpoint.get_deprecated_model_names()
    if name in deprecated:
        print_log(f'{prefix}{name} is deprecated in favor of '
                  f'{prefix}{deprecated[name]}', logger='current',
                  level=logging.WARNING)
        filename = prefix + deprecated[name]
    url = _model_url(filename, prefix,
                     mmengine_checkpoint.get_external_models())
    return _load_resolved(url, map_location)


def load_from_safe_mmcls(filename: str,
                         map_location: Optional[Any] = None) -> Any:
    """``mmcls://NAME``: the backbone of an MMClassification checkpoint."""
    url = _model_url(filename, 'mmcls://',
                     mmengine_checkpoint.get_mmcls_models())
    return mmengine_checkpoint._process_mmcls_checkpoint(
        _load_resolved(url, map_location))


#: MMEngine scheme prefixes and the safe loader that replaces its own.
SAFE_LOADERS: Dict[Tuple[str, ...], Callable[..., Any]] = {
    ('', ): load_from_safe_local,
    ('http://', 'https://'): load_from_safe_http,
    ('modelzoo://', 'torchvision://'): load_from_safe_torchvision,
    ('open-mmlab://', 'openmmlab://'): load_from_safe_openmmlab,
    ('mmcls://', ): load_from_safe_mmcls,
}


def register_checkpoint_loader() -> None:
    """Makes the safe loaders MMEngine's loaders for local paths and every
    URL scheme that MMEngine loads through torch.hub (used by ``load_from``,
    ``resume`` and ``init_cfg=dict(type='Pretrained', ...)``), for the rest
    of the process; idempotent.

    Other schemes (``s3://``, ``pavi://``, ...) keep MMEngine's loaders.
    """
    for prefixes, loader in SAFE_LOADERS.items():
        CheckpointLoader.register_scheme(
            prefixes=list(prefixes), loader=loader, force=True)


@contextmanager
def safe_checkpoint_loading() -> Iterator[None]:
    """The safe loaders as MMEngine's inside the block only: MMEngine's
    scheme table is put back as it was on leaving it, also on an error.

    For library code that loads checkpoints through MMEngine
    (``CheckpointLoader``, ``load_checkpoint``, a ``Runner``'s
    ``load_from``) without changing the loaders of the process it runs in.
    """
    # register_scheme writes into the table before it replaces it with a
    # sorted copy, so keep a copy, not the table itself
    saved = type(CheckpointLoader._schemes)(CheckpointLoader._schemes)
    register_checkpoint_loader()
    try:
        yield
    finally:
        CheckpointLoader._schemes = saved
