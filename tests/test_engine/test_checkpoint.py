"""Safe checkpoint loading: resume works on every supported torch, pickled
code is refused before it runs, from local files and from every URL scheme
MMEngine loads through torch.hub (served here by a loopback HTTP server).

Every test runs with each restricted unpickler the installed torch can use:
torch's weights-only one (torch >= 2.5) and Python's with the allow-list
(the only one on torch < 2.5, also tested on newer torch).

Importing the package does not install the safe loaders; the tests here
load through MMEngine with them installed (as ``tools/train.py`` has
them), but for the tests of the ways to ask for them, which start from
MMEngine's own loaders."""
import functools
import hashlib
import json
import os
import pickle
import shutil
import sys
import threading
import zipfile
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.logging import HistoryBuffer
from mmengine.runner import CheckpointLoader, Runner
from mmengine.runner import checkpoint as mmengine_checkpoint
from mmengine.runner.checkpoint import load_from_local
from mmengine.utils import digit_version

import mmdet_efl  # noqa: F401
from mmdet_efl.engine import (SafeCheckpointHook, UnsafeCheckpointError,
                              load_checkpoint_safely,
                              register_checkpoint_loader,
                              safe_checkpoint_loading)
from mmdet_efl.engine import checkpoint as safe_checkpoint
from mmdet_efl.testing import CapturedLog, mmengine_checkpoint_loaders
from tests.helpers import write_tiny_config

#: torch.load's own default since torch 2.6, which MMEngine 0.10 relies on not
#: being the case
TORCH_LOADS_WEIGHTS_ONLY = digit_version(torch.__version__) >= \
    digit_version('2.6.0')


@pytest.fixture(autouse=True, params=['weights_only', 'allow_listed'])
def unpickler(request, monkeypatch):
    """Which restricted unpickler ``load_checkpoint_safely`` uses."""
    if request.param == 'weights_only':
        if not safe_checkpoint.TORCH_HAS_SAFE_GLOBALS:
            pytest.skip(f'torch {torch.__version__} has no '
                        'torch.serialization.safe_globals (torch >= 2.5): '
                        'only the allow-listed unpickler runs')
    else:
        monkeypatch.setattr(safe_checkpoint, 'TORCH_HAS_SAFE_GLOBALS', False)
    return request.param


@pytest.fixture(autouse=True)
def safe_loaders():
    """MMEngine loads with the safe loaders during each test."""
    with safe_checkpoint_loading():
        yield


@pytest.fixture
def mmengine_loaders(monkeypatch):
    """MMEngine's own loaders during the test, as in a process that has not
    asked for ours."""
    monkeypatch.setattr(CheckpointLoader, '_schemes',
                        mmengine_checkpoint_loaders())


def _loader_names():
    return {prefix: CheckpointLoader._get_checkpoint_loader(
        prefix + 'x.pth').__name__ for prefix in (
            '', 'http://', 'https://', 'torchvision://', 'modelzoo://',
            'open-mmlab://', 'openmmlab://', 'mmcls://', 's3://')}


class _Payload:
    """Unpickling this creates ``path``: a stand-in for a malicious
    checkpoint (``os.system`` would do the same through the same door)."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, 'w'))


def test_log_names_the_loader(tmp_path):
    ckpt = tmp_path / 'plain.pth'
    torch.save({'state_dict': {'w': torch.ones(2)}}, ckpt)
    with CapturedLog() as log:
        CheckpointLoader.load_checkpoint(str(ckpt), map_location='cpu')
    assert f'Loads checkpoint by safe_local backend from path: {ckpt}' \
        in log.text


def test_malicious_checkpoint_is_refused_and_nothing_runs(tmp_path):
    marker = tmp_path / 'pwned'
    ckpt = tmp_path / 'evil.pth'
    torch.save({'state_dict': {'w': torch.ones(2)},
                'meta': {'x': _Payload(marker)}}, ckpt)
    with pytest.raises(UnsafeCheckpointError, match='Refused') as err:
        CheckpointLoader.load_checkpoint(str(ckpt), map_location='cpu')
    assert not marker.exists()
    assert 'open' in str(err.value) and 'MMDET_EFL_TRUST' in str(err.value)
    assert isinstance(err.value, pickle.UnpicklingError)
    # The payload is real: full unpickling does create the file.
    torch.load(ckpt, weights_only=False)
    assert marker.exists()


class _Walker:
    """Tries to walk from an allowed class towards its module globals."""

    def __reduce__(self):
        from mmengine.logging import HistoryBuffer
        return (getattr, (HistoryBuffer.update, '__globals__'))


def test_getattr_is_limited_to_history_buffer_statistics(tmp_path):
    ckpt = tmp_path / 'walk.pth'
    torch.save({'meta': {'x': _Walker()}}, ckpt)
    with pytest.raises(UnsafeCheckpointError, match='Refused'):
        load_checkpoint_safely(str(ckpt))


class _Call:
    """Pickles as ``fn(*args)``."""

    def __init__(self, fn, *args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return (self.fn, self.args)


@pytest.mark.parametrize('obj, name, what', [
    (HistoryBuffer, '__init__', 'HistoryBuffer'),
    (np.ones(2), 'min', 'ndarray'),
])
def test_getattr_needs_both_history_buffer_and_a_statistic(
        tmp_path, obj, name, what):
    """A statistics name on another object, or another name on
    HistoryBuffer, is refused, and the message says which."""
    ckpt = tmp_path / 'walk.pth'
    torch.save({'meta': {'x': _Call(getattr, obj, name)}}, ckpt)
    with pytest.raises(UnsafeCheckpointError) as err:
        load_checkpoint_safely(str(ckpt))
    assert (f'(checkpoint asks for getattr({what}, {name!r}), which is not '
            'a HistoryBuffer statistics method)') in str(err.value)


def test_history_buffer_statistics_and_empty_arrays_load(tmp_path):
    """What MMEngine's message hub pickles: statistics methods of the class
    and of an instance, and (unused buffers, empty arrays) ``bytes()``."""
    ckpt = tmp_path / 'hub.pth'
    torch.save({'meta': {'mean': _Call(getattr, HistoryBuffer, 'mean'),
                         'max': _Call(getattr, HistoryBuffer(), 'max'),
                         'buffer': HistoryBuffer(), 'empty': np.zeros(0),
                         'values': np.arange(3.0)}}, ckpt)
    meta = load_checkpoint_safely(str(ckpt))['meta']
    assert meta['mean'] is HistoryBuffer.mean
    assert meta['max'].__func__ is HistoryBuffer.max
    assert isinstance(meta['buffer'], HistoryBuffer)
    assert meta['empty'].shape == (0, )
    assert meta['values'].tolist() == [0.0, 1.0, 2.0]


def test_bytes_with_an_argument_is_refused(tmp_path):
    ckpt = tmp_path / 'big.pth'
    torch.save({'meta': {'x': _Call(bytes, 5)}}, ckpt)
    with pytest.raises(UnsafeCheckpointError,
                       match=r'\(checkpoint calls bytes\(5,\); only bytes\(\) '
                       r'is allowed\)'):
        load_checkpoint_safely(str(ckpt))


def test_refusal_names_only_the_offending_globals(tmp_path):
    marker = tmp_path / 'pwned'
    ckpt = tmp_path / 'mixed.pth'
    torch.save({'meta': {'hub': HistoryBuffer(), 'a': np.ones(2),
                         'x': _Payload(marker), 'y': _Call(print)}}, ckpt)
    with pytest.raises(UnsafeCheckpointError) as err:
        load_checkpoint_safely(str(ckpt))
    assert str(err.value) == (
        f'Refused to load checkpoint {ckpt}: it holds objects outside the '
        'allow-list of MMEngine/MMDetection checkpoints (builtins.print, '
        'io.open). Nothing from it was executed. If you trust this file, set '
        'MMDET_EFL_TRUST_CHECKPOINTS=1, or allow-list those types with '
        'torch.serialization.add_safe_globals.')
    assert not marker.exists()


def test_legacy_format_checkpoint_is_refused_with_torchs_reason(tmp_path,
                                                               unpickler):
    """A pre-1.6 (non-zip) file cannot be listed by torch; its reason is
    given, on one line (the allow-listed unpickler names the global)."""
    marker = tmp_path / 'pwned'
    ckpt = tmp_path / 'legacy.pth'
    torch.save({'meta': {'x': _Payload(marker)}}, ckpt,
               _use_new_zipfile_serialization=False)
    with pytest.raises(UnsafeCheckpointError) as err:
        load_checkpoint_safely(str(ckpt))
    if unpickler == 'weights_only':
        assert ('checkpoints (Unsupported global: GLOBAL io.open was not an '
                'allowed global by default.') in str(err.value)
    else:
        assert 'checkpoints (io.open). Nothing' in str(err.value)
    assert '\n' not in str(err.value)
    assert not marker.exists()


def test_legacy_refusal_without_torchs_marker_keeps_only_the_reason(
        tmp_path, unpickler):
    """torch words a blocked module differently (no "WeightsUnpickler
    error:"); its advice to set weights_only=False is left out all the
    same."""
    ckpt = tmp_path / 'legacy_system.pth'
    torch.save({'meta': {'x': _Call(os.system, 'true')}}, ckpt,
               _use_new_zipfile_serialization=False)
    with pytest.raises(UnsafeCheckpointError) as err:
        load_checkpoint_safely(str(ckpt))
    reason = (f'Trying to load unsupported GLOBAL {os.name}.system whose '
              f'module {os.name} is blocked.' if unpickler == 'weights_only'
              else f'{os.name}.system')
    assert f'checkpoints ({reason}). Nothing' in str(err.value)
    assert 'weights_only' not in str(err.value)


def test_numpy_1_checkpoint_loads_under_numpy_2(tmp_path):
    """Published checkpoints were pickled by numpy 1, which names its array
    and scalar constructors numpy.core.multiarray (numpy 2: numpy._core)."""
    saved = {'a': np.arange(3.0), 's': np.float32(2.0)}
    torch.save(saved, tmp_path / 'np2.pth')
    with zipfile.ZipFile(tmp_path / 'np2.pth') as src, zipfile.ZipFile(
            tmp_path / 'np1.pth', 'w') as dst:
        for name in src.namelist():
            data = src.read(name)
            if name.endswith('data.pkl'):
                data = data.replace(b'numpy._core.multiarray',
                                    b'numpy.core.multiarray')
                assert b'numpy.core.multiarray\n_reconstruct' in data
            dst.writestr(name, data)
    loaded = load_checkpoint_safely(str(tmp_path / 'np1.pth'))
    assert loaded['a'].tolist() == [0.0, 1.0, 2.0]
    assert loaded['s'] == np.float32(2.0) and loaded['s'].dtype == np.float32


def _not_checkpoints(tmp_path):
    torch.save({'w': torch.ones(3)}, tmp_path / 'good.pth')
    whole = (tmp_path / 'good.pth').read_bytes()
    return {
        'empty': b'',
        'text': b'hello world\n',
        'json': b'{"state_dict": {}}',
        'raw_pickle': pickle.dumps({'w': 1}),
        'raw_pickle_with_code': pickle.dumps(_Payload(tmp_path / 'pwned')),
        'truncated': whole[:len(whole) // 2],
    }


@pytest.mark.parametrize('kind', ['empty', 'text', 'json', 'raw_pickle',
                                  'raw_pickle_with_code', 'truncated'])
@pytest.mark.parametrize('trusted', [False, True])
def test_file_that_is_not_a_checkpoint_is_named(tmp_path, monkeypatch, kind,
                                                trusted):
    if trusted:
        monkeypatch.setenv('MMDET_EFL_TRUST_CHECKPOINTS', '1')
    path = tmp_path / f'{kind}.pth'
    path.write_bytes(_not_checkpoints(tmp_path)[kind])
    with pytest.raises(ValueError) as err:
        load_checkpoint_safely(str(path))
    assert str(err.value) == (
        f'{path} is not a PyTorch checkpoint: torch.save writes a zip archive '
        '(before PyTorch 1.6, a pickle that starts with its magic number), '
        'and this file is neither, or is truncated')
    assert not (tmp_path / 'pwned').exists()


def test_directory_and_corrupt_archive_are_named(tmp_path):
    with pytest.raises(IsADirectoryError) as err:
        load_checkpoint_safely(str(tmp_path))
    assert str(err.value) == (
        f'{tmp_path} is a directory, not a checkpoint file')
    torch.save({'w': torch.ones(3)}, tmp_path / 'good.pth')
    with zipfile.ZipFile(tmp_path / 'good.pth') as src, zipfile.ZipFile(
            tmp_path / 'bad.pth', 'w') as dst:
        for name in src.namelist():
            if not name.endswith('data.pkl'):  # the pickle is missing
                dst.writestr(name, src.read(name))
    with pytest.raises(ValueError, match=f'^{tmp_path}/bad.pth could not be '
                       r'read as a PyTorch checkpoint \(RuntimeError: '):
        load_checkpoint_safely(str(tmp_path / 'bad.pth'))


def test_trusted_opt_out_loads_full_pickle(tmp_path, monkeypatch):
    ckpt = tmp_path / 'legacy.pth'
    torch.save({'meta': {'opts': pytest.approx(1.0)}}, ckpt)
    with pytest.raises(UnsafeCheckpointError):
        load_checkpoint_safely(str(ckpt))
    monkeypatch.setenv('MMDET_EFL_TRUST_CHECKPOINTS', '1')
    with CapturedLog() as log:
        assert load_checkpoint_safely(str(ckpt))['meta']['opts'] == 1.0
    assert (f'MMDET_EFL_TRUST_CHECKPOINTS=1: loading {ckpt} with full '
            'pickle') in log.text


@pytest.mark.parametrize('trusted', [False, True])
def test_map_location_and_home_directory(tmp_path, monkeypatch, trusted):
    monkeypatch.setenv('HOME', str(tmp_path))
    if trusted:
        monkeypatch.setenv('MMDET_EFL_TRUST_CHECKPOINTS', '1')
    torch.save({'state_dict': {'w': torch.ones(2)}}, tmp_path / 'w.pth')
    loaded = load_checkpoint_safely('~/w.pth', map_location='meta')
    assert loaded['state_dict']['w'].device.type == 'meta'


def test_missing_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        load_checkpoint_safely(str(tmp_path / 'nope.pth'))
    assert str(err.value) == f'{tmp_path}/nope.pth can not be found.'


def test_torch_global_opt_out_does_not_disable_the_check(tmp_path,
                                                         monkeypatch):
    """``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`` makes torch.load unpickle
    everything by default; only this package's own variable opts out."""
    monkeypatch.setenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '1')
    marker = tmp_path / 'pwned'
    torch.save({'meta': {'x': _Payload(marker)}}, tmp_path / 'evil.pth')
    with pytest.raises(UnsafeCheckpointError):
        load_checkpoint_safely(str(tmp_path / 'evil.pth'))
    assert not marker.exists()


@pytest.fixture(scope='module')
def trained(tiny_lvis, tmp_path_factory):
    """A 4-iteration training run: its config and work dir (iter_2.pth,
    iter_4.pth)."""
    tmp = tmp_path_factory.mktemp('trained')
    cfg_path = write_tiny_config(tmp / 'tiny.py', tiny_lvis, max_iters=4,
                                 checkpoint_interval=2)
    cfg = Config.fromfile(str(cfg_path))
    cfg.work_dir = str(tmp / 'work')
    Runner.from_cfg(cfg).train()
    return cfg_path, tmp / 'work'


def test_resume_continues_with_the_same_efl_state(trained, tmp_path):
    cfg_path, trained_work = trained
    work = tmp_path / 'work'
    shutil.copytree(trained_work, work)
    (work / 'last_checkpoint').write_text(str(work / 'iter_4.pth'))
    ckpt = work / 'iter_4.pth'
    if TORCH_LOADS_WEIGHTS_ONLY:
        # The stock MMEngine loader cannot read its own checkpoint
        with pytest.raises(pickle.UnpicklingError):
            load_from_local(str(ckpt), map_location='cpu')
    saved = load_checkpoint_safely(str(ckpt))['state_dict']
    assert saved['bbox_head.loss_cls.neg_grad'].sum() > 0

    cfg = Config.fromfile(str(cfg_path))
    cfg.work_dir = str(work)
    cfg.train_cfg.max_iters = 6
    cfg.resume = True
    resumed = Runner.from_cfg(cfg)
    resumed.load_or_resume()
    assert resumed.iter == 4
    loss = resumed.model.bbox_head.loss_cls
    assert torch.equal(loss.pos_grad, saved['bbox_head.loss_cls.pos_grad'])
    assert torch.equal(loss.neg_grad, saved['bbox_head.loss_cls.neg_grad'])
    resumed.train()
    assert resumed.iter == 6
    assert (work / 'iter_6.pth').exists()


class _QuietHandler(SimpleHTTPRequestHandler):

    def log_message(self, *args):
        pass


@pytest.fixture
def http_server(tmp_path, monkeypatch):
    """A loopback HTTP server of ``tmp_path/www``, torch.hub's cache and
    MMEngine's home in ``tmp_path``: yields (www dir, base URL)."""
    www = tmp_path / 'www'
    www.mkdir()
    server = ThreadingHTTPServer(
        ('127.0.0.1', 0),
        functools.partial(_QuietHandler, directory=str(www)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    monkeypatch.setenv('MMENGINE_HOME', str(tmp_path / 'mmengine_home'))
    for key in ('no_proxy', 'NO_PROXY'):
        monkeypatch.setenv(key, '127.0.0.1,localhost')
    try:
        yield www, f'http://127.0.0.1:{server.server_port}'
    finally:
        server.shutdown()
        server.server_close()


def _name_url(monkeypatch, tmp_path, scheme, url):
    """A ``scheme://NAME`` that stands for ``url`` in MMEngine's own
    name-to-URL table of that scheme. open-mmlab names come from the user's
    ``$MMENGINE_HOME/open_mmlab.json``, as MMEngine documents; the
    torchvision and mmcls tables are replaced (no network here)."""
    name = 'efl/' + url.rsplit('/', 1)[-1].split('.')[0]
    if scheme in ('open-mmlab', 'openmmlab'):
        home = tmp_path / 'mmengine_home'
        home.mkdir(exist_ok=True)
        (home / 'open_mmlab.json').write_text(json.dumps({name: url}))
    elif scheme in ('torchvision', 'modelzoo'):
        monkeypatch.setattr(mmengine_checkpoint, 'get_torchvision_models',
                            lambda: {name: url})
    elif scheme == 'mmcls':
        monkeypatch.setattr(mmengine_checkpoint, 'get_mmcls_models',
                            lambda: {name: url})
    else:
        return url
    return f'{scheme}://{name}'


SCHEMES = ['http', 'open-mmlab', 'openmmlab', 'torchvision', 'modelzoo',
           'mmcls']
LOADER_NAMES = {'http': 'safe_http', 'open-mmlab': 'safe_openmmlab',
                'openmmlab': 'safe_openmmlab', 'torchvision':
                'safe_torchvision', 'modelzoo': 'safe_torchvision',
                'mmcls': 'safe_mmcls'}


@pytest.mark.parametrize('scheme', SCHEMES)
def test_malicious_checkpoint_from_url_is_refused_and_nothing_runs(
        scheme, http_server, tmp_path, monkeypatch):
    www, base = http_server
    marker = tmp_path / 'pwned'
    torch.save({'state_dict': {'backbone.w': torch.ones(2)},
                'meta': {'x': _Payload(marker)}}, www / 'evil.pth')
    filename = _name_url(monkeypatch, tmp_path, scheme, f'{base}/evil.pth')
    with pytest.raises(UnsafeCheckpointError, match='Refused') as err:
        CheckpointLoader.load_checkpoint(filename, map_location='cpu')
    assert not marker.exists()
    cache = tmp_path / 'torch_home/hub/checkpoints'
    assert (f'{base}/evil.pth (downloaded to {cache}/evil.pth)'
            in str(err.value))
    # it was downloaded (into torch.hub's cache) and refused there
    assert (tmp_path / 'torch_home/hub/checkpoints/evil.pth').exists()


@pytest.mark.parametrize('scheme', SCHEMES)
def test_trained_checkpoint_loads_from_url(scheme, trained, http_server,
                                           tmp_path, monkeypatch):
    www, base = http_server
    shutil.copy(trained[1] / 'iter_4.pth', www / 'trained.pth')
    local = load_checkpoint_safely(str(trained[1] / 'iter_4.pth'))
    filename = _name_url(monkeypatch, tmp_path, scheme,
                         f'{base}/trained.pth')
    with CapturedLog() as log:
        loaded = CheckpointLoader.load_checkpoint(filename,
                                                  map_location='cpu')
    assert (f'Loads checkpoint by {LOADER_NAMES[scheme]} backend from '
            f'path: {filename}') in log.text
    deprecated = ('WARNING The URL scheme of "modelzoo://" is deprecated, '
                  'please use "torchvision://" instead')
    assert (deprecated in log.text) == (scheme == 'modelzoo')
    want = local['state_dict']
    if scheme == 'mmcls':  # MMEngine keeps a classifier's backbone only
        want = {k[len('backbone.'):]: v for k, v in want.items()
                if k.startswith('backbone.')}
    else:
        assert loaded['message_hub'] and loaded['meta'] == local['meta']
    assert loaded['state_dict'].keys() == want.keys()
    for key, value in want.items():
        assert torch.equal(loaded['state_dict'][key], value), key


@pytest.mark.parametrize('scheme', ['local'] + SCHEMES)
def test_map_location_reaches_torch_load(scheme, http_server, tmp_path,
                                         monkeypatch):
    """Every loader passes ``map_location`` on (here ``'meta'``: tensors
    without storage), for local paths, URLs and model names."""
    www, base = http_server
    torch.save({'state_dict': {'backbone.w': torch.ones(2)}},
               www / 'plain.pth')
    filename = (str(www / 'plain.pth') if scheme == 'local' else
                _name_url(monkeypatch, tmp_path, scheme, f'{base}/plain.pth'))
    loaded = CheckpointLoader.load_checkpoint(filename, map_location='meta')
    weights = loaded['state_dict']
    assert weights['w' if scheme == 'mmcls' else 'backbone.w'].is_meta


def test_open_mmlab_home_file_gets_map_location(http_server, tmp_path):
    home = tmp_path / 'mmengine_home'
    home.mkdir()
    torch.save({'state_dict': {'w': torch.ones(2)}}, home / 'local.pth')
    (home / 'open_mmlab.json').write_text(
        json.dumps({'efl/local': 'local.pth'}))
    loaded = CheckpointLoader.load_checkpoint('open-mmlab://efl/local',
                                              map_location='meta')
    assert loaded['state_dict']['w'].is_meta


@pytest.mark.parametrize('scheme', ['open-mmlab', 'openmmlab', 'torchvision',
                                    'modelzoo', 'mmcls'])
def test_unknown_model_name_is_named(scheme, http_server, tmp_path,
                                     monkeypatch):
    _name_url(monkeypatch, tmp_path, scheme, 'http://x/known.pth')
    with pytest.raises(KeyError) as err:
        CheckpointLoader.load_checkpoint(f'{scheme}://efl/unknown')
    assert err.value.args[0].startswith(
        f"{scheme}://efl/unknown: MMEngine knows no model named "
        f"'efl/unknown' for {scheme}:// (")


def test_urls_of_the_same_file_name_are_kept_apart(http_server, tmp_path,
                                                   capfd):
    """run_a/latest.pth and run_b/latest.pth: each URL loads its own file
    (torch.hub's cache keys on the file name alone), and the first is not
    downloaded again."""
    www, base = http_server
    for run, size in (('run_a', 2), ('run_b', 5)):
        (www / run).mkdir()
        torch.save({'state_dict': {'w': torch.arange(size)}},
                   www / run / 'latest.pth')
    for _ in range(2):
        for run, size in (('run_a', 2), ('run_b', 5)):
            loaded = CheckpointLoader.load_checkpoint(
                f'{base}/{run}/latest.pth', map_location='cpu')
            assert torch.equal(loaded['state_dict']['w'], torch.arange(size))
    cache = tmp_path / 'torch_home/hub/checkpoints'
    digest = hashlib.sha256(f'{base}/run_b/latest.pth'.encode()).hexdigest()
    # one download each, quietly
    assert sorted(p.name for p in cache.glob('latest*.pth')) == [
        f'latest-{digest[:12]}.pth', 'latest.pth']
    assert '%' not in capfd.readouterr().err
    # each file records the URL it came from
    assert (cache / 'latest.pth.url').read_text() == f'{base}/run_a/latest.pth'
    assert (cache / f'latest-{digest[:12]}.pth.url').read_text() == \
        f'{base}/run_b/latest.pth'
    with pytest.raises(ValueError, match='names no file'):
        CheckpointLoader.load_checkpoint(f'{base}/run_a/')


def test_open_mmlab_name_of_a_file_in_mmengine_home(http_server, tmp_path):
    """open-mmlab names may stand for a path under MMEngine's home."""
    home = tmp_path / 'mmengine_home'
    home.mkdir()
    marker = tmp_path / 'pwned'
    torch.save({'meta': {'x': _Payload(marker)}}, home / 'evil_local.pth')
    (home / 'open_mmlab.json').write_text(
        json.dumps({'efl/evil_local': 'evil_local.pth'}))
    with pytest.raises(UnsafeCheckpointError, match='evil_local.pth'):
        CheckpointLoader.load_checkpoint('open-mmlab://efl/evil_local')
    assert not marker.exists()


def test_deprecated_open_mmlab_name_is_renamed_with_a_warning(
        trained, http_server, tmp_path):
    """MMEngine's table of renamed models (``resnet50_caffe`` is now
    ``detectron/resnet50_caffe``)."""
    www, base = http_server
    shutil.copy(trained[1] / 'iter_4.pth', www / 'caffe.pth')
    home = tmp_path / 'mmengine_home'
    home.mkdir()
    (home / 'open_mmlab.json').write_text(
        json.dumps({'detectron/resnet50_caffe': f'{base}/caffe.pth'}))
    with CapturedLog() as log:
        loaded = CheckpointLoader.load_checkpoint(
            'open-mmlab://resnet50_caffe', map_location='cpu')
    assert ('WARNING open-mmlab://resnet50_caffe is deprecated in favor of '
            'open-mmlab://detectron/resnet50_caffe') in log.text
    assert loaded['meta'] == load_checkpoint_safely(
        str(trained[1] / 'iter_4.pth'))['meta']


def test_https_names_go_through_the_safe_download(monkeypatch):
    """A model name that stands for an https URL is downloaded and checked
    like an http one (no https server here: the download is recorded)."""
    url = 'https://example.invalid/models/r18.pth'
    monkeypatch.setattr(mmengine_checkpoint, 'get_torchvision_models',
                        lambda: {'efl/r18': url})
    calls = []
    monkeypatch.setattr(safe_checkpoint, 'load_from_safe_http',
                        lambda *args: calls.append(args) or {'ok': 1})
    assert CheckpointLoader.load_checkpoint(
        'torchvision://efl/r18', map_location='cpu') == {'ok': 1}
    assert calls == [(url, 'cpu')]


def test_registration_restores_every_safe_loader(monkeypatch):
    """Another package may register MMEngine's own loaders again; calling
    ``register_checkpoint_loader`` puts the safe ones back, for local
    paths and every scheme MMEngine loads through torch.hub."""
    monkeypatch.setattr(CheckpointLoader, '_schemes',
                        dict(CheckpointLoader._schemes))
    for prefix in ('https://', ''):
        CheckpointLoader.register_scheme(
            prefixes=prefix, loader=mmengine_checkpoint.load_from_http,
            force=True)
    register_checkpoint_loader()
    for prefix in ('', 'http://', 'https://', 'torchvision://',
                   'modelzoo://', 'open-mmlab://', 'openmmlab://',
                   'mmcls://'):
        loader = CheckpointLoader._get_checkpoint_loader(prefix + 'x.pth')
        assert loader.__name__.startswith('load_from_safe_'), prefix


def test_scoped_loading_puts_mmengine_loaders_back(mmengine_loaders):
    """``safe_checkpoint_loading`` (the analysis tools' readers) installs
    the safe loaders for its block only, also when the block fails."""
    stock = dict(CheckpointLoader._schemes)
    assert _loader_names()[''] == 'load_from_local'
    with safe_checkpoint_loading():
        inside = _loader_names()
    assert dict(CheckpointLoader._schemes) == stock
    with pytest.raises(KeyError):
        with safe_checkpoint_loading():
            raise KeyError('in the block')
    assert dict(CheckpointLoader._schemes) == stock
    assert inside.pop('s3://') == 'load_from_ceph'  # not ours to replace
    assert all(name.startswith('load_from_safe_')
               for name in inside.values()), inside


def test_config_hook_installs_the_loaders_before_the_runner_loads(
        trained, tmp_path, mmengine_loaders, capsys):
    """``custom_hooks=[dict(type='SafeCheckpointHook')]``, for a config run
    by another entry point (mmdet's tools/train.py, a Runner of one's own):
    a resume loads the checkpoint with the safe loader (MMEngine's own fails
    on torch >= 2.6 and unpickles in full before)."""
    cfg_path, trained_work = trained
    work = tmp_path / 'work'
    shutil.copytree(trained_work, work)
    (work / 'last_checkpoint').write_text(str(work / 'iter_4.pth'))
    cfg = Config.fromfile(str(cfg_path))
    cfg.work_dir = str(work)
    cfg.train_cfg.max_iters = 6
    cfg.resume = True
    cfg.custom_hooks.append(dict(type='SafeCheckpointHook'))
    runner = Runner.from_cfg(cfg)
    assert any(isinstance(h, SafeCheckpointHook) for h in runner.hooks)
    assert _loader_names()[''] == 'load_from_local'  # not before the run
    runner.train()
    # the Runner resumes without a logger: MMEngine prints the line
    assert 'Loads checkpoint by safe_local backend' in capsys.readouterr().out
    assert runner.iter == 6
    assert _loader_names()[''] == 'load_from_safe_local'


def test_torchvision_names_resolve_without_torchvision(http_server,
                                                       tmp_path):
    """``torchvision://resnet50`` (mmdet's configs) resolves through
    MMEngine's table even where torchvision is not installed; a file already
    in torch.hub's cache is not downloaded again, but still checked."""
    cache = tmp_path / 'torch_home/hub/checkpoints'
    cache.mkdir(parents=True)
    marker = tmp_path / 'pwned'
    torch.save({'meta': {'x': _Payload(marker)}},
               cache / 'resnet50-0676ba61.pth')
    with pytest.raises(UnsafeCheckpointError,
                       match='download.pytorch.org/models/resnet50'):
        CheckpointLoader.load_checkpoint('torchvision://resnet50')
    assert not marker.exists()


def test_runner_load_from_url_and_pretrained_init(trained, http_server,
                                                  tmp_path, monkeypatch):
    """What users write: ``load_from='http://...'`` and
    ``init_cfg=dict(type='Pretrained', checkpoint='torchvision://...')``."""
    www, base = http_server
    cfg_path, work = trained
    shutil.copy(work / 'iter_4.pth', www / 'iter_4.pth')
    saved = load_checkpoint_safely(str(work / 'iter_4.pth'))['state_dict']
    cfg = Config.fromfile(str(cfg_path))
    cfg.work_dir = str(tmp_path / 'work')
    cfg.load_from = f'{base}/iter_4.pth'
    runner = Runner.from_cfg(cfg)
    runner.load_or_resume()
    loss = runner.model.bbox_head.loss_cls
    assert torch.equal(loss.neg_grad, saved['bbox_head.loss_cls.neg_grad'])

    from mmdet.registry import MODELS
    backbone = runner.model.backbone
    torch.save({'state_dict': backbone.state_dict()}, www / 'r18.pth')
    name = _name_url(monkeypatch, tmp_path, 'torchvision', f'{base}/r18.pth')
    fresh = MODELS.build(dict(
        type='ResNet', depth=18, base_channels=32, out_indices=(1, 2, 3),
        init_cfg=dict(type='Pretrained', checkpoint=name)))
    fresh.init_weights()
    for key, value in backbone.state_dict().items():
        assert torch.equal(fresh.state_dict()[key], value), key


if __name__ == '__main__':
    sys.exit(pytest.main([__file__]))
