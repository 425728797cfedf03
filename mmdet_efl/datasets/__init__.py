from .label_counts import label_counts
from .openimages_export import export_openimages_challenge
from .strict_datasets import StrictCocoDataset, StrictLVISV1Dataset
from .synthetic_longtail import (SyntheticSpec, category_image_counts,
                                 category_names, dataset_summary,
                                 frequency_group, generate_dataset,
                                 glyph_patterns)

__all__ = [
    'StrictCocoDataset', 'StrictLVISV1Dataset', 'SyntheticSpec',
    'category_image_counts', 'category_names', 'dataset_summary',
    'export_openimages_challenge', 'frequency_group', 'generate_dataset',
    'glyph_patterns',
    'label_counts'
]
