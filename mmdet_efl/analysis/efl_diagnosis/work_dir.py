"""The diagnosis of a run's work dir: its logs and checkpoints read, the
loss and the frequency groups taken from its config."""
from typing import Dict, List, Mapping, Optional, Sequence

from ...datasets.longtail import frequency_groups, unwrap_dataset_cfg
from ..training_curves import read_scalars, scalar_series
from .checkpoints import (ParameterNames, find_checkpoints,
                          read_checkpoint)
from .computation import build_criterion, diagnose
from .report import Diagnosis
from .run_log import log_group_series


def train_groups(cfg, ann_file: Optional[str] = None,
                 data_root: Optional[str] = None) -> Dict[str, List[int]]:
    """Labels per LVIS frequency group of a config's training set, as
    GradientCollectorHook forms them (``{'all': ...}`` without frequency
    information). Only the annotations are parsed: no pipeline runs, so a
    config without a test split works too.

    Args:
        cfg: the training config.
        ann_file, data_root: replace the training set's, if given.
    """
    import copy

    from mmengine.registry import init_default_scope

    from mmdet.registry import DATASETS
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    data_cfg = copy.deepcopy(unwrap_dataset_cfg(cfg.train_dataloader.dataset))
    data_cfg.pipeline = []
    data_cfg.pop('filter_cfg', None)
    if ann_file is not None:
        data_cfg.ann_file = ann_file
    if data_root is not None:
        data_cfg.data_root = data_root
    return frequency_groups(DATASETS.build(data_cfg))


def diagnose_work_dir(work_dir: str,
                      checkpoints: Optional[Sequence[str]] = None,
                      groups: Optional[Mapping[str, Sequence[int]]] = None,
                      loss_cfg: Optional[Mapping] = None,
                      loss_key: Optional[str] = None,
                      param_names: Optional[ParameterNames] = None,
                      records: Optional[List[dict]] = None) -> Diagnosis:
    """:func:`~.computation.diagnose` from a work dir: its logs (every
    start of a resumed run,
    :func:`~mmdet_efl.analysis.training_curves.read_scalars`) and its last
    two checkpoints (or ``checkpoints``).

    Args:
        work_dir: the run's ``work_dir``.
        checkpoints: checkpoint files to read instead of the work dir's.
        groups: labels per frequency group (e.g. from
            :func:`~mmdet_efl.datasets.longtail.frequency_groups` of the
            training set); None: the log's groups, and ``'all'`` for
            per-category values.
        loss_cfg: the loss's config (:func:`~.computation.build_criterion`),
            for its rule of ``G_j`` and ``gamma_j``.
        loss_key: the loss module's name in the checkpoint (found when
            there is one).
        param_names: see :func:`~.checkpoints.read_checkpoint`.
        records: the work dir's log records if already read.

    Raises:
        ValueError: neither the log nor a checkpoint holds EFL-family
            statistics.
        KeyError: ``loss_key`` is given and a checkpoint lacks it.
    """
    if records is None:
        try:
            records = read_scalars(work_dir)
        except FileNotFoundError:  # checkpoints only
            records = None
    paths = list(checkpoints) if checkpoints is not None else \
        find_checkpoints(work_dir)[-2:]
    states = []
    for path in paths:
        try:
            states.append(read_checkpoint(path, loss_key, param_names))
        except KeyError:  # e.g. a focal-loss run: said by diagnose()
            if loss_key is not None:
                raise
    criterion = build_criterion(loss_cfg, len(states[-1].pos_grad)) \
        if states else None
    lr = scalar_series(records, 'lr') if records else None
    loss = None
    if records:
        logged = log_group_series(records)
        if states and logged:
            short = states[-1].loss_key.split('.')[-1]
            loss = short if short in logged else None
    return diagnose(records, states, groups, criterion, loss,
                    lr_series=lr if lr and lr[0] else None)
