"""Helpers for tests of this package and of code built on it, as
``mmdet.testing`` is for mmdet: ``import mmdet_efl`` does not import them.

Importing this module registers :class:`DumpStateHook`, so that a config's
``custom_imports=dict(imports=['mmdet_efl.testing'])`` makes it available in
every process of a launched run.
"""
from .captured_log import CapturedLog
from .hooks import DumpStateHook
from .processes import free_port, run_together

__all__ = ['CapturedLog', 'DumpStateHook', 'free_port', 'run_together']
