"""The ASGI mode on the wire: the scope an app gets, its receive() and send(), raw bytes.

Strategy: raw ASGI apps (no framework) run under real servers on both parser backends and are
driven with raw sockets, so each test sees the exact scope and events the app got and the
exact bytes the client got: the scope's keys, the body as events (inline, streamed, with
backpressure and 100 Continue), http.disconnect, the framing of answers (Content-Length,
chunked, HTTP/1.0 close-delimited, HEAD), trailers, pathsend through sendfile, keep-alive,
pipelining with batched writes, and the app's Connection: close. A few checks that need to see
inside the connection (writes per buffer, paused reading and writing) use the recording
transport of mock_transport.py.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import RunningServer
from http_wire import Connection
from mock_transport import connect
from wirespeed import Config
from wirespeed.asgi import ClientDisconnected, serving_app

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class Recorder:
    """An ASGI app that keeps each request's scope and events and answers with its body."""

    def __init__(self) -> None:
        self.scopes: list[dict[str, Any]] = []
        self.events: list[list[dict[str, Any]]] = []

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        self.scopes.append(scope)
        events: list[dict[str, Any]] = []
        self.events.append(events)
        body = b""
        while True:
            event = await receive()
            events.append(event)
            body += event.get("body", b"")
            if event["type"] != "http.request" or not event.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": [(b"x-got", b"%d" % len(body))]})
        await send({"type": "http.response.body", "body": body})


def serve(server_for: Callable[..., RunningServer], app: Any, **settings: Any) -> RunningServer:
    settings.setdefault("lifespan", "off")
    return server_for(app, **settings)


def test_the_scope_has_every_key(server_for: Callable[..., RunningServer], backend: str) -> None:
    app = Recorder()
    server = serve(server_for, app)
    with Connection(server.port) as connection:
        connection.send(
            b"GET /caf%C3%A9/a%2Fb?x=1&y=%20 HTTP/1.1\r\nHost: example.org\r\nX-Dup: one\r\n"
            b"x-dup: two\r\nAccept: */*\r\n\r\n"
        )
        assert connection.read_response().status == 200
        client_port = connection.sock.getsockname()[1]
    scope = app.scopes[0]
    assert set(scope) == {
        "type", "asgi", "http_version", "method", "scheme", "path", "raw_path", "query_string",
        "root_path", "headers", "client", "server", "state", "extensions",
    }
    assert scope["type"] == "http"
    assert scope["asgi"] == {"version": "3.0", "spec_version": "2.4"}
    assert scope["http_version"] == "1.1"
    assert scope["method"] == "GET"
    assert scope["scheme"] == "http"
    assert scope["path"] == "/café/a/b"  # percent-decoded, UTF-8
    assert scope["raw_path"] == b"/caf%C3%A9/a%2Fb"
    assert scope["query_string"] == b"x=1&y=%20"
    assert scope["root_path"] == ""
    # Lower-cased names, bytes, in wire order, repeats kept.
    assert [tuple(pair) for pair in scope["headers"]] == [
        (b"host", b"example.org"),
        (b"x-dup", b"one"),
        (b"x-dup", b"two"),
        (b"accept", b"*/*"),
    ]
    assert tuple(scope["client"]) == ("127.0.0.1", client_port)
    assert tuple(scope["server"]) == ("127.0.0.1", server.port)
    assert scope["state"] == {}
    assert set(scope["extensions"]) == {"http.response.trailers", "http.response.pathsend"}


def test_root_path_prefixes_path_and_raw_path(server_for: Callable[..., RunningServer]) -> None:
    app = Recorder()
    server = serve(server_for, app, root_path="/api")
    with Connection(server.port) as connection:
        connection.send(b"GET /items/%41?q HTTP/1.1\r\nHost: t\r\n\r\n")
        connection.read_response()
    scope = app.scopes[0]
    assert (scope["root_path"], scope["path"], scope["raw_path"]) == ("/api", "/api/items/A", b"/api/items/%41")


def test_absolute_form_http10_and_options_star(server_for: Callable[..., RunningServer]) -> None:
    app = Recorder()
    server = serve(server_for, app)
    with Connection(server.port) as connection:
        connection.send(b"GET http://example.org/p/q?z=1 HTTP/1.1\r\nHost: example.org\r\n\r\n")
        connection.read_response()
        connection.send(b"OPTIONS * HTTP/1.1\r\nHost: t\r\n\r\n")
        connection.read_response()
        connection.send(b"GET /old HTTP/1.0\r\n\r\n")
        connection.read_response()
    first, star, old = app.scopes
    assert (first["path"], first["raw_path"], first["query_string"]) == ("/p/q", b"/p/q", b"z=1")
    assert (star["method"], star["path"]) == ("OPTIONS", "*")
    assert (old["http_version"], old["path"]) == ("1.0", "/old")


def test_a_small_body_comes_in_one_event(server_for: Callable[..., RunningServer]) -> None:
    app = Recorder()
    server = serve(server_for, app)
    with Connection(server.port) as connection:
        connection.send(b"POST /e HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello")
        assert connection.read_response().body == b"hello"
        connection.send(b"GET /e HTTP/1.1\r\nHost: t\r\n\r\n")
        connection.read_response()
    assert app.events[0] == [{"type": "http.request", "body": b"hello", "more_body": False}]
    assert app.events[1] == [{"type": "http.request", "body": b"", "more_body": False}]


def test_a_large_and_a_chunked_body_come_as_they_arrive(server_for: Callable[..., RunningServer]) -> None:
    app = Recorder()
    server = serve(server_for, app, inline_body_size=1024)
    payload = os.urandom(300_000)
    with Connection(server.port) as connection:
        connection.send(b"POST /e HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % len(payload))
        for start in range(0, len(payload), 50_000):
            connection.send(payload[start : start + 50_000])
            time.sleep(0.01)
        answer = connection.read_response()
        assert answer.body == payload
        connection.send(b"POST /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n")
        time.sleep(0.05)
        connection.send(b"2\r\nde\r\n0\r\n\r\n")
        assert connection.read_response().body == b"abcde"
    events = app.events[0]
    assert len(events) > 1
    assert all(event["more_body"] for event in events[:-1]) and not events[-1]["more_body"]
    assert b"".join(event["body"] for event in events) == payload
    assert app.events[1][0]["body"] == b"abc"
    assert b"".join(event["body"] for event in app.events[1]) == b"abcde"


def test_100_continue_is_sent_when_the_app_first_reads(server_for: Callable[..., RunningServer]) -> None:
    read = asyncio.Event()
    reads: list[float] = []

    async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        await asyncio.sleep(0.2)  # not reading yet: no 100 Continue may be sent meanwhile
        reads.append(time.monotonic())
        event = await receive()
        read.set()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": event["body"]})

    server = serve(server_for, app)
    with Connection(server.port) as connection:
        sent = time.monotonic()
        connection.send(b"POST /u HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
        connection.sock.settimeout(5)
        interim = connection.sock.recv(100)
        got_it = time.monotonic()
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        assert got_it - sent >= 0.15 and reads and got_it >= reads[0]
        connection.send(b"data")
        assert connection.read_response().body == b"data"


def test_disconnect_follows_the_complete_answer(server_for: Callable[..., RunningServer]) -> None:
    seen: list[dict[str, Any]] = []

    async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        seen.append(await receive())
        await send({"type": "http.response.start", "status": 204})
        await send({"type": "http.response.body"})
        seen.append(await receive())  # after the answer: at once, though the connection stays

    server = serve(server_for, app)
    with Connection(server.port) as connection:
        connection.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        assert connection.read_response().status == 204
        deadline = time.monotonic() + 2
        while len(seen) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert seen[1] == {"type": "http.disconnect"}
        connection.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        assert connection.read_response().status == 204


def test_disconnect_reaches_an_app_waiting_for_it_and_send_raises_after(
    server_for: Callable[..., RunningServer],
) -> None:
    outcome: dict[str, Any] = {}

    async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"streaming", "more_body": True})
        outcome["event"] = await receive()  # a long poll: waits for the client to go
        try:
            for _ in range(50):
                await send({"type": "http.response.body", "body": b"x" * 65536, "more_body": True})
                await asyncio.sleep(0.01)
        except OSError as error:
            outcome["error"] = error

    server = serve(server_for, app)
    sock = socket.create_connection(("127.0.0.1", server.port))
    sock.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
    assert sock.recv(1000).startswith(b"HTTP/1.1 200 OK")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    sock.close()  # a reset: the connection is gone at once
    deadline = time.monotonic() + 3
    while "error" not in outcome and time.monotonic() < deadline:
        time.sleep(0.01)
    assert outcome["event"] == {"type": "http.disconnect"}
    assert isinstance(outcome["error"], ClientDisconnected) and isinstance(outcome["error"], OSError)


def stream_app(headers: list[tuple[bytes, bytes]], parts: list[bytes], trailers: list[Any] | None = None) -> Any:
    async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        start: dict[str, Any] = {"type": "http.response.start", "status": 200, "headers": headers}
        if trailers is not None:
            start["trailers"] = True
        await send(start)
        for index, part in enumerate(parts):
            await send({"type": "http.response.body", "body": part, "more_body": index < len(parts) - 1})
        for index, block in enumerate(trailers or []):
            await send({"type": "http.response.trailers", "headers": block, "more_trailers": index < len(trailers) - 1})  # type: ignore[arg-type]

    return app


def test_a_body_in_pieces_is_chunked_and_its_end_ends_it(server_for: Callable[..., RunningServer]) -> None:
    server = serve(server_for, stream_app([(b"content-type", b"text/plain")], [b"ab", b"", b"cde", b""]))
    with Connection(server.port) as connection:
        connection.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        head = connection._read_until(b"\r\n\r\n")
        assert b"Transfer-Encoding: chunked" in head and b"Content-Length" not in head
        assert connection._read_until(b"0\r\n\r\n") == b"2\r\nab\r\n3\r\ncde\r\n"
        connection.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")  # and the connection goes on
        assert connection.read_response().body == b"abcde"


def test_a_body_in_pieces_with_a_length_is_sent_as_it_is(server_for: Callable[..., RunningServer]) -> None:
    server = serve(server_for, stream_app([(b"content-length", b"5")], [b"ab", b"cde"]))
    with Connection(server.port) as connection:
        connection.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        answer = connection.read_response()
        assert answer.header("content-length") == "5" and answer.header("transfer-encoding") is None
        assert answer.body == b"abcde"


def test_http10_gets_no_chunks_and_the_close_ends_the_body(server_for: Callable[..., RunningServer]) -> None:
    server = serve(server_for, stream_app([], [b"ab", b"cd"]))
    with Connection(server.port) as connection:
        connection.send(b"GET / HTTP/1.0\r\n\r\n")
        data = connection.read_until_close()
    head, _, body = data.partition(b"\r\n\r\n")
    assert b"chunked" not in head and b"Connection: close" in head and body == b"abcd"


def test_trailers_follow_the_last_chunk(server_for: Callable[..., RunningServer]) -> None:
    trailers = [[(b"x-checksum", b"abc")], [(b"x-more", b"1"), (b"content-length", b"9")]]
    server = serve(server_for, stream_app([(b"content-length", b"4")], [b"da", b"ta"], trailers))
    with Connection(server.port) as connection:
        connection.send(b"GET / HTTP/1.1\r\nHost: t\r\nTE: trailers\r\n\r\n")
        head = connection._read_until(b"\r\n\r\n")
        # Trailers need chunks: the app's Content-Length gives way.
        assert b"Transfer-Encoding: chunked" in head and b"Content-Length" not in head
        rest = connection._read_until(b"\r\n\r\n")
        # The framing field is not allowed in trailers (RFC 9110 §6.5.1): dropped.
        assert rest == b"2\r\nda\r\n2\r\nta\r\n0\r\nx-checksum: abc\r\nx-more: 1"
        connection.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        assert connection._read_until(b"\r\n\r\n").startswith(b"HTTP/1.1 200 OK")


def test_trailers_with_crlf_close_the_connection(server_for: Callable[..., RunningServer]) -> None:
    server = serve(server_for, stream_app([], [b"data"], [[(b"x-t", b"a\r\nx-injected: 1")]]))
    with Connection(server.port) as connection:
        connection.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        data = connection.read_until_close()
    assert b"injected" not in data and not data.endswith(b"\r\n\r\n")


def test_head_gets_the_head_of_get_and_no_body(server_for: Callable[..., RunningServer]) -> None:
    async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        headers = [(b"content-length", b"11")] if scope["path"] == "/declared" else []
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if scope["path"] == "/declared" else b"hello world"})

    server = serve(server_for, app)
    with Connection(server.port) as connection:
        for path in (b"/declared", b"/computed"):
            connection.send(b"HEAD %s HTTP/1.1\r\nHost: t\r\n\r\n" % path)
            answer = connection.read_response("HEAD")
            assert answer.header("content-length") == "11" and answer.body == b""
        connection.send(b"GET /computed HTTP/1.1\r\nHost: t\r\n\r\n")
        assert connection.read_response().body == b"hello world"  # nothing was left behind


def test_connection_close_from_the_app_is_honoured(server_for: Callable[..., RunningServer]) -> None:
    server = serve(server_for, stream_app([(b"connection", b"close"), (b"content-length", b"2")], [b"ok"]))
    with Connection(server.port) as connection:
        connection.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\nGET / HTTP/1.1\r\nHost: t\r\n\r\n")
        data = connection.read_until_close()
    assert data.count(b"HTTP/1.1 200") == 1 and data.count(b"Connection: close") == 1


def test_pathsend_sends_the_file(server_for: Callable[..., RunningServer], tmp_path: Path) -> None:
    content = os.urandom(1_500_000)
    path = tmp_path / "big.bin"
    path.write_bytes(content)

    async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        assert "http.response.pathsend" in scope["extensions"]
        headers = [(b"content-type", b"application/octet-stream"), (b"content-length", b"1")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.pathsend", "path": str(path)})

    server = serve(server_for, app)
    with Connection(server.port) as connection:
        connection.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\nHEAD / HTTP/1.1\r\nHost: t\r\n\r\n")
        answer = connection.read_response()
        # The file's size is its length, whatever the app declared.
        assert answer.header("content-length") == str(len(content)) and answer.body == content
        head = connection.read_response("HEAD")
        assert head.header("content-length") == str(len(content)) and head.body == b""


def test_pipelined_answers_come_in_order_in_one_write(backend: str) -> None:
    async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": scope["path"].encode()})

    async def main() -> list[bytes]:
        config = Config(parser=backend, lifespan="off")  # type: ignore[arg-type]
        protocol, transport = connect(serving_app(app, config), config)  # type: ignore[arg-type]
        protocol.data_received(b"".join(b"GET /%d HTTP/1.1\r\nHost: t\r\n\r\n" % i for i in range(16)))
        return transport.writes

    writes = asyncio.run(main())
    assert len(writes) == 1
    bodies = [part.split(b"\r\n\r\n", 1)[1] for part in writes[0].split(b"HTTP/1.1 200 OK")[1:]]
    assert [body[: len(b"/%d" % i)] for i, body in enumerate(bodies)] == [b"/%d" % i for i in range(16)]


def test_send_waits_while_writing_is_paused(backend: str) -> None:
    progress: list[int] = []

    async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for index in range(3):
            await send({"type": "http.response.body", "body": b"piece", "more_body": True})
            progress.append(index)
        await send({"type": "http.response.body", "body": b""})

    async def main() -> None:
        config = Config(parser=backend, lifespan="off")  # type: ignore[arg-type]
        protocol, transport = connect(serving_app(app, config), config)  # type: ignore[arg-type]
        protocol.pause_writing()  # the client reads nothing
        protocol.data_received(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        # A request that arrives while writing is paused waits in the queue.
        await asyncio.sleep(0.05)
        assert progress == [] and transport.writes == []
        # From now on every write fills the transport's buffer, as a client that reads slowly would.
        real_write = transport.write

        def write_and_fill(data: Any) -> None:
            real_write(data)
            protocol.pause_writing()

        transport.write = write_and_fill  # type: ignore[method-assign]
        # Before each resume: the request still queued, then each piece written with its send
        # waiting for the client to read.
        for expected in ([], [], [0], [0, 1]):
            for _ in range(10):
                await asyncio.sleep(0)
            assert progress == expected
            protocol.resume_writing()
        for _ in range(10):
            await asyncio.sleep(0)
        assert progress == [0, 1, 2]
        assert b"".join(transport.writes).endswith(b"5\r\npiece\r\n0\r\n\r\n")

    asyncio.run(main())


def test_an_app_that_does_not_read_holds_back_reading(backend: str) -> None:
    release = asyncio.Event()

    async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        await release.wait()
        total = 0
        while True:
            event = await receive()
            total += len(event["body"])
            if not event["more_body"]:
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"%d" % total})

    async def main() -> None:
        config = Config(parser=backend, lifespan="off", max_buffered_body=100_000)  # type: ignore[arg-type]
        protocol, transport = connect(serving_app(app, config), config)  # type: ignore[arg-type]
        protocol.data_received(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000\r\n\r\n")
        sent = 0
        while transport.reading and sent < 1_000_000:
            protocol.data_received(b"x" * 50_000)
            sent += 50_000
        assert not transport.reading and sent <= 200_000  # bounded: it waits for the app
        release.set()
        for _ in range(20):
            await asyncio.sleep(0)
        assert transport.reading  # the app read: reading goes on
        while sent < 1_000_000:
            protocol.data_received(b"x" * 50_000)
            sent += 50_000
            for _ in range(5):
                await asyncio.sleep(0)
        for _ in range(20):
            await asyncio.sleep(0)
        assert b"".join(transport.writes).endswith(b"1000000")

    asyncio.run(main())


def test_an_asgi2_class_is_served(server_for: Callable[..., RunningServer]) -> None:
    class Asgi2:
        def __init__(self, scope: dict[str, Any]) -> None:
            self.scope = scope

        async def __call__(self, receive: Receive, send: Send) -> None:
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": self.scope["path"].encode()})

    server = serve(server_for, Asgi2)
    with Connection(server.port) as connection:
        connection.send(b"GET /two HTTP/1.1\r\nHost: t\r\n\r\n")
        assert connection.read_response().body == b"/two"


@pytest.mark.parametrize("interface", ["native", "asgi"])
def test_an_interface_that_does_not_fit_is_refused(interface: str) -> None:
    from wirespeed import App

    async def asgi(scope: Any, receive: Any, send: Any) -> None:
        return None

    app = asgi if interface == "native" else App()
    with pytest.raises(TypeError):
        serving_app(app, Config(interface=interface))  # type: ignore[arg-type]


def test_context_variables_do_not_leak_between_requests(server_for: Callable[..., RunningServer]) -> None:
    import contextvars

    variable: contextvars.ContextVar[str] = contextvars.ContextVar("variable", default="unset")

    async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        before = variable.get()
        variable.set(scope["path"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": before.encode()})

    server = serve(server_for, app)
    with Connection(server.port) as connection:
        connection.send(b"GET /a HTTP/1.1\r\nHost: t\r\n\r\nGET /b HTTP/1.1\r\nHost: t\r\n\r\n")
        assert [connection.read_response().body for _ in range(2)] == [b"unset", b"unset"]
