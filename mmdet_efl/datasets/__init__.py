from .longtail import (GROUP_NAMES, GROUP_ORDER, METRIC_KEYS,
                       frequency_group, frequency_groups, group_labels,
                       label_counts, unwrap_dataset)
from .openimages_export import export_openimages_challenge
from .strict_datasets import StrictCocoDataset, StrictLVISV1Dataset
from .synthetic_longtail import (SyntheticSpec, category_image_counts,
                                 category_names, dataset_summary,
                                 generate_dataset, glyph_patterns)

__all__ = [
    'GROUP_NAMES', 'GROUP_ORDER', 'METRIC_KEYS', 'StrictCocoDataset',
    'StrictLVISV1Dataset', 'SyntheticSpec', 'category_image_counts',
    'category_names', 'dataset_summary', 'export_openimages_challenge',
    'frequency_group', 'frequency_groups', 'generate_dataset',
    'glyph_patterns', 'group_labels', 'label_counts', 'unwrap_dataset'
]
