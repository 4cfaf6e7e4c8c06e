"""The life of a WebSocket on a live server, from the handshake to the shutdown.

Strategy: this module owns what happens to a WebSocket connection around its frames (the
frames themselves are test_ws_rfc.py's table): the opening handshake as a live server answers
it (and the connection after a refusal), the `ws` mode, bytes pipelined around the handshake,
the closing handshake started by either side and its timeout, keep-alive pings, flow control
both ways (a client that stops reading, a handler that stops reading), hostile clients (huge
lengths, a deflate bomb, a message that never ends, a trickled header) that must cost nobody
else anything, and the graceful shutdown (Close 1001, the close timeout, the shutdown timeout),
in-thread and in a real process under SIGTERM. Native `@app.websocket` handlers unless said
otherwise, raw sockets (tests/ws_wire.py) on 127.0.0.1, both parser backends, small timeouts.
The handlers record what they saw (`Record`), so what the app is told is checked too.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import os
import re
import socket
import struct
import sys
import threading
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import RunningServer
from http_wire import Connection
from processes import OutputCollector, free_port, wait_until
from wirespeed import App, Request, WebSocket, WebSocketClosed, WebSocketDisconnect
from ws_wire import (
    BINARY,
    CLOSE,
    CONTINUATION,
    KEY,
    PING,
    PONG,
    TEXT,
    ServerFrame,
    WsConnection,
    close_frame,
    frame,
    handshake_request,
)

ServerFor = Callable[..., RunningServer]

# Every server here: no pings unless a test asks, and short closing waits, so that a test that
# leaves something open costs a fraction of a second, not the defaults' 10 to 30.
QUICK: dict[str, Any] = {
    "ws_ping_interval": 0.0,
    "ws_close_timeout": 1.0,
    "shutdown_timeout": 2.0,
    "lingering_timeout": 0.5,
}
FLOOD_SIZE = 64 * 1024  # bytes in each message of /flood
FLOOD_COUNT = 400  # messages /flood sends: 25 MiB, far more than any buffer on the way holds
MiB = 1024 * 1024


class Record:
    """What the handlers of one server saw, for the test thread to check."""

    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []
        self.sent = 0  # messages /flood and /stuck have sent so far
        self.go = threading.Event()  # /lazy starts reading once this is set

    def note(self, *event: Any) -> None:
        self.events.append(event)

    def wait_for(self, count: int, timeout: float = 3.0) -> list[tuple[Any, ...]]:
        """The events, once there are `count` of them (fails after `timeout`)."""
        assert wait_until(lambda: len(self.events) >= count, timeout), f"events so far: {self.events}"
        return list(self.events)


def make_app(record: Record) -> App:
    app = App()

    @app.get("/")
    def hello(request: Request) -> str:
        return "hello"

    @app.get("/slow")
    async def slow(request: Request) -> str:
        await asyncio.sleep(0.2)
        return "slow"

    @app.websocket("/ws")
    async def echo(ws: WebSocket) -> None:
        await ws.accept()
        async for message in ws:
            await ws.send(message)

    @app.websocket("/record")
    async def recorded(ws: WebSocket) -> None:
        """Echoes, and notes the code and reason the connection closed with."""
        await ws.accept()
        try:
            while True:
                await ws.send(await ws.receive())
        except WebSocketDisconnect as end:
            record.note("disconnect", end.code, end.reason)

    @app.websocket("/iterate")
    async def iterate(ws: WebSocket) -> None:
        """Echoes with `async for`, and notes that the iteration ended and how."""
        await ws.accept()
        async for message in ws:
            await ws.send(message)
        assert ws.closed is not None
        record.note("iteration ended", ws.closed.code, ws.closed.reason)

    @app.websocket("/bye")
    async def bye(ws: WebSocket) -> None:
        """Closes at once with 4001 "bye"; a send after that is refused."""
        await ws.accept()
        await ws.close(4001, "bye")
        try:
            await ws.send("after the close")
        except WebSocketClosed:
            record.note("send refused")
        try:
            await ws.receive()
        except WebSocketDisconnect as end:
            record.note("disconnect", end.code, end.reason)

    @app.websocket("/boom")
    async def boom(ws: WebSocket) -> None:
        await ws.accept()
        await ws.receive()
        raise RuntimeError("the handler failed")

    @app.websocket("/refuse")
    async def refuse(ws: WebSocket) -> None:
        return None  # never accepts

    @app.websocket("/flood")
    async def flood(ws: WebSocket) -> None:
        """FLOOD_COUNT binary messages of FLOOD_SIZE bytes, each starting with its number."""
        await ws.accept()
        padding = bytes(FLOOD_SIZE - 4)
        for number in range(FLOOD_COUNT):
            await ws.send(struct.pack("!I", number) + padding)
            record.sent = number + 1
        record.note("flood done")

    @app.websocket("/stuck")
    async def stuck(ws: WebSocket) -> None:
        """Sends until a send fails (FLOOD_COUNT messages at most)."""
        await ws.accept()
        try:
            for _ in range(FLOOD_COUNT):
                await ws.send(bytes(FLOOD_SIZE))
                record.sent += 1
        except WebSocketClosed:
            record.note("send failed")
        else:
            record.note("all sent")

    @app.websocket("/undecided")
    async def undecided(ws: WebSocket) -> None:
        """Takes its time to answer the handshake: it never does."""
        record.note("waiting")
        await asyncio.sleep(30)

    @app.websocket("/lazy")
    async def lazy(ws: WebSocket) -> None:
        """Reads nothing until `record.go`; then counts the messages up to "end"."""
        await ws.accept()
        while not record.go.is_set():
            await asyncio.sleep(0.01)
        count = total = 0
        while (message := await ws.receive()) != "end":
            count += 1
            total += len(message)
        await ws.send(f"{count} {total}")

    return app


@pytest.fixture
def record() -> Record:
    return Record()


@pytest.fixture
def serve(server_for: ServerFor, record: Record) -> Callable[..., RunningServer]:
    """The test app on the current backend, with QUICK settings and the test's own."""

    def start(**settings: Any) -> RunningServer:
        return server_for(make_app(record), **{**QUICK, **settings})

    return start


# -- helpers
class TunedConnection(WsConnection):
    """A WsConnection whose socket buffers are set before it connects, so that what the kernel
    holds on the client's side is small and known."""

    def __init__(self, port: int, rcvbuf: int | None = None, sndbuf: int | None = None) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        if sndbuf is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)
        sock.settimeout(5.0)
        sock.connect(("127.0.0.1", port))
        self.sock = sock
        self.buffer = b""
        self.response_head = b""


def read_http(conn: WsConnection) -> tuple[int, dict[str, str], bytes]:
    """An HTTP answer with a Content-Length body, read off a WsConnection: status, fields, body."""
    head = conn.read_head()
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    fields = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        fields[name.strip().lower()] = value.strip()
    length = int(fields.get("content-length", "0"))
    while len(conn.buffer) < length:
        assert conn._fill(), "closed in the middle of a body"
    body, conn.buffer = conn.buffer[:length], conn.buffer[length:]
    return status, fields, body


def assert_echoed(conn: WsConnection, payload: bytes, opcode: int = TEXT) -> None:
    conn.send(frame(opcode, payload))
    got = conn.read_message()
    assert (got.opcode, got.payload) == (opcode, payload), (got.opcode, got.payload[:40])


def assert_served(port: int, within: float = 0.5) -> None:
    """A new client gets a WebSocket and an echo, and a plain GET its answer, promptly."""
    start = time.perf_counter()
    with WsConnection(port) as conn:
        conn.open("/ws")
        assert_echoed(conn, b"still served")
    with Connection(port) as http:
        http.send(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        assert http.read_response().body == b"hello"
    elapsed = time.perf_counter() - start
    assert elapsed < within, f"another client waited {elapsed:.3f} s"


def on_server_loop(server: RunningServer, function: Callable[[], Any]) -> Any:
    """Run `function` on the server's own loop (its state is that thread's) and return its result."""

    async def call() -> Any:
        return function()

    return asyncio.run_coroutine_threadsafe(call(), server.loop).result(5)


def websocket_connections(server: RunningServer) -> list[Any]:
    state = server.server.state
    assert state is not None
    return [connection for connection in state.connections if connection.websocket is not None]


def read_frame_within(conn: WsConnection, seconds: float) -> ServerFrame | None:
    """The next frame, or None if none comes within `seconds` (a partial one stays buffered)."""
    conn.sock.settimeout(max(seconds, 0.001))
    try:
        return conn.read_frame()
    except TimeoutError:
        return None
    finally:
        conn.sock.settimeout(5.0)


def peak_rss_reset() -> None:
    """Reset this process's peak RSS (VmHWM), so that the next reading is the peak from now."""
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")


def peak_rss() -> int:
    """This process's peak resident set size since the last reset, in bytes."""
    status = Path("/proc/self/status").read_text()
    match = re.search(r"VmHWM:\s+(\d+) kB", status)
    assert match is not None
    return int(match.group(1)) * 1024


class EchoProbe:
    """A well-behaved client beside a hostile one: round trip after round trip on its own
    WebSocket, in a thread, every one of which must come back promptly."""

    def __init__(self, port: int) -> None:
        self.conn = WsConnection(port)
        self.conn.open("/ws")
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="echo-probe", daemon=True)

    def __enter__(self) -> EchoProbe:  # noqa: PYI034 - requires-python 3.10 has no typing.Self
        self._thread.start()
        assert wait_until(lambda: len(self.latencies) >= 3 or bool(self.errors), 2.0)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self.conn.sock.close()

    def _run(self) -> None:
        number = 0
        try:
            while not self._stop.is_set():
                payload = b"probe %d" % number
                start = time.perf_counter()
                self.conn.send(frame(TEXT, payload))
                got = self.conn.read_message()
                self.latencies.append(time.perf_counter() - start)
                if (got.opcode, got.payload) != (TEXT, payload):
                    self.errors.append(f"round {number}: got {got.opcode} {got.payload[:40]!r}")
                    return
                number += 1
                time.sleep(0.005)
        except Exception as error:  # noqa: BLE001 - whatever it is, check() reports it
            self.errors.append(repr(error))

    def check(self, rounds: int = 10, slowest: float = 0.5) -> None:
        """Every round trip so far came back right and within `slowest` seconds, and
        `rounds` more come after the hostile client is done."""
        target = len(self.latencies) + rounds
        assert wait_until(lambda: len(self.latencies) >= target or bool(self.errors), 2.0)
        assert not self.errors, self.errors
        assert len(self.latencies) >= target, f"only {len(self.latencies)} round trips"
        worst = max(self.latencies)
        assert worst < slowest, f"a round trip took {worst:.3f} s"


# -- the opening handshake on a live server (RFC 6455 §4.2)
def handshake(
    path: str = "/ws",
    *,
    method: str = "GET",
    version: str = "HTTP/1.1",
    key: bytes | None = KEY,
    ws_version: bytes = b"13",
    connection: bytes = b"Upgrade",
) -> bytes:
    lines = [f"{method} {path} {version}".encode(), b"Host: 127.0.0.1", b"Upgrade: websocket", b"Connection: " + connection]
    if key is not None:
        lines.append(b"Sec-WebSocket-Key: " + key)
    lines.append(b"Sec-WebSocket-Version: " + ws_version)
    return b"\r\n".join(lines) + b"\r\n\r\n"


# (id, section, request, status, a field the answer must carry)
REFUSALS = [
    ("no key", "6455§4.2.1 item 5", handshake(key=None), 400, None),
    ("key of 15 bytes", "6455§4.2.1 item 5", handshake(key=base64.b64encode(b"fifteen bytes!!")), 400, None),
    ("key of 17 bytes", "6455§4.2.1 item 5", handshake(key=base64.b64encode(b"seventeen bytes!!")), 400, None),
    ("key not base64", "6455§4.2.1 item 5", handshake(key=b"!!!!!!!!!!!!!!!!!!!!!!=="), 400, None),
    ("version 8", "6455§4.2.2 item 4 (/version/), §4.4", handshake(ws_version=b"8"), 426, ("sec-websocket-version", "13")),
    ("POST", "6455§4.2.1 item 1", handshake(method="POST"), 400, None),
    ("HTTP/1.0", "6455§4.2.1 item 1", handshake(version="HTTP/1.0"), 400, None),
    ("no Connection: upgrade", "6455§4.2.1 item 4", handshake(connection=b"keep-alive"), 400, None),
    ("unknown path", "6455§4.2.2 item 4 (/resource name/)", handshake("/nowhere"), 404, None),
    ("handler never accepts", "6455§4.2.2 item 4 (403 Forbidden)", handshake("/refuse"), 403, None),
]


@pytest.mark.parametrize(
    ("request_bytes", "status", "field"),
    [row[2:] for row in REFUSALS],
    ids=[row[0] for row in REFUSALS],
)
def test_a_refused_handshake_is_answered_and_the_connection_closes(
    serve: Callable[..., RunningServer], request_bytes: bytes, status: int, field: tuple[str, str] | None
) -> None:
    """The answer is the error, never a 101, with Connection: close; then the server closes
    the connection, and a frame the client sent right behind the request is never read as
    anything (no echo, no second answer)."""
    server = serve()
    with Connection(server.port) as conn:
        conn.send(request_bytes + frame(TEXT, b"never read"))
        answer = conn.read_response()
        assert answer.status == status, (answer.status, answer.body)
        assert answer.header("connection") == "close"
        assert answer.header("upgrade") is None and answer.header("sec-websocket-accept") is None
        if field is not None:
            assert answer.header(field[0]) == field[1]
        assert conn.is_closed(timeout=2.0), f"more bytes: {conn.buffer[:80]!r}"
        assert conn.buffer == b""
    assert_served(server.port)


def test_the_accepted_handshake_on_a_live_server(serve: Callable[..., RunningServer]) -> None:
    """RFC 6455 §1.3, §4.2.2 item 5: 101 with the accept value of the key, Upgrade and Connection."""
    server = serve()
    key = b"dGhlIHNhbXBsZSBub25jZQ=="
    with WsConnection(server.port) as conn:
        conn.send(handshake_request("/ws", key=key))
        head = conn.read_head().decode("latin-1").lower()
        assert head.startswith("http/1.1 101 ")
        assert "\r\nsec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo=" in head
        assert "\r\nupgrade: websocket" in head and "\r\nconnection: upgrade" in head
        assert "content-length" not in head and "transfer-encoding" not in head
        assert_echoed(conn, b"hello")


# -- the ws mode
@pytest.mark.parametrize(
    ("mode", "routes", "upgrades"),
    [
        pytest.param("off", True, False, id="off"),
        pytest.param("auto", False, False, id="auto without WebSocket routes"),
        pytest.param("auto", True, True, id="auto with WebSocket routes"),
        pytest.param("on", True, True, id="on"),
    ],
)
def test_ws_mode(server_for: ServerFor, mode: str, routes: bool, upgrades: bool) -> None:
    """Off (and auto for an app without WebSocket routes): an upgrade request is plain HTTP
    (RFC 9110 §7.8: Upgrade may be ignored), answered by the GET route, the connection kept.
    On (and auto with routes): it is a handshake; the same path without a WebSocket route is
    declined (404), a WebSocket route accepts."""
    app = App()

    @app.get("/")
    def hello(request: Request) -> str:
        return "hello"

    if routes:

        @app.websocket("/ws")
        async def echo(ws: WebSocket) -> None:
            await ws.accept()
            async for message in ws:
                await ws.send(message)

    server = server_for(app, ws=mode, **QUICK)
    with Connection(server.port) as conn:
        conn.send(handshake_request("/"))
        answer = conn.read_response()
        if not upgrades:
            assert (answer.status, answer.body) == (200, b"hello")
            assert answer.header("connection") is None and answer.header("upgrade") is None
            # The connection is an ordinary kept-alive one: more requests, more answers.
            conn.send(handshake_request("/") + b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            assert [conn.read_response().status for _ in range(2)] == [200, 200]
            assert not conn.is_closed(timeout=0.3)
            return
        assert answer.status == 404 and answer.header("connection") == "close"
        assert conn.is_closed()
    with WsConnection(server.port) as ws:
        ws.open("/ws")
        assert_echoed(ws, b"on")


# -- bytes around the handshake
@pytest.mark.parametrize("split", ["whole frames", "half a frame header"])
def test_frames_in_the_same_write_as_the_handshake_are_delivered(serve: Callable[..., RunningServer], split: str) -> None:
    """A client may send frames right behind its handshake (RFC 6455 §4.1 lets it once the
    101 is read, but nothing stops it sooner): they reach the WebSocket, in order, whole or
    with the rest coming later."""
    server = serve()
    big = bytes(range(256)) * 300  # 76,800 bytes: a 64-bit length, more than one read
    with WsConnection(server.port) as conn:
        if split == "whole frames":
            early = frame(TEXT, b"first") + frame(PING, b"p") + frame(BINARY, big) + frame(TEXT, b"frag", fin=False)
            conn.open("/ws", early=early)
            conn.send(frame(CONTINUATION, b"ment"))
            expected = [(TEXT, b"first"), (PONG, b"p"), (BINARY, big), (TEXT, b"fragment")]
        else:
            whole = frame(TEXT, b"split across writes")
            conn.open("/ws", early=whole[:1])
            time.sleep(0.05)
            conn.send(whole[1:])
            expected = [(TEXT, b"split across writes")]
        got = [conn.read_frame() for _ in expected]
        assert all(answer.fin for answer in got)
        # A Pong may go before the echo of an earlier message (it is the server's own answer,
        # sent at once, §5.5.2): the messages keep their order, the Pong is there.
        assert sorted((answer.opcode, answer.payload) for answer in got) == sorted(expected)
        messages = [(answer.opcode, answer.payload) for answer in got if answer.opcode != PONG]
        assert messages == [item for item in expected if item[0] != PONG]


@pytest.mark.parametrize("first", ["/", "/slow"], ids=["answered inline", "answered by a handler that waits"])
def test_a_request_pipelined_before_the_handshake_is_answered_first(serve: Callable[..., RunningServer], first: str) -> None:
    """One write: a GET, the handshake, a frame. The GET's answer comes first (RFC 9112 §9.3.2),
    then the 101, then the frame's echo."""
    server = serve()
    with WsConnection(server.port) as conn:
        conn.send(f"GET {first} HTTP/1.1\r\nHost: a\r\n\r\n".encode() + handshake_request("/ws") + frame(TEXT, b"after"))
        status, fields, body = read_http(conn)
        assert (status, body) == (200, first.strip("/").encode() or b"hello")
        assert "connection" not in fields
        assert conn.read_head().startswith(b"HTTP/1.1 101 ")
        got = conn.read_frame()
        assert (got.opcode, got.payload) == (TEXT, b"after")


# -- the closing handshake (RFC 6455 §7.1)
def test_server_close_answered_by_the_client(serve: Callable[..., RunningServer], record: Record) -> None:
    """The handler closes with 4001 "bye": the client gets that Close and nothing after it
    (§5.5.1: no data after a Close; the handler's later send is refused); once the client
    answers with its Close, the server closes the TCP connection (§7.1.1) at once, not at the
    close timeout; the handler hears the client's code."""
    server = serve(ws_close_timeout=3.0)
    with WsConnection(server.port) as conn:
        conn.open("/bye")
        got = conn.read_frame()
        assert (got.opcode, got.close_code, got.payload[2:]) == (CLOSE, 4001, b"bye")
        conn.send(close_frame(4001))
        start = time.monotonic()
        assert conn.closed_by_server(2.0)
        assert time.monotonic() - start < 0.5
        assert conn.buffer == b""
    assert record.wait_for(2) == [("send refused",), ("disconnect", 4001, "")]


def test_server_close_unanswered_is_cut_at_the_close_timeout(serve: Callable[..., RunningServer], record: Record) -> None:
    """A client that never answers our Close: the TCP connection is closed once
    ws_close_timeout (0.5 s) has passed, not before; the handler hears 1006."""
    server = serve(ws_close_timeout=0.5)
    with WsConnection(server.port) as conn:
        conn.open("/bye")
        conn.expect_close(4001)
        start = time.monotonic()
        assert conn.closed_by_server(3.0)
        elapsed = time.monotonic() - start
        assert 0.4 <= elapsed < 1.5, f"closed after {elapsed:.3f} s"
        assert conn.buffer == b""
    assert record.wait_for(2) == [("send refused",), ("disconnect", 1006, "")]


CLIENT_CLOSES = [
    ("code and reason", close_frame(4002, b"done"), 4002, (4002, "done")),
    ("UTF-8 reason", close_frame(1000, "κόσμε".encode()), 1000, (1000, "κόσμε")),
    ("no code: 1005 for the app", close_frame(None), None, (1005, "")),
]


@pytest.mark.parametrize(("sent", "echoed", "seen"), [row[1:] for row in CLIENT_CLOSES], ids=[row[0] for row in CLIENT_CLOSES])
def test_client_close(serve: Callable[..., RunningServer], record: Record, sent: bytes, echoed: int | None, seen: tuple[int, str]) -> None:
    """RFC 6455 §5.5.1: the server answers a Close with one echoing its code, then closes the
    TCP connection (§7.1.1); the handler's receive raises WebSocketDisconnect with the client's
    code and reason (1005 for a Close without one, §7.1.5)."""
    server = serve()
    with WsConnection(server.port) as conn:
        conn.open("/record")
        assert_echoed(conn, b"before")
        conn.send(sent)
        got = conn.read_frame()
        assert got.opcode == CLOSE and got.close_code == echoed, (got.opcode, got.payload)
        assert conn.closed_by_server(2.0)
        assert conn.buffer == b""
    assert record.wait_for(1) == [("disconnect", *seen)]


def test_client_closes_tcp_without_a_close(serve: Callable[..., RunningServer], record: Record) -> None:
    """A client that shuts its side without a Close: the server closes too, sends no frame,
    and the handler hears 1006 (§7.1.5: abnormal closure)."""
    server = serve()
    with WsConnection(server.port) as conn:
        conn.open("/record")
        assert_echoed(conn, b"before")
        conn.sock.shutdown(socket.SHUT_WR)
        assert conn.closed_by_server(2.0)
        assert conn.buffer == b""
    assert record.wait_for(1) == [("disconnect", 1006, "")]


def test_async_for_ends_when_the_client_closes(serve: Callable[..., RunningServer], record: Record) -> None:
    server = serve()
    with WsConnection(server.port) as conn:
        conn.open("/iterate")
        assert_echoed(conn, b"one")
        conn.send(close_frame(4003, b"enough"))
        conn.expect_close(4003)
        assert conn.closed_by_server(2.0)
    assert record.wait_for(1) == [("iteration ended", 4003, "enough")]


def test_a_handler_that_raises_closes_with_1011(serve: Callable[..., RunningServer]) -> None:
    """A handler that raises after the accept: Close 1011 (§7.4.1, an unexpected condition),
    then the TCP close; the server goes on serving."""
    server = serve()
    with WsConnection(server.port) as conn:
        conn.open("/boom")
        conn.send(frame(TEXT, b"go"))
        conn.expect_close(1011)
        conn.send(close_frame(1011))
        assert conn.closed_by_server(2.0)
    assert_served(server.port)


# -- keep-alive pings (RFC 6455 §5.5.2, §5.5.3)
def test_pings_answered_keep_the_connection_open(serve: Callable[..., RunningServer]) -> None:
    """Pings every 0.2 s, each with a payload; a client that answers each with its Pong stays
    connected well past the ping timeout, over several intervals."""
    server = serve(ws_ping_interval=0.2, ws_ping_timeout=0.3)
    with WsConnection(server.port) as conn:
        conn.open("/ws")
        pings = []
        deadline = time.monotonic() + 1.2
        while (left := deadline - time.monotonic()) > 0:
            got = read_frame_within(conn, left)
            if got is None:
                break
            assert got.opcode == PING, (got.opcode, got.payload)
            assert got.payload and not got.masked
            pings.append(got.payload)
            conn.send(frame(PONG, got.payload))
        assert len(pings) >= 4, pings
        assert_echoed(conn, b"still open")


def test_pings_unanswered_close_with_1011(serve: Callable[..., RunningServer]) -> None:
    """A client that never answers: Close 1011 once the ping timeout has passed after the first
    ping (0.2 + 0.3 s), then the TCP close."""
    server = serve(ws_ping_interval=0.2, ws_ping_timeout=0.3)
    with WsConnection(server.port) as conn:
        start = time.monotonic()
        conn.open("/ws")
        first = conn.read_frame()
        assert first.opcode == PING
        conn.expect_close(1011)
        elapsed = time.monotonic() - start
        assert 0.45 <= elapsed < 1.2, f"closed after {elapsed:.3f} s"
        assert conn.closed_by_server(2.0)


def test_a_pong_within_the_ping_timeout_counts_after_the_next_ping(serve: Callable[..., RunningServer]) -> None:
    """ws_ping_timeout 0.5 s, pings every 0.2 s: a client on a slow link answers every ping
    0.3 s after it, within the timeout. It must stay connected (each ping was answered in
    time, RFC 6455 §5.5.3)."""
    server = serve(ws_ping_interval=0.2, ws_ping_timeout=0.5)
    with WsConnection(server.port) as conn:
        conn.open("/ws")
        pending: list[tuple[float, bytes]] = []
        answered = 0
        deadline = time.monotonic() + 1.2
        while (now := time.monotonic()) < deadline:
            while pending and pending[0][0] <= now:
                conn.send(frame(PONG, pending.pop(0)[1]))
                answered += 1
            wait = min([deadline] + [due for due, _ in pending]) - now
            got = read_frame_within(conn, wait)
            if got is None:
                continue
            assert got.opcode == PING, f"closed with {got.close_code} after {answered} pongs in time"
            pending.append((time.monotonic() + 0.3, got.payload))
        assert answered >= 2
        assert_echoed(conn, b"still open")


# -- flow control
def test_a_client_that_stops_reading_blocks_the_handlers_send(serve: Callable[..., RunningServer], record: Record) -> None:
    """/flood sends 64 KiB messages to a client that reads three and stops. The handler's send
    blocks (its count stops growing while the client does not read), the transport holds
    about ws_max_queued (256 KiB), nothing balloons, another client is served
    promptly meanwhile, and once the client reads again it gets every message, in order."""
    queued_limit = 256 * 1024
    server = serve(ws_max_queued=queued_limit)
    with TunedConnection(server.port, rcvbuf=64 * 1024) as conn:
        conn.open("/flood")
        for number in range(3):
            got = conn.read_message()
            assert struct.unpack("!I", got.payload[:4])[0] == number
        # It stops: the count settles (the kernel's buffers and the transport's are full).
        counts = [record.sent]
        while len(counts) < 4 or counts[-1] != counts[-4]:
            assert len(counts) < 50, f"the handler kept sending: {counts}"
            time.sleep(0.1)
            counts.append(record.sent)
        stalled = record.sent
        time.sleep(0.5)
        assert record.sent == stalled, "send did not wait for the client"
        assert stalled < FLOOD_COUNT
        assert stalled * FLOOD_SIZE < 16 * MiB, f"{stalled} messages went out to a client that does not read"
        queued = on_server_loop(server, lambda: [c.transport.get_write_buffer_size() for c in websocket_connections(server)])
        # ws_max_queued, and at most as much again batched in one turn of the loop (and a message).
        assert queued and max(queued) <= 2 * queued_limit + FLOOD_SIZE + 14, queued
        assert_served(server.port)
        for number in range(3, FLOOD_COUNT):
            got = conn.read_message()
            assert got.opcode == BINARY and len(got.payload) == FLOOD_SIZE
            assert struct.unpack("!I", got.payload[:4])[0] == number
        conn.expect_close(1000)
    assert record.wait_for(1) == [("flood done",)]
    assert record.sent == FLOOD_COUNT


def test_a_client_that_stops_reading_is_cut_at_the_write_timeout(serve: Callable[..., RunningServer], record: Record) -> None:
    """write_timeout holds for WebSockets too: the connection of a client that reads nothing
    is cut, and the handler's blocked send fails (WebSocketClosed) instead of hanging."""
    server = serve(ws_max_queued=128 * 1024, write_timeout=0.5)
    with TunedConnection(server.port, rcvbuf=64 * 1024) as conn:
        conn.open("/stuck")
        start = time.monotonic()
        assert record.wait_for(1, timeout=4.0) == [("send failed",)]
        elapsed = time.monotonic() - start
        assert 0.4 <= elapsed < 2.0, f"cut after {elapsed:.3f} s"
        try:  # what the kernel still held for the client, then the end
            while conn.sock.recv(1 << 20):
                pass
        except ConnectionResetError:
            pass


def test_a_handler_that_does_not_read_pauses_reading(serve: Callable[..., RunningServer], record: Record) -> None:
    """/lazy reads nothing at first while the client sends 64 KiB messages: the server stops
    reading once max_buffered_body (256 KiB) is unread, so the client's sends block and what
    the server holds stays bounded; once the handler reads, reading resumes and every message
    arrives."""
    unread_limit = 256 * 1024
    server = serve(max_buffered_body=unread_limit)
    message = frame(BINARY, bytes(FLOOD_SIZE))
    count = 400
    data = memoryview(message * count)
    with TunedConnection(server.port, sndbuf=64 * 1024) as conn:
        conn.open("/lazy")
        conn.sock.setblocking(False)
        offset = 0
        last_progress = time.monotonic()
        while offset < len(data) and time.monotonic() - last_progress < 0.5:
            try:
                offset += conn.sock.send(data[offset : offset + 65536])
                last_progress = time.monotonic()
            except BlockingIOError:
                time.sleep(0.005)
        assert offset < len(data), "every byte went: reading never paused"
        assert offset < 16 * MiB, f"{offset} bytes taken from a handler that reads nothing"
        unread = on_server_loop(server, lambda: [c.websocket._incoming_bytes for c in websocket_connections(server)])
        # Reading pauses after the read that passes the limit: one read (256 KiB at most) over it.
        assert unread and max(unread) <= unread_limit + 256 * 1024 + FLOOD_SIZE, unread
        record.go.set()
        conn.sock.settimeout(5.0)
        conn.sock.sendall(data[offset:])
        conn.send(frame(TEXT, b"end"))
        got = conn.read_message()
        assert got.payload.decode() == f"{count} {count * FLOOD_SIZE}"


# -- hostile clients: none of them costs anyone else anything
HOSTILE_LIMITS = {"ws_max_message_size": 1 * MiB, "ws_max_frame_size": 768 * 1024}


def test_a_frame_announcing_2_63_minus_1_bytes(serve: Callable[..., RunningServer]) -> None:
    """The largest length the 64-bit form allows (its top bit clear, RFC 6455 §5.2): refused
    from the header with 1009 (§7.4.1), nothing reserved for it, and the TCP close."""
    server = serve(**HOSTILE_LIMITS)
    with EchoProbe(server.port) as probe:
        with WsConnection(server.port) as conn:
            conn.open("/ws")
            conn.send(bytes([0x82, 0xFF]) + struct.pack("!Q", 2**63 - 1) + b"mask" + b"x" * 1000)
            conn.expect_close(1009)
            assert conn.closed_by_server(2.0)
        probe.check()
    assert_served(server.port)


@functools.cache
def deflate_bomb(expanded: int = 128 * MiB) -> bytes:
    """`expanded` zero bytes as one permessage-deflate payload (RFC 7692 §7.2.1): about
    1/230 of that on the wire at level 1, which compresses it fastest."""
    compressor = zlib.compressobj(1, zlib.DEFLATED, -15)
    chunk = bytes(MiB)
    parts = [compressor.compress(chunk) for _ in range(expanded // MiB)]
    parts.append(compressor.flush(zlib.Z_SYNC_FLUSH))
    data = b"".join(parts)
    assert data.endswith(b"\x00\x00\xff\xff")
    return data[:-4]


def test_a_deflate_bomb_is_1009_without_inflating_it(serve: Callable[..., RunningServer]) -> None:
    """128 MiB of zeros in a ~570 KiB compressed message, against a 1 MiB message limit:
    Close 1009 (RFC 7692 §8.1), and the process (server and client share it) never holds
    anything near the inflated size: its peak RSS grows by less than 64 MiB."""
    bomb = frame(BINARY, deflate_bomb(), rsv=4)
    assert len(bomb) < HOSTILE_LIMITS["ws_max_frame_size"] < HOSTILE_LIMITS["ws_max_message_size"]
    server = serve(**HOSTILE_LIMITS)
    with EchoProbe(server.port) as probe:
        with WsConnection(server.port) as conn:
            head = conn.open("/ws", b"Sec-WebSocket-Extensions: permessage-deflate\r\n")
            assert b"permessage-deflate" in head.lower()
            peak_rss_reset()
            before = peak_rss()
            conn.send(bomb)
            conn.expect_close(1009)
            assert conn.closed_by_server(2.0)
            growth = peak_rss() - before
        probe.check()
    assert growth < 64 * MiB, f"peak RSS grew by {growth / MiB:.1f} MiB"
    assert_served(server.port)


def test_a_message_that_never_ends_is_1009_past_the_message_limit(serve: Callable[..., RunningServer]) -> None:
    """Continuation frames forever, each well within the frame limit: Close 1009 once the
    message passes ws_max_message_size (1 MiB), not before, and the TCP close."""
    server = serve(**HOSTILE_LIMITS)
    piece = bytes(16 * 1024)
    sent = [0]
    stop = threading.Event()
    with EchoProbe(server.port) as probe:
        with WsConnection(server.port) as conn:
            conn.open("/ws")

            def send_forever() -> None:
                try:  # counted as they are handed to the socket
                    sent[0] += len(piece)
                    conn.send(frame(BINARY, piece, fin=False))
                    while not stop.is_set() and sent[0] < 64 * MiB:
                        sent[0] += len(piece)
                        conn.send(frame(CONTINUATION, piece, fin=False))
                except OSError:
                    pass

            sender = threading.Thread(target=send_forever, daemon=True)
            sender.start()
            try:
                conn.expect_close(1009)
                at_close = sent[0]
            finally:
                stop.set()
                sender.join(5)
            assert at_close > HOSTILE_LIMITS["ws_max_message_size"]
            assert at_close < 32 * MiB, f"{at_close} bytes of one message taken before the close"
            assert conn.closed_by_server(2.0)
        probe.check()
    assert_served(server.port)


def test_a_frame_header_trickled_byte_by_byte(serve: Callable[..., RunningServer]) -> None:
    """A 64-bit-length header and its mask (14 bytes) one byte every 30 ms, then the payload:
    the frame is echoed whole, and the other client never waits meanwhile."""
    server = serve(**HOSTILE_LIMITS)
    payload = bytes(range(256)) * 256  # 65,536 bytes: the 64-bit length form
    data = frame(BINARY, payload)
    assert data[1] & 0x7F == 127
    with EchoProbe(server.port) as probe:
        with WsConnection(server.port) as conn:
            conn.open("/ws")
            for index in range(14):
                conn.send(data[index : index + 1])
                time.sleep(0.03)
            conn.send(data[14:])
            got = conn.read_message()
            assert (got.opcode, got.payload) == (BINARY, payload)
        probe.check()


# -- graceful shutdown
def test_shutdown_closes_every_websocket_with_1001(serve: Callable[..., RunningServer], record: Record) -> None:
    """Three open WebSockets when the shutdown begins: each gets Close 1001 (RFC 6455 §7.4.1,
    going away). The two that answer their Close are closed at once; the one that does not is
    cut at ws_close_timeout (0.6 s); the shutdown ends then, long before shutdown_timeout (5 s);
    every handler hears of the end."""
    server = serve(ws_close_timeout=0.6, shutdown_timeout=5.0)
    paths = ["/record", "/iterate", "/record"]
    conns = [WsConnection(server.port) for _ in paths]
    try:
        for conn, path in zip(conns, paths):
            conn.open(path)
            assert_echoed(conn, path.encode())
        start = time.monotonic()
        server.loop.call_soon_threadsafe(server.server.request_shutdown)
        for conn in conns:
            got = conn.expect_close(1001)
            assert got.payload[2:].decode()  # a reason is given
        for conn, code in zip(conns[:2], (1001, 1000)):
            conn.send(close_frame(code))
            answered = time.monotonic()
            assert conn.closed_by_server(2.0)
            assert time.monotonic() - answered < 0.4
        assert conns[2].closed_by_server(3.0)
        cut = time.monotonic() - start
        assert 0.5 <= cut < 1.5, f"the silent client was cut after {cut:.3f} s"
        server._thread.join(5)
        assert not server._thread.is_alive()
        assert time.monotonic() - start < 2.5
    finally:
        for conn in conns:
            conn.sock.close()
    assert sorted(record.wait_for(3)) == [("disconnect", 1001, ""), ("disconnect", 1006, ""), ("iteration ended", 1000, "")]


def test_shutdown_declines_a_handshake_not_yet_accepted(serve: Callable[..., RunningServer], record: Record) -> None:
    """A handshake whose handler has not answered yet when the shutdown begins is declined
    with 503 and Connection: close, and the shutdown ends promptly."""
    server = serve(shutdown_timeout=5.0)
    with Connection(server.port) as conn:
        conn.send(handshake_request("/undecided"))
        assert record.wait_for(1) == [("waiting",)]
        start = time.monotonic()
        server.loop.call_soon_threadsafe(server.server.request_shutdown)
        answer = conn.read_response()
        assert answer.status == 503 and answer.header("connection") == "close"
        assert conn.is_closed(timeout=2.0)
        server._thread.join(5)
        assert not server._thread.is_alive()
        assert time.monotonic() - start < 1.5


def test_shutdown_timeout_cuts_a_silent_client_before_the_close_timeout(serve: Callable[..., RunningServer], record: Record) -> None:
    """ws_close_timeout (10 s) longer than shutdown_timeout (0.8 s): the client that never
    answers is cut at the shutdown timeout, and its handler still hears of it."""
    server = serve(ws_close_timeout=10.0, shutdown_timeout=0.8)
    with WsConnection(server.port) as conn:
        conn.open("/record")
        assert_echoed(conn, b"x")
        start = time.monotonic()
        server.loop.call_soon_threadsafe(server.server.request_shutdown)
        conn.expect_close(1001)
        assert conn.closed_by_server(3.0)
        cut = time.monotonic() - start
        assert 0.7 <= cut < 1.6, f"cut after {cut:.3f} s"
        server._thread.join(5)
        assert not server._thread.is_alive()
    assert record.wait_for(1) == [("disconnect", 1006, "")]


def test_shutdown_closes_starlette_websockets_with_1001(server_for: ServerFor, record: Record) -> None:
    """The same through ASGI: a Starlette endpoint's client gets Close 1001, answers it, is
    closed at once, and the endpoint sees WebSocketDisconnect with the client's code."""
    starlette = pytest.importorskip("starlette.applications")
    from starlette.routing import WebSocketRoute
    from starlette.websockets import WebSocket as StarletteWebSocket
    from starlette.websockets import WebSocketDisconnect as StarletteDisconnect

    async def echo(websocket: StarletteWebSocket) -> None:
        await websocket.accept()
        try:
            while True:
                await websocket.send_text(await websocket.receive_text())
        except StarletteDisconnect as end:
            record.note("disconnect", end.code)

    app = starlette.Starlette(routes=[WebSocketRoute("/ws", echo)])
    server = server_for(app, **{**QUICK, "ws_close_timeout": 3.0, "shutdown_timeout": 5.0})
    with WsConnection(server.port) as conn:
        conn.open("/ws")
        assert_echoed(conn, b"asgi")
        start = time.monotonic()
        server.loop.call_soon_threadsafe(server.server.request_shutdown)
        conn.expect_close(1001)
        conn.send(close_frame(1001))
        assert conn.closed_by_server(2.0)
        server._thread.join(5)
        assert not server._thread.is_alive()
        assert time.monotonic() - start < 1.5
    assert record.wait_for(1) == [("disconnect", 1001)]


SIGTERM_APP = """\
import wirespeed

app = wirespeed.App()


@app.websocket("/ws")
async def echo(ws):
    await ws.accept()
    async for message in ws:
        await ws.send(message)
"""


def test_sigterm_closes_websockets_with_1001(backend: str, tmp_path: Path) -> None:
    """A real `wirespeed` process: SIGTERM sends Close 1001 to each WebSocket, a client that
    answers is closed at once, and the process exits 0 well before its shutdown timeout."""
    import signal
    import subprocess

    (tmp_path / "ws_app.py").write_text(SIGTERM_APP)
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "wirespeed", "ws_app:app", "--port", str(port), "--parser", backend,
         "--shutdown-timeout", "10", "--ws-close-timeout", "5", "--ws-ping-interval", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    output = OutputCollector(process)
    try:
        assert wait_until(lambda: "serving on" in output.text or process.poll() is not None, 15), output.text
        assert process.poll() is None, output.text
        with WsConnection(port) as first, WsConnection(port) as second:
            for conn in (first, second):
                conn.open("/ws")
                assert_echoed(conn, b"before the signal")
            start = time.monotonic()
            process.send_signal(signal.SIGTERM)
            for conn in (first, second):
                conn.expect_close(1001)
                conn.send(close_frame(1001))
                assert conn.closed_by_server(2.0)
            assert process.wait(5) == 0, output.text
            assert time.monotonic() - start < 2.0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(5)
        output.join()


def test_an_idle_websocket_outlives_the_http_timeouts(serve: Callable[..., RunningServer]) -> None:
    """keep_alive_timeout and header_timeout are for HTTP requests: an open WebSocket with no
    traffic (pings off) is not closed by them."""
    server = serve(keep_alive_timeout=0.2, header_timeout=0.2)
    with WsConnection(server.port) as conn:
        conn.open("/ws")
        assert read_frame_within(conn, 0.6) is None
        assert_echoed(conn, b"idle but open")
