"""Install mmdet-efl next to an existing MMDetection 3.x environment.

Users with a working mmdet 3.x stack (GPU, conda) need only ``pip install -e .``.
``tools/setup_env.sh`` builds a complete CPU environment from nothing.
"""
from pathlib import Path

from setuptools import find_packages, setup

version: dict = {}
exec(Path(__file__).with_name('mmdet_efl').joinpath('version.py').read_text(), version)

setup(
    name='mmdet-efl',
    version=version['__version__'],
    description='Equalized Focal Loss and its family for MMDetection 3.x',
    long_description=Path(__file__).with_name('README.md').read_text(encoding='utf-8'),
    long_description_content_type='text/markdown',
    packages=find_packages(include=['mmdet_efl', 'mmdet_efl.*']),
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
