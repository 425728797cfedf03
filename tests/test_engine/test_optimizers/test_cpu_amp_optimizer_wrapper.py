"""``tools/train.py --amp`` on a CPU-only machine: bf16 autocast with a CPU
GradScaler (CPUAmpOptimWrapper). A few iterations of the demo config stay
finite and their EFL statistics match an fp32 run."""
import math

import pytest
import torch
from mmengine.optim import AmpOptimWrapper

from mmdet_efl.engine import CPUAmpOptimWrapper
from mmdet_efl.engine.launch import train
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
    # the dynamic loss scale was applied (and never hit an overflow)
    assert wrapper.loss_scaler.get_scale() == 2.0**16
    loss_a = fp32.model.bbox_head.loss_cls
    loss_b = amp.model.bbox_head.loss_cls
    assert loss_b._loss_scale == 2.0**16  # handed over by the hook
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
    assert ckpt['optimizer']['loss_scaler']['scale'] == 2.0**16


def test_wrapper_refuses_other_dtypes():
    params = [torch.nn.Parameter(torch.zeros(2))]
    with pytest.raises(ValueError, match="only dtype='bfloat16'"):
        CPUAmpOptimWrapper(optimizer=torch.optim.SGD(params, lr=0.1),
                           dtype='float16')
    with pytest.raises(ValueError, match='loss_scale must be'):
        CPUAmpOptimWrapper(optimizer=torch.optim.SGD(params, lr=0.1),
                           loss_scale=512)
    static = CPUAmpOptimWrapper(optimizer=torch.optim.SGD(params, lr=0.1),
                                loss_scale=512.0)
    assert static.loss_scaler.get_scale() == 512.0
