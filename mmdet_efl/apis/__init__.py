from .longtail_benchmark import (DEMO_CONFIGS, demo_config, format_table,
                                 run_longtail_benchmark)

__all__ = [
    'DEMO_CONFIGS', 'demo_config', 'format_table', 'run_longtail_benchmark'
]
