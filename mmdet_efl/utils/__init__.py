from .environment import (distinct_environments, format_environments,
                          numeric_environment)
from .jobs import Job, run_jobs

__all__ = [
    'Job', 'distinct_environments', 'format_environments',
    'numeric_environment', 'run_jobs'
]
