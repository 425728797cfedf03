"""Test-time candidate selection of the improved baseline, old against new,
on trained checkpoints.

``ATSSIoUHead`` keeps, per level, the ``nms_pre`` (anchor, class) pairs of
highest ``sigmoid(cls) * sigmoid(iou)`` (the score that is reported, as the
EFL authors' predictor ranks them). mmdet's stock ``ATSSHead`` ranks by the
class score alone and multiplies by the branch afterwards; that is what the
head did before, and what ``use_iou_branch=False`` still does at test time.
Both are evaluated here on the same weights, so that the difference is the
selection alone.
"""
import os
import os.path as osp
import tempfile
import uuid
from typing import Dict, Sequence

from mmengine.config import Config
from mmengine.runner import Runner

from mmdet_efl.datasets.longtail import METRIC_KEYS
from mmdet_efl.engine import safe_checkpoint_loading

#: the two selections: name -> ``use_iou_branch`` of the head at test time
SELECTIONS = {'cls': False, 'cls x IoU': True}


def _metrics(runner: Runner, keys: Sequence[str]) -> Dict[str, float]:
    metrics = runner.test()
    prefix = next(k for k in metrics if k.endswith('bbox_AP'))[:-2]
    return {k: float(metrics[prefix + k]) for k in keys}


def compare_candidate_selection(
        config: str, checkpoint: str,
        keys: Sequence[str] = METRIC_KEYS
) -> Dict[str, Dict[str, float]]:
    """Tests ``checkpoint`` under both selections of :data:`SELECTIONS`.

    Args:
        config: the run's config (the one MMEngine saved in its work dir).
        checkpoint: its weights.
        keys: the metric's ``bbox_<key>`` values to return.

    Returns:
        ``{selection: {key: value}}``, values as the metric gives them
        (fractions for ``LVISBoxMetric``).

    Raises:
        TypeError: the config's head has no ``use_iou_branch`` (not an
            ``ATSSIoUHead``).
        FileNotFoundError: ``checkpoint`` does not exist.
    """
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f'no checkpoint {checkpoint}')
    cfg = Config.fromfile(config)
    cfg.load_from = checkpoint
    cfg.custom_hooks = []
    # MMEngine keeps one visualizer per name per process: a fresh name for
    # every call, or the next would write into this call's removed tmp dir
    name = f'selection_{uuid.uuid4().hex}'
    cfg.visualizer.name = name
    cfg.experiment_name = name
    # the Runner loads the checkpoint (load_from) with the safe loaders,
    # installed for this call only
    with tempfile.TemporaryDirectory() as tmp, safe_checkpoint_loading():
        cfg.work_dir = tmp
        runner = Runner.from_cfg(cfg)
        head = runner.model.bbox_head
        if not hasattr(head, 'use_iou_branch'):
            raise TypeError(f'{config}: {type(head).__name__} has no '
                            'use_iou_branch; compare_candidate_selection '
                            'needs an ATSSIoUHead')
        out = {}
        for selection, iou_first in SELECTIONS.items():
            # read at prediction time only: the weights stay those trained
            head.use_iou_branch = iou_first
            out[selection] = _metrics(runner, keys)
    return out


def run_files(work_dir: str) -> Dict[str, str]:
    """The saved config and the last checkpoint of a finished run.

    Returns:
        ``{'config': path, 'checkpoint': path}``.

    Raises:
        FileNotFoundError: ``work_dir`` has no ``last_checkpoint`` or not
            exactly one config file at its top level.
    """
    pointer = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(pointer):
        raise FileNotFoundError(f'{work_dir}: no last_checkpoint (not a '
                                'finished MMEngine run)')
    with open(pointer) as f:
        checkpoint = f.read().strip()
    if not osp.isabs(checkpoint) and not osp.isfile(checkpoint):
        checkpoint = osp.join(work_dir, osp.basename(checkpoint))
    configs = sorted(f for f in os.listdir(work_dir) if f.endswith('.py'))
    if len(configs) != 1:
        raise FileNotFoundError(f'{work_dir}: expected one saved config '
                                f'(*.py), found {configs or "none"}')
    return dict(config=osp.join(work_dir, configs[0]), checkpoint=checkpoint)
