"""Unit tests of the protocol alone, through a recording transport: writes per buffer, order."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from mock_transport import RecordingTransport
from mock_transport import connect as connect_app
from mock_transport import small_app
from wirespeed import App, Config, Request
from wirespeed.protocol import HttpProtocol


def connect(backend: str, **settings: Any) -> tuple[HttpProtocol, RecordingTransport]:
    return connect_app(small_app(), Config(parser=backend, **settings))  # type: ignore[arg-type]


async def test_one_write_per_received_buffer(backend: str) -> None:
    protocol, transport = connect(backend)
    protocol.data_received(b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /async HTTP/1.1\r\nHost: x\r\n\r\n" * 8)
    assert len(transport.writes) == 1
    assert transport.writes[0].count(b"HTTP/1.1 200 OK\r\n") == 16
    assert transport.writes[0].count(b"\r\n\r\nasync") == 8


async def test_requests_behind_a_suspended_handler_wait_and_then_go_in_one_write(backend: str) -> None:
    protocol, transport = connect(backend)
    protocol.data_received(b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /wait HTTP/1.1\r\nHost: x\r\n\r\n" + b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" * 3)
    assert len(transport.writes) == 1 and transport.writes[0].count(b"200 OK") == 1
    await asyncio.sleep(0.05)
    assert len(transport.writes) == 2
    later = transport.writes[1]
    assert later.count(b"200 OK") == 4
    assert later.index(b"waited") < later.index(b"Hello, World!")


async def test_pipelined_queue_pauses_reading(backend: str) -> None:
    protocol, transport = connect(backend, max_pipelined=4)
    protocol.data_received(b"GET /wait HTTP/1.1\r\nHost: x\r\n\r\n" + b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" * 6)
    assert transport.reading is False
    await asyncio.sleep(0.05)
    assert transport.reading is True
    assert b"".join(transport.writes).count(b"200 OK") == 7


@pytest.mark.parametrize("keep_alive", [True, False])
async def test_close_after_non_keep_alive(backend: str, keep_alive: bool) -> None:
    protocol, transport = connect(backend)
    connection = b"" if keep_alive else b"Connection: close\r\n"
    protocol.data_received(b"GET / HTTP/1.1\r\nHost: x\r\n" + connection + b"\r\n")
    # Closing is in stages (RFC 9112 §9.6): our side first, the rest when the client is done.
    assert transport.eof_written is (not keep_alive)
    assert not transport.closed
    assert protocol.eof_received() is False  # the transport closes now


async def test_many_distinct_text_results_are_each_encoded_right(backend: str) -> None:
    # More distinct strings than the writer keeps encoded, and one too large to keep.
    app = App()
    texts = [f"text number {i} é" for i in range(300)] + ["x" * 5000]

    @app.get("/t/{index:int}")
    def text(request: Request, index: int) -> str:
        return texts[index]

    protocol, transport = connect_app(app, Config(parser=backend))  # type: ignore[arg-type]
    for _ in range(2):
        for i, expected in enumerate(texts):
            transport.writes.clear()
            protocol.data_received(b"GET /t/%d HTTP/1.1\r\nHost: x\r\n\r\n" % i)
            (data,) = transport.writes
            body = expected.encode()
            assert data.endswith(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))


async def test_nothing_is_answered_after_a_closing_answer_in_the_same_buffer(backend: str) -> None:
    """The protocol, not the parser, decided to close (a refused 100-continue): the request
    behind it in the same buffer is not answered."""
    protocol, transport = connect(backend)
    protocol.data_received(
        b"POST /nowhere HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
    )
    written = b"".join(transport.writes)
    assert written.startswith(b"HTTP/1.1 404 Not Found\r\n")
    assert written.count(b"HTTP/1.1") == 1 and b"Connection: close\r\n" in written
    assert transport.eof_written


async def test_shutdown_answers_one_request_of_a_pipelined_buffer(backend: str) -> None:
    protocol, transport = connect(backend)
    protocol.close_after_response()
    protocol.data_received(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" * 3)
    written = b"".join(transport.writes)
    assert written.count(b"Hello, World!") == 1 and b"Connection: close\r\n" in written
