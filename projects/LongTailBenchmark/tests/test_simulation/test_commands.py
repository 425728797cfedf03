"""The simulator's command line: a resumable sweep over losses, seeds and
one setting, its summary (paired differences per seed) and figures."""
import json

import numpy as np
import pytest

from longtail_benchmark.simulation.commands import simulator_main

TINY = ['num_classes=12', 'num_train_images=150', 'max_images=120',
        'family_size=3', 'input_dim=8', 'hidden_dim=8',
        'anchors_per_image=1000', 'background_samples=4',
        'num_eval_images=20', 'min_eval_images=2', 'steps=20',
        'warmup_steps=5', 'record_every=10', 'lr=0.05']


def test_sweep_summary_and_resume(tmp_path, capsys):
    out = tmp_path / 'sim'
    argv = [str(out), '--losses', 'FL', 'EFL', '--seeds', '0', '1',
            '--set', *TINY, '--grid', 'cls_decay_mult=1,30']
    summary = simulator_main(argv)
    files = sorted((out / 'runs').rglob('*.json'))
    assert len(files) == 8  # 2 settings x 2 seeds x 2 losses
    records = [json.loads(f.read_text()) for f in files]
    by_key = {(r['tag'], r['loss'], r['seed']): r['result'] for r in records}
    # the paired difference is EFL - FL seed by seed
    tag = 'cls_decay_mult=30'
    diffs = [by_key[(tag, 'EFL', s)]['APr'] - by_key[(tag, 'FL', s)]['APr']
             for s in (0, 1)]
    paired = summary[tag]['EFL']['paired']['APr']
    assert paired['values'] == pytest.approx(diffs)
    assert paired['mean'] == pytest.approx(np.mean(diffs))
    assert paired['sem'] == pytest.approx(np.std(diffs, ddof=1) / 2 ** 0.5)
    # Lambda_cls grows 30-fold with the classifier's decay
    lam = [by_key[(t, 'FL', 0)]['exposure']['cls_bias']
           for t in ('cls_decay_mult=1', tag)]
    assert lam[1] == pytest.approx(30 * lam[0])
    text = capsys.readouterr().out
    assert 'regime checks (G_j from FL)' in text and 'paired' in text
    assert (out / 'exposure_sweep.png').stat().st_size > 10_000
    assert (out / 'grad_ratio_cls_decay_mult_30.png').exists()

    # interrupted after 7 runs: only the missing one is trained again
    # (the 7 others are read back: a marker in one of them survives)
    files[7].unlink()
    marked = json.loads(files[0].read_text())
    marked['marker'] = 1
    files[0].write_text(json.dumps(marked))
    again_argv = argv + ['--workers', '2']
    again = simulator_main(again_argv)
    rerun = [json.loads(f.read_text()) for f in files]
    assert rerun[0].pop('marker') == 1
    assert rerun[:7] == records[:7]  # kept as they were
    for rec in (rerun[7], records[7]):  # same run, but for its timing
        del rec['result']['train_time_s'], rec['result']['wall_time_s']
    assert rerun[7] == records[7] and len(rerun) == 8
    assert again == json.loads((out / 'summary.json').read_text())
    assert again == summary


def test_bad_setting_is_named(tmp_path):
    with pytest.raises(TypeError, match=r"no setting \['lr_decay'\]"):
        simulator_main([str(tmp_path), '--set', 'lr_decay=0.1'])
