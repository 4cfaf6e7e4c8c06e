"""WebSockets (RFC 6455 and RFC 7692): the opening handshake, the frames, permessage-deflate,
the session of an open WebSocket and the native handler's face of it.

Strategy: this package only gathers the WebSocket pieces, each in its own module, and picks the
frame reader: `WebSocketReader` is the Rust extension's (`wirespeed._parser`, rust/ws_frames.rs)
when it is built, else the pure-Python twin of `frames`, which gives the same events (the
contract is in `frames`). `reader_class(backend)` gives the reader that goes with a parser
backend of `wirespeed.parser`, so the httptools configuration reads frames in Python too.
"""

from __future__ import annotations

import importlib

from . import frames
from .frames import BINARY, CLOSE, CONTINUATION, FAULT, PING, PONG, TEXT, Event, encode_frame
from .handshake import Handshake, accept_key, read_handshake

# parser backend (wirespeed.parser.BACKENDS) -> (module, class) of its frame reader.
READERS: dict[str, tuple[str, str]] = {
    "rust": ("wirespeed._parser", "WebSocketReader"),
    "httptools": ("wirespeed.websocket.frames", "WebSocketReader"),
}


def reader_class(backend: str = "auto") -> type[frames.WebSocketReader]:
    """The frame reader of parser backend `backend` ("rust" or "httptools"); "auto": the Rust
    one when the extension imports, else the twin."""
    if backend == "auto":
        try:
            return reader_class("rust")
        except ImportError:
            return frames.WebSocketReader
    if backend not in READERS:
        raise ValueError(f"unknown parser {backend!r}: use one of {', '.join(READERS)}")
    module_name, class_name = READERS[backend]
    return getattr(importlib.import_module(module_name), class_name)  # type: ignore[no-any-return]


WebSocketReader = reader_class()

__all__ = [
    "BINARY",
    "CLOSE",
    "CONTINUATION",
    "FAULT",
    "PING",
    "PONG",
    "TEXT",
    "Event",
    "Handshake",
    "WebSocketReader",
    "accept_key",
    "encode_frame",
    "read_handshake",
    "reader_class",
]
