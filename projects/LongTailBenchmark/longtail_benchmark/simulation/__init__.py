"""A loss-level long-tail simulator: dense sigmoid classification with the
package's losses, LVIS's frequency law and LVIS-style AP, in minutes on a
CPU (issue 16). Entry point: :func:`simulate`."""
from .config import BENCHMARK_CONFIG, FL_BEST_CONFIG, SimulatorConfig
from .simulator import (LOSS_VARIANTS, TABLE3, TABLE4, DenseClassifier,
                        build_loss, simulate)
from .world import LongTailWorld, simulated_image_counts

__all__ = [
    'BENCHMARK_CONFIG', 'DenseClassifier', 'FL_BEST_CONFIG', 'LOSS_VARIANTS',
    'LongTailWorld', 'SimulatorConfig', 'TABLE3', 'TABLE4', 'build_loss',
    'simulated_image_counts', 'simulate'
]
