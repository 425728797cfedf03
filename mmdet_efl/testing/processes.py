"""Running several processes together, as the ranks of a launched job."""
import os
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Dict, List


def free_port() -> int:
    """A TCP port of 127.0.0.1 that is free now (for ``MASTER_PORT``)."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _stop_group(proc: subprocess.Popen) -> None:
    """SIGTERM to the process group ``proc`` leads (srun cancels its job
    steps on it), SIGKILL if it is still there after 10 s."""
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, None)):
        try:
            os.killpg(proc.pid, sig)
            proc.wait(timeout=wait)
            return
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue


def run_together(cmds: List[List[str]], envs: List[Dict[str, str]],
                 cwd: Path, timeout: float = 600) -> List[str]:
    """Runs the commands at the same time and returns their output (stdout
    and stderr together). As soon as one fails, the others (which would
    wait for it) are stopped.

    Raises:
        AssertionError: a command failed or ran past ``timeout`` seconds,
            with the end of its output.
    """
    logs = [tempfile.TemporaryFile('w+') for _ in cmds]
    # each in its own session, so that a launcher's workers can be stopped
    # with it (killing bash alone would leave torchrun and its workers)
    procs = [subprocess.Popen(cmd, cwd=cwd, env=env, text=True, stdout=log,
                              stderr=subprocess.STDOUT,
                              start_new_session=True)
             for cmd, env, log in zip(cmds, envs, logs)]
    deadline = time.monotonic() + timeout
    try:
        while any(p.poll() is None for p in procs):
            if any(p.returncode not in (None, 0) for p in procs) or \
                    time.monotonic() > deadline:
                break
            time.sleep(0.2)
    finally:
        for proc in procs:
            if proc.poll() is None:
                _stop_group(proc)
    outs = []
    for log in logs:
        log.seek(0)
        outs.append(log.read())
        log.close()
    for cmd, proc, out in zip(cmds, procs, outs):
        assert proc.returncode == 0, (
            f'{cmd} failed ({proc.returncode}):\n{out[-5000:]}')
    return outs
