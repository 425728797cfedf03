"""GradientCollectorHook: identical statistics on every rank, equal to one
process fed all ranks' data; clear failure under DDP without the hook;
per-group logging."""
import os
import sys

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from mmengine.config import Config
from mmengine.runner import Runner

from mmdet_efl.engine.hooks import GradientCollectorHook, frequency_groups
from mmdet_efl.models.losses import EQLv2FocalLoss, EqualizedFocalLoss
from tests.helpers import write_tiny_config

C = 5
ITERS = 3


def _batch(rank, it):
    g = torch.Generator().manual_seed(100 * it + rank)
    n = 30 + 7 * rank  # ranks see different amounts of data
    return (torch.randn(n, C, generator=g) * 2,
            torch.randint(0, C + 1, (n, ), generator=g),
            float(3 + rank))


def _make_losses():
    return [EqualizedFocalLoss(C), EQLv2FocalLoss(C)]


def _worker(rank, world, init_file, out_dir):
    dist.init_process_group('gloo', init_method=f'file://{init_file}',
                            rank=rank, world_size=world)
    losses = _make_losses()
    history = []
    for it in range(ITERS):
        pred, labels, avg = _batch(rank, it)
        total = 0
        for loss in losses:
            total = total + loss(pred.clone().requires_grad_(), labels,
                                 avg_factor=avg)
        total.backward()
        GradientCollectorHook.synchronise(losses)
        history.append([(loss.pos_grad.clone(), loss.neg_grad.clone())
                        for loss in losses])
    # Without the hook the next forward must refuse to go on.
    pred, labels, avg = _batch(rank, 99)
    losses[0](pred.clone().requires_grad_(), labels).backward()
    try:
        losses[0](pred, labels)
        error = None
    except RuntimeError as exc:
        error = str(exc)
    torch.save({'history': history, 'error': error},
               os.path.join(out_dir, f'rank{rank}.pth'))
    dist.destroy_process_group()


def test_two_process_statistics_identical_and_equal_single_process(
        tmp_path):
    mp.start_processes(_worker, args=(2, str(tmp_path / 'init'),
                                      str(tmp_path)), nprocs=2,
                       start_method='spawn')
    r0 = torch.load(tmp_path / 'rank0.pth')
    r1 = torch.load(tmp_path / 'rank1.pth')

    single = _make_losses()
    for it in range(ITERS):
        total = 0
        for rank in range(2):
            pred, labels, avg = _batch(rank, it)
            for loss in single:
                total = total + loss(pred.clone().requires_grad_(), labels,
                                     avg_factor=avg)
        total.backward()
        GradientCollectorHook.synchronise(single)
        for k, loss in enumerate(single):
            for a, b in zip(r0['history'][it][k], r1['history'][it][k]):
                assert torch.equal(a, b), f'iteration {it}: ranks differ'
            torch.testing.assert_close(r0['history'][it][k][0], loss.pos_grad)
            torch.testing.assert_close(r0['history'][it][k][1], loss.neg_grad)
    assert single[0].neg_grad.sum() > 0
    for res in (r0, r1):
        assert res['error'] is not None
        assert 'GradientCollectorHook' in res['error']


def test_frequency_groups_follow_lvis_image_counts(tiny_lvis, tmp_path):
    cfg = Config.fromfile(str(write_tiny_config(tmp_path / 't.py',
                                                tiny_lvis)))
    from mmdet.registry import DATASETS
    from mmengine.registry import init_default_scope
    init_default_scope('mmdet')
    ds = DATASETS.build(cfg.train_dataloader.dataset)
    groups = frequency_groups(ds)
    assert set(groups) == {'rare', 'common', 'frequent'}
    import json
    cats = json.load(open(tiny_lvis / 'annotations/train.json'))['categories']
    letter = {'rare': 'r', 'common': 'c', 'frequent': 'f'}
    for name, labels in groups.items():
        for label in labels:
            assert cats[label]['frequency'] == letter[name]
    assert sorted(sum(groups.values(), [])) == list(range(len(cats)))


def test_non_lvis_dataset_has_one_group(tiny_lvis):
    import json
    from mmdet.registry import DATASETS
    cats = json.load(open(tiny_lvis / 'annotations/train.json'))['categories']
    ds = DATASETS.build(dict(
        type='StrictCocoDataset', data_root=str(tiny_lvis) + '/',
        ann_file='annotations/train.json', data_prefix=dict(img=''),
        metainfo=dict(classes=tuple(c['name'] for c in cats)),
        pipeline=[]))
    assert frequency_groups(ds) == {'all': list(range(6))}


def test_hook_logs_group_means(tiny_lvis, tmp_path):
    cfg = Config.fromfile(str(write_tiny_config(tmp_path / 't.py', tiny_lvis,
                                                max_iters=2)))
    cfg.work_dir = str(tmp_path / 'work')
    cfg.visualizer.vis_backends = [dict(type='LocalVisBackend'),
                                   dict(type='TensorboardVisBackend')]
    runner = Runner.from_cfg(cfg)
    runner.train()
    loss = runner.model.bbox_head.loss_cls
    hub = runner.message_hub
    groups = frequency_groups(runner.train_dataloader.dataset)
    for group, labels in groups.items():
        if not labels:
            continue
        logged = hub.get_scalar(f'train/loss_cls/gamma_{group}').current()
        expected = float(loss.focusing_factor()[labels].mean())
        assert logged == pytest.approx(expected)
        assert hub.get_scalar(f'train/loss_cls/grad_ratio_{group}')
    log = open(next((tmp_path / 'work').rglob('*.log'))).read()
    assert 'loss_cls/gamma_' in log
    # the same scalars reach TensorBoard
    from tensorboard.backend.event_processing.event_accumulator import \
        EventAccumulator
    events = EventAccumulator(str(next(
        (tmp_path / 'work').rglob('events.out.tfevents*')).parent))
    events.Reload()
    tags = events.Tags()['scalars']
    assert any(t.startswith('loss_cls/gamma_') for t in tags), tags


if __name__ == '__main__':
    sys.exit(pytest.main([__file__]))
