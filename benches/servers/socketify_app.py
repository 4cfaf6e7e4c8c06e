"""The benchmark app on socketify's native `App` (uWebSockets), listening on 127.0.0.1.

python socketify_app.py PORT
"""

from __future__ import annotations

import sys
from typing import Any

from socketify import App  # type: ignore[import-not-found, import-untyped, unused-ignore]


def plaintext(res: Any, req: Any) -> None:
    res.send(b"Hello, World!", content_type=b"text/plain")


def user(res: Any, req: Any) -> None:
    body = b'{"user_id":"' + req.get_parameter(0).encode() + b'"}'
    res.send(body, content_type=b"application/json")


# Responses still reading their body. uWS holds only a raw handle to each, so without this
# strong reference the response can be collected while its body arrives; socketify's own
# `await res.get_data()` crashes the process that way under load (0.0.31, cffi 2).
_reading: set[Any] = set()


def echo(res: Any, req: Any) -> None:
    chunks: list[bytes] = []

    def on_data(res: Any, chunk: bytes | None, is_end: bool) -> None:
        if chunk:
            chunks.append(chunk)
        if is_end:
            res.send(b"".join(chunks), content_type=b"application/octet-stream")
            _reading.discard(res)

    _reading.add(res)
    res.on_aborted(_reading.discard)
    res.on_data(on_data)


def not_found(res: Any, req: Any) -> None:
    res.send(b"Not Found", content_type=b"text/plain", status=404)


def main() -> None:
    port = int(sys.argv[1])
    app = App()
    app.get("/", plaintext)
    app.get("/users/:user_id", user)
    app.post("/echo", echo)
    app.any("/*", not_found)
    app.listen({"port": port, "host": "127.0.0.1"}, lambda config: None)
    app.run()


if __name__ == "__main__":
    main()
