"""Type stub for the Rust extension `wirespeed._parser` (rust/python.rs, rust/python_asgi.rs,
rust/python_proxy.rs, rust/python_ws.rs).

The parser's event contract is described in `wirespeed.parser`, the WebSocket reader's in
`wirespeed.websocket.frames`.
"""

from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol, overload

from .errors import ParseError

class _Limits(Protocol):
    max_head_size: int
    max_headers: int
    max_target_length: int
    max_body_size: int
    inline_body_size: int

class RawHeaders(Sequence[tuple[bytes, bytes]]):
    """The header fields of one request: `(name, value)` tuples in the order received, names
    lowercase, values trimmed. Immutable; the tuples are made when first iterated or indexed,
    then kept. Equal to a list of the same tuples; a slice is a list; not hashable."""

    def __len__(self) -> int: ...
    @overload
    def __getitem__(self, index: int) -> tuple[bytes, bytes]: ...
    @overload
    def __getitem__(self, index: slice) -> list[tuple[bytes, bytes]]: ...
    def __iter__(self) -> Iterator[tuple[bytes, bytes]]: ...
    def index(self, field: object, start: int = 0, stop: int = ...) -> int: ...
    def count(self, field: object) -> int: ...
    def __eq__(self, other: object) -> bool: ...
    __hash__: None  # type: ignore[assignment]

Request = tuple[str, str, int, RawHeaders, bool, bytes | None]
"""(method, target, version, headers, keep_alive, body)."""

Event = Request | bytes | ParseError | None

class RequestParser:
    """The incremental HTTP/1.1 request parser of one connection."""

    def __init__(self, config: _Limits, request_type: type[tuple[object, ...]] | None = None, owner: object = None) -> None:
        """Reads max_head_size, max_headers, max_target_length, max_body_size and
        inline_body_size from `config` (a `wirespeed.config.Config`). With `request_type` (a
        tuple subclass) requests are instances of it: the six fields, then `owner`."""

    def feed(self, data: bytes) -> list[Event]:
        """Every event that `data` completes, in order (see `wirespeed.parser`)."""

    @property
    def requests(self) -> int:
        """Requests reported so far."""

    @property
    def holding(self) -> bool:
        """Whether bytes of a request not yet reported are held: an unfinished head, or a
        head waiting for its inline body."""

    @property
    def limits(self) -> dict[str, int]:
        """The five limits this parser enforces."""

def asgi_scope(
    base: dict[str, Any], request: tuple[Any, ...], root_path: str, state: dict[str, Any], extensions: dict[str, Any]
) -> dict[str, Any]:
    """The HTTP scope of a request for the ASGI mode (see wirespeed.asgi.exchange)."""

def read_start(message: Any) -> tuple[int, bytes, int | None, bool, bool] | None:
    """An http.response.start message checked, or None for the Python twin to take."""

def parse_proxy_header(data: bytes) -> int | tuple[int, tuple[str, int] | None, tuple[str, int] | None] | str:
    """The verdict on the PROXY protocol header at the start of `data` (all a connection has
    sent so far; see `wirespeed.proxy_protocol`, its twin): an `int` (not complete: call again
    with at least that many bytes), `(consumed, source, destination)` (a complete header;
    `(host, port)` each, or both None to keep the connection's own addresses), or a `str` (why
    it is not a valid header)."""

def access_sink(
    common: bool, clock: Any, fallback: Callable[[Any, Any, Any, Any, Any], str | None], limit: int,
    now: Callable[[], float] | None = None, /,
) -> tuple[Callable[[Any, bytes], bool], Callable[[Any, int, int, int, Any], bool], Callable[[], str]]:
    """The access log's line maker for nginx's "combined" format, or "common" when `common`:
    `(answer, entry, take)`. `answer(request, data)` records a 200 of the protocol's fast path
    (`data`: the whole answer), `entry(request, status, body, sent, connection)` any other
    answer, each made into its line at once (the same line as the batch function
    `access_log.compile_batch` makes of that format, its twin) and each saying whether the
    lines have reached `limit` bytes; `take()` returns them joined by newlines, and none after.
    The time is the system clock's (or `now()`); `clock` is the batch function's `_Clock`, for
    the second's text. An answer with a value of a type it does not expect has its line made by
    `fallback(request, status, body, sent, connection)` (connection None for `answer`'s), or
    none when that returns None."""

def recording(
    answer: Callable[[Any], bytes], record: Callable[[Any, bytes], bool], due: Callable[[], object], /
) -> Callable[..., bytes]:
    """`keep_alive_result(result, request=None)`: `data = answer(result)`, recorded by
    `record(request, data)`, then `due()` when that returned true; returns `data`."""

class WebSocketReader:
    """Reads one WebSocket connection's client frames (rust/ws_frames.rs); the events are those
    of the pure-Python twin, `wirespeed.websocket.frames.WebSocketReader`."""

    def __init__(self, max_frame_size: int, max_message_size: int, compression: bool) -> None:
        """`max_frame_size` and `max_message_size` limit one frame's payload and one message (a
        compressed message's compressed bytes); `compression`: permessage-deflate was
        negotiated, so RSV1 may mark a compressed message."""

    def feed(self, data: bytes) -> list[WebSocketEvent]:
        """Every event that `data` completes, in order (see `wirespeed.websocket.frames`)."""

WebSocketEvent = str | bytes | tuple[int, bytes] | tuple[int, int | None, str]
"""A message, a control frame or a fault (see `wirespeed.websocket.frames`)."""
