"""The long-tail vocabulary: LVIS's frequency groups and what names them.

LVIS (Gupta et al., CVPR 2019, sec. 2; the v1 release) groups its
categories by the number of training images they appear in: rare 1-10,
common 11-100, frequent more than 100. EFL reports AP per group (EFL
Table 2) and steers categories by what they see in training. What speaks
of groups (the hooks and the analysis here; the long-tail project's glyph
generator, simulator and benchmark) takes from here the rule, the
group names and their order, the label-to-group maps, the LVIS metric's
keys, how often each label occurs, and the dataset under sampling
wrappers.
"""
import json
from typing import Dict, List, Mapping, Sequence

import numpy as np
from mmdet.datasets import LVISV05Dataset

#: LVIS's thresholds: a category in at most this many training images is
#: rare, in at most ``COMMON_MAX_IMAGES`` common, in more frequent.
RARE_MAX_IMAGES = 10
COMMON_MAX_IMAGES = 100
#: LVIS's ``frequency`` letters and the names of their groups, rare to
#: frequent.
GROUP_NAMES = {'r': 'rare', 'c': 'common', 'f': 'frequent'}
#: The group names, rare to frequent: the order of every table and figure.
GROUP_ORDER = tuple(GROUP_NAMES.values())
#: LVIS v1's categories per group, in :data:`GROUP_ORDER` (of 1203).
LVIS_V1_GROUP_SIZES = (337, 461, 405)
#: The LVIS metric's AP of each group (``LVISBoxMetric``'s ``bbox_<key>``).
GROUP_METRIC_KEYS = {'rare': 'APr', 'common': 'APc', 'frequent': 'APf'}
#: The LVIS metric's keys: AP over all categories, then per group.
METRIC_KEYS = ('AP', ) + tuple(GROUP_METRIC_KEYS[g] for g in GROUP_ORDER)


def frequency_group(image_count: int) -> str:
    """LVIS's ``frequency`` letter (``'r'``, ``'c'`` or ``'f'``) of a
    category seen in ``image_count`` training images."""
    if image_count <= RARE_MAX_IMAGES:
        return 'r'
    return 'c' if image_count <= COMMON_MAX_IMAGES else 'f'


def group_labels(frequencies: Sequence[str]) -> Dict[str, List[int]]:
    """Label indices per group from one ``frequency`` letter per label.

    Returns:
        ``{'rare': [labels], 'common': [...], 'frequent': [...]}`` in
        :data:`GROUP_ORDER`, every group present (empty if no label has
        its letter), labels increasing.

    Raises:
        ValueError: a letter other than ``'r'``, ``'c'`` and ``'f'``.
    """
    groups: Dict[str, List[int]] = {name: [] for name in GROUP_ORDER}
    for label, letter in enumerate(frequencies):
        if letter not in GROUP_NAMES:
            raise ValueError(f'label {label} has frequency {letter!r}; LVIS '
                             f'knows {sorted(GROUP_NAMES)}')
        groups[GROUP_NAMES[letter]].append(label)
    return groups


def annotation_frequencies(ann_file: str) -> List[str]:
    """The ``frequency`` letter of every category of an LVIS-format
    annotation file, in the file's category order (the label order of
    mmdet's LVIS datasets); by :func:`frequency_group` from
    ``image_count`` where a category has no ``frequency``.

    Raises:
        KeyError: a category with neither field.
    """
    with open(ann_file) as f:
        cats = json.load(f)['categories']
    return [cat['frequency'] if 'frequency' in cat else
            frequency_group(cat['image_count']) for cat in cats]


def unwrap_dataset(dataset):
    """The innermost dataset under sampling wrappers that hold one dataset
    as ``.dataset`` (``ClassBalancedDataset`` for repeat-factor sampling,
    ``RepeatDataset``, ``MultiImageMixDataset``): the groups describe the
    data, not a sampler's repetition of it. A ``ConcatDataset`` is itself
    the dataset its labels index (its parts share one metainfo) and is
    returned as it is."""
    while hasattr(dataset, 'dataset'):
        dataset = dataset.dataset
    return dataset


def unwrap_dataset_cfg(dataset_cfg: Mapping) -> Mapping:
    """:func:`unwrap_dataset` for a dataset's config: the innermost config
    under wrapper configs with a ``dataset`` key."""
    while 'dataset' in dataset_cfg:
        dataset_cfg = dataset_cfg['dataset']
    return dataset_cfg


def num_labels(dataset) -> int:
    """Labels of a built mmdet dataset. COCO and LVIS map the file's
    categories to labels through ``cat_ids``; LVIS's metainfo lists all
    1203 names whatever the file holds."""
    cat_ids = getattr(dataset, 'cat_ids', None)
    return len(cat_ids) if cat_ids else len(dataset.metainfo['classes'])


def label_counts(dataset, unit: str = 'image') -> np.ndarray:
    """How often each label occurs: per label ``[num_labels]``, the number
    of images that contain it (``unit='image'``, the frequency by which
    LVIS groups categories) or of its instances (``unit='instance'``, by
    which EFL Table 7 groups OpenImages categories), from the parsed
    annotations of a built mmdet dataset; no image is read.

    Raises:
        ValueError: ``unit`` is neither ``'image'`` nor ``'instance'``.
    """
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


def frequency_groups(dataset) -> Dict[str, List[int]]:
    """Label indices per LVIS frequency group of a built dataset (under
    any wrappers, :func:`unwrap_dataset`), or ``{'all': [...]}``.

    Groups come from the ``frequency`` field of LVIS-style categories: a
    dataset's metainfo may carry ``frequencies`` (one letter per class),
    and mmdet's LVIS datasets (and subclasses such as
    ``StrictLVISV1Dataset``) keep ``cat_img_map``, from which the group
    follows by :func:`frequency_group`. Other datasets (COCO) have no
    frequency groups.

    Returns:
        :func:`group_labels` of the frequencies, or every label in
        ``'all'``.
    """
    dataset = unwrap_dataset(dataset)
    metainfo = getattr(dataset, 'metainfo', {}) or {}
    classes = metainfo.get('classes', ())
    freqs = metainfo.get('frequencies')
    if freqs is None and isinstance(dataset, LVISV05Dataset):
        counts = [len(set(dataset.cat_img_map.get(cat_id, ())))
                  for cat_id in dataset.cat_ids]
        freqs = [frequency_group(n) for n in counts]
    if freqs is None:
        return {'all': list(range(len(classes)))}
    return group_labels(freqs)
