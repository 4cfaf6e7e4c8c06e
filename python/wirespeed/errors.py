"""The one error hierarchy of wirespeed: every class carries the HTTP status it answers with.

Strategy: this module owns the mapping from a failure to a status code. Both parser backends
report malformed input through `parse_error(status, detail)`, so a Rust error and an httptools
error become the same Python class in one place. Handlers may raise any `HTTPError` to answer
with its status. Nothing here knows about sockets or the event loop.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import ClassVar


class HTTPError(Exception):
    """An error that is answered with `status` and a short plain-text body."""

    status: ClassVar[int] = 500

    def __init__(self, detail: str | None = None, *, headers: dict[str, str] | None = None):
        self.detail = detail or ""
        self.headers = headers or {}
        super().__init__(self.detail or self.reason)

    @property
    def reason(self) -> str:
        return HTTPStatus(self.status).phrase

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


class ContentTooLarge(HTTPError):
    status = 413


class URITooLong(HTTPError):
    status = 414


class RequestHeaderFieldsTooLarge(HTTPError):
    status = 431


class InternalServerError(HTTPError):
    status = 500


class NotImplementedMethod(HTTPError):
    """501: a transfer coding or method the server does not implement."""

    status = 501


class ServiceUnavailable(HTTPError):
    status = 503


class HTTPVersionNotSupported(HTTPError):
    status = 505


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


class UnsupportedTransferCoding(ParseError, NotImplementedMethod):
    pass


class UnsupportedVersion(ParseError, HTTPVersionNotSupported):
    pass


_PARSE_ERRORS: dict[int, type[ParseError]] = {
    400: BadRequestSyntax,
    413: BodyTooLarge,
    414: TargetTooLong,
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
