"""bench/lvis_full_size.py at a tiny size: it generates LVIS-like files,
measures each row in a fresh process, and ours and mmdet's metric agree
(the full-size run is not part of the suite: see the README)."""
import json
import runpy
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO


def test_tiny_run_measures_each_row(tmp_path, monkeypatch, capsys):
    script = Path(REPO) / 'bench/lvis_full_size.py'
    out = tmp_path / 'out.json'
    monkeypatch.setattr(sys, 'argv', [
        str(script), '--sizes', '16', '--rows', 'eval-faster', 'eval-mmdet',
        '--num-categories', '12', '--work', str(tmp_path / 'work'),
        '--out', str(out), '--label', 'tiny'])
    runpy.run_path(str(script), run_name='__main__')
    rows = json.loads(out.read_text())['tiny']['rows']
    assert [(r['row'], r['images'], r['ended']) for r in rows] == [
        ('eval-faster', 16, 'ok'), ('eval-mmdet', 16, 'ok')]
    assert all(r['peak_gib'] > 0.05 and r['wall_s'] > 0 for r in rows)
    # mmdet's LVISMetric rounds to 3 decimals
    assert rows[0]['AP'] == pytest.approx(rows[1]['AP'], abs=5e-4)
    assert 0 < rows[0]['AP'] < 1
    printed = capsys.readouterr().out
    assert '| eval-faster | 16 |' in printed and '| 1.00x |' in printed
