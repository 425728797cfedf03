"""What a run's checkpoints tell: the loss's gradient sums, the
classification bias, and the bias's weight decay, learning rate and
optimiser type from the saved optimiser state."""
import os.path as osp
import re
from dataclasses import dataclass
from pathlib import Path
from typing import List, Mapping, NamedTuple, Optional, Tuple

import numpy as np
import torch


def find_checkpoints(work_dir: str) -> List[str]:
    """``iter_N.pth`` / ``epoch_N.pth`` of a work dir, oldest first (none
    if the folder does not exist). The work dir's name is taken literally,
    glob characters (``work_dirs/atss[efl]``) included."""
    paths = [str(path) for path in Path(work_dir).glob('*.pth')]

    def key(path: str) -> Tuple[int, int]:
        m = re.match(r'(iter|epoch)_(\d+)\.pth$', osp.basename(path))
        return (0, 0) if m is None else (1, int(m[2]))
    return sorted((p for p in paths if key(p)[0]), key=key)


@dataclass
class CheckpointState:
    """A category-adaptive loss's state in one checkpoint.

    Attributes:
        path: the checkpoint file.
        iteration: the iteration it was saved at (``meta.iter``), or None.
        loss_key: the loss module's name (``bbox_head.loss_cls``).
        pos_grad, neg_grad: the loss's accumulated sums ``[C]``, float64.
        bias: the classification bias per category, summed over its
            entries (:func:`classifier_bias`), or None.
        bias_decay, bias_lr: the bias's optimiser group's ``weight_decay``
            and ``lr``, or None where the group can not be told.
        optimizer: ``'SGD'`` or ``'Adam'`` (any optimiser with betas),
            None if unknown.
    """
    path: str
    iteration: Optional[int]
    loss_key: str
    pos_grad: np.ndarray
    neg_grad: np.ndarray
    bias: Optional[np.ndarray] = None
    bias_decay: Optional[float] = None
    bias_lr: Optional[float] = None
    optimizer: Optional[str] = None


class ParameterNames(NamedTuple):
    """A model's parameter names in ``named_parameters`` order (the order
    MMEngine's optimiser constructor adds them in): all of them, and the
    trainable ones: with one group per parameter, some MMEngine releases
    (0.10.3) give frozen parameters groups too, others (0.10.7) leave them
    out."""
    all: List[str]
    trainable: List[str]


def read_checkpoint(path: str, loss_key: Optional[str] = None,
                    param_names: Optional[ParameterNames] = None
                    ) -> CheckpointState:
    """The gradient statistics of ``loss_key`` (found by its ``pos_grad``
    buffer when None) and, where it can be told, the per-category
    classification bias, its weight decay and the optimiser type.

    Args:
        path: a checkpoint of MMEngine's ``CheckpointHook``.
        loss_key: the loss module's name (``bbox_head.loss_cls``).
        param_names: the model's parameter names
            (:func:`parameter_names`), to find the bias's optimiser group
            when there is one group per parameter.

    Raises:
        KeyError: the checkpoint holds no category-adaptive loss state, or
            several and ``loss_key`` is not given.
    """
    from mmengine.runner import CheckpointLoader

    from mmdet_efl.engine.checkpoint import safe_checkpoint_loading

    # MMEngine's own local loader cannot read its checkpoints on torch >= 2.6;
    # the safe one is installed for this read only
    with safe_checkpoint_loading():
        ckpt = CheckpointLoader.load_checkpoint(path, map_location='cpu')
    state = ckpt.get('state_dict', ckpt)
    keys = [k[:-len('.pos_grad')] for k in state if k.endswith('.pos_grad')]
    if loss_key is None:
        if len(keys) != 1:
            raise KeyError(
                f'{path}: ' + ('holds no category-adaptive loss state '
                               '(*.pos_grad); was it trained with EFL, EQFL '
                               'or EQLv2&Focal?' if not keys else
                               f'holds several losses {keys}; pick one with '
                               '--loss-key'))
        loss_key = keys[0]
    if loss_key + '.pos_grad' not in state:
        raise KeyError(f'{path}: no {loss_key}.pos_grad (losses with '
                       f'statistics: {keys})')
    pos = state[loss_key + '.pos_grad'].double().numpy()
    neg = state[loss_key + '.neg_grad'].double().numpy()
    meta = ckpt.get('meta', {}) or {}
    it = meta.get('iter')
    out = CheckpointState(path=path, iteration=None if it is None else
                          int(it), loss_key=loss_key, pos_grad=pos,
                          neg_grad=neg)
    names, bias = classifier_bias(state, len(pos))
    if bias is not None:
        out.bias = bias
        group = _param_group_of(ckpt, names[0], param_names)
        if group is not None:
            out.bias_decay = group.get('weight_decay')
            out.bias_lr = group.get('lr')
            # Adam-type groups carry betas; their decay is not the coupled
            # lambda * b of SGD that the stationarity relation assumes
            out.optimizer = 'Adam' if 'betas' in group else 'SGD'
    return out


def classifier_bias(state: Mapping[str, torch.Tensor], num_classes: int
                    ) -> Tuple[Optional[List[str]], Optional[np.ndarray]]:
    """The final classification layer's bias per category, summed over
    every entry of the category.

    The layer is a ``*cls*.bias`` parameter (not of a ``*_convs`` tower)
    with ``k * C`` entries: ``k`` anchors per location, channel ``a * C +
    c`` as mmdet orders them, or one ``cls_branches.<i>`` per decoder layer
    in DETR-like heads. The statistics of the loss add the gradients of all
    of them, so the stationarity relation holds for their sum.

    Returns:
        ``(names, bias [C])``: the parameters found and their sum, or
        ``(None, None)`` if no such parameter is found.
    """
    names = [k for k, v in state.items()
             if k.endswith('.bias') and 'cls' in k and '_convs.' not in k
             and 'loss' not in k and v.dim() == 1 and v.numel() > 0
             and v.numel() % num_classes == 0]
    if not names:
        return None, None
    total = sum(state[k].double().numpy().reshape(-1, num_classes).sum(0)
                for k in names)
    return names, total


def _param_group_of(ckpt: dict, name: str,
                    param_names: Optional[ParameterNames]) -> Optional[dict]:
    """The checkpoint's optimiser group of parameter ``name``: the only
    group, or, given the model's parameter names, the group holding its
    index among those the groups count. None when it can not be told."""
    optim = ckpt.get('optimizer')
    if not optim or 'param_groups' not in optim:
        return None
    groups = optim['param_groups']
    if len(groups) == 1:
        return groups[0]
    if param_names is None:
        return None
    total = sum(len(g['params']) for g in groups)
    order = next((names for names in (param_names.trainable,
                                      param_names.all)
                  if len(names) == total and name in names), None)
    if order is None:
        return None
    index = list(order).index(name)
    return next((g for g in groups if index in g['params']), None)


def parameter_names(cfg) -> ParameterNames:
    """A config's parameter names, all and trainable, in the order
    MMEngine's optimiser constructor indexes them (the model is built, not
    loaded)."""
    from mmengine.registry import init_default_scope

    from mmdet.registry import MODELS
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    model = MODELS.build(cfg.model)
    named = list(model.named_parameters())
    return ParameterNames(all=[n for n, _ in named],
                          trainable=[n for n, p in named if p.requires_grad])
