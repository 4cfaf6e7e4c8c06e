"""The PROXY protocol end to end (Config.proxy_protocol, proxy_reader.py): live servers on both
parser backends, raw sockets sending PROXY headers (tests/proxy_cases.py) before their requests.

A trusted peer's header gives the client (native `request.client`, ASGI scope client and
server); a hostile header, a missing one, an untrusted peer's or a late one closes the
connection with no answer and a log line, and the server goes on serving a good client."""

from __future__ import annotations

import json
import logging
import socket
import time
from typing import Any

import pytest
from http_wire import Connection
from proxy_cases import INVALID, VALID, ProxyCase, inet, ipv4_body, v2
from wirespeed import App, Request
from wirespeed.cli import build_parser, config_from_args
from wirespeed.proxy_reader import LATE, UNTRUSTED

REQUEST = b"GET /whoami HTTP/1.1\r\nHost: example\r\n\r\n"


def whoami_app() -> App:
    app = App()

    @app.get("/whoami")
    def whoami(request: Request) -> dict[str, Any]:
        return {"client": request.client}

    return app


async def asgi_whoami(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    body = json.dumps({"client": scope["client"], "server": scope["server"]}).encode()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})


@pytest.fixture
def server(server_for: Any) -> Any:
    return server_for(whoami_app(), proxy_protocol=True, header_timeout=0.5)


def client_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == "wirespeed.client"]


def ask(connection: Connection) -> Any:
    response = connection.read_response()
    assert response.status == 200, response
    return json.loads(response.body)


def assert_good_client_served(port: int, header: bytes = b"PROXY TCP4 203.0.113.9 10.0.0.1 4242 443\r\n") -> None:
    with Connection(port) as connection:
        connection.send(header + REQUEST)
        assert ask(connection)["client"] == ["203.0.113.9", 4242]


def assert_closed_without_answer(connection: Connection) -> None:
    assert connection.read_until_close() == b""


@pytest.mark.parametrize("case", VALID, ids=lambda case: case.id)
def test_valid_header_then_request(server: Any, case: ProxyCase) -> None:
    with Connection(server.port) as connection:
        connection.send(case.data + REQUEST)
        client = ask(connection)["client"]
        local_port = connection.sock.getsockname()[1]
    _, source, _ = case.verdict
    expected = list(source) if source is not None else ["127.0.0.1", local_port]  # LOCAL, UNKNOWN: the real peer
    assert client == expected


@pytest.mark.parametrize("case", INVALID, ids=lambda case: case.id)
def test_hostile_header_is_closed_and_logged(
    server: Any, case: ProxyCase, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="wirespeed.client")
    with Connection(server.port) as connection:
        connection.send(case.data + REQUEST)
        assert_closed_without_answer(connection)
    assert f"PROXY protocol: {case.verdict}" in "\n".join(client_lines(caplog))
    assert_good_client_served(server.port)


def test_trickled_byte_by_byte(server: Any) -> None:
    for header, client in [
        (b"PROXY TCP6 2001:db8::7 ::1 5555 80\r\n", ["2001:db8::7", 5555]),
        (inet(), ["192.0.2.1", 12345]),
    ]:
        with Connection(server.port) as connection:
            connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for byte in header + REQUEST:
                connection.send(bytes([byte]))
                time.sleep(0.0005)
            assert ask(connection)["client"] == client


@pytest.mark.parametrize("cut", [1, 5, 6, 12, 13, 14, 15, 16, 20, 27, 28, 40])
def test_split_across_two_sends(server: Any, cut: int) -> None:
    data = v2(0x21, 0x11, ipv4_body("198.18.0.1", 7, "198.18.0.2", 8) + b"\xe0\x00\x02ab") + REQUEST
    with Connection(server.port) as connection:
        connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        connection.send(data[:cut])
        time.sleep(0.02)
        connection.send(data[cut:])
        assert ask(connection)["client"] == ["198.18.0.1", 7]


def test_header_and_pipelined_requests_in_one_packet(server: Any) -> None:
    with Connection(server.port) as connection:
        connection.send(b"PROXY TCP4 192.0.2.44 10.0.0.1 61000 80\r\n" + REQUEST * 3)
        for _ in range(3):
            assert ask(connection)["client"] == ["192.0.2.44", 61000]


def test_untrusted_peer_is_closed(server_for: Any, caplog: pytest.LogCaptureFixture) -> None:
    """The rule: only peers in forwarded_allow_ips (here the default, 127.0.0.1) may send a
    header; from 127.0.0.2 the connection is closed, valid header or not."""
    caplog.set_level(logging.INFO, logger="wirespeed.client")
    server = server_for(whoami_app(), proxy_protocol=True)
    for header in (b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n", inet(), b"PROXY UNKNOWN\r\n"):
        with socket.socket() as sock:
            sock.settimeout(5)
            sock.bind(("127.0.0.2", 0))
            sock.connect(("127.0.0.1", server.port))
            sock.sendall(header + REQUEST)
            assert sock.recv(65536) == b""
        assert_good_client_served(server.port)
    lines = [line for line in client_lines(caplog) if UNTRUSTED in line]
    assert len(lines) == 3 and all("127.0.0.2" in line for line in lines)


def test_missing_header_is_closed_without_an_answer(server: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="wirespeed.client")
    with Connection(server.port) as connection:
        connection.send(REQUEST)
        assert_closed_without_answer(connection)
    assert any("no PROXY protocol header" in line for line in client_lines(caplog))
    assert_good_client_served(server.port)


@pytest.mark.parametrize("sent", [b"", b"PROXY TCP4 1.2.3.4", inet()[:20]], ids=["nothing", "part of v1", "part of v2"])
def test_late_header_is_closed(server: Any, sent: bytes, caplog: pytest.LogCaptureFixture) -> None:
    """header_timeout (0.5 s here) bounds the header; a late one is closed without a 408."""
    caplog.set_level(logging.INFO, logger="wirespeed.client")
    # Another connection, open meanwhile (its header and first request sent), is not disturbed.
    with Connection(server.port) as connection, Connection(server.port) as busy:
        busy.send(b"PROXY TCP4 192.0.2.5 10.0.0.1 1000 80\r\n" + REQUEST)
        assert ask(busy)["client"] == ["192.0.2.5", 1000]
        started = time.monotonic()
        connection.send(sent)
        assert_closed_without_answer(connection)
        waited = time.monotonic() - started
        busy.send(REQUEST)
        assert ask(busy)["client"] == ["192.0.2.5", 1000]
    assert 0.4 < waited < 3
    assert any(LATE in line for line in client_lines(caplog))
    assert_good_client_served(server.port)


def test_asgi_scope_client_and_server(server_for: Any) -> None:
    server = server_for(asgi_whoami, proxy_protocol=True)
    with Connection(server.port) as connection:
        connection.send(b"PROXY TCP6 2001:db8::1 2001:db8::2 40000 8443\r\n" + REQUEST)
        assert ask(connection) == {"client": ["2001:db8::1", 40000], "server": ["2001:db8::2", 8443]}
    with Connection(server.port) as connection:  # LOCAL: the real endpoints
        connection.send(v2(0x20, 0x00, b"") + REQUEST)
        seen = ask(connection)
        assert seen["client"] == ["127.0.0.1", connection.sock.getsockname()[1]]
        assert seen["server"] == ["127.0.0.1", server.port]


def test_off_by_default_a_header_is_bad_http(server_for: Any) -> None:
    server = server_for(whoami_app())
    with Connection(server.port) as connection:
        connection.send(b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n" + REQUEST)
        assert connection.read_response().status == 400
    with Connection(server.port) as connection:
        connection.send(REQUEST)
        assert ask(connection)["client"][0] == "127.0.0.1"


def test_cli_flag() -> None:
    parser = build_parser()
    assert config_from_args(parser.parse_args(["--proxy-protocol"])).proxy_protocol is True
    assert config_from_args(parser.parse_args([])).proxy_protocol is False


def test_with_proxy_headers_the_header_source_is_the_peer_they_are_judged_by(server_for: Any) -> None:
    """With --proxy-headers too, a request's X-Forwarded-For is believed when the client the
    PROXY header names (the hop before the load balancer, say a TLS terminator) is trusted."""
    server = server_for(whoami_app(), proxy_protocol=True, proxy_headers=True, forwarded_allow_ips="127.0.0.1,10.0.0.5")
    forwarded = b"GET /whoami HTTP/1.1\r\nHost: example\r\nX-Forwarded-For: 203.0.113.1\r\n\r\n"
    for source, client in [(b"10.0.0.5", ["203.0.113.1", 0]), (b"192.0.2.9", ["192.0.2.9", 4000])]:
        with Connection(server.port) as connection:
            connection.send(b"PROXY TCP4 " + source + b" 10.0.0.1 4000 80\r\n" + forwarded)
            assert ask(connection)["client"] == client


def test_not_with_tls() -> None:
    """The TLS layer reads a connection's first bytes before the protocol does, so a PROXY
    header in front of the handshake cannot be read: the combination is refused."""
    from wirespeed import Config

    with pytest.raises(ValueError, match="proxy_protocol cannot be used with TLS"):
        Config(proxy_protocol=True, ssl_certfile="cert.pem")
    assert Config(proxy_protocol=True).proxy_protocol is True
