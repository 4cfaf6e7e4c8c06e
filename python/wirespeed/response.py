"""Response objects a handler returns, and the conversion of plain return values into them.

Strategy: this module owns what a response *is*: status, headers, content type and body (bytes,
an async iterator, or a file). One `Response` base encodes its content type and user headers
once; subclasses only set `media_type` or how the body is rendered. The bytes on the wire and
the Connection/Content-Length lines belong to `writer.py`, the sending to `protocol.py` and
`senders.py`.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Mapping, Sequence
from typing import Any, BinaryIO, ClassVar

from .errors import HTTPError, InternalServerError

try:  # orjson is an optional speed-up for JSON bodies
    from orjson import dumps as dump_json
except ImportError:  # pragma: no cover - exercised only without orjson installed

    def dump_json(content: Any) -> bytes:  # type: ignore[misc]
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


_FORBIDDEN_IN_FIELD = frozenset("\r\n\0")


def encode_headers(headers: Iterable[tuple[str, str]]) -> bytes:
    """`Name: value` lines for user-supplied headers; refuses CR, LF and NUL (response splitting)."""
    parts: list[str] = []
    for name, value in headers:
        if not name or _FORBIDDEN_IN_FIELD.intersection(name) or ":" in name:
            raise ValueError(f"invalid header name {name!r}")
        if _FORBIDDEN_IN_FIELD.intersection(value):
            raise ValueError(f"invalid header value for {name}: {value!r}")
        parts.append(f"{name}: {value}\r\n")
    return "".join(parts).encode("latin-1")


HeaderInput = Mapping[str, str] | Iterable[tuple[str, str]] | None


_CONTENT_TYPE_LINES: dict[str, bytes] = {}


def _content_type_line(content_type: str | None) -> bytes:
    if content_type is None:
        return b""
    line = _CONTENT_TYPE_LINES.get(content_type)
    if line is None:
        line = encode_headers([("Content-Type", content_type)])
        if len(_CONTENT_TYPE_LINES) < 256:  # bounded: content types are few, but user-chosen
            _CONTENT_TYPE_LINES[content_type] = line
    return line


class Response:
    """A complete response with a bytes body.

    `headers` may be a mapping or a list of (name, value) pairs; names are sent as given.
    `content_type` defaults to the class's `media_type`; text types get `charset=utf-8`.
    """

    media_type: ClassVar[str | None] = None
    charset: ClassVar[str] = "utf-8"

    __slots__ = ("status", "body", "headers", "content_type", "_head_extra", "_fixed_lines")

    def __init__(
        self,
        content: Any = b"",
        status: int = 200,
        headers: HeaderInput = None,
        content_type: str | None = None,
    ) -> None:
        self.status = status
        self.body = self.render(content)
        if headers is None:
            self.headers: list[tuple[str, str]] = []
        elif isinstance(headers, Mapping):
            self.headers = list(headers.items())
        else:
            self.headers = list(headers)
        content_type = content_type or self.media_type
        if content_type is not None and content_type.startswith("text/") and "charset" not in content_type:
            content_type = f"{content_type}; charset={self.charset}"
        self.content_type = content_type
        self._head_extra: bytes | None = None
        self._fixed_lines: bytes | None = None

    def render(self, content: Any) -> bytes:
        if isinstance(content, bytes):
            return content
        if isinstance(content, str):
            return content.encode(self.charset)
        if isinstance(content, (bytearray, memoryview)):
            return bytes(content)
        raise TypeError(f"{type(self).__name__} body must be bytes or str, not {type(content).__name__}")

    def head_extra(self) -> bytes:
        """The Content-Type and user header lines, encoded once."""
        extra = self._head_extra
        if extra is None:
            extra = _content_type_line(self.content_type)
            if self.headers:
                extra += encode_headers(self.headers)
            self._head_extra = extra
        return extra

    def reuse_head_extra(self, lines: bytes) -> None:
        """Take the `head_extra` lines of an earlier response with the same content type and
        headers, instead of encoding them again."""
        self._head_extra = lines

    @property
    def declared_length(self) -> int:
        """The Content-Length of the head: the body's (an ASGI answer to HEAD may declare
        the length of a body it does not send)."""
        return len(self.body)

    def fixed_lines(self) -> bytes:
        """The head lines after Date when no Connection line is needed, through the blank
        line: Content-Type, user headers and Content-Length. Encoded once, so a response kept
        and sent again (a cached file) costs no encoding."""
        lines = self._fixed_lines
        if lines is None:
            lines = self._fixed_lines = self.head_extra() + b"Content-Length: %d\r\n\r\n" % len(self.body)
        return lines


class PlainTextResponse(Response):
    media_type = "text/plain"


class HTMLResponse(Response):
    media_type = "text/html"


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return dump_json(content)


class RedirectResponse(Response):
    def __init__(self, location: str, status: int = 307, headers: HeaderInput = None) -> None:
        super().__init__(b"", status, headers)
        self.headers.append(("Location", location))


class StreamingResponse(Response):
    """A body produced by an async iterator of bytes (or str), sent with chunked encoding.

    To an HTTP/1.0 client the body is sent as it comes and the connection closed at its end.
    """

    __slots__ = ("iterator",)

    def __init__(
        self,
        iterator: AsyncIterable[bytes | str],
        status: int = 200,
        headers: HeaderInput = None,
        content_type: str | None = None,
    ) -> None:
        super().__init__(b"", status, headers, content_type)
        self.iterator: AsyncIterator[bytes | str] = aiter(iterator)


class FileResponse(Response):
    """The contents of a file on disk, `size` bytes from `offset` (to its end by default).

    `pieces`, instead of `offset` and `size`: a body made of parts of the file with bytes of
    its own between them (a multipart/byteranges body), as (bytes, offset, length) pieces:
    each piece's bytes, then `length` bytes of the file from `offset`.
    `file`: the file already open (a binary file object); the response takes it over and the
    server closes it once sent. Without it, the server opens `path` when the answer starts.
    On a socket the file's bytes go out with sendfile(2), never through Python memory.
    """

    __slots__ = ("path", "offset", "size", "file", "pieces")

    def __init__(
        self,
        path: str | os.PathLike[str],
        status: int = 200,
        headers: HeaderInput = None,
        content_type: str | None = None,
        *,
        offset: int = 0,
        size: int | None = None,
        file: BinaryIO | None = None,
        pieces: Sequence[tuple[bytes, int, int]] | None = None,
    ) -> None:
        super().__init__(b"", status, headers, content_type or "application/octet-stream")
        self.path = os.fspath(path)
        self.file = file
        if offset < 0 or (size is not None and size < 0):
            raise ValueError("a file response needs a non-negative offset and size")
        if pieces is not None:
            if offset or size is not None:
                raise ValueError("a file response takes pieces or an offset and size, not both")
            if any(start < 0 or length < 0 for _, start, length in pieces):
                raise ValueError("a file response needs non-negative piece offsets and lengths")
            self.offset = 0
            self.size = sum(len(data) + length for data, _, length in pieces)
            self.pieces = pieces
            return
        self.offset = offset
        if size is None:
            total = os.fstat(file.fileno()).st_size if file is not None else os.stat(self.path).st_size
            size = max(0, total - offset)
        self.size = size
        self.pieces = ((b"", offset, size),)


class Answered:
    """The type of ANSWERED."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "ANSWERED"


# What an interface's coroutine returns when it has written its answer itself, as it was
# produced (an ASGI app's streamed body): the protocol has nothing left to write for it.
ANSWERED = Answered()


def error_response(error: HTTPError) -> Response:
    """The plain-text answer for an HTTPError: `404 Not Found`, `400 Bad Request: ...`."""
    return PlainTextResponse(error.body(), error.status, error.headers)


def internal_error_response() -> Response:
    return error_response(InternalServerError())


_PLAIN = PlainTextResponse
_BYTES_TYPE = "application/octet-stream"


def to_response(result: Any) -> Response:
    """What a handler returned, as a Response: str is text/plain, bytes is
    application/octet-stream, dict or list is JSON, None is 204 No Content."""
    if isinstance(result, Response):
        return result
    if isinstance(result, str):
        return _PLAIN(result)
    if isinstance(result, (dict, list)):
        return JSONResponse(result)
    if isinstance(result, (bytes, bytearray, memoryview)):
        return Response(result, content_type=_BYTES_TYPE)
    if result is None:
        return Response(b"", 204)
    raise TypeError(
        f"a handler must return a Response, str, bytes, dict, list or None, not {type(result).__name__}"
    )
