"""One HTTP request as an ASGI app sees it: its scope, `receive()` and `send()`.

Strategy: this module owns the ASGI request/response cycle (asgiref "HTTP & WebSocket" spec
2.4) on top of the connection's own cycle, not beside it. The protocol dispatches a request
to the adapter as it dispatches one to a native App, and answers with what `dispatch` returns
(`Exchange.start`):

* The app is called there and then. An app that answers without suspending (the common case)
  leaves its whole answer in this call. For a keep-alive HTTP/1.1 request whose body came
  with it, the bytes go straight into the connection's write of this turn (the protocol's own
  fast case: no Connection line, nothing to hold), and `start` returns ANSWERED; otherwise it
  returns an `AsgiResponse` that the protocol answers with under its usual ordering,
  held-answer and Connection rules. Either way the answers of one buffer leave in one write,
  and no Task is made.
* An app that suspends goes on in a Task of its own (with the context it started in), and
  `start` returns a coroutine that waits only for its *answer*: once the response is complete
  the next request on the connection is served, while the app may still run (background
  tasks after the response). Its Task is the adapter's to finish at shutdown. When the
  connection is lost the protocol cancels that wait, and the app hears of it
  (`http.disconnect`, `ClientDisconnected`) rather than being cancelled.
* A body sent in pieces (`more_body`), or with trailers, goes out as it comes, through the
  connection's one write path (`out`, `write_now`) and its one wait for a slow reader
  (`senders.drain`): `send()` waits while the transport is paused. Chunked unless the app gave
  a Content-Length, which is then held to: a body longer or shorter than it ends the
  connection, since the head has promised it. `http.response.pathsend` becomes a
  `FileResponse`, sent with sendfile(2) like a static file.
* `receive()` gives the body as the parser delivers it (inline, or from the BodyStream, which
  pauses reading while the app does not read and sends `100 Continue` on the first read), then
  `http.disconnect` once the response is complete or the client has closed or gone. `send()`
  after the client has gone raises `ClientDisconnected`, an OSError (spec 2.4).

What the app does wrong is answered here and never reaches the wire as it was given: before
any byte of the answer is written, a 500 (and a traceback in the log) takes its place and the
connection goes on; after, the connection is closed. See `outcome`.
"""

from __future__ import annotations

import asyncio
import logging
from contextvars import copy_context
from types import CoroutineType
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from ..connection_state import CLOSED, READ_ENDED
from ..errors import HTTPError
from ..protocol import resume_coroutine
from ..request import origin_path as _origin_path
from ..response import (
    ANSWERED,
    FileResponse,
    Response,
    error_response,
    internal_error_response,
)
from ..senders import drain
from ..sendfile import ClientGone
from ..writer import CHUNKED, LAST_CHUNK, NO_BODY_STATUSES, chunk, content_length
from .head import InvalidHead, encode_trailers, read_start

try:
    from .._parser import asgi_scope as native_scope
except ImportError:  # the extension is not built: Exchange.scope_py
    native_scope = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from ..forwarded import ProxyInfo
    from ..protocol import HttpProtocol
    from ..request import Request
    from .adapter import AsgiAdapter

logger = logging.getLogger("wirespeed.error")

ASGI_VERSION = {"version": "3.0", "spec_version": "2.4"}
# The extensions of the HTTP spec this server implements (each scope gets a copy).
EXTENSIONS: dict[str, dict[str, Any]] = {"http.response.trailers": {}, "http.response.pathsend": {}}

# Where the answer is. The states only move forward.
NOT_STARTED = 0  # no http.response.start yet
STARTED = 1  # a head is held, nothing is written
STREAMING = 2  # the head is written; the body goes out as it comes
TRAILERS = 3  # the body has ended; trailers are due
COMPLETE = 4  # the whole answer is made (written, or held in `result` for the protocol)


class ClientDisconnected(OSError):
    """`send()` on a connection the client has closed (ASGI HTTP spec 2.4)."""


class AsgiResponse(Response):
    """A complete answer an app gave in one piece: its checked head lines and its body."""

    __slots__ = ("_declared_length",)

    def __init__(self, status: int, lines: bytes, body: bytes, declared_length: int) -> None:
        self.status = status
        self.body = body
        self.headers = []
        self.content_type = None
        self._head_extra = lines
        self._fixed_lines = None
        self._declared_length = declared_length

    @property
    def declared_length(self) -> int:
        """The length the head states: the body's, or for HEAD the one the app declared."""
        return self._declared_length


class Exchange:
    """One request and its answer, between the protocol and an ASGI app."""

    __slots__ = (
        "adapter",
        "body_done",
        "body_error",
        "chunked",
        "close",
        "connection",
        "done",
        "length",
        "lines",
        "request",
        "result",
        "sending",
        "sent",
        "state",
        "status",
        "trailers",
        "waiter",
        "wire",
    )

    # Set as the exchange goes (see __init__), so declared here.
    status: int
    lines: bytes
    length: int | None
    close: bool
    trailers: bool
    result: Any
    sent: int
    wire: int
    chunked: bool
    sending: bool

    def __init__(self, adapter: AsgiAdapter, request: Request) -> None:
        self.adapter = adapter
        self.request = request
        self.connection: HttpProtocol = request[6]  # CONNECTION
        self.state = NOT_STARTED
        # Set once the app has sent http.response.start (read only from STARTED on), from its
        # checked head (head.py): `status`, `lines` (the header lines), `length` (its
        # Content-Length or None; held to once the head is out), `close` (it said Connection:
        # close), `trailers` (it announced trailers). Set once the head is written (read only
        # from STREAMING on): `sent` (body bytes the app has sent), `chunked` (the body goes in
        # chunks), `sending` (body bytes go on the wire: not for HEAD, 204, 304). `result`, the
        # answer the protocol is given, is set on the move to COMPLETE. Left unset until then,
        # so that an exchange costs only what it uses.
        self.body_done = False  # the app has been given the whole request body
        self.body_error: BaseException | None = None  # why the request body broke off
        self.done: asyncio.Future[None] | None = None  # `answer()` waits on it
        self.waiter: asyncio.Future[None] | None = None  # `receive()` waits on it for the end

    # -- the protocol's side
    def start(self) -> Any:
        """Call the app. What it returns is the protocol's to answer with: when the app
        answered without suspending, the answer (ANSWERED when it is in the connection's
        write already, else an AsgiResponse, a FileResponse or an error Response); when it
        suspended before its answer was complete, a coroutine that waits for it."""
        context = copy_context()
        try:
            coro = self.adapter.app(self.scope(), self.receive, self.send)
            if coro.__class__ is not CoroutineType:
                coro = _awaited(coro)
            yielded = context.run(coro.send, None)
        except StopIteration:
            if self.state == COMPLETE:  # the common case: answered, and returned
                return self.result
            return self.outcome(None)
        except Exception as error:  # noqa: BLE001 - whatever the app raised is answered by outcome
            return self.outcome(error)
        # The app waits for something: it goes on in a Task of its own, and the protocol
        # waits only for its answer (which it may have completed already).
        self.adapter.start_task(self.finish(coro, yielded), context)
        if self.state == COMPLETE:
            return self.result
        return self.answer()

    async def answer(self) -> Any:
        """The answer of an app that suspended, once it is complete."""
        done = self.done = self.connection.loop.create_future()
        try:
            await done
        except asyncio.CancelledError:
            # The protocol cancels the answer it waits for when the connection is lost.
            # The app is told (http.disconnect, ClientDisconnected), not cancelled.
            self.lose()
            raise
        return self.result

    async def finish(self, coro: Any, yielded: Any) -> None:
        """The rest of an app that suspended (the body of its Task)."""
        try:
            await resume_coroutine(coro, yielded)
        except asyncio.CancelledError:
            self.outcome(asyncio.CancelledError("the app was cancelled"), cancelled=True)
            raise
        except Exception as error:  # noqa: BLE001 - whatever the app raised is answered by outcome
            self.outcome(error)
        else:
            self.outcome(None)

    def lose(self) -> None:
        """The connection is gone (its phase is CLOSED): wake whatever waits on it."""
        self._wake()

    def outcome(self, error: BaseException | None, cancelled: bool = False) -> Any:
        """The app has returned (error None) or raised: what answers the request, decided
        once. A complete answer stands; an answer partly written ends the connection; an
        answer not begun is replaced: by the body's own error when the request body broke
        off, else by a 500."""
        state = self.state
        request = self.request
        if state == COMPLETE:
            if error is not None and not cancelled and not self._quiet(error):
                logger.error("ASGI app raised after its response to %s %s", request[0], request[1], exc_info=error)
            return self.result
        self.state = COMPLETE
        if state >= STREAMING:
            if error is None:
                error = RuntimeError("the app returned before its response was complete")
            # Part of the answer is written: only closing the connection is left (logged there,
            # as an error unless the client itself went away).
            # An app that fails once its client has gone (Starlette turns ClientDisconnected
            # into its own ClientDisconnect) fails because of it: not an error of the app.
            quiet = cancelled or self._quiet(error) or not isinstance(error, Exception) or self.connection.phase == CLOSED
            self.connection.sending_failed(request, ClientGone(str(error)) if quiet else error)  # type: ignore[arg-type]
            self.result = ANSWERED
        elif self.body_error is not None or self.connection.phase == CLOSED:
            body_error = self.body_error
            self.result = error_response(body_error) if isinstance(body_error, HTTPError) else ANSWERED
            if error is not None and not self._quiet(error):
                logger.debug("ASGI app ended after the request body broke off: %r", error)
        else:
            if error is None:
                logger.error(
                    "ASGI app returned without %s a response to %s %s",
                    "completing" if state == STARTED else "starting",
                    request[0],
                    request[1],
                )
            elif not cancelled:
                logger.error("ASGI app raised before its response to %s %s", request[0], request[1], exc_info=error)
            self.result = internal_error_response()
        self._wake()
        return self.result

    def _quiet(self, error: BaseException) -> bool:
        """An error that only says the client went away (or the body broke off)."""
        return isinstance(error, (ClientDisconnected, ConnectionError)) or (
            self.body_error is not None and not isinstance(error, (InvalidHead, TypeError))
        )

    def _wake(self) -> None:
        done = self.done
        if done is not None and not done.done():
            done.set_result(None)
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- the scope
    def scope(self) -> dict[str, Any]:
        """The HTTP scope of the request: a copy of its connection's part (made on the
        connection's first request), with the request's own keys filled in; in one call to
        the Rust extension when it is built (`scope_py` has the same rules in Python)."""
        connection = self.connection
        base = connection.scope_base
        if base is None:
            base = connection.scope_base = self.adapter.scope_base(connection)
            connection.scope_extensions = base["extensions"]
        if native_scope is not None:
            adapter = self.adapter
            return native_scope(base, self.request, adapter.root_path, adapter.state, connection.scope_extensions)  # type: ignore[no-any-return]
        return self.scope_py(base)

    def scope_py(self, base: dict[str, Any]) -> dict[str, Any]:
        request = self.request
        adapter = self.adapter
        scope = base.copy()
        target: str = request[1]  # TARGET
        if "#" in target:  # a fragment is the client's, never part of a request (RFC 3986 §3.5)
            target = target[: target.index("#")]
        query = target.find("?")
        if query >= 0:
            scope["query_string"] = target[query + 1 :].encode("ascii")
            target = target[:query]
        if target[:1] != "/":
            target = _origin_path(target)  # absolute-form (or "*"): the path of it
        path = unquote(target) if "%" in target else target
        root_path = adapter.root_path
        if root_path:
            path = root_path + path
            target = root_path + target
        if not request[2]:  # VERSION
            scope["http_version"] = "1.0"
        scope["method"] = request[0]  # METHOD
        scope["path"] = path
        scope["raw_path"] = target.encode()
        scope["headers"] = list(request[3])  # RAW_HEADERS: lower-cased, in order, repeats kept
        scope["state"] = adapter.state.copy()
        scope["extensions"] = base["extensions"].copy()
        return scope

    # -- receive
    async def receive(self) -> dict[str, Any]:
        if not self.body_done:
            request = self.request
            body = request[5]  # BODY: all of it came with the head
            if body is not None:
                self.body_done = True
                return {"type": "http.request", "body": body, "more_body": False}
            stream = request.body_stream
            if stream is not None and self.connection.phase != CLOSED:
                try:
                    data, more = await stream.read_some()
                except HTTPError as error:  # malformed, over a limit, late: the server answers it
                    self.body_error = error
                    self.body_done = True
                    return {"type": "http.disconnect"}
                except ConnectionError:  # the client went away
                    self.body_done = True
                    return {"type": "http.disconnect"}
                self.body_done = not more
                return {"type": "http.request", "body": data, "more_body": more}
            self.body_done = True
            if stream is None:
                return {"type": "http.request", "body": b"", "more_body": False}
        # All of the body is read: the next event is the end of the exchange, which is the
        # end of the answer or the end of the client's side (its close, or a half-close: an
        # answer still goes out then, but a client that has stopped sending is taken to have
        # given up, as nginx takes it).
        connection = self.connection
        if self.state != COMPLETE and connection.phase != CLOSED and not connection.flow & READ_ENDED:
            waiter = self.waiter = connection.loop.create_future()
            connection.end_waiter = waiter
            try:
                await waiter
            finally:
                self.waiter = None
                if connection.end_waiter is waiter:
                    connection.end_waiter = None
        return {"type": "http.disconnect"}

    # -- send
    async def send(self, message: Any) -> None:
        kind = message["type"]
        state = self.state
        if kind == "http.response.body":
            if state == STARTED:
                if self.connection.phase == CLOSED:
                    raise ClientDisconnected("the client has gone")
                if not message.get("more_body", False) and not self.trailers:
                    self._whole(message.get("body", b""))
                    return
                self._write_head()
            elif state != STREAMING:
                self._refuse(kind, state)
            await self._write_body(message.get("body", b""), message.get("more_body", False))
        elif kind == "http.response.start":
            if state != NOT_STARTED:
                self._refuse(kind, state)
            self.status, self.lines, self.length, self.close, self.trailers = read_start(message)
            self.state = STARTED
        elif kind == "http.response.trailers":
            if state != TRAILERS:
                self._refuse(kind, state)
            self._write_trailers(message.get("headers", ()), message.get("more_trailers", False))
        elif kind == "http.response.pathsend":
            if state != STARTED:
                self._refuse(kind, state)
            self._send_file(message["path"])
        else:
            raise RuntimeError(f"unexpected ASGI message {kind!r} for an HTTP request")

    def _refuse(self, kind: str, state: int) -> None:
        """A message out of order: logged, and raised to the app; nothing of it is written."""
        where = ("before http.response.start", "before any body", "mid-body", "before the trailers", "after the response was complete")[state]
        if kind == "http.response.start" and state != NOT_STARTED:
            where = "a second time"
        elif kind == "http.response.trailers" and state < TRAILERS:
            where = "before the body ended" if state and self.trailers else "but none were announced"
        request = self.request
        logger.error("ASGI app sent %s %s, for %s %s: ignored", kind, where, request[0], request[1])
        raise RuntimeError(f"{kind} sent {where}")

    def _whole(self, body: bytes) -> None:
        """The whole body in one message: the answer is made here and written by the
        protocol, in this turn's write when the app has not suspended."""
        if body.__class__ is not bytes:
            body = _body_bytes(body)
        request = self.request
        size = len(body)
        length = self.length
        if length is None:
            length = size
        elif length != size and not (request[0] == "HEAD" and not size):
            raise InvalidHead(f"Content-Length {length} but a body of {size} bytes")
        connection = self.connection
        if self.close:
            connection.close_after_response()
        elif (
            # The common case, which `HttpProtocol.respond` would answer without a Connection
            # line and without holding it: a keep-alive HTTP/1.1 request (not HEAD) whose body
            # came whole with it, on an OPEN connection. This request is the one being answered
            # (answers go in order), so its bytes go straight into this turn's write.
            request[4]  # KEEP_ALIVE
            and request[2]  # VERSION
            and request[5] is not None  # BODY
            and not connection.phase  # OPEN
            and request[0] != "HEAD"  # METHOD
        ):
            data = connection.writer.keep_alive_answer(self.status, self.lines, body)
            connection.out.append(data)
            if connection.access is not None:
                connection.access.answered(connection, request, data)
            self.result = ANSWERED
            self.state = COMPLETE
            if self.done is not None or self.waiter is not None:
                self._wake()
            return
        self.result = AsgiResponse(self.status, self.lines, body, length)
        self.state = COMPLETE
        self._wake()

    def _write_head(self) -> None:
        """The head of a body sent in pieces (or followed by trailers), written now."""
        request = self.request
        connection = self.connection
        self.sent = 0
        self.chunked = False
        if self.close:
            connection.close_after_response()
        status = self.status
        no_body = status in NO_BODY_STATUSES
        length = self.length
        if request[2]:  # HTTP/1.1: chunked, unless a Content-Length says how long (no trailers then)
            if self.trailers:
                length = None
            self.chunked = length is None and not no_body
            ends_at_close = False
        else:  # HTTP/1.0 takes no chunks: a body without a length ends at the close
            ends_at_close = length is None and not no_body and request[0] != "HEAD"
        framing = b"" if no_body else CHUNKED if self.chunked else content_length(length) if length is not None else b""
        self.sending = not no_body and request[0] != "HEAD"
        if not self.sending:
            self.chunked = False
        head = connection.writer.head(status, self.lines, framing, connection.connection_line(request, ends_at_close))
        connection.out.append(head)
        self.wire = len(head)  # bytes of the answer on the wire, for the access log
        self.length = length
        self.state = STREAMING

    async def _write_body(self, body: Any, more: bool) -> None:
        connection = self.connection
        if body.__class__ is not bytes:
            body = _body_bytes(body)
        length = self.length
        if body:
            self.sent += len(body)
            if length is not None and self.sent > length and self.sending:
                raise self._cut_off(f"the app sent more than its Content-Length of {length}")
            if self.sending:
                framed = chunk(body) if self.chunked else body
                connection.out.append(framed)
                self.wire += len(framed)
        if not more:
            if length is not None and self.sent < length and self.sending:
                raise self._cut_off(f"the app ended its body at {self.sent} of its Content-Length of {length}")
            if self.trailers:
                self.state = TRAILERS
                if self.chunked:
                    connection.out.append(b"0\r\n")  # the last chunk; the trailer section follows
                    self.wire += 3
            else:
                if self.chunked:
                    connection.out.append(LAST_CHUNK)
                    self.wire += len(LAST_CHUNK)
                self._complete()
        if connection.phase == CLOSED:
            connection.out.clear()
            raise ClientDisconnected("the client has gone")
        connection.write_now()
        if self.state != COMPLETE:
            try:
                await drain(connection)
            except ConnectionError:
                raise ClientDisconnected("the client has gone") from None

    def _cut_off(self, why: str) -> RuntimeError:
        """The body broke the head's promise: the connection ends (what was sent cannot be
        taken back, and the client must not wait for bytes that will not come)."""
        self.state = COMPLETE
        self.result = ANSWERED
        self._log_sent()
        self.connection.sending_failed(self.request, RuntimeError(why))
        self._wake()
        return RuntimeError(why)

    def _write_trailers(self, headers: Any, more: bool) -> None:
        lines = encode_trailers(headers)
        connection = self.connection
        if self.chunked:
            # The trailer section after the last chunk (RFC 9112 §7.1.2); with more to come,
            # the lines wait in `out` for the rest. HTTP/1.0 has no trailers: they are dropped.
            connection.out.append(lines)
            self.wire += len(lines)
            if not more:
                connection.out.append(b"\r\n")
                self.wire += 2
        if not more:
            self._complete()
            connection.write_now()

    def _send_file(self, path: str) -> None:
        """http.response.pathsend: the file goes out like a static file, from the page cache
        with sendfile(2). Its size is its Content-Length, whatever the app declared."""
        file = open(path, "rb", buffering=0)  # noqa: SIM115 - the FileResponse closes it
        try:
            response = FileResponse(path, self.status, file=file)
        except BaseException:
            file.close()
            raise
        response.reuse_head_extra(self.lines)
        if self.close:
            self.connection.close_after_response()
        self.result = response
        self.state = COMPLETE
        self._wake()

    def _log_sent(self) -> None:
        """The access log's line for an answer sent in pieces, at its end."""
        connection = self.connection
        if connection.access is not None:
            connection.access.sent(
                connection, self.request, self.status, self.sent if self.sending else 0, self.wire
            )

    def _complete(self) -> None:
        self._log_sent()
        self.result = ANSWERED
        self.state = COMPLETE
        self._wake()


async def _awaited(awaitable: Any) -> Any:
    """An app that returned an awaitable other than a coroutine (an ASGI 3 callable object)."""
    return await awaitable


class ProxiedExchange(Exchange):
    """The Exchange of a server that reads proxy headers (`Config.proxy_headers`, forwarded.py):
    when a trusted proxy names them, the scope's `client` and `scheme` are the client's, and the
    host it asked for is the scope's `host` header (replacing the one the proxy sent, so that
    frameworks build their URLs from it) and its `server` (with the scheme's port when the host
    has none). Every other header, the proxy headers included, stays as it came."""

    __slots__ = ()

    def scope(self) -> dict[str, Any]:
        scope = Exchange.scope(self)
        forwarded = self.request.forwarded
        if forwarded is not None:
            apply_forwarded(scope, forwarded)
        return scope


def apply_forwarded(scope: dict[str, Any], forwarded: ProxyInfo) -> None:
    """Put what a trusted proxy said (see ProxiedExchange) into an HTTP scope."""
    if forwarded.client is not None:
        scope["client"] = forwarded.client
    if forwarded.scheme is not None:
        scope["scheme"] = forwarded.scheme
    host = forwarded.host
    if host is not None:
        value = host.encode("latin-1")
        headers = [(name, value) if name == b"host" else (name, old) for name, old in scope["headers"]]
        if (b"host", value) not in headers:
            headers.append((b"host", value))
        scope["headers"] = headers
        if host.startswith("["):  # an IPv6 literal (forwarded.py has checked the syntax)
            end = host.index("]")
            name, port = host[1:end], host[end + 2 :]
        else:
            name, _, port = host.partition(":")
        scope["server"] = (name, int(port) if port else 443 if scope["scheme"] == "https" else 80)


def _body_bytes(body: Any) -> bytes:
    if isinstance(body, (bytearray, memoryview)):
        return bytes(body)
    raise TypeError(f"a response body must be bytes, not {type(body).__name__}")


__all__ = ["ASGI_VERSION", "AsgiResponse", "ClientDisconnected", "Exchange", "ProxiedExchange", "apply_forwarded"]
