"""The ASGI WebSocket interface on the wire: the scope, the events, and what the app's faults become.

Strategy: this module owns the ASGI "HTTP & WebSocket" spec (2.4) as a raw ASGI app sees it
over a WebSocket: one app without a framework, whose behaviour is picked by the last segment of
the path, runs under real servers on both parser backends and reports what it got (its scope,
each event, what its calls raised) through a thread-safe queue. Raw sockets (tests/ws_wire.py,
tests/http_wire.py) check the exact bytes the client gets, and the websockets client checks
that a real client reads the same. Covered: every key of the websocket scope, with root_path
and the lifespan state; the order and shape of the events (connect first, receive with text or
bytes only, disconnect with the client's code and reason, 1005 for an empty Close, 1006 for a
TCP close without one); websocket.accept with headers and a subprotocol; websocket.close
before the accept (403) and after (the code and reason on the wire); the
websocket.http.response extension (a denial with any status, headers and a body in pieces);
what an app that raises or returns early gets (500 with a log line, Close 1011, Close 1000);
which close codes reach the wire; text that is a str subclass; send() after the disconnect
(an OSError); a client gone before the accept; and an app Task that outlives its connection.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import queue
import socket
import struct
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from conftest import RunningServer
from http_wire import Connection
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus
from websockets.typing import Subprotocol
from wirespeed.asgi import ClientDisconnected
from wirespeed.websocket import accept_key
from ws_wire import (
    BINARY,
    CLOSE,
    CONTINUATION,
    KEY,
    PING,
    PONG,
    TEXT,
    WsConnection,
    close_frame,
    frame,
    handshake_request,
)

ServerFor = Callable[..., RunningServer]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

WAIT = 5.0
SUBPROTOCOL_OFFER = b"Sec-WebSocket-Protocol: chat, superchat\r\n"


class Colour(str, enum.Enum):
    RED = "red"


class WsApp:
    """A raw ASGI app. Over HTTP it answers 404; over a WebSocket it runs the behaviour its
    path ends with (`/any/prefix/record` runs `record`) and reports to `seen`. Its lifespan
    startup puts a database handle into the lifespan state."""

    def __init__(self) -> None:
        self.seen: queue.Queue[Any] = queue.Queue()

    def take(self, timeout: float = WAIT) -> Any:
        try:
            return self.seen.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"the app reported nothing within {timeout} s") from None

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    scope["state"]["db"] = "pool-1"
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "websocket":
            await send({"type": "http.response.start", "status": 404, "headers": []})
            await send({"type": "http.response.body", "body": b"not here"})
            return
        behaviour = getattr(self, "ws_" + scope["path"].rsplit("/", 1)[-1].replace("-", "_"))
        try:
            await behaviour(scope, receive, send)
        finally:
            self.seen.put("finished")

    # -- behaviours
    async def ws_record(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        """Report the scope (as it came), accept, echo every message, report every event."""
        self.seen.put({**scope, "state": dict(scope["state"])})
        events = [await receive()]
        await send({"type": "websocket.accept"})
        scope["state"]["touched"] = True  # the next connection's copy must not see this
        while events[-1]["type"] != "websocket.disconnect":
            event = await receive()
            events.append(event)
            if event["type"] == "websocket.receive":
                await send({"type": "websocket.send", **{k: v for k, v in event.items() if k != "type"}})
        self.seen.put(events)

    async def ws_accept_headers(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        await receive()
        await send(
            {
                "type": "websocket.accept",
                "subprotocol": "superchat",
                "headers": [
                    (b"x-token", b"t1"),
                    (b"set-cookie", b"session=abc; HttpOnly"),
                    # The handshake's own fields are the server's: these are dropped.
                    (b"sec-websocket-accept", b"forged"),
                    (b"sec-websocket-protocol", b"forged"),
                    (b"upgrade", b"h2c"),
                ],
            }
        )
        event = await receive()
        await send({"type": "websocket.send", "text": f"got {event.get('text')}"})
        await send({"type": "websocket.close"})

    async def ws_server_close(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        await receive()
        await send({"type": "websocket.close", "code": 4001, "reason": "bye"})
        self.seen.put(await receive())

    async def ws_close_before_accept(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.close", "code": 4000})

    async def ws_deny(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        await receive()
        await send(
            {
                "type": "websocket.http.response.start",
                "status": 401,
                "headers": [(b"www-authenticate", b'Bearer realm="ws"'), (b"content-type", b"text/plain"), (b"x-why", b"token")],
            }
        )
        for piece in (b"no ", b"token ", b"here"):
            await send({"type": "websocket.http.response.body", "body": piece, "more_body": True})
        await send({"type": "websocket.http.response.body", "body": b"", "more_body": False})
        self.seen.put(await receive())

    async def ws_half_denial(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.http.response.start", "status": 403, "headers": []})
        await send({"type": "websocket.http.response.body", "body": b"partial", "more_body": True})

    async def ws_deny_wrong_length(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.http.response.start", "status": 403, "headers": [(b"content-length", b"99")]})
        await send({"type": "websocket.http.response.body", "body": b"abc"})

    async def ws_deny_101(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.http.response.start", "status": 101, "headers": []})

    async def ws_raise_before(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        await receive()
        raise RuntimeError("boom before accept")

    async def ws_bad_subprotocol(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept", "subprotocol": "not-offered"})

    async def ws_str_headers(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept", "headers": [("x-str", "not bytes")]})

    async def ws_return_unaccepted(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        await receive()

    async def ws_raise_after(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        await receive()
        raise RuntimeError("boom after accept")

    async def ws_send_both(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        await receive()
        await send({"type": "websocket.send", "text": "a", "bytes": b"b"})

    async def ws_return_open(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        await receive()

    async def ws_after_disconnect(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        """After the disconnect: what send() raises, and what receive() gives again."""
        await receive()
        await send({"type": "websocket.accept"})
        while (event := await receive())["type"] != "websocket.disconnect":
            pass
        outcomes: list[Any] = [event]
        for message in ({"type": "websocket.send", "text": "too late"}, {"type": "websocket.close", "code": 1000}):
            try:
                await send(message)
                outcomes.append(None)
            except Exception as error:  # noqa: BLE001 - what send() raises is what is reported
                outcomes.append(error)
        outcomes.append(await receive())
        self.seen.put(outcomes)

    async def ws_close_code(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        """Close with the code the query string names (`?1005`)."""
        await receive()
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.close", "code": int(scope["query_string"])})

    async def ws_str_subclass(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        """Text that is a str subclass, as a StrEnum member or markupsafe.Markup is."""
        await receive()
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.send", "text": Colour.RED})
        await send({"type": "websocket.close"})

    async def ws_late_accept(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        """Accept only after the client has had time to go; report how the app learns of it."""
        await receive()
        await asyncio.sleep(0.3)
        try:
            await send({"type": "websocket.accept"})
        except OSError as error:
            self.seen.put(error)
            return
        self.seen.put(await receive())

    async def ws_background(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        """Work on after the client has gone: a short step completes, an endless one is
        cancelled once the connection has been gone for ws_close_timeout."""
        await receive()
        await send({"type": "websocket.accept"})
        while (await receive())["type"] != "websocket.disconnect":
            pass
        gone = time.monotonic()
        await asyncio.sleep(0.05)
        self.seen.put("short work done")
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            self.seen.put(("cancelled after", time.monotonic() - gone))
            raise
        self.seen.put("never cancelled")


@pytest.fixture
def app() -> WsApp:
    return WsApp()


def error_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "wirespeed.error" and r.levelno >= logging.ERROR]


def wait_for_log(caplog: pytest.LogCaptureFixture, count: int = 1) -> list[logging.LogRecord]:
    deadline = time.monotonic() + WAIT
    while len(error_lines(caplog)) < count and time.monotonic() < deadline:
        time.sleep(0.01)
    return error_lines(caplog)


def head_fields(head: bytes) -> list[tuple[str, str]]:
    """The fields of a response head, names lower-cased, in order."""
    fields = []
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        fields.append((name.decode().lower(), value.strip().decode()))
    return fields


# -- the scope -----------------------------------------------------------------------------------


def test_the_websocket_scope_has_every_key_and_value(server_for: ServerFor, app: WsApp) -> None:
    server = server_for(app)
    with WsConnection(server.port) as ws:
        ws.open("/caf%C3%A9/a%2Fb/record?room=r%201&x=", SUBPROTOCOL_OFFER + b"X-Dup: one\r\nx-dup: two\r\n")
        client_port = ws.sock.getsockname()[1]
        ws.send(close_frame(1000))
        ws.expect_close(1000)
    scope = app.take()
    assert set(scope) == {
        "type", "asgi", "http_version", "scheme", "path", "raw_path", "query_string", "root_path",
        "headers", "client", "server", "subprotocols", "state", "extensions",
    }
    assert scope["type"] == "websocket"
    assert scope["asgi"] == {"version": "3.0", "spec_version": "2.4"}
    assert scope["http_version"] == "1.1"
    assert scope["scheme"] == "ws"
    assert scope["path"] == "/café/a/b/record"
    assert scope["raw_path"] == b"/caf%C3%A9/a%2Fb/record"
    assert scope["query_string"] == b"room=r%201&x="
    assert scope["root_path"] == ""
    assert scope["headers"] == [
        (b"host", b"127.0.0.1"),
        (b"upgrade", b"websocket"),
        (b"connection", b"Upgrade"),
        (b"sec-websocket-key", KEY),
        (b"sec-websocket-version", b"13"),
        (b"sec-websocket-protocol", b"chat, superchat"),
        (b"x-dup", b"one"),
        (b"x-dup", b"two"),
    ]
    assert scope["client"] == ("127.0.0.1", client_port)
    assert scope["server"] == ("127.0.0.1", server.port)
    assert scope["subprotocols"] == ["chat", "superchat"]
    assert scope["state"] == {"db": "pool-1"}
    assert scope["extensions"] == {"websocket.http.response": {}}


def test_no_subprotocols_offered_is_an_empty_list(server_for: ServerFor, app: WsApp) -> None:
    server = server_for(app)
    with WsConnection(server.port) as ws:
        ws.open("/record")
        ws.send(close_frame(1000))
        ws.expect_close(1000)
    scope = app.take()
    assert scope["subprotocols"] == []
    assert scope["query_string"] == b""
    assert scope["path"] == "/record"


def test_root_path_is_in_the_scope_and_before_the_path(server_for: ServerFor, app: WsApp) -> None:
    server = server_for(app, root_path="/api")
    with WsConnection(server.port) as ws:
        ws.open("/chat/record?q=1")
        ws.send(close_frame(1000))
        ws.expect_close(1000)
    scope = app.take()
    assert scope["root_path"] == "/api"
    assert scope["path"] == "/api/chat/record"
    assert scope["raw_path"] == b"/api/chat/record"
    assert scope["query_string"] == b"q=1"


def test_each_connection_gets_its_own_copy_of_the_lifespan_state(server_for: ServerFor, app: WsApp) -> None:
    server = server_for(app, lifespan="on")
    states = []
    for _ in range(2):
        with WsConnection(server.port) as ws:
            ws.open("/record")
            ws.send(close_frame(1000))
            ws.expect_close(1000)
        states.append(app.take()["state"])
        assert app.take()[-1]["type"] == "websocket.disconnect"
        assert app.take() == "finished"
    # The first app wrote "touched" into its scope's state; the second copy is clean.
    assert states == [{"db": "pool-1"}, {"db": "pool-1"}]


# -- events --------------------------------------------------------------------------------------


def test_events_in_order_connect_receive_disconnect_with_code_and_reason(server_for: ServerFor, app: WsApp) -> None:
    server = server_for(app)
    with WsConnection(server.port) as ws:
        ws.open("/record")
        ws.send(frame(TEXT, "héllo".encode()))
        ws.send(frame(BINARY, b"\x00\xff"))
        ws.send(frame(PING, b"p"))  # answered by the server: no event for the app
        ws.send(frame(TEXT, b"frag", fin=False) + frame(CONTINUATION, b"mented"))
        ws.send(frame(BINARY, b""))
        answers = [ws.read_frame() for _ in range(5)]
        ws.send(close_frame(4000, "done ✓".encode()))
        closing = ws.expect_close(4000)
        assert ws.closed_by_server()
    # The pong goes out at once, maybe ahead of echoes the app has not sent yet.
    assert [(f.opcode, f.payload) for f in answers if f.opcode == PONG] == [(PONG, b"p")]
    assert [(f.opcode, f.payload) for f in answers if f.opcode != PONG] == [
        (TEXT, "héllo".encode()),
        (BINARY, b"\x00\xff"),
        (TEXT, b"fragmented"),
        (BINARY, b""),
    ]
    assert closing.payload == struct.pack("!H", 4000)
    app.take()  # the scope
    assert app.take() == [
        {"type": "websocket.connect"},
        {"type": "websocket.receive", "text": "héllo"},
        {"type": "websocket.receive", "bytes": b"\x00\xff"},
        {"type": "websocket.receive", "text": "fragmented"},
        {"type": "websocket.receive", "bytes": b""},
        {"type": "websocket.disconnect", "code": 4000, "reason": "done ✓"},
    ]


@pytest.mark.parametrize(
    ("ending", "code"),
    [("empty Close", 1005), ("TCP close without a Close", 1006), ("half-close without a Close", 1006)],
)
def test_disconnect_code_for_a_close_without_a_code(server_for: ServerFor, app: WsApp, ending: str, code: int) -> None:
    server = server_for(app)
    with WsConnection(server.port) as ws:
        ws.open("/record")
        ws.send(frame(TEXT, b"x"))
        assert ws.read_frame().payload == b"x"
        if ending == "empty Close":
            ws.send(close_frame(None))
            assert ws.expect_close(None).payload == b""  # echoed empty (RFC 6455 §5.5.1)
        elif ending == "half-close without a Close":
            ws.sock.shutdown(socket.SHUT_WR)
            assert ws.closed_by_server()
    app.take()  # the scope
    events = app.take()
    assert events[-1] == {"type": "websocket.disconnect", "code": code, "reason": ""}
    assert [e["type"] for e in events] == ["websocket.connect", "websocket.receive", "websocket.disconnect"]


def test_a_server_close_puts_its_code_and_reason_on_the_wire(server_for: ServerFor, app: WsApp) -> None:
    server = server_for(app)
    with WsConnection(server.port) as ws:
        ws.open("/server-close")
        ws.send(frame(TEXT, b"x"))
        closing = ws.expect_close(4001)
        assert closing.payload == struct.pack("!H", 4001) + b"bye"
        ws.send(close_frame(4001))
        assert ws.closed_by_server()
    # The app's receive() after its close gives the disconnect that ended the handshake.
    assert app.take() == {"type": "websocket.disconnect", "code": 4001, "reason": ""}


# -- websocket.accept ----------------------------------------------------------------------------


def test_accept_headers_and_subprotocol_go_on_the_101(server_for: ServerFor, app: WsApp) -> None:
    server = server_for(app)
    with WsConnection(server.port) as ws:
        head = ws.open("/accept-headers", SUBPROTOCOL_OFFER)
        fields = head_fields(head)
        ws.send(frame(TEXT, b"it"))
        assert ws.read_message().payload == b"got it"
        ws.expect_close(1000)
    names = [name for name, _ in fields]
    assert ("x-token", "t1") in fields
    assert ("set-cookie", "session=abc; HttpOnly") in fields
    assert [v for n, v in fields if n == "sec-websocket-accept"] == [accept_key(KEY).decode()]
    assert [v for n, v in fields if n == "sec-websocket-protocol"] == ["superchat"]
    assert [v for n, v in fields if n == "upgrade"] == ["websocket"]
    assert names.count("connection") == 1


def test_a_real_client_sees_the_accept_headers_and_subprotocol(server_for: ServerFor, app: WsApp) -> None:
    server = server_for(app)

    async def scenario() -> None:
        async with connect(
            f"ws://127.0.0.1:{server.port}/accept-headers", subprotocols=[Subprotocol("chat"), Subprotocol("superchat")], proxy=None
        ) as ws:
            assert ws.subprotocol == "superchat"
            assert ws.response is not None and ws.response.headers["X-Token"] == "t1"
            await ws.send("it")
            assert await ws.recv() == "got it"

    asyncio.run(scenario())


# -- websocket.http.response and websocket.close before the accept ---------------------------------


def test_a_denial_response_arrives_as_plain_http_and_the_connection_closes(server_for: ServerFor, app: WsApp) -> None:
    server = server_for(app)
    with Connection(server.port) as connection:
        connection.send(handshake_request("/deny"))
        response = connection.read_response()
        assert connection.is_closed()
    assert response.status == 401
    assert response.header("www-authenticate") == 'Bearer realm="ws"'
    assert response.header("content-type") == "text/plain"
    assert response.header("x-why") == "token"
    assert response.header("content-length") == str(len(b"no token here"))
    assert response.body == b"no token here"
    assert response.header("upgrade") is None
    assert response.header("sec-websocket-accept") is None
    assert app.take()["type"] == "websocket.disconnect"


def test_a_real_client_reads_the_denial_response(server_for: ServerFor, app: WsApp) -> None:
    server = server_for(app)

    async def scenario() -> None:
        with pytest.raises(InvalidStatus) as refused:
            async with connect(f"ws://127.0.0.1:{server.port}/deny", proxy=None):
                pass
        response = refused.value.response
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="ws"'
        assert response.body == b"no token here"

    asyncio.run(scenario())


def test_close_before_accept_is_a_403(server_for: ServerFor, app: WsApp, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="wirespeed.error")
    server = server_for(app)
    with Connection(server.port) as connection:
        connection.send(handshake_request("/close-before-accept"))
        response = connection.read_response()
        assert connection.is_closed()
    assert response.status == 403
    assert response.header("upgrade") is None
    assert app.take() == "finished"
    time.sleep(0.1)
    assert error_lines(caplog) == []  # a refusal is the app's right, not its error


# -- faults: what an app that raises or returns early gets -----------------------------------------


@pytest.mark.parametrize(
    ("name", "logged"),
    [
        ("raise-before", "ASGI WebSocket app for /raise-before raised"),
        ("bad-subprotocol", "ASGI WebSocket app for /bad-subprotocol raised"),
        ("str-headers", "ASGI WebSocket app for /str-headers raised"),
        ("deny-101", "ASGI WebSocket app for /deny-101 raised"),
        # A Content-Length the denial's body does not match is the app's error, as for any answer.
        ("deny-wrong-length", "ASGI WebSocket app for /deny-wrong-length raised"),
        ("return-unaccepted", "ASGI WebSocket app for /return-unaccepted returned without accepting or closing"),
        ("half-denial", "ASGI WebSocket app for /half-denial returned in the middle of its HTTP response"),
    ],
)
def test_a_fault_before_the_handshake_is_answered_is_a_500_and_a_log_line(
    server_for: ServerFor, app: WsApp, caplog: pytest.LogCaptureFixture, name: str, logged: str
) -> None:
    caplog.set_level(logging.ERROR, logger="wirespeed.error")
    server = server_for(app)
    with Connection(server.port) as connection:
        connection.send(handshake_request(f"/{name}", SUBPROTOCOL_OFFER))
        response = connection.read_response()
        assert connection.is_closed()
    assert response.status == 500
    assert response.header("upgrade") is None
    assert b"partial" not in response.body
    (record,) = wait_for_log(caplog)
    assert record.getMessage() == logged


def test_the_traceback_of_an_app_that_raises_is_logged(server_for: ServerFor, app: WsApp, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="wirespeed.error")
    server = server_for(app)
    with Connection(server.port) as connection:
        connection.send(handshake_request("/raise-before"))
        assert connection.read_response().status == 500
    (record,) = wait_for_log(caplog)
    assert record.exc_info is not None and "boom before accept" in str(record.exc_info[1])
    assert "Traceback" in caplog.text


@pytest.mark.parametrize(
    ("name", "code", "logged"),
    [
        ("raise-after", 1011, "ASGI WebSocket app for /raise-after raised"),
        ("send-both", 1011, "ASGI WebSocket app for /send-both raised"),
        ("return-open", 1000, None),
    ],
)
def test_after_the_accept_a_raise_closes_1011_and_a_return_1000(
    server_for: ServerFor, app: WsApp, caplog: pytest.LogCaptureFixture, name: str, code: int, logged: str | None
) -> None:
    caplog.set_level(logging.ERROR, logger="wirespeed.error")
    server = server_for(app)
    with WsConnection(server.port) as ws:
        ws.open(f"/{name}")
        ws.send(frame(TEXT, b"go"))
        closing = ws.expect_close(code)
        ws.send(close_frame(code))
        assert ws.closed_by_server()
    assert app.take() == "finished"
    if logged is None:
        time.sleep(0.1)
        assert error_lines(caplog) == []
    else:
        (record,) = wait_for_log(caplog)
        assert record.getMessage() == logged
        assert closing.payload[2:] == b"internal error"


# -- after the disconnect --------------------------------------------------------------------------


def test_send_after_the_disconnect_raises_an_oserror_and_receive_repeats_the_disconnect(
    server_for: ServerFor, app: WsApp, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="wirespeed.error")
    server = server_for(app)
    with WsConnection(server.port) as ws:
        ws.open("/after-disconnect")
        ws.send(close_frame(4005, b"gone"))
        ws.expect_close(4005)
        assert ws.closed_by_server()
    first, sent, closed, again = app.take()
    assert first == {"type": "websocket.disconnect", "code": 4005, "reason": "gone"}
    assert isinstance(sent, ClientDisconnected) and isinstance(sent, OSError)
    assert isinstance(closed, ClientDisconnected)
    assert again == first
    assert app.take() == "finished"
    time.sleep(0.1)
    assert error_lines(caplog) == []  # ClientDisconnected escaping the app is no app error


def test_send_after_a_tcp_close_raises_an_oserror(server_for: ServerFor, app: WsApp) -> None:
    server = server_for(app)
    with WsConnection(server.port) as ws:
        ws.open("/after-disconnect")
    first, sent, closed, again = app.take()
    assert first == {"type": "websocket.disconnect", "code": 1006, "reason": ""}
    assert isinstance(sent, ClientDisconnected) and isinstance(sent, OSError)
    assert isinstance(closed, ClientDisconnected)
    assert again == first


def test_a_client_gone_before_the_accept_is_a_disconnect_for_the_app(server_for: ServerFor, app: WsApp) -> None:
    """The client sends its handshake and closes at once. Reading is paused until the app
    answers, so the server may not have seen the close yet: either websocket.accept raises
    ClientDisconnected, or the accept goes out and the next receive() is the 1006 disconnect.
    Either way the app learns of it in one call, and does not wait for ever."""
    server = server_for(app)
    with socket.create_connection(("127.0.0.1", server.port)) as client:
        client.sendall(handshake_request("/late-accept"))
    outcome = app.take()
    if isinstance(outcome, OSError):
        assert isinstance(outcome, ClientDisconnected)
    else:
        assert outcome == {"type": "websocket.disconnect", "code": 1006, "reason": ""}
    assert app.take() == "finished"


def test_an_app_task_may_outlive_its_connection_until_the_close_timeout(server_for: ServerFor, app: WsApp) -> None:
    server = server_for(app, ws_close_timeout=0.5)
    with WsConnection(server.port) as ws:
        ws.open("/background")
        ws.send(close_frame(1000))
        ws.expect_close(1000)
        assert ws.closed_by_server()
    assert app.take() == "short work done"  # not cancelled the moment the client went
    outcome, after = app.take()
    assert outcome == "cancelled after"
    assert 0.4 <= after < 3.0
    assert app.take() == "finished"


# -- close codes and text ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "sent"),
    [
        # Sendable (RFC 6455 §7.4.1, §7.4.2; 1012-1014 registered since): on the wire as given.
        (1003, 1003),
        (1014, 1014),
        (3000, 3000),
        (4999, 4999),
        # Never sent: 1004-1006 and 1015 are reserved (1005 and 1006 only report what happened),
        # codes below 1000 are unused, 5000 and up undefined, 70000 does not fit two bytes.
        # websocket.close refuses them: the app's error, then the server's 1011.
        (1004, 1011),
        (1005, 1011),
        (1006, 1011),
        (1015, 1011),
        (999, 1011),
        (2999, 1011),
        (5000, 1011),
        (70000, 1011),
    ],
)
def test_only_sendable_close_codes_reach_the_wire(
    server_for: ServerFor, app: WsApp, caplog: pytest.LogCaptureFixture, code: int, sent: int
) -> None:
    caplog.set_level(logging.ERROR, logger="wirespeed.error")
    server = server_for(app)
    with WsConnection(server.port) as ws:
        ws.open(f"/close-code?{code}")
        closing = ws.read_message()
        assert closing.opcode == CLOSE
        assert closing.close_code == sent
        ws.send(close_frame(sent))
        assert ws.closed_by_server()
    assert app.take() == "finished"
    if sent == code:
        time.sleep(0.1)
        assert error_lines(caplog) == []
    else:
        (record,) = wait_for_log(caplog)
        assert record.getMessage() == f"ASGI WebSocket app for /close-code?{code} raised"
        assert record.exc_info is not None and isinstance(record.exc_info[1], ValueError)


def test_text_that_is_a_str_subclass_is_sent_as_text(server_for: ServerFor, app: WsApp) -> None:
    """A StrEnum member (or markupsafe.Markup) is text."""
    server = server_for(app)
    with WsConnection(server.port) as ws:
        ws.open("/str-subclass")
        message = ws.read_message()
        assert (message.opcode, message.payload) == (TEXT, b"red")
        ws.expect_close(1000)
