"""Helpers for tests that run wirespeed as a real process: a free port, starting the CLI,
collecting a process's output without ever blocking it, and waiting for a condition.

Strategy: this module owns what the subprocess tests (the demo and CLI, robustness, workers,
the proofs under strace that bodies go out with sendfile) share, so each of them states only
what it checks.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path


def free_port() -> int:
    """A port of 127.0.0.1 that is free now (for servers that cannot take port 0)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_cli(
    *args: str,
    cwd: Path | None = None,
    wrapper: Sequence[str] = (),
    timeout: float = 15,
    env: dict[str, str] | None = None,
    pass_fds: Sequence[int] = (),
) -> tuple[subprocess.Popen[str], str]:
    """Run `python -m wirespeed ARGS`, behind an optional wrapper command (setpriv, strace),
    with `env` (default: this process's) and the descriptors `pass_fds` left open in it, and
    wait for its startup line."""
    process = subprocess.Popen(
        [*wrapper, sys.executable, "-m", "wirespeed", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=cwd,
        env=env,
        pass_fds=pass_fds,
    )
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    lines = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if "serving on" in line:
            return process, line
    process.kill()
    process.wait(5)
    raise AssertionError("no startup line:\n" + "".join(lines))


def stop_cli(process: subprocess.Popen[str], pid: int | None = None) -> int:
    """SIGTERM the server (`pid`, when `process` is a wrapper around it), wait for `process`
    and return its exit code; kill it if it does not end."""
    try:
        os.kill(pid or process.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        return process.wait(15)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(5)


def wait_until(predicate: Callable[[], bool], timeout: float) -> bool:
    """Poll `predicate` until it holds or `timeout` seconds pass; its last answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


class OutputCollector:
    """Reads a process's output lines in a thread, so it never blocks on a full pipe."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self._process = process
        self._thread = threading.Thread(target=self._read, name="process-output", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            self.lines.append(line)

    @property
    def text(self) -> str:
        return "".join(self.lines)

    def join(self, timeout: float = 5) -> None:
        self._thread.join(timeout)


# -- strace: which system calls carried a body
STRACE = shutil.which("strace") or ("/usr/bin/strace" if os.path.exists("/usr/bin/strace") else None)
WRITE_CALLS = ("write", "writev", "sendto", "sendmsg")
# "PID call(args) = N", or "PID <... call resumed> args) = N"; an error adds "ERRNO (text)".
TRACE_LINE = re.compile(
    r"^(?:\[pid\s+)?\d+\]?\s+(?:<\.\.\. (\w+) resumed>|(\w+)\().*\)\s+=\s+(-?\d+)(?:\s+\w+\s+\(.*\))?$"
)


def traced_bytes(trace: str) -> dict[str, list[int]]:
    """Byte counts (positive results) of the traced calls, by call name."""
    calls: dict[str, list[int]] = {}
    for line in trace.splitlines():
        match = TRACE_LINE.match(line)
        if match and int(match[3]) > 0:
            calls.setdefault(match[1] or match[2], []).append(int(match[3]))
    return calls


def child_pid(pid: int) -> int | None:
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return None
    return int(children[0]) if children else None
