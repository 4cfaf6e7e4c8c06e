"""The one error hierarchy of wirespeed: every class carries the HTTP status it answers with.

Strategy: this module owns the mapping from a failure to a status code. Both parser backends
report malformed input through `parse_error(status, detail)`, so a Rust error and an httptools
error become the same Python class in one place. Handlers may raise any `HTTPError` to answer
with its status. Nothing here knows about sockets or the event loop.
"""

from __future__ import annotations

from enum import Enum
from typing import ClassVar

from .status import reason_phrase


class HTTPError(Exception):
    """An error that is answered with `status` and a short plain-text body."""

    status: ClassVar[int] = 500

    def __init__(self, detail: str | None = None, *, headers: dict[str, str] | None = None):
        self.detail = detail or ""
        self.headers = headers or {}
        super().__init__(self.detail or self.reason)

    @property
    def reason(self) -> str:
        return reason_phrase(self.status)

    def body(self) -> bytes:
        """The plain-text body: `400 Bad Request: conflicting Content-Length`."""
        text = f"{self.status} {self.reason}"
        if self.detail:
            text += f": {self.detail}"
        return text.encode("utf-8", "replace")


class BadRequest(HTTPError):
    status = 400


class Forbidden(HTTPError):
    status = 403


class NotFound(HTTPError):
    status = 404


class MethodNotAllowed(HTTPError):
    status = 405

    def __init__(self, allowed: list[str] | tuple[str, ...], detail: str | None = None):
        super().__init__(detail, headers={"Allow": ", ".join(allowed)})
        self.allowed = tuple(allowed)


class RequestTimeout(HTTPError):
    status = 408


class PreconditionFailed(HTTPError):
    """412: an If-Match or If-Unmodified-Since condition is false (RFC 9110 §13.1.1, §13.1.4)."""

    status = 412


class RangeNotSatisfiable(HTTPError):
    """416: no requested range overlaps the representation; says its length (RFC 9110 §15.5.17)."""

    status = 416

    def __init__(self, size: int, detail: str | None = None):
        super().__init__(detail, headers={"Content-Range": f"bytes */{size}"})
        self.size = size


class ContentTooLarge(HTTPError):
    status = 413


class URITooLong(HTTPError):
    status = 414


class ExpectationFailed(HTTPError):
    """417: the request's Expect field holds an expectation the server cannot meet
    (RFC 9110 §15.5.18); only `100-continue` is known (§10.1.1)."""

    status = 417


class RequestHeaderFieldsTooLarge(HTTPError):
    status = 431


class UpgradeRequired(HTTPError):
    """426: the client must switch to another protocol version, which `headers` name (a
    WebSocket handshake of a version other than 13 gets `Sec-WebSocket-Version: 13`)."""

    status = 426


class InternalServerError(HTTPError):
    status = 500


class NotImplementedMethod(HTTPError):
    """501: a transfer coding or method the server does not implement."""

    status = 501


class ServiceUnavailable(HTTPError):
    status = 503


class HTTPVersionNotSupported(HTTPError):
    status = 505


class WebSocketError(Exception):
    """A fault on an open WebSocket: the connection is closed with `close_code` (RFC 6455
    §7.4.1) and `reason`. The frame readers (Rust and Python) name faults by these codes."""

    close_code: ClassVar[int] = 1011

    def __init__(self, reason: str = "") -> None:
        self.reason = reason
        super().__init__(reason or f"close code {self.close_code}")


class WebSocketProtocolError(WebSocketError):
    """1002: a frame or message the protocol forbids (RFC 6455 §5)."""

    close_code = 1002


class WebSocketInvalidData(WebSocketError):
    """1007: text that is not UTF-8, or a payload that does not inflate (RFC 6455 §8.1)."""

    close_code = 1007


class WebSocketMessageTooBig(WebSocketError):
    """1009: a frame or message, after decompression, over the configured limit."""

    close_code = 1009


_WEBSOCKET_ERRORS: dict[int, type[WebSocketError]] = {
    1002: WebSocketProtocolError,
    1007: WebSocketInvalidData,
    1009: WebSocketMessageTooBig,
}


def websocket_error(close_code: int, reason: str) -> WebSocketError:
    """The exception for a fault a frame reader reports as (close code, reason)."""
    return _WEBSOCKET_ERRORS.get(close_code, WebSocketError)(reason)


class ParseError(HTTPError):
    """Malformed or over-limit request bytes. The connection is closed after the answer.

    The concrete classes below also derive from the class of their status, so a handler or a
    test can catch either `ParseError` or, say, `ContentTooLarge`.
    """


class BadRequestSyntax(ParseError, BadRequest):
    pass


class BodyTooLarge(ParseError, ContentTooLarge):
    pass


class TargetTooLong(ParseError, URITooLong):
    pass


class HeadTooLarge(ParseError, RequestHeaderFieldsTooLarge):
    pass


class UnsupportedExpectation(ParseError, ExpectationFailed):
    """Refused from the head alone, like every parse error, so the connection closes after
    the answer: a client may or may not send the body it announced once told its
    expectation fails, so where the next request would start is unknown."""


class UnsupportedTransferCoding(ParseError, NotImplementedMethod):
    pass


class UnsupportedVersion(ParseError, HTTPVersionNotSupported):
    pass


_PARSE_ERRORS: dict[int, type[ParseError]] = {
    400: BadRequestSyntax,
    413: BodyTooLarge,
    414: TargetTooLong,
    417: UnsupportedExpectation,
    431: HeadTooLarge,
    501: UnsupportedTransferCoding,
    505: UnsupportedVersion,
}


def parse_error(status: int, detail: str) -> ParseError:
    """The exception for a parser failure; both parser backends call this and nothing else."""
    try:
        cls = _PARSE_ERRORS[status]
    except KeyError:
        raise ValueError(f"parsers report only {sorted(_PARSE_ERRORS)}, not {status}") from None
    return cls(detail)


class ParseFault(Enum):
    """Every way the parsers reject a request: the (status, detail) each is answered with.

    This is the one Python copy of `ParseFault` in rust/error.rs (one name on both sides), in
    the same order and with the same kind names (in upper snake case); the detail phrases of `detail()` there are canonical, and
    tests/test_differential.py checks that the two tables are equal. The httptools twin reports
    every failure as `ParseFault.X.error()` and nothing else, so both backends answer the same
    input with the same status and the same body text.
    """

    # Line endings (RFC 9112 §2.2).
    BARE_LF = (400, "bare LF line ending")
    BARE_CR = (400, "bare CR without LF")
    # Request line (RFC 9112 §3).
    INVALID_METHOD = (400, "invalid method")
    INVALID_REQUEST_LINE = (400, "invalid request line")
    INVALID_TARGET = (400, "invalid character in request target")
    INVALID_TARGET_FORM = (400, "invalid request target")
    ASTERISK_FORM_NOT_OPTIONS = (400, "asterisk-form target is only allowed with OPTIONS")
    CONNECT_NEEDS_AUTHORITY = (400, "CONNECT needs an authority-form target")
    TARGET_TOO_LONG = (414, "request target too long")
    INVALID_VERSION = (400, "invalid HTTP version")
    UNSUPPORTED_VERSION = (505, "unsupported HTTP version")
    # Header fields (RFC 9112 §5, RFC 9110 §5.5).
    INVALID_HEADER_NAME = (400, "invalid character in header name")
    WHITESPACE_BEFORE_COLON = (400, "whitespace between header name and colon")
    OBS_FOLD = (400, "obsolete line folding in header")
    INVALID_HEADER_VALUE = (400, "invalid character in header value")
    TOO_MANY_HEADERS = (431, "too many header fields")
    HEAD_TOO_LARGE = (431, "request head too large")
    # Host (RFC 9112 §3.2).
    MISSING_HOST = (400, "missing Host header")
    DUPLICATE_HOST = (400, "duplicate Host header")
    INVALID_HOST = (400, "invalid Host header")
    # Body framing (RFC 9112 §6).
    CONTENT_LENGTH_AND_TRANSFER_ENCODING = (400, "both Content-Length and Transfer-Encoding")
    INVALID_CONTENT_LENGTH = (400, "invalid Content-Length")
    CONFLICTING_CONTENT_LENGTH = (400, "conflicting Content-Length")
    BODY_TOO_LARGE = (413, "request body too large")
    INVALID_TRANSFER_ENCODING = (400, "invalid Transfer-Encoding")
    TRANSFER_ENCODING_NOT_CHUNKED = (400, "final transfer coding is not chunked")
    CHUNKED_TWICE = (400, "chunked applied more than once")
    TRANSFER_ENCODING_IN_HTTP10 = (400, "Transfer-Encoding in an HTTP/1.0 request")
    UNSUPPORTED_TRANSFER_CODING = (501, "unsupported transfer coding")
    # Expectations (RFC 9110 §10.1.1).
    UNSUPPORTED_EXPECTATION = (417, "unsupported expectation")
    # Chunked coding (RFC 9112 §7.1).
    INVALID_CHUNK_SIZE = (400, "invalid chunk size")
    INVALID_CHUNK_EXTENSION = (400, "invalid chunk extension")
    CHUNK_EXTENSION_TOO_LONG = (400, "chunk extension too long")
    MISSING_CHUNK_CRLF = (400, "missing CRLF after chunk data")
    TRAILERS_TOO_LARGE = (431, "trailer section too large")

    @property
    def status(self) -> int:
        return self.value[0]  # type: ignore[no-any-return]

    @property
    def detail(self) -> str:
        return self.value[1]  # type: ignore[no-any-return]

    def error(self) -> ParseError:
        """The exception to report this fault with."""
        return parse_error(*self.value)
