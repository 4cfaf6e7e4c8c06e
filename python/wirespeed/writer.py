"""Response heads on the wire: status lines, the cached Date and Server lines, header encoding.

Strategy: this module owns the bytes of a response head. Status lines are computed once for
every known code; the `Date` line is recomputed at most once a second by `HeadWriter.tick`,
driven by a loop timer in the server, never per request. It knows nothing of routing,
handlers or sockets: it turns (status, headers, body length, connection state) into bytes.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from email.utils import formatdate
from http import HTTPStatus

STATUS_LINES: dict[int, bytes] = {
    int(status): f"HTTP/1.1 {int(status)} {status.phrase}\r\n".encode("ascii")
    for status in HTTPStatus
}

# RFC 9110 §8.6 / §15: no body and no Content-Length in 1xx and 204; 304 has no body.
NO_BODY_STATUSES = frozenset({100, 101, 102, 103, 204, 304})

CONNECTION_CLOSE = b"Connection: close\r\n"
CONNECTION_KEEP_ALIVE = b"Connection: keep-alive\r\n"
CHUNKED = b"Transfer-Encoding: chunked\r\n"
CONTINUE_100 = b"HTTP/1.1 100 Continue\r\n\r\n"
LAST_CHUNK = b"0\r\n\r\n"

_FORBIDDEN_IN_FIELD = frozenset("\r\n\0")


def status_line(status: int) -> bytes:
    line = STATUS_LINES.get(status)
    if line is None:
        if not 100 <= status <= 999:
            raise ValueError(f"invalid status code {status}")
        line = f"HTTP/1.1 {status} \r\n".encode("ascii")
    return line


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


def chunk(data: bytes) -> bytes:
    """One chunk of a chunked body (RFC 9112 §7.1); empty data would end the body, so refuse it."""
    if not data:
        raise ValueError("an empty chunk would end the body")
    return b"%x\r\n%b\r\n" % (len(data), data)


class HeadWriter:
    """Builds response heads. One per server: it caches the Date and Server lines."""

    __slots__ = ("common", "_server_line", "_second")

    def __init__(self, server_header: str | None) -> None:
        if server_header is not None:
            self._server_line = encode_headers([("Server", server_header)])
        else:
            self._server_line = b""
        self._second = -1
        # `Server` and `Date` lines, the part of every head that changes at most once a second.
        self.common = b""
        self.tick()

    def tick(self) -> None:
        """Recompute the Date line if the second has changed. Called by a timer, not per request."""
        now = int(time.time())
        if now != self._second:
            self._second = now
            self.common = self._server_line + b"Date: " + formatdate(now, usegmt=True).encode() + b"\r\n"

    def head(self, status: int, extra: bytes, length: bytes, connection: bytes) -> bytes:
        """A full response head.

        `extra` is pre-encoded header lines (content type and user headers); `length` is a
        `content_length` line, `CHUNKED`, or b"" (no body, or a body that ends at the close);
        `connection` is b"" or one of the CONNECTION_* lines.
        """
        return (STATUS_LINES.get(status) or status_line(status)) + self.common + extra + length + connection + b"\r\n"


def content_length(size: int) -> bytes:
    return b"Content-Length: %d\r\n" % size
