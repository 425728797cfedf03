"""Synchronises and logs the gradient statistics of category-adaptive losses.

EFL, EQFL and EQLv2&Focal steer every category by its accumulated gradient
ratio (EFL eq. 3). Each rank sees different images, so without
synchronisation the ranks' focusing factors drift apart. After every training
iteration this hook all-reduces (SUM) the iteration sums of *all* such losses
in the model in a single collective, then folds them into the running sums,
so that every rank holds identical state. It also logs, per LVIS frequency
group, the mean focusing factor and gradient ratio to the message hub, from
where they reach the text log and TensorBoard.
"""
from collections import OrderedDict
from typing import Dict, List, Optional

import torch
from mmengine.dist import all_reduce, get_world_size
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmdet.datasets import LVISV05Dataset
from mmdet.registry import HOOKS
from torch import Tensor

from mmdet_efl.datasets import frequency_group
from mmdet_efl.models.losses import CategoryAdaptiveLoss


def unwrap_dataset(dataset):
    """The innermost dataset under mmengine/mmdet dataset wrappers
    (``ClassBalancedDataset`` for RFS, ``RepeatDataset``, ...)."""
    while hasattr(dataset, 'dataset'):
        dataset = dataset.dataset
    return dataset


def frequency_groups(dataset) -> Dict[str, List[int]]:
    """Label indices per LVIS frequency group, or ``{'all': [...]}``.

    Groups come from the ``frequency`` field of LVIS-style categories: a
    dataset's metainfo may carry ``frequencies`` (one of ``'r'``, ``'c'``,
    ``'f'`` per class), and mmdet's LVIS datasets (and subclasses such as
    ``StrictLVISV1Dataset``) keep ``cat_img_map``, from
    which the group follows by LVIS's own definition (rare: 1-10 training
    images, common: 11-100, frequent: > 100). Other datasets (COCO) have no
    frequency groups.
    """
    dataset = unwrap_dataset(dataset)
    metainfo = getattr(dataset, 'metainfo', {}) or {}
    classes = metainfo.get('classes', ())
    freqs = metainfo.get('frequencies')
    if freqs is None and isinstance(dataset, LVISV05Dataset):
        counts = [len(set(dataset.cat_img_map.get(cat_id, ())))
                  for cat_id in dataset.cat_ids]
        freqs = [frequency_group(n) for n in counts]
    if freqs is None:
        return {'all': list(range(len(classes)))}
    names = {'r': 'rare', 'c': 'common', 'f': 'frequent'}
    groups: Dict[str, List[int]] = OrderedDict(
        (name, []) for name in names.values())
    for label, freq in enumerate(freqs):
        groups[names[freq]].append(label)
    return groups


@HOOKS.register_module()
class GradientCollectorHook(Hook):
    """All-reduces and folds EFL-family gradient statistics every iteration.

    Add it to configs that train :class:`CategoryAdaptiveLoss` losses::

        custom_hooks = [dict(type='GradientCollectorHook')]

    Args:
        log_values: log the per-group means of the losses'
            ``category_values()`` (e.g. ``gamma`` and ``grad_ratio`` for EFL)
            as ``train/<loss>/<value>_<group>`` scalars.
    """

    # Before LoggerHook (BELOW_NORMAL) so this iteration's values are logged,
    # and before CheckpointHook (VERY_LOW) so checkpoints hold folded state.
    priority = 'ABOVE_NORMAL'

    def __init__(self, log_values: bool = True) -> None:
        self.log_values = log_values
        self._losses: 'OrderedDict[str, CategoryAdaptiveLoss]' = OrderedDict()
        self._groups: Dict[str, List[int]] = {}

    def before_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        self._losses = OrderedDict(
            (name, module) for name, module in model.named_modules()
            if isinstance(module, CategoryAdaptiveLoss))
        if not self._losses:
            runner.logger.warning(
                'GradientCollectorHook: the model has no category-adaptive '
                'loss (EqualizedFocalLoss, EqualizedQualityFocalLoss, '
                'EQLv2FocalLoss); the hook does nothing.')
            return
        self._groups = frequency_groups(runner.train_dataloader.dataset)
        sizes = {name: len(idx) for name, idx in self._groups.items()}
        runner.logger.info(
            f'GradientCollectorHook: synchronising {list(self._losses)} '
            f'over {get_world_size()} process(es); category groups {sizes}')

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        if not self._losses:
            return
        self.synchronise(list(self._losses.values()))
        if self.log_values:
            for name, loss in self._losses.items():
                self._log(runner, name, loss)

    @staticmethod
    def synchronise(losses: List[CategoryAdaptiveLoss]) -> bool:
        """One all-reduce of every loss's iteration sums, then fold them.

        Returns False if the reduced sums were non-finite (the iteration's
        statistics are skipped on every rank alike)."""
        flat = torch.cat([loss.pending_statistics() for loss in losses])
        if get_world_size() > 1:
            all_reduce(flat, op='sum')
        ok = True
        offset = 0
        for loss in losses:
            size = 2 * loss.num_classes
            ok &= loss.fold_statistics(flat[offset:offset + size])
            offset += size
        return ok

    def _log(self, runner, name: str, loss: CategoryAdaptiveLoss) -> None:
        short = name.split('.')[-1] or type(loss).__name__
        values: Dict[str, Tensor] = loss.category_values()
        for group, labels in self._groups.items():
            labels = [i for i in labels if i < loss.num_classes]
            if not labels:
                continue
            index = torch.as_tensor(labels, device=loss.pos_grad.device)
            for key, per_class in values.items():
                runner.message_hub.update_scalar(
                    f'train/{short}/{key}_{group}',
                    float(per_class[index].mean()))
