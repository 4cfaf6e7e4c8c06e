"""The benchmark app as a raw RSGI callable, granian's native interface.

granian --interface rsgi rsgi_app:app --workers 1 --runtime-threads 1 ...
"""

from __future__ import annotations

from typing import Any

TEXT = [("content-type", "text/plain")]
JSON = [("content-type", "application/json")]
BINARY = [("content-type", "application/octet-stream")]


async def app(scope: Any, protocol: Any) -> None:
    path: str = scope.path
    method: str = scope.method
    if path == "/" and method == "GET":
        protocol.response_str(200, TEXT, "Hello, World!")
    elif path.startswith("/users/") and method == "GET" and "/" not in path[7:] and len(path) > 7:
        protocol.response_str(200, JSON, '{"user_id":"' + path[7:] + '"}')
    elif path == "/echo" and method == "POST":
        body: bytes = await protocol()
        protocol.response_bytes(200, BINARY, body)
    else:
        protocol.response_str(404, TEXT, "Not Found")
