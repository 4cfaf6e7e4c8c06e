"""The WebSocket a native handler gets: `@app.websocket("/ws/{room}")`.

Strategy: this module owns the native face of a `WebSocketSession` (session.py) and the Task
that runs a handler: `accept()`, `receive()`, `send()`, `close()` and `async for message in ws`,
and what happens when the handler returns or raises (a handshake never answered is declined
with 403, a raise before the accept is a 500, after it a Close with 1011; a handler that
returns with the WebSocket open closes it with 1000). The rules of the protocol are the
session's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Mapping
from typing import TYPE_CHECKING, Any

from ..request import Headers
from ..response import error_response
from ..errors import Forbidden
from .session import CONNECTING, NORMAL, Closed, WebSocketClosed, WebSocketSession

if TYPE_CHECKING:
    from ..request import Request

logger = logging.getLogger("wirespeed.error")


class WebSocketDisconnect(ConnectionError):
    """`receive()` once the connection has closed: the client's close code (1005 when its
    Close had none, 1006 when the connection ended without one) and reason."""

    def __init__(self, code: int, reason: str = "") -> None:
        self.code = code
        self.reason = reason
        super().__init__(f"WebSocket closed with {code}" + (f": {reason}" if reason else ""))


class WebSocket:
    """One WebSocket, as a native handler sees it."""

    __slots__ = ("_session", "request", "path_params")

    def __init__(self, session: WebSocketSession, path_params: Mapping[str, Any]) -> None:
        self._session = session
        self.request: Request = session.request
        self.path_params = path_params

    @property
    def headers(self) -> Headers:
        return self.request.headers

    @property
    def subprotocols(self) -> tuple[str, ...]:
        """The subprotocols the client offered, in its order of preference."""
        return self._session.handshake.subprotocols

    @property
    def subprotocol(self) -> str | None:
        """The subprotocol `accept` chose."""
        return self._session.subprotocol

    @property
    def accepted(self) -> bool:
        return self._session.state > CONNECTING

    @property
    def closed(self) -> Closed | None:
        """How the connection closed (code and reason), or None while it is open."""
        return self._session._closed

    async def accept(self, subprotocol: str | None = None, headers: Mapping[str, str] | None = None) -> None:
        """Answer the handshake (101): optionally with one of `subprotocols` and extra headers."""
        fields = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
        self._session.accept(subprotocol, fields)

    async def receive(self) -> str | bytes:
        """The next message: str for text, bytes for binary. Raises WebSocketDisconnect once
        the connection has closed."""
        message = await self._session.receive()
        if message.__class__ is Closed:
            raise WebSocketDisconnect(message.code, message.reason)  # type: ignore[union-attr]
        return message  # type: ignore[return-value]

    async def receive_text(self) -> str:
        message = await self.receive()
        if not isinstance(message, str):
            raise TypeError("expected a text message, got a binary one")
        return message

    async def receive_bytes(self) -> bytes:
        message = await self.receive()
        if not isinstance(message, bytes):
            raise TypeError("expected a binary message, got a text one")
        return message

    async def send(self, message: str | bytes) -> None:
        """Send a text (str) or binary (bytes) message. Raises WebSocketClosed once closing."""
        await self._session.send(message)

    async def close(self, code: int = NORMAL, reason: str = "") -> None:
        """Close with `code` and `reason` (before the accept: decline the handshake, 403)."""
        await self._session.close(code, reason)

    def __aiter__(self) -> WebSocket:
        return self

    async def __anext__(self) -> str | bytes:
        message = await self._session.receive()
        if message.__class__ is Closed:
            raise StopAsyncIteration
        return message  # type: ignore[return-value]


async def run_handler(
    ws: WebSocket, handler: Callable[..., Coroutine[Any, Any, Any]], kwargs: Mapping[str, Any]
) -> None:
    """Run a native WebSocket handler, and settle what it left open."""
    session = ws._session
    try:
        await handler(ws, **kwargs)
    except (WebSocketDisconnect, WebSocketClosed):
        pass  # the client went: nothing left to settle
    except Exception as error:
        logger.error("WebSocket handler for %s raised", ws.request.target, exc_info=error)
        await session.app_raised()
        return
    await session.app_returned(error_response(Forbidden("the WebSocket handler did not accept")))


__all__ = ["WebSocket", "WebSocketDisconnect", "run_handler"]
