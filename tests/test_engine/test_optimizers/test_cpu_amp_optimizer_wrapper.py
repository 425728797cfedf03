"""``tools/train.py --amp`` on a CPU-only machine: bf16 autocast with a CPU
GradScaler (CPUAmpOptimWrapper; without loss scaling on torch < 2.3, which
has no CPU GradScaler). A few iterations of the demo config stay finite and
their EFL statistics match an fp32 run."""
import math

import pytest
import torch
from mmengine.optim import AmpOptimWrapper

from mmdet_efl.engine import CPUAmpOptimWrapper
from mmdet_efl.engine.launch import train
from mmdet_efl.engine.optimizers import cpu_amp_optimizer_wrapper
from mmdet_efl.testing import CapturedLog
from mmdet_efl.utils.compat import CPU_GRAD_SCALER
from tests.helpers import write_tiny_config

ITERS = 3
# bf16 rounds the logits the head's conv produces to 8 significant bits.
# Measured on this run: positives' sums 1e-4 relative, negatives' (tiny
# here: far-tail negatives of categories focused with gamma_j up to 10,
# whose |dL/dx| ~ exp(gamma_j x) amplify the rounding) 1.3%; G_j, what
# training uses, unchanged.
POS_RTOL, NEG_RTOL, RATIO_ATOL = 2e-3, 0.05, 1e-3


def _train(cfg, work, amp):
    argv = [str(cfg), '--work-dir', str(work)] + (['--amp'] if amp else [])
    return train(argv)


@pytest.mark.skipif(torch.cuda.is_available(),
                    reason='on CUDA --amp uses mmengine\'s AmpOptimWrapper')
def test_amp_training_on_cpu_matches_fp32(tiny_lvis, tmp_path):
    cfg = write_tiny_config(tmp_path / 'tiny.py', tiny_lvis,
                            max_iters=ITERS, checkpoint_interval=ITERS)
    fp32 = _train(cfg, tmp_path / 'fp32', amp=False)
    amp = _train(cfg, tmp_path / 'amp', amp=True)
    wrapper = amp.optim_wrapper
    assert isinstance(wrapper, CPUAmpOptimWrapper)
    assert isinstance(wrapper, AmpOptimWrapper)
    assert wrapper.cast_dtype == torch.bfloat16
    # the dynamic loss scale was applied (and never hit an overflow);
    # without a CPU GradScaler, none
    scale = 2.0**16 if CPU_GRAD_SCALER else 1.0
    assert wrapper.loss_scaler.get_scale() == scale
    loss_a = fp32.model.bbox_head.loss_cls
    loss_b = amp.model.bbox_head.loss_cls
    assert loss_b._loss_scale == scale  # handed over by the hook
    for key, rtol in (('pos_grad', POS_RTOL), ('neg_grad', NEG_RTOL)):
        a, b = getattr(loss_a, key), getattr(loss_b, key)
        assert torch.isfinite(b).all() and b.sum() > 0
        torch.testing.assert_close(b, a, rtol=rtol, atol=0, msg=key)
    torch.testing.assert_close(loss_b.gradient_ratio(),
                               loss_a.gradient_ratio(), rtol=0,
                               atol=RATIO_ATOL)
    for name, value in amp.model.state_dict().items():
        if value.is_floating_point():
            assert torch.isfinite(value).all(), name
    logged = amp.message_hub.get_scalar('train/loss').current()
    assert math.isfinite(logged)
    # the checkpoint carries the scaler's state for resuming
    ckpt = torch.load(tmp_path / 'amp' / f'iter_{ITERS}.pth',
                      weights_only=False)
    scaler_state = ckpt['optimizer']['loss_scaler']
    if CPU_GRAD_SCALER:
        assert scaler_state['scale'] == 2.0**16
    else:
        assert scaler_state == {}


def test_wrapper_refuses_other_dtypes():
    params = [torch.nn.Parameter(torch.zeros(2))]
    with pytest.raises(ValueError, match="only dtype='bfloat16'"):
        CPUAmpOptimWrapper(optimizer=torch.optim.SGD(params, lr=0.1),
                           dtype='float16')
    with pytest.raises(ValueError, match='loss_scale must be'):
        CPUAmpOptimWrapper(optimizer=torch.optim.SGD(params, lr=0.1),
                           loss_scale=512)
    if CPU_GRAD_SCALER:
        static = CPUAmpOptimWrapper(
            optimizer=torch.optim.SGD(params, lr=0.1), loss_scale=512.0)
        assert static.loss_scaler.get_scale() == 512.0


@pytest.mark.parametrize('loss_scale', ['dynamic', 512.0,
                                        dict(init_scale=8.0)])
def test_without_a_cpu_grad_scaler_bf16_runs_unscaled_and_says_so(
        monkeypatch, loss_scale):
    """torch < 2.3 (simulated here on any torch): 'dynamic' (what --amp
    sets) trains bf16 without loss scaling and warns; a static or configured
    scale, which cannot be honoured, is refused by name."""
    monkeypatch.setattr(cpu_amp_optimizer_wrapper, 'CPU_GRAD_SCALER', False)
    param = torch.nn.Parameter(torch.ones(2))
    optimizer = torch.optim.SGD([param], lr=0.5)
    if loss_scale != 'dynamic':
        with pytest.raises(ValueError) as err:
            CPUAmpOptimWrapper(optimizer=optimizer, loss_scale=loss_scale)
        assert str(err.value) == (
            f'CPUAmpOptimWrapper: loss_scale={loss_scale!r} needs a CPU '
            f'GradScaler, which torch >= 2.3 has (found torch '
            f"{torch.__version__}); use loss_scale='dynamic' to train bf16 "
            'without loss scaling')
        return
    with CapturedLog() as log:
        wrapper = CPUAmpOptimWrapper(optimizer=optimizer)
    assert (f'WARNING CPUAmpOptimWrapper: torch {torch.__version__} has no '
            'CPU GradScaler (torch >= 2.3): bf16 autocast runs without loss '
            'scaling, which bf16 does not need') in log.text
    assert wrapper.loss_scaler.get_scale() == 1.0
    with wrapper.optim_context(torch.nn.Linear(1, 1)):
        loss = (param * torch.tensor([1.0, 3.0])).sum()
    wrapper.update_params(loss)
    # d loss / d param = (1, 3), unscaled: one SGD step of lr 0.5
    assert param.tolist() == [0.5, -0.5]
    assert wrapper.state_dict()['loss_scaler'] == {}
