"""The asyncio Protocol of one connection: bytes in, one parser call, dispatch, bytes out.

Strategy: this module owns the asyncio glue of a connection and its request queue. Each
received buffer goes to the parser in one call; each request it returns is dispatched to the
app in order. Handlers that finish without suspending (plain functions, and `async def`
handlers that never await anything pending) are answered inline, and every answer produced
from one buffer goes out in one `transport.write`. Only a handler that really suspends, a
streamed body, or a file body the socket cannot take at once gets a Task; requests behind it
wait in the queue so answers stay in request order. An answer to a request whose body is
still arriving waits for the body's end when it is a success, so a body that turns out
malformed is answered with its error instead (`_before_body_end`).

Beside it, each in its own module: the state of the connection (connection_state.py), the
timeouts (timeouts.py), bodies sent in pieces and the waits for the client to read
(senders.py, over sendfile.py), the bytes of every head (writer.py), the parsing rules (the
parser backends) and routing (the app, reached only through `dispatch` and
`failure_response`). The one thing decided here about a head is its Connection line
(`connection_line`), because it says whether the connection goes on.

The seams another interface plugs into, so that it shares this request cycle instead of
running a second one: `app.dispatch(request)` is the only call into the app (whatever it
returns, a coroutine included, is driven here); `respond` answers through the same held-answer
and ordering rules; `out` and `write_now` are the one write path, `senders.drain` the one
wait for a slow reader; `connection_line` the one decision to close; the timeouts, limits and
shutdown (`close_after_response`, `close_if_idle`) apply to every connection alike. A request
that asks for a WebSocket ends the request cycle: the parser stops at it (`_takes_upgrade`),
and once the app accepts, a `WebSocketSession` takes the parser's place, so its frames still
come in one call per buffer and share the timeouts, flow control and shutdown.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import types
from collections.abc import Coroutine, Generator, Iterable
from time import monotonic
from types import CoroutineType
from typing import TYPE_CHECKING, Any

from .connection_state import (
    CLOSED,
    CLOSING,
    FREE,
    LAST,
    LINGERING,
    OPEN,
    READ_ENDED,
    READ_PAUSED,
    WRITE_PAUSED,
    next_phase,
    without,
)
from .errors import BadRequest, HTTPError, InternalServerError, RequestTimeout, ServiceUnavailable
from .request import BodyStream, Request
from .response import ANSWERED, FileResponse, Response, StreamingResponse, error_response
from .sendfile import ClientGone, FileBody
from .senders import send_file_body, send_stream, start_file
from .timeouts import WAITING_BODY, WAITING_HEAD, WRITING, Watch
from .tls import TLSInfo, connection_tls
from .writer import CONNECTION_CLOSE, CONNECTION_KEEP_ALIVE, CONTINUE_100

if TYPE_CHECKING:
    from .access_log import AccessLog
    from .server import ServerState
    from .websocket.session import WebSocketSession

error_logger = logging.getLogger("wirespeed.error")
client_logger = logging.getLogger("wirespeed.client")

STREAMED = (StreamingResponse, FileResponse)  # responses sent from a Task, piece by piece

# Answers gathered before they are written and the transport is asked whether to go on: it
# bounds what a client that pipelines requests without reading the answers can make us hold.
FLUSH_EVERY = 64


@types.coroutine
def resume_coroutine(coro: Coroutine[Any, Any, Any], yielded: Any) -> Generator[Any, Any, Any]:
    """Continue, inside a Task, a coroutine that was started outside one and suspended.

    `yielded` is what the coroutine yielded at its first suspension (a Future, or None for a
    bare yield). It is handed to the Task as if the Task had run the coroutine from the start.
    """
    while True:
        try:
            sent = yield yielded
        except GeneratorExit:  # the Task itself is being closed: close the handler too
            coro.close()
            raise
        except BaseException as error:  # noqa: BLE001 - cancellation and throw() go inside
            try:
                yielded = coro.throw(error)
            except StopIteration as stop:
                return stop.value
        else:
            try:
                yielded = coro.send(sent)
            except StopIteration as stop:
                return stop.value


class HttpProtocol(asyncio.Protocol):
    """One HTTP/1.1 connection."""

    __slots__ = (
        "state",
        "app",
        "loop",
        "writer",
        "parser",
        "transport",
        "client_address",
        "phase",
        "flow",
        "out",
        "receiving",
        "watch",
        "drain_waiter",
        "end_waiter",
        "socket",
        "local_address",
        "tls_info",
        "scope_base",
        "scope_extensions",
        "websocket",
        "upgrade",
        "_queue",
        "_active",
        "_held",
        "_linger_timer",
        "access",
        "began",
        "arrived",
        "number",
        "logged",
    )

    def __init__(self, state: ServerState) -> None:
        self.state = state
        self.app = state.app
        self.loop = state.loop
        self.writer = state.writer
        # Requests come out of the parser as Request objects that know this connection.
        self.parser = state.parser_class(state.config, Request, self)
        self.transport: asyncio.Transport | None = None
        self.client_address: tuple[str, int] | None | bool = False  # False: not looked up yet
        self.local_address: tuple[str, int | None] | None | bool = False  # likewise
        self.tls_info: TLSInfo | None | bool = False  # likewise: what the TLS says (tls.py)
        # The part of an ASGI scope that is the connection's, made on its first ASGI request.
        self.scope_base: dict[str, Any] | None = None
        # Its "extensions" (with the TLS extension on a TLS connection), set with it.
        self.scope_extensions: dict[str, Any] | None = None
        # A request that asks for a WebSocket and the bytes that followed its head (the
        # parser stops there), until the WebSocket layer takes them; then the WebSocket
        # session on this connection (websocket/session.py), which is also its `parser`.
        self.upgrade: tuple[Request, bytes] | None = None
        self.websocket: WebSocketSession | None = None
        # The state (connection_state.py): where the connection is in its life, and which way
        # its bytes may flow.
        self.phase = OPEN
        self.flow = FREE
        # The bytes of the answers of this turn, written together by `_flush`.
        self.out: list[bytes] = []
        # The body stream that the parser's body events go to, while a body is arriving.
        self.receiving: BodyStream | None = None
        # What the timeout sweep last saw this connection waiting for (timeouts.py).
        self.watch = Watch()
        # What a sender waits on while writing is paused (senders.py); woken by
        # `resume_writing` and `connection_lost`.
        self.drain_waiter: asyncio.Future[None] | None = None
        # What an interface waits on to hear that the client has ended its side or gone (an
        # ASGI app waiting for http.disconnect); woken by `eof_received` and `connection_lost`.
        self.end_waiter: asyncio.Future[None] | None = None
        # The transport's socket and whether it is TCP (can be corked), looked up on the
        # first file body: (socket or None, tcp). None until then; (None, False) over TLS,
        # where file bodies are copied through the transport (senders.py).
        self.socket: tuple[Any, bool] | None = None
        # Requests (or a final parse error) waiting behind an answer that is still running.
        self._queue: collections.deque[Request | HTTPError] = collections.deque()
        self._active: asyncio.Task[None] | None = None
        # A success answer held back until the body of its request has ended (it may yet
        # turn out malformed): (request, handler result). See `_before_body_end`.
        self._held: tuple[Request, Any] | None = None
        # While LINGERING: the timer that closes the transport if the client never closes.
        self._linger_timer: asyncio.TimerHandle | None = None
        # The access log (access_log.py), None when it is off: then nothing below is used.
        # `began`: the request being answered and when it arrived; `arrived`: when each queued
        # request did (by id); `number`: this connection's ($connection); `logged`: its lines
        # so far ($connection_requests).
        self.access: AccessLog | None = state.access_log
        self.began: tuple[Request, float] | None = None
        self.arrived: dict[int, float] | None = None
        self.number = 0
        self.logged = 0

    @property
    def idle(self) -> bool:
        """No request is running, queued, or waiting for its body before its answer goes."""
        return self._active is None and not self._queue and self._held is None

    def _enter(self, phase: int) -> None:
        """Move along the line of phases (connection_state.py; never back)."""
        self.phase = next_phase(self.phase, phase)

    # -- asyncio callbacks
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        state = self.state
        self.watch.since = self.loop.time()  # the first head's timer starts at accept
        if self.access is not None:
            self.number = self.access.next_connection()
            self.client  # noqa: B018 - looked up while the socket is open: the log needs it later
        if state.max_connections and len(state.connections) >= state.max_connections:
            self._refuse()
            return
        state.connections.add(self)
        if state.proxy_protocol is not None:  # the PROXY header comes first (proxy_reader.py)
            self.parser = state.proxy_protocol.reader(self)

    def _refuse(self) -> None:
        """Over max_connections: a 503 at once beats a wait in the backlog the client cannot
        see; the connection is closed after it (and never counted)."""
        error = ServiceUnavailable("too many connections", headers={"Retry-After": "1"})
        self.state.client_errors.rejected(self.client, error.body().decode())
        data = self.writer.error(error, self.connection_line(None))
        self.out.append(data)
        if self.access is not None:
            self.access.rejected(self, data)
        self._flush()

    def connection_lost(self, exc: Exception | None) -> None:
        self._enter(CLOSED)
        self.state.connections.discard(self)
        if self._linger_timer is not None:
            self._linger_timer.cancel()
            self._linger_timer = None
        self._queue.clear()
        self._held = None
        if self.receiving is not None:
            self.receiving.fail(ConnectionResetError("client disconnected"))
            self.receiving = None
        if self._active is not None:
            self._active.cancel()  # a Task cancelled before its first step never runs its `finally`
            self._active = None
        self._wake_writer()
        self._wake_end_waiter()
        if self.websocket is not None:
            self.websocket.connection_lost()

    def _wake_end_waiter(self) -> None:
        waiter = self.end_waiter
        if waiter is not None:
            self.end_waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def eof_received(self) -> bool:
        """The client closed its side. Requests it already sent are still answered; then the
        connection ends. Returning True keeps our side open for those answers."""
        self.flow |= READ_ENDED
        self._wake_end_waiter()
        if self.websocket is not None:
            self.websocket.client_ended()
        if self.receiving is not None:  # the rest of a body can never come: its handler gets a 400
            self.receiving.fail(BadRequest("the client closed its side before the body was complete"))
            self.receiving = None
            if self._held is not None:
                self._release_held()  # the 400 instead of the held answer
        if self.phase == LINGERING or self.idle:
            return False
        self._enter(LAST)
        return True

    def data_received(self, data: bytes) -> None:
        # Hot path: `phase` is OPEN and `flow` FREE (both False) while a connection runs
        # freely, so each is tested for truth before it is compared with a constant. The
        # request's slots are read by position here and not by their names in request.py
        # (a name costs a global lookup per read): 0 METHOD, 2 VERSION, 4 KEEP_ALIVE, 5 BODY.
        if self.phase and self.phase >= CLOSING:
            return
        try:
            events = self.parser.feed(data)
        except Exception:  # a parser bug: answer it like bad input, never drop the client
            self._parser_crashed()
            return
        for event in events:
            kind = event.__class__
            if kind is Request:
                request = event
                if event[5] is None:  # BODY: it follows in pieces, or the request hands the connection over
                    if not event[4] and self._takes_upgrade(request):  # KEEP_ALIVE
                        continue
                    self._attach_stream(request)
                # `not self.idle or writing is paused`, written out: this runs for every request.
                if self._active is not None or self._queue or (self.flow and self.flow & WRITE_PAUSED):
                    self._queue.append(request)
                    if self.access is not None:
                        self._note_arrival(request)
                    if len(self._queue) >= self.state.config.max_pipelined:
                        self._pause_reading()
                    continue
                result = self.app.dispatch(request)
                kind = result.__class__
                if (
                    # The common case, answered here without further calls: a plain result
                    # to a keep-alive HTTP/1.1 request whose body is all in (not HEAD), on an
                    # OPEN connection, where `connection_line` would say b"". It cannot
                    # change the phase, so the loop goes on without looking at it.
                    (kind is str or kind is dict or kind is bytes or kind is list)
                    and event[4]  # KEEP_ALIVE
                    and event[2]  # VERSION
                    and event[5] is not None  # BODY
                    and not self.phase  # OPEN
                    and event[0] != "HEAD"  # METHOD
                ):
                    try:
                        out = self.out
                        out.append(self.writer.keep_alive_result(result, request))
                        if len(out) >= FLUSH_EVERY:
                            self._flush()  # the transport may say pause_writing: then queue
                        continue
                    except Exception:  # noqa: S112 - _handle logs it and answers 500
                        pass
                self._handle(request, result)
            elif kind is bytes:
                body_stream = self.receiving
                if body_stream is not None:
                    body_stream.feed(event)
                    if body_stream.buffered > self.state.config.max_buffered_body:
                        self._pause_reading()
                continue
            elif event is None:
                if self.receiving is not None:
                    self.receiving.finish()
                    self.receiving = None
                    if self._held is not None:
                        self._release_held()
            else:
                self._parse_failed(event)
            if self.phase >= CLOSING:
                break  # that answer said Connection: close; nothing after it is answered
        if self.out:
            self._flush()
        if self.flow and self.flow & WRITE_PAUSED:
            self._pause_reading()  # no more requests until the client reads its answers

    def _note_arrival(self, request: Request) -> None:
        """For the access log: when a request that waits in the queue arrived."""
        arrived = self.arrived
        if arrived is None:
            arrived = self.arrived = {}
        arrived[id(request)] = monotonic()

    def _takes_upgrade(self, request: Request) -> bool:
        """Whether `request` (the connection's last, reported without a body) asks for a
        WebSocket and the parser has stopped at it: then it is run or queued here, and reading
        waits for the handshake's answer. (The parsers do this only with `ws` on, as the
        server settles Config.ws; they report such a request with BODY None, so that the test
        for it stays off the path of every other request.)"""
        rest = self.parser.detach()
        if rest is None:
            return False
        self.upgrade = (request, rest)
        self._pause_reading()
        if self._active is not None or self._queue or self.flow & WRITE_PAUSED:
            self._queue.append(request)
            if self.access is not None:
                self._note_arrival(request)
        else:
            self._handle(request, self._open_websocket(request))
        return True

    def _open_websocket(self, request: Request) -> Any:
        """The answer to the handshake `request`: an error (400, 426) for one that asks
        wrongly, else what the app makes of it (a decline, or the wait for the WebSocket's end)."""
        from .websocket.handshake import read_handshake
        from .websocket.session import WebSocketSession

        assert self.upgrade is not None
        rest = self.upgrade[1]
        self.upgrade = None
        try:
            handshake = read_handshake(request.method, request.version, request.raw_headers)
        except HTTPError as error:
            self.state.client_errors.rejected(self.client, error.body().decode())
            return error_response(error)
        if handshake is None:  # the parser saw `websocket` in Upgrade: so does read_handshake
            return error_response(BadRequest("not a WebSocket handshake"))
        session = self.websocket = WebSocketSession(self, request, handshake, rest)
        declined = self.app.open_websocket(session)
        if declined is not None:
            return declined
        return session.finished()

    def _attach_stream(self, request: Request) -> None:
        """A request whose body follows in later events: they go to its BodyStream."""
        expect_continue = request.version == 1 and _expects_continue(request.raw_headers)
        request.body_stream = self.receiving = BodyStream(self.loop, self, expect_continue)

    def pause_writing(self) -> None:
        self.flow |= WRITE_PAUSED
        self.watch.write_paused_since = self.loop.time()

    def resume_writing(self) -> None:
        self.flow = without(self.flow, WRITE_PAUSED)
        self._wake_writer()
        if self.websocket is not None:
            self.websocket.reading_allowed()
        if self._active is None and self.phase != CLOSED:
            self._run_queue()  # answers held back while the client was not reading

    # -- timeouts
    def check_timeouts(self, now: float) -> None:
        """Called by the server's sweep: act on a timeout this connection has passed."""
        late = self.watch.late(self, now)
        if late is not None:
            self.timed_out(late)

    def timed_out(self, waiting_for: str) -> None:
        """What the connection waited for (a phase of timeouts.py) is late."""
        transport = self.transport
        assert transport is not None
        if waiting_for is WRITING:
            self.state.client_errors.rejected(self.client, "write timeout: the client stopped reading")
            self.abort()
        elif waiting_for is WAITING_BODY:
            body = self.receiving
            self.receiving = None
            self._pause_reading()  # nothing after the late body is read as a request
            self._enter(LAST)
            if body is not None and (not body.discarding or self._held is not None):
                # The handler reading it gets the error and answers 408, or the 408 takes the
                # place of the answer held for its end; then the close.
                body.fail(RequestTimeout("request body not received in time"))
                if self._held is not None:
                    self._release_held()
                return
            self._enter(CLOSING)
            self._flush()
        elif waiting_for is WAITING_HEAD or self.parser.holding:
            self._parse_failed(RequestTimeout("request head not received in time"))
        else:  # nothing of a request came: nothing to answer
            late = getattr(self.parser, "late_reason", None)  # a PROXY header reader's (proxy_reader.py)
            if late is not None:
                self.state.client_errors.rejected(self.client, late)
            self._enter(CLOSING)
            transport.close()

    # -- running requests in order
    def _run(self, request: Request) -> None:
        if self.upgrade is not None and self.upgrade[0] is request:
            self._handle(request, self._open_websocket(request))
            return
        stream = request.body_stream
        if stream is not None and stream.error is not None:
            # Its body broke off while it waited: the error is its answer, and the handler
            # is not run for a message that turned out invalid.
            self.respond(request, None)
            return
        self._handle(request, self.app.dispatch(request))

    def _handle(self, request: Request, result: Any) -> None:
        """Answer `request` with what dispatch returned, driving an async handler's coroutine."""
        if self.access is not None:
            self.began = (request, self.access.start_of(self, request))
        if result.__class__ is CoroutineType:
            # An async handler: drive it here; only if it really suspends does it get a Task.
            try:
                yielded = result.send(None)
            except StopIteration as stop:
                result = stop.value
            except Exception as error:
                result = self.app.failure_response(request, error)
            else:
                self._active = self.loop.create_task(self._finish_async(request, result, yielded))
                return
        elif result is ANSWERED:  # written already, as it was made (by an ASGI app)
            if self.phase >= CLOSING:
                self._flush()  # nothing is left to write: this ends the connection
            return
        self.respond(request, result)

    def respond(self, request: Request, result: Any, settled: bool = False) -> None:
        """Answer with a handler's result: inline into this turn's write, or through a Task
        for streamed and file bodies. `settled`: the answer goes now even though the body has
        not ended (see `_settle_held`)."""
        stream = request.body_stream
        if stream is not None and not settled and not (stream.done and stream.error is None):
            result = self._before_body_end(request, stream, result)
            if result is None:
                return
        if isinstance(result, STREAMED):
            if isinstance(result, FileResponse):
                result = start_file(self, request, result)
                if result is None:
                    return  # all out already (or failed and dealt with)
            self._active = self.loop.create_task(self._finish_async(request, None, result))
            return
        if request.keep_alive and request.version and stream is None and not self.phase:  # OPEN
            connection = b""  # `connection_line`'s common case, decided without the call
        else:
            connection = self.connection_line(request)
        head_only = request.method == "HEAD"
        try:
            data = self.writer.result(result, connection, head_only)
        except Exception as error:  # a result that cannot be sent (a bad type, CR LF in a header)
            error_logger.error("response to %s %s cannot be sent", request.method, request.target, exc_info=error)
            data = self.writer.error(InternalServerError(), connection, head_only)
        self.out.append(data)
        if self.access is not None:
            self.access.answered(self, request, data)

    def _before_body_end(self, request: Request, stream: BodyStream, result: Any) -> Any:
        """What to answer now for a request whose body has not ended well, or None.

        An answer never says that a message succeeded when it turned out invalid. A body that
        broke off (malformed, over a limit, cut off by the client's close or by the body
        timeout) is answered with its error in place of the handler's answer, and the
        connection ends. While the body is still arriving, a plain success answer is held
        until it ends (`_held`; the next request cannot be parsed before then anyway), and a
        streamed or file answer starts in a Task, once the rest of this buffer is parsed.
        Error answers go at once: a client watches for one while it sends (RFC 9112 §9.3).
        A client that asked for `100 Continue` and has sent none of the body once the
        buffer is parsed may be waiting for it: the held answer goes then (`_settle_held`),
        and the connection ends. That answer, and a streamed one that has begun, cannot be
        taken back: a later fault in the body only ends the connection.
        """
        error = stream.error
        if error is not None:
            if isinstance(error, HTTPError):
                self._answer_parse_error(error)
            return None  # otherwise the client has gone: nothing to say
        if isinstance(result, STREAMED):
            self._active = self.loop.create_task(self._finish_async(request, None, result))
            return None
        status = result.status if isinstance(result, Response) else 204 if result is None else 200
        if status >= 400:
            return result
        self._held = (request, result)
        if not stream.discard():
            self.loop.call_soon(self._settle_held, stream)
        return None

    def _settle_held(self, stream: BodyStream) -> None:
        """After the buffer in which a held answer was made: if the client asked for
        `100 Continue` and still sends no body, it may be waiting for it. Answer it (a final
        answer without reading, RFC 9110 §10.1.1) and end the connection after."""
        held = self._held
        if held is None or held[0].body_stream is not stream or stream.done or stream.discard():
            return  # answered already, or the body comes and is read and dropped meanwhile
        self._held = None
        self.respond(*held, settled=True)
        self._flush()

    def _release_held(self) -> None:
        """The body of the request whose answer is held has ended, or broken off: answer."""
        assert self._held is not None
        request, result = self._held
        self._held = None
        self.respond(request, result)

    async def _finish_async(
        self,
        request: Request,
        coro: Coroutine[Any, Any, Any] | None,
        first: Any,
    ) -> None:
        """Finish a suspended handler (`coro`, which yielded `first`), or send `first` as a
        streamed or file response; then run the requests that queued up meanwhile."""
        try:
            if coro is None:
                result = first
            else:
                try:
                    result = await resume_coroutine(coro, first)
                except Exception as error:
                    result = self.app.failure_response(request, error)
            if result is ANSWERED:
                pass  # written already, as it was made
            elif isinstance(result, FileBody):
                await send_file_body(self, result)
            elif not isinstance(result, STREAMED) or _body_broke_off(request):
                self.respond(request, result)  # for a broken body: its error
            elif isinstance(result, StreamingResponse):
                await send_stream(self, request, result)
            else:
                body = start_file(self, request, result)
                if body is not None:
                    await send_file_body(self, body)
        except asyncio.CancelledError:
            if self.phase == CLOSED:
                return  # the client went away; its handler was cancelled on purpose
            raise
        except Exception as error:
            # The response had started (streaming) or the socket failed: this connection only.
            self.sending_failed(request, error)
            return
        finally:
            self._active = None
        self._run_queue()

    def _run_queue(self) -> None:
        queue = self._queue
        while queue and self._active is None and self.phase < CLOSING and not self.flow & WRITE_PAUSED:
            item = queue.popleft()
            if isinstance(item, Request):
                self._run(item)
            else:
                self._answer_parse_error(item)
            if len(self.out) >= FLUSH_EVERY:
                self._flush()
        if self.flow & READ_PAUSED and self.phase < CLOSING and not self.flow & WRITE_PAUSED:
            if len(queue) < self.state.config.max_pipelined:
                self._resume_reading()
        self._flush()

    # -- the Connection line, and writing
    def connection_line(self, request: Request | None, body_ends_at_close: bool = False) -> bytes:
        """The Connection line of the answer to `request`, and with it the one decision of
        whether the connection ends after that answer (it moves to CLOSING then). None stands
        for bytes that are not a request (a parse error, a refused connection): always the
        last answer. `body_ends_at_close`: the answer has no length and no chunks, so only the
        close can end its body (a streamed body to an HTTP/1.0 client)."""
        if request is None:
            self._enter(CLOSING)
            return CONNECTION_CLOSE
        stream = request.body_stream
        if (
            not request.keep_alive
            or self.phase != OPEN
            or (
                stream is not None
                and (
                    # The body was malformed: the parser has stopped, this is the last answer.
                    stream.failed
                    # The handler answered without reading the whole body: the rest is read
                    # and dropped, unless the client holds it back for 100 Continue (then
                    # the connection ends here, RFC 9110 §10.1.1).
                    or (not stream.done and not stream.discard())
                )
            )
            or body_ends_at_close
        ):
            self._enter(CLOSING)
            return CONNECTION_CLOSE
        if request.version == 0:
            return CONNECTION_KEEP_ALIVE
        return b""

    def _flush(self) -> None:
        """Write everything pending in one call; close if the last answer said so."""
        out = self.out
        if out:
            if not self.phase or self.phase != CLOSED:  # OPEN first: see data_received
                self.transport.write(out[0] if len(out) == 1 else b"".join(out))  # type: ignore[union-attr]
            out.clear()
        if self.phase and self.phase == CLOSING and self._active is None:
            self._tear_down()

    def write_now(self) -> None:
        """Write what is pending, in the middle of an answer (so never close)."""
        out = self.out
        if out:
            if self.phase != CLOSED and self.transport is not None:
                self.transport.write(b"".join(out))
            out.clear()

    def _tear_down(self) -> None:
        """End the connection after its last answer, in stages (RFC 9112 §9.6): close our
        side, then read and drop what the client still sends until it closes too or
        `lingering_timeout` passes. Closing at once would make the kernel answer bytes still
        arriving with a reset, which can destroy the answer before the client reads it."""
        transport = self.transport
        if transport is None:
            return
        timeout = self.state.config.lingering_timeout
        if timeout <= 0 or self.flow & READ_ENDED or not transport.can_write_eof():
            transport.close()
            return
        transport.write_eof()
        self._enter(LINGERING)
        self._linger_timer = self.loop.call_later(timeout, transport.close)
        self._resume_reading()  # what the client still sends is read and dropped

    def _wake_writer(self) -> None:
        waiter = self.drain_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- errors and closing
    def sending_failed(self, request: Request, error: Exception) -> None:
        """An answer that had begun cannot be finished: the connection ends (logged as an
        error, unless the client itself went away)."""
        if isinstance(error, ClientGone):
            client_logger.debug("%s left during %s %s: %s", self.client, request.method, request.target, error)
        else:
            error_logger.error("response to %s %s failed", request.method, request.target, exc_info=error)
        self._abort()

    def _parser_crashed(self) -> None:
        error_logger.exception("the request parser failed on bytes from %s", self.client)
        self._parse_failed(InternalServerError("request parser failure"))

    def _parse_failed(self, error: HTTPError) -> None:
        self.state.client_errors.rejected(self.client, error.body().decode())
        body = self.receiving
        if body is not None:
            self.receiving = None
            if self._held is not None:  # the error takes the place of the held answer
                body.fail(error)
                self._release_held()
                return
            if body.discarding:
                # Its request has been answered already; the connection just ends.
                self._enter(CLOSING)
                self._flush()
                return
            # The request this body belongs to is already dispatched or queued: its handler
            # sees the error when it reads the body, and the connection ends after its answer.
            body.fail(error)
        elif self.idle:
            self._answer_parse_error(error)
        else:
            self._queue.append(error)

    def _answer_parse_error(self, error: HTTPError) -> None:
        data = self.writer.error(error, self.connection_line(None))
        self.out.append(data)
        if self.access is not None:
            self.access.rejected(self, data)
        self._flush()

    def _abort(self) -> None:
        self._enter(CLOSING)
        self.out.clear()
        if self.transport is not None:
            self.transport.close()

    # -- shutdown
    def close_after_response(self) -> None:
        """Say `Connection: close` on the next answer and end the connection after it; a
        WebSocket is closed with 1001 (going away)."""
        if self.websocket is not None:
            self.websocket.going_away()
            return
        self._enter(LAST)

    def close_if_idle(self) -> None:
        """Close now if no request is running or waiting (used by a graceful shutdown)."""
        if self.idle and self.phase != CLOSED and self.transport is not None:
            self._enter(CLOSING)
            self.transport.close()

    def abort(self) -> None:
        """Cut the connection at once (forced shutdown, write timeout)."""
        if self.transport is not None and self.phase != CLOSED:
            self.transport.abort()

    # -- flow control of reading
    def _pause_reading(self) -> None:
        if not self.flow & READ_PAUSED and self.transport is not None and self.phase != CLOSED:
            self.flow |= READ_PAUSED
            self.transport.pause_reading()

    def _resume_reading(self) -> None:
        if self.flow & READ_PAUSED and self.transport is not None and self.phase != CLOSED:
            self.flow = without(self.flow, READ_PAUSED)
            self.transport.resume_reading()

    # -- the WebSocket's side (websocket/session.py)
    def pause_reading(self) -> None:
        self._pause_reading()

    def resume_reading(self) -> None:
        """Read again, unless the client is not reading our answers."""
        if not self.flow & WRITE_PAUSED:
            self._resume_reading()

    def wake_writer(self) -> None:
        self._wake_writer()

    def end_after_websocket(self) -> None:
        """The WebSocket has ended: the connection closes once what is written is out."""
        self._enter(CLOSING)

    # -- the BodyStream's side
    def send_continue(self) -> None:
        """A handler began reading a body the client holds back for `100 Continue`
        (RFC 9110 §10.1.1). Earlier answers are all out, since this request is running."""
        self.write_now()
        if self.phase != CLOSED and self.transport is not None:
            self.transport.write(CONTINUE_100)

    def body_drained(self) -> None:
        if (
            self.flow & READ_PAUSED
            and not self.flow & WRITE_PAUSED
            and len(self._queue) < self.state.config.max_pipelined
        ):
            self._resume_reading()

    @property
    def client(self) -> tuple[str, int] | None:
        address = self.client_address
        if address is False:
            peer = self.transport.get_extra_info("peername") if self.transport is not None else None
            address = (peer[0], peer[1]) if isinstance(peer, tuple) and len(peer) >= 2 else None
            self.client_address = address
        return address  # type: ignore[return-value]


    @property
    def tls(self) -> TLSInfo | None:
        """What this connection's TLS says (version, cipher, the client's certificate), or
        None for plain HTTP; read from the transport on first use."""
        info = self.tls_info
        if info is False:
            info = self.tls_info = connection_tls(self.transport, self.state.tls)
        return info  # type: ignore[return-value]

    @property
    def scheme(self) -> str:
        """"https" on a TLS server's connections, else "http"."""
        return "http" if self.state.tls is None else "https"

    @property
    def server_address(self) -> tuple[str, int | None] | None:
        """The address the client connected to: (host, port) for TCP, (path, None) for a Unix
        socket, None when unknown."""
        address = self.local_address
        if address is False:
            local = self.transport.get_extra_info("sockname") if self.transport is not None else None
            if isinstance(local, tuple) and len(local) >= 2:
                address = (local[0], local[1])
            elif isinstance(local, str) and local:
                address = (local, None)
            else:
                address = None
            self.local_address = address
        return address  # type: ignore[return-value]


def _body_broke_off(request: Request) -> bool:
    stream = request.body_stream
    return stream is not None and stream.error is not None


def _expects_continue(headers: Iterable[tuple[bytes, bytes]]) -> bool:
    """Whether an Expect field lists 100-continue (RFC 9110 §10.1.1). The parsers refuse any
    other expectation of HTTP/1.1 (417), so this is their reading of the same fields."""
    for name, value in headers:
        if name == b"expect" and b"100-continue" in [m.strip(b" \t") for m in value.lower().split(b",")]:
            return True
    return False
