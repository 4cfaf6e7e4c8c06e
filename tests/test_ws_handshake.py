"""The WebSocket opening handshake (RFC 6455 §4.2), judged on heads parsed by both parsers.

Strategy: each row is a raw request head, parsed by the Rust parser and by the httptools twin,
whose fields go to `read_handshake`; the row says what the RFC makes of it: not a WebSocket
request (None), a correct one (its accept key, subprotocols and extension offers), or the
error status the server answers with. Every row cites its section.
"""

from __future__ import annotations

from typing import Any

import pytest
from wirespeed import Config
from wirespeed.errors import HTTPError
from wirespeed.websocket import accept_key, read_handshake

KEY = "dGhlIHNhbXBsZSBub25jZQ=="  # RFC 6455 §1.3's sample nonce
ACCEPT = b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="  # and the accept value it gives
GOOD = ["Host: example.org", "Upgrade: websocket", "Connection: Upgrade", f"Sec-WebSocket-Key: {KEY}", "Sec-WebSocket-Version: 13"]


def head(*fields: str, line: str = "GET /chat HTTP/1.1") -> bytes:
    return ("\r\n".join([line, *fields]) + "\r\n\r\n").encode("latin-1")


def without(name: str) -> list[str]:
    return [field for field in GOOD if not field.lower().startswith(name.lower() + ":")]


# (id, head, expected, section): expected is None (not a WebSocket request), a status, or a
# dict of what the Handshake holds.
ROWS: list[tuple[str, bytes, Any, str]] = [
    ("plain GET", head("Host: a"), None, "§4.2.1: no Upgrade, an ordinary request"),
    ("other upgrade", head("Host: a", "Upgrade: h2c", "Connection: Upgrade"), None, "RFC 9110 §7.8: not ours to judge"),
    ("sample handshake", head(*GOOD), {"accept": ACCEPT}, "§1.3, §4.2.2: the sample key's accept value"),
    ("token lists", head(*without("Upgrade"), "Upgrade: foo/2, WebSocket", "Connection: keep-alive, upgrade"), {"accept": ACCEPT}, "§4.2.1 items 3-4: tokens, any case"),
    ("POST", head(*GOOD, line="POST /chat HTTP/1.1"), 400, "§4.2.1 item 1: a GET"),
    ("HTTP/1.0", head(*GOOD, line="GET /chat HTTP/1.0"), 400, "§4.2.1 item 1: HTTP/1.1 or higher"),
    ("no Connection: upgrade", head(*without("Connection"), "Connection: keep-alive"), 400, "§4.2.1 item 4"),
    ("no key", head(*without("Sec-WebSocket-Key")), 400, "§4.2.1 item 5"),
    ("short key", head(*without("Sec-WebSocket-Key"), "Sec-WebSocket-Key: c2hvcnQ="), 400, "§4.2.1 item 5: 16 bytes"),
    ("key not base64", head(*without("Sec-WebSocket-Key"), "Sec-WebSocket-Key: !!!!!!!!!!!!!!!!!!!!!!=="), 400, "§4.2.1 item 5"),
    ("two keys", head(*GOOD, f"Sec-WebSocket-Key: {KEY}"), 400, "§4.2.1 item 5: one key"),
    ("no version", head(*without("Sec-WebSocket-Version")), 426, "§4.2.1 item 6, §4.4"),
    ("version 8", head(*without("Sec-WebSocket-Version"), "Sec-WebSocket-Version: 8"), 426, "§4.4: answered with the versions spoken"),
    ("subprotocols", head(*GOOD, "Sec-WebSocket-Protocol: chat, superchat", "Sec-WebSocket-Protocol: v2"), {"subprotocols": ("chat", "superchat", "v2")}, "§4.2.1 item 8, §11.3.4: in the client's order"),
    ("bad subprotocol", head(*GOOD, "Sec-WebSocket-Protocol: chat room"), 400, "§11.3.4: tokens"),
    (
        "deflate offers",
        head(*GOOD, 'Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits, permessage-deflate; server_max_window_bits="10"'),
        {"extensions": (("permessage-deflate", (("client_max_window_bits", None),)), ("permessage-deflate", (("server_max_window_bits", "10"),)))},
        "§9.1, RFC 7692 §5: offers in order, quoted values unquoted",
    ),
    ("bad extension", head(*GOOD, "Sec-WebSocket-Extensions: permessage-deflate; x=\"a b\""), 400, "§9.1: a quoted value is a token"),
]


@pytest.mark.parametrize(("head_bytes", "expected"), [(row[1], row[2]) for row in ROWS], ids=[row[0] for row in ROWS])
def test_handshake_table(parser_class: type, head_bytes: bytes, expected: Any) -> None:
    (request,) = parser_class(Config()).feed(head_bytes)
    method, _, version, headers = request[:4]
    if isinstance(expected, int):
        with pytest.raises(HTTPError) as raised:
            read_handshake(method, version, headers)
        assert raised.value.status == expected
        if expected == 426:
            assert raised.value.headers == {"Sec-WebSocket-Version": "13"}
        return
    handshake = read_handshake(method, version, headers)
    if expected is None:
        assert handshake is None
        return
    assert handshake is not None
    assert handshake.accept == ACCEPT
    for name, value in expected.items():
        assert getattr(handshake, name) == value


def test_accept_key_is_rfc_6455s() -> None:
    assert accept_key(KEY.encode()) == ACCEPT
