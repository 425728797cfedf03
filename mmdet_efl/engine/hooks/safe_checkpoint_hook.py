"""The safe checkpoint loaders for a run, asked for in its config."""
from mmdet.registry import HOOKS
from mmengine.hooks import Hook

from ..checkpoint import register_checkpoint_loader


@HOOKS.register_module()
class SafeCheckpointHook(Hook):
    """Makes :mod:`mmdet_efl.engine.checkpoint`'s safe loaders MMEngine's
    checkpoint loaders before the Runner loads anything: for ``load_from``,
    ``resume`` and ``init_cfg=dict(type='Pretrained', ...)``, whichever
    script runs the config (mmdet's ``tools/train.py``, ``mim train
    mmdet``, a Runner of one's own)::

        custom_imports = dict(imports=['mmdet_efl'])
        custom_hooks = [dict(type='SafeCheckpointHook')]

    ``Runner.train``, ``val`` and ``test`` call ``before_run`` before they
    initialise weights or load a checkpoint. From then on the process keeps
    the safe loaders, as after :func:`register_checkpoint_loader` (which
    ``tools/train.py`` and ``tools/test.py`` call themselves).
    """

    # before any other hook's before_run, in case one loads weights
    priority = 'HIGHEST'

    def before_run(self, runner) -> None:
        register_checkpoint_loader()
