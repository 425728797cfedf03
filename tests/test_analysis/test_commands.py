"""Every tool under tools/analysis/ starts and documents itself."""
import subprocess
import sys

import pytest

from tests.helpers import REPO

TOOLS = sorted((REPO / 'tools/analysis').glob('*.py'))


#: the tools that write figures to an ``out_dir``
FIGURE_TOOLS = {'loss_figures', 'sample_ratio', 'loss_distribution',
                'score_margin', 'focusing_factors', 'training_curves',
                'efl_diagnosis'}


def test_every_figure_has_a_tool():
    assert {t.stem for t in TOOLS} == FIGURE_TOOLS


@pytest.mark.parametrize('tool', TOOLS, ids=lambda t: t.stem)
def test_help(tool):
    out = subprocess.run([sys.executable, str(tool), '--help'], check=True,
                         capture_output=True, text=True).stdout
    assert 'usage:' in out
    if tool.stem in FIGURE_TOOLS:
        assert 'out_dir' in out
