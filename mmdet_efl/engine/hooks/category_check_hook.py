"""Stops a run whose model and data disagree on the categories.

Two configuration mistakes otherwise train silently wrong:

* A dataset with more categories than the classifier: mmdet assigns the
  extra categories labels that no output column holds, so their instances
  train as background, and a run exits 0 without a warning. (With fewer
  categories, the metric maps labels past the dataset's categories to
  nothing.) :func:`check_categories` compares the dataset's number of
  categories with ``num_classes`` of every head and loss of the model.
* Resuming into a config with another number of classes: MMEngine loads
  the checkpoint non-strictly, keeps the model's freshly initialised
  classifier and EFL statistics where shapes differ (it only warns), then
  fails in the optimizer's first step with a tensor-size mismatch.
  :func:`check_resume` refuses the checkpoint before anything of it is
  loaded. Fine-tuning with ``load_from`` (no ``resume``) is unaffected:
  re-initialising the mismatched layers is what it is for.

:class:`CategoryCheckHook` runs both. So that every config with a
category-adaptive loss is covered, :class:`GradientCollectorHook` runs this
hook's training checks where the config registers no CategoryCheckHook
(never a second time, and never past its ``ignore``).
"""
import re
from typing import Iterable, List, Optional, Tuple

from mmdet.models.dense_heads import (CascadeRPNHead, EmbeddingRPNHead,
                                      GARPNHead, RPNHead)
from mmdet.models.roi_heads.mask_heads import FusedSemanticHead
from mmdet.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from torch import nn

from mmdet_efl.datasets.longtail import num_labels, unwrap_dataset

#: Modules whose ``num_classes`` is not the dataset's: class-agnostic
#: proposal heads (1 class) and HTC's stuff segmentation head.
NOT_CATEGORY_CLASSIFIERS = (RPNHead, GARPNHead, CascadeRPNHead,
                            EmbeddingRPNHead, FusedSemanticHead)


def unwrapped(model: nn.Module) -> nn.Module:
    """The model under a DDP/FSDP wrapper."""
    return model.module if is_model_wrapper(model) else model


def classifiers(model: nn.Module,
                ignore: Iterable[str] = ()) -> List[Tuple[str, int]]:
    """``(module name, num_classes)`` of every module of ``model`` with an
    integer ``num_classes`` (heads, losses), except those under a
    :data:`NOT_CATEGORY_CLASSIFIERS` module or under a name in
    ``ignore``."""
    skipped = tuple(f'{name}.' for name in ignore)
    found = []
    for name, module in unwrapped(model).named_modules():
        if isinstance(module, NOT_CATEGORY_CLASSIFIERS) or \
                f'{name}.'.startswith(skipped):
            skipped += (f'{name}.', )
            continue
        value = getattr(module, 'num_classes', None)
        if isinstance(value, int) and not isinstance(value, bool):
            found.append((name or type(module).__name__, value))
    return found


def dataset_categories(dataset) -> int:
    """The number of labels of ``dataset`` (under any dataset wrappers)."""
    return num_labels(unwrap_dataset(dataset))


def check_categories(model: nn.Module, dataset, split: str = 'training',
                     ignore: Iterable[str] = ()) -> None:
    """Raises ValueError unless every head and loss of ``model``
    (:func:`classifiers`) has ``num_classes`` equal to the number of
    categories of ``dataset``; the message names both numbers and the
    modules."""
    categories = dataset_categories(dataset)
    wrong = [(name, n) for name, n in classifiers(model, ignore)
             if n != categories]
    if wrong:
        modules = ', '.join(f'{name} has num_classes={n}'
                            for name, n in wrong)
        raise ValueError(
            f'The {split} dataset has {categories} categories, but {modules}.'
            f' Instances of a category without an output column would '
            f'train as background. Set num_classes={categories} in the head '
            'and its loss_cls, or select the classes the model is built for '
            "with the dataset's metainfo=dict(classes=...).")


def check_resume(model: nn.Module, checkpoint: dict,
                 revise_keys: Iterable[Tuple[str, str]] = (
                     (r'^module\.', ''), )) -> None:
    """Raises ValueError if a tensor of ``checkpoint['state_dict']`` has
    another shape than the same tensor of ``model`` (e.g. the classifier
    and the EFL statistics after a change of ``num_classes``), listing
    every such tensor with both shapes. ``revise_keys`` are MMEngine's
    default key rewrites of ``Runner.load_checkpoint``."""
    state = checkpoint.get('state_dict', checkpoint)
    own = unwrapped(model).state_dict()
    changed = []
    for key, value in state.items():
        for pattern, repl in revise_keys:
            key = re.sub(pattern, repl, key)
        if key in own and hasattr(value, 'shape') and \
                tuple(value.shape) != tuple(own[key].shape):
            changed.append(f'{key}: {tuple(value.shape)} in the checkpoint, '
                           f'{tuple(own[key].shape)} in the model')
    if changed:
        classes = ', '.join(f'{name} num_classes={n}'
                            for name, n in classifiers(model))
        raise ValueError(
            'Cannot resume: the checkpoint was trained with a different '
            f'model ({len(changed)} tensors changed shape: '
            + '; '.join(changed) + ')'
            + (f'. The model now has {classes}' if classes else '')
            + '. A resumed run must keep the model of the checkpoint; to '
            'start from its weights with other classes, use load_from '
            'without resume.')


def is_resuming(runner) -> bool:
    """Whether the runner loads its checkpoint to resume (``resume=True``)
    rather than to initialise the weights (``load_from`` alone)."""
    # MMEngine's Runner has no public flag for it
    return bool(runner._resume)


@HOOKS.register_module()
class CategoryCheckHook(Hook):
    """Refuses, before anything trains or is evaluated, a dataset whose
    number of categories differs from the model's ``num_classes``
    (:func:`check_categories`), and a resumed checkpoint whose tensors
    have other shapes than the model's (:func:`check_resume`)::

        custom_hooks = [dict(type='CategoryCheckHook')]

    Args:
        ignore: names of modules (and their submodules) whose
            ``num_classes`` is not the dataset's (e.g. an auxiliary head
            on other labels).
    """

    priority = 'VERY_HIGH'

    def __init__(self, ignore: Optional[Iterable[str]] = None) -> None:
        self.ignore = tuple(ignore or ())

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if is_resuming(runner):
            check_resume(runner.model, checkpoint)

    def before_train(self, runner) -> None:
        check_categories(runner.model, runner.train_dataloader.dataset,
                         'training', self.ignore)

    def before_val(self, runner) -> None:
        check_categories(runner.model, runner.val_dataloader.dataset,
                         'validation', self.ignore)

    def before_test(self, runner) -> None:
        check_categories(runner.model, runner.test_dataloader.dataset,
                         'test', self.ignore)
