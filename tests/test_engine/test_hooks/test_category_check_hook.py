"""A model whose classes do not fit the data stops before it trains; a run
resumed into another number of classes stops before anything is loaded."""
import json
import shutil

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

import mmdet_efl  # noqa: F401
from mmdet_efl.engine.checkpoint import load_checkpoint_safely
from mmdet_efl.engine.hooks import CategoryCheckHook, GradientCollectorHook
from mmdet_efl.engine.hooks.category_check_hook import (check_categories,
                                                        check_resume,
                                                        classifiers)
from mmdet_efl.models.losses import EqualizedFocalLoss
from tests.helpers import DEMO, write_tiny_config

DEMO_FL = DEMO / 'atss-iou_r18_fpn_fl-demo_synthetic-lvis.py'


def _runner(tmp_path, data_root, name='t', **kwargs):
    cfg = Config.fromfile(str(write_tiny_config(tmp_path / f'{name}.py',
                                                data_root, **kwargs)))
    cfg.work_dir = str(tmp_path / f'work_{name}')
    return Runner.from_cfg(cfg)


@pytest.fixture(scope='module')
def five_categories(tiny_lvis, tmp_path_factory):
    """tiny_lvis without its 6th category (and its annotations)."""
    root = tmp_path_factory.mktemp('five') / 'data'
    shutil.copytree(tiny_lvis, root)
    for split in ('train', 'val'):
        path = root / f'annotations/{split}.json'
        data = json.loads(path.read_text())
        data['categories'] = [c for c in data['categories'] if c['id'] != 6]
        data['annotations'] = [a for a in data['annotations']
                               if a['category_id'] != 6]
        for img in data['images']:
            for key in ('neg_category_ids', 'not_exhaustive_category_ids'):
                img[key] = [c for c in img[key] if c != 6]
        path.write_text(json.dumps(data))
    return root


def test_efl_run_with_a_category_too_many_stops_before_training(
        tiny_lvis, tmp_path):
    """EFL config (GradientCollectorHook runs the check): head and loss
    built for 5 classes, dataset of 6 categories."""
    runner = _runner(tmp_path, tiny_lvis, num_classes=5)
    with pytest.raises(ValueError, match=r'The training dataset has 6 '
                       r'categories, but bbox_head has num_classes=5, '
                       r'bbox_head\.loss_cls has num_classes=5'):
        runner.train()
    assert runner.iter == 0
    assert not list((tmp_path / 'work_t').rglob('*.pth'))


def test_focal_loss_run_is_checked_by_the_registered_hook(tiny_lvis,
                                                          tmp_path):
    """FL config (no GradientCollectorHook): CategoryCheckHook alone; also
    a model with more classes than the dataset has categories."""
    runner = _runner(tmp_path, tiny_lvis, base=DEMO_FL, num_classes=7,
                     extra_hooks=[dict(type='CategoryCheckHook')])
    with pytest.raises(ValueError, match='The training dataset has 6 '
                       'categories, but bbox_head has num_classes=7. '):
        runner.train()
    assert runner.iter == 0


def test_registered_hook_owns_the_checks_of_an_efl_run(tiny_lvis, tmp_path):
    """With a CategoryCheckHook in the config, GradientCollectorHook does
    not check again, so the registered hook's ``ignore`` holds; without
    one, GradientCollectorHook runs the check."""
    runner = _runner(tmp_path, tiny_lvis, num_classes=5, extra_hooks=[
        dict(type='CategoryCheckHook', ignore=['bbox_head'])])
    collector, = [hook for hook in runner.hooks
                  if isinstance(hook, GradientCollectorHook)]
    collector.before_train(runner)
    runner.hooks[:] = [hook for hook in runner.hooks
                       if not isinstance(hook, CategoryCheckHook)]
    with pytest.raises(ValueError, match='The training dataset has 6 '
                       'categories, but bbox_head has num_classes=5'):
        collector.before_train(runner)


def test_test_run_is_checked(tiny_lvis, tmp_path):
    runner = _runner(tmp_path, tiny_lvis, base=DEMO_FL, num_classes=5,
                     extra_hooks=[dict(type='CategoryCheckHook')])
    with pytest.raises(ValueError, match='The test dataset has 6 '
                       'categories, but bbox_head has num_classes=5'):
        runner.test()


def test_matching_run_trains(tiny_lvis, tmp_path):
    runner = _runner(tmp_path, tiny_lvis, max_iters=1,
                     extra_hooks=[dict(type='CategoryCheckHook')])
    runner.train()
    assert runner.iter == 1
    assert classifiers(runner.model) == [('bbox_head', 6),
                                         ('bbox_head.loss_cls', 6)]


def test_proposal_heads_are_not_category_classifiers(tmp_path):
    """Two-stage detectors: the RPN has num_classes=1 by design."""
    from mmdet.registry import MODELS
    path = tmp_path / 'frcnn.py'
    path.write_text(
        "_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'\n")
    cfg = Config.fromfile(str(path))
    cfg.model.backbone.init_cfg = None
    cfg.model.roi_head.bbox_head.num_classes = 6
    model = MODELS.build(cfg.model)
    assert classifiers(model) == [('roi_head.bbox_head', 6)]
    # an ignored module stays ignored after a proposal head was skipped
    assert classifiers(model, ignore=['roi_head']) == []


@pytest.fixture(scope='module')
def six_class_checkpoint(tiny_lvis, tmp_path_factory):
    tmp = tmp_path_factory.mktemp('six')
    runner = _runner(tmp, tiny_lvis, max_iters=2, checkpoint_interval=2)
    runner.train()
    return tmp / 'work_t' / 'iter_2.pth'


def test_resume_into_fewer_classes_stops_before_loading(
        six_class_checkpoint, five_categories, tmp_path, safe_checkpoints):
    cfg = Config.fromfile(str(write_tiny_config(
        tmp_path / 'r.py', five_categories, num_classes=5, max_iters=4)))
    cfg.work_dir = str(tmp_path / 'work')
    cfg.load_from = str(six_class_checkpoint)
    cfg.resume = True
    runner = Runner.from_cfg(cfg)
    with pytest.raises(ValueError) as err:
        runner.train()
    message = str(err.value)
    assert message.startswith('Cannot resume: the checkpoint was trained '
                              'with a different model')
    for change in ('bbox_head.loss_cls.pos_grad: (6,) in the checkpoint, '
                   '(5,) in the model',
                   'bbox_head.loss_cls.neg_grad: (6,) in the checkpoint, '
                   '(5,) in the model',
                   'bbox_head.atss_cls.bias: (12,) in the checkpoint, '
                   '(10,) in the model',
                   'The model now has bbox_head num_classes=5, '
                   'bbox_head.loss_cls num_classes=5'):
        assert change in message
    # nothing was loaded: neither the iteration nor any tensor
    assert runner.iter == 0
    assert float(runner.model.bbox_head.loss_cls.neg_grad.sum()) == 0


def test_fine_tuning_into_fewer_classes_is_allowed(
        six_class_checkpoint, five_categories, tmp_path, safe_checkpoints):
    """load_from without resume loads the matching weights and keeps the
    model's own classifier and (fresh) EFL statistics."""
    cfg = Config.fromfile(str(write_tiny_config(
        tmp_path / 'f.py', five_categories, num_classes=5, max_iters=1)))
    cfg.work_dir = str(tmp_path / 'work')
    cfg.load_from = str(six_class_checkpoint)
    runner = Runner.from_cfg(cfg)
    runner.load_or_resume()
    saved = load_checkpoint_safely(str(six_class_checkpoint))['state_dict']
    conv = 'backbone.conv1.weight'
    assert torch.equal(runner.model.state_dict()[conv], saved[conv])
    assert runner.model.bbox_head.loss_cls.pos_grad.shape == (5, )


# -- the hook's methods and checks on their own (no training)

@pytest.fixture(scope='module')
def five_class_runner(tiny_lvis, tmp_path_factory):
    """A runner whose 5-class model does not fit its 6-category data (its
    loops and dataloaders are built on first use)."""
    return _runner(tmp_path_factory.mktemp('built'), tiny_lvis,
                   num_classes=5)


@pytest.mark.parametrize('method, split', [('before_train', 'training'),
                                           ('before_val', 'validation'),
                                           ('before_test', 'test')])
def test_every_split_is_checked_and_ignore_is_honoured(five_class_runner,
                                                       method, split):
    with pytest.raises(ValueError, match=f'^The {split} dataset has 6 '
                       'categories, but bbox_head has num_classes=5, '
                       r'bbox_head\.loss_cls has num_classes=5\. '):
        getattr(CategoryCheckHook(), method)(five_class_runner)
    getattr(CategoryCheckHook(ignore=['bbox_head']), method)(
        five_class_runner)
    with pytest.raises(ValueError, match=r'^The .* but bbox_head has '
                       r'num_classes=5\. '):
        getattr(CategoryCheckHook(ignore=['bbox_head.loss_cls']), method)(
            five_class_runner)


def test_error_message_in_full(five_class_runner):
    with pytest.raises(ValueError) as err:
        check_categories(five_class_runner.model,
                         five_class_runner.train_dataloader.dataset)
    assert str(err.value) == (
        'The training dataset has 6 categories, but bbox_head has '
        'num_classes=5, bbox_head.loss_cls has num_classes=5. Instances of '
        'a category without an output column would train as background. '
        'Set num_classes=6 in the head and its loss_cls, or select the '
        "classes the model is built for with the dataset's "
        'metainfo=dict(classes=...).')


def test_resume_check_only_when_resuming(five_class_runner):
    six = EqualizedFocalLoss(6).state_dict()
    checkpoint = dict(state_dict={f'bbox_head.loss_cls.{k}': v
                                  for k, v in six.items()})
    hook = CategoryCheckHook()
    five_class_runner._resume = False
    hook.after_load_checkpoint(five_class_runner, checkpoint)
    five_class_runner._resume = True
    try:
        with pytest.raises(ValueError, match='^Cannot resume'):
            hook.after_load_checkpoint(five_class_runner, checkpoint)
    finally:
        five_class_runner._resume = False


def test_resume_check_message_in_full():
    """A plain state dict as well as a checkpoint; DDP's ``module.``
    prefix is stripped as MMEngine strips it."""
    model = EqualizedFocalLoss(5)
    six = EqualizedFocalLoss(6).state_dict()
    for checkpoint in (six, dict(state_dict={f'module.{k}': v
                                             for k, v in six.items()})):
        with pytest.raises(ValueError) as err:
            check_resume(model, checkpoint)
        assert str(err.value) == (
            'Cannot resume: the checkpoint was trained with a different '
            'model (2 tensors changed shape: pos_grad: (6,) in the '
            'checkpoint, (5,) in the model; neg_grad: (6,) in the '
            'checkpoint, (5,) in the model). The model now has '
            'EqualizedFocalLoss num_classes=5. A resumed run must keep the '
            'model of the checkpoint; to start from its weights with other '
            'classes, use load_from without resume.')
    check_resume(model, model.state_dict())
    # tensors the model lacks are MMEngine's business (it warns)
    check_resume(model, dict(state_dict={'other.weight': torch.ones(3)}))


def test_resume_check_of_a_model_without_classifiers():
    with pytest.raises(ValueError) as err:
        check_resume(torch.nn.Linear(3, 2), torch.nn.Linear(3, 4).state_dict())
    assert str(err.value) == (
        'Cannot resume: the checkpoint was trained with a different model '
        '(2 tensors changed shape: weight: (4, 3) in the checkpoint, (2, 3) '
        'in the model; bias: (4,) in the checkpoint, (2,) in the model). A '
        'resumed run must keep the model of the checkpoint; to start from '
        'its weights with other classes, use load_from without resume.')


def test_checks_see_through_the_ddp_wrapper(tmp_path):
    """Module names and state-dict keys of the wrapped model, not of
    ``module.``-prefixed DDP (one gloo process)."""
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel
    model = torch.nn.Sequential(torch.nn.Linear(2, 5), EqualizedFocalLoss(5))
    dist.init_process_group('gloo', init_method=f'file://{tmp_path}/init',
                            rank=0, world_size=1)
    try:
        wrapped = DistributedDataParallel(model)
        assert classifiers(wrapped) == [('1', 5)]
        check_resume(wrapped, dict(state_dict=model.state_dict()))
    finally:
        dist.destroy_process_group()
