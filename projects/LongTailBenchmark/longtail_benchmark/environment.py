"""What a run's numbers depend on besides its config and seed, and how the
benchmark keeps them the same across machines.

The benchmark fixes each run's seed and thread count, so the same machine
and software give the same numbers to every digit. Another CPU need not:
PyTorch, oneDNN and MKL pick their kernels' vector width (AVX2, AVX512,
...) at run time and sum in a different order, and after a few thousand SGD
steps the detector's APr moves by several points (measured: seed 0 of the
6-epoch benchmark, FL APr 10.93 with AVX2 kernels, 7.47 with AVX512 ones, on
one AMD EPYC). :func:`reproducible_cpu_env` pins all three to AVX2, which
most x86-64 CPUs of the last decade have, and every benchmark and simulator
run records :func:`numeric_environment` next to its numbers. Pinning makes
the numbers equal on machines of one CPU vendor, not on every x86-64 CPU
(measured: two AMD EPYC machines, one with AVX512, gave the same numbers to
every digit; an Intel Xeon, pinned too, moved the 4-epoch demo's seed 0 by
up to 1.3 AP and 3.3 APr, with the regime checks equal to the third
decimal: the project's README, "The same numbers on another machine").
"""
import os
import platform
import warnings
from typing import Dict, Iterable, List, Optional

import mmcv
import mmdet
import mmengine
import numpy as np
import torch


def _cpuinfo(field: str) -> Optional[str]:
    """The first ``field`` of /proc/cpuinfo (Linux), or None."""
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith(field):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return None


def _has_avx2() -> bool:
    # the hardware's, not PyTorch's dispatch, which ATEN_CPU_CAPABILITY caps
    flags = _cpuinfo('flags')
    if flags is not None:
        return 'avx2' in flags.split()
    return torch.backends.cpu.get_cpu_capability() in ('AVX2', 'AVX512')


def _cpu_model() -> str:
    return (_cpuinfo('model name') or platform.processor()
            or platform.machine())


#: Environment variables that cap PyTorch's, oneDNN's and MKL's CPU kernels
#: at AVX2 (read once per process, when the library first runs a kernel).
#: ``docs/results.json`` was measured with AVX2 kernels.
REPRODUCIBLE_CPU_KERNELS = {
    'ATEN_CPU_CAPABILITY': 'avx2',
    'ONEDNN_MAX_CPU_ISA': 'AVX2',
    'MKL_CBWR': 'AVX2',
}


def reproducible_cpu_env() -> Dict[str, str]:
    """The environment variables that make the benchmark's numbers the same
    on x86-64 CPUs with AVX2 of one vendor (see the module doc;
    :data:`REPRODUCIBLE_CPU_KERNELS`; a value the user has set already is
    kept, with a warning if it is another cap). Costs time on CPUs with
    wider vectors (6-epoch benchmark run on an AVX512 AMD EPYC: 618 s
    against 496 s). Empty, with a warning, on
    CPUs without AVX2 (ARM, old x86): their numbers cannot match the
    committed ones.

    To be given to :func:`~longtail_benchmark.jobs.run_jobs`, which starts the
    jobs' processes with it: a process that has already run a kernel
    ignores later changes.
    """
    if not _has_avx2():
        warnings.warn(
            'this CPU has no AVX2 (PyTorch capability '
            f'{torch.backends.cpu.get_cpu_capability()}): benchmark numbers '
            'will differ from projects/LongTailBenchmark/docs/results.json')
        return {}
    env = {k: os.environ.get(k, v)
           for k, v in REPRODUCIBLE_CPU_KERNELS.items()}
    own = {k: v for k, v in env.items()
           if v.lower() != REPRODUCIBLE_CPU_KERNELS[k].lower()}
    if own:
        warnings.warn(f'kernel caps set in the environment are kept ({own}): '
                      'benchmark numbers may differ from '
                      'projects/LongTailBenchmark/docs/results.json')
    return env


def numeric_environment() -> Dict[str, str]:
    """The CPU (model and the vector instruction set PyTorch dispatches
    to), the kernel caps in effect (:data:`REPRODUCIBLE_CPU_KERNELS`, as
    ``NAME=value`` pairs, empty if none) and the versions of the numeric
    stack, as strings."""
    return dict(cpu=_cpu_model(),
                cpu_capability=torch.backends.cpu.get_cpu_capability(),
                kernel_caps=' '.join(
                    f'{k}={os.environ[k]}' for k in REPRODUCIBLE_CPU_KERNELS
                    if k in os.environ),
                python=platform.python_version(), torch=torch.__version__,
                numpy=np.__version__, mmengine=mmengine.__version__,
                mmcv=mmcv.__version__, mmdet=mmdet.__version__)


def distinct_environments(results: Iterable[dict]) -> List[dict]:
    """The distinct ``environment`` entries of run results (see
    :func:`~longtail_benchmark.jobs.run_jobs`), each as ``dict(environment=...,
    runs=n)`` in order of first appearance; results saved before
    environments were recorded count under ``environment=None``."""
    found: List[dict] = []
    for result in results:
        env = result.get('environment')
        for entry in found:
            if entry['environment'] == env:
                entry['runs'] += 1
                break
        else:
            found.append(dict(environment=env, runs=1))
    return found


_STACK = ('python', 'torch', 'numpy', 'mmengine', 'mmcv', 'mmdet')


def format_environments(found: List[dict]) -> str:
    """One line per entry of :func:`distinct_environments`, with a warning
    when the runs come from more than one environment (their numbers are
    then not reproducible together on any one machine)."""
    lines = []
    for entry in found:
        env = entry['environment']
        what = 'not recorded' if env is None else (
            f"{env['cpu']} ({env['cpu_capability']} kernels"
            + (f", {env['kernel_caps']}" if env.get('kernel_caps') else '')
            + '), ' + ', '.join(f'{k} {env[k]}' for k in _STACK if k in env))
        lines.append(f"measured on: {what} ({entry['runs']} runs)")
    if len(found) > 1:
        lines.append('WARNING: runs from several environments; the same '
                     'seed gives other numbers on another CPU or stack')
    return '\n'.join(lines)
