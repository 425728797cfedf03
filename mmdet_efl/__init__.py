"""mmdet-efl: Equalized Focal Loss and its family for MMDetection 3.x.

Importing the package (what ``custom_imports=dict(imports=['mmdet_efl'])``
runs) registers its losses, heads, hooks, metrics and datasets in mmdet's
registries, and changes nothing else in the process: the analysis tools
(:mod:`mmdet_efl.analysis`) are imported by name, and each process-wide
change is made where it is asked for (README, "What importing mmdet_efl
does"): :func:`register_config_scope` for ``mmdet_efl::`` base configs,
:func:`mmdet_efl.engine.register_checkpoint_loader` or
``SafeCheckpointHook`` for the safe checkpoint loaders, and
:func:`mmdet_efl.evaluation.patch_lvis_for_numpy2` before the lvis-api runs.
"""
from .utils.compat import check_torch_version

# refuses an unsupported torch by name before anything imports it deeper
check_torch_version()

from . import datasets, engine, evaluation, models  # noqa: F401,E402
from .registry import register_config_scope  # noqa: E402
from .version import __version__  # noqa: E402

__all__ = ['__version__', 'register_config_scope']
