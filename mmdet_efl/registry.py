"""The ``mmdet_efl`` scope: its registries and its configs' package name.

This package registers its modules in mmdet's registries. MMEngine gives
every typed dict of a base config named ``'mmdet_efl::<path>'`` the scope
``_scope_='mmdet_efl'``, and builds it from the registry of that scope
(importing this module to find it). The registries here hold nothing of
their own: a lookup falls through to mmdet's registry below which each
sits (where this package's modules are), then to MMEngine's, so a config
built in the ``mmdet_efl`` scope finds what it would in mmdet's.
"""
from mmdet import registry as mmdet_registry
from mmengine.registry import Registry

#: the scope name of this package's configs and registries
SCOPE = 'mmdet_efl'


def _scope_registry(parent: Registry) -> Registry:
    """An empty registry of scope :data:`SCOPE` under mmdet's ``parent``."""
    # A lookup that falls through to a parent reads its modules without
    # running the parent's lazy imports, so ours runs them as well.
    return Registry(parent.name, parent=parent, scope=SCOPE,
                    locations=['mmdet_efl', *parent._locations])


RUNNERS = _scope_registry(mmdet_registry.RUNNERS)
RUNNER_CONSTRUCTORS = _scope_registry(mmdet_registry.RUNNER_CONSTRUCTORS)
LOOPS = _scope_registry(mmdet_registry.LOOPS)
HOOKS = _scope_registry(mmdet_registry.HOOKS)
DATASETS = _scope_registry(mmdet_registry.DATASETS)
DATA_SAMPLERS = _scope_registry(mmdet_registry.DATA_SAMPLERS)
TRANSFORMS = _scope_registry(mmdet_registry.TRANSFORMS)
MODELS = _scope_registry(mmdet_registry.MODELS)
MODEL_WRAPPERS = _scope_registry(mmdet_registry.MODEL_WRAPPERS)
WEIGHT_INITIALIZERS = _scope_registry(mmdet_registry.WEIGHT_INITIALIZERS)
OPTIMIZERS = _scope_registry(mmdet_registry.OPTIMIZERS)
OPTIM_WRAPPERS = _scope_registry(mmdet_registry.OPTIM_WRAPPERS)
OPTIM_WRAPPER_CONSTRUCTORS = _scope_registry(
    mmdet_registry.OPTIM_WRAPPER_CONSTRUCTORS)
PARAM_SCHEDULERS = _scope_registry(mmdet_registry.PARAM_SCHEDULERS)
METRICS = _scope_registry(mmdet_registry.METRICS)
EVALUATOR = _scope_registry(mmdet_registry.EVALUATOR)
TASK_UTILS = _scope_registry(mmdet_registry.TASK_UTILS)
VISUALIZERS = _scope_registry(mmdet_registry.VISUALIZERS)
VISBACKENDS = _scope_registry(mmdet_registry.VISBACKENDS)
LOG_PROCESSORS = _scope_registry(mmdet_registry.LOG_PROCESSORS)


def register_config_scope() -> None:
    """Lets MMEngine read ``_base_ = 'mmdet_efl::<path>'``, ``<path>`` as
    under ``configs/`` (e.g. ``efl/atss-iou_r50_fpn_efl-2x_lvis-v1.py``);
    call it before ``Config.fromfile``. Idempotent.

    MMEngine knows the ``pkg::`` prefix of a fixed list of OpenMMLab
    packages (``mmengine.config.utils.MODULE2PACKAGE``); this adds
    ``mmdet_efl`` to it, for the whole process. A config's
    ``custom_imports`` are imported after its bases are read, too late for
    this, so importing the package does not do it: ``tools/train.py`` and
    ``tools/test.py`` (also under ``mim train/test mmdet_efl``) call it, and
    so does a script of one's own.

    The bases are read from the installed package's ``.mim/configs``, which
    a regular install (``pip install .`` or a wheel) has. An editable
    install has none (MMEngine looks for it in ``site-packages``): there
    MMEngine raises ``FileNotFoundError`` naming the path it tried.
    """
    from mmengine.config.utils import MODULE2PACKAGE

    # The value is the distribution MMEngine checks is installed and whose
    # folder holds .mim; pip and pkg_resources accept the module's spelling.
    MODULE2PACKAGE.setdefault(SCOPE, 'mmdet_efl')
