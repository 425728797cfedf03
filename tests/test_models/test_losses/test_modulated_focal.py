"""The fused (torch.compile) kernel equals the eager one and passes its
self-check; without a working compiler, or when the self-check finds a
difference, the eager kernel takes over cleanly on that device."""
import warnings

import pytest
import torch

from mmdet_efl.models.losses import EQLv2FocalLoss, EqualizedFocalLoss
from mmdet_efl.models.losses import category_statistics as cs
from mmdet_efl.models.losses import focal_formula as ff
from mmdet_efl.models.losses import fused_kernel as mf

C = 9


def _run(loss, pred, labels, weight):
    x = pred.clone().requires_grad_()
    out = loss(x, labels, weight, avg_factor=7.0)
    out.backward()
    state = loss.state_dict()
    return out.detach(), x.grad, state['pos_grad'], state['neg_grad']


def _inputs(spread=4.0):
    g = torch.Generator().manual_seed(0)
    pred = (torch.randn(300, C, generator=g) * spread).clamp(-100, 100)
    labels = torch.randint(0, C + 1, (300, ), generator=g)
    weight = (torch.rand(300, generator=g) > 0.1).float()
    return pred, labels, weight


def _fresh_state(monkeypatch):
    """No device disabled or verified yet (the module keeps them)."""
    monkeypatch.setattr(mf, '_fused_disabled', set())
    monkeypatch.setattr(mf, '_fused_verified', set())


def _planted(loss_weight=1.0, loss_type=EqualizedFocalLoss):
    loss = loss_type(C, loss_weight=loss_weight)
    loss.pos_grad.copy_(torch.linspace(0, 1, C, dtype=torch.float64))
    loss.neg_grad.fill_(1.0)
    return loss


@pytest.mark.parametrize('spread,loss_weight,loss_type',
                         [(4.0, 1.0, EqualizedFocalLoss),
                          (60.0, 1.0, EqualizedFocalLoss),
                          (4.0, -0.5, EqualizedFocalLoss),
                          (4.0, 1.0, EQLv2FocalLoss)])
def test_fused_kernel_matches_eager(monkeypatch, spread, loss_weight,
                                    loss_type):
    """The fused path's binary kernel works in log space (no pow, no
    division by |y - p|, a series for log1p) and gets sum |grad| from sum
    grad, the eager one does neither: equal values, gradients and
    statistics, also for logits out to +-100 and a negative loss weight
    (gradient signs flip). EFL shares one weight between positives and
    negatives, EQLv2 has two."""
    pred, labels, weight = _inputs(spread)
    monkeypatch.setenv(mf.FUSED_ENV, '0')
    eager = _run(_planted(loss_weight, loss_type), pred, labels, weight)
    monkeypatch.setenv(mf.FUSED_ENV, '1')
    _fresh_state(monkeypatch)
    calls = []
    real = mf._run_fused
    monkeypatch.setattr(mf, '_run_fused',
                        lambda *a: calls.append(1) or real(*a))
    with warnings.catch_warnings():
        warnings.simplefilter('error', RuntimeWarning)  # self-check passes
        fused = _run(_planted(loss_weight, loss_type), pred, labels, weight)
    assert calls and not mf._fused_disabled, 'the fused kernel did not run'
    assert [k[0] for k in mf._fused_verified] == ['cpu']
    for a, b in zip(fused, eager):
        torch.testing.assert_close(a.double(), b.double(), rtol=1e-5,
                                   atol=1e-7)


def test_log1p_series_is_accurate_to_a_few_ulp():
    """The fused kernel's ``log1p`` on ``[0, 1]`` (artanh series) against
    float64 ``log1p``: fp32 relative error within 4 ulp (2^-21) from
    subnormal-free tiny values to 1; float64 input keeps ``torch.log1p``."""
    e = torch.cat([torch.logspace(-37, 0, 100001, dtype=torch.float64),
                   torch.linspace(0, 1, 100001, dtype=torch.float64)[1:]])
    e32 = e.float()
    exact = torch.log1p(e32.double())
    rel = ((ff._log1p_unit(e32).double() - exact).abs() / exact).max()
    assert rel < 2.0**-21, f'max relative error {float(rel):.3g}'
    assert torch.equal(ff._log1p_unit(e), torch.log1p(e))
    # the truncation alone (float64 arithmetic, series forced) is far
    # below fp32 resolution
    s = e / (2 + e)
    series = sum(s**(2 * k + 1) / (2 * k + 1)
                 for k in range(ff._ARTANH_TERMS)) * 2
    assert float(((series - torch.log1p(e)).abs() / torch.log1p(e)).max()
                 ) < 2e-8


def test_broken_compiler_falls_back_to_eager(monkeypatch):
    pred, labels, weight = _inputs()
    monkeypatch.setenv(mf.FUSED_ENV, '0')
    eager = _run(_planted(), pred, labels, weight)

    def broken(*args, **kwargs):
        raise RuntimeError('no C++ compiler')

    monkeypatch.setenv(mf.FUSED_ENV, '1')
    _fresh_state(monkeypatch)
    monkeypatch.setattr(mf, '_fused_compiled', broken)
    with pytest.warns(RuntimeWarning, match='compiled loss kernel failed'):
        fallback = _run(_planted(), pred, labels, weight)
    assert mf._fused_disabled == {'cpu'}
    for a, b in zip(fallback, eager):
        torch.testing.assert_close(a, b)
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # warned once only
        _run(_planted(), pred, labels, weight)


def test_fused_counts_zero_quality_positives_like_eager(monkeypatch):
    """EQFL positives are defined by their labels, also at quality 0."""
    from mmdet_efl.models.losses import EqualizedQualityFocalLoss
    pred, labels, weight = _inputs()
    scores = torch.rand(300, generator=torch.Generator().manual_seed(1))
    scores[labels < C] = torch.where(torch.arange(int((labels < C).sum()))
                                     % 3 == 0, 0.0, scores[labels < C])
    results = []
    for mode in ('0', '1'):
        monkeypatch.setenv(mf.FUSED_ENV, mode)
        _fresh_state(monkeypatch)
        loss = EqualizedQualityFocalLoss(C)
        x = pred.clone().requires_grad_()
        loss(x, (labels, scores), weight, avg_factor=7.0).backward()
        state = loss.state_dict()
        results.append((state['pos_grad'], state['neg_grad'], x.grad))
    assert not mf._fused_disabled
    for a, b in zip(*results):
        torch.testing.assert_close(a.double(), b.double(), rtol=1e-5,
                                   atol=1e-9)


def _perturbed_body(what):
    """The fused body, uncompiled, with one deliberate bug."""
    def body(*args):
        loss, grad, pos_sum, abs_sum = mf._fused_body(*args)
        if what == 'gradient layout':  # two category columns swapped
            grad = grad[:, [1, 0] + list(range(2, grad.shape[1]))]
        elif what == 'statistics':  # a positive sum off by 1%
            pos_sum = pos_sum * torch.linspace(1.0, 1.01, len(pos_sum))
        elif what == 'loss':
            loss = loss * 1.01
        elif what == 'one gradient row':
            grad = grad.clone()
            grad[3] = -grad[3]
        elif what == 'negative statistics':  # fp16 negative sums (issue 13)
            abs_sum = cs.binary_negative_sums(grad, args[1], 1.0).half(
            ).float() * torch.linspace(1.0, 1.01, grad.shape[1])
        elif what == 'only on the full input' and grad.shape[0] == 300:
            grad = grad.clone()  # right on the checked slice alone
            grad[3] = grad[3] * 1.5
        return loss, grad, pos_sum, abs_sum
    return body


@pytest.mark.parametrize('what', ['gradient layout', 'statistics', 'loss',
                                  'one gradient row', 'negative statistics',
                                  'only on the full input'])
def test_self_check_catches_a_wrong_compiled_kernel(monkeypatch, what):
    """A compiled kernel that disagrees with the eager one on the first
    call on a device is caught on that call, warned about once, and that
    device uses the eager kernel from then on: results equal eager."""
    pred, labels, weight = _inputs()
    monkeypatch.setenv(mf.FUSED_ENV, '0')
    eager = _run(_planted(), pred, labels, weight)
    monkeypatch.setenv(mf.FUSED_ENV, '1')
    _fresh_state(monkeypatch)
    calls = []
    body = _perturbed_body(what)
    monkeypatch.setattr(mf, '_fused_compiled',
                        lambda *a: calls.append(1) or body(*a))
    with pytest.warns(RuntimeWarning, match=r'failed its self-check: .*'
                      'differs from the eager kernel'):
        first = _run(_planted(), pred, labels, weight)
    assert mf._fused_disabled == {'cpu'}
    n_calls = len(calls)
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # warned once only
        second = _run(_planted(), pred, labels, weight)
    assert len(calls) == n_calls, 'the disabled kernel ran again'
    for result in (first, second):
        for a, b in zip(result, eager):
            torch.testing.assert_close(a, b)


def test_self_check_runs_once_per_device_and_kind(monkeypatch):
    """A kernel that agrees is checked on its first call for a kind of
    input, not again; another kind (a dense target) is checked anew."""
    pred, labels, weight = _inputs()
    monkeypatch.setenv(mf.FUSED_ENV, '1')
    _fresh_state(monkeypatch)
    monkeypatch.setattr(mf, '_fused_compiled', mf._fused_body)
    checks = []
    real = mf._self_check
    monkeypatch.setattr(mf, '_self_check',
                        lambda *a: checks.append(1) or real(*a))
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        for _ in range(3):
            _run(_planted(), pred, labels, weight)
        assert len(checks) == 1
        onehot = torch.nn.functional.one_hot(labels, C + 1)[:, :C].float()
        _run(_planted(), pred, onehot, weight)
        assert len(checks) == 2
    assert not mf._fused_disabled


def test_backward_hands_over_or_scales_the_stored_gradient():
    """``loss.backward()`` passes the stored gradient on without a scaled
    copy; other upstream gradients scale it; retained graphs give the same
    gradient again (nothing is modified in place)."""
    pred, labels, weight = _inputs()
    x = pred.clone().requires_grad_()
    # s = 0: the gradient statistics each backward adds leave gamma_j alone
    loss = EqualizedFocalLoss(C, scale_factor=0.0)
    loss(x, labels, weight, avg_factor=7.0).backward()
    once = x.grad.clone()
    x.grad = None
    (3.0 * loss(x, labels, weight, avg_factor=7.0)).backward()
    torch.testing.assert_close(x.grad, 3.0 * once)
    x.grad = None
    out = loss(x, labels, weight, avg_factor=7.0)
    out.backward(retain_graph=True)
    out.backward()
    torch.testing.assert_close(x.grad, 2.0 * once)
    # the graph's other uses of x add to the handed-over gradient
    x.grad = None
    (loss(x, labels, weight, avg_factor=7.0) + x.sum()).backward()
    torch.testing.assert_close(x.grad, once + 1.0)


def test_compile_options_are_known_to_this_torch():
    """Options torch.compile does not know would make every fused call fail
    over to eager; only existing ones are passed (FMA contraction here)."""
    from torch._inductor import config
    options = mf._compile_options()
    for key in options:
        section, name = key.split('.')
        assert hasattr(getattr(config, section), name), key
    fma = 'cpp.enable_floating_point_contract_flag'
    # torch < 2.4 lacks the option and compiles without it
    want = {fma: 'fast'} if hasattr(config.cpp, fma.split('.')[1]) else {}
    assert options == want


@pytest.mark.parametrize('mode', ['0', '1'])
def test_negative_sums_survive_dominant_positives(monkeypatch, mode):
    """A category whose positives get over 10^5 times the gradient of all
    its negatives together (hard positives, far-tail negatives): its
    negative sum is exact to fp32 rounding, in the eager and the fused
    kernel (as a column sum minus the positives it was rounding noise; the
    fused kernel's BCE of far-tail negatives lost digits too). Reference:
    EFL eq. 6 (gamma_j = 2, weight 1) in float64."""
    g = torch.Generator().manual_seed(5)
    n = 300
    pred = -12.0 + torch.randn(n, C, generator=g) * 0.5
    labels = torch.full((n, ), C)
    labels[:C] = torch.arange(C)
    pred[torch.arange(C), torch.arange(C)] = -3.0  # hard positives
    weight = torch.ones(n)
    monkeypatch.setenv(mf.FUSED_ENV, mode)
    _fresh_state(monkeypatch)
    loss = EqualizedFocalLoss(C)  # G_j = 1 initially: gamma_j = 2
    with warnings.catch_warnings():
        warnings.simplefilter('error', RuntimeWarning)
        _, _, pos, neg = _run(loss, pred, labels, weight)
    assert not mf._fused_disabled
    x = pred.double()
    y = torch.nn.functional.one_hot(labels, C + 1)[:, :C].double()
    p = x.sigmoid()
    pt = torch.where(y > 0, p, 1 - p)
    at = torch.where(y > 0, 0.25, 0.75)
    eq6 = at * (2 * y - 1) * (1 - pt)**2 * (2 * pt * torch.log(pt) + pt - 1)
    eq6 = eq6.abs() / (7.0 + torch.finfo(torch.float32).eps)
    want_pos, want_neg = (eq6 * y).sum(0), (eq6 * (1 - y)).sum(0)
    assert (want_pos / want_neg).min() > 1e5
    torch.testing.assert_close(pos, want_pos, rtol=1e-5, atol=0)
    torch.testing.assert_close(neg, want_neg, rtol=1e-4, atol=0)
