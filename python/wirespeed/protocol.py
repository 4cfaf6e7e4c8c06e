"""The asyncio Protocol of one connection: bytes in, one parser call, dispatch, bytes out.

Strategy: this module owns the life of a connection and nothing else. Each received buffer
goes to the parser in one call; each request it returns is dispatched to the app in order.
Handlers that finish without suspending (plain functions, and `async def` handlers that never
await anything pending) are answered inline, and every response produced from one buffer goes
out in one `transport.write`. A file body goes from the page cache to the socket with
sendfile(2) as soon as the answers before it are written. Only a handler that really
suspends, a streaming response, or a file body the socket cannot take at once gets a Task;
requests behind it wait in a queue so answers stay in request order. An answer to a request
whose body is still arriving waits for the body's end when it is a success, so a body that
turns out malformed is answered with its error instead (`_before_body_end`). Parsing rules live in
the parser backends, routing in the app, head bytes in the writer, sendfile in sendfile.py.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import os
import types
from collections.abc import Coroutine, Generator, Iterable
from types import CoroutineType
from typing import TYPE_CHECKING, Any

from .app import internal_error_response
from .errors import BadRequest, HTTPError, InternalServerError, RequestTimeout
from .request import BodyStream, Request
from .response import FileResponse, Response, StreamingResponse
from .sendfile import TCP_FAMILIES, ClientGone, FileBody, SendfileUnsupported, cork, read_piece, send_some
from .writer import (
    CHUNKED,
    CONNECTION_CLOSE,
    CONNECTION_KEEP_ALIVE,
    CONTINUE_100,
    LAST_CHUNK,
    NO_BODY_STATUSES,
    TEXT_PLAIN,
    chunk,
    content_length,
)

if TYPE_CHECKING:
    from .server import ServerState

error_logger = logging.getLogger("wirespeed.error")
client_logger = logging.getLogger("wirespeed.client")

STREAMED = (StreamingResponse, FileResponse)  # responses sent from a Task, piece by piece

# Answers gathered before they are written and the transport is asked whether to go on: it
# bounds what a client that pipelines requests without reading the answers can make us hold.
FLUSH_EVERY = 64

# What a connection waits for, as the timeout sweep sees it (HttpProtocol.check_timeouts).
FIRST_HEAD = "the first request head"  # header_timeout from accept; 408 if part of it came
WAITING_HEAD = "a request head"  # header_timeout; 408
IDLE = "the next request"  # keep_alive_timeout; a plain close
WAITING_BODY = "body bytes"  # body_timeout, between bytes; 408


@types.coroutine
def _resume(coro: Coroutine[Any, Any, Any], yielded: Any) -> Generator[Any, Any, Any]:
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
        "_out",
        "_queue",
        "_active",
        "_body",
        "_held",
        "_closing",
        "_lost",
        "_write_paused",
        "_drain_waiter",
        "_read_paused",
        "_close_after_response",
        "_linger_timer",
        "_client_done",
        "_watch",
        "_since",
        "_write_paused_since",
        "_socket",
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
        self._out: list[bytes] = []
        # Requests (or a final parse error) waiting behind a response that is still running.
        self._queue: collections.deque[Request | HTTPError] = collections.deque()
        self._active: asyncio.Task[None] | None = None
        # The body stream that the parser's body events go to, if a body is arriving.
        self._body: BodyStream | None = None
        # A success answer held back until the body of its request has ended (it may yet
        # turn out malformed): (request, handler result). See `_before_body_end`.
        self._held: tuple[Request, Any] | None = None
        self._closing = False  # a response said Connection: close; nothing more is sent
        self._lost = False
        self._write_paused = False
        self._drain_waiter: asyncio.Future[None] | None = None
        self._read_paused = False
        # End the connection after the next response: the server is shutting down, or the
        # client has closed its side.
        self._close_after_response = False
        # While set, our side is closed and what the client still sends is read and dropped.
        self._linger_timer: asyncio.TimerHandle | None = None
        self._client_done = False  # the client has closed its side
        # For the timeout sweep (`check_timeouts`): what the connection was last seen waiting
        # for, and since when. Nothing on the request path keeps time.
        self._watch: tuple[str, int] | None = None
        self._since = 0.0
        self._write_paused_since = 0.0
        # The transport's socket and whether it is TCP (can be corked), looked up on the
        # first file body: (socket or None, tcp). None until then.
        self._socket: tuple[Any, bool] | None = None

    # -- asyncio callbacks
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        state = self.state
        self._watch = (FIRST_HEAD, 0)  # the first head's timer starts at accept
        self._since = self.loop.time()
        if state.max_connections and len(state.connections) >= state.max_connections:
            self._refuse()
            return
        state.connections.add(self)

    def _refuse(self) -> None:
        """Over max_connections: a 503 at once beats a wait in the backlog the client cannot
        see; the connection is closed after it (and never counted)."""
        self._closing = True
        self.state.client_errors.rejected(self.client, "503 Service Unavailable: too many connections")
        body = b"503 Service Unavailable: too many connections"
        self._out.append(
            self.writer.head(503, TEXT_PLAIN + b"Retry-After: 1\r\n", content_length(len(body)), CONNECTION_CLOSE)
            + body
        )
        self._flush()

    def check_timeouts(self, now: float) -> None:
        """Called by the server's sweep: end the connection if what it waits for is late (the
        timeouts of Config). What it waits for is read off its state here, not recorded on
        the request path: a wait counts from the first sweep that sees it (from accept for the
        first head), so a timeout fires no earlier than its time and at most two sweep
        intervals later."""
        if self._closing or self._lost:
            return
        config = self.state.config
        if self._write_paused:
            if config.write_timeout and now - self._write_paused_since > config.write_timeout:
                self.state.client_errors.rejected(self.client, "write timeout: the client stopped reading")
                self.abort()
            return
        body = self._body
        if self._read_paused or (body is None and (self._active is not None or self._queue)):
            self._watch = None  # the server holds the client back, or it is the server's turn
            return
        if body is not None and body.awaiting_continue:
            self._watch = None  # the client waits for 100 Continue: the handler's turn
            return
        served = self.parser.requests
        if body is not None:  # a body is arriving, whether or not its handler runs yet
            watch = (WAITING_BODY, body.received)  # any body byte restarts the wait
            limit = config.body_timeout
        elif self.parser.holding:
            watch = (FIRST_HEAD if served == 0 else WAITING_HEAD, served)
            limit = config.header_timeout
        elif served == 0:
            watch = (FIRST_HEAD, 0)
            limit = config.header_timeout
        else:
            watch = (IDLE, served)
            limit = config.keep_alive_timeout
        if watch != self._watch:  # a new wait begins
            self._watch = watch
            self._since = now
            return
        if limit and now - self._since > limit:
            self._expire(watch[0])

    def _expire(self, phase: str) -> None:
        transport = self.transport
        assert transport is not None
        if phase is WAITING_BODY:
            body = self._body
            self._body = None
            transport.pause_reading()  # nothing after the late body is read as a request
            self._read_paused = True
            self._close_after_response = True
            if body is not None and (not body.discarding or self._held is not None):
                # The handler reading it gets the error and answers 408, or the 408 takes the
                # place of the answer held for its end; then the close.
                body.fail(RequestTimeout("request body not received in time"))
                if self._held is not None:
                    self._release_held()
                return
            self._closing = True
            self._flush()
        elif phase is WAITING_HEAD or self.parser.holding:
            self._parse_failed(RequestTimeout("request head not received in time"))
        else:  # nothing of a request came: nothing to answer
            self._closing = True
            transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = True
        self._closing = True
        self.state.connections.discard(self)
        if self._linger_timer is not None:
            self._linger_timer.cancel()
            self._linger_timer = None
        self._queue.clear()
        self._held = None
        if self._body is not None:
            self._body.fail(ConnectionResetError("client disconnected"))
            self._body = None
        if self._active is not None:
            self._active.cancel()
        self._wake_writer()

    def eof_received(self) -> bool:
        """The client closed its side. Requests it already sent are still answered; then the
        connection ends. Returning True keeps our side open for those answers."""
        self._client_done = True
        if self._body is not None:  # the rest of a body can never come: its handler gets a 400
            self._body.fail(BadRequest("the client closed its side before the body was complete"))
            self._body = None
            if self._held is not None:
                self._release_held()  # the 400 instead of the held answer
        if self._linger_timer is not None or (self._active is None and not self._queue):
            return False
        self._close_after_response = True
        return True

    def data_received(self, data: bytes) -> None:
        if self._closing:
            return
        try:
            events = self.parser.feed(data)
        except Exception:  # a parser bug: answer it like bad input, never drop the client
            self._parser_crashed()
            return
        for event in events:
            if self._closing:
                break  # an answer said Connection: close; nothing after it is answered
            kind = event.__class__
            if kind is Request:
                request = event
                if event[5] is None:
                    self._attach_stream(request)
                if self._active is not None or self._queue or self._write_paused:
                    self._queue.append(request)
                    if len(self._queue) >= self.state.config.max_pipelined:
                        self._pause_reading()
                    continue
                result = self.app.dispatch(request)
                kind = result.__class__
                if (
                    # The common case, answered here without further calls: a plain result
                    # to a keep-alive HTTP/1.1 request whose body is all in (not HEAD).
                    (kind is str or kind is dict or kind is bytes or kind is list)
                    and event[4]
                    and event[2]
                    and event[5] is not None
                    and not self._close_after_response
                    and event[0] != "HEAD"
                ):
                    try:
                        out = self._out
                        out.append(self.writer.keep_alive_result(result))
                        if len(out) >= FLUSH_EVERY:
                            self._flush()  # the transport may say pause_writing: then queue
                        continue
                    except Exception:  # noqa: S112 - _handle logs it and answers 500
                        pass
                self._handle(request, result)
            elif kind is bytes:
                body_stream = self._body
                if body_stream is not None:
                    body_stream.feed(event)
                    if body_stream.buffered > self.state.config.max_buffered_body:
                        self._pause_reading()
            elif event is None:
                if self._body is not None:
                    self._body.finish()
                    self._body = None
                    if self._held is not None:
                        self._release_held()
            else:
                self._parse_failed(event)
        if self._out:
            self._flush()
        if self._write_paused:
            self._pause_reading()  # no more requests until the client reads its answers

    def _attach_stream(self, request: Request) -> None:
        """A request whose body follows in later events: they go to its BodyStream."""
        expect_continue = request.version == 1 and _expects_continue(request.raw_headers)
        request.body_stream = self._body = BodyStream(self.loop, self, expect_continue)

    def pause_writing(self) -> None:
        self._write_paused = True
        self._write_paused_since = self.loop.time()

    def resume_writing(self) -> None:
        self._write_paused = False
        self._wake_writer()
        if self._active is None and not self._lost:
            self._run_queue()  # answers held back while the client was not reading

    # -- running requests in order
    def _run(self, request: Request) -> None:
        stream = request.body_stream
        if stream is not None and stream.error is not None:
            # Its body broke off while it waited: the error is its answer, and the handler
            # is not run for a message that turned out invalid.
            self._respond(request, None)
            return
        self._handle(request, self.app.dispatch(request))

    def _handle(self, request: Request, result: Any) -> None:
        """Answer `request` with what dispatch returned, driving an async handler's coroutine."""
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
        self._respond(request, result)

    def _respond(self, request: Request, result: Any, settled: bool = False) -> None:
        """Answer with a handler's result: inline into this buffer's write, or through a Task
        for streamed and file bodies. `settled`: the answer goes now even though the body has
        not ended (see `_settle_held`)."""
        stream = request.body_stream
        if stream is not None and not settled and not (stream.done and stream.error is None):
            result = self._before_body_end(request, stream, result)
            if result is None:
                return
        if isinstance(result, STREAMED):
            if isinstance(result, FileResponse):
                result = self._start_file(request, result)
                if result is None:
                    return  # all out already (or failed and dealt with)
            self._active = self.loop.create_task(self._finish_async(request, None, result))
            return
        if request.keep_alive and request.version and stream is None and not self._close_after_response:
            connection = b""  # the common case, decided without a call
        else:
            connection = self._connection_line(request)
        try:
            data = self.writer.result(result, connection, request.method == "HEAD")
        except Exception as error:  # a result that cannot be sent (a bad type, CR LF in a header)
            error_logger.error("response to %s %s cannot be sent", request.method, request.target, exc_info=error)
            data = self.writer.response(internal_error_response(), connection, request.method == "HEAD")
        self._out.append(data)

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
        self._respond(*held, settled=True)
        self._flush()

    def _release_held(self) -> None:
        """The body of the request whose answer is held has ended, or broken off: answer."""
        assert self._held is not None
        request, result = self._held
        self._held = None
        self._respond(request, result)

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
                    result = await _resume(coro, first)
                except Exception as error:
                    result = self.app.failure_response(request, error)
            if isinstance(result, FileBody):
                await self._send_file_body(result)
            elif not isinstance(result, STREAMED) or _body_broke_off(request):
                self._respond(request, result)  # for a broken body: its error
            elif isinstance(result, StreamingResponse):
                await self._send_stream(request, result)
            else:
                body = self._start_file(request, result)
                if body is not None:
                    await self._send_file_body(body)
        except asyncio.CancelledError:
            if self._lost:
                return  # the client went away; its handler was cancelled on purpose
            raise
        except Exception as error:
            # The response had started (streaming) or the socket failed: this connection only.
            self._sending_failed(request, error)
            return
        finally:
            self._active = None
        self._run_queue()

    def _run_queue(self) -> None:
        queue = self._queue
        while queue and self._active is None and not self._closing and not self._write_paused:
            item = queue.popleft()
            if isinstance(item, Request):
                self._run(item)
            else:
                self._answer_parse_error(item)
            if len(self._out) >= FLUSH_EVERY:
                self._flush()
        if (
            self._read_paused
            and not self._closing
            and not self._write_paused
            and len(queue) < self.state.config.max_pipelined
        ):
            self._resume_reading()
        self._flush()

    # -- encoding and writing
    def _connection_line(self, request: Request) -> bytes:
        """Connection header for this response; decides whether the connection ends after it."""
        stream = request.body_stream
        if (
            not request.keep_alive
            or self._close_after_response
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
        ):
            self._closing = True
            return CONNECTION_CLOSE
        if request.version == 0:
            return CONNECTION_KEEP_ALIVE
        return b""

    def _flush(self) -> None:
        """Write everything pending in one call; close if the last response said so."""
        out = self._out
        if out:
            if not self._lost:
                self.transport.write(out[0] if len(out) == 1 else b"".join(out))  # type: ignore[union-attr]
            out.clear()
        if self._closing and self._active is None and not self._lost:
            self._tear_down()

    def _tear_down(self) -> None:
        """End the connection after its last answer, in stages (RFC 9112 §9.6): close our
        side, then read and drop what the client still sends until it closes too or
        `lingering_timeout` passes. Closing at once would make the kernel answer bytes still
        arriving with a reset, which can destroy the answer before the client reads it."""
        transport = self.transport
        if transport is None or self._linger_timer is not None:
            return
        timeout = self.state.config.lingering_timeout
        if timeout <= 0 or self._client_done or not transport.can_write_eof():
            transport.close()
            return
        transport.write_eof()
        self._linger_timer = self.loop.call_later(timeout, transport.close)
        if self._read_paused:
            self._read_paused = False
            transport.resume_reading()

    def _write_now(self) -> None:
        """Write what is pending, in the middle of a response (so never close)."""
        out = self._out
        if out:
            if not self._lost and self.transport is not None:
                self.transport.write(b"".join(out))
            out.clear()

    async def _drain(self) -> None:
        """Wait while the transport's write buffer is over its high-water mark."""
        if self._write_paused and not self._lost:
            waiter = self._drain_waiter = self.loop.create_future()
            try:
                await waiter
            finally:
                self._drain_waiter = None
        if self._lost:
            raise ConnectionResetError("client disconnected")

    def _wake_writer(self) -> None:
        waiter = self._drain_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def _send_stream(self, request: Request, response: StreamingResponse) -> None:
        status = response.status
        connection = self._connection_line(request)
        chunked = request.version == 1
        if chunked:
            length = CHUNKED if status not in NO_BODY_STATUSES else b""
        else:  # HTTP/1.0 has no chunked coding: the body ends where the connection does
            length = b""
            self._closing = True
            connection = CONNECTION_CLOSE
        head = self.writer.head(status, response.head_extra(), length, connection)
        self._out.append(head)
        iterator = response.iterator
        started = False
        try:
            if request.method != "HEAD" and status not in NO_BODY_STATUSES:
                async for piece in iterator:
                    if isinstance(piece, str):
                        piece = piece.encode(response.charset)
                    if piece:
                        self._out.append(chunk(piece) if chunked else piece)
                        started = True
                        self._write_now()
                        await self._drain()
                if chunked:
                    self._out.append(LAST_CHUNK)
        except Exception:
            if started or not self._out or self._out[-1] is not head:
                raise  # part of the answer is out: only closing the connection is left
            # Nothing of it has gone out: a plain 500 instead (the connection carries on).
            self._out.pop()
            error_logger.exception("streamed response to %s %s failed", request.method, request.target)
            self._respond(request, internal_error_response())
        finally:
            closer = getattr(iterator, "aclose", None)
            if closer is not None:
                await closer()

    def _start_file(self, request: Request, response: FileResponse) -> FileBody | None:
        """Begin a file response here: its head, then as much of its body as the socket takes
        at once, straight from the page cache with sendfile(2) (no Task, no copy). What does
        not fit is returned, for a Task to send as the socket drains; None when all is out
        (or the connection failed, which is dealt with here)."""
        file = response.file
        if file is None:
            try:
                file = open(response.path, "rb", buffering=0)  # noqa: SIM115 - FileBody closes it
            except OSError:
                error_logger.exception("file for %s %s cannot be opened", request.method, request.target)
                self._respond(request, internal_error_response())
                return None
        status = response.status
        no_body = status in NO_BODY_STATUSES
        length = b"" if no_body else content_length(response.size)
        self._out.append(self.writer.head(status, response.head_extra(), length, self._connection_line(request)))
        if request.method == "HEAD" or no_body or not response.size or self._lost:
            file.close()
            return None
        transport = self.transport
        found = self._socket
        if found is None:
            sock = transport.get_extra_info("socket") if transport is not None else None
            found = self._socket = (sock, sock is not None and sock.family in TCP_FAMILIES)
        sock, tcp = found
        # Corked, the head and the start of the body leave in full segments rather than the
        # head alone (nginx's tcp_nopush); the cork is pulled once the body is out.
        corked = tcp and cork(sock, True)
        body = FileBody(file, response.pieces, sock, corked)
        self._write_now()
        if sock is None or transport.get_write_buffer_size():  # type: ignore[union-attr]
            return body  # the transport holds bytes still: the body must wait for them
        try:
            send_some(sock.fileno(), body)
        except SendfileUnsupported:
            body.sock = None  # copied through the transport instead (a /proc file, say)
            return body
        except (ClientGone, OSError) as error:  # an early end: the announced length is not met
            body.close(uncork=False)
            self._sending_failed(request, error)
            return None
        if body.pending():
            return body
        body.close(uncork=True)
        return None

    async def _send_file_body(self, body: FileBody) -> None:
        """The rest of a file body, as the socket takes it. The transport knows nothing of
        these bytes, so they go only once what it holds is written. A full socket is waited
        for through the loop, watching a duplicate of its descriptor (the loop does not watch
        one that a transport owns). A file that ends early ends the connection (raised)."""
        watched = -1
        try:
            if body.sock is not None:  # copied pieces queue behind the transport's bytes anyway
                await self._drain_transport()
            while body.pending():
                if body.sock is None:
                    self._out.append(read_piece(body))
                    self._write_now()
                    await self._drain()
                    continue
                try:
                    full = send_some(body.sock.fileno(), body)
                except SendfileUnsupported:
                    body.sock = None
                    continue
                if full:
                    if watched < 0:
                        watched = os.dup(body.sock.fileno())
                    await self._until_writable(watched)
                elif body.pending():
                    await asyncio.sleep(0)  # a fast reader: let other connections have a turn
        finally:
            if watched >= 0:
                os.close(watched)
            body.close(uncork=not self._lost)

    async def _drain_transport(self) -> None:
        """Wait until the transport has written everything it holds. Its high-water mark is
        lowered to nothing meanwhile, so `resume_writing` says when that is."""
        transport = self.transport
        if transport is None or not transport.get_write_buffer_size():
            return
        low, high = transport.get_write_buffer_limits()
        transport.set_write_buffer_limits(high=0)  # over it now: pause_writing is called
        try:
            await self._drain()
        finally:
            if not self._lost:
                transport.set_write_buffer_limits(high=high, low=low)

    async def _until_writable(self, descriptor: int) -> None:
        """Wait until the socket can take more bytes. Counts as a paused write for the write
        timeout, and holds back reading like one."""
        loop = self.loop
        waiter = self._drain_waiter = loop.create_future()
        self._write_paused = True
        self._write_paused_since = loop.time()
        loop.add_writer(descriptor, _set_done, waiter)
        try:
            await waiter
        finally:
            loop.remove_writer(descriptor)
            self._drain_waiter = None
            self._write_paused = False
        if self._lost:
            raise ClientGone("client disconnected")

    # -- errors and closing
    def _sending_failed(self, request: Request, error: Exception) -> None:
        """A response that had begun cannot be finished: the connection ends (logged as an
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
        body = self._body
        if body is not None:
            self._body = None
            if self._held is not None:  # the error takes the place of the held answer
                body.fail(error)
                self._release_held()
                return
            if body.discarding:
                # Its request has been answered already; the connection just ends.
                self._closing = True
                self._flush()
                return
            # The request this body belongs to is already dispatched or queued: its handler
            # sees the error when it reads the body, and the connection ends after its answer.
            body.fail(error)
        elif self._active is None and not self._queue:
            self._answer_parse_error(error)
        else:
            self._queue.append(error)

    def _answer_parse_error(self, error: HTTPError) -> None:
        self._closing = True
        body = error.body()
        self._out.append(
            self.writer.head(error.status, TEXT_PLAIN, content_length(len(body)), CONNECTION_CLOSE) + body
        )
        self._flush()

    def _abort(self) -> None:
        self._closing = True
        self._out.clear()
        if self.transport is not None:
            self.transport.close()

    # -- shutdown
    def close_after_response(self) -> None:
        """Say `Connection: close` on the next response and end the connection after it."""
        self._close_after_response = True

    def close_if_idle(self) -> None:
        """Close now if no request is running or waiting (used by a graceful shutdown)."""
        if (
            self._active is None
            and not self._queue
            and self._held is None
            and not self._lost
            and self.transport is not None
        ):
            self._closing = True
            self.transport.close()

    def abort(self) -> None:
        """Cut the connection at once (forced shutdown)."""
        if self.transport is not None and not self._lost:
            self.transport.abort()

    # -- flow control of reading
    def _pause_reading(self) -> None:
        if not self._read_paused and self.transport is not None and not self._lost:
            self._read_paused = True
            self.transport.pause_reading()

    def _resume_reading(self) -> None:
        if self._read_paused and self.transport is not None and not self._lost:
            self._read_paused = False
            self.transport.resume_reading()

    # -- the BodyStream's side
    def send_continue(self) -> None:
        """A handler began reading a body the client holds back for `100 Continue`
        (RFC 9110 §10.1.1). Earlier responses are all out, since this request is running."""
        self._write_now()
        if not self._lost and self.transport is not None:
            self.transport.write(CONTINUE_100)

    def body_drained(self) -> None:
        if self._read_paused and not self._write_paused and len(self._queue) < self.state.config.max_pipelined:
            self._resume_reading()

    @property
    def client(self) -> tuple[str, int] | None:
        address = self.client_address
        if address is False:
            peer = self.transport.get_extra_info("peername") if self.transport is not None else None
            address = (peer[0], peer[1]) if isinstance(peer, tuple) and len(peer) >= 2 else None
            self.client_address = address
        return address  # type: ignore[return-value]


def _set_done(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


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
