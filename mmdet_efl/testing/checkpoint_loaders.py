"""MMEngine's checkpoint loaders as a process has them before it asks for
ours."""


def mmengine_checkpoint_loaders() -> dict:
    """MMEngine's checkpoint scheme table with MMEngine's own loaders in
    place of any safe loader of ``mmdet_efl.engine.checkpoint``: the table
    of a process that never asked for ours (the test process may have, as
    ``tools/train.py`` does)."""
    from mmengine.runner import CheckpointLoader
    from mmengine.runner import checkpoint as mmengine_checkpoint

    from mmdet_efl.engine import checkpoint as safe_checkpoint
    schemes = CheckpointLoader._schemes
    return type(schemes)(
        (prefix, getattr(mmengine_checkpoint, loader.__name__.replace(
            'load_from_safe_', 'load_from_'))
         if loader.__module__ == safe_checkpoint.__name__ else loader)
        for prefix, loader in schemes.items())
