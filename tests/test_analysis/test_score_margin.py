"""EFL Fig. 4: mean positive score minus mean negative score per category,
from the right samples."""
import json

import numpy as np
import torch

from mmdet_efl.analysis import (DenseSamples, MarginAccumulator,
                                SampleCounter, commands, consume,
                                iter_dense_samples)
from mmdet_efl.analysis.commands import score_margin_main
from mmengine.config import Config


def test_margin_from_hand_made_samples():
    logits = torch.tensor([[2.0, -1.0, 0.0], [0.0, 1.0, -2.0],
                           [-1.0, -1.0, -1.0], [5.0, 5.0, 5.0]])
    labels = torch.tensor([0, 1, 3, 0])
    valid = torch.tensor([True, True, True, False])  # ignored anchor
    acc = MarginAccumulator(num_classes=3)
    acc(DenseSamples(labels, valid, logits))
    acc(DenseSamples(torch.tensor([0]), torch.tensor([True]),
                     torch.tensor([[-2.0, 0.0, 3.0]])))
    s = torch.sigmoid
    result = acc.result()
    pos0 = (s(torch.tensor(2.0)) + s(torch.tensor(-2.0))) / 2
    neg0 = (s(torch.tensor(0.0)) + s(torch.tensor(-1.0))) / 2
    np.testing.assert_allclose(result['margin'][0], pos0 - neg0, rtol=1e-6)
    pos1 = s(torch.tensor(1.0))
    neg1 = (s(torch.tensor(-1.0)) * 2 + s(torch.tensor(0.0))) / 3
    np.testing.assert_allclose(result['margin'][1], pos1 - neg1, rtol=1e-6)
    assert result['margin'][2] is None  # no positive sample
    assert result['pos_count'] == [2, 1, 0]
    assert result['neg_count'] == [2, 3, 4]


def test_command_compares_two_checkpoints(tiny_runs, tmp_path,
                                          monkeypatch):
    args = [str(tmp_path)]
    for name in ('FL', 'EFL'):
        args += ['--run', name, str(tiny_runs[name]['config']),
                 str(tiny_runs[name]['checkpoint'])]
    built = []
    real_build = commands.build_analysis_dataset
    monkeypatch.setattr(commands, 'build_analysis_dataset',
                        lambda *a: built.append(a[1]) or real_build(*a))
    data = score_margin_main(args)
    # the two runs share one val set; the counts read the train set
    assert sorted(built) == ['train', 'val']
    saved = json.loads((tmp_path / 'efl_fig4.json').read_text())
    assert list(saved['runs']) == ['FL', 'EFL']
    assert (tmp_path / 'efl_fig4.png').stat().st_size > 10_000
    counter = SampleCounter(6)
    consume(iter_dense_samples(
        Config.fromfile(str(tiny_runs['FL']['config'])), split='val',
        progress=False), [counter])
    for name, run in saved['runs'].items():
        assert run == data['runs'][name]
        margins = [m for m in run['margin'] if m is not None]
        assert abs(run['group_mean']['all'] - np.mean(margins)) < 1e-12
        assert run['pos_count'] == counter.pos.tolist()
        assert run['neg_count'] == counter.neg.tolist()
        for m, p, n in zip(run['margin'], run['pos_mean'], run['neg_mean']):
            if m is not None:
                assert abs(m - (p - n)) < 1e-12 and 0 <= p <= 1
    # different weights give different margins
    assert saved['runs']['FL']['margin'] != saved['runs']['EFL']['margin']
