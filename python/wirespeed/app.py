"""The embedding API: `app = wirespeed.App()`, route decorators, and calling a handler.

Strategy: this module owns what happens between a parsed `Request` and a `Response`: finding
the endpoint, passing path parameters as keyword arguments, converting return values, and
turning exceptions into error responses (an `HTTPError` into its status, anything else into a
logged 500). `dispatch` returns what the handler returned (an `async def` handler's coroutine
included: the protocol decides how to drive it). No bytes, no sockets.
"""

from __future__ import annotations

import inspect
import logging
import os
import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from .config import Config
from .errors import HTTPError, MethodNotAllowed, NotFound
from .request import Request
from .response import Response, error_response, internal_error_response
from .router import ANY_METHOD, Endpoint, Router, compile_path

if TYPE_CHECKING:
    from .websocket.session import WebSocketSession

logger = logging.getLogger("wirespeed.error")

HandlerT = TypeVar("HandlerT", bound=Callable[..., Any])
Hook = Callable[[], Any]
Methods = Iterable[str] | str  # method names, or "*" for every method

# method = token (RFC 9110 §9.1, §5.6.2)
_METHOD_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")

# Annotations on path parameters that convert the matched text; a failed conversion is a 404.
_ANNOTATION_CONVERTERS: dict[Any, Callable[[str], Any]] = {
    int: int,
    float: float,
    "int": int,
    "float": float,
}


class App:
    """A set of routes and lifecycle hooks; serve it with `app.run()` or `wirespeed.serve(app)`."""

    def __init__(self) -> None:
        self.router = Router()
        self._static_routes = self.router.static
        # WebSocket routes (`websocket`), matched only for requests that ask for a WebSocket.
        self.websocket_router = Router()
        self.startup_hooks: list[Hook] = []
        self.shutdown_hooks: list[Hook] = []

    # -- registration
    def route(self, path: str, methods: Methods = ("GET",)) -> Callable[[HandlerT], HandlerT]:
        """Register the decorated function for `path` and `methods` (upper-cased here), or
        for every method with `methods="*"`."""
        method_set = _method_set(_upper(methods), "route")

        def register(handler: HandlerT) -> HandlerT:
            self.add_route(path, handler, method_set)
            return handler

        return register

    def get(self, path: str) -> Callable[[HandlerT], HandlerT]:
        return self.route(path, ("GET",))

    def post(self, path: str) -> Callable[[HandlerT], HandlerT]:
        return self.route(path, ("POST",))

    def put(self, path: str) -> Callable[[HandlerT], HandlerT]:
        return self.route(path, ("PUT",))

    def patch(self, path: str) -> Callable[[HandlerT], HandlerT]:
        return self.route(path, ("PATCH",))

    def delete(self, path: str) -> Callable[[HandlerT], HandlerT]:
        return self.route(path, ("DELETE",))

    def add_route(self, path: str, handler: Callable[..., Any], methods: Methods) -> None:
        """Register `handler` for `path` and `methods`, names as given (method names are
        case-sensitive, RFC 9110 §9.1), or "*" for every method."""
        method_set = _method_set(methods, "route")
        kwargs = _keyword_params(path, handler)
        _, converters = compile_path(path)
        endpoint = Endpoint(
            path,
            handler,
            method_set,
            kwargs,
            # The handler takes every parameter, unconverted: pass the matched dict itself.
            kwargs_are_params=bool(kwargs)
            and len(kwargs) == len(converters)
            and all(convert is _identity for _, convert in kwargs),
        )
        self.router.add(endpoint)

    def websocket(self, path: str) -> Callable[[HandlerT], HandlerT]:
        """Register the decorated `async def handler(ws, **path_params)` for WebSockets at
        `path`; `ws` is a `wirespeed.WebSocket`. Requests that ask for a WebSocket are matched
        against these routes only (no route: 404)."""

        def register(handler: HandlerT) -> HandlerT:
            if not inspect.iscoroutinefunction(handler):
                raise TypeError("a WebSocket handler is an async def function")
            kwargs = _keyword_params(path, handler)
            self.websocket_router.add(Endpoint(path, handler, frozenset({"GET"}), kwargs))
            return handler

        return register

    def mount(self, prefix: str, handler: Callable[[Request, str], Any], methods: Methods = ("GET",)) -> None:
        """Give every path under `prefix` ("/static", or "/" for all) to `handler`, called as
        `handler(request, rest)` with `rest` the percent-decoded path below the prefix (no
        leading slash), for `methods` (upper-cased here) or every method with "*". Routes win
        over mounts; of two mounts the longer prefix wins. A `StaticFiles` is such a handler:
        `app.mount("/static", StaticFiles("./public"))`."""
        method_set = _method_set(_upper(methods), "mount")
        self.router.mount(Endpoint(prefix, handler, method_set, mounted=True))

    def connect(self, handler: HandlerT) -> HandlerT:
        """Give every CONNECT request to `handler(request)` (as a decorator too). Its target
        is `host:port` (authority-form, RFC 9112 §3.2.3), which no route or mount matches;
        without a handler a CONNECT is answered 501. The handler answers like any other: the
        connection is not handed over for a tunnel."""
        self.router.connect(Endpoint("", handler, frozenset({"CONNECT"})))
        return handler

    def static(self, prefix: str, directory: str | os.PathLike[str], **options: Any) -> None:
        """Serve the files under `directory` at `prefix` (for example "/static")."""
        from .static import StaticFiles

        self.mount(prefix, StaticFiles(directory, **options))

    def on_startup(self, hook: Hook) -> Hook:
        """Register a function (plain or async) to run before the server accepts connections."""
        self.startup_hooks.append(hook)
        return hook

    def on_shutdown(self, hook: Hook) -> Hook:
        """Register a function (plain or async) to run after the server stops."""
        self.shutdown_hooks.append(hook)
        return hook

    # -- serving
    def configure(self, config: Config) -> None:
        """Hand the settings of the server about to serve this app to the mounted handlers
        that take them (a `StaticFiles` takes its cache sizes and `max_ranges`): they get them
        here, once, rather than looking for them in each request."""
        for endpoint in self.router.mounted():
            configure = getattr(endpoint.handler, "configure", None)
            if configure is not None:
                configure(config)

    def run(self, host: str = "127.0.0.1", port: int = 8080, **settings: Any) -> None:
        """Serve this app until SIGINT or SIGTERM. `settings` are `Config` fields."""
        from .server import run

        run(self, Config(host=host, port=port, **settings))

    def dispatch(self, request: Request) -> Any:
        """What answers `request`: the handler's return value, or the coroutine of an async
        handler (the protocol drives it), or an error Response when routing or the handler
        failed. Never raises for a failure of the handler."""
        # Fast path: a target without a query that names a static route, by its exact method
        # (read as the tuple's items TARGET and METHOD, by position: no property call, no
        # global lookup).
        table = self._static_routes.get(request[1])
        if table is not None:
            endpoint = table.get(request[0])
            if endpoint is not None:
                try:
                    return endpoint.handler(request)
                except Exception as error:
                    return self.failure_response(request, error)
        try:
            endpoint, params = self.router.match(request.method, request.raw_path)
        except HTTPError as error:
            return self._routing_failed(request, error)
        if endpoint.mounted:
            try:
                return endpoint.handler(request, params)
            except Exception as error:
                return self.failure_response(request, error)
        if params:
            request.path_params = params
            if endpoint.kwargs:
                if endpoint.kwargs_are_params:
                    kwargs = params
                else:
                    try:
                        kwargs = {name: convert(params[name]) for name, convert in endpoint.kwargs}
                    except (ValueError, TypeError):
                        return error_response(NotFound())
                try:
                    return endpoint.handler(request, **kwargs)
                except Exception as error:
                    return self.failure_response(request, error)
        try:
            return endpoint.handler(request)
        except Exception as error:
            return self.failure_response(request, error)

    def _routing_failed(self, request: Request, error: HTTPError) -> Response:
        if request.method == "OPTIONS":
            if isinstance(error, MethodNotAllowed):
                return _options_response(error.allowed)
            if request.target == "*":
                return _options_response(self.router.all_methods())
        return error_response(error)

    def open_websocket(self, session: WebSocketSession) -> Response | None:
        """Start the handler of the WebSocket route that `session`'s request names, in a Task
        of its own (None); or the answer that declines the handshake (404 without a route)."""
        from .websocket.native import WebSocket, run_handler

        request = session.request
        try:
            endpoint, params = self.websocket_router.match("GET", request.raw_path)
        except HTTPError as error:
            return error_response(error)
        try:
            kwargs = {name: convert(params[name]) for name, convert in endpoint.kwargs}
        except (ValueError, TypeError):
            return error_response(NotFound())
        ws = WebSocket(session, params)
        session.task = session.loop.create_task(run_handler(ws, endpoint.handler, kwargs))
        return None

    @property
    def serves_websockets(self) -> bool:
        """Whether any WebSocket route is registered (Config.ws "auto" turns them on then)."""
        return not self.websocket_router.empty

    def failure_response(self, request: Request, error: Exception) -> Response:
        """The answer when a handler raised: its status for an HTTPError, else a logged 500."""
        if isinstance(error, HTTPError):
            return error_response(error)
        return _handler_failed(request, error)


def _handler_failed(request: Request, error: BaseException) -> Response:
    logger.error("handler for %s %s raised", request.method, request.target, exc_info=error)
    return internal_error_response()


def _options_response(allowed: Iterable[str]) -> Response:
    return Response(b"", 204, {"Allow": ", ".join(allowed)})


def _upper(methods: Methods) -> list[str]:
    """The method names upper-cased, as the decorators and mounts take them."""
    return [method.upper() for method in ([methods] if isinstance(methods, str) else methods)]


def _method_set(methods: Methods, what: str) -> frozenset[str]:
    """The methods a route or mount is registered for: method names, or "*" alone."""
    names = frozenset([methods] if isinstance(methods, str) else methods)
    if not names:
        raise ValueError(f"a {what} needs at least one method")
    if ANY_METHOD in names and len(names) > 1:
        raise ValueError('"*" stands for every method: give it alone')
    for name in names:
        if not _METHOD_NAME.fullmatch(name):
            raise ValueError(f"{name!r} is not a method name (a token, RFC 9110 §9.1)")
    if "CONNECT" in names:
        raise ValueError("a CONNECT request has no path to route: register it with app.connect(handler)")
    return names


def _keyword_params(path: str, handler: Callable[..., Any]) -> tuple[tuple[str, Callable[[str], Any]], ...]:
    """The path parameters `handler` declares, each with the converter its annotation implies."""
    _, converters = compile_path(path)
    if not converters:
        return ()
    try:
        signature = inspect.signature(handler)
    except (TypeError, ValueError):
        return ()
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in signature.parameters.values())
    result = []
    for name in converters:
        parameter = signature.parameters.get(name)
        if parameter is None and not takes_any:
            continue
        annotation = parameter.annotation if parameter is not None else inspect.Parameter.empty
        convert = _ANNOTATION_CONVERTERS.get(annotation, _identity)
        result.append((name, convert))
    return tuple(result)


def _identity(value: Any) -> Any:
    return value
