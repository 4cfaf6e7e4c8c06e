"""Pre-forked workers (`--workers N`), as real processes on a real port: a supervisor and its
workers started with `python -m wirespeed`, asked over raw sockets which PID answered, killed
and signalled. Every wait is bounded; each test takes a free port first, since the workers
share one fixed port. Only the serving test runs on both parser backends: the rest is about
processes, and runs on one.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from processes import OutputCollector, free_port, wait_until
import wirespeed

BACKEND = "rust" if importlib.util.find_spec("wirespeed._parser") is not None else "httptools"

APP = """\
import asyncio, os, time, wirespeed

app = wirespeed.App()
EVENTS = os.environ["EVENTS_FILE"]


def note(what):
    with open(EVENTS, "a") as events:
        events.write(f"{what} {os.getpid()}\\n")


@app.get("/pid")
def pid(request):
    return str(os.getpid())


@app.get("/sleep")
async def sleep(request):
    note("sleeping")
    await asyncio.sleep(60)
    return "late"


@app.on_startup
def startup():
    if os.environ.get("CRASH_AT_START"):
        raise RuntimeError("crash at start")
    note("startup")


@app.on_shutdown
def shutdown():
    note("shutdown")
"""


class Dropped(Exception):
    """A connection that was established, then closed or reset without an answer."""


def get(port: int, path: str = "/pid", timeout: float = 5.0) -> tuple[int, bytes]:
    """GET `path` on a new connection; (status, body). ConnectionRefusedError when nothing
    listens, Dropped when the connection was accepted but closed without a response."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        try:
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n".encode())
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
        except (ConnectionResetError, BrokenPipeError) as error:
            raise Dropped(repr(error)) from error
    finally:
        sock.close()
    if not data:
        raise Dropped("closed without a response")
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def get_pid(port: int) -> int:
    status, body = get(port)
    assert status == 200, body
    return int(body)


def alive(pid: int) -> bool:
    """Whether `pid` exists and is not a zombie (a zombie is a child nobody has reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:  # no /proc: ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    state = stat.rpartition(")")[2].split()[0]
    return state != "Z"


def gone(pid: int) -> bool:
    """Whether `pid` has exited and been reaped (no /proc entry, not even a zombie's)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


class Supervised:
    """A running `wirespeed --workers` (or a script) with its output collected by a thread."""

    def __init__(self, argv: list[str], cwd: Path, env: dict[str, str], new_session: bool = False) -> None:
        self.process = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=new_session,
        )
        self.events = Path(env["EVENTS_FILE"])
        self._output = OutputCollector(self.process)
        self.lines = self._output.lines

    @property
    def output(self) -> str:
        return self._output.text

    def count(self, text: str) -> int:
        return sum(text in line for line in list(self.lines))

    def wait_serving(self, workers: int, timeout: float = 15.0) -> None:
        if not wait_until(lambda: self.count("serving on") >= workers, timeout):
            raise AssertionError(f"{workers} workers did not start:\n{self.output}")

    def event_pids(self, what: str) -> list[int]:
        if not self.events.exists():
            return []
        return [int(line.split()[1]) for line in self.events.read_text().splitlines() if line.split()[0] == what]

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def wait(self, timeout: float) -> int:
        code = self.process.wait(timeout)
        self._output.join()
        return code

    def cleanup(self) -> None:
        """After a failed test: kill the supervisor and every worker it had, by PID."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        for pid in set(self.event_pids("startup")):
            if not gone(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[..., Supervised]]:
    """start(*flags, script=None, new_session=False, **env): the test app under `wirespeed
    service:app --workers 2` (or under `script`, a Python file's text), with its events written
    to a file; new_session: in a process group of its own."""
    (tmp_path / "service.py").write_text(APP)
    started: list[Supervised] = []

    def run(*flags: str, script: str | None = None, new_session: bool = False, **extra_env: str) -> Supervised:
        env = dict(os.environ, EVENTS_FILE=str(tmp_path / "events.txt"), **extra_env)
        if script is not None:
            (tmp_path / "main.py").write_text(script)
            argv = [sys.executable, "main.py"]
        else:
            argv = [sys.executable, "-m", "wirespeed", "service:app", "--workers", "2", *flags]
        supervised = Supervised(argv, tmp_path, env, new_session)
        started.append(supervised)
        return supervised

    yield run
    for supervised in started:
        supervised.cleanup()


def pids_answering(port: int, want: int = 2, tries: int = 200) -> set[int]:
    """The worker PIDs that answer `tries` requests at most (fewer once `want` have answered)."""
    pids: set[int] = set()
    for _ in range(tries):
        pids.add(get_pid(port))
        if len(pids) >= want:
            break
    return pids


def test_workers_share_the_port(start: Callable[..., Supervised], backend: str) -> None:
    port = free_port()
    supervisor = start("--port", str(port), "--parser", backend, "--shutdown-timeout", "2")
    supervisor.wait_serving(2)
    assert supervisor.count(f"parser: {backend}") == 2
    assert "SO_REUSEPORT" in supervisor.output  # Linux: each worker binds its own socket
    pids = pids_answering(port)
    assert len(pids) == 2, pids
    assert supervisor.process.pid not in pids
    assert sorted(pids) == sorted(supervisor.event_pids("startup"))
    supervisor.signal(signal.SIGTERM)
    assert supervisor.wait(5) == 0


@pytest.mark.parametrize(
    "entry",
    [
        "app.run(port=PORT, workers=2, parser=BACKEND, shutdown_timeout=2)",
        "supervise(app, Config(port=PORT, workers=2, parser=BACKEND, shutdown_timeout=2), reuse_port=False)",
    ],
    ids=["App.run", "inherited-socket"],
)
def test_workers_from_python(start: Callable[..., Supervised], entry: str) -> None:
    """`App.run(workers=2)` reaches the supervisor through Config; `reuse_port=False` is the
    path taken where SO_REUSEPORT does not balance (one listening socket, inherited)."""
    port = free_port()
    supervisor = start(
        script="import logging\n"
        "from service import app\n"
        "from wirespeed import Config\n"
        "from wirespeed.workers import supervise\n"
        "logging.basicConfig(level='INFO')\n"
        + entry.replace("PORT", str(port)).replace("BACKEND", repr(BACKEND))
        + "\n"
    )
    supervisor.wait_serving(2)
    pids = pids_answering(port)
    assert len(pids) == 2, pids
    supervisor.signal(signal.SIGTERM)
    assert supervisor.wait(5) == 0
    assert sorted(supervisor.event_pids("shutdown")) == sorted(pids)


@dataclass
class Attempt:
    started: float
    ended: float
    outcome: str  # "ok", "dropped", "refused" or an exception's name
    pid: int | None = None


def test_killed_worker_is_replaced_while_the_port_keeps_answering(start: Callable[..., Supervised]) -> None:
    port = free_port()
    supervisor = start("--port", str(port), "--parser", BACKEND, "--shutdown-timeout", "2")
    supervisor.wait_serving(2)
    first = pids_answering(port)
    assert len(first) == 2, first
    victim, survivor = sorted(first)

    attempts: list[Attempt] = []
    done = threading.Event()

    def client() -> None:  # one request at a time, each on a new connection
        while not done.is_set():
            began = time.monotonic()
            try:
                outcome, pid = "ok", get_pid(port)
            except Dropped:
                outcome, pid = "dropped", None
            except ConnectionRefusedError:
                outcome, pid = "refused", None
            except Exception as error:
                outcome, pid = type(error).__name__, None
            attempts.append(Attempt(began, time.monotonic(), outcome, pid))

    thread = threading.Thread(target=client, daemon=True)
    thread.start()
    try:
        assert wait_until(lambda: sum(a.pid == victim for a in attempts) >= 5, 5), "the victim never answered"
        killed_at = time.monotonic()
        os.kill(victim, signal.SIGKILL)

        def replaced() -> bool:
            return any(a.pid not in (None, victim, survivor) for a in attempts)

        assert wait_until(replaced, 5), f"no new worker answered:\n{supervisor.output}"
        replaced_at = time.monotonic()
        # The replacement serves alongside the survivor for a while before the loop ends.
        assert wait_until(lambda: sum(a.started > replaced_at and a.outcome == "ok" for a in attempts) >= 50, 5)
    finally:
        done.set()
        thread.join(10)

    # Every connection the killed worker had (the one it was answering, and with SO_REUSEPORT
    # those the kernel had queued on its socket and it had not accepted yet) is lost with it:
    # the kernel resets them, and nothing in user space can hand them to another worker. Those
    # are the only failures allowed: connections that were established and then dropped, all
    # at the moment of the kill; with one request at a time that is a few at most, each
    # retried at once by the loop. A refused connection, a timeout or a failure at any other
    # time is a gap in service and fails the test.
    failures = [a for a in attempts if a.outcome != "ok"]
    assert all(a.outcome == "dropped" for a in failures), failures
    assert len(failures) <= 3, failures
    assert all(killed_at - 0.1 <= a.ended <= killed_at + 1.0 for a in failures), (killed_at, failures)
    assert attempts[-1].outcome == "ok"
    # The survivor answered while the victim was being replaced: the port never went quiet.
    assert any(killed_at < a.started < replaced_at and a.pid == survivor for a in attempts)
    new_pids = {a.pid for a in attempts} - {None, victim, survivor}
    assert len(new_pids) == 1, new_pids
    assert re.search(rf"WARNING wirespeed\.workers: worker \d \(pid {victim}\) died \(SIGKILL\)", supervisor.output)
    # The supervisor reaped the dead worker: no zombie stays behind while it runs.
    assert wait_until(lambda: gone(victim), 2), f"worker {victim} was not reaped"

    supervisor.signal(signal.SIGTERM)
    assert supervisor.wait(5) == 0
    assert sorted(supervisor.event_pids("shutdown")) == sorted(new_pids | {survivor})


@pytest.mark.parametrize("target", ["supervisor", "process-group"])
def test_sigterm_stops_every_worker_gracefully(start: Callable[..., Supervised], target: str) -> None:
    """SIGTERM to the supervisor, or to its whole process group (as `timeout`, a terminal's
    Ctrl-C or systemd's default KillMode do), where each worker gets it twice: directly and
    forwarded. Either way one graceful stop, not a forced one."""
    port = free_port()
    supervisor = start(
        "--port", str(port), "--parser", BACKEND, "--shutdown-timeout", "3", new_session=target == "process-group"
    )
    supervisor.wait_serving(2)
    workers = sorted(supervisor.event_pids("startup"))
    assert len(workers) == 2
    assert all(alive(pid) for pid in workers)
    began = time.monotonic()
    if target == "process-group":
        os.killpg(supervisor.process.pid, signal.SIGTERM)
    else:
        supervisor.signal(signal.SIGTERM)
    assert supervisor.wait(3) == 0  # within the shutdown timeout
    assert time.monotonic() - began < 3
    assert sorted(supervisor.event_pids("shutdown")) == workers  # the hooks ran in every worker
    # The supervisor returned after reaping each worker: none is left running or a zombie.
    assert all(gone(pid) for pid in workers), [Path(f"/proc/{pid}/stat").read_text() for pid in workers]
    assert "all workers have stopped" in supervisor.output
    assert supervisor.count("exited: exit code 0") == 2, supervisor.output
    with pytest.raises(ConnectionRefusedError):
        get(port)


def test_second_signal_forces_the_stop(start: Callable[..., Supervised]) -> None:
    port = free_port()
    supervisor = start("--port", str(port), "--parser", BACKEND, "--shutdown-timeout", "30")
    supervisor.wait_serving(2)
    outcome: list[object] = []

    def slow_request() -> None:
        try:
            outcome.append(get(port, "/sleep", timeout=20))
        except Exception as error:
            outcome.append(error)

    client = threading.Thread(target=slow_request, daemon=True)
    client.start()
    assert wait_until(lambda: bool(supervisor.event_pids("sleeping")), 5)
    [busy] = supervisor.event_pids("sleeping")
    [idle] = set(supervisor.event_pids("startup")) - {busy}
    supervisor.signal(signal.SIGTERM)
    # The idle worker stops at once; the busy one waits for its request (up to 30 s).
    assert wait_until(lambda: gone(idle), 3)
    assert supervisor.event_pids("shutdown") == [idle]
    time.sleep(0.3)
    assert supervisor.process.poll() is None and alive(busy)
    began = time.monotonic()
    supervisor.signal(signal.SIGINT)
    assert supervisor.wait(3) == 0
    assert time.monotonic() - began < 3
    assert gone(busy)
    assert "second signal (SIGINT): killing 1 worker(s) now" in supervisor.output
    client.join(5)
    assert len(outcome) == 1 and isinstance(outcome[0], Dropped), outcome


def test_workers_stop_when_the_supervisor_dies(start: Callable[..., Supervised]) -> None:
    """A supervisor killed outright leaves its workers orphaned: they notice within a second
    or two and stop gracefully (hooks and all), rather than keep the port unsupervised."""
    port = free_port()
    supervisor = start("--port", str(port), "--parser", BACKEND, "--shutdown-timeout", "2")
    supervisor.wait_serving(2)
    workers = sorted(supervisor.event_pids("startup"))
    supervisor.process.kill()
    supervisor.wait(5)
    assert wait_until(lambda: sorted(supervisor.event_pids("shutdown")) == workers, 5), supervisor.output
    assert supervisor.count("is gone: stopping") == 2
    assert wait_until(lambda: not any(alive(pid) for pid in workers), 3)


def test_worker_crashing_at_start_backs_off(start: Callable[..., Supervised]) -> None:
    port = free_port()
    supervisor = start("--port", str(port), "--parser", BACKEND, CRASH_AT_START="1")
    assert wait_until(lambda: supervisor.count("starting 2 workers") == 1, 15), supervisor.output
    time.sleep(1.6)
    delays: dict[str, list[float]] = {}
    restart = r"worker (\d) \(pid \d+\) died \(exit code 1\) after [\d.]+ s; restarting it in ([\d.]+) s"
    restarts = re.findall(restart, supervisor.output)
    for index, delay in restarts:
        delays.setdefault(index, []).append(float(delay))
    # 0.1 s, then doubling: about 5 restarts each in 1.6 s, where no back-off would be hundreds.
    assert set(delays) == {"0", "1"}, supervisor.output
    for each in delays.values():
        assert 2 <= len(each) <= 6, delays
        assert each == [0.1, 0.2, 0.4, 0.8, 1.6, 3.2][: len(each)], delays
    assert supervisor.count("RuntimeError: crash at start") >= 4
    supervisor.signal(signal.SIGTERM)  # also while every worker is waiting for its restart
    assert supervisor.wait(3) == 0


def test_port_in_use_is_one_line_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "wirespeed", "--workers", "2", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        f"wirespeed: error: cannot listen on 127.0.0.1:{port}: address already in use"
    ), result.stderr
    assert "serving on" not in result.stderr


def test_serve_refuses_workers() -> None:
    with pytest.raises(ValueError, match="workers > 1 needs run"):
        asyncio.run(wirespeed.serve(wirespeed.App(), port=0, workers=2))
