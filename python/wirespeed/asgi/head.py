"""The head an ASGI app asks for: its `http.response.start` message, checked and encoded.

Strategy: this module owns turning an app's status and header list into header lines the
writer can put on the wire, and refusing what must never reach it. Names must be tokens
(RFC 9110 §5.1) and values must hold no CR, LF or NUL (§5.5): a value with a line break in it
would let the app (or whoever fills its headers) split the response. The framing fields are
the server's: Content-Length is taken out and kept as a number (the body is checked against
it), Transfer-Encoding is dropped (the server chunks when it must), Connection is read for
`close` and dropped (the server writes its own Connection line). Fields are checked in the
order they come, each name before its value, so that the first fault is the one reported. The
same rules in Rust (rust/asgi.rs) do it in one call when the extension is built.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

try:
    from .._parser import read_start as native_read_start
except ImportError:  # the extension is not built: the rules below in Python
    native_read_start = None  # type: ignore[assignment]

# tchar (RFC 9110 §5.6.2)
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")

# What a header name is to the server, by its lower-cased spelling.
PLAIN, CONTENT_LENGTH, TRANSFER_ENCODING, CONNECTION = 0, 1, 2, 3
_FRAMING = {b"content-length": CONTENT_LENGTH, b"transfer-encoding": TRANSFER_ENCODING, b"connection": CONNECTION}

# name as the app spelled it -> its kind. Names are few and repeat on every response, so each
# is checked once; the table is bounded, since names are the app's choice.
_NAME_KINDS: dict[bytes, int] = {}
_NAME_KINDS_MAX = 1024


class InvalidHead(ValueError):
    """The app's `http.response.start` cannot be put on the wire as it is."""


def read_start(message: Any) -> tuple[int, bytes, int | None, bool, bool]:
    """An `http.response.start` message, checked: (status, the header lines, the app's
    Content-Length or None, whether it said `Connection: close`, whether it announced
    trailers). Raises InvalidHead (or TypeError for a value of the wrong type) for a status or
    field that cannot be sent. The Rust extension's `read_start` does it in one call when it
    is built; it hands what it is not built for (see rust/python_asgi.rs) to `read_start_py`."""
    if native_read_start is not None:
        try:
            head = native_read_start(message)
        except ValueError as error:
            raise InvalidHead(str(error)) from None
        if head is not None:
            return head  # type: ignore[no-any-return]
    return read_start_py(message)


def read_start_py(message: Any) -> tuple[int, bytes, int | None, bool, bool]:
    """`read_start` in Python: the rules, for a server without the Rust extension."""
    status = message["status"]
    if status.__class__ is not int or not 200 <= status <= 599:
        _refuse_status(status)
    lines, length, close = encode_headers(message.get("headers", ()))
    return status, lines, length, close, bool(message.get("trailers", False))


def _refuse_status(status: Any) -> None:
    if status.__class__ is not int:
        raise InvalidHead(f"status must be an int, not {type(status).__name__}")
    # 1xx answers are interim (RFC 9110 §15.2): as the one answer to a request they would
    # leave the client waiting for the final one.
    raise InvalidHead(f"status {status} is not a final status code (200..599)")


def encode_headers(headers: Iterable[Any]) -> tuple[bytes, int | None, bool]:
    """The header lines of an app's header list, the Content-Length it gave (or None), and
    whether it said `Connection: close`."""
    length: int | None = None
    close = False
    parts: list[bytes] = []
    for kind, name, value in _checked_fields(headers, "header"):
        if kind == CONTENT_LENGTH:
            length = _content_length(value, length)
        elif kind == CONNECTION:
            close = close or b"close" in [token.strip(b" \t") for token in value.lower().split(b",")]
        elif not kind:
            parts += (name, b": ", value, b"\r\n")
    return b"".join(parts), length, close


def encode_trailers(headers: Iterable[Any]) -> bytes:
    """The trailer section's field lines (RFC 9112 §7.1.2), checked like header lines. The
    framing fields are not allowed in it (RFC 9110 §6.5.1) and are dropped."""
    parts: list[bytes] = []
    for kind, name, value in _checked_fields(headers, "trailer"):
        if not kind:
            parts += (name, b": ", value, b"\r\n")
    return b"".join(parts)


def _checked_fields(headers: Iterable[Any], what: str) -> Iterator[tuple[int, bytes, bytes]]:
    """Each (kind, name, value) of an app's field list, checked in order, each name before
    its value."""
    for name, value in headers:
        kind = _NAME_KINDS.get(name)
        if kind is None:
            kind = _name_kind(name)
        if value.__class__ is not bytes:
            value = _as_bytes(value, name)
        if b"\r" in value or b"\n" in value or b"\0" in value:
            raise InvalidHead(f"a {what} value holds CR, LF or NUL")
        yield kind, name, value


def _name_kind(name: Any) -> int:
    if name.__class__ is not bytes:
        if isinstance(name, (bytearray, memoryview)):
            name = bytes(name)
        else:
            raise TypeError(f"a header name must be bytes, not {type(name).__name__}")
    if not _TOKEN.fullmatch(name):
        raise InvalidHead(f"invalid header name {name!r}")
    kind = _FRAMING.get(name.lower(), PLAIN)
    if len(_NAME_KINDS) < _NAME_KINDS_MAX:
        _NAME_KINDS[name] = kind
    return kind


def _as_bytes(value: Any, name: bytes) -> bytes:
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    raise TypeError(f"the value of header {name!r} must be bytes, not {type(value).__name__}")


def _content_length(value: bytes, earlier: int | None) -> int:
    if not value.isdigit():  # 1*DIGIT (RFC 9110 §8.6); isdigit() is ASCII-only for bytes
        raise InvalidHead(f"invalid Content-Length {value!r}")
    length = int(value)
    if earlier is not None and earlier != length:
        raise InvalidHead("two different Content-Length values")
    return length


__all__ = ["CONNECTION", "CONTENT_LENGTH", "TRANSFER_ENCODING", "InvalidHead", "encode_headers", "encode_trailers", "read_start", "read_start_py"]
