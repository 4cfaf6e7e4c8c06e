"""Strategy: this module owns the state of a `RequestParser`: the states of its feed loop, and
`ParserState`, the slots that every part of the parser reads and writes, with what each holds.
It has no Rust module of its own: in the Rust crate each decoder keeps its state in a struct
of its own (`FieldLines` in fields.rs, `ChunkedDecoder` in framing.rs, `HeadProgress` in
head_progress.rs) and parser.rs keeps the rest (`State`, `Parser`). The twin keeps all of it
in the slots of one object, which every step reads and writes directly: there is no decoder
object to make for each body, nor to reach through on each call. The parts of the parser in
request_line.py, head.py and framing.py are classes over `ParserState`, which
`RequestParser` (parser.py) combines.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from httptools import HttpRequestParser

    from .head import FieldReader

Event = Any  # tuple (a request) | bytes (body piece) | None (end of body) | ParseError

# Parser states.
LINE = 0  # before or inside a request line
FIELDS = 1  # inside the header section; llhttp is being fed
INLINE_BODY = 2  # collecting a Content-Length body delivered with its request
STREAM_BODY = 3  # passing on a Content-Length body piece by piece
CHUNK_SIZE = 4  # before or inside a chunk-size line
CHUNK_DATA = 5  # inside chunk-data
CHUNK_CRLF = 6  # the CRLF after chunk-data
TRAILERS = 7  # the trailer section after the last chunk
DONE = 8  # after a request that closes the connection, or after an error: input is ignored
UPGRADED = 9  # after a request that asks for a WebSocket (upgrades on): input is kept unread


class ParserState:
    """The slots of a `RequestParser`, which its constructor sets."""

    __slots__ = (
        "_body_parts",
        "_body_total",
        "_deferred",
        "_field_lines",
        "_head_size",
        "_inline_body_size",
        "_keep_alive",
        "_line_held",
        "_line_len",
        "_line_parts",
        "_line_phase",
        "_line_shift",
        "_llhttp",
        "_max_body_size",
        "_max_head_size",
        "_max_headers",
        "_max_requests",
        "_max_target_length",
        "_method",
        "_owner",
        "_pending",
        "_reader",
        "_remaining",
        "_request_type",
        "_section",
        "_stand_in_due",
        "_state",
        "_tail",
        "_target",
        "_upgraded",
        "_upgrades",
        "_target_start",
        "_version",
        "requests",
    )

    # With a request type, requests are made as instances of it with the owner as a 7th item.
    _request_type: type[tuple[Any, ...]] | None
    _owner: Any
    # The limits, from the Config.
    _max_head_size: int
    _max_headers: int
    _max_target_length: int
    _max_body_size: int
    _inline_body_size: int
    # Requests reported so far, and how many the connection may carry (0: no limit); the last
    # one is reported as not keep-alive.
    requests: int
    _max_requests: int
    _state: int  # one of the states above
    # Bytes still to be scanned with the next feed: the end of an unfinished request line (a
    # CR, or its version so far), a chunk CRLF's CR, or the stand-in of an unfinished
    # chunk-size line or trailer section (see _read_chunk_size, _read_trailers).
    _pending: bytes
    # An unfinished request line: the bytes already scanned (valid so far), how many, the part
    # the scan stopped in and, past the method, where the target starts in the line.
    _line_parts: list[bytes]
    _line_held: int
    _line_phase: int
    _target_start: int
    # The last (up to 3) bytes of the head so far, to find a blank line split across feeds.
    _tail: bytes
    _head_size: int
    _field_lines: int  # CRLFs seen in the header section so far
    _line_len: int  # bytes of the header section since its last CRLF
    _section: list[bytes]  # the header section so far, when it spans buffers
    # Once llhttp has stopped inside this head (None before): the stand-in of the header
    # section judged so far, which Python reads from there.
    _deferred: bytes | None
    _stand_in_due: bool  # the stand-in request line goes to llhttp before the next piece
    _reader: FieldReader
    _llhttp: HttpRequestParser | None
    # The request line of the current request.
    _method: str
    _target: str
    _version: int
    # The body: bytes still to come of a Content-Length body or of a chunk's data, the pieces
    # of an inline body so far, the chunked body's declared size so far.
    _remaining: int
    _body_parts: list[bytes]
    _body_total: int
    # How much longer the unfinished chunk-size line or trailer section is than its stand-in in
    # _pending.
    _line_shift: int
    _keep_alive: bool  # whether the current request keeps the connection open
    # Whether a request that asks for a WebSocket hands the connection over (Config.ws "on"),
    # and, once one has, the bytes after its head, kept for `detach`.
    _upgrades: bool
    _upgraded: list[bytes]

    if TYPE_CHECKING:
        # What the parts call on the parser as a whole (parser.py).
        def _run(self, data: bytes, events: list[Event]) -> None: ...

        def _start_body(self, data: bytes, pos: int, events: list[Event]) -> int: ...

        def _request_done(self) -> None: ...
