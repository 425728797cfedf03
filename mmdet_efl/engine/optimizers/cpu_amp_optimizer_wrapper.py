"""Mixed-precision training on machines without an accelerator.

MMEngine 0.10.7's ``AmpOptimWrapper`` asserts CUDA (or NPU, MLU, MUSA) in
its constructor, although the rest of it works on CPU: its
``optim_context`` enters ``mmengine.runner.amp.autocast``, which on CPU is
``torch.autocast('cpu', dtype=torch.bfloat16)``, and torch's ``GradScaler``
runs on CPU (``torch.amp.GradScaler('cpu')``). ``tools/train.py --amp``
picks this wrapper when CUDA is absent, so AMP runs can be tried and tested
on CPU with the same backward, loss scaling, unscaling and skipped steps as
on a GPU.

torch < 2.3 has no CPU ``GradScaler``: there the wrapper runs bf16 autocast
without loss scaling (bf16 needs none: it has fp32's exponent range), says
so in the log, and refuses an explicit static or configured loss scale,
which it could not honour.
"""
import logging
from typing import Optional, Union

import torch
from mmengine.logging import print_log
from mmengine.optim import AmpOptimWrapper, OptimWrapper
from mmdet.registry import OPTIM_WRAPPERS

from mmdet_efl.utils.compat import CPU_GRAD_SCALER, cpu_grad_scaler


@OPTIM_WRAPPERS.register_module()
class CPUAmpOptimWrapper(AmpOptimWrapper):
    """``AmpOptimWrapper`` on CPU: bf16 autocast and a CPU ``GradScaler``.

    bf16 has fp32's exponent range, so loss scaling is not needed to keep
    small gradients; it is kept (``'dynamic'`` by default, as
    ``--amp`` sets) so that the loss-scale path of the training step is the
    one GPUs run.

    Args:
        loss_scale: ``'dynamic'``, a float (static scale) or a dict of
            ``torch.amp.GradScaler`` arguments, as in ``AmpOptimWrapper``.
        dtype: the autocast dtype; CPU autocast supports only
            ``'bfloat16'`` (the default).
        **kwargs: passed to ``OptimWrapper`` (``optimizer``,
            ``clip_grad``, ``accumulative_counts``).

    Raises:
        ValueError: another dtype than bfloat16, or a ``loss_scale`` of
            another type.
    """

    def __init__(self,
                 loss_scale: Union[str, float, dict] = 'dynamic',
                 dtype: Optional[Union[str, torch.dtype]] = 'bfloat16',
                 **kwargs) -> None:
        # AmpOptimWrapper.__init__ only adds the device assertion and the
        # attributes set here; its backward, step, state_dict and
        # optim_context are inherited unchanged.
        OptimWrapper.__init__(self, **kwargs)
        if dtype not in (None, 'bfloat16', torch.bfloat16):
            raise ValueError('CPUAmpOptimWrapper: CPU autocast supports only '
                             f"dtype='bfloat16', got {dtype!r}")
        self.cast_dtype = torch.bfloat16
        self._scale_update_param = None
        if loss_scale == 'dynamic':
            scaler_args = {}
        elif isinstance(loss_scale, float):
            self._scale_update_param = loss_scale
            scaler_args = dict(init_scale=loss_scale)
        elif isinstance(loss_scale, dict):
            scaler_args = loss_scale
        else:
            raise ValueError('CPUAmpOptimWrapper: loss_scale must be '
                             "'dynamic', a float or a dict, got "
                             f'{loss_scale!r}')
        if CPU_GRAD_SCALER:
            self.loss_scaler = cpu_grad_scaler(**scaler_args)
            return
        if loss_scale != 'dynamic':
            raise ValueError(
                f'CPUAmpOptimWrapper: loss_scale={loss_scale!r} needs a '
                'CPU GradScaler, which torch >= 2.3 has (found torch '
                f"{torch.__version__}); use loss_scale='dynamic' to "
                'train bf16 without loss scaling')
        print_log(
            f'CPUAmpOptimWrapper: torch {torch.__version__} has no CPU '
            'GradScaler (torch >= 2.3): bf16 autocast runs without loss '
            'scaling, which bf16 does not need', logger='current',
            level=logging.WARNING)
        # A disabled scaler: scale() returns the loss as it is and step()
        # steps, so AmpOptimWrapper's methods run unchanged.
        self.loss_scaler = torch.cuda.amp.GradScaler(enabled=False)
