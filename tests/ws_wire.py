"""A WebSocket client on a raw socket, for tests that must control every byte.

Strategy: this module owns the client side of RFC 6455 as the tests need it: the opening
handshake written by hand, client frames built with any header bits (masked or not, any
opcode, RSV bits, lengths in any encoding), and the server's frames read back one by one,
with nothing checked on the way that the test should check itself.
"""

from __future__ import annotations

import base64
import os
import socket
import struct
import time
import zlib
from dataclasses import dataclass

from http_wire import Connection

KEY = base64.b64encode(b"0123456789abcdef")
CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


def handshake_request(path: str = "/ws", extra: bytes = b"", key: bytes = KEY) -> bytes:
    return (
        b"GET " + path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: " + key + b"\r\nSec-WebSocket-Version: 13\r\n" + extra + b"\r\n"
    )


def frame(
    opcode: int,
    payload: bytes = b"",
    *,
    fin: bool = True,
    rsv: int = 0,
    mask: bytes | None = b"\x37\xfa\x21\x3d",
    length_form: int | None = None,
) -> bytes:
    """A client frame. `rsv` is the three RSV bits (4 = RSV1); `mask` None sends it unmasked;
    `length_form` 126 or 127 forces that (maybe non-minimal) length encoding."""
    first = (0x80 if fin else 0) | (rsv << 4) | opcode
    length = len(payload)
    form = length_form if length_form is not None else (length if length < 126 else 126 if length < 65536 else 127)
    mask_bit = 0x80 if mask is not None else 0
    if form < 126:
        head = struct.pack("!BB", first, mask_bit | length)
    elif form == 126:
        head = struct.pack("!BBH", first, mask_bit | 126, length)
    else:
        head = struct.pack("!BBQ", first, mask_bit | 127, length)
    if mask is None:
        return head + payload
    return head + mask + masked(payload, mask)


def masked(payload: bytes, mask: bytes) -> bytes:
    n = len(payload)
    if not n:
        return b""
    repeated = (mask * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "little") ^ int.from_bytes(repeated, "little")).to_bytes(n, "little")


def close_frame(code: int | None = 1000, reason: bytes = b"", **options: object) -> bytes:
    payload = b"" if code is None else struct.pack("!H", code) + reason
    return frame(CLOSE, payload, **options)  # type: ignore[arg-type]


def deflated(data: bytes) -> bytes:
    """A message payload compressed as permessage-deflate sends it (RFC 7692 §7.2.1)."""
    compressor = zlib.compressobj(wbits=-15)
    out = compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)
    assert out.endswith(b"\x00\x00\xff\xff")
    return out[:-4]


def deflated_with_context(*messages: bytes) -> list[bytes]:
    """Message payloads compressed with one compressor, each referring back to the ones before
    (context takeover, RFC 7692 §7.2.3.2): the second "Hello" is `f2 00 11 00 00`."""
    compressor = zlib.compressobj(wbits=-15)
    return [(compressor.compress(m) + compressor.flush(zlib.Z_SYNC_FLUSH))[:-4] for m in messages]


def inflated(data: bytes) -> bytes:
    return zlib.decompressobj(wbits=-15).decompress(data + b"\x00\x00\xff\xff")


@dataclass
class ServerFrame:
    fin: bool
    rsv: int
    opcode: int
    payload: bytes
    masked: bool

    @property
    def close_code(self) -> int | None:
        return struct.unpack("!H", self.payload[:2])[0] if len(self.payload) >= 2 else None

    @property
    def text(self) -> str:
        return self.payload.decode()


class WsConnection(Connection):
    """One raw WebSocket connection to 127.0.0.1:`port` (the raw HTTP client's socket and
    buffer, with the WebSocket side on top)."""

    def __init__(self, port: int, timeout: float = 5.0) -> None:
        super().__init__(port, timeout)
        self.response_head = b""

    def __enter__(self) -> WsConnection:
        return self

    def open(self, path: str = "/ws", extra: bytes = b"", early: bytes = b"") -> bytes:
        """Send the handshake (and `early` bytes right behind it); return the answer's head,
        which must be a 101."""
        self.send(handshake_request(path, extra) + early)
        head = self.read_head()
        assert head.startswith(b"HTTP/1.1 101 "), head
        return head

    def read_head(self) -> bytes:
        while b"\r\n\r\n" not in self.buffer:
            if not self._fill():
                raise ConnectionError(f"closed before a head: {self.buffer!r}")
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        self.response_head = head
        return head

    def read_frame(self) -> ServerFrame:
        while True:
            parsed = self._parse()
            if parsed is not None:
                return parsed
            if not self._fill():
                raise ConnectionError(f"closed in the middle of a frame: {self.buffer!r}")

    def _parse(self) -> ServerFrame | None:
        data = self.buffer
        if len(data) < 2:
            return None
        first, second = data[0], data[1]
        length = second & 0x7F
        pos = 2
        if length == 126:
            if len(data) < 4:
                return None
            length = struct.unpack("!H", data[2:4])[0]
            pos = 4
        elif length == 127:
            if len(data) < 10:
                return None
            length = struct.unpack("!Q", data[2:10])[0]
            pos = 10
        is_masked = bool(second & 0x80)
        if is_masked:
            pos += 4
        if len(data) < pos + length:
            return None
        payload = data[pos : pos + length]
        self.buffer = data[pos + length :]
        return ServerFrame(bool(first & 0x80), (first >> 4) & 7, first & 0x0F, payload, is_masked)

    def read_message(self) -> ServerFrame:
        """The next data message or Close (pings and pongs skipped), fragments joined."""
        parts: list[ServerFrame] = []
        while True:
            got = self.read_frame()
            if got.opcode in (PING, PONG):
                continue
            if got.opcode == CLOSE:
                return got
            parts.append(got)
            if got.fin:
                first = parts[0]
                return ServerFrame(True, first.rsv, first.opcode, b"".join(p.payload for p in parts), False)

    def expect_close(self, code: int | None) -> ServerFrame:
        """Read frames up to the server's Close, which must carry `code`."""
        while True:
            got = self.read_frame()
            if got.opcode == CLOSE:
                assert got.close_code == code, (got.close_code, got.payload)
                return got

    def closed_by_server(self, timeout: float = 3.0) -> bool:
        """Whether the server closes the TCP connection (EOF or reset) within `timeout`; any
        frames before it are kept in `buffer`."""
        deadline = time.monotonic() + timeout
        self.sock.settimeout(0.1)
        try:
            while time.monotonic() < deadline:
                try:
                    data = self.sock.recv(65536)
                except socket.timeout:
                    continue
                except ConnectionResetError:
                    return True
                if not data:
                    return True
                self.buffer += data
            return False
        finally:
            self.sock.settimeout(5.0)


def random_key() -> bytes:
    return base64.b64encode(os.urandom(16))
