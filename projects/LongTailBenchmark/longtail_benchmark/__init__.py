"""The long-tail benchmark of mmdet-efl: the generated glyph dataset, FL vs
EFL trained on it with the regime checks, the ablation, the loss-level
simulator and candidate-selection comparison. It is a research project
beside the plugin (mmdet's ``projects/`` convention): it imports
``mmdet_efl``; ``mmdet_efl`` never imports it. See the project's README."""
from .benchmark import (BENCHMARK_CONFIGS, DEMO_CONFIGS, demo_config,
                        format_table, run_longtail_benchmark)

__all__ = [
    'BENCHMARK_CONFIGS', 'DEMO_CONFIGS', 'demo_config', 'format_table',
    'run_longtail_benchmark'
]
