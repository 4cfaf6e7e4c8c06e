"""The fault table of the ASGI mode: each row an app that misbehaves, and what the server does.

Strategy: one real server per parser backend serves an ASGI app that routes `/fault/<name>` to
the misbehaving app of each row, and `/ok` to a good one. Each row sends its request on a raw
socket and checks the exact outcome on the wire (a 500 in place of an answer not begun, a
closed connection after an answer partly written, the complete answer kept), what is logged,
and then that the same connection (where it survives) and a new connection are still served:
no fault reaches another connection. The spec each row leans on is cited with it.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from conftest import RunningServer
from http_wire import Connection
from wirespeed import Config

Send = Callable[[dict[str, Any]], Awaitable[None]]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Fault = Callable[[dict[str, Any], Receive, Send], Awaitable[None]]

START = {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]}


def start(status: Any = 200, headers: Any = ((b"content-type", b"text/plain"),)) -> dict[str, Any]:
    return {"type": "http.response.start", "status": status, "headers": list(headers)}


def body(data: bytes = b"", more: bool = False) -> dict[str, Any]:
    return {"type": "http.response.body", "body": data, "more_body": more}


# -- the misbehaving apps
async def raises_before_start(scope: Any, receive: Receive, send: Send) -> None:
    raise ValueError("boom before start")


async def raises_after_start(scope: Any, receive: Receive, send: Send) -> None:
    await send(start())
    raise ValueError("boom after start")


async def raises_mid_body(scope: Any, receive: Receive, send: Send) -> None:
    await send(start())
    await send(body(b"partial", more=True))
    raise ValueError("boom mid-body")


async def returns_without_answer(scope: Any, receive: Receive, send: Send) -> None:
    return None


async def returns_after_start(scope: Any, receive: Receive, send: Send) -> None:
    await send(start())


async def returns_mid_body(scope: Any, receive: Receive, send: Send) -> None:
    await send(start())
    await send(body(b"partial", more=True))


async def second_start(scope: Any, receive: Receive, send: Send) -> None:
    await send(start(200, [(b"x-first", b"1")]))
    await send(start(201, [(b"x-second", b"2")]))
    await send(body(b"never"))


async def second_start_caught(scope: Any, receive: Receive, send: Send) -> None:
    await send(start(200, [(b"x-first", b"1")]))
    try:
        await send(start(201, [(b"x-second", b"2")]))
    except RuntimeError:
        pass
    await send(body(b"first head kept"))


async def body_after_last(scope: Any, receive: Receive, send: Send) -> None:
    await send(start(200, [(b"content-type", b"text/plain")]))
    await send(body(b"complete"))
    await send(body(b"AFTER-THE-END"))


async def body_before_start(scope: Any, receive: Receive, send: Send) -> None:
    await send(body(b"no head"))


def status_app(status: Any) -> Fault:
    async def app(scope: Any, receive: Receive, send: Send) -> None:
        await send(start(status))
        await send(body(b"x"))

    return app


def header_app(name: bytes, value: bytes) -> Fault:
    async def app(scope: Any, receive: Receive, send: Send) -> None:
        await send(start(200, [(b"content-type", b"text/plain"), (name, value)]))
        await send(body(b"x"))

    return app


async def length_longer_than_body(scope: Any, receive: Receive, send: Send) -> None:
    await send(start(200, [(b"content-length", b"10")]))
    await send(body(b"12345"))


async def length_shorter_than_body(scope: Any, receive: Receive, send: Send) -> None:
    await send(start(200, [(b"content-length", b"3")]))
    await send(body(b"12345"))


async def streamed_under_length(scope: Any, receive: Receive, send: Send) -> None:
    await send(start(200, [(b"content-length", b"10")]))
    await send(body(b"12345", more=True))
    await send(body(b""))


async def streamed_over_length(scope: Any, receive: Receive, send: Send) -> None:
    await send(start(200, [(b"content-length", b"6")]))
    await send(body(b"12345", more=True))
    await send(body(b"67890"))


async def never_reads_body(scope: Any, receive: Receive, send: Send) -> None:
    await send(start(200, [(b"content-type", b"text/plain")]))
    await send(body(b"did not read it"))


async def unknown_message(scope: Any, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.nonsense"})


async def str_body(scope: Any, receive: Receive, send: Send) -> None:
    await send(start())
    await send({"type": "http.response.body", "body": "text, not bytes"})


async def trailers_not_announced(scope: Any, receive: Receive, send: Send) -> None:
    await send(start())
    await send(body(b"done"))
    await send({"type": "http.response.trailers", "headers": [(b"x-t", b"1")]})


# name -> (app, the spec or RFC section the row rests on)
FAULTS: dict[str, tuple[Fault, str]] = {
    "raises-before-start": (raises_before_start, "ASGI main spec: an exception before a response starts"),
    "raises-after-start": (raises_after_start, "HTTP spec: nothing is sent before the first body event"),
    "raises-mid-body": (raises_mid_body, "HTTP spec: the body is partly sent"),
    "returns-without-answer": (returns_without_answer, "HTTP spec: a request needs a response"),
    "returns-after-start": (returns_after_start, "HTTP spec: a start needs at least one body event"),
    "returns-mid-body": (returns_mid_body, "HTTP spec: more_body promised more"),
    "second-start": (second_start, "HTTP spec: one http.response.start per response"),
    "second-start-caught": (second_start_caught, "HTTP spec: one http.response.start per response"),
    "body-after-last": (body_after_last, "HTTP spec: messages after the last body are ignored"),
    "body-before-start": (body_before_start, "HTTP spec: a body event follows a start"),
    "status-99": (status_app(99), "RFC 9110 §15: status codes are 100..599; 1xx is interim"),
    "status-600": (status_app(600), "RFC 9110 §15: status codes are 100..599"),
    "status-103": (status_app(103), "RFC 9110 §15.2: a 1xx is never the final answer"),
    "status-str": (status_app("200"), "HTTP spec: status is an int"),
    "status-bool": (status_app(True), "HTTP spec: status is an int"),
    "value-crlf": (header_app(b"x-a", b"a\r\nSet-Cookie: injected=1"), "RFC 9110 §5.5: no CR/LF in a value"),
    "value-lf": (header_app(b"x-a", b"a\nx-injected: 1"), "RFC 9110 §5.5: no CR/LF in a value"),
    "value-cr": (header_app(b"x-a", b"a\rb"), "RFC 9110 §5.5: no CR/LF in a value"),
    "value-nul": (header_app(b"x-a", b"a\0b"), "RFC 9110 §5.5: no NUL in a value"),
    "name-crlf": (header_app(b"x-a\r\nx-injected", b"1"), "RFC 9110 §5.1: a name is a token"),
    "name-colon": (header_app(b"x-a:", b"1"), "RFC 9110 §5.1: a name is a token"),
    "name-space": (header_app(b"x a", b"1"), "RFC 9110 §5.1: a name is a token"),
    "name-empty": (header_app(b"", b"1"), "RFC 9110 §5.1: a name is a token"),
    "name-str": (header_app("x-a", b"1"), "HTTP spec: header names are byte strings"),  # type: ignore[arg-type]
    "value-str": (header_app(b"x-a", "1"), "HTTP spec: header values are byte strings"),  # type: ignore[arg-type]
    "length-invalid": (header_app(b"content-length", b"1x"), "RFC 9110 §8.6: Content-Length = 1*DIGIT"),
    "length-longer-than-body": (length_longer_than_body, "RFC 9110 §8.6: the length is the body's"),
    "length-shorter-than-body": (length_shorter_than_body, "RFC 9110 §8.6: the length is the body's"),
    "streamed-under-length": (streamed_under_length, "RFC 9112 §6.3: a short body is an incomplete message"),
    "streamed-over-length": (streamed_over_length, "RFC 9112 §6.3: bytes past the length are not the body"),
    "never-reads-body": (never_reads_body, "RFC 9112 §6.3: the server still frames the unread body"),
    "unknown-message": (unknown_message, "HTTP spec: the message types of a response"),
    "str-body": (str_body, "HTTP spec: body is a byte string"),
    "trailers-not-announced": (trailers_not_announced, "trailers extension: trailers need trailers: True"),
}


async def router(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    path = scope["path"]
    if path.startswith("/fault/"):
        await FAULTS[path[7:]][0](scope, receive, send)
        return
    payload = b"ok " + scope["method"].encode()
    await send(start(200, [(b"content-type", b"text/plain"), (b"content-length", str(len(payload)).encode())]))
    await send(body(payload))


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, RunningServer]]:
    running: dict[str, RunningServer] = {}
    yield running
    for server in running.values():
        server.stop()


@pytest.fixture
def server(servers: dict[str, RunningServer], backend: str) -> RunningServer:
    if backend not in servers:
        config = Config(parser=backend, port=0, shutdown_timeout=1.0, lifespan="off")  # type: ignore[arg-type]
        servers[backend] = RunningServer(router, config).start()
    return servers[backend]


def request(path: str, method: str = "GET", extra: bytes = b"") -> bytes:
    return f"{method} {path} HTTP/1.1\r\nHost: t\r\n".encode() + extra + b"\r\n"


def assert_served(server: RunningServer) -> None:
    """A new connection is answered normally: the fault stayed on its own connection."""
    with Connection(server.port) as other:
        other.send(request("/ok"))
        answer = other.read_response()
        assert (answer.status, answer.body) == (200, b"ok GET")


def assert_goes_on(connection: Connection) -> None:
    """The same connection answers its next request."""
    connection.send(request("/ok"))
    answer = connection.read_response()
    assert (answer.status, answer.body) == (200, b"ok GET")


def error_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "wirespeed.error" and r.levelno >= logging.ERROR]


def wait_for_log(caplog: pytest.LogCaptureFixture, count: int = 1) -> list[logging.LogRecord]:
    deadline = time.monotonic() + 2
    while len(error_lines(caplog)) < count and time.monotonic() < deadline:
        time.sleep(0.01)
    return error_lines(caplog)


# Rows whose answer is not begun when the fault comes: a 500 in its place, a traceback (or an
# error line) in the log, and the connection goes on. (name, words the log line holds)
REPLACED_BY_500 = [
    ("raises-before-start", "raised before its response"),
    ("raises-after-start", "raised before its response"),
    ("returns-without-answer", "returned without starting"),
    ("returns-after-start", "returned without completing"),
    ("second-start", "a second time"),
    ("body-before-start", "before http.response.start"),
    ("status-99", "raised before its response"),
    ("status-600", "raised before its response"),
    ("status-103", "raised before its response"),
    ("status-str", "raised before its response"),
    ("status-bool", "raised before its response"),
    ("value-crlf", "raised before its response"),
    ("value-lf", "raised before its response"),
    ("value-cr", "raised before its response"),
    ("value-nul", "raised before its response"),
    ("name-crlf", "raised before its response"),
    ("name-colon", "raised before its response"),
    ("name-space", "raised before its response"),
    ("name-empty", "raised before its response"),
    ("name-str", "raised before its response"),
    ("value-str", "raised before its response"),
    ("length-invalid", "raised before its response"),
    ("length-longer-than-body", "raised before its response"),
    ("length-shorter-than-body", "raised before its response"),
    ("unknown-message", "raised before its response"),
    ("str-body", "raised before its response"),
]


@pytest.mark.parametrize(("name", "logged"), REPLACED_BY_500, ids=[row[0] for row in REPLACED_BY_500])
def test_a_fault_before_the_answer_begins_is_a_500(
    server: RunningServer, caplog: pytest.LogCaptureFixture, name: str, logged: str
) -> None:
    caplog.set_level(logging.ERROR, logger="wirespeed.error")
    with Connection(server.port) as connection:
        connection.send(request(f"/fault/{name}"))
        answer = connection.read_response()
        assert answer.status == 500, FAULTS[name][1]
        assert answer.body == b"500 Internal Server Error"
        # Nothing the app put in its head reaches the wire: no response splitting.
        for line in answer.raw_head.split(b"\r\n")[1:]:
            assert line.split(b":")[0].lower() in (b"server", b"date", b"content-type", b"content-length")
        assert b"injected" not in answer.raw_head
        assert_goes_on(connection)
    records = wait_for_log(caplog)
    assert any(logged in record.getMessage() for record in records), [r.getMessage() for r in records]
    assert_served(server)


def test_an_exception_is_logged_with_its_traceback(server: RunningServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="wirespeed.error")
    with Connection(server.port) as connection:
        connection.send(request("/fault/raises-before-start"))
        assert connection.read_response().status == 500
    (record,) = wait_for_log(caplog)
    assert record.exc_info is not None and isinstance(record.exc_info[1], ValueError)
    assert "boom before start" in caplog.text and "Traceback" in caplog.text


# Rows whose answer is partly written when the fault comes: the connection ends; the client
# can tell the answer is incomplete (no last chunk, or fewer bytes than the length).
CUT_OFF = [
    ("raises-mid-body", b"7\r\npartial\r\n", "failed"),
    ("returns-mid-body", b"7\r\npartial\r\n", "failed"),
    ("streamed-under-length", b"12345", "Content-Length"),
    ("streamed-over-length", b"12345", "Content-Length"),
]


@pytest.mark.parametrize(("name", "written", "logged"), CUT_OFF, ids=[row[0] for row in CUT_OFF])
def test_a_fault_after_the_answer_began_closes_that_connection(
    server: RunningServer, caplog: pytest.LogCaptureFixture, name: str, written: bytes, logged: str
) -> None:
    caplog.set_level(logging.ERROR, logger="wirespeed.error")
    with Connection(server.port) as connection:
        connection.send(request(f"/fault/{name}"))
        data = connection.read_until_close()
    head, _, rest = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n"), FAULTS[name][1]
    assert rest == written  # what was sent before the fault, and nothing after it
    assert not rest.endswith(b"0\r\n\r\n")
    records = wait_for_log(caplog)
    assert any(logged in record.getMessage() or logged in str(record.exc_info) for record in records)
    assert_served(server)


def test_a_body_after_the_last_is_logged_and_not_written(server: RunningServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="wirespeed.error")
    with Connection(server.port) as connection:
        connection.send(request("/fault/body-after-last"))
        answer = connection.read_response()
        assert (answer.status, answer.body) == (200, b"complete")
        assert_goes_on(connection)
        assert b"AFTER-THE-END" not in connection.buffer
    messages = [record.getMessage() for record in wait_for_log(caplog, 2)]
    assert any("sent http.response.body after the response was complete" in m for m in messages), messages
    assert any("raised after its response" in m for m in messages), messages


def test_trailers_that_were_not_announced_are_refused(server: RunningServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="wirespeed.error")
    with Connection(server.port) as connection:
        connection.send(request("/fault/trailers-not-announced"))
        answer = connection.read_response()
        assert (answer.status, answer.body) == (200, b"done")
        assert_goes_on(connection)
    messages = [record.getMessage() for record in wait_for_log(caplog)]
    assert any("sent http.response.trailers after the response was complete" in m for m in messages), messages


def test_a_second_start_the_app_catches_keeps_the_first_head(server: RunningServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="wirespeed.error")
    with Connection(server.port) as connection:
        connection.send(request("/fault/second-start-caught"))
        answer = connection.read_response()
        assert (answer.status, answer.body) == (200, b"first head kept")
        assert answer.header("x-first") == "1" and answer.header("x-second") is None
        assert_goes_on(connection)
    assert any("a second time" in record.getMessage() for record in wait_for_log(caplog))


def test_an_app_that_never_reads_the_body_keeps_the_connection(server: RunningServer) -> None:
    """The unread body, inline or streamed, is framed and dropped; the next request is read."""
    with Connection(server.port) as connection:
        for size in (10, 200_000):
            connection.send(request("/fault/never-reads-body", "POST", b"Content-Length: %d\r\n" % size) + b"a" * size)
            answer = connection.read_response()
            assert (answer.status, answer.body) == (200, b"did not read it")
            assert answer.header("connection") is None
            assert_goes_on(connection)
        chunked = b"Transfer-Encoding: chunked\r\n"
        connection.send(request("/fault/never-reads-body", "POST", chunked) + b"5\r\nhello\r\n0\r\n\r\n")
        assert connection.read_response().body == b"did not read it"
        assert_goes_on(connection)


# -- an app that hangs past a disconnect
HUNG: dict[str, Any] = {}


async def hangs(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    if scope["path"] == "/ok":
        await router(scope, receive, send)
        return
    HUNG["first"] = await receive()
    HUNG["second"] = await receive()  # waits: the body is read, the answer not given
    try:
        await asyncio.sleep(3600)  # and goes on hanging after it hears of the disconnect
    except asyncio.CancelledError:
        HUNG["cancelled"] = True
        raise


def test_an_app_that_hangs_past_a_disconnect_hears_of_it_and_harms_no_one(backend: str) -> None:
    HUNG.clear()
    config = Config(parser=backend, port=0, shutdown_timeout=0.5, lifespan="off")  # type: ignore[arg-type]
    server = RunningServer(hangs, config).start()
    try:
        sock = socket.create_connection(("127.0.0.1", server.port))
        sock.sendall(request("/hang", "POST", b"Content-Length: 2\r\n") + b"hi")
        deadline = time.monotonic() + 2
        while "first" not in HUNG and time.monotonic() < deadline:
            time.sleep(0.01)
        assert HUNG["first"] == {"type": "http.request", "body": b"hi", "more_body": False}
        sock.close()
        while "second" not in HUNG and time.monotonic() < deadline:
            time.sleep(0.01)
        assert HUNG["second"] == {"type": "http.disconnect"}
        assert_served(server)
    finally:
        began = time.monotonic()
        server.stop()
        stopped = time.monotonic() - began
    # The shutdown waited its timeout for the hung app, then cancelled it.
    assert HUNG.get("cancelled") is True
    assert stopped < 5


def test_a_client_gone_mid_stream_is_not_an_error_of_the_app(backend: str, caplog: pytest.LogCaptureFixture) -> None:
    """A client that resets while a Starlette StreamingResponse runs: Starlette turns the
    ClientDisconnected of send() into its own exception, which ends the app. That is the
    client's doing: logged at debug, never as an error with a traceback."""
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse, StreamingResponse
    from starlette.routing import Route

    async def ok(request: Any) -> PlainTextResponse:
        return PlainTextResponse("ok GET")

    async def stream(request: Any) -> StreamingResponse:
        async def pieces() -> Any:
            for _ in range(1000):
                yield b"x" * 1000
                await asyncio.sleep(0.001)

        return StreamingResponse(pieces())

    app = Starlette(routes=[Route("/s", stream), Route("/ok", ok)])
    caplog.set_level(logging.DEBUG, logger="wirespeed")
    config = Config(parser=backend, port=0, shutdown_timeout=1.0)  # type: ignore[arg-type]
    server = RunningServer(app, config).start()
    try:
        for _ in range(5):
            sock = socket.create_connection(("127.0.0.1", server.port))
            sock.sendall(request("/s"))
            assert sock.recv(2000).startswith(b"HTTP/1.1 200 OK")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            sock.close()
        deadline = time.monotonic() + 2
        while server.server.app.tasks and time.monotonic() < deadline:  # type: ignore[union-attr]
            time.sleep(0.01)
        assert not server.server.app.tasks  # type: ignore[union-attr]
        assert_served(server)
    finally:
        server.stop()
    assert error_lines(caplog) == []
    assert any("left during GET /s" in record.getMessage() for record in caplog.records)
