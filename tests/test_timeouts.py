"""Timeouts and connection limits against slow, idle and greedy clients, on live servers.

Strategy: this module owns the proof of the timeouts and limits of `Config`: header, body,
keep-alive and write timeouts, max_connections and max_requests_per_connection, each with a
short setting so the tests stay quick, and the slowloris attack: hundreds of connections that
trickle a head byte by byte must neither starve a normal client nor outlive the header
timeout. Real sockets on 127.0.0.1, both parser backends.
"""

from __future__ import annotations

import asyncio
import select
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable

import pytest

from conftest import RunningServer
from http_wire import Connection, exchange
from wirespeed import App, Request, StreamingResponse

ServerFor = Callable[..., RunningServer]
GET = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"


def app() -> App:
    application = App()

    @application.get("/")
    def hello(request: Request) -> str:
        return "hello"

    @application.post("/echo")
    async def echo(request: Request) -> bytes:
        return await request.body()

    @application.get("/flood")
    def flood(request: Request) -> StreamingResponse:
        async def pieces() -> AsyncIterator[bytes]:
            for _ in range(10_000):
                yield b"x" * 65536

        return StreamingResponse(pieces())

    return application


def closed_within(connection: Connection, seconds: float) -> float:
    """Seconds until the server closes `connection` (EOF or reset); fails after `seconds`."""
    start = time.monotonic()
    assert connection.is_closed(timeout=seconds), f"still open after {seconds} s"
    return time.monotonic() - start


def test_a_connection_that_sends_nothing_is_closed_at_the_header_timeout(server_for: ServerFor) -> None:
    server = server_for(app(), header_timeout=0.4)
    with Connection(server.port) as connection:
        waited = closed_within(connection, 3)
        assert connection.buffer == b""  # nothing of a request came: nothing to answer
    assert 0.3 <= waited <= 1.5


def test_a_partial_head_gets_408_at_the_header_timeout(server_for: ServerFor) -> None:
    server = server_for(app(), header_timeout=0.4)
    with Connection(server.port) as connection:
        connection.send(b"GET / HTTP/1.1\r\nHost: a\r\n")
        start = time.monotonic()
        response = connection.read_response()
        assert 0.3 <= time.monotonic() - start <= 1.5
        assert response.status == 408
        assert response.header("connection") == "close"
        assert response.body == b"408 Request Timeout: request head not received in time"
        assert connection.read_until_close() == b""


def test_the_header_timeout_covers_the_whole_head_not_the_gaps(server_for: ServerFor) -> None:
    """A byte every 100 ms keeps no connection alive past the header timeout."""
    server = server_for(app(), header_timeout=0.5)
    with Connection(server.port) as connection:
        start = time.monotonic()
        head = b"GET / HTTP/1.1\r\nHost: a\r\nX-Slow: " + b"s" * 100
        for byte in head:
            connection.send(bytes([byte]))
            answered, _, _ = select.select([connection.sock], [], [], 0.1)
            if answered or time.monotonic() - start > 3:
                break
        assert connection.read_response().status == 408
        assert 0.4 <= time.monotonic() - start < 1.5


def test_keep_alive_idle_connection_is_closed_plainly(server_for: ServerFor) -> None:
    server = server_for(app(), keep_alive_timeout=0.4, header_timeout=5)
    with Connection(server.port) as connection:
        connection.send(GET)
        assert connection.read_response().body == b"hello"
        waited = closed_within(connection, 3)
        assert connection.buffer == b""
    assert 0.3 <= waited <= 1.5


def test_keep_alive_timer_restarts_with_each_request(server_for: ServerFor) -> None:
    server = server_for(app(), keep_alive_timeout=0.5, header_timeout=5)
    with Connection(server.port) as connection:
        for _ in range(4):  # 4 x 0.3 s: longer than the timeout in all, shorter each time
            connection.send(GET)
            assert connection.read_response().body == b"hello"
            time.sleep(0.3)
        connection.send(GET)
        assert connection.read_response().body == b"hello"


def test_a_stalled_body_gets_408(server_for: ServerFor) -> None:
    server = server_for(app(), body_timeout=0.4, inline_body_size=0)
    with Connection(server.port) as connection:
        connection.send(b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n" + b"b" * 10)
        start = time.monotonic()
        response = connection.read_response()
        assert 0.3 <= time.monotonic() - start <= 1.5
        assert response.status == 408
        assert response.body == b"408 Request Timeout: request body not received in time"
        assert response.header("connection") == "close"
        assert connection.read_until_close() == b""


def test_a_slow_but_steady_body_is_not_cut(server_for: ServerFor) -> None:
    server = server_for(app(), body_timeout=0.5, inline_body_size=0)
    with Connection(server.port) as connection:
        connection.send(b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n")
        for _ in range(10):  # 10 x 0.2 s: far longer than the timeout in all
            time.sleep(0.2)
            connection.send(b"b")
        assert connection.read_response().body == b"b" * 10


def test_a_client_that_stops_reading_is_cut_at_the_write_timeout(server_for: ServerFor) -> None:
    server = server_for(app(), write_timeout=0.5)
    state = server.server.state
    assert state is not None
    sock = socket.create_connection(("127.0.0.1", server.port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    try:
        sock.sendall(b"GET /flood HTTP/1.1\r\nHost: a\r\n\r\n")
        deadline = time.monotonic() + 5
        while state.connections and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not state.connections, "the connection of a client that never reads was not cut"
    finally:
        sock.close()
    (ok,) = exchange(server.port, GET)
    assert ok.body == b"hello"


def test_connections_over_the_limit_get_503(server_for: ServerFor) -> None:
    server = server_for(app(), max_connections=3)
    held = [Connection(server.port) for _ in range(3)]
    try:
        for connection in held:
            connection.send(GET)
            assert connection.read_response().body == b"hello"
        with Connection(server.port) as extra:
            response = extra.read_response()
            assert response.status == 503
            assert response.header("retry-after") == "1"
            assert response.header("connection") == "close"
            assert extra.read_until_close() == b""
        held.pop().close()
        deadline = time.monotonic() + 3
        while True:  # the slot frees once the server has seen the close
            (response,) = exchange(server.port, GET)
            if response.status == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        assert response.body == b"hello"
    finally:
        for connection in held:
            connection.close()


def test_max_requests_per_connection(server_for: ServerFor) -> None:
    server = server_for(app(), max_requests_per_connection=3)
    with Connection(server.port) as connection:
        for expected in (None, None, "close"):
            connection.send(GET)
            response = connection.read_response()
            assert response.body == b"hello"
            assert response.header("connection") == expected
        assert connection.read_until_close() == b""
    with Connection(server.port) as connection:  # pipelined: the third answer is the last
        connection.send(GET * 5)
        answers = [connection.read_response() for _ in range(3)]
        assert [a.header("connection") for a in answers] == [None, None, "close"]
        assert connection.read_until_close() == b""


def test_max_requests_counts_requests_queued_behind_a_slow_one(server_for: ServerFor) -> None:
    application = app()

    @application.get("/slow")
    async def slow(request: Request) -> str:
        await asyncio.sleep(0.05)
        return "slow"

    server = server_for(application, max_requests_per_connection=2)
    with Connection(server.port) as connection:
        connection.send(b"GET /slow HTTP/1.1\r\nHost: a\r\n\r\n" + GET + GET)
        first, second = connection.read_response(), connection.read_response()
        assert (first.body, first.header("connection")) == (b"slow", None)
        assert (second.body, second.header("connection")) == (b"hello", "close")
        assert connection.read_until_close() == b""


def test_slowloris_does_not_starve_others_and_is_cut_off(server_for: ServerFor) -> None:
    """500 connections send a head one byte a second; a normal client makes 2,000 requests
    meanwhile. Every normal request succeeds quickly, and every slow connection is answered
    408 and closed once the header timeout has passed."""
    header_timeout = 3.0
    server = server_for(app(), header_timeout=header_timeout)
    head = b"GET / HTTP/1.1\r\nHost: a\r\nX-Slow: " + b"s" * 60 + b"\r\n\r\n"
    slow = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(500)]
    for sock in slow:
        sock.setblocking(False)
    stop = threading.Event()
    sent_at = time.monotonic()
    received = {sock.fileno(): b"" for sock in slow}
    closed: dict[int, float] = {}

    def trickle() -> None:
        position = 0
        next_send = time.monotonic()
        while not stop.is_set() and len(closed) < len(slow):
            now = time.monotonic()
            if now >= next_send and position < len(head):
                for sock in slow:
                    if sock.fileno() not in closed:
                        try:
                            sock.send(head[position : position + 1])
                        except OSError:
                            closed.setdefault(sock.fileno(), now)
                position += 1
                next_send += 1.0
            # poll, not select: the 500 client sockets and the server's 500 ends of them are
            # all descriptors of this process, and select() takes none numbered past 1023.
            watch = select.poll()
            by_descriptor = {}
            for sock in slow:
                if sock.fileno() not in closed:
                    watch.register(sock, select.POLLIN)
                    by_descriptor[sock.fileno()] = sock
            readable = [by_descriptor[descriptor] for descriptor, _ in watch.poll(50)]
            for sock in readable:
                try:
                    data = sock.recv(65536)
                except OSError:
                    data = b""
                if data:
                    received[sock.fileno()] += data
                else:
                    closed[sock.fileno()] = time.monotonic()

    trickler = threading.Thread(target=trickle)
    trickler.start()
    latencies = []
    try:
        with Connection(server.port) as connection:
            for _ in range(2000):
                start = time.perf_counter()
                connection.send(GET)
                assert connection.read_response().body == b"hello"
                latencies.append(time.perf_counter() - start)
        trickler.join(header_timeout + 5)
    finally:
        stop.set()
        trickler.join(5)
        for sock in slow:
            sock.close()
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99)]
    print(f"slowloris: p99 {p99 * 1000:.1f} ms over {len(latencies)} requests, {len(closed)} slow connections closed")
    assert p99 < 0.1, f"p99 {p99 * 1000:.1f} ms"
    assert len(closed) == len(slow), f"{len(slow) - len(closed)} slow connections still open"
    assert all(at - sent_at < header_timeout + 2.5 for at in closed.values())
    assert all(data.startswith(b"HTTP/1.1 408 Request Timeout\r\n") for data in received.values())


@pytest.mark.parametrize("timeouts", [{"header_timeout": 0}, {"keep_alive_timeout": 0}])
def test_a_zero_timeout_is_off(server_for: ServerFor, timeouts: dict[str, float]) -> None:
    server = server_for(app(), **{"header_timeout": 0.3, "keep_alive_timeout": 0.3, **timeouts})
    with Connection(server.port) as connection:
        if "keep_alive_timeout" in timeouts:
            connection.send(GET)
            assert connection.read_response().body == b"hello"
        assert not connection.is_closed(timeout=1.0)
