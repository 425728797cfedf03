"""Per-category focusing factor ``gamma_j`` and gradient ratio ``G_j`` of a
trained category-adaptive loss against the category's number of training
images (EFL eq. 3 and the ``gamma_j = gamma_b + s (1 - G_j)`` of sec. 3.2).
"""
from typing import Dict, Optional, Sequence

import numpy as np
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import CheckpointLoader

from mmdet.registry import MODELS
from mmdet_efl.datasets.longtail import frequency_group
from mmdet_efl.engine.checkpoint import safe_checkpoint_loading
from mmdet_efl.models.losses import CategoryAdaptiveLoss
from mmdet_efl.utils.figures import save_figure, subplots
from .category_axis import group_colours, group_legend


def category_state_from_checkpoint(cfg: Config, checkpoint: str,
                                   loss_key: str = 'bbox_head.loss_cls'
                                   ) -> Dict[str, np.ndarray]:
    """Builds the config's classification loss, loads its saved gradient
    statistics from ``checkpoint`` and returns its per-category values
    (``gamma`` and ``grad_ratio`` for EFL, ``grad_ratio`` for EQLv2).

    The checkpoint (a path or a URL MMEngine knows) is read with the safe
    loaders (:mod:`mmdet_efl.engine.checkpoint`), installed for this read
    only.

    Raises:
        TypeError: the config's loss at ``loss_key`` keeps no per-category
            state.
        KeyError: the checkpoint holds no state of that loss.
        UnsafeCheckpointError: the checkpoint holds objects outside the
            allow-list.
    """
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    module_cfg = cfg.model
    for part in loss_key.split('.'):
        module_cfg = module_cfg[part]
    loss = MODELS.build(module_cfg)
    if not isinstance(loss, CategoryAdaptiveLoss):
        raise TypeError(f'{loss_key} is {type(loss).__name__}, which has no '
                        'per-category state; use a config of EFL, EQFL or '
                        'EQLv2')
    with safe_checkpoint_loading():
        state = CheckpointLoader.load_checkpoint(checkpoint,
                                                 map_location='cpu')
    state = state.get('state_dict', state)
    prefix = loss_key + '.'
    own = {k[len(prefix):]: v for k, v in state.items()
           if k.startswith(prefix)}
    if not own:
        raise KeyError(f'{checkpoint} holds no {prefix}* entries: was it '
                       f'trained with {type(loss).__name__}?')
    loss.load_state_dict(own)
    return {k: v.cpu().numpy() for k, v in loss.category_values().items()}


def plot_focusing_factors(values: Dict[str, np.ndarray],
                          image_counts: Sequence[int], out_file: str,
                          title: Optional[str] = None) -> Dict[str, list]:
    """Scatter of each per-category value (``gamma``, ``grad_ratio``)
    against training-image count, coloured by LVIS frequency group.
    Returns the plotted numbers."""
    labels = {'gamma': r'focusing factor $\gamma_j$',
              'grad_ratio': r'gradient ratio $G_j$'}
    counts = np.asarray(image_counts)
    groups = [frequency_group(int(n)) for n in counts]
    colours = group_colours(groups)
    fig, axes = subplots(1, len(values), figsize=(5 * len(values), 3.8),
                         squeeze=False)
    for ax, (key, v) in zip(axes[0], values.items()):
        ax.scatter(counts, v, c=colours, s=22)
        ax.set_xscale('log')
        ax.set_xlabel('training images of the category')
        ax.set_ylabel(labels.get(key, key))
        ax.grid(alpha=0.3)
    group_legend(axes[0][0], groups)
    save_figure(fig, out_file, title=title)
    return dict(image_count=counts.tolist(), group=groups,
                **{k: np.asarray(v).tolist() for k, v in values.items()})
