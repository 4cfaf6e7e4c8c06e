"""Plumbing shared by benches/run.py and benches/bench_memory.py.

This module owns: starting a server process pinned with `taskset -c` in its own session and
stopping it (and only it), waiting for its port, reading its RSS, a minimal raw-socket HTTP/1.1
client used to verify answers, running wrk and parsing its report, and running the WebSocket
load generator (benches/ws_load.py) and reading its JSON report. It knows nothing about which
servers or workloads exist (benches/serverdefs.py does).
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import resource
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

BENCHES = Path(__file__).resolve().parent
REPO = BENCHES.parent
SERVERS_DIR = BENCHES / "servers"
LUA_DIR = BENCHES / "lua"
HOST = "127.0.0.1"


class BenchError(RuntimeError):
    """A step of the harness failed (a server did not start, a tool is missing, ...)."""


def free_port() -> int:
    """An ephemeral port that is free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def raise_nofile_limit() -> tuple[int, int]:
    """Raise this process's soft RLIMIT_NOFILE to its hard limit (children inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = 1 << 20
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def pin_self(cpus: str) -> None:
    """Pin the calling process to a taskset-style CPU list ("1", "0,1", "2-3")."""
    os.sched_setaffinity(0, parse_cpus(cpus))


def parse_cpus(cpus: str) -> set[int]:
    chosen: set[int] = set()
    for part in cpus.split(","):
        part = part.strip()
        if not part:
            continue
        if "-" in part:
            low, high = part.split("-", 1)
            chosen.update(range(int(low), int(high) + 1))
        else:
            chosen.add(int(part))
    if not chosen:
        raise BenchError(f"empty CPU list {cpus!r}")
    available = os.sched_getaffinity(0)
    if not chosen <= available:
        raise BenchError(f"CPUs {sorted(chosen - available)} of {cpus!r} are not available (have {sorted(available)})")
    return chosen


def read_rss_kib(pid: int) -> int:
    """VmRSS of a process in KiB, from /proc/PID/status."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise BenchError(f"no VmRSS for pid {pid}")


def count_sockets(pid: int) -> int:
    """How many socket file descriptors a process holds."""
    count = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:"):
                count += 1
        except OSError:
            pass
    return count


_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu() -> dict[int, tuple[int, float]]:
    """For every process: (process group, CPU seconds used so far, user + system)."""
    snapshot: dict[int, tuple[int, float]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # fields[0] is the state (field 3 of stat); pgrp is field 5, utime 14, stime 15.
        snapshot[int(entry)] = (int(fields[2]), (int(fields[11]) + int(fields[12])) / _TICKS)
    return snapshot


@dataclasses.dataclass
class CPUUse:
    server: float  # CPU seconds per second used by the server's process group
    other: float  # the same for every other process but this one (and wrk, which is not seen)


def cpu_use(
    before: dict[int, tuple[int, float]], after: dict[int, tuple[int, float]], server_group: int, seconds: float
) -> CPUUse:
    """Split the CPU time used between two snapshots into the server's and everyone else's.

    A process that started in between counts whole; wrk has exited by the second snapshot.
    """
    server = other = 0.0
    me = os.getpid()
    for pid, (group, used) in after.items():
        if pid == me:
            continue
        delta = used - before.get(pid, (group, 0.0))[1]
        if group == server_group:
            server += delta
        else:
            other += delta
    return CPUUse(server / seconds, other / seconds)


class ServerProcess:
    """One server started under `taskset -c CPUS` in a new session, with its output in a log file.

    `stop()` signals that session's process group, which holds only what this object started.
    """

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        cpus: str,
        port: int,
        log_path: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.name = name
        self.port = port
        self.log_path = log_path
        self.argv = ["taskset", "-c", cpus, *argv]
        full_env = dict(os.environ)
        if env:
            full_env.update(env)
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(log_path, "ab")  # noqa: SIM115 - kept open while the server runs
        self._log.write(("$ " + " ".join(self.argv) + "\n").encode())
        self._log.flush()
        self.process = subprocess.Popen(
            self.argv,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=full_env,
            cwd=str(cwd or SERVERS_DIR),
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Wait until the port accepts connections; fail early if the process exits."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError(
                    f"{self.name} exited with status {self.process.returncode} before listening:\n{self.log_tail()}"
                )
            try:
                with socket.create_connection((HOST, self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise BenchError(f"{self.name} did not listen on {HOST}:{self.port} within {timeout:.0f} s:\n{self.log_tail()}")

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the server's own process group, then SIGKILL it if it lingers."""
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.process.wait(5)
        else:
            # The leader is gone; make sure no child of it (a worker) is left in its group.
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self._log.close()


# --- a minimal HTTP/1.1 client for verifying answers ---------------------------------------------


@dataclasses.dataclass
class HTTPResponse:
    status: int
    headers: dict[str, str]
    body: bytes


class _Reader:
    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self.sock = sock
        self.buf = b""
        self.deadline = deadline

    def _fill(self) -> None:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise BenchError("timed out reading a response")
        self.sock.settimeout(remaining)
        data = self.sock.recv(65536)
        if not data:
            raise BenchError("connection closed before the response was complete")
        self.buf += data

    def until(self, marker: bytes) -> bytes:
        while marker not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(marker, 1)
        return head

    def exactly(self, n: int) -> bytes:
        while len(self.buf) < n:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data


def _read_response(reader: _Reader) -> HTTPResponse:
    head = reader.until(b"\r\n\r\n").decode("latin-1")
    status_line, *field_lines = head.split("\r\n")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
        raise BenchError(f"bad status line {status_line!r}")
    headers: dict[str, str] = {}
    for line in field_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while True:
            size = int(reader.until(b"\r\n").split(b";")[0], 16)
            if size == 0:
                reader.until(b"\r\n")  # no trailers expected
                break
            body += reader.exactly(size)
            reader.exactly(2)
    elif "content-length" in headers:
        body = reader.exactly(int(headers["content-length"]))
    else:
        body = b""
    return HTTPResponse(int(parts[1]), headers, body)


def http_exchange(
    port: int, writes: Sequence[tuple[bytes, int]], timeout: float = 5.0, tls: ssl.SSLContext | None = None
) -> list[HTTPResponse]:
    """On one connection (over TLS with `tls`), for each (raw bytes, n): send the bytes in one
    write, read n responses."""
    deadline = time.monotonic() + timeout
    responses: list[HTTPResponse] = []
    with socket.create_connection((HOST, port), timeout=timeout) as raw:
        sock = raw if tls is None else tls.wrap_socket(raw, server_hostname=HOST)
        reader = _Reader(sock, deadline)
        for raw, count in writes:
            sock.sendall(raw)
            responses += [_read_response(reader) for _ in range(count)]
    return responses


def build_request(method: str, path: str, port: int, body: bytes | None = None, content_type: str = "") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}:{port}"]
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
        if content_type:
            lines.append(f"Content-Type: {content_type}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")


# --- wrk --------------------------------------------------------------------------------------------


@dataclasses.dataclass
class WrkResult:
    """What one timed load run measured: wrk's report, or benches/ws_load.py's (then `requests`
    counts echoed messages, and the fields after `timeouts` are filled in)."""

    requests: int
    seconds: float
    rps: float
    p50_ms: float | None
    p99_ms: float | None
    non2xx: int = 0
    connect_errors: int = 0
    read_errors: int = 0
    write_errors: int = 0
    timeouts: int = 0
    protocol_errors: int = 0  # ws_load: wrong echoes, broken frames, refused handshakes, lost connections
    mib_per_s: float | None = None  # ws_load: payload MiB echoed per second
    client_cpu: float | None = None  # ws_load: its own CPU seconds per second (1.0: its whole CPU)
    server_cpu: float | None = None  # ws_load: the server's process group, measured over the timed run
    other_cpu: float | None = None  # ws_load: every other process, the same way
    first_error: str | None = None

    @property
    def errors(self) -> int:
        return (
            self.non2xx + self.connect_errors + self.read_errors + self.write_errors + self.timeouts
        ) + self.protocol_errors

    def error_text(self) -> str:
        parts = [
            f"{label} {value}"
            for label, value in (
                ("non-2xx", self.non2xx),
                ("connect", self.connect_errors),
                ("read", self.read_errors),
                ("write", self.write_errors),
                ("timeout", self.timeouts),
                ("protocol", self.protocol_errors),
            )
            if value
        ]
        if self.first_error:
            parts.append(f"first: {self.first_error[:160]}")
        return ", ".join(parts)


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def _to_ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if not match:
        raise BenchError(f"cannot read wrk time {text!r}")
    return float(match.group(1)) * _UNITS_MS[match.group(2)]


def parse_wrk(output: str) -> WrkResult:
    done = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m|h)", output)
    if not done:
        raise BenchError(f"cannot read wrk's report:\n{output}")
    requests = int(done.group(1))
    seconds = _to_ms(done.group(2) + done.group(3)) / 1000.0
    rps_match = re.search(r"Requests/sec:\s+([\d.]+)", output)
    rps = float(rps_match.group(1)) if rps_match else requests / max(seconds, 1e-9)
    percentiles = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", output, re.MULTILINE))
    result = WrkResult(
        requests=requests,
        seconds=seconds,
        rps=rps,
        p50_ms=_to_ms(percentiles["50"]) if "50" in percentiles else None,
        p99_ms=_to_ms(percentiles["99"]) if "99" in percentiles else None,
    )
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if socket_errors:
        result.connect_errors, result.read_errors, result.write_errors, result.timeouts = (
            int(value) for value in socket_errors.groups()
        )
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if non2xx:
        result.non2xx = int(non2xx.group(1))
    return result


def wrk_binary() -> str:
    path = shutil.which("wrk")
    if not path:
        raise BenchError("wrk is not installed (make bench installs it with apt-get)")
    return path


def run_wrk(
    url: str,
    duration: float,
    cpus: str,
    connections: int = 64,
    threads: int = 1,
    script: Path | None = None,
    script_args: Sequence[str] = (),
    latency: bool = True,
    timeout_s: int = 2,
) -> tuple[WrkResult, str]:
    """Run wrk pinned to `cpus` for `duration` seconds; returns the parsed result and raw report."""
    seconds = max(1, round(duration))
    argv = [
        "taskset",
        "-c",
        cpus,
        wrk_binary(),
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        f"--timeout={timeout_s}s",
    ]
    if latency:
        argv.append("--latency")
    if script is not None:
        argv += ["-s", str(script)]
    argv.append(url)
    if script_args:
        argv += ["--", *script_args]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=False)
    except subprocess.TimeoutExpired as error:
        raise BenchError(f"wrk did not finish: {' '.join(argv)}") from error
    output = done.stdout + done.stderr
    if done.returncode != 0:
        raise BenchError(f"wrk failed ({done.returncode}): {' '.join(argv)}\n{output}")
    return parse_wrk(output), output


def run_ws_load(port: int, cpus: str, args: Sequence[str], server_pgid: int | None, budget: float) -> WrkResult:
    """Run benches/ws_load.py pinned to `cpus` against `port` (its run takes about `budget` s)."""
    argv = ["taskset", "-c", cpus, sys.executable, str(BENCHES / "ws_load.py"), "--port", str(port), *args]
    if server_pgid is not None:
        argv += ["--server-pgid", str(server_pgid)]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=budget + 60, check=False, cwd=BENCHES)
    except subprocess.TimeoutExpired as error:
        raise BenchError(f"ws_load did not finish: {' '.join(argv)}") from error
    lines = done.stdout.strip().splitlines()
    try:
        report = json.loads(lines[-1]) if lines else {}
    except ValueError:
        report = {}
    if done.returncode != 0 or not report.get("ok"):
        detail = report.get("error") or (done.stderr.strip() or "no output")[-2000:]
        raise BenchError(f"ws_load failed ({done.returncode}): {detail}")
    errors = report["errors"]
    return WrkResult(
        requests=report["messages"],
        seconds=report["seconds"],
        rps=report["messages_per_s"],
        p50_ms=None,
        p99_ms=None,
        connect_errors=errors.get("connect", 0),
        protocol_errors=sum(count for kind, count in errors.items() if kind != "connect"),
        mib_per_s=report["mib_per_s"],
        client_cpu=report["client_cpu"],
        server_cpu=report.get("server_cpu"),
        other_cpu=report.get("other_cpu"),
        first_error=report.get("first_error"),
    )


def command_version(argv: Sequence[str]) -> str:
    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    text = (done.stdout + done.stderr).strip().splitlines()
    return text[0].strip() if text else "unknown"


def machine_info() -> dict[str, object]:
    import platform

    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    commit = command_version(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"])
    dirty = subprocess.run(
        ["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no", "--", "python", "rust"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return {
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "git_commit": commit + ("+dirty" if dirty else ""),
    }
