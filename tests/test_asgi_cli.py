"""ASGI apps from the command line and from Python, as a user meets them: a real `wirespeed`
process (or a script calling `wirespeed.run`, or `wirespeed.serve` awaited in the test) serving
apps written to a module of a temporary directory, asked over a real socket with httpx.

What this file owns: telling the kinds of app apart (ASGI 3, ASGI 2 class, wirespeed.App) and
the one-line errors when `--interface` does not fit, `--factory`, `--root-path`, a failed
startup (exit status 3, also under `--workers 2`), and a SIGTERM that runs the lifespan
shutdown. Each test takes a free port first; every wait is bounded.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import wirespeed
from processes import OutputCollector, free_port, wait_until

BACKEND = "rust" if importlib.util.find_spec("wirespeed._parser") is not None else "httptools"

APPS = '''\
import asyncio, json, os, wirespeed

MARKER = os.environ.get("MARKER_FILE")


def note(what):
    if MARKER:
        with open(MARKER, "a") as marker:
            marker.write(f"{what} {os.getpid()}\\n")


async def lifespan(receive, send):
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            note("startup")
            await send({"type": "lifespan.startup.complete"})
        else:
            note("shutdown")
            await send({"type": "lifespan.shutdown.complete"})
            return


async def answer(send, data):
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": json.dumps(data).encode()})


def described(interface, scope):
    return {
        "interface": interface,
        "root_path": scope["root_path"],
        "path": scope["path"],
        "raw_path": scope["raw_path"].decode(),
        "query_string": scope["query_string"].decode(),
    }


async def asgi3(scope, receive, send):
    if scope["type"] == "lifespan":
        return await lifespan(receive, send)
    await answer(send, described("asgi3", scope))


class Asgi2:
    def __init__(self, scope):
        self.scope = scope

    async def __call__(self, receive, send):
        if self.scope["type"] == "lifespan":
            return await lifespan(receive, send)
        await answer(send, described("asgi2", self.scope))


native = wirespeed.App()


@native.get("/")
def index(request):
    return {"interface": "native"}


def create_app():
    note("factory called")

    async def built(scope, receive, send):
        if scope["type"] == "lifespan":
            return await lifespan(receive, send)
        await answer(send, described("built by the factory", scope))

    return built


async def failing(scope, receive, send):
    assert scope["type"] == "lifespan"
    note("startup attempt")
    await receive()
    await send({"type": "lifespan.startup.failed", "message": "the database is unreachable"})


async def slow_start(scope, receive, send):
    if scope["type"] == "lifespan":
        await receive()
        note("startup began")
        try:
            await asyncio.sleep(1.5)  # connecting to a database, say
        finally:
            note("startup ended")
        await send({"type": "lifespan.startup.complete"})
        await receive()
        note("shutdown")
        await send({"type": "lifespan.shutdown.complete"})
        return
    await answer(send, described("slow start", scope))


async def hung_shutdown(scope, receive, send):
    if scope["type"] == "lifespan":
        await receive()
        await send({"type": "lifespan.startup.complete"})
        await receive()
        note("shutdown began")
        await asyncio.sleep(3600)  # never answers
        return
    await answer(send, described("hung shutdown", scope))


value = 42
'''


class Cli:
    """A running `python -m wirespeed ...` (or a script), its output collected by a thread."""

    def __init__(self, argv: list[str], cwd: Path, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self._output = OutputCollector(self.process)

    @property
    def output(self) -> str:
        return self._output.text

    def wait_serving(self, timeout: float = 10.0) -> None:
        if not wait_until(lambda: "serving on" in self.output or self.process.poll() is not None, timeout):
            raise AssertionError(f"no startup line:\n{self.output}")
        if "serving on" not in self.output:
            raise AssertionError(f"exited with {self.process.poll()} before serving:\n{self.output}")

    def stop(self) -> int:
        """SIGTERM, then its exit status (bounded)."""
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(10)
        self._output.join()
        return code


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "asgi_apps.py").write_text(APPS)
    return tmp_path


@pytest.fixture
def launch(workdir: Path) -> Iterator[Callable[..., Cli]]:
    """launch(*args, script=None): `python -m wirespeed ARGS` in the apps' directory (or the
    Python `script` written there), with MARKER_FILE set; killed after the test if still up."""
    started: list[Cli] = []

    def run(*args: str, script: str | None = None) -> Cli:
        env = dict(os.environ, MARKER_FILE=str(workdir / "marker.txt"))
        if script is not None:
            (workdir / "main.py").write_text(script)
            argv = [sys.executable, "main.py"]
        else:
            argv = [sys.executable, "-m", "wirespeed", *args]
        cli = Cli(argv, workdir, env)
        started.append(cli)
        return cli

    yield run
    for cli in started:
        if cli.process.poll() is None:
            cli.process.kill()
            cli.process.wait(10)


def marker_lines(workdir: Path) -> list[str]:
    """What the apps noted, without the PIDs."""
    path = workdir / "marker.txt"
    if not path.exists():
        return []
    return [line.rsplit(" ", 1)[0] for line in path.read_text().splitlines()]


def run_cli(workdir: Path, *args: str, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, MARKER_FILE=str(workdir / "marker.txt"))
    return subprocess.run(
        [sys.executable, "-m", "wirespeed", *args],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.mark.parametrize(
    ("target", "interface"),
    [("asgi_apps:asgi3", "asgi3"), ("asgi_apps:Asgi2", "asgi2"), ("asgi_apps:native", "native")],
    ids=["asgi3", "asgi2-class", "native"],
)
def test_auto_detects_the_kind_of_app(launch: Callable[..., Cli], workdir: Path, target: str, interface: str) -> None:
    port = free_port()
    cli = launch(target, "--port", str(port), "--parser", BACKEND)
    cli.wait_serving()
    response = httpx.get(f"http://127.0.0.1:{port}/")
    assert response.status_code == 200
    assert response.json()["interface"] == interface
    assert cli.stop() == 0
    # The ASGI apps took part in the lifespan protocol, wrapped or not; the native app has none.
    assert marker_lines(workdir) == ([] if interface == "native" else ["startup", "shutdown"])
    assert "Traceback" not in cli.output


def test_asgi3_app_on_both_backends(launch: Callable[..., Cli], backend: str) -> None:
    port = free_port()
    cli = launch("asgi_apps:asgi3", "--port", str(port), "--parser", backend, "--interface", "asgi")
    cli.wait_serving()
    assert f"parser: {backend}" in cli.output
    with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
        for path in ("/a", "/b?x=1"):
            assert client.get(path).json() == {
                "interface": "asgi3",
                "root_path": "",
                "path": path.partition("?")[0],
                "raw_path": path.partition("?")[0],
                "query_string": path.partition("?")[2],
            }
    assert cli.stop() == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["asgi_apps:native", "--interface", "asgi"],
            "interface asgi needs an ASGI app; a wirespeed.App is served with the native interface",
        ),
        (["asgi_apps:asgi3", "--interface", "native"], "interface native needs a wirespeed.App, not function"),
        (["asgi_apps:Asgi2", "--interface", "native"], "interface native needs a wirespeed.App, not type"),
        (["asgi_apps:value", "--factory"], "'asgi_apps:value' is not callable, so it cannot be a factory"),
    ],
    ids=["asgi-given-native", "native-given-asgi3", "native-given-asgi2", "factory-not-callable"],
)
def test_an_app_that_does_not_fit_is_a_one_line_error(workdir: Path, args: list[str], message: str) -> None:
    result = run_cli(workdir, *args, "--port", str(free_port()))
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [f"wirespeed: error: {message}"]
    assert marker_lines(workdir) == []  # never started


def test_factory_builds_the_app(launch: Callable[..., Cli], workdir: Path) -> None:
    port = free_port()
    cli = launch("asgi_apps:create_app", "--factory", "--port", str(port))
    cli.wait_serving()
    assert httpx.get(f"http://127.0.0.1:{port}/x").json()["interface"] == "built by the factory"
    assert cli.stop() == 0
    # Called once, in the command, before the built app's lifespan.
    assert marker_lines(workdir) == ["factory called", "startup", "shutdown"]


def test_factory_without_the_flag_is_refused_with_a_hint(workdir: Path) -> None:
    """Without --factory, a function of no arguments cannot be an ASGI app (it would fail on
    every request): the command refuses it in one line that names --factory."""
    result = run_cli(workdir, "asgi_apps:create_app", "--port", str(free_port()))
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [
        "wirespeed: error: create_app takes no arguments, so it is not an ASGI app: if it builds one, add --factory"
    ]
    assert marker_lines(workdir) == []  # never called as a factory


def test_root_path_shows_in_the_scope(launch: Callable[..., Cli]) -> None:
    port = free_port()
    cli = launch("asgi_apps:asgi3", "--port", str(port), "--root-path", "/api")
    cli.wait_serving()
    response = httpx.get(f"http://127.0.0.1:{port}/items?q=1")
    assert response.json() == {
        "interface": "asgi3",
        "root_path": "/api",
        "path": "/api/items",
        "raw_path": "/api/items",
        "query_string": "q=1",
    }
    assert cli.stop() == 0


def test_startup_failure_exits_3_with_the_apps_message(workdir: Path) -> None:
    port = free_port()
    result = run_cli(workdir, "asgi_apps:failing", "--port", str(port))
    assert result.returncode == 3, result.stderr
    assert result.stderr.splitlines()[-1] == "wirespeed: error: application startup failed: the database is unreachable"
    assert "Traceback" not in result.stderr
    assert "serving on" not in result.stderr
    assert marker_lines(workdir) == ["startup attempt"]


def test_startup_failure_under_workers_exits_3_without_restarts(workdir: Path) -> None:
    port = free_port()
    began = time.monotonic()
    env = dict(os.environ, MARKER_FILE=str(workdir / "marker.txt"))
    process = subprocess.Popen(
        [sys.executable, "-m", "wirespeed", "asgi_apps:failing", "--port", str(port), "--workers", "2"],
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _, stderr = process.communicate(timeout=15)
    finally:
        if process.poll() is None:  # a restart loop: stop it and every worker it started
            process.kill()
            process.wait(5)
            for line in (workdir / "marker.txt").read_text().splitlines():
                try:
                    os.kill(int(line.rsplit(" ", 1)[1]), signal.SIGKILL)
                except ProcessLookupError:
                    pass
    assert process.returncode == 3, stderr
    assert time.monotonic() - began < 10
    # Each worker tried once; none was restarted.
    assert marker_lines(workdir) == ["startup attempt", "startup attempt"]
    assert "application startup failed: the database is unreachable" in stderr
    assert "restarting" not in stderr
    assert stderr.splitlines()[-1] == (
        "wirespeed: error: application startup failed in a worker (see its log): not serving"
    )
    assert "Traceback" not in stderr


def test_sigterm_runs_the_lifespan_shutdown_and_exits_0(launch: Callable[..., Cli], workdir: Path) -> None:
    port = free_port()
    cli = launch("asgi_apps:asgi3", "--port", str(port))
    cli.wait_serving()
    assert marker_lines(workdir) == ["startup"]
    assert httpx.get(f"http://127.0.0.1:{port}/").status_code == 200
    assert cli.stop() == 0
    assert marker_lines(workdir) == ["startup", "shutdown"]
    pids = {int(line.rsplit(" ", 1)[1]) for line in (workdir / "marker.txt").read_text().splitlines()}
    assert pids == {cli.process.pid}  # in the server's own process


def test_workers_each_run_the_lifespan_and_serve(launch: Callable[..., Cli], workdir: Path) -> None:
    """Under --workers 2 each worker process runs the app's startup and, on SIGTERM, its
    shutdown; both serve the app meanwhile."""
    port = free_port()
    cli = launch("asgi_apps:asgi3", "--port", str(port), "--workers", "2")
    assert wait_until(lambda: marker_lines(workdir).count("startup") == 2, 15), cli.output
    with httpx.Client() as client:
        for _ in range(20):
            assert client.get(f"http://127.0.0.1:{port}/").status_code == 200
    assert cli.stop() == 0
    lines = (workdir / "marker.txt").read_text().splitlines()
    started = {int(line.split()[1]) for line in lines if line.startswith("startup")}
    stopped = {int(line.split()[1]) for line in lines if line.startswith("shutdown")}
    assert len(started) == 2 and stopped == started and cli.process.pid not in started


def test_sigterm_during_a_slow_startup_stops_gracefully(launch: Callable[..., Cli], workdir: Path) -> None:
    """A SIGTERM that comes while the lifespan startup is still running (as a supervisor's
    or systemd's may) is a graceful stop, as it is for a worker under --workers: the process
    exits 0 and the app's startup is not cut off midway."""
    cli = launch("asgi_apps:slow_start", "--port", str(free_port()))
    assert wait_until(lambda: "startup began" in marker_lines(workdir), 10), cli.output
    code = cli.stop()
    assert code == 0, f"exit status {code}:\n{cli.output}"
    assert "startup ended" in marker_lines(workdir)
    assert "Traceback" not in cli.output


def test_second_sigterm_ends_a_hung_lifespan_shutdown(launch: Callable[..., Cli], workdir: Path) -> None:
    """The first SIGTERM waits for the app's lifespan shutdown; a second one forces the stop,
    as it does for requests in flight, even when the app never answers the shutdown event."""
    port = free_port()
    cli = launch("asgi_apps:hung_shutdown", "--port", str(port), "--shutdown-timeout", "1")
    cli.wait_serving()
    assert httpx.get(f"http://127.0.0.1:{port}/").status_code == 200
    cli.process.send_signal(signal.SIGTERM)
    assert wait_until(lambda: "shutdown began" in marker_lines(workdir), 5), cli.output
    time.sleep(0.3)
    assert cli.process.poll() is None  # the first signal waits for the app
    cli.process.send_signal(signal.SIGTERM)
    try:
        cli.process.wait(5)
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running 5 s after the second SIGTERM:\n{cli.output}")
    assert "Traceback" not in cli.output


def test_run_serves_an_asgi_app_from_a_script(launch: Callable[..., Cli], workdir: Path) -> None:
    port = free_port()
    cli = launch(
        script="import logging, wirespeed\n"
        "from asgi_apps import asgi3\n"
        "logging.basicConfig(level='INFO')\n"
        f"wirespeed.run(asgi3, port={port}, shutdown_timeout=2)\n"
    )
    cli.wait_serving()
    assert httpx.get(f"http://127.0.0.1:{port}/run").json()["path"] == "/run"
    assert cli.stop() == 0
    assert marker_lines(workdir) == ["startup", "shutdown"]


async def test_serve_an_asgi_app_in_process() -> None:
    events: list[str] = []

    async def app(scope: dict[str, Any], receive: Callable[[], Any], send: Callable[[dict[str, Any]], Any]) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                events.append(message["type"])
                await send({"type": message["type"] + ".complete"})
                if message["type"] == "lifespan.shutdown":
                    return
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"served in process"})

    port = free_port()
    task = asyncio.create_task(wirespeed.serve(app, port=port, shutdown_timeout=1))
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            deadline = time.monotonic() + 5
            while True:
                try:
                    response = await client.get("/")
                    break
                except httpx.ConnectError:
                    assert not task.done(), task
                    assert time.monotonic() < deadline, "serve() never listened"
                    await asyncio.sleep(0.02)
        assert response.status_code == 200
        assert response.text == "served in process"
        assert events == ["lifespan.startup"]
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, 5)
    assert events == ["lifespan.startup", "lifespan.shutdown"]
