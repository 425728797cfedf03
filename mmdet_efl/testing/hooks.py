"""Hooks that let a test look into a run's processes."""
import os

import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmdet.registry import HOOKS


@HOOKS.register_module()
class DumpStateHook(Hook):
    """Saves each rank's final model state to ``work_dir/state_rank{r}.pth``
    (a test compares the ranks of a distributed run)."""

    def after_run(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        torch.save({k: v.detach().cpu() for k, v in
                    model.state_dict().items()},
                   os.path.join(runner.work_dir,
                                f'state_rank{get_rank()}.pth'))
