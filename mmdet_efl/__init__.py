"""mmdet-efl: Equalized Focal Loss and its family for MMDetection 3.x.

Importing the package registers its losses, heads, hooks and metrics in
mmdet's registries, installs the safe checkpoint loader and lets the lvis-api
run on numpy 2.
"""
from .utils.compat import check_torch_version

check_torch_version()

from . import datasets, engine, evaluation, models  # noqa: F401,E402
from . import analysis  # noqa: F401,E402
from .version import __version__  # noqa: E402

__all__ = ['__version__']
