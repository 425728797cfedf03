"""Writes a COCO/LVIS-format dataset in the OpenImages Challenge 2019 layout
that mmdet's ``OpenImagesChallengeDataset`` reads, so the EFL Table 7
configs (``configs/openimages/``) run on the generated long-tail dataset.

Layout under ``out_root`` (the configs' ``data_root``)::

    challenge2019/challenge-2019-{train,validation}-detection-bbox.txt
    challenge2019/challenge-2019-{train,validation}-metas.pkl
    challenge2019/challenge-2019-validation-detection-human-imagelabels.csv
    challenge2019/cls-label-description.csv
    challenge2019/class_label_tree.np
    OpenImages/train/       -> the source's training images
    OpenImages/validation/  -> the source's validation images

Boxes are written as normalised ``x1 y1 x2 y2`` with 1-based labels, one
``is_group_of`` flag each (0: the source has no group boxes). Image-level
labels are the categories present (confidence 1) plus, for LVIS sources,
the verified-absent ``neg_category_ids`` (confidence 0). The class
hierarchy is flat.
"""
import csv
import json
import os
import pickle
from pathlib import Path
from typing import Dict

import numpy as np

SPLITS = {'train': 'train', 'validation': 'val'}


def _link(target: Path, link: Path) -> None:
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.is_symlink() or link.exists():
        link.unlink()
    os.symlink(target.resolve(), link, target_is_directory=True)


def export_openimages_challenge(source_root: str,
                                out_root: str) -> Dict[str, str]:
    """Converts ``source_root/annotations/{train,val}.json`` (images under
    ``source_root/{train,val}/``); returns the written files by name."""
    src, out = Path(source_root), Path(out_root)
    ann_dir = out / 'challenge2019'
    ann_dir.mkdir(parents=True, exist_ok=True)
    data = {split: json.loads(
        (src / 'annotations' / f'{name}.json').read_text())
        for split, name in SPLITS.items()}
    categories = data['train']['categories']
    label_of = {c['id']: i + 1 for i, c in enumerate(categories)}
    mid_of = {c['id']: f"/m/cat{c['id']}" for c in categories}
    files = {}

    path = ann_dir / 'cls-label-description.csv'
    with open(path, 'w', newline='') as f:
        csv.writer(f).writerows((mid_of[c['id']], c['name'], label_of[c['id']])
                                for c in categories)
    files['label_file'] = str(path)
    path = ann_dir / 'class_label_tree.np'
    with open(path, 'wb') as f:  # np.save would append .npy to a name
        np.save(f, np.eye(len(categories) + 1, dtype=bool))
    files['hierarchy_file'] = str(path)

    for split, name in SPLITS.items():
        images = data[split]['images']
        boxes: Dict[int, list] = {img['id']: [] for img in images}
        for ann in data[split]['annotations']:
            boxes[ann['image_id']].append(ann)
        # the train images sit under the train prefix, validation ones
        # under the common prefix, as in mmdet's challenge configs
        prefix = '' if split == 'train' else 'validation/'
        lines, metas = [], []
        for img in images:
            w, h = img['width'], img['height']
            filename = prefix + Path(img['file_name']).name
            lines += [filename, f'{h} {w}', str(len(boxes[img['id']]))]
            for ann in boxes[img['id']]:
                x, y, bw, bh = ann['bbox']
                lines.append(f"{label_of[ann['category_id']]} {x / w:.6f} "
                             f'{y / h:.6f} {(x + bw) / w:.6f} '
                             f'{(y + bh) / h:.6f} 0')
            metas.append(dict(filename=filename, ori_shape=(h, w, 3)))
        path = ann_dir / f'challenge-2019-{split}-detection-bbox.txt'
        path.write_text('\n'.join(lines) + '\n')
        files[f'{split}_ann_file'] = str(path)
        path = ann_dir / f'challenge-2019-{split}-metas.pkl'
        with open(path, 'wb') as f:
            pickle.dump(metas, f)
        files[f'{split}_meta_file'] = str(path)
        _link(src / name, out / 'OpenImages' / split)

    path = ann_dir / ('challenge-2019-validation-detection-human-'
                      'imagelabels.csv')
    with open(path, 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['ImageID', 'LabelName', 'Confidence'])
        val_boxes: Dict[int, set] = {}
        for ann in data['validation']['annotations']:
            val_boxes.setdefault(ann['image_id'], set()).add(
                ann['category_id'])
        for img in data['validation']['images']:
            image_id = Path(img['file_name']).stem
            for cat in sorted(val_boxes.get(img['id'], ())):
                writer.writerow([image_id, mid_of[cat], 1])
            for cat in img.get('neg_category_ids', ()):
                writer.writerow([image_id, mid_of[cat], 0])
    files['image_level_ann_file'] = str(path)
    return files
