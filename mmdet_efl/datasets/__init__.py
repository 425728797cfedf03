from .longtail import (GROUP_NAMES, GROUP_ORDER, METRIC_KEYS,
                       frequency_group, frequency_groups, group_labels,
                       label_counts, unwrap_dataset)
from .openimages_export import export_openimages_challenge
from .strict_datasets import StrictCocoDataset, StrictLVISV1Dataset

__all__ = [
    'GROUP_NAMES', 'GROUP_ORDER', 'METRIC_KEYS', 'StrictCocoDataset',
    'StrictLVISV1Dataset', 'export_openimages_challenge', 'frequency_group',
    'frequency_groups', 'group_labels', 'label_counts', 'unwrap_dataset'
]
