"""The Request a handler receives, and its lazily built views: headers, query, body.

Strategy: this module owns the Python view of one parsed request. It is built from the
parser's tuple with no work beyond storing it; the path split, percent-decoding, header
mapping and query parsing happen only when a handler asks for them. The body is either
inline bytes from the parser or a `BodyStream` fed by the protocol. It never touches the
transport except through the small `BodyStream` interface. The client, scheme and host are
the connection's, or, with `Config.proxy_headers` on and a trusted peer, what the proxy
headers say (read by forwarded.py on first use, per request).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from types import MappingProxyType
from operator import itemgetter
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote

from .errors import BadRequest
from .forwarded import ProxyInfo, proxy_info

if TYPE_CHECKING:
    from .protocol import HttpProtocol


# The items of the tuple a parser makes for each request, by position (the Rust parser and the
# httptools twin build it in this order; see `wirespeed.parser`). BODY is the whole body, or
# None when it follows in a BodyStream; CONNECTION is the connection it came on.
METHOD, TARGET, VERSION, RAW_HEADERS, KEEP_ALIVE, BODY, CONNECTION = range(7)

# The path_params of a request whose route has none: shared, so read-only.
_NO_PARAMS: dict[str, Any] = MappingProxyType({})  # type: ignore[assignment]


class Headers(Mapping[str, str]):
    """Case-insensitive, read-only view of the request's header fields.

    `headers["accept"]` gives the first value; `getall` gives every value of a repeated field.
    Values are decoded as latin-1, which maps every byte (RFC 9110 §5.5 obs-text) losslessly.
    """

    __slots__ = ("raw", "_first")

    def __init__(self, raw: Sequence[tuple[bytes, bytes]]) -> None:
        self.raw = raw
        self._first: dict[str, str] | None = None

    def _index(self) -> dict[str, str]:
        first = self._first
        if first is None:
            first = {}
            for name, value in self.raw:
                key = name.decode("latin-1")
                if key not in first:
                    first[key] = value.decode("latin-1")
            self._first = first
        return first

    def __getitem__(self, name: str) -> str:
        return self._index()[name.lower()]

    def get(self, name: str, default: Any = None) -> Any:  # type: ignore[override]
        return self._index().get(name.lower(), default)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._index()

    def __iter__(self) -> Iterator[str]:
        return iter(self._index())

    def __len__(self) -> int:
        return len(self._index())

    def getall(self, name: str) -> list[str]:
        key = name.lower().encode("latin-1")
        return [value.decode("latin-1") for field, value in self.raw if field == key]

    def __repr__(self) -> str:
        return f"Headers({[(n.decode('latin-1'), v.decode('latin-1')) for n, v in self.raw]!r})"


class QueryParams(Mapping[str, str]):
    """The parsed query string: `query["page"]` is the first value, `getall` gives all."""

    __slots__ = ("_pairs", "_first")

    def __init__(self, query_string: str) -> None:
        self._pairs = parse_qsl(query_string, keep_blank_values=True)
        first: dict[str, str] = {}
        for key, value in self._pairs:
            first.setdefault(key, value)
        self._first = first

    def __getitem__(self, key: str) -> str:
        return self._first[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._first)

    def __len__(self) -> int:
        return len(self._first)

    def getall(self, key: str) -> list[str]:
        return [value for name, value in self._pairs if name == key]

    def __repr__(self) -> str:
        return f"QueryParams({self._pairs!r})"


class BodyStream:
    """The body of a request that arrives after its head, piece by piece.

    The protocol calls `feed` and `finish` (or `fail`); the handler reads with `read_all` or
    iterates. `on_first_read` lets the protocol send `100 Continue` only when the body is wanted.
    """

    __slots__ = (
        "_chunks",
        "_done",
        "_error",
        "_waiter",
        "_loop",
        "_protocol",
        "_read_started",
        "_expect_continue",
        "buffered",
        "discarding",
        "received",
    )

    def __init__(self, loop: asyncio.AbstractEventLoop, protocol: HttpProtocol, expect_continue: bool) -> None:
        self._chunks: list[bytes] = []
        self._done = False
        self._error: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._loop = loop
        self._protocol = protocol
        self._read_started = False
        self._expect_continue = expect_continue
        self.buffered = 0
        self.discarding = False  # answered without it: what still arrives is dropped
        self.received = 0  # bytes so far (the body timeout watches it move)

    # -- the protocol's side
    def feed(self, data: bytes) -> None:
        self.received += len(data)
        if self.discarding:
            return
        self._chunks.append(data)
        self.buffered += len(data)
        self._wake()

    def finish(self) -> None:
        self._done = True
        self._wake()

    def fail(self, error: BaseException) -> None:
        self._error = error
        self._done = True
        self._wake()

    @property
    def done(self) -> bool:
        return self._done

    @property
    def awaiting_continue(self) -> bool:
        """The client holds the body back until `100 Continue`, which the handler has not
        asked for yet (it reads the body, or answers without it), and has sent none of it."""
        return self._expect_continue and not self._read_started and not self._done and not self.received

    @property
    def failed(self) -> bool:
        """The body broke off: malformed, over a limit, or the client went away."""
        return self._error is not None

    @property
    def error(self) -> BaseException | None:
        """Why the body broke off (an HTTPError when the client is to be told), or None."""
        return self._error

    def discard(self) -> bool:
        """The request was answered without reading all of this body: drop what is held and
        what still arrives, so the connection goes on to the next request (the parser still
        frames the body, and `max_body_size` bounds it). False when the client may be waiting
        for `100 Continue` before it sends the body (it has sent none yet): then the
        connection must end instead (RFC 9110 §10.1.1)."""
        if self.awaiting_continue:
            return False
        self.discarding = True
        self._chunks.clear()
        self.buffered = 0
        self._protocol.body_drained()
        return True

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- the handler's side
    def _start_reading(self) -> None:
        if not self._read_started:
            self._read_started = True
            if self._expect_continue and not self._done:
                self._protocol.send_continue()

    async def _wait(self) -> None:
        self._waiter = self._loop.create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while True:
            data, more = await self.read_some()
            if data:
                yield data
            if not more:
                return

    async def read_all(self) -> bytes:
        return b"".join([data async for data in self])

    async def read_some(self) -> tuple[bytes, bool]:
        """Everything that has arrived and not been read, as one piece, once there is any,
        and whether more is to come: (b"", False) at the end. Raises what broke the body off.
        Iterating the stream and an ASGI app's `receive()` both read through it."""
        self._start_reading()
        while True:
            chunks = self._chunks
            if chunks:
                self._chunks = []
                self.buffered = 0
                self._protocol.body_drained()
                data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
                return data, not self._done or self._error is not None
            if self._error is not None:
                raise self._error
            if self._done:
                return b"", False
            await self._wait()


class Request(tuple):  # type: ignore[type-arg]
    """One HTTP request, as the handler sees it.

    It is a tuple underneath, `(method, target, version, raw_headers, keep_alive, body,
    connection)`, because the Rust parser builds it directly, with no Python call per
    request. Use the named attributes; the item order is not part of the API. Everything else
    (path, query, headers, path parameters) is computed on first use and kept.
    """

    method: str = property(itemgetter(METHOD))  # type: ignore[assignment]
    target: str = property(itemgetter(TARGET))  # type: ignore[assignment]
    version: int = property(itemgetter(VERSION))  # type: ignore[assignment]
    # (name, value) per field line, in order: a list, or the Rust parser's lazy RawHeaders.
    raw_headers: Sequence[tuple[bytes, bytes]] = property(itemgetter(RAW_HEADERS))  # type: ignore[assignment]
    keep_alive: bool = property(itemgetter(KEEP_ALIVE))  # type: ignore[assignment]
    # The body as the parser gave it: all of it, or None when it follows in `body_stream`.
    inline_body: bytes | None = property(itemgetter(BODY))  # type: ignore[assignment]
    _connection: HttpProtocol | None = property(itemgetter(CONNECTION))  # type: ignore[assignment]

    # Defaults of what is set per request only when needed (instance attributes then).
    path_params: dict[str, Any] = _NO_PARAMS
    body_stream: BodyStream | None = None
    _body_read: bytes | None = None
    _raw_path: str | None = None
    _headers: Headers | None = None
    _query: QueryParams | None = None
    _forwarded: ProxyInfo | None | bool = False  # False: not read yet

    # A request is itself, not the value of its fields.
    __eq__ = object.__eq__
    __ne__ = object.__ne__
    __hash__ = object.__hash__

    @classmethod
    def build(
        cls,
        method: str,
        target: str,
        version: int = 1,
        raw_headers: Sequence[tuple[bytes, bytes]] | None = None,
        keep_alive: bool = True,
        body: bytes | None = b"",
        connection: HttpProtocol | None = None,
    ) -> Request:
        """A request made in Python (by the httptools parser, or in tests)."""
        return cls((method, target, version, raw_headers or [], keep_alive, body, connection))

    @property
    def raw_path(self) -> str:
        """The path of the request-target, still percent-encoded."""
        path = self._raw_path
        if path is None:
            target = self[TARGET]
            end = target.find("?")
            if end < 0 and target[:1] == "/":
                return target  # the common case: nothing to keep (no instance dict is made)
            path = target if end < 0 else target[:end]
            if not path.startswith("/"):
                path = origin_path(path)
            self._raw_path = path
        return path

    @property
    def path(self) -> str:
        """The percent-decoded path."""
        raw = self.raw_path
        return unquote(raw) if "%" in raw else raw

    @property
    def query_string(self) -> str:
        _, _, query = self.target.partition("?")
        return query

    @property
    def query(self) -> QueryParams:
        query = self._query
        if query is None:
            query = self._query = QueryParams(self.query_string)
        return query

    @property
    def headers(self) -> Headers:
        headers = self._headers
        if headers is None:
            headers = self._headers = Headers(self.raw_headers)
        return headers

    @property
    def host(self) -> str:
        """The host the request is for, with its port if one was sent: the one a trusted proxy
        names (`Config.proxy_headers`); else the authority of an absolute-form target, the Host
        field then being ignored (RFC 9112 §3.2.2), or of a CONNECT's authority-form target;
        else the Host field; "" when there is neither (an HTTP/1.0 request may have no Host)."""
        connection = self[CONNECTION]
        if connection is not None and connection.state.proxy_trust is not None:
            forwarded = self.forwarded
            if forwarded is not None and forwarded.host is not None:
                return forwarded.host
        target = self[TARGET]
        if target[:1] != "/" and target != "*":
            scheme_end = target.find("://")
            if scheme_end < 0:
                return target  # authority-form
            return _AUTHORITY.match(target, scheme_end + 3).group()  # type: ignore[union-attr]
        for name, value in self[RAW_HEADERS]:
            if name == b"host":
                return value.decode("latin-1")
        return ""

    @property
    def http_version(self) -> str:
        return "1.1" if self.version == 1 else "1.0"

    @property
    def client(self) -> tuple[str, int] | None:
        """The client's (host, port): the one a trusted proxy names (`Config.proxy_headers`;
        port 0 when it gives none), else the TCP peer's; None when unknown (for example a
        peer on a Unix socket)."""
        connection = self[CONNECTION]
        if connection is None:
            return None
        if connection.state.proxy_trust is not None:
            forwarded = self.forwarded
            if forwarded is not None and forwarded.client is not None:
                return forwarded.client
        return connection.client  # type: ignore[no-any-return]

    @property
    def scheme(self) -> str:
        """"http" or "https": the one a trusted proxy names (`Config.proxy_headers`), else the
        connection's."""
        connection = self[CONNECTION]
        if connection is not None and connection.state.proxy_trust is not None:
            forwarded = self.forwarded
            if forwarded is not None and forwarded.scheme is not None:
                return forwarded.scheme
        return "http"

    @property
    def forwarded(self) -> ProxyInfo | None:
        """What a trusted proxy's headers say of this request (forwarded.py), read on first use
        and kept; None when `Config.proxy_headers` is off, the TCP peer is not in
        `Config.forwarded_allow_ips`, or the headers say nothing well formed. The headers
        themselves stay in `headers` as they came."""
        info = self._forwarded
        if info is False:
            connection = self[CONNECTION]
            trust = None if connection is None else connection.state.proxy_trust
            if trust is None:
                return None  # the switch is off: nothing is kept on the request
            peer = connection.client
            info = proxy_info(self[RAW_HEADERS], trust) if trust.trusts(None if peer is None else peer[0]) else None
            self._forwarded = info
        return info  # type: ignore[return-value]

    async def body(self) -> bytes:
        """The whole request body (it is read once and kept)."""
        body = self[BODY]
        if body is None:
            body = self._body_read
            if body is None:
                stream = self.body_stream
                body = self._body_read = b"" if stream is None else await stream.read_all()
        return body  # type: ignore[no-any-return]

    async def stream(self) -> AsyncIterator[bytes]:
        """The body in pieces as they arrive, without holding it all in memory."""
        body = self[BODY] if self[BODY] is not None else self._body_read
        if body is not None:
            if body:
                yield body
            return
        if self.body_stream is not None:
            async for data in self.body_stream:
                yield data

    async def json(self) -> Any:
        body = await self.body()
        try:
            return json.loads(body)
        except ValueError as exc:
            raise BadRequest(f"invalid JSON body: {exc}") from None

    def __repr__(self) -> str:
        return f"<Request {self[METHOD]} {self[TARGET]}>"


# The authority of an absolute-form target runs to the first "/", "?" or "#" (RFC 3986 §3.2).
_AUTHORITY = re.compile(r"[^/?#]*")


def origin_path(target: str) -> str:
    """The path of an absolute-form (`http://host/p`) or asterisk-form target (RFC 9112 §3.2)."""
    if target == "*":
        return "*"
    scheme_end = target.find("://")
    if scheme_end < 0:
        return target
    return target[_AUTHORITY.match(target, scheme_end + 3).end() :] or "/"  # type: ignore[union-attr]


__all__ = [
    "BODY",
    "origin_path",
    "CONNECTION",
    "KEEP_ALIVE",
    "METHOD",
    "RAW_HEADERS",
    "TARGET",
    "VERSION",
    "BodyStream",
    "Headers",
    "QueryParams",
    "Request",
]
