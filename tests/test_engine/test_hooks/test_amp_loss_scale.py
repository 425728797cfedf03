"""GradientCollectorHook under AMP loss scaling (issue 13): the loss scale
reaches the losses before backward, so element-wise statistics are those
of the unscaled gradient from the first iteration on; a step the loss
scaler skips (non-finite gradients) adds no statistics, with a dynamic or a
static scale; iterations that accumulate gradients keep theirs."""
import io
import logging
from types import SimpleNamespace

import pytest
import torch
from mmengine.logging import MMLogger
from mmengine.optim import OptimWrapper

from mmdet_efl.engine import CPUAmpOptimWrapper
from mmdet_efl.engine.hooks import GradientCollectorHook
from mmdet_efl.models.losses import EqualizedFocalLoss
from mmdet_efl.utils.compat import CPU_GRAD_SCALER

# Most tests scale the loss with a real GradScaler on the CPU; torch < 2.3
# has none there (CPUAmpOptimWrapper then trains bf16 unscaled).
needs_scaler = pytest.mark.skipif(
    not CPU_GRAD_SCALER, reason='torch < 2.3 has no CPU GradScaler')

C, N = 4, 64


def _sgd(params):
    return torch.optim.SGD(params, lr=0.01)


def _fused_adam(params):
    """Adam that skips inside its fused step when GradScaler hands it
    ``found_inf`` (the scaler calls its step either way)."""
    try:
        return torch.optim.Adam(params, lr=0.01, fused=True)
    except RuntimeError as err:  # no fused CPU kernels in this torch
        pytest.skip(str(err))


def _setup(optimizer=_sgd, wrapper_type=CPUAmpOptimWrapper, **wrapper_args):
    torch.manual_seed(0)
    model = torch.nn.Linear(8, C)
    with torch.no_grad():
        model.bias.fill_(-4.6)
    wrapper = wrapper_type(optimizer=optimizer(model.parameters()),
                           **wrapper_args)
    loss = EqualizedFocalLoss(C)
    hook = GradientCollectorHook(log_values=False)
    hook._losses = {'loss_cls': loss}
    runner = SimpleNamespace(optim_wrapper=wrapper,
                             logger=MMLogger.get_instance('amp_scale_test'))
    x = torch.randn(N, 8)
    labels = torch.randint(0, C + 1, (N, ))
    reweight = torch.rand(N, C)
    return model, wrapper, loss, hook, runner, x, labels, reweight


def _total(model, loss, x, labels, reweight, extra=0.0):
    out = loss(model(x), labels, avg_factor=10.0, reduction_override='none')
    return (out * reweight).sum() + extra


@needs_scaler
def test_first_iteration_statistics_are_unscaled():
    model, wrapper, loss, hook, runner, x, labels, reweight = _setup()
    scale = wrapper.loss_scaler.get_scale()
    assert scale == 2.0**16
    # the statistics of the true gradient, from autograd, in float64
    logits = model(x).detach().double().requires_grad_()
    ref = EqualizedFocalLoss(C)
    out = ref(logits, labels, avg_factor=10.0, reduction_override='none')
    grad, = torch.autograd.grad((out * reweight.double()).sum(), logits)
    fg = labels < C
    onehot = torch.zeros(N, C, dtype=torch.bool)
    onehot[fg, labels[fg]] = True
    pos = (grad.abs() * onehot).sum(0)
    neg = (grad.abs() * ~onehot).sum(0)

    hook.before_train_iter(runner, 0)
    wrapper.update_params(_total(model, loss, x, labels, reweight))
    hook.after_train_iter(runner, 0)
    torch.testing.assert_close(loss.pos_grad, pos, rtol=1e-4, atol=0)
    torch.testing.assert_close(loss.neg_grad, neg, rtol=1e-4, atol=0)


@needs_scaler
@pytest.mark.parametrize('loss_scale', ['dynamic', 512.0])
@pytest.mark.parametrize('optimizer', [_sgd, _fused_adam],
                         ids=['sgd', 'fused_adam'])
def test_skipped_amp_step_adds_no_statistics(loss_scale, optimizer):
    """A dynamic scale halves on the skipped step; a static one (mmdet 2.x
    fp16 configs: ``loss_scale=512.``) stays, and the step is skipped all
    the same."""
    model, wrapper, loss, hook, runner, x, labels, reweight = _setup(
        optimizer, loss_scale=loss_scale)
    scale = wrapper.loss_scaler.get_scale()
    hook.before_train_iter(runner, 0)
    wrapper.update_params(_total(model, loss, x, labels, reweight))
    hook.after_train_iter(runner, 0)
    after_first = (loss.pos_grad.clone(), loss.neg_grad.clone())
    assert after_first[0].sum() > 0
    weight = model.weight.detach().clone()

    # non-finite gradients elsewhere in the model: GradScaler skips the
    # step and lowers its scale; EFL's own sums are finite
    hook.before_train_iter(runner, 1)
    wrapper.update_params(_total(model, loss, x, labels, reweight,
                                 extra=model.weight.sum() * float('inf')))
    assert wrapper.loss_scaler.get_scale() == (
        scale / 2 if loss_scale == 'dynamic' else scale)
    assert torch.equal(model.weight, weight)  # the step was skipped
    stream = io.StringIO()
    runner.logger.addHandler(logging.StreamHandler(stream))
    hook.after_train_iter(runner, 1)
    assert torch.equal(loss.pos_grad, after_first[0])
    assert torch.equal(loss.neg_grad, after_first[1])
    assert loss.pending_statistics().abs().sum() == 0
    assert ('GradientCollectorHook: AMP skipped this step (non-finite '
            'gradients); its gradient statistics are dropped'
            in stream.getvalue())

    # the next finite step counts again, at the new scale
    hook.before_train_iter(runner, 2)
    wrapper.update_params(_total(model, loss, x, labels, reweight))
    hook.after_train_iter(runner, 2)
    assert (loss.pos_grad > after_first[0]).any()


@pytest.mark.parametrize('wrapper_type', [OptimWrapper, CPUAmpOptimWrapper])
def test_accumulating_iterations_keep_their_statistics(wrapper_type):
    """With ``accumulative_counts=2`` the optimiser steps every second
    iteration; the iterations between are no skipped steps."""
    model, wrapper, loss, hook, runner, x, labels, reweight = _setup(
        wrapper_type=wrapper_type, accumulative_counts=2)
    wrapper.initialize_count_status(model, 0, 4)
    weight = model.weight.detach().clone()
    totals = []
    for it in range(2):
        hook.before_train_iter(runner, it)
        wrapper.update_params(_total(model, loss, x, labels, reweight))
        hook.after_train_iter(runner, it)
        totals.append(float(loss.pos_grad.sum()))
        assert torch.equal(model.weight, weight) == (it == 0)
    assert 0 < totals[0] < totals[1]


def test_applied_steps_are_seen_after_torch_compile_ran():
    """torch 2.1's first ``torch.compile`` in a process stops optimiser step
    hooks of every optimiser class for good (as the loss kernels' compile
    does in training); the statistics of applied steps must stay."""
    torch.compile(lambda t: t * 2, backend='eager')(torch.ones(2))
    model, wrapper, loss, hook, runner, x, labels, reweight = _setup(
        wrapper_type=OptimWrapper)
    wrapper.initialize_count_status(model, 0, 2)
    for it in range(2):
        hook.before_train_iter(runner, it)
        wrapper.update_params(_total(model, loss, x, labels, reweight))
        hook.after_train_iter(runner, it)
        assert float(loss.pos_grad.sum()) > 0
