"""Fixtures shared by the end-to-end tests: real servers on loopback, on both parser backends.

Every protocol test takes the `backend` fixture (directly or through `server_for`), so it runs
once on the Rust parser and once on the httptools twin (the Rust runs are skipped, with the
reason, where the extension is not built; the report header says what was there). Servers run
in a thread with their own event loop (uvloop when installed) and listen on an ephemeral port
of 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import importlib.util
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from parser_events import load_backend
from wirespeed import App, Config
from wirespeed.server import Server, loop_name, new_event_loop


def _imports(name: str) -> bool:
    """Whether module `name` imports here (found is not enough: an extension built for
    another platform is found but does not load)."""
    try:
        importlib.import_module(name)
    except ImportError:
        return False
    return True


HAVE_RUST = _imports("wirespeed._parser")
HAVE_UVLOOP = _imports("uvloop")
NO_RUST = "the Rust extension is not built (run make test)"

BACKENDS = [
    pytest.param("rust", marks=pytest.mark.skipif(not HAVE_RUST, reason=NO_RUST)),
    "httptools",
]


def pytest_report_header(config: pytest.Config) -> list[str]:
    """What the tests run on: the parser backends there are, and the event loop of the servers
    they start (pytest-asyncio's own tests run on asyncio's loop)."""
    loop = new_event_loop("auto")
    try:
        loop_used = loop_name(loop)
    finally:
        loop.close()
    parsers = ", ".join(
        ["rust" if HAVE_RUST else f"rust skipped ({NO_RUST})", "httptools" if _imports("httptools") else "no httptools"]
    )
    return [f"wirespeed parser backends: {parsers}; event loop: {loop_used}"]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=BACKENDS)
def parser_class(request: pytest.FixtureRequest) -> type:
    """The RequestParser class of each backend, for tests of the parser alone."""
    return load_backend(request.param)


class RunningServer:
    """A wirespeed server running in a background thread."""

    def __init__(self, app: App, config: Config, sock: socket.socket | None = None) -> None:
        self.app = app
        self.config = config
        self.sock = sock  # a bound socket to serve on (a Unix socket, say) instead of host:port
        self.server = Server(app, config)
        self.loop = new_event_loop(config.loop)
        self._started = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="wirespeed-test-server", daemon=True)

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self.server.start(self.sock))
        except BaseException as error:  # reported to the test thread
            self._error = error
            self._started.set()
            self.loop.close()  # its descriptors are not left behind for later tests
            return
        self._started.set()
        try:
            self.loop.run_until_complete(self.server.wait_for_shutdown_request())
            self.loop.run_until_complete(self.server.shutdown())
        finally:
            self.loop.close()

    def start(self) -> RunningServer:
        self._thread.start()
        self._started.wait(10)
        if self._error is not None:
            raise self._error
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self.loop.call_soon_threadsafe(self.server.request_shutdown)
            self._thread.join(15)

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class LiveServers:
    """Live servers for table-driven tests, one per (kind of app, backend, limits), started on
    first use and kept for the module: `make_app(kind)` builds the app of each kind."""

    def __init__(self, make_app: Callable[[str], App]) -> None:
        self._make_app = make_app
        self._running: dict[tuple[str, str, tuple[tuple[str, Any], ...]], RunningServer] = {}

    def get(self, backend: str, limits: dict[str, Any], kind: str = "") -> RunningServer:
        key = (kind, backend, tuple(sorted(limits.items())))
        server = self._running.get(key)
        if server is None:
            config = Config(parser=backend, port=0, shutdown_timeout=1.0, **limits)  # type: ignore[arg-type]
            server = self._running[key] = RunningServer(self._make_app(kind), config).start()
        return server

    def stop(self) -> None:
        for server in self._running.values():
            server.stop()


@pytest.fixture
def server_for(backend: str) -> Iterator[Callable[..., RunningServer]]:
    """Start `app` on the current backend: `server_for(app, **config_fields)`."""
    running: list[RunningServer] = []

    def start(app: App, **settings: Any) -> RunningServer:
        settings.setdefault("port", 0)
        settings.setdefault("shutdown_timeout", 2.0)
        server = RunningServer(app, Config(parser=backend, **settings)).start()  # type: ignore[arg-type]
        running.append(server)
        return server

    yield start
    for server in running:
        server.stop()
