"""`Expect: 100-continue` end to end (RFC 9110 §10.1.1), on both parser backends.

Strategy: this module owns the proof that a client which holds its body back until the server
asks for it is never stalled, whatever the body's size. Each row's head goes to a live server
over a raw socket; the client then waits (a bounded wait: a stall fails the row) for what the
row says comes first: `100 Continue`, after which it sends the body and reads the final
answer, or the final answer alone (a refusal, a handler that does not read, an expectation
that HTTP/1.0 ignores). curl, told to wait 30 s for the interim answer, checks the same from a
real client.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from http_wire import Connection
from wirespeed import App, Request, Response

ServerFor = Callable[..., Any]

WAIT = 5.0  # seconds a client waits for each answer before the row fails
SMALL = b"hello"
LARGE = bytes(range(256)) * 400  # 102,400 bytes: over the default inline_body_size (64 KiB)


def expect_app() -> App:
    app = App()

    async def echo(request: Request) -> Response:
        return Response(await request.body(), content_type="application/octet-stream")

    def ignore(request: Request) -> str:
        return "not read"

    async def read_late(request: Request) -> Response:
        await asyncio.sleep(1.0)
        return Response(await request.body(), content_type="application/octet-stream")

    app.add_route("/echo", echo, ("POST", "PUT"))
    app.add_route("/read-late", read_late, ("POST",))
    app.add_route("/ignore", ignore, ("POST",))
    return app


def head(path: bytes, fields: bytes, version: bytes = b"HTTP/1.1") -> bytes:
    return b"POST " + path + b" " + version + b"\r\nHost: a\r\n" + fields + b"\r\n"


def length(body: bytes) -> bytes:
    return b"Content-Length: %d\r\n" % len(body)


def chunked_body(body: bytes) -> bytes:
    return b"%x\r\n%b\r\n0\r\n\r\n" % (len(body), body)


EXPECT = b"Expect: 100-continue\r\n"
CHUNKED = b"Transfer-Encoding: chunked\r\n"


@dataclass(frozen=True)
class Row:
    head: bytes
    body: bytes  # what the client sends after the 100 (or right after the head without one)
    interim: bool  # a 100 Continue comes first, and the body waits for it
    status: int  # the final answer
    answer: bytes | None = None  # its body, where the row pins it
    closes: bool = False  # the connection ends after the final answer
    config: dict[str, int] = field(default_factory=dict)


def row(row_id: str, rfc: str, **values: Any) -> Any:
    return pytest.param(Row(**values), id=f"{row_id}-rfc{rfc.replace('§', '-')}")


ROWS = [
    # The interim answer, then the final one, for any body size and framing.
    row("small-body", "9110§10.1.1", head=head(b"/echo", EXPECT + length(SMALL)), body=SMALL, interim=True, status=200, answer=SMALL),
    row("large-body", "9110§10.1.1", head=head(b"/echo", EXPECT + length(LARGE)), body=LARGE, interim=True, status=200, answer=LARGE),
    row("one-byte-body", "9110§10.1.1", head=head(b"/echo", EXPECT + length(b"x")), body=b"x", interim=True, status=200, answer=b"x"),
    row("chunked-body", "9110§10.1.1", head=head(b"/echo", EXPECT + CHUNKED), body=chunked_body(SMALL), interim=True, status=200, answer=SMALL),
    row("value-case-insensitive", "9110§10.1.1", head=head(b"/echo", b"Expect: 100-Continue\r\n" + length(SMALL)), body=SMALL, interim=True, status=200, answer=SMALL),
    row("value-as-list", "9110§5.6.1", head=head(b"/echo", b"Expect: , 100-continue\r\n" + length(SMALL)), body=SMALL, interim=True, status=200, answer=SMALL),
    row("small-body-zero-inline-limit", "9110§10.1.1", head=head(b"/echo", EXPECT + length(SMALL)), body=SMALL, interim=True, status=200, answer=SMALL, config={"inline_body_size": 0}),
    # No content: nothing to wait for (§10.1.1: the server may omit the 100).
    row("no-content", "9110§10.1.1", head=head(b"/echo", EXPECT + length(b"")), body=b"", interim=False, status=200, answer=b""),
    # A handler that answers without reading: the final answer at once, then the close
    # (the client may never send the body it holds back).
    row("not-read-small", "9110§10.1.1", head=head(b"/ignore", EXPECT + length(SMALL)), body=b"", interim=False, status=200, answer=b"not read", closes=True),
    row("not-read-large", "9110§10.1.1", head=head(b"/ignore", EXPECT + length(LARGE)), body=b"", interim=False, status=200, answer=b"not read", closes=True),
    row("unrouted-path", "9110§10.1.1", head=head(b"/nowhere", EXPECT + length(SMALL)), body=b"", interim=False, status=404,
        answer=b"404 Not Found", closes=True),
    # Refused from the head alone, before any 100, and the connection ends.
    row("unknown-expectation", "9110§10.1.1", head=head(b"/echo", b"Expect: 200-ok\r\n" + length(SMALL)), body=b"", interim=False, status=417,
        answer=b"417 Expectation Failed: unsupported expectation", closes=True),
    row("continue-with-parameter", "9110§10.1.1", head=head(b"/echo", b"Expect: 100-continue;a=b\r\n" + length(SMALL)), body=b"", interim=False,
        status=417, closes=True),
    row("continue-and-unknown", "9110§10.1.1", head=head(b"/echo", b"Expect: 100-continue, foo\r\n" + length(SMALL)), body=b"", interim=False,
        status=417, closes=True),
    row("over-body-limit", "9110§15.5.14", head=head(b"/echo", EXPECT + length(b"x" * 17)), body=b"", interim=False, status=413,
        answer=b"413 Content Too Large: request body too large", closes=True, config={"max_body_size": 16}),
    # HTTP/1.0: expectations are ignored, the client sends its body at once.
    row("http10-ignored", "9110§10.1.1", head=head(b"/echo", EXPECT + length(SMALL), b"HTTP/1.0"), body=SMALL, interim=False, status=200,
        answer=SMALL, closes=True),
    row("http10-unknown-ignored", "9110§10.1.1", head=head(b"/echo", b"Expect: 200-ok\r\n" + length(SMALL), b"HTTP/1.0"), body=SMALL,
        interim=False, status=200, answer=SMALL, closes=True),
]


@pytest.mark.parametrize("case", ROWS)
def test_expect_row(server_for: ServerFor, case: Row) -> None:
    server = server_for(expect_app(), **case.config)
    with Connection(server.port, timeout=WAIT) as connection:
        if case.interim:
            connection.send(case.head)
            interim = connection.read_response()  # raises TimeoutError if the server stalls
            assert (interim.status, interim.reason, interim.headers) == (100, "Continue", [])
            connection.send(case.body)
        else:
            connection.send(case.head + case.body)
        final = connection.read_response()
        assert final.status == case.status, (final.status, final.body[:200])
        if case.answer is not None:
            assert final.body == case.answer
        if case.closes:
            assert final.header("connection") == "close"
            assert connection.read_until_close() == b""
        else:
            # The connection goes on: the next request is answered, and nothing else came.
            connection.send(b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nnext")
            after = connection.read_response()
            assert (after.status, after.body) == (200, b"next")


def test_pipelined_after_continue(server_for: ServerFor) -> None:
    """A request sent right after the body it held back is answered after it, in order."""
    server = server_for(expect_app())
    with Connection(server.port, timeout=WAIT) as connection:
        connection.send(head(b"/echo", EXPECT + length(SMALL)))
        assert connection.read_response().status == 100
        connection.send(SMALL + b"PUT /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc")
        first, second = connection.read_response(), connection.read_response()
        assert (first.status, first.body, second.status, second.body) == (200, SMALL, 200, b"abc")


def test_body_sent_without_waiting(server_for: ServerFor) -> None:
    """A client that sends its body with the head anyway is answered the same (the interim
    answer may come, and is then before the final one)."""
    server = server_for(expect_app())
    with Connection(server.port, timeout=WAIT) as connection:
        connection.send(head(b"/echo", EXPECT + length(SMALL)) + SMALL)
        response = connection.read_response()
        if response.status == 100:
            response = connection.read_response()
        assert (response.status, response.body) == (200, SMALL)


def test_waiting_for_continue_is_not_a_stalled_body(server_for: ServerFor) -> None:
    """The body timeout starts once the 100 Continue has asked for the body: until then it is
    the handler's turn, however long it takes to get to reading."""
    server = server_for(expect_app(), body_timeout=0.3)
    with Connection(server.port, timeout=WAIT) as connection:
        connection.send(head(b"/read-late", EXPECT + length(SMALL)))
        interim = connection.read_response()
        assert interim.status == 100, (interim.status, interim.body)
        connection.send(SMALL)
        final = connection.read_response()
        assert (final.status, final.body) == (200, SMALL)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed (make test installs it)")
@pytest.mark.parametrize("body", [SMALL, LARGE], ids=["small", "large"])
def test_curl_waits_for_continue(server_for: ServerFor, body: bytes) -> None:
    server = server_for(expect_app())
    result = subprocess.run(
        ["curl", "-sS", "-v", "--expect100-timeout", "30", "-H", "Expect: 100-continue",
         "-H", "Content-Type: application/octet-stream", "--data-binary", "@-", f"{server.url}/echo"],
        input=body,
        capture_output=True,
        timeout=15,  # far below curl's 30 s: a stall fails here, not after curl gives up waiting
        check=True,
    )
    assert b"< HTTP/1.1 100 Continue" in result.stderr
    assert result.stdout == body
