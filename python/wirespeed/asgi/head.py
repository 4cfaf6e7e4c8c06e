"""The head an ASGI app asks for: its `http.response.start` message, checked and encoded.

Strategy: this module owns turning an app's status and header list into header lines the
writer can put on the wire, and refusing what must never reach it. Names must be tokens
(RFC 9110 §5.1) and values must hold no CR, LF or NUL (§5.5): a value with a line break in it
would let the app (or whoever fills its headers) split the response. The framing fields are
the server's: Content-Length is taken out and kept as a number (the body is checked against
it), Transfer-Encoding is dropped (the server chunks when it must), Connection is read for
`close` and dropped (the server writes its own Connection line). The lines are encoded once,
in one join, and checked as a block: n lines hold exactly n CRs and n LFs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

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


class Head:
    """A checked response head: status, the header lines, and what the framing fields said."""

    __slots__ = ("status", "lines", "length", "close", "trailers")

    def __init__(self, status: int, lines: bytes, length: int | None, close: bool, trailers: bool) -> None:
        self.status = status
        self.lines = lines  # "name: value\r\n" for every field the app sent but the framing
        self.length = length  # the app's Content-Length, or None
        self.close = close  # the app sent `Connection: close`
        self.trailers = trailers  # the app will send http.response.trailers


def read_start(message: Any) -> Head:
    """The Head of an `http.response.start` message; raises InvalidHead (or TypeError for a
    value of the wrong type) for a status or field that cannot be sent."""
    status = message["status"]
    if status.__class__ is not int:
        raise InvalidHead(f"status must be an int, not {type(status).__name__}")
    # 1xx answers are interim (RFC 9110 §15.2): as the one answer to a request they would
    # leave the client waiting for the final one.
    if not 200 <= status <= 599:
        raise InvalidHead(f"status {status} is not a final status code (200..599)")
    length: int | None = None
    close = False
    parts: list[bytes] = []
    lines = 0
    for name, value in message.get("headers", ()):
        kind = _NAME_KINDS.get(name)
        if kind is None:
            kind = _name_kind(name)
        if value.__class__ is not bytes:
            value = _as_bytes(value, name)
        if kind:
            if kind is CONTENT_LENGTH:
                length = _content_length(value, length)
            elif kind is CONNECTION:
                close = close or b"close" in [token.strip(b" \t") for token in value.lower().split(b",")]
            continue
        parts += (name, b": ", value, b"\r\n")
        lines += 1
    block = b"".join(parts)
    if lines and (block.count(b"\n") != lines or block.count(b"\r") != lines or b"\0" in block):
        raise InvalidHead("a header value holds CR, LF or NUL")
    return Head(status, block, length, close, bool(message.get("trailers", False)))


def encode_trailers(headers: Iterable[Any]) -> bytes:
    """The trailer section's field lines (RFC 9112 §7.1.2), checked like header lines. The
    framing fields are not allowed in it (RFC 9110 §6.5.1) and are dropped."""
    parts: list[bytes] = []
    lines = 0
    for name, value in headers:
        kind = _NAME_KINDS.get(name)
        if kind is None:
            kind = _name_kind(name)
        if value.__class__ is not bytes:
            value = _as_bytes(value, name)
        if kind:
            continue
        parts += (name, b": ", value, b"\r\n")
        lines += 1
    block = b"".join(parts)
    if lines and (block.count(b"\n") != lines or block.count(b"\r") != lines or b"\0" in block):
        raise InvalidHead("a trailer value holds CR, LF or NUL")
    return block


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


__all__ = ["CONNECTION", "CONTENT_LENGTH", "Head", "InvalidHead", "TRANSFER_ENCODING", "encode_trailers", "read_start"]
