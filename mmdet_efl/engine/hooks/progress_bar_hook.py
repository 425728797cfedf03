"""A tqdm progress bar for training and testing loops."""
from typing import Optional

from mmdet.registry import HOOKS
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from tqdm import tqdm


@HOOKS.register_module()
class ProgressBarHook(Hook):
    """Shows training iterations (with the current loss) and test batches
    as tqdm bars on the main process.

    Args:
        desc: prefix of the bars, e.g. the run's name.
        position: the terminal line of the bars (tqdm's ``position``), so
            that runs in parallel processes keep a line each.
    """

    priority = 'LOW'

    def __init__(self, desc: str = '', position: Optional[int] = None
                 ) -> None:
        self.desc = desc
        self.position = position
        self._bar: Optional[tqdm] = None

    def _open(self, total: int, what: str, initial: int = 0) -> None:
        if is_main_process():
            label = f'{self.desc} {what}'.strip()
            self._bar = tqdm(total=total, initial=initial, desc=label,
                             dynamic_ncols=True, leave=True,
                             position=self.position)

    def _close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def before_train(self, runner) -> None:
        self._open(runner.max_iters, 'train', runner.iter)

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        if self._bar is not None:
            if outputs and 'loss' in outputs:
                loss = outputs['loss']
                if hasattr(loss, 'detach'):
                    loss = loss.detach()
                loss = float(loss)
                self._bar.set_postfix(loss=f'{loss:.3f}', refresh=False)
            self._bar.update(1)

    def after_train(self, runner) -> None:
        self._close()

    def before_test_epoch(self, runner) -> None:
        self._open(len(runner.test_dataloader), 'test')

    def after_test_iter(self, runner, batch_idx, data_batch=None,
                        outputs=None) -> None:
        if self._bar is not None:
            self._bar.update(1)

    def after_test_epoch(self, runner, metrics=None) -> None:
        self._close()
