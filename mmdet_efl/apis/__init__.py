from .longtail_benchmark import (BENCHMARK_CONFIGS, DEMO_CONFIGS,
                                 demo_config, format_table,
                                 run_longtail_benchmark)

__all__ = [
    'BENCHMARK_CONFIGS', 'DEMO_CONFIGS', 'demo_config', 'format_table',
    'run_longtail_benchmark'
]
