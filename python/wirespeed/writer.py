"""Responses on the wire: what a handler returned, turned into the bytes of a response.

Strategy: this module owns the bytes of a response head and of complete bodies. Status lines
are computed once for every known code; the `Server` and `Date` lines, and the heads of the
common `200 OK` answers up to their Content-Length, are recomputed at most once a second by
`ResponseWriter.tick` (a loop timer in the server), never per request. The plain return
values (str, bytes, dict, list) take a path that builds no Response object. Every head the
server sends is built here: complete answers, error answers (parse errors, refusals, 500s),
and the heads of streamed and file bodies. Whether a head carries a Connection line is decided
by the protocol (`HttpProtocol.connection_line`) and handed in as one of the CONNECTION_*
lines. It knows nothing of routing, handlers or sockets; streamed and file bodies are sent by
senders.py.
"""

from __future__ import annotations

import time
from email.utils import formatdate
from typing import Any

from .errors import HTTPError
from .response import FileResponse, Response, StreamingResponse, dump_json, encode_headers, error_response, to_response
from .status import REASONS

STATUS_LINES: dict[int, bytes] = {
    status: f"HTTP/1.1 {status} {reason}\r\n".encode("ascii") for status, reason in REASONS.items()
}

# RFC 9110 §8.6 / §15: no body and no Content-Length in 1xx and 204; 304 has no body.
NO_BODY_STATUSES = frozenset({100, 101, 102, 103, 204, 304})

CONNECTION_CLOSE = b"Connection: close\r\n"
CONNECTION_KEEP_ALIVE = b"Connection: keep-alive\r\n"
CHUNKED = b"Transfer-Encoding: chunked\r\n"
CONTINUE_100 = b"HTTP/1.1 100 Continue\r\n\r\n"
LAST_CHUNK = b"0\r\n\r\n"

TEXT_PLAIN = b"Content-Type: text/plain; charset=utf-8\r\n"
APPLICATION_JSON = b"Content-Type: application/json\r\n"
OCTET_STREAM = b"Content-Type: application/octet-stream\r\n"


# Bounds of the cache of encoded str results: how many, and the largest body kept.
TEXT_TAIL_CACHE_SIZE = 256
TEXT_TAIL_CACHE_BODY = 1024


def status_line(status: int) -> bytes:
    line = STATUS_LINES.get(status)
    if line is None:
        if not 100 <= status <= 999:
            raise ValueError(f"invalid status code {status}")
        line = f"HTTP/1.1 {status} \r\n".encode("ascii")
    return line


def content_length(size: int) -> bytes:
    return b"Content-Length: %d\r\n" % size


def chunk(data: bytes) -> bytes:
    """One chunk of a chunked body (RFC 9112 §7.1); empty data would end the body, so refuse it."""
    if not data:
        raise ValueError("an empty chunk would end the body")
    return b"%x\r\n%b\r\n" % (len(data), data)


class ResponseWriter:
    """Encodes responses. One per server: it caches the Date and Server lines."""

    __slots__ = ("common", "ok", "ok_text", "ok_json", "ok_bytes", "_server_line", "_second", "_text_tails")

    def __init__(self, server_header: str | None) -> None:
        self._server_line = encode_headers([("Server", server_header)]) if server_header is not None else b""
        self._second = -1
        # `Server` and `Date` lines, the part of every head that changes at most once a second.
        self.common = b""
        # `200 OK` heads up to the Content-Length line, for str, dict/list and bytes results.
        self.ok = self.ok_text = self.ok_json = self.ok_bytes = b""
        # str result -> the rest of its keep-alive response after `ok`; handlers tend to
        # return the same few strings, so their encoding is done once (bounded, small ones).
        self._text_tails: dict[str, bytes] = {}
        self.tick()

    def tick(self) -> None:
        """Recompute the Date line if the second has changed. Called by a timer, not per request."""
        now = int(time.time())
        if now != self._second:
            self._second = now
            common = self.common = self._server_line + b"Date: " + formatdate(now, usegmt=True).encode() + b"\r\n"
            ok = self.ok = STATUS_LINES[200] + common
            self.ok_text = ok + TEXT_PLAIN
            self.ok_json = ok + APPLICATION_JSON
            self.ok_bytes = ok + OCTET_STREAM

    def head(self, status: int, extra: bytes, length: bytes, connection: bytes) -> bytes:
        """A full response head.

        `extra` is pre-encoded header lines (content type and user headers); `length` is a
        `content_length` line, `CHUNKED`, or b"" (no body, or a body that ends at the close);
        `connection` is b"" or one of the CONNECTION_* lines.
        """
        return (STATUS_LINES.get(status) or status_line(status)) + self.common + extra + length + connection + b"\r\n"

    def keep_alive_answer(self, status: int, lines: bytes, body: bytes) -> bytes:
        """A whole answer with its header lines encoded already (an ASGI app's), to a
        keep-alive HTTP/1.1 request that is not HEAD: the case that needs no Connection line."""
        if status == 200:
            return b"%s%sContent-Length: %d\r\n\r\n%s" % (self.ok, lines, len(body), body)
        head = (STATUS_LINES.get(status) or status_line(status)) + self.common
        if status in NO_BODY_STATUSES:
            return head + lines + b"\r\n"
        return b"%s%sContent-Length: %d\r\n\r\n%s" % (head, lines, len(body), body)

    def keep_alive_result(self, result: Any, request: Any = None) -> bytes:
        """`result(result, b"", False)`: the answer to a keep-alive HTTP/1.1 GET or the like.
        `request`, the request answered, is for a writer that records answers (the access
        log's); this one does not look at it."""
        if result.__class__ is str:
            tail = self._text_tails.get(result)
            if tail is None:
                body = result.encode()
                tail = TEXT_PLAIN + content_length(len(body)) + b"\r\n" + body
                if len(body) <= TEXT_TAIL_CACHE_BODY and len(self._text_tails) < TEXT_TAIL_CACHE_SIZE:
                    self._text_tails[result] = tail
            return self.ok + tail
        if result.__class__ is dict:
            body = dump_json(result)
            return b"%sContent-Length: %d\r\n\r\n%s" % (self.ok_json, len(body), body)
        return self.result(result, b"", False)

    def result(self, result: Any, connection: bytes, head_only: bool) -> bytes:
        """The whole response for a handler's return value (not a streaming or file response).

        str is text/plain, dict and list are JSON, bytes is application/octet-stream, None is
        204, a Response is sent as it says. Raises TypeError or ValueError for anything that
        cannot be sent.
        """
        kind = result.__class__
        if kind is str:
            prefix = self.ok_text
            body = result.encode()
        elif kind is dict or kind is list:
            prefix = self.ok_json
            body = dump_json(result)
        elif kind is bytes:
            prefix = self.ok_bytes
            body = result
        else:
            return self.response(to_response(result), connection, head_only)
        if head_only:
            return b"%sContent-Length: %d\r\n%s\r\n" % (prefix, len(body), connection)
        return b"%sContent-Length: %d\r\n%s\r\n%s" % (prefix, len(body), connection, body)

    def response(self, response: Response, connection: bytes, head_only: bool) -> bytes:
        status = response.status
        if status in NO_BODY_STATUSES:
            return self.head(status, response.head_extra(), b"", connection)
        body = response.body
        if not connection and not head_only:
            return b"".join((STATUS_LINES.get(status) or status_line(status), self.common, response.fixed_lines(), body))
        if head_only:
            return self.head(status, response.head_extra(), content_length(response.declared_length), connection)
        return self.head(status, response.head_extra(), content_length(len(body)), connection) + body

    def error(self, error: HTTPError, connection: bytes, head_only: bool = False) -> bytes:
        """The plain-text answer for `error` (its status, its detail, its headers)."""
        return self.response(error_response(error), connection, head_only)

    def stream_head(self, response: StreamingResponse, connection: bytes, chunked: bool) -> bytes:
        """The head of a body sent as it is produced: chunked (RFC 9112 §7.1), or, where the
        client cannot take chunks (HTTP/1.0), with no length: the body ends at the close."""
        status = response.status
        length = CHUNKED if chunked and status not in NO_BODY_STATUSES else b""
        return self.head(status, response.head_extra(), length, connection)

    def file_head(self, response: FileResponse, connection: bytes) -> bytes:
        """The head of a file body: its length is known before a byte of it is read."""
        status = response.status
        length = b"" if status in NO_BODY_STATUSES else content_length(response.size)
        return self.head(status, response.head_extra(), length, connection)
