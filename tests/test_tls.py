"""TLS: HTTPS and WSS end to end, client certificates, and clients that get the handshake wrong.

Certificates come from tests/tls_certs.py (made with the openssl command line, once per
session). Real servers on 127.0.0.1 on both parser backends, talked to with httpx, curl,
`openssl s_client`, the `websockets` client and raw sockets; the CLI in a subprocess for the
flags, a bad key file and --workers 2. What is checked: the scheme and the TLS details a
native handler (`request.scheme`, `request.tls`) and an ASGI app (scope "scheme", the TLS
extension of asgiref specs/tls.rst) see; TLS 1.2 as the floor and ALPN http/1.1; client
certificates none/optional/required; the handshake timeout; hostile handshakes (a table,
each row naming its spec section), which never disturb another client nor put a traceback
in the log; and file bodies, which are copied through the TLS transport, never sent with
sendfile(2) (counted in-process, and under strace).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import random
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import RunningServer
from processes import STRACE, child_pid, free_port, start_cli, stop_cli, traced_bytes
from tls_certs import CLIENT_NAME, KEY_PASSWORD, Certificates, make_certificates
from websockets.asyncio.client import connect as ws_connect

from wirespeed import App, Config, Request, WebSocket
from wirespeed.tls import TLSSetupError, rfc4514_name, server_tls

ServerFor = Callable[..., RunningServer]
MiB = 1024 * 1024


@pytest.fixture(scope="session")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("tls"))


def tls_settings(certs: Certificates, **settings: Any) -> dict[str, Any]:
    return {"ssl_certfile": str(certs.server_cert), "ssl_keyfile": str(certs.server_key), **settings}


def client_context(certs: Certificates, cert: Path | None = None, key: Path | None = None) -> ssl.SSLContext:
    """A client's context that trusts the test CA (and presents `cert` when given)."""
    context = ssl.create_default_context(cafile=str(certs.ca))
    if cert is not None:
        context.load_cert_chain(str(cert), str(key))
    return context


def https(server: RunningServer, path: str = "/") -> str:
    return f"https://127.0.0.1:{server.port}{path}"


def tls_exchange(port: int, context: ssl.SSLContext, request: bytes) -> bytes:
    """One request over a fresh TLS connection; all the bytes that came back until the close
    (the request asks for one)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname="localhost") as conn:
            conn.sendall(request)
            received = b""
            while True:
                piece = conn.recv(65536)
                if not piece:
                    return received
                received += piece


def native_app() -> App:
    app = App()

    @app.get("/")
    def whoami(request: Request) -> dict[str, Any]:
        tls = request.tls
        return {
            "scheme": request.scheme,
            "tls": None
            if tls is None
            else {
                "tls_version": tls.tls_version,
                "cipher_suite": tls.cipher_suite,
                "alpn": tls.alpn_protocol,
                "client_cert_name": tls.client_cert_name,
                "client_subject": None if tls.client_cert is None else tls.client_cert["subject"],
                "chain": list(tls.client_cert_chain),
            },
        }

    @app.websocket("/ws")
    async def echo(ws: WebSocket) -> None:
        await ws.accept()
        async for message in ws:
            await ws.send(f"{ws.request.scheme}:{message}")

    return app


async def asgi_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Reports its scope's scheme and TLS extension (over HTTP, and over a WebSocket)."""
    if scope["type"] == "lifespan":
        return
    seen = {"scheme": scope["scheme"], "tls": scope["extensions"].get("tls")}
    if scope["type"] == "websocket":
        await receive()
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.send", "text": json.dumps(seen)})
        await send({"type": "websocket.close"})
        return
    body = json.dumps(seen).encode()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})


# -- HTTPS with httpx, curl and openssl s_client -------------------------------------------------


def test_a_native_handler_sees_https_and_the_tls_details(backend: str, server_for: ServerFor, certs: Certificates) -> None:
    server = server_for(native_app(), **tls_settings(certs))
    with httpx.Client(verify=client_context(certs)) as client:
        answers = [client.get(https(server)).json() for _ in range(3)]  # one connection, kept alive
    assert answers[0] == answers[2]
    seen = answers[0]
    assert seen["scheme"] == "https"
    assert seen["tls"]["tls_version"] == 0x0304  # TLS 1.3: both sides' default
    assert seen["tls"]["cipher_suite"] in (0x1301, 0x1302, 0x1303)  # RFC 8446 §B.4
    assert seen["tls"]["alpn"] == "http/1.1"
    assert (seen["tls"]["client_cert_name"], seen["tls"]["client_subject"], seen["tls"]["chain"]) == (None, None, [])


@pytest.mark.parametrize(
    ("headers", "scheme"),
    [
        ({}, "https"),  # a trusted peer that says nothing: the connection's own scheme
        ({"X-Forwarded-Proto": "http"}, "http"),  # a trusted TLS-terminating hop in front says http
        ({"Forwarded": "for=192.0.2.1;proto=https"}, "https"),
    ],
)
def test_the_scheme_with_proxy_headers_on_over_tls(
    backend: str, server_for: ServerFor, certs: Certificates, headers: dict[str, str], scheme: str
) -> None:
    server = server_for(native_app(), proxy_headers=True, **tls_settings(certs))
    with httpx.Client(verify=client_context(certs)) as client:
        assert client.get(https(server), headers=headers).json()["scheme"] == scheme


def test_plain_http_says_http_and_has_no_tls(backend: str, server_for: ServerFor) -> None:
    server = server_for(native_app())
    assert httpx.get(server.url + "/").json() == {"scheme": "http", "tls": None}


def test_tls_1_2_with_a_chosen_cipher_reports_its_numbers(
    backend: str, server_for: ServerFor, certs: Certificates
) -> None:
    """ssl_ciphers limits TLS 1.2; the version and suite are the IANA numbers (RFC 5289 §3:
    TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 is 0xC02B)."""
    server = server_for(native_app(), **tls_settings(certs, ssl_ciphers="ECDHE-ECDSA-AES128-GCM-SHA256"))
    context = client_context(certs)
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    with httpx.Client(verify=context) as client:
        seen = client.get(https(server)).json()
    assert (seen["tls"]["tls_version"], seen["tls"]["cipher_suite"]) == (0x0303, 0xC02B)
    context.set_ciphers("ECDHE-ECDSA-AES256-GCM-SHA384")  # not in the server's list
    with pytest.raises(httpx.ConnectError), httpx.Client(verify=context) as client:
        client.get(https(server))


def test_an_asgi_app_sees_https_and_the_tls_extension(backend: str, server_for: ServerFor, certs: Certificates) -> None:
    server = server_for(asgi_app, **tls_settings(certs))
    with httpx.Client(verify=client_context(certs)) as client:
        seen = client.get(https(server)).json()
    assert seen["scheme"] == "https"
    tls = seen["tls"]
    assert set(tls) == {"server_cert", "client_cert_chain", "client_cert_name", "client_cert_error", "tls_version", "cipher_suite"}
    expected_cert = ssl.DER_cert_to_PEM_cert(ssl.PEM_cert_to_DER_cert(certs.server_cert.read_text()))
    assert ssl.PEM_cert_to_DER_cert(tls["server_cert"]) == ssl.PEM_cert_to_DER_cert(expected_cert)
    assert tls["client_cert_chain"] == [] and tls["client_cert_name"] is None and tls["client_cert_error"] is None
    assert tls["tls_version"] == 0x0304 and tls["cipher_suite"] in (0x1301, 0x1302, 0x1303)
    plain = server_for(asgi_app)
    assert httpx.get(plain.url + "/").json() == {"scheme": "http", "tls": None}  # specs/tls.rst: only over TLS


def test_curl_fetches_over_https(backend: str, server_for: ServerFor, certs: Certificates) -> None:
    server = server_for(native_app(), **tls_settings(certs))
    result = subprocess.run(
        ["curl", "-sS", "--cacert", str(certs.ca), "-w", "\n%{http_code} %{ssl_verify_result}", https(server)],
        capture_output=True, text=True, timeout=15,
    )
    body, _, status = result.stdout.rpartition("\n")
    assert status == "200 0", result.stderr
    assert json.loads(body)["scheme"] == "https"


def s_client(port: int, *flags: str, certs: Certificates | None = None) -> subprocess.CompletedProcess[str]:
    trust = ["-CAfile", str(certs.ca), "-verify_return_error"] if certs is not None else []
    return subprocess.run(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername", "localhost", *trust, *flags],
        input="", capture_output=True, text=True, timeout=15,
    )


def test_alpn_offers_only_http_1_1(backend: str, server_for: ServerFor, certs: Certificates) -> None:
    """RFC 7301 §3.2: the server picks http/1.1 from the client's list, and nothing when the
    client offers only protocols it does not speak (here h2: this server is HTTP/1.1 only)."""
    server = server_for(native_app(), **tls_settings(certs))
    chosen = s_client(server.port, "-alpn", "h2,http/1.1", certs=certs)
    assert "ALPN protocol: http/1.1" in chosen.stdout, chosen.stdout + chosen.stderr
    assert "Verify return code: 0 (ok)" in chosen.stdout
    only_h2 = s_client(server.port, "-alpn", "h2", certs=certs)
    assert "No ALPN negotiated" in only_h2.stdout
    assert "ALPN protocol: h2" not in only_h2.stdout


def test_tls_1_1_is_refused_and_the_server_keeps_serving(
    backend: str, server_for: ServerFor, certs: Certificates
) -> None:
    """RFC 8996 §2-3: TLS 1.0 and 1.1 must not be negotiated (SECLEVEL=0 lets this client
    offer them at all)."""
    server = server_for(native_app(), **tls_settings(certs))
    with httpx.Client(verify=client_context(certs)) as client:
        assert client.get(https(server)).status_code == 200  # a connection open across the refusals
        for version in ("-tls1_1", "-tls1"):
            refused = s_client(server.port, version, "-cipher", "DEFAULT@SECLEVEL=0")
            assert refused.returncode != 0
            assert "Cipher is (NONE)" in refused.stdout or "Cipher    : 0000" in refused.stdout, refused.stdout
        assert client.get(https(server)).json()["scheme"] == "https"
    tls12 = s_client(server.port, "-tls1_2", certs=certs)
    assert "Protocol  : TLSv1.2" in tls12.stdout and tls12.returncode == 0


# -- client certificates -------------------------------------------------------------------------


def refused(port: int, context: ssl.SSLContext) -> bool:
    """Whether the server ends the connection without an answer. Under TLS 1.3 the client
    finishes its side of the handshake before the server checks its certificate, so the
    refusal (an alert, RFC 8446 §4.4.2.4) comes with the first read."""
    try:
        answer = tls_exchange(port, context, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    except (ssl.SSLError, ConnectionError):
        return True
    return b"HTTP/1.1" not in answer


def test_a_required_client_certificate(backend: str, server_for: ServerFor, certs: Certificates) -> None:
    server = server_for(native_app(), **tls_settings(certs, ssl_ca_certs=str(certs.ca), ssl_cert_reqs="required"))
    for version in (ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_2):
        anonymous = client_context(certs)
        anonymous.maximum_version = version
        assert refused(server.port, anonymous), f"served without a certificate over {version.name}"
        stranger = client_context(certs, certs.stranger_cert, certs.stranger_key)
        stranger.maximum_version = version
        assert refused(server.port, stranger), f"served a certificate from another CA over {version.name}"
    with httpx.Client(verify=client_context(certs, certs.client_cert, certs.client_key)) as client:
        seen = client.get(https(server)).json()
    assert seen["tls"]["client_cert_name"] == CLIENT_NAME
    assert seen["tls"]["client_subject"] == [
        [["countryName", "FR"]], [["organizationName", "Wirespeed Tests"]], [["commonName", "client-alice"]]
    ]
    sent = ssl.PEM_cert_to_DER_cert(certs.client_cert.read_text())
    assert ssl.PEM_cert_to_DER_cert(seen["tls"]["chain"][0]) == sent


def test_an_optional_client_certificate(backend: str, server_for: ServerFor, certs: Certificates) -> None:
    server = server_for(asgi_app, **tls_settings(certs, ssl_ca_certs=str(certs.ca), ssl_cert_reqs="optional"))
    with httpx.Client(verify=client_context(certs)) as client:
        anonymous = client.get(https(server)).json()["tls"]
    assert (anonymous["client_cert_chain"], anonymous["client_cert_name"]) == ([], None)
    with httpx.Client(verify=client_context(certs, certs.client_cert, certs.client_key)) as client:
        known = client.get(https(server)).json()["tls"]
    assert known["client_cert_name"] == CLIENT_NAME
    assert ssl.PEM_cert_to_DER_cert(known["client_cert_chain"][0]) == ssl.PEM_cert_to_DER_cert(certs.client_cert.read_text())
    assert known["client_cert_error"] is None
    stranger = client_context(certs, certs.stranger_cert, certs.stranger_key)
    assert refused(server.port, stranger)  # optional still checks a certificate that is sent


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ((( ("countryName", "FR"),), (("commonName", "alice"),)), "CN=alice,C=FR"),
        (((("organizationName", "A, B + C"),),), "O=A\\, B \\+ C"),
        (((("commonName", " #lead"),),), "CN=\\ #lead"),
        (((("commonName", "#x"),),), "CN=\\#x"),
        (((("commonName", "trail "),),), "CN=trail\\ "),
        (((("commonName", 'q"<>;\\'),),), 'CN=q\\"\\<\\>\\;\\\\'),
        (((("organizationalUnitName", "a"), ("userId", "b")),), "OU=a+UID=b"),
        (((("emailAddress", "a@b.c"),),), "emailAddress=a@b.c"),
    ],
    ids=["order-rfc4514-2.1", "escape-2.4", "leading-space-2.4", "leading-hash-2.4", "trailing-space-2.4",
         "specials-2.4", "multi-valued-2.2", "no-short-name-2.3"],
)
def test_rfc4514_names(subject: Any, expected: str) -> None:
    assert rfc4514_name(subject) == expected


# -- the handshake timeout and hostile handshakes ------------------------------------------------


@pytest.mark.parametrize("loop", ["uvloop", "asyncio"])
def test_a_client_that_never_says_hello_is_closed_after_the_handshake_timeout(
    backend: str, server_for: ServerFor, certs: Certificates, loop: str
) -> None:
    """Both loops enforce ssl_handshake_timeout themselves (create_server's argument), for a
    client that sends nothing and for one that stops in the middle of its ClientHello."""
    server = server_for(native_app(), loop=loop, **tls_settings(certs, ssl_handshake_timeout=0.5))
    with socket.create_connection(("127.0.0.1", server.port)) as silent, socket.create_connection(
        ("127.0.0.1", server.port)
    ) as stalled:
        started = time.monotonic()
        stalled.sendall(client_hello_record(b"\x03\x03")[:30])
        with httpx.Client(verify=client_context(certs)) as client:  # served meanwhile
            assert client.get(https(server)).json()["scheme"] == "https"
        for sock in (silent, stalled):
            sock.settimeout(5)
            assert sock.recv(100) == b""
            waited = time.monotonic() - started
            assert 0.4 <= waited < 3.0, waited


def client_hello_record(version: bytes) -> bytes:
    """A TLS record holding a bare ClientHello of `version` with one old cipher suite
    (RFC 5246 §7.4.1.2), as a TLS 1.0 or 1.1 client sends it."""
    body = version + os.urandom(32) + b"\x00" + b"\x00\x02\x00\x2f" + b"\x01\x00"
    handshake = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + len(handshake).to_bytes(2, "big") + handshake


HOSTILE_HANDSHAKES = [
    # (id, bytes, whether the client closes its side after them)
    ("plaintext-http-rfc8446-5.1", b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", False),
    ("garbage-rfc8446-5.1", random.Random(7).randbytes(2048), False),
    ("tls1.0-hello-rfc8996-2", client_hello_record(b"\x03\x01"), False),
    ("tls1.1-hello-rfc8996-3", client_hello_record(b"\x03\x02"), False),
    ("oversized-record-rfc8446-5.1", b"\x16\x03\x01\xff\xff" + b"\x00" * 64, False),
    ("truncated-hello-then-eof-rfc8446-4.1.2", client_hello_record(b"\x03\x03")[:20], True),
    ("sslv2-hello-rfc6176", b"\x80\x2e\x01\x00\x02\x00\x15\x00\x00\x00\x10" + b"\x00" * 37, False),
]


@pytest.mark.parametrize(("name", "data", "then_eof"), HOSTILE_HANDSHAKES, ids=[row[0] for row in HOSTILE_HANDSHAKES])
@pytest.mark.parametrize("loop", ["uvloop", "asyncio"])
def test_a_bad_handshake_ends_only_its_connection_quietly(
    backend: str,
    server_for: ServerFor,
    certs: Certificates,
    caplog: pytest.LogCaptureFixture,
    loop: str,
    name: str,
    data: bytes,
    then_eof: bool,
) -> None:
    caplog.set_level(logging.DEBUG)
    server = server_for(native_app(), loop=loop, **tls_settings(certs, ssl_handshake_timeout=2.0))
    with httpx.Client(verify=client_context(certs)) as client:
        assert client.get(https(server)).status_code == 200
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as bad:
            bad.sendall(data)
            if then_eof:
                bad.shutdown(socket.SHUT_WR)
            started = time.monotonic()
            received = b""
            while piece := bad.recv(4096):
                received += piece
        assert time.monotonic() - started < 1.5, "the connection waited for the handshake timeout"
        assert b"HTTP/" not in received  # nothing but, at most, a TLS alert (content type 21)
        assert received[:1] in (b"", b"\x15"), received[:16]
        assert client.get(https(server)).json()["scheme"] == "https"  # the same connection goes on
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.WARNING], [
        r.getMessage() for r in caplog.records if r.exc_info or r.levelno >= logging.WARNING
    ]


def test_handshake_failures_the_loop_reports_become_one_rate_limited_line(
    backend: str, certs: Certificates, caplog: pytest.LogCaptureFixture
) -> None:
    """The asyncio loop in debug mode reports every failed handshake to its exception handler
    (with a traceback at error level); the server's handler makes that one client line, within
    client_error_log_rate, and nothing at warning level or above."""
    caplog.set_level(logging.INFO)
    config = Config(parser=backend, port=0, loop="asyncio", shutdown_timeout=1.0, client_error_log_rate=3, **tls_settings(certs))  # type: ignore[arg-type]
    running = RunningServer(native_app(), config)
    running.loop.set_debug(True)
    running.start()
    assert running.server.state is not None
    client_errors = running.server.state.client_errors
    client_errors._clock = lambda: 0.0  # one window of the rate limit, however slow the machine
    try:
        for _ in range(8):
            with socket.create_connection(("127.0.0.1", running.port), timeout=5) as bad:
                bad.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                while bad.recv(4096):
                    pass
        with httpx.Client(verify=client_context(certs)) as client:
            assert client.get(https(running)).status_code == 200
    finally:
        running.stop()
    lines = [r.getMessage() for r in caplog.records if r.name == "wirespeed.client"]
    assert len(lines) == 3, lines  # client_error_log_rate lines, and the other 5 held back
    assert client_errors._held_back == 5
    assert all(line == "TLS handshake with a client failed: HTTP_REQUEST" for line in lines), lines
    loud = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert not loud, [r.getMessage() for r in loud]


# -- file bodies: copied through the TLS transport, never sendfile -------------------------------


@pytest.fixture
def sendfile_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The bytes each os.sendfile call of the process sent (the real call, counted)."""
    calls: list[int] = []
    real = os.sendfile

    def counted(out_fd: int, in_fd: int, offset: int | None, count: int) -> int:
        sent = real(out_fd, in_fd, offset, count)
        calls.append(sent)
        return sent

    monkeypatch.setattr(os, "sendfile", counted)
    return calls


def test_large_files_and_ranges_come_through_tls_intact_without_sendfile(
    backend: str, server_for: ServerFor, certs: Certificates, tmp_path: Path, sendfile_calls: list[int]
) -> None:
    data = random.Random(11).randbytes(6 * MiB + 12345)
    (tmp_path / "big.bin").write_bytes(data)
    app = native_app()
    app.static("/static", tmp_path)
    server = server_for(app, **tls_settings(certs))
    with httpx.Client(verify=client_context(certs), timeout=30) as client:
        whole = client.get(https(server, "/static/big.bin"))
        assert whole.status_code == 200
        assert hashlib.sha256(whole.content).hexdigest() == hashlib.sha256(data).hexdigest()
        part = client.get(https(server, "/static/big.bin"), headers={"Range": "bytes=1000000-4999999"})
        assert part.status_code == 206
        assert hashlib.sha256(part.content).hexdigest() == hashlib.sha256(data[1000000:5000000]).hexdigest()
        parts = client.get(https(server, "/static/big.bin"), headers={"Range": "bytes=0-9,-10"})
        assert parts.status_code == 206 and b"multipart/byteranges" in parts.headers["content-type"].encode()
        assert data[:10] in parts.content and data[-10:] in parts.content
        assert client.get(https(server)).json()["scheme"] == "https"  # the stream is still good after them
    assert sendfile_calls == [], f"sendfile wrote {sum(sendfile_calls)} bytes past the TLS layer"
    # The same file over plain HTTP does go out with sendfile: the count above can see it.
    plain = server_for(app)
    assert hashlib.sha256(httpx.get(plain.url + "/static/big.bin", timeout=30).content).digest() == hashlib.sha256(data).digest()
    assert sum(sendfile_calls) >= len(data) - 64 * 1024


@pytest.mark.slow
@pytest.mark.skipif(STRACE is None, reason="strace is not installed (make test must install it)")
def test_under_strace_a_file_over_tls_makes_no_sendfile_call(backend: str, certs: Certificates, tmp_path: Path) -> None:
    """The process itself, traced: a 4 MiB file over TLS is written (encrypted) through the
    transport, and not one sendfile(2) call is made."""
    assert STRACE is not None
    data = random.Random(13).randbytes(4 * MiB)
    root = tmp_path / "www"
    root.mkdir()
    (root / "big.bin").write_bytes(data)
    trace = tmp_path / "trace.txt"
    port = free_port()
    process, _ = start_cli(
        "--static", str(root), "--port", str(port), "--parser", backend,
        "--ssl-certfile", str(certs.server_cert), "--ssl-keyfile", str(certs.server_key),
        wrapper=[STRACE, "-f", "-qq", "-s", "0", "-e", "signal=none", "-e", "trace=sendfile,write,writev,sendto,sendmsg", "-o", str(trace)],
        timeout=20,
    )
    try:
        fetched = subprocess.run(
            ["curl", "-sS", "--fail", "--cacert", str(certs.ca), f"https://127.0.0.1:{port}/big.bin"],
            capture_output=True, timeout=30,
        )
        assert fetched.returncode == 0, fetched.stderr
        assert hashlib.sha256(fetched.stdout).digest() == hashlib.sha256(data).digest()
    finally:
        assert stop_cli(process, child_pid(process.pid)) == 0
    calls = traced_bytes(trace.read_text())
    assert "sendfile" not in calls, f"sendfile carried {sum(calls['sendfile'])} bytes"
    assert sum(sum(calls.get(call, [])) for call in ("write", "writev", "sendto", "sendmsg")) > len(data)


# -- WebSockets over TLS -------------------------------------------------------------------------


async def test_wss_echoes_through_a_native_handler(backend: str, server_for: ServerFor, certs: Certificates) -> None:
    server = server_for(native_app(), **tls_settings(certs))
    async with ws_connect(f"wss://localhost:{server.port}/ws", ssl=client_context(certs)) as ws:
        for message in ("hello", "x" * 200_000):
            await ws.send(message)
            assert await asyncio.wait_for(ws.recv(), 10) == f"https:{message}"


async def test_wss_scope_says_wss_with_the_tls_extension(backend: str, server_for: ServerFor, certs: Certificates) -> None:
    server = server_for(asgi_app, **tls_settings(certs, ssl_ca_certs=str(certs.ca), ssl_cert_reqs="optional"))
    context = client_context(certs, certs.client_cert, certs.client_key)
    async with ws_connect(f"wss://localhost:{server.port}/ws", ssl=context) as ws:
        seen = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert seen["scheme"] == "wss"
    assert seen["tls"]["client_cert_name"] == CLIENT_NAME and seen["tls"]["tls_version"] == 0x0304


# -- settings ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"ssl_keyfile": "k.pem"}, "ssl_keyfile needs ssl_certfile"),
        ({"ssl_keyfile_password": "x"}, "ssl_keyfile_password needs ssl_certfile"),
        ({"ssl_cert_reqs": "required"}, "ssl_cert_reqs needs ssl_certfile"),
        ({"ssl_certfile": "c.pem", "ssl_cert_reqs": "required"}, "needs ssl_ca_certs"),
        ({"ssl_certfile": "c.pem", "ssl_cert_reqs": "optional"}, "needs ssl_ca_certs"),
        ({"ssl_certfile": "c.pem", "ssl_ca_certs": "ca.pem"}, "only with ssl_cert_reqs optional or required"),
        ({"ssl_certfile": "c.pem", "ssl_cert_reqs": "sometimes"}, "unknown ssl_cert_reqs"),
        ({"ssl_certfile": "c.pem", "ssl_handshake_timeout": 0}, "ssl_handshake_timeout must be positive"),
        ({"ssl_certfile": "c.pem", "ssl_ciphers": " "}, "ssl_ciphers must not be empty"),
        ({"ssl_certfile": ""}, "ssl_certfile must name a file"),
    ],
)
def test_inconsistent_tls_settings_are_refused(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Config(**settings)


def test_unusable_files_are_one_clear_error(certs: Certificates) -> None:
    cases = [
        ({"ssl_keyfile": "/nonexistent/key.pem"}, "cannot read the key /nonexistent/key.pem: no such file"),
        ({"ssl_keyfile": str(certs.client_key)}, "key values mismatch"),
        ({"ssl_keyfile": str(certs.server_key_encrypted)}, "is encrypted: its password is needed"),
        ({"ssl_keyfile": str(certs.server_key_encrypted), "ssl_keyfile_password": "wrong"}, "a wrong password"),
        ({"ssl_ciphers": "NOT-A-CIPHER"}, "no cipher of the list"),
        ({"ssl_ca_certs": str(certs.server_key), "ssl_cert_reqs": "required"}, "cannot use the CA certificates"),
    ]
    for settings, message in cases:
        config = Config(ssl_certfile=str(certs.server_cert), **{"ssl_keyfile": str(certs.server_key), **settings})
        with pytest.raises(TLSSetupError, match=message):
            server_tls(config)
    good = Config(ssl_certfile=str(certs.server_cert), ssl_keyfile=str(certs.server_key_encrypted), ssl_keyfile_password=KEY_PASSWORD)
    assert server_tls(good) is not None


# -- the CLI -------------------------------------------------------------------------------------


def curl_https(port: int, certs: Certificates, path: str = "/") -> str:
    result = subprocess.run(
        ["curl", "-sS", "--fail", "--cacert", str(certs.ca), f"https://127.0.0.1:{port}{path}"],
        capture_output=True, text=True, timeout=15,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_cli_serves_https_to_curl(backend: str, certs: Certificates) -> None:
    port = free_port()
    process, line = start_cli(
        "--port", str(port), "--parser", backend, "--ssl-certfile", str(certs.server_cert),
        "--ssl-keyfile", str(certs.server_key_encrypted), "--ssl-keyfile-password", KEY_PASSWORD,
    )
    try:
        assert f"serving on https://127.0.0.1:{port}" in line
        assert "wirespeed" in curl_https(port, certs)  # the demo's page
        assert json.loads(curl_https(port, certs, "/users/7")) == {"user_id": "7"}
    finally:
        assert stop_cli(process) == 0


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (("--ssl-keyfile", "/nonexistent/key.pem"), "cannot read the key /nonexistent/key.pem: no such file or directory"),
        (("--ssl-keyfile", "{encrypted}", "--ssl-keyfile-password", "wrong"), "a wrong password"),
        (("--ssl-keyfile", "{key}", "--ssl-cert-reqs", "required"), "needs ssl_ca_certs"),
    ],
    ids=["missing-key", "wrong-password", "required-without-ca"],
)
def test_the_cli_fails_in_one_line_on_unusable_tls_files(
    certs: Certificates, flags: tuple[str, ...], message: str
) -> None:
    args = [flag.format(encrypted=certs.server_key_encrypted, key=certs.server_key) for flag in flags]
    result = subprocess.run(
        [sys.executable, "-m", "wirespeed", "--port", str(free_port()), "--ssl-certfile", str(certs.server_cert), *args],
        capture_output=True, text=True, timeout=20,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("wirespeed: error: ") and message in lines[0], result.stderr
    assert "Traceback" not in result.stderr + result.stdout


PID_APP = '''
import os
from wirespeed import App

app = App()


@app.get("/")
def pid(request):
    return f"{request.scheme} {os.getpid()}"
'''


def test_two_workers_serve_https(backend: str, certs: Certificates, tmp_path: Path) -> None:
    (tmp_path / "pid_app.py").write_text(PID_APP)
    port = free_port()
    process, line = start_cli(
        "pid_app:app", "--port", str(port), "--parser", backend, "--workers", "2",
        "--ssl-certfile", str(certs.server_cert), "--ssl-keyfile", str(certs.server_key), cwd=tmp_path,
    )
    try:
        assert "serving on https://" in line
        context = client_context(certs)
        pids: set[str] = set()
        deadline = time.monotonic() + 15
        while len(pids) < 2 and time.monotonic() < deadline:
            answer = tls_exchange(port, context, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            scheme, pid = answer.rpartition(b"\r\n\r\n")[2].decode().split()
            assert scheme == "https"
            pids.add(pid)
        assert len(pids) == 2, f"only worker(s) {pids} answered"
    finally:
        assert stop_cli(process) == 0
