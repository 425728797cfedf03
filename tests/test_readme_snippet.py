"""The README's "use the modules in your own config" snippet works when
copied onto a stock mmdet detector config."""
import re

from mmdet.registry import MODELS
from mmengine.config import Config

import mmdet_efl  # noqa: F401
from mmdet_efl.engine.hooks.category_check_hook import classifiers

from tests.helpers import REPO


def _snippet() -> str:
    readme = (REPO / 'README.md').read_text()
    after = readme.split('Or use the modules in your own config:', 1)[1]
    return re.search(r'```python\n(.*?)```', after, re.S).group(1)


def test_readme_snippet_gives_head_and_loss_the_same_classes(tmp_path):
    cfg_path = tmp_path / 'mine.py'
    cfg_path.write_text("_base_ = 'mmdet::atss/atss_r50_fpn_1x_coco.py'\n" +
                        _snippet())
    cfg = Config.fromfile(str(cfg_path))
    cfg.model.backbone.init_cfg = None
    model = MODELS.build(cfg.model)
    assert classifiers(model) == [('bbox_head', 1203),
                                  ('bbox_head.loss_cls', 1203)]
    assert [h['type'] for h in cfg.custom_hooks] == ['GradientCollectorHook']


def test_every_path_the_readmes_name_exists():
    """Configs, tools and docs the READMEs tell users to run or read."""
    pattern = re.compile(r'(?<![\w/.-])((?:configs|tools|docs|bench|projects)'
                         r'/[\w./-]+\.(?:py|sh|md|png|json))')
    missing = []
    readmes = [REPO / 'README.md', REPO / 'configs/README.md',
               *REPO.glob('docs/**/*.md'),
               *REPO.glob('projects/*/README.md'),
               *REPO.glob('projects/*/docs/*.md')]
    for readme in readmes:
        for path in pattern.findall(readme.read_text()):
            # a project's README names its own files from its folder
            root = readme.parent if 'projects' in readme.parts else REPO
            if not (REPO / path).exists() and not (root / path).exists():
                missing.append(f'{readme.relative_to(REPO)}: {path}')
    assert not missing, missing
