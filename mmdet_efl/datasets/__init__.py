from .synthetic_longtail import (SyntheticSpec, category_image_counts,
                                 category_names, dataset_summary,
                                 frequency_group, generate_dataset)

__all__ = [
    'SyntheticSpec', 'category_image_counts', 'category_names',
    'dataset_summary', 'frequency_group', 'generate_dataset'
]
