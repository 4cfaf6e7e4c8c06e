"""The parsers' hand-over of a connection to a WebSocket (Config.ws "on"), on both backends.

Strategy: a table of inputs, each fed to the Rust parser and to the httptools twin whole, one
byte at a time and split at every point: the requests they report, whether they stop at a
request that asks for a WebSocket (reported as the connection's last, with BODY None), and the
bytes after its head that `detach()` hands over, which must be the same however the input was
split. Requests that do not ask (another protocol in Upgrade, a body, `ws` off) are ordinary
requests (RFC 9110 §7.8 lets a server ignore Upgrade), and the bytes after them are parsed as
HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parser_events import load_backend
from wirespeed.config import Config

HANDSHAKE = (
    b"GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)
FRAMES = b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"  # a masked "Hello"
GET = b"GET /plain HTTP/1.1\r\nHost: a\r\n\r\n"


@dataclass(frozen=True)
class Case:
    id: str
    rfc: str
    raw: bytes
    targets: list[str]  # the targets of the requests reported, in order
    handed_over: bytes | None  # what detach() gives: None when the parser did not stop at an upgrade
    ws: str = "on"


def upgrade(value: bytes, extra: bytes = b"", method: bytes = b"GET", version: bytes = b"1.1") -> bytes:
    return (
        method + b" /ws HTTP/" + version + b"\r\nHost: a\r\nUpgrade: " + value + b"\r\nConnection: Upgrade\r\n" + extra + b"\r\n"
    )


CASES = [
    Case("handshake alone", "6455§4.1", HANDSHAKE, ["/ws"], b""),
    Case("frames right behind the handshake", "6455§4.1", HANDSHAKE + FRAMES, ["/ws"], FRAMES),
    Case("HTTP bytes behind the handshake are not parsed", "6455§4.1", HANDSHAKE + GET, ["/ws"], GET),
    Case("a request before the handshake", "9112§9.3.2", GET + HANDSHAKE + FRAMES, ["/plain", "/ws"], FRAMES),
    Case("Upgrade names websocket among others", "9110§7.8", upgrade(b"h2c, WebSocket") + FRAMES, ["/ws"], FRAMES),
    Case("Content-Length: 0 is no body", "9112§6.3", upgrade(b"websocket", b"Content-Length: 0\r\n") + FRAMES, ["/ws"], FRAMES),
    # Handed over whatever else is wrong with it: the WebSocket layer answers 400 / 426.
    Case("a POST that asks for a WebSocket", "6455§4.2.1", upgrade(b"websocket", method=b"POST"), ["/ws"], b""),
    Case("HTTP/1.0 that asks for a WebSocket", "6455§4.2.1", upgrade(b"websocket", version=b"1.0"), ["/ws"], b""),
    Case("no Connection: upgrade", "6455§4.2.1", b"GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n" + GET, ["/ws"], GET),
    # Not handed over: ordinary requests.
    Case("another protocol", "9110§7.8", upgrade(b"h2c") + GET, ["/ws", "/plain"], None),
    Case("a versioned protocol is another one", "9110§7.8", upgrade(b"websocket/13") + GET, ["/ws", "/plain"], None),
    Case("a request with a body keeps its framing", "9110§7.8", upgrade(b"websocket", b"Content-Length: 3\r\n") + b"abc" + GET, ["/ws", "/plain"], None),
    Case("ws off: Upgrade is ignored", "9110§7.8", HANDSHAKE + GET, ["/ws", "/plain"], None, ws="off"),
    Case("ws auto (not settled by a server) is off", "9110§7.8", HANDSHAKE + GET, ["/ws", "/plain"], None, ws="auto"),
    Case("an error before the handshake", "9112§2.2", b"GET / HTTP/1.1\nHost: a\r\n\r\n" + HANDSHAKE, [], None),
]


def feed_in_pieces(parser: Any, raw: bytes, cuts: list[int]) -> list[Any]:
    events: list[Any] = []
    start = 0
    for cut in [*cuts, len(raw)]:
        events += parser.feed(raw[start:cut])
        start = cut
    return events


def run(backend: str, case: Case, cuts: list[int]) -> tuple[list[Any], bytes | None, bool]:
    parser = load_backend(backend)(Config(ws=case.ws))  # type: ignore[arg-type]
    events = feed_in_pieces(parser, case.raw, cuts)
    requests = [event for event in events if isinstance(event, tuple)]
    last = requests[-1] if requests else None
    handed_over = parser.detach()
    if handed_over is not None:
        # The handshake is the connection's last request, reported without a body.
        assert last is not None and last[4] is False and last[5] is None
        assert parser.detach() is None, "the bytes are handed over once"
        assert parser.feed(b"more") == [], "a parser that handed over reads nothing more"
    return [request[1] for request in requests], handed_over, any(isinstance(e, Exception) for e in events)


@pytest.mark.parametrize("backend", ["rust", "httptools"])
@pytest.mark.parametrize("case", CASES, ids=lambda case: f"{case.id}-rfc{case.rfc}")
def test_hand_over(backend: str, case: Case) -> None:
    whole = run(backend, case, [])
    targets, handed_over, failed = whole
    assert targets == case.targets
    assert handed_over == case.handed_over
    assert failed == (case.targets == [])
    # One byte at a time, and cut at every point, the same.
    assert run(backend, case, list(range(1, len(case.raw)))) == whole
    for cut in range(1, len(case.raw)):
        assert run(backend, case, [cut]) == whole, cut


def test_bytes_fed_after_the_hand_over_are_kept_until_detach() -> None:
    for backend in ("rust", "httptools"):
        parser = load_backend(backend)(Config(ws="on"))
        assert len(parser.feed(HANDSHAKE + b"ab")) == 1
        assert parser.feed(b"cd") == []
        assert parser.feed(b"ef") == []
        assert parser.detach() == b"abcdef"


@settings(max_examples=150, deadline=None)
@given(
    before=st.lists(st.sampled_from([GET, b"GET /x HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi"]), max_size=3),
    rest=st.binary(max_size=64),
    cuts=st.lists(st.integers(min_value=1, max_value=400), max_size=6),
)
def test_backends_agree_on_hand_overs(before: list[bytes], rest: bytes, cuts: list[int]) -> None:
    raw = b"".join(before) + HANDSHAKE + rest
    case = Case("generated", "", raw, [], None)
    cuts = sorted({cut for cut in cuts if cut < len(raw)})
    rust = run("rust", case, cuts)
    assert rust == run("httptools", case, cuts)
    assert rust[1] == rest and len(rust[0]) == len(before) + 1
