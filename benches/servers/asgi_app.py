"""The benchmark app as a raw ASGI 3 callable (no framework), served by every ASGI server.

uvicorn serves it for the native workloads and the asgi-* ones; granian (--interface asgi) and
wirespeed's ASGI mode serve it for the asgi-* workloads. All three serve its WebSocket echo at
/ws for the ws-* workloads (uvicorn with --ws websockets --ws-per-message-deflate false):

uvicorn asgi_app:app --loop uvloop --http httptools --log-level warning --no-access-log
granian --interface asgi asgi_app:app --workers 1 --runtime-threads 1 --blocking-threads 1 ...
wirespeed asgi_app:app --interface asgi --host 127.0.0.1 --port PORT --log-level warning
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

HELLO = b"Hello, World!"
TEXT_HEADERS = [(b"content-type", b"text/plain"), (b"content-length", b"13")]


async def _respond(send: Send, status: int, content_type: bytes, body: bytes) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _websocket_echo(scope: Scope, receive: Receive, send: Send) -> None:
    """/ws: accept, then send every message back as it came (text as text, bytes as bytes)."""
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    if scope["path"] != "/ws":
        await send({"type": "websocket.close", "code": 1008})
        return
    await send({"type": "websocket.accept"})
    while True:
        message = await receive()
        if message["type"] != "websocket.receive":
            return  # websocket.disconnect
        text = message.get("text")
        if text is not None:
            await send({"type": "websocket.send", "text": text})
        else:
            await send({"type": "websocket.send", "bytes": message.get("bytes") or b""})


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] == "websocket":
        await _websocket_echo(scope, receive, send)
        return
    path: str = scope["path"]
    method: str = scope["method"]
    if path == "/" and method == "GET":
        await send({"type": "http.response.start", "status": 200, "headers": TEXT_HEADERS})
        await send({"type": "http.response.body", "body": HELLO})
    elif path.startswith("/users/") and method == "GET" and "/" not in path[7:] and len(path) > 7:
        await _respond(send, 200, b"application/json", b'{"user_id":"' + path[7:].encode() + b'"}')
    elif path == "/echo" and method == "POST":
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        await _respond(send, 200, b"application/octet-stream", b"".join(chunks))
    else:
        await _respond(send, 404, b"text/plain", b"Not Found")
