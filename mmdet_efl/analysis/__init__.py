"""The papers' figures from formulas, datasets, checkpoints and logs; the
command-line tools are in ``tools/analysis/``."""
from .dense_samples import (DenseSamples, analysis_dataset_cfg,
                            build_analysis_dataset, build_detector, consume,
                            iter_dense_samples, train_image_counts)
from .focusing_factors import (category_state_from_checkpoint,
                               plot_focusing_factors)
from .loss_distribution import (LossCollector, normalised_loss_cdf,
                                plot_loss_distribution)
from .sample_ratio import SampleCounter, plot_sample_ratio
from .score_margin import MarginAccumulator, plot_margins
from .training_curves import plot_curves, read_scalars, scalar_series

__all__ = [
    'DenseSamples', 'LossCollector', 'MarginAccumulator', 'SampleCounter',
    'analysis_dataset_cfg', 'build_analysis_dataset', 'build_detector',
    'category_state_from_checkpoint',
    'consume', 'iter_dense_samples', 'normalised_loss_cdf', 'plot_curves',
    'plot_focusing_factors', 'plot_loss_distribution', 'plot_margins',
    'plot_sample_ratio', 'read_scalars', 'scalar_series', 'train_image_counts'
]
