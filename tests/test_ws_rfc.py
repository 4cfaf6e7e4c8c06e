"""RFC 6455 (and RFC 7692) on the wire: a table of cases against a live echo server.

Strategy: each row sends client frames built byte by byte (tests/ws_wire.py) to a real server
on 127.0.0.1, on both parser backends (the Rust frame reader with the Rust parser, the Python
twin with httptools), and states what the server must answer: echoed messages, pongs, its
Close with the code the RFC names, and whether it then closes the TCP connection. The rows are
grouped like the Autobahn test suite's sections (1 framing, 2 pings and pongs, 3 reserved
bits, 4 opcodes, 5 fragmentation, 6 UTF-8, 7 close handling, 9 limits, 12/13 compression),
and each cites the section of the RFC it holds the server to. Every row is also sent one byte
at a time where that changes what the reader sees. After a row that fails the connection, a
new connection to the same server is still served.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from conftest import BACKENDS, LiveServers
from ws_wire import (
    BINARY,
    CLOSE,
    CONTINUATION,
    PING,
    PONG,
    TEXT,
    WsConnection,
    close_frame,
    deflated,
    deflated_with_context,
    frame,
    inflated,
)
from wirespeed import App, WebSocket

LIMITS = {"ws_max_message_size": 64 * 1024, "ws_max_frame_size": 32 * 1024, "ws_ping_interval": 0.0}
DEFLATE_OFFER = b"Sec-WebSocket-Extensions: permessage-deflate\r\n"


def echo_app(kind: str) -> App:
    app = App()

    @app.websocket("/ws")
    async def echo(ws: WebSocket) -> None:
        await ws.accept()
        async for message in ws:
            await ws.send(message)

    return app


@pytest.fixture(scope="module")
def servers() -> Iterator[LiveServers]:
    live = LiveServers(echo_app)
    yield live
    live.stop()


# What the server must answer, in order.
def echo(opcode: int, payload: bytes) -> tuple[str, int, bytes]:
    return ("message", opcode, payload)


def pong(payload: bytes = b"") -> tuple[str, bytes]:
    return ("pong", payload)


def closes(code: int | None) -> tuple[str, int | None]:
    """The server's Close carries `code` (None: an empty Close) and then it closes the TCP
    connection."""
    return ("close", code)


@dataclass(frozen=True)
class Case:
    id: str
    rfc: str  # the section that decides the answer
    send: bytes
    expect: list[Any]
    deflate: bool = False
    trickle: bool = True  # also sent one byte at a time
    limits: dict[str, Any] = field(default_factory=dict)
    # Sent once the first answer has been read: a fault that follows a valid message. (Sent
    # together, the fault may fail the connection before the app has echoed the message,
    # which the RFC allows: §7.1.7.)
    then: bytes = b""


def text(payload: bytes, **options: Any) -> bytes:
    return frame(TEXT, payload, **options)


INVALID_UTF8 = b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited"  # a surrogate (Autobahn 6.4.1)
KAPPA = "κόσμε".encode()

CASES = [
    # 1: framing (RFC 6455 §5.2): every length encoding, text and binary, echoed.
    Case("1.1.1 empty text", "6455§5.6", text(b""), [echo(TEXT, b""), closes(1000)]),
    Case("1.1.2 text of 125", "6455§5.2", text(b"*" * 125), [echo(TEXT, b"*" * 125), closes(1000)]),
    Case("1.1.3 text of 126: 16-bit length", "6455§5.2", text(b"*" * 126), [echo(TEXT, b"*" * 126), closes(1000)]),
    Case("1.1.6 text of 65535", "6455§5.2", text(b"*" * 65535), [echo(TEXT, b"*" * 65535), closes(1000)], trickle=False, limits={"ws_max_frame_size": 65536}),
    Case("1.1.7 text of 65536: 64-bit length", "6455§5.2", text(b"*" * 65536), [echo(TEXT, b"*" * 65536), closes(1000)], trickle=False, limits={"ws_max_frame_size": 65536}),
    Case("1.2.1 empty binary", "6455§5.6", frame(BINARY, b""), [echo(BINARY, b""), closes(1000)]),
    Case("1.2.3 binary of 126", "6455§5.2", frame(BINARY, bytes(range(126))), [echo(BINARY, bytes(range(126))), closes(1000)]),
    Case("1.2.8 binary, every byte value", "6455§5.6", frame(BINARY, bytes(range(256)) * 4), [echo(BINARY, bytes(range(256)) * 4), closes(1000)]),
    Case("1.3 two messages in one write", "6455§5.2", text(b"a") + frame(BINARY, b"b"), [echo(TEXT, b"a"), echo(BINARY, b"b"), closes(1000)]),
    Case("1.4 all-zero mask", "6455§5.3", text(b"hello", mask=b"\0\0\0\0"), [echo(TEXT, b"hello"), closes(1000)]),
    Case("1.5 unmasked client frame", "6455§5.1", text(b"hello", mask=None), [closes(1002)]),
    Case("1.6 non-minimal 16-bit length", "6455§5.2", text(b"short", length_form=126), [closes(1002)]),
    Case("1.7 non-minimal 64-bit length", "6455§5.2", text(b"*" * 200, length_form=127), [closes(1002)]),
    Case(
        "1.8 64-bit length with the top bit set", "6455§5.2",
        bytes([0x81, 0xFF]) + struct.pack("!Q", 1 << 63) + b"mask", [closes(1002)],
    ),
    # 2: pings and pongs (RFC 6455 §5.5.2, §5.5.3).
    Case("2.1 empty ping", "6455§5.5.2", frame(PING), [pong(b""), closes(1000)]),
    Case("2.2 ping with text payload", "6455§5.5.2", frame(PING, b"Hello, world!"), [pong(b"Hello, world!"), closes(1000)]),
    Case("2.3 ping with binary payload", "6455§5.5.2", frame(PING, b"\x00\xff\xfe\xfd\xfc\xfb\x00\xff"), [pong(b"\x00\xff\xfe\xfd\xfc\xfb\x00\xff"), closes(1000)]),
    Case("2.4 ping of 125", "6455§5.5", frame(PING, b"\xfe" * 125), [pong(b"\xfe" * 125), closes(1000)]),
    Case("2.5 ping of 126: control frame too long", "6455§5.5", frame(PING, b"\xfe" * 126), [closes(1002)]),
    Case("2.6 unsolicited pong is ignored", "6455§5.5.3", frame(PONG, b"unsolicited") + text(b"after"), [echo(TEXT, b"after"), closes(1000)]),
    Case("2.7 pong then ping", "6455§5.5.3", frame(PONG, b"x") + frame(PING, b"y"), [pong(b"y"), closes(1000)]),
    Case("2.10 ten pings, ten pongs in order", "6455§5.5.2", b"".join(frame(PING, b"%d" % i) for i in range(10)), [pong(b"%d" % i) for i in range(10)] + [closes(1000)]),
    # 3: reserved bits (RFC 6455 §5.2: no extension negotiated, so any RSV bit fails).
    Case("3.1 RSV2 on text", "6455§5.2", text(b"x", rsv=2), [closes(1002)]),
    Case("3.2 RSV3 after a valid echo", "6455§5.2", text(b"ok"), [echo(TEXT, b"ok"), closes(1002)], then=text(b"x", rsv=1)),
    Case("3.3 RSV1 without permessage-deflate", "7692§6", text(b"x", rsv=4), [closes(1002)]),
    Case("3.6 RSV on a ping", "6455§5.2", frame(PING, b"p", rsv=6), [closes(1002)]),
    Case("3.7 all RSV bits on close", "6455§5.2", close_frame(1000, rsv=7), [closes(1002)]),
    # 4: opcodes (RFC 6455 §5.2: reserved opcodes fail the connection).
    *[Case(f"4.1.{n} reserved data opcode {n}", "6455§5.2", frame(n, b"x"), [closes(1002)]) for n in (3, 4, 5, 6, 7)],
    *[Case(f"4.2.{n} reserved control opcode {n}", "6455§5.2", frame(n, b""), [closes(1002)]) for n in (0xB, 0xC, 0xD, 0xE, 0xF)],
    Case("4.1.x reserved opcode after a valid echo", "6455§5.2", text(b"a"), [echo(TEXT, b"a"), closes(1002)], then=frame(5, b"b")),
    # 5: fragmentation (RFC 6455 §5.4).
    Case("5.1 fragmented ping", "6455§5.5", frame(PING, b"a", fin=False) + frame(CONTINUATION, b"b"), [closes(1002)]),
    Case("5.2 fragmented pong", "6455§5.5", frame(PONG, b"a", fin=False) + frame(CONTINUATION, b"b"), [closes(1002)]),
    Case("5.3 text in two fragments", "6455§5.4", text(b"frag", fin=False) + frame(CONTINUATION, b"ment"), [echo(TEXT, b"fragment"), closes(1000)]),
    Case("5.5 text in many one-byte fragments", "6455§5.4", text(b"f", fin=False) + b"".join(frame(CONTINUATION, bytes([c]), fin=False) for c in b"ragmen") + frame(CONTINUATION, b"t"), [echo(TEXT, b"fragment"), closes(1000)]),
    Case("5.6 ping between fragments", "6455§5.4", text(b"frag", fin=False) + frame(PING, b"p") + frame(CONTINUATION, b"ment"), [pong(b"p"), echo(TEXT, b"fragment"), closes(1000)]),
    Case("5.8 binary in fragments with empty ones", "6455§5.4", frame(BINARY, b"", fin=False) + frame(CONTINUATION, b"ab", fin=False) + frame(CONTINUATION, b""), [echo(BINARY, b"ab"), closes(1000)]),
    Case("5.9 continuation with nothing to continue", "6455§5.4", frame(CONTINUATION, b"x"), [closes(1002)]),
    Case("5.10 final continuation with nothing to continue", "6455§5.4", frame(CONTINUATION, b"x", fin=False) + frame(CONTINUATION, b"y"), [closes(1002)]),
    Case("5.18 a new text inside a fragmented one", "6455§5.4", text(b"a", fin=False) + text(b"b"), [closes(1002)]),
    Case("5.19 close between fragments", "6455§5.5.1", text(b"a", fin=False) + close_frame(1000), [closes(1000)]),
    # 6: UTF-8 (RFC 6455 §8.1: invalid text fails with 1007, as soon as it shows).
    Case("6.2 valid text, split inside a character", "6455§8.1", text(KAPPA[:3], fin=False) + frame(CONTINUATION, KAPPA[3:]), [echo(TEXT, KAPPA), closes(1000)]),
    Case("6.2.4 valid text, one byte per fragment", "6455§8.1", text(KAPPA[:1], fin=False) + b"".join(frame(CONTINUATION, KAPPA[i : i + 1], fin=i == len(KAPPA) - 1) for i in range(1, len(KAPPA))), [echo(TEXT, KAPPA), closes(1000)]),
    Case("6.3.1 a UTF-16 surrogate", "6455§8.1", text(INVALID_UTF8), [closes(1007)]),
    Case("6.3.2 invalid text in fragments", "6455§8.1", text(INVALID_UTF8[:12], fin=False) + frame(CONTINUATION, INVALID_UTF8[12:]), [closes(1007)]),
    Case("6.4.1 fail fast: invalid first fragment, never finished", "6455§8.1", text(b"\xce\xba\xff", fin=False), [closes(1007)], trickle=False),
    Case("6.4.3 a message cut off inside a character", "6455§8.1", text(b"ab\xce"), [closes(1007)]),
    Case("6.5 overlong encoding of '/'", "6455§8.1", text(b"\xc0\xaf"), [closes(1007)]),
    Case("6.6 code point above U+10FFFF", "6455§8.1", text(b"\xf4\x90\x80\x80"), [closes(1007)]),
    Case("6.7 a lone continuation byte", "6455§8.1", text(b"\x80"), [closes(1007)]),
    Case("6.8 U+FFFF and U+10FFFF are valid", "6455§8.1", text("\uffff\U0010ffff".encode()), [echo(TEXT, "\uffff\U0010ffff".encode()), closes(1000)]),
    Case("6.9 binary is never checked", "6455§5.6", frame(BINARY, INVALID_UTF8), [echo(BINARY, INVALID_UTF8), closes(1000)]),
    # 7: close handling (RFC 6455 §5.5.1, §7.1, §7.4).
    Case("7.1.2 data after the close is ignored", "6455§5.5.1", close_frame(1000) + text(b"late"), [closes(1000)]),
    Case("7.1.5 close in the middle of a fragmented message", "6455§5.5.1", text(b"a", fin=False) + close_frame(1001), [closes(1001)]),
    Case("7.3.1 empty close", "6455§5.5.1", close_frame(None), [closes(None)]),
    Case("7.3.2 close with a one-byte payload", "6455§5.5.1", frame(CLOSE, b"\x03"), [closes(1002)]),
    Case("7.3.4 close with a reason of 123 bytes", "6455§5.5.1", close_frame(1000, b"*" * 123), [closes(1000)]),
    Case("7.3.5 close of 126 bytes: too long", "6455§5.5", close_frame(1000, b"*" * 124), [closes(1002)]),
    Case("7.5.1 close reason not UTF-8", "6455§5.5.1", close_frame(1000, b"\xce\xba\xff"), [closes(1007)]),
    *[Case(f"7.7 valid close code {code}", "6455§7.4.1", close_frame(code), [closes(code)]) for code in (1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999)],
    *[Case(f"7.9 invalid close code {code}", "6455§7.4.1", close_frame(code), [closes(1002)]) for code in (0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535)],
    # 9: limits (ws_max_message_size 64 KiB, ws_max_frame_size 32 KiB here): 1009.
    Case("9.1 a frame over the frame limit, refused from its header", "6455§7.4.1", text(b"*" * 40000)[:14], [closes(1009)], trickle=False),
    Case("9.2 a message over the message limit, in fragments", "6455§7.4.1", frame(BINARY, b"*" * 30000, fin=False) + frame(CONTINUATION, b"*" * 30000, fin=False) + frame(CONTINUATION, b"*" * 30000), [closes(1009)], trickle=False),
    Case("9.3 a message at the limit exactly", "6455§5.4", frame(BINARY, b"*" * 32768, fin=False) + frame(CONTINUATION, b"*" * 32768), [echo(BINARY, b"*" * 65536), closes(1000)], trickle=False),
    Case("9.4 a frame announcing 2^62 bytes", "6455§5.2", bytes([0x82, 0xFF]) + struct.pack("!Q", 1 << 62) + b"mask", [closes(1009)]),
    # 12/13: permessage-deflate (RFC 7692), negotiated on these rows.
    Case("12.1 compressed text", "7692§7.2.2", text(deflated(b"Hello, compressed world"), rsv=4), [echo(TEXT, b"Hello, compressed world"), closes(1000)], deflate=True),
    Case("12.2 compressed binary, large, answered compressed", "7692§7.2.1", frame(BINARY, deflated(bytes(range(256)) * 64), rsv=4), [echo(BINARY, bytes(range(256)) * 64), closes(1000)], deflate=True, trickle=False),
    Case("12.3 compressed text in fragments", "7692§6.1", (lambda d: text(d[:3], rsv=4, fin=False) + frame(CONTINUATION, d[3:]))(deflated(b"fragmented and compressed")), [echo(TEXT, b"fragmented and compressed"), closes(1000)], deflate=True),
    Case("12.4 uncompressed text beside compressed", "7692§6", text(b"plain") + text(deflated(b"packed"), rsv=4), [echo(TEXT, b"plain"), echo(TEXT, b"packed"), closes(1000)], deflate=True),
    Case("12.5 context takeover across messages", "7692§7.2.3.2", b"".join(text(p, rsv=4) for p in deflated_with_context(b"Hello", b"Hello")), [echo(TEXT, b"Hello"), echo(TEXT, b"Hello"), closes(1000)], deflate=True),
    Case("13.1 RSV1 on a continuation frame", "7692§6.1", text(deflated(b"abc"), rsv=4, fin=False) + frame(CONTINUATION, b"x", rsv=4), [closes(1002)], deflate=True),
    Case("13.2 RSV1 on a control frame", "7692§6.1", frame(PING, b"x", rsv=4), [closes(1002)], deflate=True),
    Case("13.3 compressed data that does not inflate", "7692§7.2.2", text(b"\xff\xff\xff\xff", rsv=4), [closes(1007)], deflate=True),
    Case("13.4 compressed text that is not UTF-8", "7692§6, 6455§8.1", text(deflated(INVALID_UTF8), rsv=4), [closes(1007)], deflate=True),
    Case("13.5 a deflate bomb: 16 KiB that inflates past the limit", "7692§8.1", frame(BINARY, deflated(bytes(50 * 1024 * 1024)), rsv=4), [closes(1009)], deflate=True, trickle=False),
]


def _run(conn: WsConnection, case: Case, trickle: bool) -> None:
    if trickle:
        for i in range(len(case.send)):
            conn.send(case.send[i : i + 1])
    else:
        conn.send(case.send)
    client_closed = False
    for number, expected in enumerate(case.expect):
        if number == 1 and case.then:
            conn.send(case.then)
        kind = expected[0]
        if kind == "close" and expected[1] == 1000 and not client_closed:
            # The messages are all answered: the client closes, the server must echo it.
            conn.send(close_frame(1000))
            client_closed = True
        got = conn.read_frame()
        if kind == "message":
            _, opcode, payload = expected
            assert got.opcode == opcode, (got.opcode, got.payload[:40])
            assert got.fin
            data = inflated(got.payload) if got.rsv == 4 else got.payload
            assert got.rsv in ((0, 4) if case.deflate else (0,))
            assert data == payload
        elif kind == "pong":
            assert (got.opcode, got.payload) == (PONG, expected[1])
        else:
            assert got.opcode == CLOSE, (got.opcode, got.payload[:40])
            assert got.close_code == expected[1], (got.close_code, got.payload)
            assert conn.closed_by_server(), "the server must close the TCP connection after the closing handshake"


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_rfc6455_case(servers: LiveServers, backend: str, case: Case) -> None:
    server = servers.get(backend, LIMITS | case.limits)
    for trickle in (False, True) if case.trickle else (False,):
        with WsConnection(server.port) as conn:
            head = conn.open("/ws", DEFLATE_OFFER if case.deflate else b"")
            assert (b"permessage-deflate" in head.lower()) == case.deflate
            _run(conn, case, trickle)
    # Nothing of that cost anyone else: a new connection is served.
    with WsConnection(server.port) as conn:
        conn.open("/ws")
        conn.send(text(b"still here"))
        got = conn.read_frame()
        assert (got.opcode, got.payload) == (TEXT, b"still here")
