"""Mixed-precision training on machines without an accelerator.

MMEngine 0.10.7's ``AmpOptimWrapper`` asserts CUDA (or NPU, MLU, MUSA) in
its constructor, although the rest of it works on CPU: its
``optim_context`` enters ``mmengine.runner.amp.autocast``, which on CPU is
``torch.autocast('cpu', dtype=torch.bfloat16)``, and torch's ``GradScaler``
runs on CPU (``torch.amp.GradScaler('cpu')``). ``tools/train.py --amp``
picks this wrapper when CUDA is absent, so AMP runs can be tried and tested
on CPU with the same backward, loss scaling, unscaling and skipped steps as
on a GPU.
"""
from typing import Optional, Union

import torch
from mmengine.optim import AmpOptimWrapper, OptimWrapper
from mmdet.registry import OPTIM_WRAPPERS


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
            self.loss_scaler = torch.amp.GradScaler('cpu')
        elif isinstance(loss_scale, float):
            self._scale_update_param = loss_scale
            self.loss_scaler = torch.amp.GradScaler('cpu',
                                                    init_scale=loss_scale)
        elif isinstance(loss_scale, dict):
            self.loss_scaler = torch.amp.GradScaler('cpu', **loss_scale)
        else:
            raise ValueError('CPUAmpOptimWrapper: loss_scale must be '
                             "'dynamic', a float or a dict, got "
                             f'{loss_scale!r}')
