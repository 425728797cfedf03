"""Run environments: what is recorded, how runs from several machines are
counted and flagged."""
import warnings

import pytest
import torch

from longtail_benchmark import environment
from longtail_benchmark.environment import (distinct_environments,
                                            format_environments,
                                            numeric_environment)
from longtail_benchmark.jobs import Job, run_jobs
from longtail_benchmark.environment import (REPRODUCIBLE_CPU_KERNELS,
                                            reproducible_cpu_env)

AVX2 = torch.backends.cpu.get_cpu_capability() in ('AVX2', 'AVX512')


def test_numeric_environment_names_the_cpu_kernels_and_stack():
    env = numeric_environment()
    assert env['cpu_capability'] == torch.backends.cpu.get_cpu_capability()
    assert env['torch'] == torch.__version__
    assert set(env) == {'cpu', 'cpu_capability', 'kernel_caps', 'python',
                        'torch', 'numpy', 'mmengine', 'mmcv', 'mmdet'}
    assert all(isinstance(v, str) and v for k, v in env.items()
               if k != 'kernel_caps')


@pytest.mark.skipif(not AVX2, reason='x86-64 CPU with AVX2 needed')
def test_pinned_jobs_run_avx2_kernels(monkeypatch):
    """The benchmark's runs use AVX2 kernels whatever the CPU (the
    committed numbers were measured with them), and say so."""
    for name in REPRODUCIBLE_CPU_KERNELS:
        monkeypatch.delenv(name, raising=False)
    env = reproducible_cpu_env()
    assert env == REPRODUCIBLE_CPU_KERNELS
    done = run_jobs([Job('a', dict)], env=env)['a']['environment']
    assert done['cpu_capability'] == 'AVX2'
    assert done['kernel_caps'] == ('ATEN_CPU_CAPABILITY=avx2 '
                                   'ONEDNN_MAX_CPU_ISA=AVX2 MKL_CBWR=AVX2')
    # a cap the user has set already is kept, with a warning if it is
    # another one (the same one in other case is the same cap)
    monkeypatch.setenv('ATEN_CPU_CAPABILITY', 'AVX2')
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert reproducible_cpu_env()['ATEN_CPU_CAPABILITY'] == 'AVX2'
    monkeypatch.setenv('MKL_CBWR', 'COMPATIBLE')
    with pytest.warns(UserWarning, match="kept.*'MKL_CBWR': 'COMPATIBLE'"):
        assert reproducible_cpu_env()['MKL_CBWR'] == 'COMPATIBLE'


def test_no_avx2_is_read_off_the_hardware(monkeypatch):
    """A user's ATEN_CPU_CAPABILITY=default caps PyTorch's dispatch, not
    the CPU: pinning still applies; a CPU without AVX2 gets none."""
    for name in REPRODUCIBLE_CPU_KERNELS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(torch.backends.cpu, 'get_cpu_capability',
                        lambda: 'DEFAULT')
    if AVX2:
        assert reproducible_cpu_env() == REPRODUCIBLE_CPU_KERNELS
    monkeypatch.setattr(environment, '_has_avx2', lambda: False)
    with pytest.warns(UserWarning, match='no AVX2.*will differ'):
        assert reproducible_cpu_env() == {}


def test_distinct_environments_count_runs_and_flag_a_mix():
    a = dict(numeric_environment(), cpu='CPU A', cpu_capability='AVX2')
    b = dict(a, cpu='CPU B', cpu_capability='AVX512')
    # copies, as results read back from JSON are
    runs = [dict(environment=dict(a)), dict(environment=dict(b)),
            dict(environment=dict(a)), dict(metrics={})]
    found = distinct_environments(runs)
    assert found == [dict(environment=a, runs=2),
                     dict(environment=b, runs=1),
                     dict(environment=None, runs=1)]
    text = format_environments(found)
    assert 'measured on: CPU A (AVX2 kernels)' in text and '(2 runs)' in text
    assert 'measured on: not recorded (1 runs)' in text
    assert 'WARNING: runs from several environments' in text
    one = format_environments(distinct_environments(runs[:1]))
    assert 'WARNING' not in one and '(1 runs)' in one
    two = format_environments(distinct_environments(runs[:2]))
    assert 'WARNING' in two
    # environments that differ only in their kernel caps print differently
    capped = dict(a, kernel_caps='ATEN_CPU_CAPABILITY=avx2')
    lines = format_environments(distinct_environments(
        [dict(environment=a), dict(environment=capped)])).splitlines()
    assert len(lines) == 3 and lines[0] != lines[1]
    assert 'ATEN_CPU_CAPABILITY=avx2' in lines[1]
