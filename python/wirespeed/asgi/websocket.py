"""One WebSocket as an ASGI app sees it: its scope, `receive()` and `send()`.

Strategy: this module owns the ASGI WebSocket cycle (asgiref "HTTP & WebSocket" spec 2.4,
with the `websocket.http.response` extension) on top of a `WebSocketSession`
(websocket/session.py), which does everything the RFC asks whatever the app does. The app runs
in a Task of the adapter's (so a shutdown waits for it and, at its timeout, cancels it).

* `receive()` gives `websocket.connect` first, then `websocket.receive` (`text` or `bytes`),
  then `websocket.disconnect` with the client's code and reason (1005 for a Close without a
  code, 1006 for a connection that ended without a Close), again on every later call.
* `send()` takes `websocket.accept` (a subprotocol the client offered, extra headers),
  `websocket.send`, `websocket.close` (before the accept: a 403), and
  `websocket.http.response.start`/`.body` to decline the handshake with any HTTP answer.
  After the connection has closed it raises `ClientDisconnected`, an OSError.
* An app that raises before answering the handshake gets a 500 in its place, after the accept a
  Close with 1011; one that returns without answering the handshake is a 500, and one that
  returns with the WebSocket open closes it with 1000.
"""

from __future__ import annotations

import logging
from contextvars import copy_context
from typing import TYPE_CHECKING, Any

from ..response import internal_error_response
from ..websocket.session import CONNECTING, DECLINED, NORMAL, OPEN, Closed, WebSocketClosed, WebSocketSession
from .exchange import AsgiResponse, ClientDisconnected
from .head import InvalidHead, read_start

if TYPE_CHECKING:
    from .adapter import AsgiAdapter

logger = logging.getLogger("wirespeed.error")

EXTENSIONS: dict[str, dict[str, Any]] = {"websocket.http.response": {}}


class WebSocketExchange:
    """One WebSocket handshake and what follows it, between a session and an ASGI app."""

    __slots__ = (
        "adapter",
        "session",
        "connected",
        "response_status",
        "response_lines",
        "response_length",
        "response_body",
    )

    def __init__(self, adapter: AsgiAdapter, session: WebSocketSession) -> None:
        self.adapter = adapter
        self.session = session
        self.connected = False  # websocket.connect has been received
        # A denial response being built (websocket.http.response.start, then its body).
        self.response_status = 0
        self.response_lines = b""
        self.response_length: int | None = None  # the Content-Length the app gave, if any
        self.response_body: list[bytes] = []

    def scope(self) -> dict[str, Any]:
        """The HTTP scope of the handshake request, made a WebSocket one (spec 2.4)."""
        session = self.session
        scope = self.adapter.exchange_type(self.adapter, session.request).scope()
        del scope["method"]
        scope["type"] = "websocket"
        scope["scheme"] = "wss" if scope["scheme"] == "https" else "ws"
        scope["subprotocols"] = list(session.handshake.subprotocols)
        scope["extensions"] = EXTENSIONS.copy()
        return scope

    def start(self) -> None:
        """Call the app in a Task of its own (inside a copy of the current context)."""
        context = copy_context()
        self.session.task = self.adapter.start_task(self.run(self.scope()), context)

    async def run(self, scope: dict[str, Any]) -> None:
        session = self.session
        request = session.request
        try:
            await self.adapter.app(scope, self.receive, self.send)
        except (ClientDisconnected, WebSocketClosed):
            return  # the client went: nothing to settle
        except Exception as error:
            logger.error("ASGI WebSocket app for %s raised", request.target, exc_info=error)
            await session.app_raised()
            return
        if session.state == CONNECTING:  # an app must answer the handshake one way or another
            if self.response_status:
                logger.error("ASGI WebSocket app for %s returned in the middle of its HTTP response", request.target)
            else:
                logger.error("ASGI WebSocket app for %s returned without accepting or closing", request.target)
        await session.app_returned(internal_error_response())

    async def receive(self) -> dict[str, Any]:
        if not self.connected:
            self.connected = True
            return {"type": "websocket.connect"}
        session = self.session
        if session.state == CONNECTING:
            raise RuntimeError("receive() before the WebSocket handshake is answered")
        if session.state == DECLINED:
            return {"type": "websocket.disconnect", "code": 1000, "reason": ""}
        message = await session.receive()
        kind = message.__class__
        if kind is str:
            return {"type": "websocket.receive", "text": message}
        if kind is bytes:
            return {"type": "websocket.receive", "bytes": message}
        assert isinstance(message, Closed)
        return {"type": "websocket.disconnect", "code": message.code, "reason": message.reason}

    async def send(self, message: dict[str, Any]) -> None:
        session = self.session
        kind = message["type"]
        if kind == "websocket.send":
            text = message.get("text")
            data = message.get("bytes")
            if (text is None) == (data is None):
                raise ValueError("websocket.send needs exactly one of 'bytes' and 'text'")
            try:
                await session.send(text if text is not None else data)
            except WebSocketClosed as error:
                raise ClientDisconnected(str(error)) from None
        elif kind == "websocket.accept":
            headers = message.get("headers") or []
            for name, value in headers:
                if not isinstance(name, bytes) or not isinstance(value, bytes):
                    raise TypeError("websocket.accept headers are (bytes, bytes) pairs")
            try:
                session.accept(message.get("subprotocol"), list(headers))
            except WebSocketClosed as error:
                raise ClientDisconnected(str(error)) from None
        elif kind == "websocket.close":
            if session.state > OPEN:
                if session.state == DECLINED:
                    raise RuntimeError("websocket.close after the handshake was declined")
                raise ClientDisconnected("the WebSocket is closed")
            code = message.get("code")
            await session.close(NORMAL if code is None else int(code), message.get("reason") or "")
        elif kind == "websocket.http.response.start":
            if session.state != CONNECTING or self.response_status:
                raise RuntimeError("websocket.http.response.start after the handshake was answered")
            try:
                status, lines, length, _, _ = read_start(message)
            except InvalidHead as error:
                raise ValueError(str(error)) from None
            self.response_status = status
            self.response_lines = lines
            self.response_length = length
        elif kind == "websocket.http.response.body":
            if not self.response_status or session.state != CONNECTING:
                raise RuntimeError("websocket.http.response.body without websocket.http.response.start")
            body = message.get("body", b"")
            if not isinstance(body, (bytes, bytearray)):
                raise TypeError("websocket.http.response.body 'body' must be bytes")
            self.response_body.append(bytes(body))
            if not message.get("more_body", False):
                body = b"".join(self.response_body)
                if self.response_length is not None and self.response_length != len(body):
                    raise ValueError(
                        f"the denial response's Content-Length is {self.response_length}, its body {len(body)} bytes"
                    )
                session.decline(AsgiResponse(self.response_status, self.response_lines, body, len(body)))
        else:
            raise ValueError(f"unknown message type {kind!r} on a WebSocket")


__all__ = ["WebSocketExchange"]
