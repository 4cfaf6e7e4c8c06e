"""Robustness end to end: backpressure, floods, failures, disconnects and SIGTERM under load.

This module owns the tests of how the server holds up when clients misbehave or the process is
stopped: a slow reader of a 200 MiB streamed response and a slow uploader of 64 MiB bodies
(memory stays bounded because reading and the response iterator pause), a flood of 10,000
pipelined requests, handler and stream failures contained to their own request or connection,
handlers cancelled when their client goes away, and a graceful SIGTERM while 50 clients keep
sending. Tests that measure memory run the server in a subprocess (`python -m wirespeed` with
an app module written to tmp_path, as tests/test_demo_cli.py does) and read its VmRSS from
/proc; the others use the in-thread servers of conftest.py. Every test runs on both parser
backends and every wait is bounded.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import signal
import socket
import struct
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from conftest import RunningServer
from http_wire import Connection, WireResponse
from processes import OutputCollector, free_port, start_cli, wait_until
from wirespeed import App, Request, StreamingResponse

ServerFor = Callable[..., RunningServer]

MIB = 1024 * 1024
# Memory a server may gain over its idle RSS while a client stalls, floods or uploads.
RSS_BOUND = 64 * MIB

# The app served by the subprocess servers. `stats` lets a test see, over a second
# connection, how far a streamed response's generator has got.
APP_MODULE = '''
import asyncio

import wirespeed
from wirespeed import StreamingResponse

app = wirespeed.App()
PIECE = 1024 * 1024
stats = {"produced": 0, "finished": False}


@app.get("/ping")
def ping(request):
    return "pong"


@app.get("/stats")
def get_stats(request):
    return stats


@app.get("/big/{count:int}")
def big(request, count: int):
    """`count` pieces of 1 MiB, each made when the previous one has been taken."""

    async def pieces():
        for i in range(count):
            stats["produced"] = i + 1
            yield bytes((i % 256,)) * PIECE
        stats["finished"] = True

    return StreamingResponse(pieces(), content_type="application/octet-stream")


@app.post("/upload")
async def upload(request):
    """Read the body slowly: a short sleep after every piece."""
    count = pieces = 0
    async for piece in request.stream():
        count += len(piece)
        pieces += 1
        await asyncio.sleep(0.001)
    return {"count": count, "pieces": pieces}


@app.post("/upload-late/{ms:int}")
async def upload_late(request, ms: int):
    """Leave the body unread for `ms` milliseconds, then count it."""
    await asyncio.sleep(ms / 1000)
    count = 0
    async for piece in request.stream():
        count += len(piece)
    return {"count": count}


@app.get("/seq/{i}")
async def seq(request, i):
    await asyncio.sleep(0.001)
    return i


@app.get("/blob")
def blob(request):
    return b"b" * 65536


@app.get("/work/{ms:int}")
async def work(request, ms: int):
    await asyncio.sleep(ms / 1000)
    return f"worked {ms} ms ".ljust(2000, ".")
'''


# -- a server in a subprocess, for what must be measured from outside


def rss_of(pid: int) -> int:
    """Resident set size of process `pid`, in bytes (VmRSS of /proc/PID/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for process {pid}")


class RssSampler:
    """Samples a process's RSS every few milliseconds in a thread; keeps the peak."""

    def __init__(self, pid: int, interval: float = 0.02) -> None:
        self.pid = pid
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._main, name="rss-sampler", daemon=True)

    def _main(self) -> None:
        while True:
            try:
                self.peak = max(self.peak, rss_of(self.pid))
            except (OSError, AssertionError):  # the process is gone
                return
            if self._stop.wait(self.interval):
                return

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self.peak = max(self.peak, rss_of(self.pid))


class ServerProcess:
    """`python -m wirespeed robust_app:app` on a free port; its output is collected."""

    def __init__(self, cwd: Path, backend: str, *args: str) -> None:
        self.port = free_port()
        self.process, _ = start_cli(
            "robust_app:app", "--port", str(self.port), "--parser", backend, *args, cwd=cwd
        )
        self._output = OutputCollector(self.process)
        self.output = self._output.lines

    @property
    def pid(self) -> int:
        return self.process.pid

    def rss(self) -> int:
        return rss_of(self.pid)

    def get(self, path: str) -> WireResponse:
        with Connection(self.port, timeout=10) as connection:
            connection.send(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            return connection.read_response()

    def stats(self) -> dict[str, Any]:
        return json.loads(self.get("/stats").body)  # type: ignore[no-any-return]

    def idle_rss(self) -> int:
        """RSS after a few small requests of each kind, when nothing is running."""
        for _ in range(2):
            assert self.get("/ping").body == b"pong"
            assert self.get("/seq/1").body == b"1"
            assert len(self.get("/big/2").body) == 2 * MIB
        time.sleep(0.1)
        return self.rss()

    def terminate(self) -> None:
        self.process.send_signal(signal.SIGTERM)

    def wait(self, timeout: float) -> int:
        try:
            return self.process.wait(timeout)
        finally:
            self._output.join()

    def close(self) -> None:
        if self.process.poll() is None:
            self.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self._output.join()


@pytest.fixture
def server_process(tmp_path: Path, backend: str) -> Iterator[Callable[..., ServerProcess]]:
    """Start a subprocess server of APP_MODULE: `server_process(*extra_cli_args)`."""
    (tmp_path / "robust_app.py").write_text(APP_MODULE)
    started: list[ServerProcess] = []

    def start(*args: str) -> ServerProcess:
        server = ServerProcess(tmp_path, backend, *args)
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()


def report(name: str, **numbers: float) -> None:
    """Print measured numbers (shown with `pytest -rP` or `-s`)."""
    shown = ", ".join(
        f"{key}={value / MIB:.1f} MiB" if key.endswith(("rss", "growth", "bytes")) else f"{key}={value:g}"
        for key, value in numbers.items()
    )
    print(f"[{name}] {shown}")


# -- raw client helpers


def connect(port: int, rcvbuf: int | None = None, timeout: float = 10.0) -> socket.socket:
    """A client socket to 127.0.0.1:port; `rcvbuf` fixes the receive buffer (no autotuning),
    so that how much the kernel can hold for a stalled reader is known."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(timeout)
    sock.connect(("127.0.0.1", port))
    return sock


class ChunkedBodyReader:
    """Reads one chunked response from a socket piece by piece, never holding the body."""

    def __init__(self, sock: socket.socket) -> None:
        self.file = sock.makefile("rb", buffering=256 * 1024)
        self.body_bytes = 0
        self.chunks = 0

    def read_head(self) -> bytes:
        lines: list[bytes] = []
        while True:
            line = self.file.readline(65536)
            if not line:
                raise EOFError("connection closed in the response head")
            if line == b"\r\n":
                return b"".join(lines)
            lines.append(line)

    def read_chunk(self, expected_size: int, read_size: int, pause: float = 0.0) -> bool:
        """Read the next chunk (False at the last chunk), `read_size` bytes at a time, sleeping
        `pause` between reads; check its size and that every byte is the chunk's index."""
        size_line = self.file.readline(100)
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            assert self.file.readline(100) == b"\r\n", "no trailers expected"
            return False
        assert size == expected_size, f"chunk {self.chunks} has {size} bytes"
        fill = self.chunks % 256
        remaining = size
        while remaining:
            data = self.file.read(min(read_size, remaining))
            if not data:
                raise EOFError(f"connection closed in chunk {self.chunks}")
            assert data[0] == data[-1] == fill, f"chunk {self.chunks} has wrong content"
            remaining -= len(data)
            self.body_bytes += len(data)
            if pause:
                time.sleep(pause)
        assert self.file.read(2) == b"\r\n"
        self.chunks += 1
        return True


# -- 1. backpressure: a slow reader of a streamed response


def test_slow_reader_pauses_the_stream_and_memory_stays_bounded(
    server_process: Callable[..., ServerProcess],
) -> None:
    pieces = 200
    server = server_process()
    idle = server.idle_rss()
    # A 256 KiB receive buffer: the kernel holds little for the stalled client.
    sock = connect(server.port, rcvbuf=256 * 1024)
    with sock:
        sock.sendall(f"GET /big/{pieces} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        reader = ChunkedBodyReader(sock)
        head = reader.read_head().lower()
        assert head.startswith(b"http/1.1 200 ") and b"transfer-encoding: chunked" in head
        # Stall: read nothing for 2 s. The server must stop pulling from the generator.
        with RssSampler(server.pid) as stall:
            time.sleep(2.0)
        produced_during_stall = server.stats()["produced"]
        # Then read slowly: 4 MiB in 64 KiB reads, 5 ms apart.
        for _ in range(4):
            assert reader.read_chunk(MIB, 65536, pause=0.005)
        produced_after_4mib = server.stats()["produced"]
        # Then the rest, as fast as this client goes.
        with RssSampler(server.pid) as transfer:
            while reader.read_chunk(MIB, 256 * 1024):
                pass
        assert reader.body_bytes == pieces * MIB
        assert reader.chunks == pieces
    final = server.stats()
    report(
        "slow reader",
        idle_rss=idle,
        stall_peak_rss=stall.peak,
        stall_growth=stall.peak - idle,
        transfer_peak_rss=transfer.peak,
        transfer_growth=transfer.peak - idle,
        produced_during_stall=produced_during_stall,
        produced_after_4mib=produced_after_4mib,
    )
    # Only what the transport and the socket buffers hold (a few MiB) was made ahead.
    assert produced_during_stall <= 24, produced_during_stall
    assert produced_after_4mib <= 28, produced_after_4mib
    assert final == {"produced": pieces, "finished": True}
    assert stall.peak - idle < RSS_BOUND
    assert transfer.peak - idle < RSS_BOUND


# -- 2. backpressure: a slow uploader, a slow body reader, a handler that does not read


BODY_SIZE = 64 * MIB
SEND_PIECE = 64 * 1024
_BODY_PIECE = memoryview(bytes(range(256)) * (SEND_PIECE // 256))
# RSS_BOUND would let a server hold the whole 64 MiB body (it grows by 47-64 MiB when reading
# never pauses), so uploads get half the body as their bound.
UPLOAD_RSS_BOUND = BODY_SIZE // 2


def send_body(sock: socket.socket, chunked: bool, sent: list[int], pause_every_mib: float = 0.002) -> None:
    """Send BODY_SIZE bytes in SEND_PIECE pieces (chunk-framed if `chunked`), sleeping a little
    after every MiB; `sent[0]` counts the body bytes handed to the kernel so far."""
    for offset in range(0, BODY_SIZE, SEND_PIECE):
        if chunked:
            sock.sendall(b"%x\r\n" % SEND_PIECE)
        sock.sendall(_BODY_PIECE)
        if chunked:
            sock.sendall(b"\r\n")
        sent[0] += SEND_PIECE
        if (offset + SEND_PIECE) % MIB == 0 and pause_every_mib:
            time.sleep(pause_every_mib)
    if chunked:
        sock.sendall(b"0\r\n\r\n")


def upload_head(path: str, chunked: bool) -> bytes:
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {BODY_SIZE}"
    return f"POST {path} HTTP/1.1\r\nHost: x\r\n{framing}\r\n\r\n".encode()


@pytest.mark.parametrize("chunked", [False, True], ids=["length", "chunked"])
def test_slow_upload_to_a_slow_reader_is_exact_and_bounded(
    server_process: Callable[..., ServerProcess], chunked: bool
) -> None:
    server = server_process("--max-body-size", str(2 * BODY_SIZE))
    idle = server.idle_rss()
    sent = [0]
    with Connection(server.port, timeout=15) as connection, RssSampler(server.pid) as upload:
        started = time.monotonic()
        connection.send(upload_head("/upload", chunked))
        send_body(connection.sock, chunked, sent)
        response = connection.read_response()
        elapsed = time.monotonic() - started
        assert response.status == 200, response
        result = json.loads(response.body)
        # The connection goes on after the body.
        connection.send(b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n")
        assert connection.read_response().body == b"pong"
    report(
        f"slow upload {'chunked' if chunked else 'length'}",
        idle_rss=idle,
        peak_rss=upload.peak,
        growth=upload.peak - idle,
        pieces=result["pieces"],
        seconds=round(elapsed, 2),
    )
    assert result["count"] == BODY_SIZE
    assert result["pieces"] > 1
    assert upload.peak - idle < UPLOAD_RSS_BOUND


@pytest.mark.parametrize("chunked", [False, True], ids=["length", "chunked"])
def test_unread_body_pauses_reading_and_memory_stays_bounded(
    server_process: Callable[..., ServerProcess], chunked: bool
) -> None:
    late_ms = 1200
    server = server_process("--max-body-size", str(2 * BODY_SIZE))
    idle = server.idle_rss()
    sent = [0]
    errors: list[BaseException] = []
    with Connection(server.port, timeout=15) as connection, RssSampler(server.pid) as upload:
        connection.send(upload_head(f"/upload-late/{late_ms}", chunked))

        def sender() -> None:
            try:
                send_body(connection.sock, chunked, sent, pause_every_mib=0)
            except BaseException as error:  # noqa: BLE001 - reported to the test thread
                errors.append(error)

        thread = threading.Thread(target=sender, name="uploader", daemon=True)
        thread.start()
        # While the handler sleeps, the server holds at most max_buffered_body (1 MiB) plus
        # what the kernel buffers: the sender must be stuck far short of 64 MiB.
        time.sleep(late_ms / 1000 * 0.75)
        sent_while_unread = sent[0]
        rss_while_unread = server.rss()
        response = connection.read_response()
        thread.join(15)
        assert not thread.is_alive() and not errors, errors
    report(
        f"unread body {'chunked' if chunked else 'length'}",
        idle_rss=idle,
        unread_rss=rss_while_unread,
        sent_while_unread_bytes=sent_while_unread,
        peak_rss=upload.peak,
        growth=upload.peak - idle,
    )
    assert sent_while_unread <= 24 * MIB, f"{sent_while_unread / MIB:.1f} MiB accepted while unread"
    assert rss_while_unread - idle < UPLOAD_RSS_BOUND
    assert response.status == 200
    assert json.loads(response.body) == {"count": BODY_SIZE}
    assert upload.peak - idle < UPLOAD_RSS_BOUND


# -- 3. a flood of pipelined requests


def test_pipelined_flood_answers_all_in_order_with_bounded_memory(
    server_process: Callable[..., ServerProcess],
) -> None:
    count = 10_000
    server = server_process()
    idle = server.idle_rss()
    data = b"".join(f"GET /seq/{i} HTTP/1.1\r\nHost: x\r\n\r\n".encode() for i in range(count))
    errors: list[BaseException] = []
    with Connection(server.port, timeout=20) as connection, RssSampler(server.pid) as flood:

        def sender() -> None:
            try:
                connection.send(data)
            except BaseException as error:  # noqa: BLE001 - reported to the test thread
                errors.append(error)

        thread = threading.Thread(target=sender, name="flooder", daemon=True)
        thread.start()
        time.sleep(1.0)  # read no response yet
        rss_unread = server.rss()
        started = time.monotonic()
        for i in range(count):
            response = connection.read_response()
            assert response.status == 200 and response.body == str(i).encode(), (i, response)
        elapsed = time.monotonic() - started
        thread.join(10)
        assert not thread.is_alive() and not errors, errors
    report(
        "pipelined flood",
        idle_rss=idle,
        unread_rss=rss_unread,
        peak_rss=flood.peak,
        growth=flood.peak - idle,
        read_seconds=round(elapsed, 2),
    )
    assert flood.peak - idle < RSS_BOUND


def test_pipelined_flood_of_large_responses_that_are_not_read(
    server_process: Callable[..., ServerProcess],
) -> None:
    """2,000 pipelined requests for 64 KiB answers (125 MiB in all) that the client does not
    read for a while: the server must stop answering (and reading) when the client does not
    take what it wrote, rather than hold every answer in memory."""
    count = 2000
    server = server_process()
    idle = server.idle_rss()
    data = b"GET /blob HTTP/1.1\r\nHost: x\r\n\r\n" * count
    with Connection(server.port, timeout=20) as connection, RssSampler(server.pid) as flood:
        connection.send(data)
        time.sleep(1.0)  # read no response yet
        rss_unread = server.rss()
        for _ in range(count):
            response = connection.read_response()
            assert response.status == 200 and len(response.body) == 65536
    report("pipelined large answers", idle_rss=idle, unread_rss=rss_unread, peak_rss=flood.peak, growth=flood.peak - idle)
    assert flood.peak - idle < RSS_BOUND


# -- 4. failures stay inside their request or connection


def failing_app(events: dict[str, threading.Event]) -> App:
    app = App()

    @app.get("/")
    def hello(request: Request) -> str:
        return "Hello, World!"

    @app.get("/sync-boom")
    def sync_boom(request: Request) -> str:
        raise RuntimeError("secret sync failure")

    @app.get("/async-boom")
    async def async_boom(request: Request) -> str:
        await asyncio.sleep(0.01)
        raise RuntimeError("secret async failure")

    @app.get("/stream-boom-late")
    def stream_boom_late(request: Request) -> StreamingResponse:
        async def pieces() -> AsyncIterator[bytes]:
            yield b"first piece"
            await asyncio.sleep(0.01)
            raise RuntimeError("secret stream failure")

        return StreamingResponse(pieces(), content_type="text/plain")

    @app.get("/stream-boom-early")
    def stream_boom_early(request: Request) -> StreamingResponse:
        async def pieces() -> AsyncIterator[bytes]:
            await asyncio.sleep(0.01)
            raise RuntimeError("secret early stream failure")
            yield b"never"  # pragma: no cover - makes this an async generator

        return StreamingResponse(pieces(), content_type="text/plain")

    @app.get("/hang")
    async def hang(request: Request) -> str:
        events["started"].set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            events["cancelled"].set()
            raise
        events["finished"].set()
        return "woke up"

    @app.post("/hang-body")
    async def hang_body(request: Request) -> bytes:
        events["started"].set()
        try:
            return await request.body()
        except asyncio.CancelledError:
            events["cancelled"].set()
            raise
        except Exception:
            events["body-failed"].set()
            raise

    return app


def new_events() -> dict[str, threading.Event]:
    return {name: threading.Event() for name in ("started", "cancelled", "finished", "body-failed")}


def error_records(caplog: pytest.LogCaptureFixture, text: str) -> list[logging.LogRecord]:
    return [
        record
        for record in caplog.records
        if record.name == "wirespeed.error" and record.exc_info and text in str(record.exc_info[1])
    ]


@pytest.mark.parametrize("path", ["/sync-boom", "/async-boom"])
def test_handler_failure_is_a_logged_generic_500_and_the_connection_goes_on(
    server_for: ServerFor, caplog: pytest.LogCaptureFixture, path: str
) -> None:
    server = server_for(failing_app(new_events()))
    with Connection(server.port) as connection:
        for _ in range(2):
            connection.send(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            failed = connection.read_response()
            assert failed.status == 500
            assert failed.body == b"500 Internal Server Error"
            assert b"secret" not in failed.raw_head + failed.body
            assert failed.header("connection") is None
            connection.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            assert connection.read_response().body == b"Hello, World!"
    records = error_records(caplog, "secret")
    assert len(records) == 2, [r.getMessage() for r in caplog.records]
    for record in records:
        assert record.levelno == logging.ERROR and record.exc_info is not None
        assert isinstance(record.exc_info[1], RuntimeError)
        assert record.exc_info[2] is not None  # a traceback to log
        assert path in record.getMessage()


def test_stream_failing_after_a_piece_ends_only_its_connection(
    server_for: ServerFor, caplog: pytest.LogCaptureFixture
) -> None:
    server = server_for(failing_app(new_events()))
    with Connection(server.port) as bystander, Connection(server.port) as victim:
        bystander.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert bystander.read_response().body == b"Hello, World!"
        victim.send(b"GET /stream-boom-late HTTP/1.1\r\nHost: x\r\n\r\n")
        head = victim._read_until(b"\r\n\r\n").lower()
        assert head.startswith(b"http/1.1 200 ") and b"transfer-encoding: chunked" in head
        rest = victim.read_until_close()
        # The first piece, then the end of the connection: no last chunk, so the client
        # knows the body is incomplete.
        assert rest == b"b\r\nfirst piece\r\n", rest
        # The other connection is untouched.
        for _ in range(3):
            bystander.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            assert bystander.read_response().body == b"Hello, World!"
        assert not bystander.is_closed(timeout=0.2)
    assert error_records(caplog, "secret stream failure"), [r.getMessage() for r in caplog.records]


def test_stream_failing_before_its_first_piece_is_a_500(
    server_for: ServerFor, caplog: pytest.LogCaptureFixture
) -> None:
    server = server_for(failing_app(new_events()))
    with Connection(server.port) as connection:
        connection.send(b"GET /stream-boom-early HTTP/1.1\r\nHost: x\r\n\r\n")
        try:
            response = connection.read_response()
        except EOFError:
            pytest.fail(f"the connection ended with no answer (got {connection.buffer!r})")
        assert response.status == 500
        assert response.body == b"500 Internal Server Error"
        if response.header("connection") != "close":
            connection.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            assert connection.read_response().body == b"Hello, World!"
    assert error_records(caplog, "secret early stream failure")


# -- 5. a client that goes away cancels its handler


def server_tasks(server: RunningServer) -> int:
    """Tasks on the server's loop, less the server's own main task and this probe."""

    async def count() -> int:
        return len(asyncio.all_tasks()) - 1

    return asyncio.run_coroutine_threadsafe(count(), server.loop).result(5) - 1


def close_abruptly(sock: socket.socket) -> None:
    """Close with a reset (SO_LINGER 0) rather than a FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


HANG_REQUESTS = {
    "sleep": b"GET /hang HTTP/1.1\r\nHost: x\r\n\r\n",
    # A body of 100,000 bytes of which 10 come: more than the inline size, so it streams.
    "body": b"POST /hang-body HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n0123456789",
}

@pytest.mark.parametrize("kind,close", [("sleep", "reset"), ("body", "reset")])
def test_client_gone_cancels_its_handler(server_for: ServerFor, kind: str, close: str) -> None:
    events = new_events()
    server = server_for(failing_app(events), shutdown_timeout=0.2)
    assert server.server.state is not None
    tasks_before = server_tasks(server)
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    sock.sendall(HANG_REQUESTS[kind])
    assert events["started"].wait(5)
    assert wait_until(lambda: server_tasks(server) == tasks_before + 1, 2)  # the handler's task
    closed_at = time.monotonic()
    if close == "fin":
        sock.close()
    else:
        close_abruptly(sock)
    cancelled = events["cancelled"].wait(1.2)
    cancel_delay = time.monotonic() - closed_at
    assert cancelled, (
        f"the handler was not cancelled within 1.2 s (events set: {[k for k, e in events.items() if e.is_set()]}; "
        f"{len(server.server.state.connections)} connection(s) open)"  # type: ignore[union-attr]
    )
    assert cancel_delay < 1.0, cancel_delay
    assert not events["finished"].is_set()
    gone = wait_until(lambda: not server.server.state.connections, 1)  # type: ignore[union-attr]
    assert gone, f"{len(server.server.state.connections)} connection(s) left"  # type: ignore[union-attr]
    assert wait_until(lambda: server_tasks(server) == tasks_before, 1), "a task was left pending"
    # The server goes on serving.
    with Connection(server.port) as connection:
        connection.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert connection.read_response().body == b"Hello, World!"


# -- 6. SIGTERM while 50 clients keep sending


@dataclass
class LoadLog:
    """What the load clients saw, shared by their threads."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    complete: int = 0
    # Answers the server surely made after it had the signal (see load_client).
    made_after_signal: int = 0
    closed: int = 0  # answers with Connection: close
    unanswered_after_signal: int = 0  # EOF/reset before any byte, request sent late: allowed
    refused: int = 0
    problems: list[str] = field(default_factory=list)

    def problem(self, text: str) -> None:
        with self.lock:
            self.problems.append(text)


def load_client(port: int, seed: int, signal_at: list[float], stop: threading.Event, log: LoadLog) -> None:
    """Send requests on keep-alive connections until the server goes away. Half the clients
    pause a little between requests, so that some connections are idle at the signal."""
    rng = random.Random(seed)
    think = seed % 2 == 1
    while not stop.is_set():
        try:
            connection = Connection(port, timeout=10)
        except (ConnectionRefusedError, ConnectionResetError):
            with log.lock:
                log.refused += 1
            return
        with connection:
            while not stop.is_set():
                if think:
                    time.sleep(rng.uniform(0, 0.05))
                ms = rng.randint(50, 200)
                sent_at = time.monotonic()
                try:
                    connection.send(f"GET /work/{ms} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
                except (BrokenPipeError, ConnectionResetError):
                    if not signal_at or sent_at < signal_at[0] - 0.1:
                        log.problem("a send failed before the signal")
                    else:
                        with log.lock:
                            log.unanswered_after_signal += 1
                    return
                try:
                    response = connection.read_response()
                except (EOFError, ConnectionResetError, TimeoutError) as error:
                    if connection.buffer:
                        log.problem(f"{type(error).__name__} in the middle of a response: {connection.buffer[:80]!r}")
                    # A request sent after shutdown began (or racing with it by a few
                    # milliseconds, before the server read it) may find the connection
                    # closed before any byte of an answer: acceptable, the client may retry.
                    # One sent well before the signal was in flight and must be answered.
                    elif not signal_at or sent_at < signal_at[0] - 0.1:
                        log.problem(f"{type(error).__name__} with no answer to a request sent before the signal")
                    else:
                        with log.lock:
                            log.unanswered_after_signal += 1
                    return
                except AssertionError as error:  # a malformed answer
                    log.problem(f"malformed answer: {error}")
                    return
                expected = f"worked {ms} ms ".ljust(2000, ".").encode()
                if response.status != 200 or response.body != expected:
                    log.problem(f"wrong answer {response.status} {response.body[:60]!r}")
                    return
                close = response.header("connection") == "close"
                # The handler slept `ms` after the request was sent, so the server made this
                # answer no earlier than sent_at + ms (whenever this thread got to read it).
                # 50 ms after the signal the server has surely begun its shutdown.
                made_after_signal = bool(signal_at) and sent_at + ms / 1000 > signal_at[0] + 0.05
                with log.lock:
                    log.complete += 1
                    log.made_after_signal += made_after_signal
                    log.closed += close
                if made_after_signal and not close:
                    log.problem("an answer made after the signal without Connection: close")
                if close:
                    if not signal_at:
                        log.problem("Connection: close before the signal")
                    if not connection.is_closed(timeout=3):
                        log.problem("the connection stayed open after Connection: close")
                    break  # reconnect: refused once the server has stopped listening


def test_sigterm_under_load_finishes_in_flight_answers_and_exits_cleanly(
    server_process: Callable[..., ServerProcess],
) -> None:
    shutdown_timeout = 5.0
    server = server_process("--shutdown-timeout", str(shutdown_timeout))
    log = LoadLog()
    signal_at: list[float] = []
    stop = threading.Event()
    clients = [
        threading.Thread(target=load_client, args=(server.port, seed, signal_at, stop, log), daemon=True)
        for seed in range(50)
    ]
    # Idle connections: one that has had an answer, one that never sent anything.
    idle_used = Connection(server.port)
    idle_used.send(b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n")
    assert idle_used.read_response().body == b"pong"
    idle_fresh = Connection(server.port)
    idle_closed_at: dict[str, float] = {}

    def watch_idle(name: str, connection: Connection) -> None:
        if connection.is_closed(timeout=10):
            idle_closed_at[name] = time.monotonic()

    watchers = [
        threading.Thread(target=watch_idle, args=(name, connection), daemon=True)
        for name, connection in (("used", idle_used), ("fresh", idle_fresh))
    ]
    try:
        for thread in clients + watchers:
            thread.start()
        time.sleep(1.0)
        with log.lock:
            before_signal = log.complete
        signal_at.append(time.monotonic())
        server.terminate()
        code = server.wait(shutdown_timeout + 5)
        exited_after = time.monotonic() - signal_at[0]
        for thread in clients + watchers:
            thread.join(5)
        stop.set()
        assert not any(thread.is_alive() for thread in clients), "a client is stuck"
    finally:
        stop.set()
        idle_used.close()
        idle_fresh.close()
    report(
        "sigterm under load",
        answers_before_signal=before_signal,
        answers_total=log.complete,
        answers_made_after_signal=log.made_after_signal,
        answers_with_close=log.closed,
        unanswered_after_signal=log.unanswered_after_signal,
        refused=log.refused,
        exit_seconds=round(exited_after, 2),
        idle_used_eof=round(idle_closed_at.get("used", -1) - signal_at[0], 3),
        idle_fresh_eof=round(idle_closed_at.get("fresh", -1) - signal_at[0], 3),
    )
    output = "".join(server.output)
    assert code == 0, output
    assert exited_after < shutdown_timeout + 1, exited_after
    assert not log.problems, log.problems[:10]
    assert before_signal >= 50, "the load did not get going"
    # Requests in flight at the signal were answered, completely, and told the client to go.
    assert log.made_after_signal >= 5, log.made_after_signal
    assert log.closed >= log.made_after_signal
    assert "Traceback" not in output, output
    # Idle keep-alive connections are closed at once.
    for name in ("used", "fresh"):
        assert name in idle_closed_at, f"the idle {name} connection was never closed"
        assert idle_closed_at[name] - signal_at[0] < 1.0, idle_closed_at


def test_client_half_close_still_gets_its_answer(server_for: ServerFor) -> None:
    """A FIN is a half-close (RFC 9112 §9.6): the request already sent is still answered,
    so a handler is not cancelled by it; one waiting for a body that can no longer come
    gets a 400 at once, and the connection ends after the answer."""
    events = new_events()
    server = server_for(failing_app(events), shutdown_timeout=0.2)
    state = server.server.state
    assert state is not None
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(HANG_REQUESTS["body"])
        assert events["started"].wait(5)
        sock.shutdown(socket.SHUT_WR)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    assert received.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert received.endswith(b"400 Bad Request: the client closed its side before the body was complete")
    assert wait_until(lambda: not state.connections, 2)
