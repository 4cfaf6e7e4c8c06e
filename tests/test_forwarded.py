"""Proxy headers (`Config.proxy_headers`, forwarded.py): who the client is behind a trusted proxy.

The tables hold header values and what they say, each row naming its section of RFC 7239 (or
the de-facto X-Forwarded-* rule of forwarded.py it checks); then live servers on both parser
backends, a native app and an ASGI app, read through raw sockets.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from asgi_apps import proxy_view_app
from conftest import RunningServer
from http_wire import Connection, WireResponse
from wirespeed import App, Config, Request
from wirespeed.cli import build_parser, config_from_args
from wirespeed.forwarded import (
    MAX_HOPS,
    ProxyInfo,
    parse_forwarded,
    parse_host,
    parse_node,
    proxy_info,
)
from wirespeed.trust import TrustedPeers
from ws_wire import WsConnection

# The proxies of the unit tables: the local one and a private network of them.
PROXIES = "127.0.0.1, 10.0.0.0/8, fd00::/8"

Headers = list[tuple[str, str]]


def info(
    client: tuple[str, int] | None = None,
    scheme: str | None = None,
    host: str | None = None,
) -> ProxyInfo:
    return ProxyInfo(client, scheme, host)


# (section, header fields, what they say: None when nothing well formed)
CASES: list[tuple[str, Headers, ProxyInfo | None]] = [
    # RFC 7239 Forwarded
    ("7239§4 one pair", [("forwarded", "for=192.0.2.60")], info(("192.0.2.60", 0))),
    (
        "7239§4 pairs of an element",
        [("forwarded", "for=192.0.2.60;proto=http;by=203.0.113.43")],
        info(("192.0.2.60", 0), "http"),
    ),
    (
        "7239§4 names are case-insensitive",
        [("forwarded", "For=192.0.2.60;PROTO=https")],
        info(("192.0.2.60", 0), "https"),
    ),
    (
        "7239§4 quoted-string value",
        [("forwarded", 'for="192.0.2.60";proto="https"')],
        info(("192.0.2.60", 0), "https"),
    ),
    (
        "7239§4 quoted-pair in a quoted-string",
        [("forwarded", r'for="192.0.2.\60"')],
        info(("192.0.2.60", 0)),
    ),
    (
        "7239§4 OWS around the separators",
        [("forwarded", "for=192.0.2.60 ; proto=https , for=10.0.0.1")],
        info(("192.0.2.60", 0), "https"),
    ),
    (
        "7239§4 empty pairs and list elements",
        [("forwarded", ";for=192.0.2.60;;, ,")],
        info(("192.0.2.60", 0)),
    ),
    (
        "7239§4 several field lines are one list",
        [
            ("forwarded", "for=192.0.2.43"),
            ("forwarded", "for=198.51.100.17;proto=https"),
        ],
        info(("198.51.100.17", 0), "https"),
    ),
    (
        "7239§4 a comma inside a quoted-string is not a separator",
        [("forwarded", 'for=192.0.2.1;ext="a,b"')],
        info(("192.0.2.1", 0)),
    ),
    (
        "7239§4 the chain: trusted proxies on the right are skipped",
        [
            (
                "forwarded",
                "for=192.0.2.43;proto=https, for=10.1.2.3;proto=http, for=10.4.5.6;proto=http",
            )
        ],
        info(("192.0.2.43", 0), "https"),
    ),
    (
        "7239§4 the chain: the first untrusted from the right, not the leftmost",
        [("forwarded", "for=203.0.113.9, for=192.0.2.43;proto=https, for=10.1.2.3")],
        info(("192.0.2.43", 0), "https"),
    ),
    (
        "7239§4 the chain: all trusted -> the leftmost",
        [("forwarded", "for=10.0.0.7;proto=https, for=127.0.0.1")],
        info(("10.0.0.7", 0), "https"),
    ),
    (
        "7239§5.2 for= IPv6 in brackets, with a port",
        [("forwarded", 'for="[2001:db8:cafe::17]:4711"')],
        info(("2001:db8:cafe::17", 4711)),
    ),
    (
        "7239§5.2 for= IPv6 is written in its normal form",
        [("forwarded", 'for="[2001:DB8:0:0::1]"')],
        info(("2001:db8::1", 0)),
    ),
    (
        "7239§5.2 for= IPv4 with a port",
        [("forwarded", 'for="192.0.2.60:8080"')],
        info(("192.0.2.60", 8080)),
    ),
    (
        "7239§5.3 host=",
        [("forwarded", 'for=192.0.2.60;host="example.com:8443"')],
        info(("192.0.2.60", 0), None, "example.com:8443"),
    ),
    (
        "7239§5.3 host= of the element of the client",
        [("forwarded", "for=192.0.2.60;host=a.example, for=10.0.0.2;host=b.example")],
        info(("192.0.2.60", 0), None, "a.example"),
    ),
    (
        "7239§5.3 host= as an IPv6 literal",
        [("forwarded", 'host="[2001:db8::1]:8443"')],
        info(None, None, "[2001:db8::1]:8443"),
    ),
    (
        "7239§5.4 proto= is case-insensitive",
        [("forwarded", "for=192.0.2.60;proto=HTTPS")],
        info(("192.0.2.60", 0), "https"),
    ),
    (
        "7239§5.4 proto=wss is https",
        [("forwarded", "for=192.0.2.60;proto=wss")],
        info(("192.0.2.60", 0), "https"),
    ),
    (
        "7239§5.4 proto=ws is http",
        [("forwarded", "for=192.0.2.60;proto=ws")],
        info(("192.0.2.60", 0), "http"),
    ),
    (
        "7239§5.4 proto without for: the last element's",
        [("forwarded", "proto=http, proto=https")],
        info(None, "https"),
    ),
    (
        "7239§5.5 extension parameters are ignored",
        [("forwarded", "for=192.0.2.60;secret=abc")],
        info(("192.0.2.60", 0)),
    ),
    (
        "7239§5.1 by= is checked, not used",
        [("forwarded", 'for=192.0.2.60;by="[2001:db8::9]:80"')],
        info(("192.0.2.60", 0)),
    ),
    (
        "7239§6.2 unknown stops the walk",
        [("forwarded", "for=unknown;proto=https, for=10.0.0.3")],
        info(("unknown", 0), "https"),
    ),
    (
        "7239§6.3 obfuscated node",
        [("forwarded", 'for="_gazonk"')],
        info(("_gazonk", 0)),
    ),
    (
        "7239§6.3 obfuscated node and port",
        [("forwarded", 'for="_hidden:_port1"')],
        info(("_hidden", 0)),
    ),
    (
        "7239§6.3 obfuscated node with a numeric port",
        [("forwarded", 'for="_hidden:443"')],
        info(("_hidden", 443)),
    ),
    (
        "7239§6.3 IPv6 with an obfuscated port",
        [("forwarded", 'for="[2001:db8::1]:_abc"')],
        info(("2001:db8::1", 0)),
    ),
    # Forwarded and X-Forwarded-* together: Forwarded wins
    (
        "forwarded.py Forwarded wins over X-Forwarded-*",
        [
            ("x-forwarded-for", "198.51.100.1"),
            ("x-forwarded-proto", "http"),
            ("forwarded", "for=192.0.2.60;proto=https"),
        ],
        info(("192.0.2.60", 0), "https"),
    ),
    (
        "forwarded.py a malformed Forwarded is not replaced by X-Forwarded-*",
        [("forwarded", "for=999.1.1.1"), ("x-forwarded-for", "198.51.100.1")],
        None,
    ),
    # X-Forwarded-*
    (
        "x-forwarded one address",
        [("x-forwarded-for", "192.0.2.60")],
        info(("192.0.2.60", 0)),
    ),
    (
        "x-forwarded the chain, trusted skipped",
        [("x-forwarded-for", "203.0.113.1, 192.0.2.60, 10.0.0.1, 127.0.0.1")],
        info(("192.0.2.60", 0)),
    ),
    (
        "x-forwarded all trusted -> the leftmost",
        [("x-forwarded-for", "10.9.9.9, 127.0.0.1")],
        info(("10.9.9.9", 0)),
    ),
    (
        "x-forwarded several field lines",
        [("x-forwarded-for", "192.0.2.60"), ("x-forwarded-for", "10.0.0.1")],
        info(("192.0.2.60", 0)),
    ),
    (
        "x-forwarded IPv6, bare and in brackets with a port",
        [("x-forwarded-for", "2001:db8::7, [fd00::1]:80")],
        info(("2001:db8::7", 0)),
    ),
    (
        "x-forwarded IPv4 with a port",
        [("x-forwarded-for", "192.0.2.60:5555")],
        info(("192.0.2.60", 5555)),
    ),
    (
        "x-forwarded empty entries are skipped",
        [("x-forwarded-for", " , 192.0.2.60,,")],
        info(("192.0.2.60", 0)),
    ),
    (
        "x-forwarded unknown",
        [("x-forwarded-for", "unknown, 10.0.0.1")],
        info(("unknown", 0)),
    ),
    (
        "x-forwarded proto and host",
        [
            ("x-forwarded-for", "192.0.2.60"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "example.com"),
        ],
        info(("192.0.2.60", 0), "https", "example.com"),
    ),
    (
        "x-forwarded proto of the client's position when the lists match",
        [
            ("x-forwarded-for", "192.0.2.60, 10.0.0.1"),
            ("x-forwarded-proto", "https, http"),
        ],
        info(("192.0.2.60", 0), "https"),
    ),
    (
        "x-forwarded proto: the last when the lists do not match",
        [
            ("x-forwarded-for", "192.0.2.60, 10.0.0.1"),
            ("x-forwarded-proto", "http, http, https"),
        ],
        info(("192.0.2.60", 0), "https"),
    ),
    ("x-forwarded proto alone", [("x-forwarded-proto", "HTTPS")], info(None, "https")),
    (
        "x-forwarded a bad proto is ignored, the address kept",
        [("x-forwarded-for", "192.0.2.60"), ("x-forwarded-proto", "ftp")],
        info(("192.0.2.60", 0)),
    ),
    (
        "x-forwarded a bad address is ignored, the proto kept",
        [("x-forwarded-for", "192.0.2.300"), ("x-forwarded-proto", "https")],
        info(None, "https"),
    ),
    (
        "x-forwarded other fields are not proxy headers",
        [("x-forwarded-server", "192.0.2.60"), ("x-real-ip", "192.0.2.61")],
        None,
    ),
]

# Hostile or malformed values: each is ignored as a whole (None: nothing taken from it).
HOSTILE: list[tuple[str, Headers]] = [
    (
        "7239§4 a token may not hold ':' (an unquoted port)",
        [("forwarded", "for=192.0.2.60:80")],
    ),
    (
        "7239§4 a token may not hold '[' (an unquoted IPv6)",
        [("forwarded", "for=[2001:db8::1]")],
    ),
    ("7239§4 no whitespace around '='", [("forwarded", "for = 192.0.2.60")]),
    ("7239§4 a pair without '='", [("forwarded", "for")]),
    ("7239§4 an unterminated quoted-string", [("forwarded", 'for="192.0.2.60')]),
    ("7239§4 a bare quote inside a token", [("forwarded", 'for=192.0."2.60"')]),
    (
        "7239§4 a backslash at the end of a quoted-string",
        [("forwarded", 'for="192.0.2.60\\"')],
    ),
    (
        "7239§4 a parameter repeated in an element",
        [("forwarded", "for=192.0.2.60;for=192.0.2.61")],
    ),
    ("7239§4 text after a value", [("forwarded", "for=192.0.2.60 junk")]),
    (
        "7239§4 a control character in a quoted-string",
        [("forwarded", 'for="192.0.2.60\x7f"')],
    ),
    (
        "7239§4 more elements than MAX_HOPS",
        [("forwarded", ", ".join(["for=192.0.2.1"] * (MAX_HOPS + 1)))],
    ),
    (
        "7239§4 an injection: a header line inside a quoted-string",
        [("forwarded", 'for="1.2.3.4\\r\\nX-Admin: 1"')],
    ),
    (
        "7239§4 an injection: a second element hidden in a quoted value",
        [("forwarded", 'for="192.0.2.60, for=10.0.0.1"')],
    ),
    ("7239§6 a host name is not a node", [("forwarded", "for=localhost")]),
    ("7239§6 an IPv4 address out of range", [("forwarded", "for=256.1.1.1")]),
    ("7239§6 an IPv4 address with leading zeros", [("forwarded", "for=010.1.1.1")]),
    ("7239§6 IPv6 without brackets (quoted)", [("forwarded", 'for="2001:db8::1"')]),
    ("7239§6 IPv6 with a zone", [("forwarded", 'for="[fe80::1%eth0]"')]),
    ("7239§6 an IPv4 address in brackets", [("forwarded", 'for="[192.0.2.1]"')]),
    ("7239§6 an empty port", [("forwarded", 'for="192.0.2.60:"')]),
    ("7239§6 a port over 65535", [("forwarded", 'for="192.0.2.60:65536"')]),
    ("7239§6 a port of six digits", [("forwarded", 'for="192.0.2.60:000080"')]),
    ("7239§6.3 an obfuscated node of '_' alone", [("forwarded", "for=_")]),
    (
        "7239§6.3 an obfuscated node with other characters",
        [("forwarded", 'for="_a/b"')],
    ),
    ("7239§6 an overlong node", [("forwarded", 'for="' + "1" * 5000 + '"')]),
    (
        "7239§6 a bad by= spoils the element",
        [("forwarded", "for=192.0.2.60;by=nobody")],
    ),
    ("7239§5.4 another scheme", [("forwarded", "for=192.0.2.60;proto=ftp")]),
    (
        "7239§5.4 a scheme with a path",
        [("forwarded", 'for=192.0.2.60;proto="https://evil"')],
    ),
    (
        "7239§5.3 a host with a path",
        [("forwarded", 'for=192.0.2.60;host="evil.example/x"')],
    ),
    (
        "7239§5.3 a host with userinfo",
        [("forwarded", 'for=192.0.2.60;host="user@evil.example"')],
    ),
    ("7239§5.3 a host with a space", [("forwarded", 'for=192.0.2.60;host="a b"')]),
    ("7239§5.3 an overlong host", [("forwarded", "for=192.0.2.60;host=" + "a" * 300)]),
    (
        "7239§5.3 a host with a bad port",
        [("forwarded", 'for=192.0.2.60;host="example.com:http"')],
    ),
    (
        "x-forwarded a name in the chain",
        [("x-forwarded-for", "192.0.2.60, proxy.internal")],
    ),
    ("x-forwarded an obfuscated identifier", [("x-forwarded-for", "_hidden")]),
    (
        "x-forwarded more entries than MAX_HOPS",
        [("x-forwarded-for", ", ".join(["192.0.2.1"] * (MAX_HOPS + 1)))],
    ),
    ("x-forwarded a bad host", [("x-forwarded-host", "evil.example/path?")]),
    (
        "x-forwarded one bad proto spoils the list",
        [("x-forwarded-proto", "https, gopher")],
    ),
    ("x-forwarded an empty value", [("x-forwarded-for", " , ")]),
]


def encoded(headers: Headers) -> list[tuple[bytes, bytes]]:
    return [(name.encode(), value.encode("latin-1")) for name, value in headers]


@pytest.mark.parametrize(("section", "headers", "expected"), CASES, ids=[row[0] for row in CASES])
def test_what_the_headers_say(section: str, headers: Headers, expected: ProxyInfo | None) -> None:
    assert proxy_info(encoded(headers), TrustedPeers(PROXIES)) == expected


@pytest.mark.parametrize(("section", "headers"), HOSTILE, ids=[row[0] for row in HOSTILE])
def test_malformed_values_are_ignored_as_a_whole(section: str, headers: Headers) -> None:
    assert proxy_info(encoded(headers), TrustedPeers(PROXIES)) is None


# (trust list, X-Forwarded-For, the client chosen): the walk from the right with CIDRs
TRUST_CASES = [
    ("127.0.0.1", "192.0.2.1, 10.0.0.1", "10.0.0.1"),
    ("127.0.0.1, 10.0.0.0/8", "192.0.2.1, 10.0.0.1", "192.0.2.1"),
    ("127.0.0.1, 10.0.0.0/24", "192.0.2.1, 10.0.1.1, 10.0.0.1", "10.0.1.1"),
    ("127.0.0.1, 192.0.2.0/25", "192.0.2.200, 192.0.2.1", "192.0.2.200"),
    ("127.0.0.1, fd00::/8", "2001:db8::1, fd12::3", "2001:db8::1"),
    ("*", "192.0.2.1, 198.51.100.2, 203.0.113.3", "192.0.2.1"),
    ("unix", "192.0.2.1, 198.51.100.2", "198.51.100.2"),
]


@pytest.mark.parametrize(("spec", "chain", "client"), TRUST_CASES)
def test_the_walk_skips_the_trusted_proxies(spec: str, chain: str, client: str) -> None:
    trust = TrustedPeers(spec)
    assert proxy_info([(b"x-forwarded-for", chain.encode())], trust) == info((client, 0))
    forwarded = ", ".join(f'for="[{hop}]"' if ":" in hop else f"for={hop}" for hop in chain.split(", "))
    assert proxy_info([(b"forwarded", forwarded.encode())], trust) == info((client, 0))


@pytest.mark.parametrize(
    ("node", "parsed"),
    [
        ("192.0.2.43", ("192.0.2.43", 0)),
        ("[2001:db8:cafe::17]:4711", ("2001:db8:cafe::17", 4711)),
        ("unknown", ("unknown", 0)),
        ("unknown:80", ("unknown", 80)),
        ("_SEVKISEK", ("_SEVKISEK", 0)),
        ("_a.b-c_d:_e", ("_a.b-c_d", 0)),
        ("[::1", None),
        ("[::1]x", None),
        ("[::1]:", None),
        ("::1", None),
        ("1.2.3", None),
        ("", None),
    ],
)
def test_nodes(node: str, parsed: tuple[str, int] | None) -> None:
    """RFC 7239 §6 node syntax."""
    assert parse_node(node) == parsed


def test_the_parse_keeps_quoted_text_unescaped() -> None:
    """RFC 7239 §4 (quoted-pair, RFC 9110 §5.6.4)."""
    assert parse_forwarded(r'for="a\"b";ext="x\\y"') == [{"for": 'a"b', "ext": "x\\y"}]
    assert parse_forwarded("") == []


@pytest.mark.parametrize(
    "host",
    [
        "example.com",
        "example.com:8080",
        "192.0.2.1:80",
        "[2001:db8::1]",
        "[::1]:443",
        "a_b.local",
    ],
)
def test_hosts_accepted(host: str) -> None:
    assert parse_host(host) == host


def test_the_flag_and_the_config() -> None:
    assert Config().proxy_headers is False
    assert config_from_args(build_parser().parse_args(["--proxy-headers"])).proxy_headers is True
    assert config_from_args(build_parser().parse_args(["--no-proxy-headers"])).proxy_headers is False
    assert config_from_args(build_parser().parse_args([])).proxy_headers is False


# -- live servers: a native app and an ASGI app that say what they see
def native_app() -> App:
    app = App()

    @app.route("/", methods=("GET", "POST"))
    async def index(request: Request) -> dict[str, Any]:
        await request.body()
        return {
            "client": request.client,
            "scheme": request.scheme,
            "host": request.host,
            "xff": request.headers.get("x-forwarded-for"),
            "forwarded": request.headers.get("forwarded"),
        }

    return app


APPS: dict[str, Callable[[], Any]] = {"native": native_app, "asgi": lambda: proxy_view_app}


@pytest.fixture(params=sorted(APPS))
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def get(connection: Connection, extra: str = "", host: str = "origin.test") -> dict[str, Any]:
    connection.send(f"GET / HTTP/1.1\r\nHost: {host}\r\n{extra}\r\n".encode("latin-1"))
    response: WireResponse = connection.read_response()
    assert response.status == 200, response
    return json.loads(response.body)  # type: ignore[no-any-return]


def test_a_trusted_proxy_names_the_client_per_request(server_for: Callable[..., RunningServer], kind: str) -> None:
    """One keep-alive connection from the proxy carries requests of many clients: each request
    gets its own client, scheme and host; one without proxy headers gets the TCP peer's."""
    server = server_for(APPS[kind](), proxy_headers=True)
    with Connection(server.port) as connection:
        first = get(
            connection,
            "X-Forwarded-For: 192.0.2.60\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: shop.example\r\n",
        )
        second = get(connection, 'Forwarded: for="[2001:db8::5]:4711";proto=http\r\n')
        plain = get(connection)
        third = get(connection, "X-Forwarded-For: 203.0.113.7, 127.0.0.1\r\n")
    assert first["client"] == ["192.0.2.60", 0]
    assert first["scheme"] == "https"
    assert first["xff"] == "192.0.2.60"  # the headers stay for the app to see
    assert second["client"] == ["2001:db8::5", 4711]
    assert second["scheme"] == "http"
    assert plain["client"][0] == "127.0.0.1" and plain["client"][1] > 0
    assert plain["scheme"] == "http"
    assert third["client"] == ["203.0.113.7", 0]
    if kind == "native":
        assert first["host"] == "shop.example"
        assert plain["host"] == "origin.test"
    else:
        assert first["host"] == "shop.example"  # the Host the app builds its URLs from
        assert first["server"] == ["shop.example", 443]
        assert plain["host"] == "origin.test"


def test_an_untrusted_peer_is_not_believed(server_for: Callable[..., RunningServer], kind: str) -> None:
    server = server_for(APPS[kind](), proxy_headers=True, forwarded_allow_ips="10.0.0.0/8, unix")
    with Connection(server.port) as connection:
        seen = get(
            connection,
            "X-Forwarded-For: 192.0.2.60\r\nX-Forwarded-Proto: https\r\nForwarded: for=192.0.2.9\r\n",
        )
    assert seen["client"][0] == "127.0.0.1"
    assert seen["scheme"] == "http"
    assert seen["host"] == "origin.test"
    assert seen["xff"] == "192.0.2.60" and seen["forwarded"] == "for=192.0.2.9"  # not stripped


def test_proxy_headers_are_off_by_default(server_for: Callable[..., RunningServer], kind: str) -> None:
    server = server_for(APPS[kind]())  # 127.0.0.1 is in the default trust list, but the switch is off
    with Connection(server.port) as connection:
        seen = get(connection, "X-Forwarded-For: 192.0.2.60\r\nX-Forwarded-Proto: https\r\n")
    assert seen["client"][0] == "127.0.0.1"
    assert seen["scheme"] == "http"


# The hostile rows a parser lets through (a control character in a field value is its own 400),
# and a Forwarded field of many elements that fills most of the default 16 KiB head.
LIVE_HOSTILE = [
    (section, "".join(f"{name}: {value}\r\n" for name, value in headers))
    for section, headers in HOSTILE
    if all(value.isprintable() for _, value in headers)
] + [
    (
        "7239§4 a Forwarded field near the head limit",
        "Forwarded: " + "for=192.0.2.1, " * 900 + "for=192.0.2.2\r\n",
    )
]


@pytest.mark.parametrize(("section", "extra"), LIVE_HOSTILE, ids=[row[0] for row in LIVE_HOSTILE])
def test_malformed_headers_are_served_with_the_peer(
    server_for: Callable[..., RunningServer], kind: str, section: str, extra: str
) -> None:
    """Malformed proxy headers from a trusted peer: the request is still answered (never a 500),
    as if they had not been sent, and the connection goes on."""
    server = server_for(APPS[kind](), proxy_headers=True)
    with Connection(server.port) as connection:
        seen = get(connection, extra)
        after = get(connection, "X-Forwarded-For: 192.0.2.77\r\n")
    assert seen["client"][0] == "127.0.0.1"
    assert seen["scheme"] == "http"
    assert after["client"] == ["192.0.2.77", 0]


def test_a_bad_request_is_logged_with_the_tcp_peer(
    server_for: Callable[..., RunningServer], caplog: pytest.LogCaptureFixture
) -> None:
    """A rejected request's log line names the connection's peer, not what its headers claim."""
    server = server_for(native_app(), proxy_headers=True)
    with (
        caplog.at_level("INFO", logger="wirespeed.client"),
        Connection(server.port) as connection,
    ):
        connection.send(b"GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 192.0.2.60\r\nBad Field: x\r\n\r\n")
        assert connection.read_response().status == 400
    lines = [record.getMessage() for record in caplog.records if record.name == "wirespeed.client"]
    assert any("127.0.0.1" in line for line in lines), lines
    assert not any("192.0.2.60" in line for line in lines), lines
    with Connection(server.port) as connection:  # and the server goes on
        assert get(connection, "X-Forwarded-For: 192.0.2.61\r\n")["client"] == [
            "192.0.2.61",
            0,
        ]


@pytest.mark.parametrize(
    ("extra", "scheme", "client"),
    [
        (
            "X-Forwarded-Proto: https\r\nX-Forwarded-For: 192.0.2.60\r\n",
            "wss",
            ["192.0.2.60", 0],
        ),
        ("Forwarded: for=192.0.2.61;proto=wss\r\n", "wss", ["192.0.2.61", 0]),
        ("Forwarded: for=192.0.2.62;proto=http\r\n", "ws", ["192.0.2.62", 0]),
        ("", "ws", None),
    ],
)
def test_an_asgi_websocket_scope_behind_a_proxy(
    server_for: Callable[..., RunningServer],
    extra: str,
    scheme: str,
    client: list[Any] | None,
) -> None:
    server = server_for(proxy_view_app, proxy_headers=True)
    with WsConnection(server.port) as connection:
        connection.open("/ws", extra.encode())
        seen = json.loads(connection.read_message().text)
    assert seen["scheme"] == scheme
    if client is None:
        assert seen["client"][0] == "127.0.0.1"
    else:
        assert seen["client"] == client
