"""EFL Fig. 2: positives per category under the detector's assigner, and
negatives as every other valid anchor."""
import json

import numpy as np
import torch

from mmdet_efl.analysis import DenseSamples, SampleCounter, commands
from mmdet_efl.analysis.commands import sample_ratio_main
from mmdet_efl.analysis.dense_samples import train_image_counts
from mmengine.config import Config


def test_counter_counts_valid_anchors_per_category():
    counter = SampleCounter(num_classes=3)
    # labels: 3 is background; the last anchor is ignored (label weight 0)
    counter(DenseSamples(labels=torch.tensor([0, 0, 2, 3, 3, 1]),
                         valid=torch.tensor([1, 1, 1, 1, 1, 0]).bool()))
    counter(DenseSamples(labels=torch.tensor([2, 3, 3]),
                         valid=torch.ones(3, dtype=torch.bool)))
    result = counter.result()
    assert result['pos'] == [2, 0, 2]
    assert result['valid_anchors'] == 8
    assert result['neg'] == [6, 8, 6]
    np.testing.assert_allclose(result['log10_ratio'][0], np.log10(2 / 6))
    assert result['log10_ratio'][1] is None  # no positives: no bar


def test_command_on_the_generated_dataset(tiny_runs, tiny_lvis, tmp_path,
                                          monkeypatch):
    cfg_path = str(tiny_runs['EFL']['config'])
    built = []
    real_build = commands.build_analysis_dataset
    monkeypatch.setattr(commands, 'build_analysis_dataset',
                        lambda *a: built.append(a[1:]) or real_build(*a))
    data = sample_ratio_main([cfg_path, str(tmp_path)])
    # the training annotations give samples and counts, parsed once
    assert built == [('train', None, None, None)]
    saved = json.loads((tmp_path / 'efl_fig2.json').read_text())
    assert saved['pos'] == data['pos']
    assert (tmp_path / 'efl_fig2.png').stat().st_size > 10_000
    pos, neg = np.array(saved['pos']), np.array(saved['neg'])
    assert saved['images'] == 24
    np.testing.assert_array_equal(pos + neg, saved['valid_anchors'])
    # every category with training instances gets positives
    counts = train_image_counts(Config.fromfile(cfg_path))
    assert saved['image_count'] == counts.tolist()
    assert ((pos > 0) == (counts > 0)).all()
    np.testing.assert_allclose(
        [v for v in saved['log10_ratio'] if v is not None],
        np.log10(pos[pos > 0] / neg[pos > 0]))
    # plotted from most to least frequent
    ordered = np.array(saved['image_count'])[saved['order']]
    assert (np.diff(ordered) <= 0).all()
    assert set(saved['group']) <= {'r', 'c', 'f'}


def test_command_on_coco_format_files_given_by_flag(tmp_path):
    """A stock-COCO config pointed at other COCO-format files with
    --data-root/--ann-file/--img-prefix (here: a generated balanced dataset
    whose categories carry COCO names, as real COCO files do)."""
    import json as _json

    from mmdet.datasets import CocoDataset
    from longtail_benchmark.synthetic_longtail import (SyntheticSpec,
                                                       generate_dataset)
    from tests.helpers import REPO
    root = tmp_path / 'coco'
    generate_dataset(str(root), SyntheticSpec(
        num_classes=4, num_train=12, num_val=4, balanced=True, seed=2))
    ann = root / 'annotations/train.json'
    data = _json.loads(ann.read_text())
    coco_names = CocoDataset.METAINFO['classes']
    for cat, name in zip(data['categories'], coco_names):
        cat['name'] = name
    ann.write_text(_json.dumps(data))
    out = tmp_path / 'out'
    saved = sample_ratio_main([
        str(REPO / 'configs/efl/atss-iou_r50_fpn_fl-2x_coco.py'), str(out),
        '--data-root', str(root), '--ann-file', 'annotations/train.json',
        '--img-prefix', '', '--train-ann-file', 'annotations/train.json'])
    assert saved['images'] == 12
    assert saved['image_count'] == [
        len({a['image_id'] for a in data['annotations']
             if a['category_id'] == c['id']}) for c in data['categories']]
    assert all(p > 0 for p in saved['pos'])
    assert (out / 'efl_fig2.png').exists()
