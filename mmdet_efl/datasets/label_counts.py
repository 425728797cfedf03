"""How often each label occurs in a dataset's annotations: the frequency by
which LVIS groups categories (training images, LVIS sec. 2) and EFL Table 7
groups OpenImages categories (training instances)."""
import numpy as np


def num_labels(dataset) -> int:
    """Labels of a built mmdet dataset. COCO and LVIS map the file's
    categories to labels through ``cat_ids``; LVIS's metainfo lists all
    1203 names whatever the file holds."""
    cat_ids = getattr(dataset, 'cat_ids', None)
    return len(cat_ids) if cat_ids else len(dataset.metainfo['classes'])


def label_counts(dataset, unit: str = 'image') -> np.ndarray:
    """Per label, the number of images that contain it (``unit='image'``)
    or of its instances (``unit='instance'``), from the parsed annotations
    of a built mmdet dataset; no image is read."""
    if unit not in ('image', 'instance'):
        raise ValueError(f"unit must be 'image' or 'instance', got {unit!r}")
    counts = np.zeros(num_labels(dataset), dtype=np.int64)
    for i in range(len(dataset)):
        labels = [inst['bbox_label']
                  for inst in dataset.get_data_info(i)['instances']]
        if unit == 'image':
            labels = list(set(labels))
        np.add.at(counts, labels, 1)
    return counts
