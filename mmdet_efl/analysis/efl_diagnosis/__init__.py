"""Is EFL acting on my data? A diagnosis of a finished (or running) training.

EFL modulates category ``j`` only while its accumulated gradient ratio
``G_j`` is below 1 (EFL eq. 3: ``gamma_j = gamma_b + s (1 - G_j)``); at
``G_j = 1`` it is focal loss. The diagnosis reads what
:class:`~mmdet_efl.engine.hooks.GradientCollectorHook` leaves behind:

* the work dir's log (``vis_data/scalars.json`` of every start of the run,
  resumptions joined: the per-group means ``<loss>/grad_ratio_<group>``
  and ``<loss>/gamma_<group>``), which give the course of each group over
  training (``run_log``);
* checkpoints (the loss's ``pos_grad``/``neg_grad`` buffers), which give
  every category's ``G_j`` at the checkpoint, and, between two checkpoints,
  the recent per-iteration positive and negative gradient masses. With the
  classification bias and its weight decay from the checkpoint
  (``checkpoints``), these test the mechanism that keeps ``G_j`` below 1
  (measured on the simulator,
  projects/LongTailBenchmark/docs/when_efl_degenerates.md): at a
  stationary point ``dL/db_j = neg_j - pos_j + lambda_b b_j = 0``, so
  ``1 - pos_j / neg_j = lambda_b |b_j| / neg_j``.

:func:`diagnose` (``computation``) combines them into a :class:`Diagnosis`
(``report``): per frequency group, the share of categories at ``G_j = 1``,
the mean ``gamma_j`` and since when the group is saturated, then a verdict
with its reason and what would move the run back into EFL's regime
(``verdict``). :func:`diagnose_work_dir` (``work_dir``) does it for a work
dir, :func:`plot_diagnosis` (``plot``) draws the course of ``G_j``; the
command is ``tools/analysis/efl_diagnosis.py``.
"""
from .checkpoints import (CheckpointState, ParameterNames, classifier_bias,
                          find_checkpoints, parameter_names, read_checkpoint)
from .computation import (build_criterion, category_values, diagnose,
                          saturated_since)
from .plot import plot_diagnosis
from .report import SATURATION_TOL, Diagnosis, GroupState
from .run_log import log_group_series
from .verdict import EARLY_FRACTION, MIN_GAMMA_SPREAD
from .work_dir import diagnose_work_dir, train_groups

__all__ = [
    'CheckpointState', 'Diagnosis', 'EARLY_FRACTION', 'GroupState',
    'MIN_GAMMA_SPREAD', 'ParameterNames', 'SATURATION_TOL',
    'build_criterion', 'category_values', 'classifier_bias', 'diagnose',
    'diagnose_work_dir', 'find_checkpoints', 'log_group_series',
    'parameter_names', 'plot_diagnosis', 'read_checkpoint',
    'saturated_since', 'train_groups'
]
