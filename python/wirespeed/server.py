"""The event loop, serving on the listening sockets, the Date timer, signals and shutdown.

Strategy: this module owns a server's lifetime: choosing the loop (uvloop when installed),
serving on every listening socket (opened by listeners.py, or handed to `Server.start`),
with TLS when the config has a certificate (tls.py builds the context, the loop's SSL transport
runs it), the per-second Date refresh, the timeout sweep (timeouts.py), handing the config to
the app, running the app's startup and shutdown hooks, and stopping on SIGINT/SIGTERM (stop
accepting, close idle connections, let responses in flight finish up to `shutdown_timeout`,
a second signal forces it). It knows nothing of HTTP bytes:
connections are `HttpProtocol`s built from the shared `ServerState`.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from .access_log import AccessLog, check_format
from .app import App
from .asgi import AsgiAdapter, serving_app
from .asgi.adapter import AsgiApp
from .config import Config
from .listeners import (
    AF_UNIX,
    Listener,
    close_all,
    listen,
    open_listeners,
    socket_label,
)
from .logs import ClientErrorLog
from .parser import parser_factory, resolve_backend
from .protocol import HttpProtocol
from .timeouts import TimeoutSweep
from .trust import TrustedPeers
from .tls import ServerTLS, quiet_handshake_errors, server_tls
from .writer import ResponseWriter

if TYPE_CHECKING:
    from .proxy_reader import ProxyProtocol

logger = logging.getLogger("wirespeed")


class ServerState:
    """What every connection of one server shares."""

    __slots__ = (
        "access_log",
        "app",
        "client_errors",
        "config",
        "connections",
        "loop",
        "max_connections",
        "parser_class",
        "parser_name",
        "proxy_protocol",
        "proxy_trust",
        "tls",
        "writer",
    )

    def __init__(self, app: App | AsgiAdapter, config: Config, loop: asyncio.AbstractEventLoop) -> None:
        if config.ws == "auto":  # settled here, once: the parsers hand WebSockets over only when "on"
            config = config.replace(ws="on" if app.serves_websockets else "off")
        self.app = app
        self.config = config
        self.loop = loop
        self.writer = ResponseWriter(config.server_header)  # replaced below while the access log is on
        self.parser_name = resolve_backend(config.parser)
        self.parser_class = parser_factory(config.replace(parser=self.parser_name))
        self.connections: set[HttpProtocol] = set()
        self.client_errors = ClientErrorLog(config.client_error_log_rate)
        self.max_connections = _max_connections(config)
        # The peers whose proxy headers are read (forwarded.py), or None when proxy_headers is
        # off: requests look here only when asked for their client, scheme or host.
        self.proxy_trust = TrustedPeers(config.forwarded_allow_ips) if config.proxy_headers else None
        # The TLS context and what connections' TLS info shares, or None for plain HTTP.
        self.tls: ServerTLS | None = server_tls(config)
        # The PROXY protocol's reader of each new connection's first bytes, or None when off;
        # it trusts the same peers (forwarded_allow_ips).
        self.proxy_protocol: ProxyProtocol | None = None
        if config.proxy_protocol:  # imported only then: a server without it loads none of it
            from .proxy_reader import ProxyProtocol

            trusted = self.proxy_trust or TrustedPeers(config.forwarded_allow_ips)
            self.proxy_protocol = ProxyProtocol(trusted, self.parser_name)
        # None when off, or when no record at info of "wirespeed.access" would go anywhere:
        # then the connections record nothing (settled once, when the server starts).
        self.access_log = (
            AccessLog(config.access_log_format, loop, proxy_headers=config.proxy_headers, backend=self.parser_name)
            if AccessLog.enabled(config.access_log)
            else None
        )
        # While the access log is on, the writer records the answers of the protocol's fast
        # path (access_log.py).
        if self.access_log is not None:
            self.writer = self.access_log.response_writer(config.server_header)

        app.configure(config)


def _max_connections(config: Config) -> int:
    """config.max_connections, or (None) the descriptor limit (the soft limit raised to the
    hard one) less 64 reserved for files and the listening sockets; 0 for no limit."""
    if config.max_connections is not None:
        return config.max_connections
    try:
        import resource
    except ImportError:  # not a Unix
        return 0
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:  # the soft limit may be raised to the hard one, as servers usually do
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass
    if soft == resource.RLIM_INFINITY:
        return 0
    return max(soft - 64, 1)


def loop_name(loop: asyncio.AbstractEventLoop) -> str:
    return "uvloop" if type(loop).__module__.startswith("uvloop") else "asyncio"


def new_event_loop(name: str = "auto") -> asyncio.AbstractEventLoop:
    """uvloop when it is installed (or required), else the stock asyncio loop."""
    if name in ("auto", "uvloop"):
        try:
            import uvloop
        except ImportError:
            if name == "uvloop":
                raise
        else:
            return uvloop.new_event_loop()
    return asyncio.new_event_loop()


class Server:
    """One listening server for an app. `await start()`, then `await shutdown()`."""

    def __init__(self, app: App | AsgiApp, config: Config | None = None) -> None:
        self.config = config or Config()
        check_format(self.config.access_log_format)  # an unknown $variable fails here, at startup
        # A native App as it is; an ASGI app in the adapter that serves it (asgi/).
        self.app = serving_app(app, self.config)
        self.state: ServerState | None = None
        self._servers: list[asyncio.AbstractServer] = []
        self._sockets: list[socket.socket] = []  # the sockets served, in the order given
        # The listening sockets this server opened itself (none when they were handed to start).
        self._listeners: list[Listener] = []
        self._date_timer: asyncio.TimerHandle | None = None
        self._sweep: TimeoutSweep | None = None
        self._stop = asyncio.Event()
        self._forced = False
        # The app's shutdown hooks while they run (a second signal cancels them).
        self._hooks: asyncio.Task[None] | None = None

    @property
    def port(self) -> int:
        """The port of the first TCP socket served (useful with port 0)."""
        assert self._sockets, "the server is not started"
        for sock in self._sockets:
            if sock.family in (socket.AF_INET, socket.AF_INET6):
                return int(sock.getsockname()[1])
        raise RuntimeError("the server listens on no TCP socket")

    @property
    def sockets(self) -> list[socket.socket]:
        """Every socket served."""
        return list(self._sockets)

    async def start(self, sockets: socket.socket | Sequence[socket.socket | Listener] | None = None) -> None:
        """Serve on `sockets` (listening, or only bound; they are closed when the server stops,
        but a Unix socket's file is left to the caller), or on the sockets the config asks for
        (listeners.py), which this server opens and closes, removing a Unix socket's file."""
        loop = asyncio.get_running_loop()
        state = self.state = ServerState(self.app, self.config, loop)
        await _run_hooks(self.app.startup_hooks)
        if self._stop.is_set():
            return  # a signal came during the startup: the server stops without serving
        config = self.config

        def protocol_factory() -> HttpProtocol:
            return HttpProtocol(state)

        if sockets is None:
            self._listeners = open_listeners(config)
            listen(self._listeners, config.backlog)
            given: list[socket.socket | Listener] = list(self._listeners)
        else:
            given = [sockets] if isinstance(sockets, socket.socket) else list(sockets)
        # Python 3.13's asyncio removes a Unix socket's file when its server closes: the file is
        # the owner's to remove (Listener.close), and a worker's is its supervisor's.
        keep_file: dict[str, Any] = {}
        if sys.version_info >= (3, 13) and loop_name(loop) == "asyncio":
            keep_file["cleanup_socket"] = False
        tls: dict[str, Any] = {}
        if state.tls is not None:
            tls = {"ssl": state.tls.context, "ssl_handshake_timeout": config.ssl_handshake_timeout}
            quiet_handshake_errors(loop, state.client_errors)
        try:
            for item in given:
                sock = item.sock if isinstance(item, Listener) else item
                server: asyncio.AbstractServer
                if sock.family == AF_UNIX:
                    server = await loop.create_unix_server(
                        protocol_factory, sock=sock, backlog=config.backlog, **keep_file, **tls
                    )
                else:
                    server = await loop.create_server(protocol_factory, sock=sock, backlog=config.backlog, **tls)
                self._servers.append(server)
                self._sockets.append(sock)
        except BaseException:
            for server in self._servers:
                server.close()
            self._servers.clear()
            self._sockets.clear()
            self._close_listeners()
            raise
        self._schedule_date_tick()
        if state.access_log is not None:
            state.access_log.start()
        self._sweep = TimeoutSweep(state)
        self._sweep.start()
        labels = ", ".join(item.label if isinstance(item, Listener) else socket_label(item) for item in given)
        if state.tls is not None:
            labels = labels.replace("http://", "https://")
        logger.info(
            "wirespeed serving on %s (parser: %s, loop: %s)",
            labels,
            state.parser_name,
            loop_name(loop),
        )

    def _schedule_date_tick(self) -> None:
        assert self.state is not None
        self.state.writer.tick()
        now = time.time()
        loop = self.state.loop
        self._date_timer = loop.call_later(1.0 - (now - int(now)) + 0.001, self._schedule_date_tick)

    def request_shutdown(self) -> None:
        """Begin a graceful shutdown; a second request forces it. Safe from signal handlers."""
        if self._stop.is_set():
            self._forced = True
            logger.warning("second signal: closing all connections now")
            self._close_all()
            if self._hooks is not None:
                self._hooks.cancel()  # the app's own shutdown, if it hangs, is not waited for
        self._stop.set()

    async def wait_for_shutdown_request(self) -> None:
        await self._stop.wait()

    async def shutdown(self) -> None:
        """Stop accepting, close idle connections, give in-flight responses time, run hooks."""
        state = self.state
        if state is None:
            return
        if not self._servers:  # a signal came during the startup: nothing was served
            await self._run_shutdown_hooks()
            return
        for server in self._servers:
            server.close()
        self._close_listeners()
        for connection in list(state.connections):
            connection.close_after_response()
            connection.close_if_idle()
        deadline = state.loop.time() + self.config.shutdown_timeout
        while state.connections and state.loop.time() < deadline and not self._forced:
            await asyncio.sleep(0.05)
            for connection in list(state.connections):
                connection.close_if_idle()
        if state.connections:
            logger.warning("closing %d connection(s) still busy at the shutdown timeout", len(state.connections))
            self._close_all()
        if self._date_timer is not None:
            self._date_timer.cancel()
        if self._sweep is not None:
            self._sweep.stop()
        if state.access_log is not None:
            state.access_log.close()  # the lines still pending are written before the exit
        await self._run_shutdown_hooks()

    async def _run_shutdown_hooks(self) -> None:
        """The app's shutdown hooks, which a signal that comes while they run cuts short."""
        self._hooks = asyncio.ensure_future(_run_hooks(self.app.shutdown_hooks))
        try:
            await self._hooks
        except asyncio.CancelledError:
            if not self._forced:
                raise
            logger.warning("the app's shutdown was cut short by a second signal")
        finally:
            self._hooks = None

    def _close_listeners(self) -> None:
        """Close the sockets this server opened (removing a Unix socket's file)."""
        close_all(self._listeners)

    def _close_all(self) -> None:
        if self.state is not None:
            for connection in list(self.state.connections):
                connection.abort()


async def _run_hooks(hooks: list[Callable[[], Any]]) -> None:
    for hook in hooks:
        result = hook()
        if inspect.isawaitable(result):
            await result


def _settled(config: Config | None, settings: dict[str, Any]) -> Config:
    """`config` (or the defaults) with `settings` (Config fields) applied."""
    if config is None:
        return Config(**settings)
    return config.replace(**settings) if settings else config


async def serve(app: App | AsgiApp, config: Config | None = None, **settings: Any) -> None:
    """Serve `app` (a wirespeed App or an ASGI app) until SIGINT/SIGTERM (when run in the main
    thread) or cancellation. Always in this process: `workers` > 1 needs `run` (the wirespeed
    command, `App.run`)."""
    config = _settled(config, settings)
    if config.workers > 1:
        raise ValueError("workers > 1 needs run() (the wirespeed command or App.run), not serve()")
    server = Server(app, config)
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    # The handlers go in before the app's startup runs: a signal that comes during it stops
    # the server once the startup is done, instead of killing the process in the middle of it.
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(signum, server.request_shutdown)
                installed.append(signum)
            except (NotImplementedError, RuntimeError):  # pragma: no cover - not on Unix
                pass
    try:
        await server.start()  # a startup that fails ends here, without the app's shutdown
        try:
            await server.wait_for_shutdown_request()
        finally:
            await server.shutdown()  # the handlers stay: a second signal forces it
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)


def run(app: App | AsgiApp, config: Config | None = None, **settings: Any) -> None:
    """Serve `app` (a wirespeed App or an ASGI app) on a new event loop until SIGINT/SIGTERM;
    with `config.workers` > 1, from that many pre-forked worker processes under a supervisor
    (see `workers`). `settings` are Config fields."""
    config = _settled(config, settings)
    if config.reload:
        raise ValueError("reload restarts a fresh interpreter that imports the app by name: use the wirespeed command "
                         "(wirespeed module:app --reload)")
    if config.workers > 1:
        from .workers import supervise

        server_tls(config)  # a certificate that cannot be used fails here, not in every worker
        check_format(config.access_log_format)  # in the supervisor, not in every worker

        supervise(app, config)
        return
    loop = new_event_loop(config.loop)
    try:
        loop.run_until_complete(serve(app, config))
    finally:
        loop.close()
