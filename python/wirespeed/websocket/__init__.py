"""WebSockets (RFC 6455): the opening handshake here; the frames are in the Rust extension
(rust/ws_frames.rs). The server does not serve WebSockets yet.

Strategy: this package only gathers the WebSocket pieces, each in its own module.
"""

from .handshake import Handshake, accept_key, read_handshake

__all__ = ["Handshake", "accept_key", "read_handshake"]
