"""The fused kernel's runtime: where it is used, what it computes for every
kind of input (against the eager kernel), and its self-check: which rows it
recomputes, its tolerances, what its warning names. The compiled function
is replaced by the uncompiled body (the same computation, without the wait
for a compiler) except where compilation itself is the subject."""
import re
import warnings

import pytest
import torch

from mmdet_efl.models.losses import FocalTerms, modulated_focal_loss
from mmdet_efl.models.losses import category_statistics as cs
from mmdet_efl.models.losses import fused_kernel as fk

C = 5


@pytest.fixture
def fused(monkeypatch):
    """The fused kernel forced on, uncompiled, with no device disabled or
    kind checked yet; returns the calls of the compiled function."""
    monkeypatch.setenv(fk.FUSED_ENV, '1')
    monkeypatch.setattr(fk, '_fused_disabled', set())
    monkeypatch.setattr(fk, '_fused_verified', set())
    calls = []

    def body(*args):
        calls.append(args[0].shape[0])
        return fk._fused_body(*args)
    monkeypatch.setattr(fk, '_fused_compiled', body)
    return calls


def _labels(n, seed=0, fg=0.3):
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, C, (n, ), generator=g)
    labels[torch.rand(n, generator=g) > fg] = C
    return labels


def _pred(n, seed=1, spread=4.0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, C, generator=g) * spread


def _efl_terms():
    gamma = torch.linspace(2.0, 8.0, C, dtype=torch.float64)
    weight = gamma / 2  # one tensor for both, as EFL's
    return FocalTerms(gamma=gamma, w_pos=weight, w_neg=weight, alpha=0.25)


def _eqlv2_terms():
    g = torch.Generator().manual_seed(3)
    return FocalTerms(gamma=torch.tensor(2.0, dtype=torch.float64),
                      w_pos=1 + torch.rand(C, generator=g,
                                           dtype=torch.float64),
                      w_neg=torch.rand(C, generator=g, dtype=torch.float64),
                      alpha=0.25)


def _both(monkeypatch, pred, terms, **kw):
    """The fused kernel's result (no warning: its self-check passes) and
    the eager kernel's."""
    with warnings.catch_warnings():
        warnings.simplefilter('error', RuntimeWarning)
        got = modulated_focal_loss(pred, terms, **kw)
    assert not fk._fused_disabled
    monkeypatch.setenv(fk.FUSED_ENV, '0')
    want = modulated_focal_loss(pred, terms, **kw)
    monkeypatch.setenv(fk.FUSED_ENV, '1')
    return got, want


def test_fused_kernel_is_used_where_it_pays(monkeypatch):
    """On CPU from 2^22 logits on (the one-off compilation does not pay
    below), at any size with ``MMDET_EFL_FUSED=1``, never with ``0``, on a
    device where it failed, or without ``torch.compile``."""
    monkeypatch.setattr(fk, '_fused_disabled', set())
    monkeypatch.setattr(fk, '_run_fused', lambda *args: 'fused')

    def used(shape, mode):
        if mode is None:
            monkeypatch.delenv(fk.FUSED_ENV, raising=False)
        else:
            monkeypatch.setenv(fk.FUSED_ENV, mode)
        pred = torch.zeros(1).expand(*shape)  # no memory behind it
        return fk.fused_loss(pred, None, None, None, None, None, 1.0, True,
                             None) == 'fused'

    at, below, small = (4, 1 << 20), (3, 1398101), (10, C)
    assert at[0] * at[1] == 1 << 22 == below[0] * below[1] + 1
    assert used(at, None) and used(at, 'auto')
    assert not used(below, None) and not used(small, 'auto')
    assert not used(at, '0')
    assert used(small, '1')
    fk._fused_disabled.add('cpu')
    assert not used(small, '1') and not used(at, None)
    fk._fused_disabled.clear()
    monkeypatch.delattr(torch, 'compile')
    assert not used(small, '1')


def test_first_use_compiles_the_body_once(monkeypatch, fused):
    """Compiled lazily, once per process, with dynamic shapes (a new batch
    size does not recompile) and the Inductor options this torch knows."""
    monkeypatch.setattr(fk, '_fused_compiled', None)
    compiled = []

    def compile_(fn, **kwargs):
        compiled.append((fn, kwargs))
        return fn
    monkeypatch.setattr(torch, 'compile', compile_)
    for n in (50, 70):
        _both(monkeypatch, _pred(n), _efl_terms(), labels=_labels(n))
    assert compiled == [(fk._fused_body,
                         dict(dynamic=True, options=fk._compile_options()))]


KINDS = {
    'labels': dict(),
    # an alpha that float32 does not hold exactly
    'float64 logits': dict(dtype=torch.float64, alpha=0.3),
    'dense target': dict(target=True),
    'quality scores': dict(scores=True),
    'sample weight': dict(weight=(1, )),
    'element weight': dict(weight=(C, )),
    'no alpha': dict(alpha=None),
    'two weights': dict(terms=_eqlv2_terms),
    'element-wise loss': dict(reduce=False),
}


def _kind(name, n=60):
    spec = KINDS[name]
    g = torch.Generator().manual_seed(4)
    pred = _pred(n).to(spec.get('dtype', torch.float32))
    labels = _labels(n)
    terms = spec.get('terms', _efl_terms)()
    if 'alpha' in spec:
        terms.alpha = spec['alpha']
    kw = dict(scale=1 / 7, reduce=spec.get('reduce', True))
    if spec.get('target'):
        kw['target'] = torch.nn.functional.one_hot(labels, C + 1)[:, :C] * \
            torch.rand(n, 1, generator=g)
    else:
        kw['labels'] = labels
    if spec.get('scores'):
        kw['scores'] = torch.rand(n, generator=g)
    if 'weight' in spec:
        kw['weight'] = torch.rand(n, *spec['weight'], generator=g)
    return pred, terms, kw


def test_each_kind_of_input_is_checked_once(monkeypatch, fused):
    """The first call of each kind of input (dtype, labels or dense target,
    quality scores, weight layout, alpha, one or two category weights,
    reduction) is self-checked; later calls of a kind are not."""
    checks = []
    real = fk._self_check
    monkeypatch.setattr(fk, '_self_check',
                        lambda *a: checks.append(1) or real(*a))
    for i, name in enumerate(KINDS):
        pred, terms, kw = _kind(name)
        for _ in range(2):
            _both(monkeypatch, pred, terms, **kw)
        assert len(checks) == i + 1, name
    assert len(fk._fused_verified) == len(KINDS)


@pytest.mark.parametrize('name', list(KINDS))
def test_fused_results_are_the_eager_ones(monkeypatch, fused, name):
    pred, terms, kw = _kind(name)
    got, want = _both(monkeypatch, pred, terms, **kw)
    # float64 in float64 (the log-space form and the general one differ
    # by rounding only), float32 otherwise
    tol = dict(rtol=1e-12, atol=1e-15) if pred.dtype == torch.float64 \
        else dict(rtol=1e-5, atol=1e-7)
    for a, b in ((got[0], want[0]), (got[1], want[1]), (got[2][0],
                                                         want[2][0]),
                 (got[2][1], want[2][1])):
        assert a.dtype == b.dtype and a.shape == b.shape
        torch.testing.assert_close(a, b, **tol)


@pytest.mark.parametrize('kind', ['labels', 'dense'])
def test_half_logits_and_a_float64_target_are_taken_in_float32(
        monkeypatch, fused, kind):
    n = 80
    labels = _labels(n)
    kw = dict(labels=labels) if kind == 'labels' else dict(
        target=torch.nn.functional.one_hot(labels, C + 1)[:, :C].double())
    got, want = _both(monkeypatch, _pred(n, spread=8.0).half(), _efl_terms(),
                      scale=0.5, **kw)
    for a, b in zip((got[0], got[1], *got[2]), (want[0], want[1],
                                               *want[2])):
        assert a.dtype == b.dtype == torch.float32
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-7)


def test_negative_sums_of_binary_labels_come_after_the_graph():
    """For labels without quality scores the graph leaves the negative
    sums out (None): a matrix-vector product over the gradient takes
    them."""
    n = 40
    pred, labels = _pred(n), _labels(n)
    one = torch.tensor(1.0)
    args = dict(target=None, weight=None, gamma=torch.full((C, ), 2.0),
                w_pos=None, w_neg=None, alpha=None, scale=one, reduce=True)
    out = fk._fused_body(pred, labels, None, **args)
    assert out[3] is None
    out = fk._fused_body(pred, labels, torch.rand(n), **args)
    assert out[3].shape == (C, )
    args.update(target=torch.nn.functional.one_hot(labels, C + 1)[:, :C])
    out = fk._fused_body(pred, None, None, **args)
    assert out[3].shape == (C, )


def test_empty_batch(monkeypatch, fused):
    got, want = _both(monkeypatch, torch.zeros(0, C), _efl_terms(),
                      labels=torch.zeros(0, dtype=torch.long))
    assert got[0] == 0 and got[1].shape == (0, C)
    assert not got[2][0].any() and not got[2][1].any()


def _recompute_spy(monkeypatch):
    """Rows of each input the reference kernel sees in a self-check."""
    seen = []
    real = fk._self_check

    def check(*args):
        *args, reference = args

        def spy(*a, **k):
            seen.append(a[0].shape[0])
            return reference(*a, **k)
        return real(*args, spy)
    monkeypatch.setattr(fk, '_self_check', check)
    return seen


def test_self_check_recomputes_a_slice(monkeypatch, fused):
    """Up to 256 rows (128 foreground rows and the first 128) are
    recomputed by both kernels; an input of no more rows is checked on the
    compiled kernel's own result, without running it twice."""
    seen = _recompute_spy(monkeypatch)
    _both(monkeypatch, _pred(1000), _efl_terms(), labels=_labels(1000))
    assert fused == [1000, len(seen) and seen[0]]
    assert 128 < seen[0] <= 256
    fused.clear()
    fk._fused_verified.clear()
    _both(monkeypatch, _pred(100), _efl_terms(), labels=_labels(100))
    assert fused == [100] and seen[1] == 100


def _perturbed(what, rows=None):
    """The body with one deliberate fault; ``rows``: only on the full
    input, only in these rows."""
    def body(*args):
        loss, grad, pos, neg = fk._fused_body(*args)
        full = rows is None or grad.shape[0] > 256
        if what == 'loss' and full:
            loss = loss * 1.01
        elif what == 'gradient' and full:
            grad = grad.clone()
            grad[rows if rows is not None else slice(None), 0] *= 1.5
        elif what == 'positive statistics':
            pos = pos * 1.01
        elif what == 'negative statistics':  # binary labels: after the graph
            neg = cs.binary_negative_sums(grad, args[1], 1.0) * 1.01
        elif what == 'loss shape':
            loss = loss.sum()
        return loss, grad, pos, neg
    return body


@pytest.mark.parametrize('what, reduce, rows, message', [
    ('loss', True, None, 'loss'),
    ('gradient', True, None, 'gradient'),
    ('positive statistics', True, None, 'positive statistics'),
    ('negative statistics', True, None, 'negative statistics'),
    ('gradient', True, [299], 'gradient of the full input'),
    ('loss', False, [299], 'loss of the full input'),
    ('loss shape', False, None, 'loss'),
])
def test_self_check_names_what_differs(monkeypatch, fused, what, reduce,
                                       rows, message):
    """The warning names the quantity, its largest difference and the
    magnitude of its values. Faults confined to one row of the full input
    are found when the row is among the first 128 foreground rows, here
    the 100th (rows 200-399 are foreground)."""
    n = 400
    labels = torch.full((n, ), C)
    labels[200:] = _labels(200, fg=1.0)
    pred, terms = _pred(n), _efl_terms()
    monkeypatch.setattr(fk, '_fused_compiled', _perturbed(what, rows))
    with pytest.warns(RuntimeWarning) as record:
        out = modulated_focal_loss(pred, terms, labels=labels, scale=0.5,
                                   reduce=reduce)
    assert fk._fused_disabled == {'cpu'}
    text, = [str(w.message) for w in record]
    m = re.fullmatch(
        r'mmdet-efl: the compiled loss kernel failed its self-check: '
        r'(.+) differs from the eager kernel \(largest difference (\S+), '
        r'of values up to (\S+)\) on cpu; using the eager kernel on cpu '
        r'from now on', text)
    assert m and m[1] == message, text
    if what == 'loss shape':
        assert m[2] == 'None'
    elif what in ('loss', 'positive statistics', 'negative statistics'):
        # 1% of the largest value, up to the spread of the values
        assert 0.002 <= float(m[2]) / float(m[3]) <= 0.0101, text
    # the result is the eager kernel's
    monkeypatch.setenv(fk.FUSED_ENV, '0')
    want = modulated_focal_loss(pred, terms, labels=labels, scale=0.5,
                                reduce=reduce)
    torch.testing.assert_close(out[1], want[1], rtol=0, atol=0)


def test_self_check_of_a_dense_target_recomputes_its_foreground_rows(
        monkeypatch, fused):
    n = 400
    labels = torch.full((n, ), C)
    labels[200:] = _labels(200, fg=1.0)
    target = torch.nn.functional.one_hot(labels, C + 1)[:, :C].float()
    monkeypatch.setattr(fk, '_fused_compiled', _perturbed('gradient', [299]))
    with pytest.warns(RuntimeWarning, match='self-check: gradient of the '
                      'full input differs'):
        modulated_focal_loss(_pred(n), _efl_terms(), target=target)


@pytest.mark.parametrize('size, caught', [(0.5, False), (3.0, True)])
@pytest.mark.parametrize('part', ['absolute', 'relative'])
def test_self_check_tolerance(monkeypatch, fused, part, size, caught):
    """Each element may differ by 1e-3 relative or by 1e-5 of the largest
    magnitude absolute (compiled code rounds differently, and cancels
    differently near 0): ``size`` times one of them is added to every
    gradient element."""
    def body(*args):
        loss, grad, pos, neg = fk._fused_body(*args)
        if part == 'absolute':
            noise = fk._CHECK_ATOL * float(grad.abs().max())
        else:
            noise = fk._CHECK_RTOL * grad.abs()
        return loss, grad + size * noise, pos, neg
    monkeypatch.setattr(fk, '_fused_compiled', body)
    n = 200
    pred = _pred(n)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter('always')
        out = modulated_focal_loss(pred, _efl_terms(), labels=_labels(n),
                                   scale=0.1)
    # below 1, so that 1e-5 of it and 1e-5 over it differ; with elements
    # below the absolute tolerance, where only it holds
    big = float(out[1].abs().max())
    assert 0.05 < big < 1
    assert float(out[1].abs().min()) < fk._CHECK_ATOL * big
    texts = [str(w.message) for w in record]
    if caught:
        assert len(texts) == 1 and 'self-check: gradient differs' in \
            texts[0], texts
    else:
        assert not texts and not fk._fused_disabled
