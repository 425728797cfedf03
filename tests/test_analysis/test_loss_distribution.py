"""RetinaNet Fig. 4: the CDF of the normalised loss, from the right samples,
and its documented behaviour: a larger gamma concentrates the negatives'
loss on fewer samples."""
import json

import numpy as np
import torch
import torch.nn.functional as F

from mmdet_efl.analysis import (DenseSamples, LossCollector, SampleCounter,
                                consume, iter_dense_samples,
                                normalised_loss_cdf)
from mmdet_efl.analysis.commands import loss_distribution_main
from mmengine.config import Config


def test_cdf_of_equal_losses_is_the_diagonal_and_ends_at_one():
    curve = normalised_loss_cdf(np.full(10, 3.0), num_points=11)
    np.testing.assert_allclose(curve['cdf'], curve['fraction'])
    curve = normalised_loss_cdf(np.array([1.0, 0.0, 3.0, 0.0]), 9)
    # sorted: 0, 0, 1, 3 -> shares 0, 0, 1/4, 1 after 1, 2, 3, 4 samples
    np.testing.assert_allclose(
        curve['cdf'], [0, 0, 0, 0, 0, 0.125, 0.25, 0.625, 1])


def test_collector_uses_gt_class_for_positives_and_all_classes_for_negatives():
    logits = torch.tensor([[2.0, -1.0, 0.5], [-3.0, 1.0, 0.0],
                           [0.3, 0.2, -0.4], [9.0, 9.0, 9.0]])
    labels = torch.tensor([0, 3, 3, 1])
    valid = torch.tensor([True, True, True, False])  # last one ignored
    collector = LossCollector(gammas=[0.0, 2.0])
    collector(DenseSamples(labels, valid, logits))
    logits = logits.double()
    ce_pos = -F.logsigmoid(logits[0, 0])
    np.testing.assert_allclose(collector.pos[0.0][0], [ce_pos], rtol=1e-12)
    ce_neg = F.softplus(logits[1:3]).sum(1)
    np.testing.assert_allclose(collector.neg[0.0][0], ce_neg, rtol=1e-12)
    p = torch.sigmoid(logits[1:3])
    fl_neg = (p**2 * F.softplus(logits[1:3])).sum(1)
    np.testing.assert_allclose(collector.neg[2.0][0], fl_neg, rtol=1e-12)


def test_larger_gamma_concentrates_the_negative_loss():
    """FL/CE = (1 - p_t)^gamma grows with the loss itself, so the ordering
    of samples is the same for every gamma and the CDF of a larger gamma
    lies below (RetinaNet Fig. 4, right)."""
    torch.manual_seed(0)
    logits = torch.randn(4000, 5) * 2 - 3
    labels = torch.full((4000, ), 5)
    labels[:40] = torch.randint(0, 5, (40, ))
    collector = LossCollector(gammas=[0.0, 0.5, 1.0, 2.0])
    collector(DenseSamples(labels, torch.ones(4000, dtype=torch.bool),
                           logits))
    result = collector.result()
    cdfs = [np.array(result['negative'][str(g)]['cdf'])
            for g in collector.gammas]
    for lower, higher in zip(cdfs, cdfs[1:]):
        assert (higher <= lower + 1e-12).all()
        assert higher[100] < lower[100] - 0.02
    assert result['negative']['0.0']['num_samples'] == 3960
    assert result['positive']['0.0']['num_samples'] == 40


def test_command_on_a_trained_checkpoint(tiny_runs, tmp_path):
    run = tiny_runs['FL']
    data = loss_distribution_main([
        str(run['config']), str(run['checkpoint']), str(tmp_path),
        '--gammas', '0', '2'])
    saved = json.loads((tmp_path / 'retinanet_fig4.json').read_text())
    assert saved['gammas'] == data['gammas'] == [0.0, 2.0]
    assert (tmp_path / 'retinanet_fig4.png').stat().st_size > 10_000
    # the samples are exactly the valid anchors of the val split
    counter = SampleCounter(6)
    consume(iter_dense_samples(Config.fromfile(str(run['config'])),
                               split='val', progress=False), [counter])
    n_pos = sum(counter.pos)
    for key, n in (('positive', n_pos),
                   ('negative', counter.valid - n_pos)):
        for g in ('0.0', '2.0'):
            curve = saved[key][g]
            assert curve['num_samples'] == n
            assert curve['cdf'][0] == 0 and abs(curve['cdf'][-1] - 1) < 1e-12
            assert (np.diff(curve['cdf']) >= 0).all()
