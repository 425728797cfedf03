from .focusing_factors import (category_image_counts_from_file,
                               plot_focusing_factors)
from .training_curves import plot_curves, read_scalars, scalar_series

__all__ = [
    'category_image_counts_from_file', 'plot_curves',
    'plot_focusing_factors', 'read_scalars', 'scalar_series'
]
