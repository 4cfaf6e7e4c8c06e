"""One WebSocket connection after its opening handshake: frames in, messages out, and back.

Strategy: this module owns the life of a WebSocket on a connection the HTTP protocol hands
over (`HttpProtocol` keeps serving as the asyncio Protocol: the session is its `parser`, so
each received buffer still goes through one call, `feed`, to one reader: the Rust
`WebSocketReader`, or its twin in frames.py). The interfaces (the native `WebSocket` and the
ASGI exchange) call `accept`, `decline`, `receive`, `send` and `close`, and run the app in a
Task of their own; the protocol waits on `finished()` for the connection's end, like it waits
for any answer, and tells the session of the client's end (`client_ended`, `connection_lost`)
and of a shutdown (`going_away`).

What the RFC asks of the server is done here, whatever the app does:

* pings are answered with pongs at once (RFC 6455 §5.5.2); server pings every
  `ws_ping_interval`, and a pong that does not come within `ws_ping_timeout` ends the
  connection (1011);
* the closing handshake both ways (§7.1.2-§7.1.4): a client's Close is answered with a Close
  echoing its code, ours waits `ws_close_timeout` for the client's; then the server closes the
  TCP connection first (§7.1.1), through the protocol's own tear-down;
* a frame or message that breaks the rules (the reader's FAULT), text that does not decode
  and a message over `ws_max_message_size` fail the connection (§7.1.7): a Close with the
  fault's code, then the close of the connection;
* messages the app has not read yet are held up to `max_buffered_body` bytes, then reading
  pauses; `send` waits while the transport is over `ws_max_queued` bytes;
* the frames sent in one turn of the loop leave in one write.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import os
from typing import TYPE_CHECKING, Any

from ..connection_state import CLOSED, CLOSING, WRITE_PAUSED  # the connection's phases
from ..errors import Forbidden, ServiceUnavailable, WebSocketError, WebSocketInvalidData
from ..response import ANSWERED, Response, error_response, internal_error_response
from ..senders import drain
from .deflate import PerMessageDeflate, negotiate
from . import reader_class
from .frames import BINARY, CLOSE, FAULT, PING, PONG, TEXT, data_frame_head, encode_frame

if TYPE_CHECKING:
    from ..protocol import HttpProtocol
    from ..request import Request
    from .handshake import Handshake

client_logger = logging.getLogger("wirespeed.client")
error_logger = logging.getLogger("wirespeed.error")

# Where the session is. It only moves forward.
CONNECTING = 0  # the handshake is the app's to accept or decline
OPEN = 1  # messages flow both ways
CLOSE_SENT = 2  # our Close has been sent; the client's is awaited
ENDED = 3  # the closing handshake is over, or the connection failed or was lost
DECLINED = 4  # the app declined the handshake with an HTTP answer

# Close codes (RFC 6455 §7.4.1).
NORMAL = 1000
GOING_AWAY = 1001
NO_STATUS = 1005  # the client's Close had no code: what the app is told
ABNORMAL = 1006  # the connection ended without a Close: what the app is told
INTERNAL_ERROR = 1011

# Messages below this size are sent uncompressed even when permessage-deflate is on: the
# deflate header and flush would make them larger, and the work costs more than it saves.
COMPRESS_AT = 128
# Frames made in one turn are written together, but no more than this is held back.
FLUSH_AT = 64 * 1024
# A payload this large is not copied behind its frame head: the two are written as they are.
JOIN_BELOW = 16 * 1024


class Closed:
    """What `receive` gives once the connection has closed: the code and reason of the
    client's Close (1005 for none), or 1006 when the connection ended without one."""

    __slots__ = ("code", "reason")

    def __init__(self, code: int, reason: str = "") -> None:
        self.code = code
        self.reason = reason

    def __repr__(self) -> str:
        return f"Closed({self.code}, {self.reason!r})"


class WebSocketClosed(ConnectionError):
    """`send` on a WebSocket that is closing or closed."""


class WebSocketSession:
    """The WebSocket on one connection, from the handshake to the close."""

    __slots__ = (
        "connection",
        "request",
        "handshake",
        "config",
        "loop",
        "state",
        "subprotocol",
        "task",
        "requests",
        "holding",
        "_early",
        "_reader",
        "_deflate",
        "_incoming",
        "_incoming_bytes",
        "_waiter",
        "_finished",
        "_outgoing",
        "_outgoing_bytes",
        "_flush_handle",
        "_closed",
        "_ping_timer",
        "_ping_payload",
        "_ping_sent",
        "_pong_timer",
        "_close_timer",
    )

    def __init__(self, connection: HttpProtocol, request: Request, handshake: Handshake, early: bytes) -> None:
        self.connection = connection
        self.request = request
        self.handshake = handshake
        self.config = connection.state.config
        self.loop = connection.loop
        self.state = CONNECTING
        self.subprotocol: str | None = None
        # The app's Task, which the interface starts; cancelled if it outlives its connection
        # by more than ws_close_timeout.
        self.task: asyncio.Task[Any] | None = None
        # What the protocol's timeout sweep reads of its parser: the upgrade was the last request.
        self.requests = connection.parser.requests
        self.holding = False
        self._early = early  # bytes that came after the handshake, before the accept
        self._reader: Any = None
        self._deflate: PerMessageDeflate | None = None
        self._incoming: collections.deque[Any] = collections.deque()
        self._incoming_bytes = 0
        self._waiter: asyncio.Future[None] | None = None
        # The protocol's wait: a Response when the app declines, ANSWERED when the connection ends.
        self._finished: asyncio.Future[Any] = self.loop.create_future()
        self._outgoing: list[bytes] = []
        self._outgoing_bytes = 0
        self._flush_handle: asyncio.Handle | None = None
        self._closed: Closed | None = None  # what the app is told once the connection has closed
        self._ping_timer: asyncio.TimerHandle | None = None
        self._ping_payload: bytes | None = None  # the payload of the ping awaiting its pong
        self._ping_sent = 0.0
        self._pong_timer: asyncio.TimerHandle | None = None
        self._close_timer: asyncio.TimerHandle | None = None

    # -- the protocol's side
    async def finished(self) -> Any:
        """Wait for the handshake to be declined (the HTTP answer) or the connection to end."""
        return await self._finished

    def feed(self, data: bytes) -> tuple[()]:
        """The next bytes from the client (the protocol calls this as its parser's `feed`)."""
        if self.state >= ENDED:
            return ()
        try:
            for event in self._reader.feed(data):
                kind = event.__class__
                if kind is str or kind is bytes:
                    self._incoming.append(event)
                    self._incoming_bytes += len(event)
                else:
                    self._control(event)
                    if self.state >= ENDED:
                        break
        except Exception:  # a bug of ours: this connection only, never an HTTP answer
            error_logger.exception("the WebSocket reader failed on bytes from %s", self.connection.client)
            self._fail(INTERNAL_ERROR, "internal error")
        if self._incoming:
            if self._incoming_bytes > self.config.max_buffered_body:
                self.connection.pause_reading()
            waiter = self._waiter
            if waiter is not None:
                self._waiter = None
                if not waiter.done():
                    waiter.set_result(None)
        return ()

    def client_ended(self) -> None:
        """The client closed its side of the TCP connection."""
        if self.state < ENDED:
            client_logger.debug("%s closed its connection without a WebSocket Close", self.connection.client)
            self._end(Closed(ABNORMAL))

    def connection_lost(self) -> None:
        if self.state < ENDED:
            self._end(Closed(ABNORMAL), lost=True)
        elif not self._finished.done():
            self._finished.set_result(ANSWERED)
        self._cancel_timers()
        task = self.task
        if task is not None and not task.done():
            # The app hears of the end from receive/send; one that goes on regardless is
            # cancelled after the close timeout.
            self.loop.call_later(max(self.config.ws_close_timeout, 0.1), _cancel_if_running, task)

    def reading_allowed(self) -> None:
        """Resume reading unless the app has too much unread (the protocol also asks after
        the client has read what was held in the transport)."""
        if self.state == OPEN and self._incoming_bytes <= self.config.max_buffered_body:
            self.connection.resume_reading()

    def going_away(self) -> None:
        """The server is shutting down: close with 1001 (the closing handshake is still waited
        for, within the shutdown's drain)."""
        if self.state == OPEN:
            self._send_close(GOING_AWAY, "server shutting down")
        elif self.state == CONNECTING:
            self.decline(error_response(ServiceUnavailable("the server is shutting down")))

    # -- the interface's side: the handshake
    def accept(self, subprotocol: str | None = None, headers: list[tuple[bytes, bytes]] | None = None) -> None:
        """Answer the handshake with 101 and start exchanging messages. Raises RuntimeError
        when the handshake is already answered or the connection gone, ValueError for a
        subprotocol the client did not offer."""
        connection = self.connection
        if self.state == ENDED or connection.phase >= CLOSING:
            raise WebSocketClosed("the client has gone")
        if self.state != CONNECTING:
            raise RuntimeError("the WebSocket handshake has already been answered")
        if subprotocol is not None and subprotocol not in self.handshake.subprotocols:
            raise ValueError(f"subprotocol {subprotocol!r} was not offered by the client (RFC 6455 §4.2.2)")
        lines = [b"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + self.handshake.accept + b"\r\n"]
        if subprotocol is not None:
            lines.append(b"Sec-WebSocket-Protocol: " + subprotocol.encode("ascii") + b"\r\n")
        agreed = negotiate(self.handshake.extensions, self.config.ws_per_message_deflate)
        if agreed is not None:
            value, self._deflate = agreed
            lines.append(b"Sec-WebSocket-Extensions: " + value.encode("ascii") + b"\r\n")
        for name, value in headers or ():
            lowered = name.lower()
            if lowered in _OWN_HEADERS:
                continue  # the handshake's own fields are the server's to set
            _check_field(name, value)
            lines.append(name + b": " + value + b"\r\n")
        self.subprotocol = subprotocol
        # The frame reader that goes with the connection's parser: the Rust one, or the twin.
        self._reader = reader_class(connection.state.parser_name)(
            self.config.ws_max_frame_size, self.config.ws_max_message_size, self._deflate is not None
        )
        self.state = OPEN
        connection.write_now()  # earlier answers on this connection are all out already
        transport = connection.transport
        assert transport is not None
        head = connection.writer.head(101, b"".join(lines), b"", b"")
        transport.write(head)
        if connection.access is not None:  # logged when the handshake is answered, as nginx does
            connection.access.sent(connection, self.request, 101, 0, len(head))
        transport.set_write_buffer_limits(high=self.config.ws_max_queued)
        connection.parser = self  # from here on, received bytes are frames
        early, self._early = self._early, b""
        if early:
            self.feed(early)
        if self.state == OPEN:
            self.reading_allowed()
            if self.config.ws_ping_interval > 0:
                self._ping_timer = self.loop.call_later(self.config.ws_ping_interval, self._ping)

    def decline(self, response: Response) -> None:
        """Answer the handshake with `response` instead (the connection ends after it)."""
        if self.state != CONNECTING:
            raise RuntimeError("the WebSocket handshake has already been answered")
        self.state = DECLINED
        if not self._finished.done():
            self._finished.set_result(response)

    # -- the interface's side: messages
    async def receive(self) -> str | bytes | Closed:
        """The next message (str for text, bytes for binary), or a `Closed` once the
        connection has closed (then again on every call)."""
        while True:
            incoming = self._incoming
            if incoming:
                message = incoming.popleft()
                self._incoming_bytes -= len(message)
                if self.connection.flow:  # reading may be paused: resume it if this was why
                    self.reading_allowed()
                return message  # type: ignore[no-any-return]
            if self._closed is not None:
                return self._closed
            if self.state == CONNECTING:
                raise RuntimeError("receive() before the WebSocket handshake is accepted")
            waiter = self._waiter = self.loop.create_future()
            await waiter

    async def send(self, message: str | bytes) -> None:
        """Send one message; waits while the client is not reading (the transport holds more
        than `ws_max_queued` bytes). Raises WebSocketClosed once the connection is closing."""
        if self.state != OPEN:
            if self.state == CONNECTING:
                raise RuntimeError("send() before the WebSocket handshake is accepted")
            raise WebSocketClosed("the WebSocket is closed")
        if isinstance(message, str):  # a str subclass (StrEnum, Markup) is text too
            payload = message.encode()
            opcode = TEXT
        elif isinstance(message, (bytes, bytearray, memoryview)):
            payload = bytes(message)
            opcode = BINARY
        else:
            raise TypeError(f"a WebSocket message is str or bytes, not {type(message).__name__}")
        deflate = self._deflate
        rsv1 = False
        if deflate is not None and len(payload) >= COMPRESS_AT:
            payload = deflate.compress(payload)
            rsv1 = True
        if len(payload) < JOIN_BELOW:
            self._write(data_frame_head(opcode, len(payload), rsv1) + payload)
        else:  # the payload goes to the transport as it is, after its head
            self._write(data_frame_head(opcode, len(payload), rsv1))
            self._write(payload)
        if self._outgoing_bytes >= FLUSH_AT:
            # A sender in a loop: hand what it made to the transport (which may say it is
            # full), and give the other connections their turn.
            self._flush()
            await asyncio.sleep(0)
        connection = self.connection
        if connection.flow & WRITE_PAUSED:
            self._flush()
            try:
                await drain(connection)
            except ConnectionResetError:
                raise WebSocketClosed("the client has gone") from None
            if self.state > CLOSE_SENT:
                raise WebSocketClosed("the WebSocket is closed")

    async def close(self, code: int = NORMAL, reason: str = "") -> None:
        """Start the closing handshake (or, before the accept, decline with 403). Raises
        ValueError for a code an endpoint may not send (RFC 6455 §7.4: 1004-1006, 1015 and
        anything outside 1000-4999 are never sent)."""
        if not _sendable(code):
            raise ValueError(f"{code!r} is not a close code an endpoint may send (RFC 6455 §7.4)")
        if self.state == CONNECTING:
            self.decline(error_response(Forbidden("the WebSocket was refused")))
        elif self.state == OPEN:
            self._send_close(code, reason)
            self._flush()

    # -- what the app left open when it ended (for both interfaces)
    async def app_raised(self) -> None:
        """The app raised: before the accept, a 500 takes the handshake's place; after it,
        a Close with 1011."""
        if self.state == CONNECTING:
            self.decline(internal_error_response())
        elif self.state == OPEN:
            await self.close(INTERNAL_ERROR, "internal error")

    async def app_returned(self, unanswered: Response) -> None:
        """The app returned: a handshake it never answered gets `unanswered`, an open
        WebSocket a Close with 1000."""
        if self.state == CONNECTING:
            self.decline(unanswered)
        elif self.state == OPEN:
            await self.close(NORMAL)

    # -- control frames and the close
    def _control(self, event: tuple[Any, ...]) -> None:
        kind = event[0]
        if kind == PING:
            if self.state == OPEN:
                self._write(encode_frame(PONG, event[1]))
        elif kind == PONG:
            if self._ping_payload is not None and event[1] == self._ping_payload:
                # Our ping is answered: the next one goes an interval after it was sent.
                self._ping_payload = None
                if self._pong_timer is not None:
                    self._pong_timer.cancel()
                    self._pong_timer = None
                if self.state == OPEN:
                    due = max(self.loop.time(), self._ping_sent + self.config.ws_ping_interval)
                    self._ping_timer = self.loop.call_at(due, self._ping)
        elif kind == CLOSE:
            code, reason = event[1], event[2]
            if self.state == OPEN:
                # Echo the code (RFC 6455 §5.5.1); a Close without one is answered likewise.
                self._write(encode_frame(CLOSE, b"" if code is None else _close_payload(code, "")))
            self._end(Closed(NO_STATUS if code is None else code, reason))
        elif kind == FAULT:
            self._fail(event[1], event[2])
        else:  # (TEXT | BINARY, compressed payload)
            self._inflate(kind, event[1])

    def _inflate(self, opcode: int, payload: bytes) -> None:
        deflate = self._deflate
        assert deflate is not None
        try:
            data = deflate.decompress(payload, self.config.ws_max_message_size)
            if opcode == TEXT:
                try:
                    message: str | bytes = data.decode()
                except UnicodeDecodeError:
                    raise WebSocketInvalidData("invalid UTF-8 in a text message") from None
            else:
                message = data
        except WebSocketError as error:
            self._fail(error.close_code, error.reason)
            return
        self._incoming.append(message)
        self._incoming_bytes += len(message)

    def _fail(self, code: int, reason: str) -> None:
        """Fail the WebSocket connection (RFC 6455 §7.1.7): a Close with `code`, then the end."""
        client_logger.info("WebSocket from %s failed with %d: %s", self.connection.client, code, reason)
        if self.state == OPEN:
            self._write(encode_frame(CLOSE, _close_payload(code, reason)))
        self._end(Closed(code, reason))

    def _send_close(self, code: int, reason: str) -> None:
        self._write(encode_frame(CLOSE, _close_payload(code, reason)))
        self.state = CLOSE_SENT
        self._cancel_ping()
        self._close_timer = self.loop.call_later(self.config.ws_close_timeout, self._close_timed_out)

    def _close_timed_out(self) -> None:
        self._close_timer = None
        if self.state == CLOSE_SENT:
            client_logger.info("WebSocket from %s: no Close within %.3g s", self.connection.client, self.config.ws_close_timeout)
            self._end(Closed(ABNORMAL))

    def _end(self, closed: Closed, lost: bool = False) -> None:
        """The closing handshake is over (or the connection failed or was lost): tell the app,
        and let the protocol close the TCP connection after what is written."""
        self.state = ENDED
        self._closed = closed
        self._cancel_timers()
        self._flush()
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)
        connection = self.connection
        connection.wake_writer()  # a send waiting for the client to read gives up
        if not lost:
            connection.end_after_websocket()
        if not self._finished.done():
            self._finished.set_result(ANSWERED)

    # -- keep-alive pings
    def _ping(self) -> None:
        """Send a keep-alive ping. The next one is scheduled when its pong comes (one ping
        at a time: a pong answers the latest ping only, RFC 6455 §5.5.3); with no ping
        timeout, a ping goes every interval whether or not the last was answered."""
        self._ping_timer = None
        if self.state != OPEN:
            return
        self._ping_payload = payload = os.urandom(4)
        self._ping_sent = self.loop.time()
        self._write(encode_frame(PING, payload))
        self._flush()
        if self.config.ws_ping_timeout > 0:
            self._pong_timer = self.loop.call_later(self.config.ws_ping_timeout, self._pong_timed_out)
        else:
            self._ping_timer = self.loop.call_later(self.config.ws_ping_interval, self._ping)

    def _pong_timed_out(self) -> None:
        self._pong_timer = None
        if self.state == OPEN:
            self._fail(INTERNAL_ERROR, "keepalive ping timeout")

    def _cancel_ping(self) -> None:
        for timer in (self._ping_timer, self._pong_timer):
            if timer is not None:
                timer.cancel()
        self._ping_timer = self._pong_timer = None

    def _cancel_timers(self) -> None:
        self._cancel_ping()
        if self._close_timer is not None:
            self._close_timer.cancel()
            self._close_timer = None

    # -- writing: the frames of one turn in one write
    def _write(self, frame: bytes) -> None:
        self._outgoing.append(frame)
        self._outgoing_bytes += len(frame)
        if self._flush_handle is None:
            self._flush_handle = self.loop.call_soon(self._flush)

    def _flush(self) -> None:
        handle = self._flush_handle
        if handle is not None:
            handle.cancel()
            self._flush_handle = None
        outgoing = self._outgoing
        if outgoing:
            transport = self.connection.transport
            if transport is not None and self.connection.phase != CLOSED:
                if len(outgoing) == 1:
                    transport.write(outgoing[0])
                elif self._outgoing_bytes < FLUSH_AT:
                    transport.write(b"".join(outgoing))
                else:  # large payloads are not copied into one buffer first
                    transport.writelines(outgoing)
            outgoing.clear()
            self._outgoing_bytes = 0


_OWN_HEADERS = frozenset(
    (b"upgrade", b"connection", b"sec-websocket-accept", b"sec-websocket-protocol", b"sec-websocket-extensions")
)


def _check_field(name: bytes, value: bytes) -> None:
    if not name or any(c in name for c in b" \t\r\n:\0") or any(c in value for c in b"\r\n\0"):
        raise ValueError(f"invalid header field {name!r}: {value!r}")


def _sendable(code: object) -> bool:
    """The close codes an endpoint may send (RFC 6455 §7.4.1, §7.4.2; 1012-1014 are
    registered since, IANA "WebSocket Close Code Number Registry")."""
    if not isinstance(code, int) or isinstance(code, bool):
        return False
    return 1000 <= code <= 1003 or 1007 <= code <= 1014 or 3000 <= code <= 4999


def _close_payload(code: int, reason: str) -> bytes:
    """A Close frame's payload: the code, and the reason cut to fit 125 bytes (§5.5)."""
    data = reason.encode()[:123]
    while True:  # a cut in the middle of a character is no valid UTF-8
        try:
            data.decode()
            break
        except UnicodeDecodeError:
            data = data[:-1]
    return code.to_bytes(2, "big") + data




def _cancel_if_running(task: asyncio.Task[Any]) -> None:
    if not task.done():
        task.cancel()
