"""Lets the official lvis-api (0.5.3, its last release) run on numpy >= 1.24.

``LVISEval.accumulate`` casts with ``np.float``, an alias numpy 1.24 removed,
so every LVIS evaluation (mmdet's ``LVISMetric`` included) fails on numpy 2
with an AttributeError. Rather than patching numpy globally, we give the
``lvis.eval`` module its own view of numpy that adds the removed aliases with
their old meaning (builtin ``float``/``int``/``bool``/``object``); the
numbers are those of the official code.

The view changes the ``lvis.eval`` module for the whole process, so
importing this package does not install it. :func:`patch_lvis_for_numpy2`
is called where the lvis-api is about to be run: by
:func:`~mmdet_efl.evaluation.evaluate_lvis` with the ``'lvis'`` backend
(``LVISBoxMetric(backend='lvis')``), and by ``tools/train.py`` and
``tools/test.py`` (configs that evaluate with mmdet's ``LVISMetric``). Code
of one's own that runs ``LVISMetric`` or ``LVISEval`` on numpy >= 1.24
calls it first.
"""
import builtins
import types

import numpy as np

_REMOVED_ALIASES = ('float', 'int', 'bool', 'object')


class _NumpyWithAliases(types.ModuleType):
    """numpy, plus the aliases numpy 1.24 removed."""

    def __init__(self) -> None:
        super().__init__('numpy')
        for name in _REMOVED_ALIASES:
            setattr(self, name, getattr(builtins, name))

    def __getattr__(self, name: str):
        return getattr(np, name)


def patch_lvis_for_numpy2() -> bool:
    """Installs the numpy view into ``lvis.eval``; idempotent.

    Returns:
        True if lvis is installed and now uses the view.
    """
    try:
        import lvis.eval as lvis_eval
    except ImportError:
        return False
    if not isinstance(lvis_eval.np, _NumpyWithAliases):
        lvis_eval.np = _NumpyWithAliases()
    return True
