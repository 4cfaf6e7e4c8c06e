"""A malformed body never gets a success answer, even from a handler that never reads it.

Strategy: this module owns the proof that an answer is never a success for a message that
turned out invalid. Every row of the attack and parser tables whose body breaks off (a bad
chunk size, extension or line ending, a missing CRLF or last chunk, a body over the limit) is
sent to live servers, on both parser backends, whose handlers answer at once without reading
the body: a plain function returning 200, and an `async def` that suspends first. The row
goes whole, and split into two writes (after the head, in the middle of the body, before its
last byte) with a pause between them, so the handler has answered before the bad bytes
arrive. Either way the client must read exactly one answer, the body's error (status and
detail as the parser names them), and then the close; never a 2xx. A streaming handler is
held to the same when the row arrives whole. Then the other ways a body can break off: the
client closing its side, and the body timeout.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from attack_cases import ATTACKS
from conftest import BACKENDS, LiveServers
from http_wire import Connection, WireResponse
from parser_cases import CASES, Case, Err
from test_attacks_live import _check_error, _parser_detail
from wirespeed import App, Forbidden, Request, StreamingResponse

PAUSE = 0.05  # between the two writes of a split row: the server reads and answers the first


def _body_error_rows() -> list[Any]:
    """The table rows whose error cuts off the body of a request already reported."""
    rows = []
    for param in ATTACKS + CASES:
        case: Case = param.values[0]
        streaming = False
        for event in case.expected:
            if isinstance(event, tuple):
                streaming = event[5] is None
            elif event is None:
                streaming = False
            elif isinstance(event, Err) and streaming:
                rows.append(param)
                break
    return rows


BODY_ERROR_ROWS = _body_error_rows()


def unread_body_app(kind: str) -> App:
    """Answers every path at once without reading the body: from a plain function ("sync"),
    after suspending ("async"), with a streamed answer ("stream"), or with a 403 ("refuse")."""
    app = App()
    methods = ["GET", "POST", "PUT"]

    def sync(request: Request, rest: str) -> str:
        return "ok"

    async def suspending(request: Request, rest: str) -> dict[str, bool]:
        await asyncio.sleep(0.01)
        return {"ok": True}

    def refuse(request: Request, rest: str) -> str:
        raise Forbidden()

    def streamed(request: Request, rest: str) -> StreamingResponse:
        async def pieces() -> AsyncIterator[bytes]:
            yield b"o"
            yield b"k"

        return StreamingResponse(pieces())

    app.mount("/", {"sync": sync, "async": suspending, "stream": streamed, "refuse": refuse}[kind], methods)
    return app


@pytest.fixture(scope="module")
def servers() -> Iterator[LiveServers]:
    running = LiveServers(unread_body_app)
    yield running
    running.stop()


def _head_end(raw: bytes) -> int:
    return raw.index(b"\r\n\r\n") + 4


def _splits(raw: bytes) -> dict[str, int]:
    head_end = _head_end(raw)
    return {"after-head": head_end, "mid-body": (head_end + len(raw)) // 2, "before-last-byte": len(raw) - 1}


def _all_answers(connection: Connection) -> list[WireResponse]:
    """Every answer until the server closes the connection."""
    answers = []
    while True:
        try:
            answers.append(connection.read_response("POST"))
        except EOFError:
            assert connection.buffer == b"", f"a partial answer: {connection.buffer[:200]!r}"
            return answers


def _only_the_error(answers: list[WireResponse], backend: str, case: Case) -> None:
    assert [answer.status for answer in answers] == [case.expected[-1].status], [
        (answer.status, answer.body[:80]) for answer in answers
    ]
    error: Err = case.expected[-1]
    _check_error(answers[0], error, error.detail or _parser_detail(backend, case))


def _send_row(server: RunningServer, pieces: list[bytes]) -> list[WireResponse]:
    with Connection(server.port, timeout=5.0) as connection:
        connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for index, piece in enumerate(pieces):
            if index:
                time.sleep(PAUSE)
            try:
                connection.send(piece)
            except (BrokenPipeError, ConnectionResetError):
                break  # the server has answered and closed; what it said is still to be read
        return _all_answers(connection)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind", ["sync", "async", "stream"])
@pytest.mark.parametrize("case", BODY_ERROR_ROWS)
def test_whole_row_gets_only_the_error(servers: LiveServers, backend: str, kind: str, case: Case) -> None:
    server = servers.get(backend, case.config, kind)
    _only_the_error(_send_row(server, [case.raw]), backend, case)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind", ["sync", "async"])
@pytest.mark.parametrize("split", ["after-head", "mid-body", "before-last-byte"])
@pytest.mark.parametrize("case", BODY_ERROR_ROWS)
def test_split_row_gets_only_the_error(servers: LiveServers, backend: str, kind: str, split: str, case: Case) -> None:
    """The handler answers after the first write; the bad bytes come in the second."""
    at = _splits(case.raw)[split]
    server = servers.get(backend, case.config, kind)
    _only_the_error(_send_row(server, [case.raw[:at], case.raw[at:]]), backend, case)


def test_rows_cover_the_malformed_body_classes() -> None:
    """The classes of malformed chunked bodies are all in the table."""
    ids = " ".join(param.id for param in BODY_ERROR_ROWS)
    for name in ("negative", "plus", "0x", "underscore", "leading-space", "trailing-space", "overflow",
                 "size-empty", "bare-lf", "bare-cr", "cr-then-other", "no-crlf", "ext", "last-chunk-missing",
                 "over-body-limit", "trailer"):
        assert name in ids, name
    assert len(BODY_ERROR_ROWS) >= 40


CHUNKED_HEAD = b"POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind", ["sync", "async"])
def test_client_closing_before_the_last_chunk_gets_400(servers: LiveServers, backend: str, kind: str) -> None:
    """RFC 9112 §8: a chunked message cut off by the close is incomplete; the answer says so."""
    server = servers.get(backend, {}, kind)
    with Connection(server.port, timeout=5.0) as connection:
        connection.send(CHUNKED_HEAD + b"5\r\nhello\r\n")
        time.sleep(PAUSE)
        connection.sock.shutdown(socket.SHUT_WR)
        answers = _all_answers(connection)
    assert [answer.status for answer in answers] == [400]
    assert answers[0].body == b"400 Bad Request: the client closed its side before the body was complete"
    assert answers[0].header("connection") == "close"


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind", ["sync", "async"])
def test_body_timeout_replaces_the_held_answer(servers: LiveServers, backend: str, kind: str) -> None:
    """A body that stops arriving gets its 408 (RFC 9110 §15.5.9), not the handler's 200."""
    server = servers.get(backend, {"body_timeout": 0.3}, kind)
    with Connection(server.port, timeout=5.0) as connection:
        connection.send(CHUNKED_HEAD + b"5\r\nhel")
        started = time.monotonic()
        answers = _all_answers(connection)
    assert [answer.status for answer in answers] == [408]
    assert answers[0].body == b"408 Request Timeout: request body not received in time"
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind", ["sync", "async"])
def test_valid_body_still_gets_the_answer_and_keeps_alive(servers: LiveServers, backend: str, kind: str) -> None:
    """The answer waits for the end of the body, then goes, and the connection carries on:
    split anywhere, followed by a pipelined request."""
    server = servers.get(backend, {}, kind)
    body = b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
    raw = CHUNKED_HEAD + body + b"GET /next HTTP/1.1\r\nHost: a\r\n\r\n"
    for at in (len(CHUNKED_HEAD), len(CHUNKED_HEAD) + 9, len(CHUNKED_HEAD) + len(body) - 1):
        with Connection(server.port, timeout=5.0) as connection:
            connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            connection.send(raw[:at])
            time.sleep(PAUSE)
            assert not connection.is_closed(timeout=0.02) and connection.buffer == b"", "answered before the body ended"
            connection.sock.settimeout(5.0)
            connection.send(raw[at:])
            first, second = connection.read_response("POST"), connection.read_response()
            assert first.status == second.status == 200
            assert first.header("connection") is None
            connection.send(b"GET /again HTTP/1.1\r\nHost: a\r\n\r\n")
            assert connection.read_response().status == 200


@pytest.mark.parametrize("backend", BACKENDS)
def test_early_error_answer_is_not_held(servers: LiveServers, backend: str) -> None:
    """An error answer to a body still arriving goes out at once (RFC 9112 §9.3: a client
    watches for one while it sends); only success answers wait for the end of the body."""
    server = servers.get(backend, {}, "refuse")
    with Connection(server.port, timeout=5.0) as connection:
        connection.send(CHUNKED_HEAD + b"5\r\nhel")
        answer = connection.read_response("POST")
        assert answer.status == 403


EXPECTING_HEAD = b"POST /up HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n"


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind", ["sync", "async"])
def test_expect_continue_with_a_malformed_body_sent_anyway(servers: LiveServers, backend: str, kind: str) -> None:
    """A client may send the body without waiting for 100 Continue (RFC 9110 §10.1.1); if it
    is malformed and in hand when the answer would go, the error is the answer."""
    server = servers.get(backend, {}, kind)
    with Connection(server.port, timeout=5.0) as connection:
        connection.send(EXPECTING_HEAD + b"5\r\nhello\r\nzz\r\n")
        answers = _all_answers(connection)
    assert [answer.status for answer in answers] == [400]
    assert answers[0].body == b"400 Bad Request: invalid chunk size"


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind", ["sync", "async"])
def test_expect_continue_unread_is_answered_without_waiting(servers: LiveServers, backend: str, kind: str) -> None:
    """A client waiting for 100 Continue before it sends anything gets the handler's final
    answer at once (it is not held for a body that will not come) and the connection ends."""
    server = servers.get(backend, {}, kind)
    with Connection(server.port, timeout=5.0) as connection:
        connection.send(EXPECTING_HEAD)
        answer = connection.read_response("POST")
        assert answer.status == 200 and answer.header("connection") == "close"
        assert connection.is_closed(timeout=2.0)
