"""Strategy: this module owns `RequestParser`, the twin of the `Parser` of rust/parser.rs: its
constructor, which reads the limits from a `Config`; the feed loop, which hands the bytes to
the part of the parser for the state it is in (head.py for a head, framing.py for a body); and
the events: a request reported from its head, with the body that comes with it (collected
here, where parser.rs slices it from the input) or followed by the pieces of its body, and the
end of the connection's requests after an error or after a request that is not keep-alive; and
the hand-over after a request that asks for a WebSocket (`detach`).
What each slot holds is said in state.py.
"""

from __future__ import annotations

from typing import Any

from ..config import Config
from ..errors import ParseError
from .framing import BodyDecoder
from .head import LENGTH, NO_BODY, FieldReader, HeadReader
from .request_line import IN_METHOD
from .state import (
    CHUNK_CRLF,
    CHUNK_DATA,
    CHUNK_SIZE,
    DONE,
    FIELDS,
    INLINE_BODY,
    LINE,
    STREAM_BODY,
    TRAILERS,
    UPGRADED,
    Event,
)

__all__ = ["RequestParser"]


class RequestParser(HeadReader, BodyDecoder):
    """Bytes in, request events out: see `wirespeed.parser` for the event contract."""

    __slots__ = ()

    def __init__(self, config: Config, request_type: type[tuple[Any, ...]] | None = None, owner: Any = None) -> None:
        self._request_type = request_type
        self._owner = owner
        self._max_head_size = config.max_head_size
        self._max_headers = config.max_headers
        self._max_target_length = config.max_target_length
        self._max_body_size = config.max_body_size
        self._inline_body_size = config.inline_body_size
        self.requests = 0
        self._max_requests = getattr(config, "max_requests_per_connection", 0)
        self._state = LINE
        self._pending = b""
        self._line_parts = []
        self._line_held = 0
        self._line_phase = IN_METHOD
        self._target_start = 0
        self._tail = b""
        self._head_size = 0
        self._field_lines = 0
        self._line_len = 0
        self._section = []
        self._deferred = None
        self._stand_in_due = False
        self._reader = FieldReader(config)
        self._llhttp = None
        self._method = ""
        self._target = ""
        self._version = 1
        self._remaining = 0
        self._body_parts = []
        self._body_total = 0
        self._line_shift = 0
        self._keep_alive = True
        self._upgrades = getattr(config, "ws", "off") == "on"
        self._upgraded = []

    @property
    def holding(self) -> bool:
        """Whether bytes of a request not yet reported are held: an unfinished head, or a
        head waiting for its inline body."""
        state = self._state
        return (
            (state == LINE and bool(self._pending or self._line_held)) or state == FIELDS or state == INLINE_BODY
        )

    def feed(self, data: bytes) -> list[Event]:
        """Every event that `data` completes, in order (see `wirespeed.parser`)."""
        if self._state >= DONE:
            if self._state == UPGRADED:
                self._upgraded.append(data)
            return []
        events: list[Event] = []
        if self._pending:
            data = self._pending + data
            self._pending = b""
        try:
            self._run(data, events)
        except ParseError as error:
            self._stop()
            events.append(error)
        return events

    # -- the state machine --------------------------------------------------------------------

    def _run(self, data: bytes, events: list[Event]) -> None:
        pos = 0
        end = len(data)
        while pos < end:
            state = self._state
            if state == LINE:
                pos = self._read_request_line(data, pos, events)
            elif state == FIELDS:
                pos = self._read_fields(data, pos, events)
            elif state == INLINE_BODY:
                pos = self._read_inline_body(data, pos, events)
            elif state == STREAM_BODY or state == CHUNK_DATA:
                pos = self._read_body_piece(data, pos, events)
            elif state == CHUNK_SIZE:
                pos = self._read_chunk_size(data, pos)
            elif state == CHUNK_CRLF:
                pos = self._read_chunk_crlf(data, pos)
            elif state == TRAILERS:
                pos = self._read_trailers(data, pos, events)
            else:  # DONE
                return
            if pos < 0:
                return

    def detach(self) -> bytes | None:
        """After a request that asks for a WebSocket (with `ws` "on"): the bytes that followed
        its head, taken once, and the parser stops. None otherwise."""
        if self._state != UPGRADED:
            return None
        rest = b"".join(self._upgraded)
        self._stop()
        return rest

    def _stop(self) -> None:
        self._state = DONE
        self._upgraded = []
        self._pending = b""
        self._line_parts = []
        self._body_parts = []
        self._llhttp = None

    def _request_done(self) -> None:
        """The last event of a request has been emitted: stop, or wait for the next one."""
        if self._keep_alive:
            self._state = LINE
        else:
            self._stop()

    def _request(self, reader: FieldReader, body: bytes | None) -> tuple[Any, ...]:
        self.requests += 1
        fields = (self._method, self._target, self._version, reader.headers, self._keep_alive, body)
        if self._request_type is None:
            return fields
        return self._request_type((*fields, self._owner))

    def _start_body(self, data: bytes, pos: int, events: list[Event]) -> int:
        reader = self._reader
        if reader.framing != NO_BODY:
            self._llhttp = None  # llhttp awaits a body: use a fresh one for the next head
        # The connection's last request (max_requests_per_connection) is not keep-alive.
        self._keep_alive = reader.keep_alive and not (
            self._max_requests and self.requests + 1 >= self._max_requests
        )
        framing = reader.framing
        if framing == NO_BODY and reader.websocket and self._upgrades:
            # The connection is handed over: the request is its last, and the rest is kept.
            self._keep_alive = False
            events.append(self._request(reader, None))  # None, as parser.rs reports it
            self._stop()
            self._state = UPGRADED
            self._upgraded = [data[pos:]] if pos < len(data) else []
            return -1
        if framing == NO_BODY:
            events.append(self._request(reader, b""))
            self._request_done()
        elif framing == LENGTH and reader.length <= self._inline_body_size and not reader.expect_continue:
            self._state = INLINE_BODY
            self._remaining = reader.length
            self._body_parts = []
        else:  # a large or chunked body, or one the client holds back for 100 Continue
            events.append(self._request(reader, None))
            if framing == LENGTH:
                self._state = STREAM_BODY
                self._remaining = reader.length
            else:
                self._state = CHUNK_SIZE
                self._body_total = 0
        return pos if self._state != DONE else -1

    # -- a Content-Length body that comes with its request (RFC 9112 §6.2) --------------------

    def _read_inline_body(self, data: bytes, pos: int, events: list[Event]) -> int:
        remaining = self._remaining
        available = len(data) - pos
        if available < remaining:
            self._body_parts.append(data[pos:])
            self._remaining = remaining - available
            return -1
        body = data[pos : pos + remaining]
        if self._body_parts:
            self._body_parts.append(body)
            body = b"".join(self._body_parts)
            self._body_parts = []
        reader = self._reader
        events.append(self._request(reader, body))
        self._request_done()
        return pos + remaining if self._state != DONE else -1
