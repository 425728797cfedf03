"""A run's logs over its resumptions, and work dirs whose names hold glob
characters: what the diagnosis and the training curves read."""
import json
import shutil

import pytest

from mmdet_efl.analysis import read_scalars
from mmdet_efl.analysis.commands import efl_diagnosis_main
from mmdet_efl.analysis.efl_diagnosis import find_checkpoints
from mmdet_efl.analysis.training_curves import join_resumed
from mmdet_efl.engine.launch import train
from tests.helpers import write_tiny_config


def _training(records):
    return [r for r in records if 'iter' in r]


def test_resumed_run_is_diagnosed_as_if_uninterrupted(tiny_lvis, tmp_path,
                                                      capsys):
    """4 iterations (checkpoints at 2 and 4), then a resume from iter_2:
    MMEngine writes the second start's log to a new timestamped folder,
    which holds iterations 3 and 4 only. A resumed run's state equals the
    uninterrupted run's (test_resumed_run_equals_uninterrupted_run), so the
    diagnosis of the work dir must not change: iterations, saturation, the
    lowest G_j and the exposure sum_t lr_t lambda over all 4 iterations."""
    cfg = write_tiny_config(tmp_path / 'efl.py', tiny_lvis, max_iters=4,
                            checkpoint_interval=2)
    work = tmp_path / 'work'
    train([str(cfg), '--work-dir', str(work)])
    before = efl_diagnosis_main([str(work), '--config', str(cfg)])
    first = sorted(work.glob('*/vis_data/scalars.json'))
    # a new process in practice: a visualizer of its own, whose log folder
    # is the new start's
    train([str(cfg), '--work-dir', str(work), '--resume',
           str(work / 'iter_2.pth'), '--cfg-options',
           'visualizer.name=visualizer_resumed_logs'])
    logs = sorted(work.glob('*/vis_data/scalars.json'))
    assert len(logs) == 2 and logs[0] == first[0]  # a folder per start
    second = _training(json.loads(line) for line in open(logs[1]))
    assert [r['iter'] for r in second] == [3, 4]

    after = efl_diagnosis_main([str(work), '--config', str(cfg)])
    assert before['classifier_exposure'] > 0
    assert after == before
    assert 'after 4 iterations' in capsys.readouterr().out
    # iterations 3 and 4 once each, as the second start logged them (its
    # own wall times)
    joined = _training(read_scalars(str(work)))
    assert [r['iter'] for r in joined] == [1, 2, 3, 4]
    assert joined[2:] == second


def test_join_resumed_keeps_the_later_log_for_repeated_iterations():
    """MMEngine's records: training ones carry ``iter`` and ``lr``,
    validation ones only ``step``. A start resumed from iteration 2 after
    the first one logged up to 4 (and validated at 2 and 4); a third start
    in the same second appends to the same file."""
    def rec(it, loss):
        return dict(lr=0.01, loss=loss, iter=it, step=it)
    first = [rec(1, 1.0), rec(2, 0.9), dict(bbox_mAP=0.1, step=2),
             rec(3, 0.8), rec(4, 0.7), dict(bbox_mAP=0.2, step=4)]
    second = [rec(3, 0.5), rec(4, 0.4), rec(5, 0.3)]
    third = [rec(5, 0.2), rec(6, 0.1)]
    joined = join_resumed(first + second + third)
    assert joined == first[:3] + second[:2] + third
    # nothing repeated: the records as they were
    assert join_resumed(first) == first


def test_work_dir_with_glob_characters(tiny_runs, tmp_path):
    """``work_dirs/atss[efl]``: ``[efl]`` is no character class, the
    checkpoints and logs there are found as anywhere else."""
    src = tiny_runs['EFL']['work_dir']
    work = tmp_path / 'atss[efl]'
    shutil.copytree(src, work)
    assert find_checkpoints(str(work)) == [str(work / 'iter_4.pth')]
    config = str(tiny_runs['EFL']['config'])
    expected = efl_diagnosis_main([str(src), '--config', config])
    assert expected['groups']['rare']['num_categories']  # from iter_4.pth
    assert efl_diagnosis_main([str(work), '--config', config]) == expected
    assert read_scalars(str(work)) == read_scalars(str(src))


@pytest.mark.parametrize('name', ['runs[1]', 'runs?'])
def test_checkpoints_of_a_folder_named_like_a_pattern(tmp_path, name):
    """A work dir whose name, read as a glob pattern, matches another
    folder: only its own checkpoints are found."""
    for folder, ckpt in ((name, 'iter_2.pth'), ('runs1', 'iter_8.pth')):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / ckpt).touch()
    assert find_checkpoints(str(tmp_path / name)) == [
        str(tmp_path / name / 'iter_2.pth')]
