from .jobs import Job, run_jobs

__all__ = ['Job', 'run_jobs']
