"""WebSockets end to end with independent client implementations and real frameworks.

Strategy: this module owns the proof that WebSocket apps work under wirespeed as their users
write them, talking to clients that were not written for it. Two client implementations, the
`websockets` library (asyncio client) and `wsproto` (sans-I/O, driven here over a plain
blocking socket), connect to live servers on 127.0.0.1 on both parser backends, serving three
kinds of app: a Starlette app (`WebSocketRoute`, `starlette.websockets.WebSocket`), a FastAPI
app (`@app.websocket` with path and query parameters and `Depends`) and the native API
(`@app.websocket`, `async for`, `WebSocketDisconnect`). Every app kind answers the same
`/echo` and `/bye` protocol, so the tests that cover the common ground (text and binary echo,
fragmented and 1 MiB messages, subprotocols, close codes and reasons both ways) run across all
of them and both clients; what is the server's alone (pings, permessage-deflate measured on
the wire, keep-alive pings and their timeout, many clients at once, Close 1001 at shutdown)
runs against the native app, and each framework's own API (Starlette's typed helpers,
`iter_text` and denial response, FastAPI's parameters and dependencies) against its app. What
the ASGI scope and events hold, field by field, is tests/test_ws_asgi.py's; the byte-level
RFC table is tests/test_ws_rfc.py's.
"""

from __future__ import annotations

import asyncio
import collections
import os
import queue
import socket
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from conftest import RunningServer
from fastapi import Depends, FastAPI
from fastapi import WebSocket as FastAPIWebSocket
from fastapi import WebSocketDisconnect as FastAPIWebSocketDisconnect
from fastapi import WebSocketException as FastAPIWebSocketException
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket as StarletteWebSocket
from starlette.websockets import WebSocketDisconnect as StarletteWebSocketDisconnect
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Subprotocol
from wirespeed import App, WebSocket, WebSocketDisconnect
from wirespeed.websocket import reader_class
from ws_wire import CLOSE, PING, PONG, TEXT, WsConnection, close_frame, frame
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Event,
    Message,
    Ping,
    Pong,
    RejectConnection,
    RejectData,
    Request,
    TextMessage,
)
from wsproto.extensions import PerMessageDeflate

ServerFor = Callable[..., RunningServer]

WAIT = 5.0  # seconds any client waits for any answer
MiB = 1024 * 1024
FLAVORS = ["starlette", "fastapi", "native"]
CLIENTS = ["websockets", "wsproto"]
# The subprotocols the apps speak, in the server's order of preference.
SERVER_SUBPROTOCOLS = ("chat.v2", "chat.v1")
# 1 MiB that deflates to almost nothing, and 1 MiB that does not deflate at all.
COMPRESSIBLE = "wirespeed" * (MiB // 9) + "!" * (MiB % 9)
RANDOM_MiB = os.urandom(MiB)
TEXT_MiB = "".join(chr(0x20 + b % 0x5F) for b in os.urandom(MiB // 2)) + "é✓" * (MiB // 10)


class Shout(str):
    """A str subclass, as StrEnum members and markupsafe.Markup are."""


def choose(offered: Any) -> str | None:
    """The server's pick among the subprotocols a client offered (none if it offered none)."""
    return next((name for name in SERVER_SUBPROTOCOLS if name in offered), None)


# -- the apps ------------------------------------------------------------------------------------
# Each puts what its handler saw into `seen` (a thread-safe queue: the server runs in a thread).


async def echo_until_disconnect(websocket: StarletteWebSocket, seen: queue.Queue[Any]) -> None:
    """Send each message back as it came (FastAPI's WebSocket is Starlette's), then record
    the close code and reason the app was told."""
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                raise StarletteWebSocketDisconnect(message["code"], message.get("reason"))
            if message.get("text") is not None:
                await websocket.send_text(message["text"])
            else:
                await websocket.send_bytes(message["bytes"])
    except StarletteWebSocketDisconnect as error:
        seen.put(("echo", error.code, error.reason))


def starlette_app(seen: queue.Queue[Any]) -> Starlette:
    async def echo(websocket: StarletteWebSocket) -> None:
        await websocket.accept(subprotocol=choose(websocket.scope["subprotocols"]))
        await echo_until_disconnect(websocket, seen)

    async def bye(websocket: StarletteWebSocket) -> None:
        await websocket.accept()
        text = await websocket.receive_text()
        await websocket.send_text("ok " + text)
        await websocket.close(code=4001, reason="bye")

    async def typed(websocket: StarletteWebSocket) -> None:
        """JSON, text and bytes through Starlette's typed helpers, then a close with a code."""
        await websocket.accept()
        document = await websocket.receive_json()
        await websocket.send_json({"sum": sum(document["numbers"]), "name": document["name"].upper()})
        text = await websocket.receive_text()
        await websocket.send_text(text[::-1])
        data = await websocket.receive_bytes()
        await websocket.send_bytes(data[::-1])
        await websocket.close(code=4003, reason="typed done")

    async def lines(websocket: StarletteWebSocket) -> None:
        await websocket.accept()
        count = 0
        async for text in websocket.iter_text():  # ends quietly on the client's close
            count += 1
            await websocket.send_text(f"{count}:{text}")
        seen.put(("iter_text ended", count))

    async def deny(websocket: StarletteWebSocket) -> None:
        """Refuse with an HTTP answer (the websocket.http.response extension)."""
        response = PlainTextResponse("go away", status_code=401, headers={"WWW-Authenticate": "Bearer"})
        await websocket.send_denial_response(response)
        seen.put("denied")

    return Starlette(
        routes=[
            WebSocketRoute("/deny", deny),
            WebSocketRoute("/echo", echo),
            WebSocketRoute("/bye", bye),
            WebSocketRoute("/typed", typed),
            WebSocketRoute("/lines", lines),
        ]
    )


def fastapi_app(seen: queue.Queue[Any]) -> FastAPI:
    app = FastAPI()

    def subprotocol(websocket: FastAPIWebSocket) -> str | None:
        return choose(websocket.scope["subprotocols"])

    def user(token: str) -> str:
        """A dependency on a required query parameter that refuses a wrong value."""
        if token != "secret":
            raise FastAPIWebSocketException(code=1008, reason="bad token")
        return "alice"

    @app.websocket("/echo")
    async def echo(websocket: FastAPIWebSocket, chosen: str | None = Depends(subprotocol)) -> None:
        await websocket.accept(subprotocol=chosen)
        await echo_until_disconnect(websocket, seen)

    @app.websocket("/bye")
    async def bye(websocket: FastAPIWebSocket) -> None:
        await websocket.accept()
        text = await websocket.receive_text()
        await websocket.send_text("ok " + text)
        await websocket.close(code=4001, reason="bye")

    @app.websocket("/ws/{room}")
    async def room(websocket: FastAPIWebSocket, room: str, lang: str = "en", who: str = Depends(user)) -> None:
        await websocket.accept()
        await websocket.send_json({"room": room, "user": who, "lang": lang})
        try:
            while True:
                text = await websocket.receive_text()
                await websocket.send_text(f"[{room}] {who}: {text}")
        except FastAPIWebSocketDisconnect as error:
            seen.put(("room", room, error.code))

    return app


def native_app(seen: queue.Queue[Any]) -> App:
    app = App()

    @app.websocket("/echo")
    async def echo(ws: WebSocket) -> None:
        await ws.accept(subprotocol=choose(ws.subprotocols))
        try:
            while True:
                await ws.send(await ws.receive())
        except WebSocketDisconnect as error:
            seen.put(("echo", error.code, error.reason))

    @app.websocket("/bye")
    async def bye(ws: WebSocket) -> None:
        await ws.accept()
        text = await ws.receive_text()
        await ws.send("ok " + text)
        await ws.close(4001, "bye")

    @app.websocket("/rooms/{room}/{seat:int}")
    async def rooms(ws: WebSocket, room: str, seat: int) -> None:
        await ws.accept(headers={"X-Room": room})
        await ws.send(f"{room}|{seat!r}|{ws.request.query.get('nick')}")
        async for message in ws:
            await ws.send(f"{seat}:{message}" if isinstance(message, str) else message * seat)
        seen.put(("rooms", ws.closed.code if ws.closed else None, ws.closed.reason if ws.closed else None))

    @app.websocket("/str-subclass")
    async def str_subclass(ws: WebSocket) -> None:
        await ws.accept()
        await ws.send(Shout("loud"))
        await ws.close()

    @app.websocket("/reader")
    async def reader(ws: WebSocket) -> None:
        await ws.accept()
        await ws.send(await ws.receive())
        seen.put(type(ws._session._reader))

    @app.websocket("/fault/{how}")
    async def fault(ws: WebSocket, how: str) -> None:
        if how == "raise-before-accept":
            raise RuntimeError("boom before accept")
        if how == "no-accept":
            return
        await ws.accept()
        await ws.receive()
        if how == "raise-after-accept":
            raise RuntimeError("boom after accept")
        if how == "reserved-close":
            await ws.close(1005)  # reserved: refused with ValueError
        # "return-open": returns with the WebSocket open

    return app


MAKERS: dict[str, Callable[[queue.Queue[Any]], Any]] = {
    "starlette": starlette_app,
    "fastapi": fastapi_app,
    "native": native_app,
}


@pytest.fixture
def seen() -> queue.Queue[Any]:
    return queue.Queue()


def serve(server_for: ServerFor, flavor: str, seen: queue.Queue[Any], **settings: Any) -> RunningServer:
    return server_for(MAKERS[flavor](seen), **settings)


def take(seen: queue.Queue[Any], timeout: float = WAIT) -> Any:
    try:
        return seen.get(timeout=timeout)
    except queue.Empty:
        raise AssertionError(f"the handler reported nothing within {timeout} s") from None


# -- the websockets client -----------------------------------------------------------------------


class _CountedTransport:
    """A transport that counts the bytes written through it."""

    def __init__(self, transport: asyncio.Transport, owner: CountingConnection) -> None:
        self._transport = transport
        self._owner = owner

    def write(self, data: bytes) -> None:
        self._owner.wire_out += len(data)
        self._transport.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class CountingConnection(ClientConnection):
    """A websockets client connection that counts the bytes on the wire both ways, handshake
    included, so a test can tell compressed frames from plain ones."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.wire_in = 0
        self.wire_out = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(_CountedTransport(transport, self))  # type: ignore[arg-type]

    def data_received(self, data: bytes) -> None:
        self.wire_in += len(data)
        super().data_received(data)


def ws_connect(server: RunningServer, target: str, **options: Any) -> connect:
    options.setdefault("max_size", 4 * MiB)
    options.setdefault("open_timeout", WAIT)
    options.setdefault("close_timeout", WAIT)
    options.setdefault("ping_interval", None)  # the client's own keep-alive would muddle what is timed
    options.setdefault("proxy", None)
    options.setdefault("create_connection", CountingConnection)
    return connect(f"ws://127.0.0.1:{server.port}{target}", **options)


def counted(ws: ClientConnection) -> CountingConnection:
    assert isinstance(ws, CountingConnection)
    return ws


def response_headers(ws: ClientConnection) -> Any:
    assert ws.response is not None
    return ws.response.headers


def split(message: str, count: int) -> list[str]:
    step = -(-len(message) // count)
    return [message[i : i + step] for i in range(0, len(message), step)]


async def pieces(*parts: str | bytes) -> AsyncIterator[str | bytes]:
    """A message websockets sends fragmented: one frame per part."""
    for part in parts:
        yield part


# -- the wsproto client --------------------------------------------------------------------------


class WsprotoClient:
    """wsproto, sans-I/O, driven over a blocking socket: the opening handshake in the
    constructor (`handshake` is the AcceptConnection or RejectConnection), then messages and
    control frames one event at a time. Pings are answered unless `answer_pings` is False."""

    def __init__(
        self,
        port: int,
        target: str,
        *,
        subprotocols: tuple[str, ...] = (),
        deflate: bool = False,
        timeout: float = WAIT,
    ) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.conn = WSConnection(ConnectionType.CLIENT)
        self.pending: collections.deque[Event] = collections.deque()
        self.wire_in = 0
        self.wire_out = 0
        self.pings: list[bytes] = []
        self.pongs: list[bytes] = []
        self.answer_pings = True
        self.eof = False
        extensions = [PerMessageDeflate()] if deflate else []
        self._send(Request(host="127.0.0.1", target=target, subprotocols=list(subprotocols), extensions=extensions))
        self.handshake = self._next()
        assert isinstance(self.handshake, (AcceptConnection, RejectConnection)), self.handshake

    def __enter__(self) -> WsprotoClient:  # noqa: PYI034
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()

    @property
    def accepted(self) -> AcceptConnection:
        assert isinstance(self.handshake, AcceptConnection), self.handshake
        return self.handshake

    def _send(self, event: Event) -> None:
        data = self.conn.send(event)
        self.wire_out += len(data)
        self.sock.sendall(data)

    def _next(self) -> Event:
        while not self.pending:
            if self.eof:
                raise ConnectionError("the server closed the connection")
            data = self.sock.recv(65536)
            self.wire_in += len(data)
            if not data:
                self.eof = True
            self.conn.receive_data(data or None)
            self.pending.extend(self.conn.events())
        return self.pending.popleft()

    def send(self, message: str | bytes, fragments: int = 1) -> None:
        """Send one message, in `fragments` frames."""
        kind = TextMessage if isinstance(message, str) else BytesMessage
        step = max(1, -(-len(message) // fragments))
        parts = [message[i : i + step] for i in range(0, len(message), step)] or [message]
        for index, part in enumerate(parts):
            self._send(kind(data=part, message_finished=index == len(parts) - 1))  # type: ignore[arg-type]

    def ping(self, payload: bytes) -> None:
        self._send(Ping(payload))

    def receive(self) -> str | bytes | CloseConnection:
        """The next whole message, or the server's CloseConnection (pings answered and
        recorded on the way, pongs recorded)."""
        parts: list[Any] = []
        while True:
            event = self._next()
            if isinstance(event, Ping):
                self.pings.append(event.payload)
                if self.answer_pings:
                    self._send(event.response())
            elif isinstance(event, Pong):
                self.pongs.append(event.payload)
            elif isinstance(event, CloseConnection):
                return event
            elif isinstance(event, Message):
                parts.append(event.data)
                if event.message_finished:
                    return "".join(parts) if isinstance(event, TextMessage) else b"".join(parts)
            else:
                raise AssertionError(f"unexpected event {event!r}")  # noqa: TRY004 - a failed test

    def pump(self, seconds: float) -> list[Event]:
        """Read for `seconds`, answering pings; the events that came besides pings and pongs."""
        got: list[Event] = []
        deadline = time.monotonic() + seconds
        try:
            while (left := deadline - time.monotonic()) > 0:
                self.sock.settimeout(left)
                event = self._next()
                if isinstance(event, Ping):
                    self.pings.append(event.payload)
                    if self.answer_pings:
                        self._send(event.response())
                elif isinstance(event, Pong):
                    self.pongs.append(event.payload)
                else:
                    got.append(event)
        except TimeoutError:
            pass
        finally:
            self.sock.settimeout(WAIT)
        return got

    def close(self, code: int = 1000, reason: str = "") -> CloseConnection:
        """Start the closing handshake; the server's answering Close."""
        self._send(CloseConnection(code=code, reason=reason))
        while True:
            event = self.receive()
            if isinstance(event, CloseConnection):
                return event

    def answer_close(self, event: CloseConnection) -> None:
        self._send(event.response())

    def closed_by_server(self) -> bool:
        """Whether the server closes the TCP connection (EOF) after the closing handshake."""
        try:
            while not self.eof:
                self._next()
        except ConnectionError:
            return True
        except TimeoutError:
            return False
        return True


# -- echo: text, binary, fragmented, 1 MiB, on every app kind with both clients ------------------

FRAGMENTED_TEXT = ("frag", "mén", "ted ✓")
FRAGMENTED_BYTES = (b"\x00" * 10, b"\xff" * 7, bytes(range(32)))


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("flavor", FLAVORS)
def test_echo_text_binary_fragmented_and_large(server_for: ServerFor, seen: queue.Queue[Any], flavor: str, client: str) -> None:
    server = serve(server_for, flavor, seen)
    whole_text = "".join(FRAGMENTED_TEXT)
    whole_bytes = b"".join(FRAGMENTED_BYTES)
    if client == "websockets":

        async def scenario() -> None:
            async with ws_connect(server, "/echo") as ws:
                await ws.send("héllo ✓")
                assert await ws.recv() == "héllo ✓"
                await ws.send(bytes(range(256)))
                assert await ws.recv() == bytes(range(256))
                await ws.send(b"")
                assert await ws.recv() == b""
                await ws.send(pieces(*FRAGMENTED_TEXT))
                assert await ws.recv() == whole_text
                await ws.send(pieces(*FRAGMENTED_BYTES))
                assert await ws.recv() == whole_bytes
                await ws.send(TEXT_MiB)
                assert await ws.recv() == TEXT_MiB
                await ws.send(RANDOM_MiB)
                assert await ws.recv() == RANDOM_MiB

        asyncio.run(scenario())
    else:
        with WsprotoClient(server.port, "/echo") as ws:
            ws.send("héllo ✓")
            assert ws.receive() == "héllo ✓"
            ws.send(bytes(range(256)))
            assert ws.receive() == bytes(range(256))
            ws.send(whole_text, fragments=3)
            assert ws.receive() == whole_text
            ws.send(whole_bytes, fragments=4)
            assert ws.receive() == whole_bytes
            ws.send(TEXT_MiB, fragments=5)
            assert ws.receive() == TEXT_MiB
            ws.send(RANDOM_MiB)
            assert ws.receive() == RANDOM_MiB
            assert ws.close().code == 1000
            assert ws.closed_by_server()
    assert take(seen) == ("echo", 1000, "")


# -- subprotocols --------------------------------------------------------------------------------


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("flavor", FLAVORS)
def test_subprotocol_negotiation(server_for: ServerFor, seen: queue.Queue[Any], flavor: str, client: str) -> None:
    """The app's pick among the offered subprotocols comes back in Sec-WebSocket-Protocol; a
    client that offers none, or none the app speaks, gets none."""
    server = serve(server_for, flavor, seen)
    offers: list[tuple[tuple[str, ...], str | None]] = [
        (("other", "chat.v1", "chat.v2"), "chat.v2"),  # the server's preference, not the client's order
        (("chat.v1",), "chat.v1"),
        (("other",), None),
        ((), None),
    ]
    for offered, expected in offers:
        if client == "websockets":

            async def scenario(offered: tuple[str, ...]) -> tuple[str | None, str | None]:
                async with ws_connect(server, "/echo", subprotocols=[Subprotocol(p) for p in offered] or None) as ws:
                    await ws.send("sub")
                    assert await ws.recv() == "sub"
                    return ws.subprotocol, response_headers(ws).get("Sec-WebSocket-Protocol")

            chosen, header = asyncio.run(scenario(offered))
        else:
            with WsprotoClient(server.port, "/echo", subprotocols=offered) as ws:
                chosen = header = ws.accepted.subprotocol  # wsproto reads it from the header
                ws.send("sub")
                assert ws.receive() == "sub"
                ws.close()
        assert chosen == expected, offered
        assert header == expected, offered
        assert take(seen) == ("echo", 1000, "")


# -- closing: the server's code and reason, the client's --------------------------------------------


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("flavor", FLAVORS)
def test_server_close_code_and_reason_reach_the_client(server_for: ServerFor, seen: queue.Queue[Any], flavor: str, client: str) -> None:
    server = serve(server_for, flavor, seen)
    if client == "websockets":

        async def scenario() -> None:
            async with ws_connect(server, "/bye") as ws:
                await ws.send("hi")
                assert await ws.recv() == "ok hi"
                with pytest.raises(ConnectionClosed) as closed:
                    await ws.recv()
                assert closed.value.rcvd is not None
                assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4001, "bye")
                assert (ws.close_code, ws.close_reason) == (4001, "bye")
                # websockets echoed the code; the server then closed the TCP connection
                # (else this would wait for close_timeout and fail the handshake).
                assert closed.value.rcvd_then_sent is True
                assert closed.value.sent is not None and closed.value.sent.code == 4001

        asyncio.run(scenario())
    else:
        with WsprotoClient(server.port, "/bye") as ws:
            ws.send("hi")
            assert ws.receive() == "ok hi"
            event = ws.receive()
            assert isinstance(event, CloseConnection)
            assert (event.code, event.reason) == (4001, "bye")
            ws.answer_close(event)
            assert ws.closed_by_server()


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("flavor", FLAVORS)
def test_client_close_code_and_reason_reach_the_app(server_for: ServerFor, seen: queue.Queue[Any], flavor: str, client: str) -> None:
    server = serve(server_for, flavor, seen)
    if client == "websockets":

        async def scenario() -> None:
            async with ws_connect(server, "/echo") as ws:
                await ws.send("last words")
                assert await ws.recv() == "last words"
                await ws.close(4000, "client leaving")
                assert ws.close_code == 4000  # the server's Close echoed the code

        asyncio.run(scenario())
    else:
        with WsprotoClient(server.port, "/echo") as ws:
            ws.send("last words")
            assert ws.receive() == "last words"
            answer = ws.close(4000, "client leaving")
            assert answer.code == 4000
            assert ws.closed_by_server()
    assert take(seen) == ("echo", 4000, "client leaving")


# -- pings ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("client", CLIENTS)
def test_a_client_ping_is_answered_with_its_pong(server_for: ServerFor, seen: queue.Queue[Any], client: str) -> None:
    server = serve(server_for, "native", seen, ws_ping_interval=0)
    if client == "websockets":

        async def scenario() -> None:
            async with ws_connect(server, "/echo") as ws:
                for payload in (b"1234", b"", bytes(range(125))):
                    waiter = await ws.ping(payload)
                    latency = await asyncio.wait_for(waiter, WAIT)  # resolved by the matching pong
                    assert latency >= 0
                await ws.send("after pings")
                assert await ws.recv() == "after pings"

        asyncio.run(scenario())
    else:
        with WsprotoClient(server.port, "/echo") as ws:
            ws.ping(b"abc")
            ws.send("between")
            ws.ping(bytes(range(125)))
            ws.ping(b"")
            assert ws.receive() == "between"
            ws.send("after")
            assert ws.receive() == "after"
            # Each ping answered once, with its payload, in order.
            assert ws.pongs == [b"abc", bytes(range(125)), b""]
            ws.close()


def test_server_keepalive_pings_reach_a_client_that_answers_them(server_for: ServerFor, seen: queue.Queue[Any]) -> None:
    """With ws_ping_interval 0.2 s the server pings; wsproto answers each, so the connection
    outlives ws_ping_timeout several times over."""
    server = serve(server_for, "native", seen, ws_ping_interval=0.2, ws_ping_timeout=0.3)
    with WsprotoClient(server.port, "/echo") as ws:
        assert ws.pump(1.3) == []  # nothing but pings, and no Close
        assert len(ws.pings) >= 4, ws.pings
        assert len(set(ws.pings)) == len(ws.pings)  # each ping has its own payload
        ws.send("still here")
        assert ws.receive() == "still here"
        assert ws.close().code == 1000
    assert take(seen) == ("echo", 1000, "")


def test_a_client_that_never_answers_pings_is_closed_with_1011(server_for: ServerFor, seen: queue.Queue[Any]) -> None:
    server = serve(server_for, "native", seen, ws_ping_interval=0.2, ws_ping_timeout=0.3)
    with WsConnection(server.port) as ws:
        ws.open("/echo")
        started = time.monotonic()
        ping = ws.read_frame()
        assert ping.opcode == PING and len(ping.payload) > 0
        close = ws.read_frame()
        while close.opcode == PING:
            close = ws.read_frame()
        waited = time.monotonic() - started
        assert close.opcode == CLOSE
        assert close.close_code == 1011
        assert close.payload[2:] == b"keepalive ping timeout"
        assert 0.4 <= waited < 3.0  # one interval, then the pong timeout
        assert ws.closed_by_server()
    assert take(seen) == ("echo", 1011, "keepalive ping timeout")


def test_one_ping_at_a_time_and_a_late_pong_within_the_timeout_is_enough(server_for: ServerFor, seen: queue.Queue[Any]) -> None:
    """With ws_ping_interval (0.2 s) below ws_ping_timeout (0.5 s), a ping left unanswered for
    longer than the interval is not followed by another one (a pong answers the latest ping
    only, RFC 6455 §5.5.3), and its pong, late but within the timeout, keeps the connection."""
    server = serve(server_for, "native", seen, ws_ping_interval=0.2, ws_ping_timeout=0.5)
    with WsConnection(server.port) as ws:
        ws.open("/echo")
        first = ws.read_frame()
        assert first.opcode == PING
        ws.sock.settimeout(0.35)  # past the interval, within the timeout: no second ping comes
        with pytest.raises(TimeoutError):
            ws.read_frame()
        ws.sock.settimeout(WAIT)
        ws.send(frame(PONG, first.payload))
        later = []
        deadline = time.monotonic() + 1.0  # past the first ping's timeout
        while time.monotonic() < deadline:
            got = ws.read_frame()
            assert got.opcode == PING, (got.opcode, got.payload)  # no Close
            later.append(got.payload)
            ws.send(frame(PONG, got.payload))
        assert len(later) >= 3
        ws.send(frame(TEXT, b"alive"))
        assert ws.read_message().payload == b"alive"
        ws.send(close_frame(1000))
        ws.expect_close(1000)
    assert take(seen) == ("echo", 1000, "")


def test_server_shutdown_closes_open_websockets_with_1001(server_for: ServerFor, seen: queue.Queue[Any]) -> None:
    server = serve(server_for, "native", seen)
    port = server.port

    async def scenario() -> None:
        async with ws_connect(server, "/echo") as ws:
            await ws.send("before")
            assert await ws.recv() == "before"
            stopping = asyncio.get_running_loop().run_in_executor(None, server.stop)
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), WAIT)
            assert closed.value.rcvd is not None
            assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (1001, "server shutting down")
            await asyncio.wait_for(stopping, WAIT * 3)

    asyncio.run(scenario())
    assert take(seen) == ("echo", 1001, "server shutting down")  # websockets echoed the whole Close
    with pytest.raises(OSError):  # the server is gone
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


# -- permessage-deflate --------------------------------------------------------------------------


@pytest.mark.parametrize("client", CLIENTS)
def test_permessage_deflate_compresses_both_ways(server_for: ServerFor, seen: queue.Queue[Any], client: str) -> None:
    """Offered by the client, permessage-deflate is agreed, and 1 MiB of repetitive text, whole
    and in fragments, crosses the wire in a few KiB each way: the client compressed it and the
    server inflated it, then the server compressed the echo and the client inflated it."""
    server = serve(server_for, "native", seen)
    if client == "websockets":

        async def scenario() -> tuple[int, int]:
            async with ws_connect(server, "/echo") as ws:
                assert "permessage-deflate" in response_headers(ws)["Sec-WebSocket-Extensions"]
                assert [extension.name for extension in ws.protocol.extensions] == ["permessage-deflate"]
                wire = counted(ws)
                before_in, before_out = wire.wire_in, wire.wire_out
                for count in (1, 2, 4):  # whole, then fragmented; each on the context of the last
                    await ws.send(pieces(*split(COMPRESSIBLE, count)))
                    assert await ws.recv() == COMPRESSIBLE
                return wire.wire_in - before_in, wire.wire_out - before_out

        wire_in, wire_out = asyncio.run(scenario())
    else:
        with WsprotoClient(server.port, "/echo", deflate=True) as ws:
            assert [extension.name for extension in ws.accepted.extensions] == ["permessage-deflate"]
            before_in, before_out = ws.wire_in, ws.wire_out
            for count in (1, 2, 4):
                ws.send(COMPRESSIBLE, fragments=count)
                assert ws.receive() == COMPRESSIBLE
            wire_in, wire_out = ws.wire_in - before_in, ws.wire_out - before_out
            ws.close()
    assert 0 < wire_out < 3 * MiB // 50, wire_out
    assert 0 < wire_in < 3 * MiB // 50, wire_in


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("case", ["not offered", "turned off"])
def test_no_compression_unless_offered_and_allowed(server_for: ServerFor, seen: queue.Queue[Any], client: str, case: str) -> None:
    """A client that does not offer permessage-deflate, or a server with it turned off
    (ws_per_message_deflate=False), exchanges plain frames: no Sec-WebSocket-Extensions, and
    1 MiB takes at least 1 MiB on the wire each way."""
    offer = case == "turned off"
    server = serve(server_for, "native", seen, ws_per_message_deflate=not offer)
    if client == "websockets":

        async def scenario() -> tuple[int, int]:
            async with ws_connect(server, "/echo", compression="deflate" if offer else None) as ws:
                assert ws.request is not None
                assert ("permessage-deflate" in ws.request.headers.get("Sec-WebSocket-Extensions", "")) == offer
                assert "Sec-WebSocket-Extensions" not in response_headers(ws)
                assert ws.protocol.extensions == []
                wire = counted(ws)
                before_in, before_out = wire.wire_in, wire.wire_out
                await ws.send(COMPRESSIBLE)
                assert await ws.recv() == COMPRESSIBLE
                return wire.wire_in - before_in, wire.wire_out - before_out

        wire_in, wire_out = asyncio.run(scenario())
    else:
        with WsprotoClient(server.port, "/echo", deflate=offer) as ws:
            assert ws.accepted.extensions == []
            before_in, before_out = ws.wire_in, ws.wire_out
            ws.send(COMPRESSIBLE)
            assert ws.receive() == COMPRESSIBLE
            wire_in, wire_out = ws.wire_in - before_in, ws.wire_out - before_out
            ws.close()
    assert wire_out >= MiB
    assert wire_in >= MiB


# -- many clients at once ------------------------------------------------------------------------


def test_fifty_concurrent_clients_are_all_served(server_for: ServerFor, seen: queue.Queue[Any]) -> None:
    server = serve(server_for, "native", seen)
    clients = 50
    rounds = 10

    async def scenario() -> None:
        connections = [await ws_connect(server, "/echo").__aenter__() for _ in range(clients)]
        try:

            async def talk(index: int, ws: ClientConnection) -> list[Any]:
                answers = []
                for turn in range(rounds):
                    await ws.send(f"client {index} turn {turn}")
                    answers.append(await ws.recv())
                return answers

            # All 50 are open at once, and their exchanges interleave.
            results = await asyncio.wait_for(
                asyncio.gather(*(talk(index, ws) for index, ws in enumerate(connections))), 20
            )
            for index, answers in enumerate(results):
                assert answers == [f"client {index} turn {turn}" for turn in range(rounds)]
        finally:
            await asyncio.gather(*(ws.close() for ws in connections))
        assert all(ws.close_code == 1000 for ws in connections)

    asyncio.run(scenario())
    assert [take(seen) for _ in range(clients)] == [("echo", 1000, "")] * clients


# -- Starlette's own API -------------------------------------------------------------------------


@pytest.mark.parametrize("client", CLIENTS)
def test_starlette_json_text_bytes_and_close_code(server_for: ServerFor, seen: queue.Queue[Any], client: str) -> None:
    server = serve(server_for, "starlette", seen)
    document = '{"numbers": [1, 2, 3.5], "name": "zoé"}'
    if client == "websockets":

        async def scenario() -> None:
            async with ws_connect(server, "/typed") as ws:
                await ws.send(document)
                assert await ws.recv() == '{"sum":6.5,"name":"ZOÉ"}'
                await ws.send("stressed")
                assert await ws.recv() == "desserts"
                await ws.send(b"\x01\x02\x03")
                assert await ws.recv() == b"\x03\x02\x01"
                with pytest.raises(ConnectionClosed) as closed:
                    await ws.recv()
                assert closed.value.rcvd is not None
                assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4003, "typed done")

        asyncio.run(scenario())
    else:
        with WsprotoClient(server.port, "/typed") as ws:
            ws.send(document, fragments=3)
            assert ws.receive() == '{"sum":6.5,"name":"ZOÉ"}'
            ws.send("stressed")
            assert ws.receive() == "desserts"
            ws.send(b"\x01\x02\x03")
            assert ws.receive() == b"\x03\x02\x01"
            event = ws.receive()
            assert isinstance(event, CloseConnection) and (event.code, event.reason) == (4003, "typed done")
            ws.answer_close(event)
            assert ws.closed_by_server()


@pytest.mark.parametrize("client", CLIENTS)
def test_starlette_iter_text_ends_on_the_clients_close(server_for: ServerFor, seen: queue.Queue[Any], client: str) -> None:
    server = serve(server_for, "starlette", seen)
    if client == "websockets":

        async def scenario() -> None:
            async with ws_connect(server, "/lines") as ws:
                for line in ("one", "two", "three"):
                    await ws.send(line)
                assert [await ws.recv() for _ in range(3)] == ["1:one", "2:two", "3:three"]

        asyncio.run(scenario())
    else:
        with WsprotoClient(server.port, "/lines") as ws:
            for line in ("one", "two", "three"):
                ws.send(line)
            assert [ws.receive() for _ in range(3)] == ["1:one", "2:two", "3:three"]
            ws.close()
    assert take(seen) == ("iter_text ended", 3)


@pytest.mark.parametrize("client", CLIENTS)
def test_starlette_denial_response_reaches_the_client(server_for: ServerFor, seen: queue.Queue[Any], client: str) -> None:
    """`send_denial_response` works only where the server announces websocket.http.response;
    its Response arrives as the plain HTTP answer to the handshake."""
    server = serve(server_for, "starlette", seen)
    if client == "websockets":

        async def scenario() -> None:
            with pytest.raises(InvalidStatus) as refused:
                async with ws_connect(server, "/deny"):
                    pass
            response = refused.value.response
            assert response.status_code == 401
            assert response.headers["WWW-Authenticate"] == "Bearer"
            assert response.headers["Content-Type"].startswith("text/plain")
            assert response.body == b"go away"

        asyncio.run(scenario())
    else:
        with WsprotoClient(server.port, "/deny") as ws:
            rejection = ws.handshake
            assert isinstance(rejection, RejectConnection)
            assert rejection.status_code == 401
            assert (b"www-authenticate", b"Bearer") in [(k.lower(), v) for k, v in rejection.headers]
            body = b""
            while True:
                event = ws._next()
                assert isinstance(event, RejectData)
                body += event.data
                if event.body_finished:
                    break
            assert body == b"go away"
    assert take(seen) == "denied"


# -- FastAPI: path and query parameters, Depends -------------------------------------------------


def test_fastapi_path_query_and_dependency(server_for: ServerFor, seen: queue.Queue[Any]) -> None:
    server = serve(server_for, "fastapi", seen)

    async def scenario() -> None:
        async with ws_connect(server, "/ws/kitchen?token=secret&lang=fr") as ws:
            assert await ws.recv() == '{"room":"kitchen","user":"alice","lang":"fr"}'
            await ws.send("hello")
            assert await ws.recv() == "[kitchen] alice: hello"
            await ws.close(4000)
        async with ws_connect(server, "/ws/hall?token=secret") as ws:
            assert await ws.recv() == '{"room":"hall","user":"alice","lang":"en"}'
        # The dependency refuses a wrong token, and FastAPI a missing one, before the accept:
        # websocket.close before websocket.accept is a 403 (ASGI spec).
        for target in ("/ws/kitchen?token=wrong", "/ws/kitchen"):
            with pytest.raises(InvalidStatus) as refused:
                async with ws_connect(server, target):
                    pass
            assert refused.value.response.status_code == 403, target

    asyncio.run(scenario())
    assert take(seen) == ("room", "kitchen", 4000)
    assert take(seen) == ("room", "hall", 1000)
    assert seen.empty()


def test_fastapi_with_wsproto_and_fragmented_messages(server_for: ServerFor, seen: queue.Queue[Any]) -> None:
    server = serve(server_for, "fastapi", seen)
    with WsprotoClient(server.port, "/ws/attic?token=secret&lang=de") as ws:
        assert ws.receive() == '{"room":"attic","user":"alice","lang":"de"}'
        ws.send("in three pieces", fragments=3)
        assert ws.receive() == "[attic] alice: in three pieces"
        assert ws.close(4010, "enough").code == 4010
    assert take(seen) == ("room", "attic", 4010)
    with WsprotoClient(server.port, "/ws/attic") as refused:
        assert isinstance(refused.handshake, RejectConnection)
        assert refused.handshake.status_code == 403


# -- the native API ------------------------------------------------------------------------------


@pytest.mark.parametrize("client", CLIENTS)
def test_native_path_parameters_query_headers_and_async_for(server_for: ServerFor, seen: queue.Queue[Any], client: str) -> None:
    server = serve(server_for, "native", seen)
    if client == "websockets":

        async def scenario() -> None:
            async with ws_connect(server, "/rooms/blue/7?nick=bo") as ws:
                assert response_headers(ws)["X-Room"] == "blue"
                assert await ws.recv() == "blue|7|bo"  # seat converted to int by its annotation
                await ws.send("hi")
                assert await ws.recv() == "7:hi"
                await ws.send(b"ab")
                assert await ws.recv() == b"ab" * 7
                await ws.close(4002, "done here")
            with pytest.raises(InvalidStatus) as refused:  # {seat:int} does not match "x"
                async with ws_connect(server, "/rooms/blue/x"):
                    pass
            assert refused.value.response.status_code == 404

        asyncio.run(scenario())
    else:
        with WsprotoClient(server.port, "/rooms/blue/7?nick=bo") as ws:
            assert (b"x-room", b"blue") in [(k.lower(), v) for k, v in ws.accepted.extra_headers]
            assert ws.receive() == "blue|7|bo"
            ws.send("hi", fragments=2)
            assert ws.receive() == "7:hi"
            ws.send(b"ab")
            assert ws.receive() == b"ab" * 7
            assert ws.close(4002, "done here").code == 4002
        with WsprotoClient(server.port, "/nowhere") as refused:
            assert isinstance(refused.handshake, RejectConnection) and refused.handshake.status_code == 404
    assert take(seen) == ("rooms", 4002, "done here")


@pytest.mark.parametrize(
    ("how", "status", "close_code"),
    [
        ("raise-before-accept", 500, None),
        ("no-accept", 403, None),
        ("raise-after-accept", None, 1011),
        ("reserved-close", None, 1011),
        ("return-open", None, 1000),
    ],
)
def test_native_handler_that_raises_or_returns(
    server_for: ServerFor, seen: queue.Queue[Any], how: str, status: int | None, close_code: int | None
) -> None:
    """A handler that raises before its accept is a 500, one that returns without accepting a
    403; after the accept, a raise (a close code that may not be sent among them) closes with
    1011 and a return with 1000."""
    server = serve(server_for, "native", seen)

    async def scenario() -> None:
        if status is not None:
            with pytest.raises(InvalidStatus) as refused:
                async with ws_connect(server, f"/fault/{how}"):
                    pass
            assert refused.value.response.status_code == status
            return
        async with ws_connect(server, f"/fault/{how}") as ws:
            await ws.send("go")
            with pytest.raises(ConnectionClosed) as closed:
                await ws.recv()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == close_code

    asyncio.run(scenario())


def test_native_send_takes_a_str_subclass_as_text(server_for: ServerFor, seen: queue.Queue[Any]) -> None:
    """A str subclass (a StrEnum member, markupsafe.Markup) is sent as text."""
    server = serve(server_for, "native", seen)

    async def scenario() -> None:
        async with ws_connect(server, "/str-subclass") as ws:
            assert await ws.recv() == "loud"

    asyncio.run(scenario())


def test_each_backend_reads_frames_with_its_own_reader(
    server_for: ServerFor, seen: queue.Queue[Any], backend: str
) -> None:
    """The Rust parser's configuration reads frames with the Rust WebSocketReader, the
    httptools one with the Python twin (websocket/__init__.py `reader_class`), so the tests of
    each backend exercise its own reader."""
    server = serve(server_for, "native", seen)

    async def scenario() -> None:
        async with ws_connect(server, "/reader") as ws:
            await ws.send("which")
            assert await ws.recv() == "which"

    asyncio.run(scenario())
    assert take(seen) is reader_class(backend)
