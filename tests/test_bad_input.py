"""How the server answers bad input: a clear answer, a closed connection, one rate-limited log
line, and everyone else still served. Both parser backends, live servers.

Strategy: this module owns the behaviour around a rejection rather than the parsing itself
(the tables in test_parser.py and test_attacks_live.py own that): the log lines a flood of
garbage produces, what a failure inside the parser turns into, and that rejected clients
never hold up others.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from conftest import RunningServer
from http_wire import Connection, exchange
from wirespeed import App, Request
from wirespeed.logs import ClientErrorLog

ServerFor = Callable[..., RunningServer]
BAD = b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"
GOOD = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"


def hello_app() -> App:
    app = App()

    @app.get("/")
    def hello(request: Request) -> str:
        return "hello"

    return app


def client_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "wirespeed.client"]


# -- the rate limit on its own, with a clock the test moves -------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_log_writes_at_most_the_rate_then_summarises(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    log = ClientErrorLog(3, logging.getLogger("wirespeed.client"), clock)
    caplog.set_level(logging.INFO, logger="wirespeed.client")
    for i in range(10):
        log.rejected(("10.0.0.1", i), "400 Bad Request: invalid method")
        clock.now += 0.05  # all ten within one second
    messages = [record.getMessage() for record in client_lines(caplog)]
    assert messages == [
        "rejected request from ('10.0.0.1', 0): 400 Bad Request: invalid method",
        "rejected request from ('10.0.0.1', 1): 400 Bad Request: invalid method",
        "rejected request from ('10.0.0.1', 2): 400 Bad Request: invalid method",
    ]
    clock.now += 1.0
    log.rejected(("10.0.0.2", 1), "505 HTTP Version Not Supported: unsupported HTTP version")
    messages = [record.getMessage() for record in client_lines(caplog)][3:]
    assert messages == [
        "7 more rejected requests were not logged (at most 3 lines a second)",
        "rejected request from ('10.0.0.2', 1): 505 HTTP Version Not Supported: unsupported HTTP version",
    ]
    assert {record.levelno for record in client_lines(caplog)} == {logging.INFO}


def test_log_costs_nothing_when_info_is_off(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    log = ClientErrorLog(3, logging.getLogger("wirespeed.client"), clock)
    caplog.set_level(logging.WARNING, logger="wirespeed.client")
    for _ in range(10):
        log.rejected(None, "400 Bad Request: invalid method")
    caplog.set_level(logging.INFO, logger="wirespeed.client")
    clock.now += 5
    log.rejected(None, "400 Bad Request: invalid method")
    # Nothing was counted while the lines were off: no summary of them appears later.
    assert [record.getMessage() for record in client_lines(caplog)] == [
        "rejected request from None: 400 Bad Request: invalid method"
    ]


# -- live servers -------------------------------------------------------------------------------


def test_a_flood_of_garbage_is_answered_but_logged_at_the_rate(
    server_for: ServerFor, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="wirespeed.client")
    server = server_for(hello_app(), client_error_log_rate=5)
    for _ in range(40):
        (response,) = exchange(server.port, BAD)
        assert response.status == 400
        assert response.body == b"400 Bad Request: conflicting Content-Length"
    lines = client_lines(caplog)
    # Forty answers, at most five lines (one more if the flood straddled a second).
    assert 5 <= len(lines) <= 11
    assert all(record.levelno == logging.INFO for record in lines)
    assert "400 Bad Request: conflicting Content-Length" in lines[0].getMessage()
    assert "127.0.0.1" in lines[0].getMessage()
    (ok,) = exchange(server.port, GOOD)
    assert ok.body == b"hello"


def test_one_line_per_rejected_request(server_for: ServerFor, caplog: pytest.LogCaptureFixture) -> None:
    server = server_for(hello_app())
    caplog.set_level(logging.DEBUG)
    caplog.clear()  # the line about the server starting
    with Connection(server.port) as connection:
        connection.send(b"GET / HTTP/9.9\r\n\r\n")
        assert connection.read_response().status == 505
        assert connection.read_until_close() == b""
    lines = [r for r in caplog.records if r.name.startswith("wirespeed") and r.levelno >= logging.INFO]
    assert [r.getMessage().split(": ", 1)[1] for r in lines] == [
        "505 HTTP Version Not Supported: unsupported HTTP version"
    ]
    assert lines[0].levelno == logging.INFO


class ExplodingParser:
    """A real parser that fails like a bug would on the bytes b"EXPLODE"."""

    real: type = type(None)

    def __init__(self, *args: Any) -> None:
        self._parser = self.real(*args)

    def feed(self, data: bytes) -> list[Any]:
        if b"EXPLODE" in data:
            raise RuntimeError("simulated parser bug")
        return self._parser.feed(data)  # type: ignore[no-any-return]


def test_a_parser_failure_is_a_500_and_a_close_not_a_dropped_client(
    server_for: ServerFor, caplog: pytest.LogCaptureFixture
) -> None:
    server = server_for(hello_app())
    state = server.server.state
    assert state is not None
    ExplodingParser.real = state.parser_class
    state.parser_class = ExplodingParser
    with Connection(server.port) as connection:
        connection.send(GOOD)
        assert connection.read_response().body == b"hello"
        connection.send(b"GET /EXPLODE HTTP/1.1\r\nHost: a\r\n\r\n")
        response = connection.read_response()
        assert response.status == 500
        assert response.header("connection") == "close"
        assert response.body == b"500 Internal Server Error: request parser failure"
        assert connection.read_until_close() == b""
    failures = [r for r in caplog.records if r.name == "wirespeed.error"]
    assert len(failures) == 1 and failures[0].exc_info is not None
    assert "simulated parser bug" in str(failures[0].exc_info[1])
    (ok,) = exchange(server.port, GOOD)
    assert ok.body == b"hello"


def test_hostile_clients_do_not_hold_up_others(server_for: ServerFor) -> None:
    """Clients trickling garbage, sending oversized heads and half-closing do not delay a
    well-behaved client on the same server."""
    server = server_for(hello_app())
    stop = threading.Event()
    errors: list[BaseException] = []

    def hostile(payload: bytes) -> None:
        try:
            while not stop.is_set():
                with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
                    for i in range(0, len(payload), 7):
                        sock.sendall(payload[i : i + 7])
                    sock.shutdown(socket.SHUT_WR)
                    while sock.recv(65536):
                        pass
        except OSError as error:  # the server must not reset anyone
            errors.append(error)

    payloads = [
        BAD,
        b"GET / HTTP/1.1\r\nHost: a\r\nX: " + b"v" * 20000 + b"\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" * 10,
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ]
    threads = [threading.Thread(target=hostile, args=(p,)) for p in payloads]
    for thread in threads:
        thread.start()
    try:
        for _ in range(50):
            (ok,) = exchange(server.port, GOOD)
            assert ok.body == b"hello"
    finally:
        stop.set()
        for thread in threads:
            thread.join(10)
    assert not errors


def test_a_client_still_sending_reads_its_answer(server_for: ServerFor) -> None:
    """RFC 9112 §9.6: after a 413 the server keeps reading and dropping the rest of the upload
    instead of resetting the connection, so the client gets to read the 413."""
    server = server_for(hello_app(), max_body_size=1000)
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100000000\r\n\r\n")
        piece = b"x" * 65536
        for _ in range(100):  # 6.5 MB after the answer was sent
            sock.sendall(piece)
        sock.shutdown(socket.SHUT_WR)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    assert received.startswith(b"HTTP/1.1 413 Content Too Large\r\n")
    assert received.endswith(b"413 Content Too Large: request body too large")


def test_lingering_ends_at_its_timeout(server_for: ServerFor) -> None:
    """A client that never closes its side is cut off lingering_timeout after the answer."""
    server = server_for(hello_app(), lingering_timeout=0.3)
    state = server.server.state
    assert state is not None
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(BAD)
        received = b""
        while chunk := sock.recv(65536):  # our side is closed at once: EOF after the answer
            received += chunk
        assert received.endswith(b"conflicting Content-Length")
        assert len(state.connections) == 1  # still reading what the client may send
        deadline = time.monotonic() + 3
        while state.connections and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not state.connections
