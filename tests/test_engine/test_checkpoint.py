"""Safe checkpoint loading: resume works on torch >= 2.6, pickled code is
refused before it runs."""
import pickle
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import CheckpointLoader, Runner
from mmengine.runner.checkpoint import load_from_local

import mmdet_efl  # noqa: F401
from mmdet_efl.engine import (UnsafeCheckpointError, load_checkpoint_safely)
from tests.helpers import write_tiny_config


class _Payload:
    """Unpickling this creates ``path``: a stand-in for a malicious
    checkpoint (``os.system`` would do the same through the same door)."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, 'w'))


def test_local_scheme_is_ours():
    assert CheckpointLoader._get_checkpoint_loader('work/x.pth') is \
        load_checkpoint_safely


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


def test_trusted_opt_out_loads_full_pickle(tmp_path, monkeypatch):
    ckpt = tmp_path / 'legacy.pth'
    torch.save({'meta': {'opts': pytest.approx(1.0)}}, ckpt)
    with pytest.raises(UnsafeCheckpointError):
        load_checkpoint_safely(str(ckpt))
    monkeypatch.setenv('MMDET_EFL_TRUST_CHECKPOINTS', '1')
    assert load_checkpoint_safely(str(ckpt))['meta']['opts'] == 1.0


def test_missing_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        load_checkpoint_safely(str(tmp_path / 'nope.pth'))


def test_resume_continues_with_the_same_efl_state(tiny_lvis, tmp_path):
    work = tmp_path / 'work'
    cfg_path = write_tiny_config(tmp_path / 'tiny.py', tiny_lvis,
                                 max_iters=4, checkpoint_interval=2)
    cfg = Config.fromfile(str(cfg_path))
    cfg.work_dir = str(work)
    first = Runner.from_cfg(cfg)
    first.train()
    ckpt = work / 'iter_4.pth'
    # The stock MMEngine loader cannot read its own checkpoint on torch>=2.6
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


if __name__ == '__main__':
    sys.exit(pytest.main([__file__]))
