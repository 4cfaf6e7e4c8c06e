"""An ASGI application in the place of a native App: what the server and the protocol call.

Strategy: this module owns the adapter that makes an ASGI app look to the server like any app
it serves: `dispatch(request)` (what an `Exchange` answers with, or a coroutine that waits for
it, driven by the protocol like an async handler's), `failure_response`, `configure`, and the startup and shutdown hooks (the
lifespan protocol, then the app Tasks still running at shutdown). It also tells the kinds of
app apart (`detect_interface`) and wraps an ASGI 2 app as an ASGI 3 one. Nothing here reads
bytes or writes them.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any

from ..response import Response, internal_error_response
from .exchange import ASGI_VERSION, Exchange, ProxiedExchange
from .lifespan import Lifespan
from .websocket import WebSocketExchange

if TYPE_CHECKING:
    from ..app import App
    from ..config import Config
    from ..protocol import HttpProtocol
    from ..request import Request
    from ..websocket.session import WebSocketSession

logger = logging.getLogger("wirespeed.error")

AsgiApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


class AsgiAdapter:
    """Serves an ASGI 3 app (or an ASGI 2 one, wrapped) through the server's own request cycle."""

    def __init__(self, app: AsgiApp, lifespan: str = "auto", root_path: str = "") -> None:
        self.app = app
        self.root_path = root_path.rstrip("/")
        # The lifespan state: each request's scope gets a shallow copy of it.
        self.state: dict[str, Any] = {}
        self.lifespan = Lifespan(app, lifespan, self.state)
        self.startup_hooks = [self.lifespan.startup]
        self.shutdown_hooks = [self._finish_tasks, self.lifespan.shutdown]
        # Apps that suspended run in Tasks of their own, some past their answer: kept here so
        # a shutdown can wait for them and, at its timeout, cancel them.
        self.tasks: set[asyncio.Task[None]] = set()
        self.shutdown_timeout = 30.0
        # What each request's exchange is: one that reads proxy headers only when
        # Config.proxy_headers is on, so a server without them does no work for them.
        self.exchange_type: type[Exchange] = Exchange

    def configure(self, config: Config) -> None:
        self.shutdown_timeout = self.lifespan.shutdown_timeout = config.shutdown_timeout
        self.exchange_type = ProxiedExchange if config.proxy_headers else Exchange

    def scope_base(self, connection: HttpProtocol) -> dict[str, Any]:
        """The part of an HTTP scope that every request on `connection` shares, with every
        key in its place (so that each request's copy only has values replaced)."""
        return {
            "type": "http",
            "asgi": ASGI_VERSION,
            "http_version": "1.1",
            "server": connection.server_address,
            "client": connection.client,
            "scheme": "http",
            "method": "",
            "root_path": self.root_path,
            "path": "",
            "raw_path": b"",
            "query_string": b"",
            "headers": [],
            "state": {},
            "extensions": {},
        }

    def dispatch(self, request: Request) -> Any:
        """The answer to `request`, or a coroutine that waits for it (see `Exchange.start`)."""
        return self.exchange_type(self, request).start()

    def failure_response(self, request: Request, error: Exception) -> Response:
        """`Exchange.start` answers the app's failures itself; this is a failure of the server."""
        logger.error("ASGI request cycle for %s %s failed", request.method, request.target, exc_info=error)
        return internal_error_response()

    def open_websocket(self, session: WebSocketSession) -> None:
        """Call the app with the WebSocket scope of `session`'s handshake, in a Task; the app
        answers the handshake through the session (see asgi/websocket.py)."""
        WebSocketExchange(self, session).start()

    # Every ASGI app may take WebSockets (Config.ws "auto" turns them on).
    serves_websockets = True

    def start_task(self, coro: Coroutine[Any, Any, None], context: contextvars.Context) -> asyncio.Task[None]:
        # Made inside `context`, the Task runs in a copy of it: what the app's first step set
        # there carries on. (create_task's own `context=` argument needs Python 3.11.)
        task = context.run(asyncio.get_running_loop().create_task, coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def _finish_tasks(self) -> None:
        """At shutdown, after the connections: give the apps still running (background work
        after an answer, or an app that never noticed its client had gone) up to
        `shutdown_timeout` to end, then cancel them."""
        if not self.tasks:
            return
        _, pending = await asyncio.wait(set(self.tasks), timeout=self.shutdown_timeout)
        if pending:
            logger.warning("cancelling %d ASGI app task(s) still running at shutdown", len(pending))
            for task in pending:
                task.cancel()
            await asyncio.wait(pending, timeout=1.0)


def detect_interface(app: Any) -> str:
    """"native" for a wirespeed App, "asgi2" for a double-callable ASGI 2 app, else "asgi"."""
    from ..app import App

    if isinstance(app, App):
        return "native"
    if inspect.isclass(app):
        # A class called with the scope, whose instance takes (receive, send): ASGI 2,
        # unless its instances are themselves awaitable (called with all three).
        return "asgi" if hasattr(app, "__await__") else "asgi2"
    if not callable(app):
        raise TypeError(f"{type(app).__name__} is neither a wirespeed.App nor an ASGI app")
    call = app if inspect.isfunction(app) or inspect.ismethod(app) else app.__call__  # bound: no self
    if inspect.iscoroutinefunction(call):
        return "asgi"
    try:
        signature = inspect.signature(call)
    except (TypeError, ValueError):
        return "asgi"
    parameters = [p for p in signature.parameters.values() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    takes_more = any(p.kind is p.VAR_POSITIONAL for p in signature.parameters.values())
    if not parameters and not takes_more:
        # Called with (scope, receive, send) it could only fail, on every request: most likely
        # a function that builds the app.
        name = getattr(app, "__name__", type(app).__name__)
        raise TypeError(f"{name} takes no arguments, so it is not an ASGI app: if it builds one, add --factory")
    return "asgi2" if len(parameters) == 1 and not takes_more else "asgi"


def asgi2_as_asgi3(app: Callable[[dict[str, Any]], Any]) -> AsgiApp:
    """An ASGI 2 app (`app(scope)` gives a coroutine callable taking receive and send) as an
    ASGI 3 one."""

    async def asgi3(scope: dict[str, Any], receive: Any, send: Any) -> None:
        instance = app(scope)
        await instance(receive, send)

    return asgi3


def serving_app(app: Any, config: Config) -> App | AsgiAdapter:
    """What the server serves for `app`: a native App as it is, an ASGI app in an adapter.
    `config.interface` names the kind, or "auto" tells it from the object."""
    if isinstance(app, AsgiAdapter):
        return app
    interface = config.interface  # one of auto, native, asgi (Config checks it)
    kind = detect_interface(app)
    if interface == "native" and kind != "native":
        raise TypeError(f"interface native needs a wirespeed.App, not {type(app).__name__}")
    if interface == "asgi" and kind == "native":
        raise TypeError("interface asgi needs an ASGI app; a wirespeed.App is served with the native interface")
    if kind == "native":
        return app  # type: ignore[no-any-return]
    if kind == "asgi2":
        app = asgi2_as_asgi3(app)
    return AsgiAdapter(app, config.lifespan, config.root_path)


__all__ = ["AsgiAdapter", "asgi2_as_asgi3", "detect_interface", "serving_app"]
