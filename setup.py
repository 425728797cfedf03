"""Install mmdet-efl next to an existing MMDetection 3.x environment.

Users with a working mmdet 3.x stack (GPU, conda) need only ``pip install .``
(``pip install -e .`` for development). ``tools/setup_env.sh`` builds a
complete CPU environment from nothing.
"""
import os
import shutil
from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
version: dict = {}
exec(HERE.joinpath('mmdet_efl', 'version.py').read_text(), version)

#: What ``mmdet_efl/.mim`` holds in a built package, as mmdet ships its own:
#: mmengine resolves ``_base_ = 'mmdet_efl::<path>'`` to
#: ``.mim/configs/<path>``, and ``mim train/test mmdet_efl`` runs
#: ``.mim/tools/train.py`` / ``test.py`` and finds configs by name there.
MIM_TOOLS = ('train.py', 'test.py', 'dist_train.sh', 'dist_test.sh',
             'dist_checks.sh', 'slurm_train.sh', 'slurm_test.sh')
# mmengine reads model-index.yml before it falls back to .mim/configs; with
# no model metafiles to import, every name resolves to .mim/configs/<path>.
MODEL_INDEX = 'Import: []\n'


def copy_mim_files(mim_dir: Path) -> None:
    """Writes the configs, tools and model index of ``.mim`` into
    ``mim_dir`` (removed first, so that a config deleted from the
    repository does not linger in a reused build folder).

    Raises:
        FileNotFoundError: ``configs/`` or one of :data:`MIM_TOOLS` is
            missing from the source tree (an sdist built without
            MANIFEST.in).
    """
    if mim_dir.exists():
        shutil.rmtree(mim_dir)
    mim_dir.mkdir(parents=True)
    configs = HERE / 'configs'
    if not configs.is_dir():
        raise FileNotFoundError(f'{configs} is missing: the package ships '
                                'its configs under mmdet_efl/.mim/configs')
    shutil.copytree(
        configs, mim_dir / 'configs',
        ignore=lambda folder, names: [
            n for n in names
            if n == '__pycache__' or n.endswith('.pyc')])
    (mim_dir / 'tools').mkdir()
    for name in MIM_TOOLS:
        shutil.copy2(HERE / 'tools' / name, mim_dir / 'tools' / name)
    (mim_dir / 'model-index.yml').write_text(MODEL_INDEX)


class BuildPyWithMim(build_py):
    """``build_py`` that also writes ``mmdet_efl/.mim`` into the build
    folder, so that wheels and regular installs carry it (the source tree
    is left as it is).

    Editable installs map the package to the source tree, so the build
    folder's copy would never be seen there: ``mmdet_efl::`` bases and
    ``mim`` need a regular install (configs of a checkout are used by
    path).
    """

    def run(self) -> None:
        super().run()
        if not getattr(self, 'editable_mode', False):
            copy_mim_files(Path(self.build_lib, 'mmdet_efl', '.mim'))


setup(
    name='mmdet-efl',
    version=version['__version__'],
    description='Equalized Focal Loss and its family for MMDetection 3.x',
    long_description=HERE.joinpath('README.md').read_text(encoding='utf-8'),
    long_description_content_type='text/markdown',
    packages=find_packages(include=['mmdet_efl', 'mmdet_efl.*']),
    cmdclass={'build_py': BuildPyWithMim},
    # The ranges are what the support matrix tests (README "Supported
    # stacks", requirements/stacks/): its lowest stack pins each lower bound.
    # torch (>= 2.1) is not listed, so that pip never replaces a user's
    # CUDA build; importing mmdet_efl checks it.
    python_requires='>=3.8',
    install_requires=[
        'mmdet>=3.2.0,<3.4.0',
        'mmengine>=0.10.3,<1.0.0',
        'mmcv>=2.1.0,<2.2.0',
        # pkg_resources is imported at run time by `mmdet::` base configs.
        'setuptools<81',
        'pycocotools',
        'lvis',
        'faster-coco-eval',
        'matplotlib',
        'tqdm',
    ],
    license='Apache-2.0',
    zip_safe=False,
)
