"""The PROXY protocol behind a real HAProxy (Debian's package, `make system-deps`): HAProxy in TCP
mode in front of a live wirespeed server with --proxy-protocol, one frontend sending version 1
(`send-proxy`), one version 2 with a CRC32C and a UNIQUE_ID TLV (`send-proxy-v2`,
`proxy-v2-options`), and health checks on (which HAProxy sends with a header of their own).
curl and httpx go through it, and the app must see the client as HAProxy saw it: the
client's own address and source port."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from processes import free_port, wait_until
from wirespeed import App, Request

HAPROXY_BINARY = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin:/usr/local/sbin")
pytestmark = pytest.mark.skipif(HAPROXY_BINARY is None, reason="haproxy is not installed (make system-deps)")

HAPROXY_CONFIG = """\
global
    maxconn 64

defaults
    mode tcp
    timeout connect 5s
    timeout client 10s
    timeout server 10s

frontend proxy_v1
    bind 127.0.0.1:{v1_port}
    default_backend wirespeed_v1

frontend proxy_v2
    bind 127.0.0.1:{v2_port}
    unique-id-format %{{+X}}o\\ %ci:%cp_%fi:%fp_%Ts_%rt
    default_backend wirespeed_v2

backend wirespeed_v1
    option httpchk GET /health
    server s1 127.0.0.1:{server_port} send-proxy check inter 200ms

backend wirespeed_v2
    option httpchk GET /health
    server s1 127.0.0.1:{server_port} send-proxy-v2 proxy-v2-options crc32c,unique-id check inter 200ms
"""


class Recorder:
    """The app: /whoami answers with the client it sees; every request's client is kept."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, Any]] = []
        self.lock = threading.Lock()
        self.app = App()

        @self.app.get("/whoami")
        def whoami(request: Request) -> dict[str, Any]:
            self.record("/whoami", request.client)
            return {"client": request.client}

        @self.app.get("/health")
        def health(request: Request) -> str:
            self.record("/health", request.client)
            return "ok"

    def record(self, path: str, client: Any) -> None:
        with self.lock:
            self.seen.append((path, client))

    def health_checks(self) -> list[Any]:
        with self.lock:
            return [client for path, client in self.seen if path == "/health"]


class HAProxy:
    def __init__(self, server_port: int, directory: Path, template: str = HAPROXY_CONFIG) -> None:
        self.v1_port = free_port()
        self.v2_port = free_port()
        config = directory / "haproxy.cfg"
        config.write_text(template.format(v1_port=self.v1_port, v2_port=self.v2_port, server_port=server_port))
        self.process = subprocess.Popen(
            [str(HAPROXY_BINARY), "-f", str(config), "-db"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )

    def stop(self) -> str:
        self.process.terminate()
        try:
            output, _ = self.process.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            output, _ = self.process.communicate(timeout=5)
        return output


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
    except OSError:
        return False
    return True


@pytest.fixture
def behind_haproxy(server_for: Any, tmp_path: Path) -> Iterator[tuple[Recorder, HAProxy]]:
    recorder = Recorder()
    server = server_for(recorder.app, proxy_protocol=True)
    haproxy = HAProxy(server.port, tmp_path)
    try:
        started = wait_until(lambda: listening(haproxy.v1_port) and listening(haproxy.v2_port), 10)
        assert started, haproxy.stop()
        yield recorder, haproxy
    finally:
        haproxy.stop()


def curl(port: int) -> tuple[Any, int]:
    """GET /whoami with curl: the answer and curl's own source port."""
    result = subprocess.run(
        ["curl", "-sS", "--max-time", "5", "-w", "\\n%{local_port}", f"http://127.0.0.1:{port}/whoami"],
        capture_output=True,
        text=True,
        check=True,
    )
    body, _, local_port = result.stdout.rpartition("\n")
    return json.loads(body), int(local_port)


def test_curl_through_haproxy_v1_and_v2(behind_haproxy: tuple[Recorder, HAProxy]) -> None:
    _, haproxy = behind_haproxy
    for port in (haproxy.v1_port, haproxy.v2_port):
        for _ in range(2):
            answer, local_port = curl(port)
            assert answer == {"client": ["127.0.0.1", local_port]}


def test_httpx_keep_alive_through_haproxy_v2(behind_haproxy: tuple[Recorder, HAProxy]) -> None:
    _, haproxy = behind_haproxy
    with httpx.Client(base_url=f"http://127.0.0.1:{haproxy.v2_port}", timeout=5) as client:
        clients = []
        for _ in range(3):
            response = client.get("/whoami")
            assert response.status_code == 200
            stream = response.extensions["network_stream"]
            local_port = stream.get_extra_info("socket").getsockname()[1]
            clients.append(response.json()["client"])
            assert clients[-1] == ["127.0.0.1", local_port]
    assert len({tuple(seen) for seen in clients}) == 1  # one connection, kept alive through HAProxy


def test_haproxy_health_checks_are_served(behind_haproxy: tuple[Recorder, HAProxy]) -> None:
    """HAProxy's checks come with a PROXY header of their own (v2: the LOCAL command, which
    keeps the real peer), which wirespeed reads like any other: the checks reach the app."""
    recorder, _ = behind_haproxy
    assert wait_until(lambda: len(recorder.health_checks()) >= 4, 5), recorder.seen
    for client in recorder.health_checks():
        assert client is not None and client[0] == "127.0.0.1"


def test_haproxy_headers_as_sent_read_by_both_parsers(tmp_path: Path) -> None:
    """HAProxy's own bytes, captured by a plain listener in wirespeed's place: the Rust parser
    and the twin read the same source (the client's address and port) from its v1 header and
    from its v2 header with the CRC32C it computed and a UNIQUE_ID."""
    from wirespeed import proxy_protocol

    parsers = [proxy_protocol.parse_proxy_header]
    try:
        from wirespeed._parser import parse_proxy_header
    except ImportError:
        pass
    else:
        parsers.append(parse_proxy_header)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.settimeout(5)
        capture_config = HAPROXY_CONFIG.replace(" check inter 200ms", "")
        haproxy = HAProxy(listener.getsockname()[1], tmp_path, capture_config)
        try:
            assert wait_until(lambda: listening(haproxy.v1_port) and listening(haproxy.v2_port), 10), haproxy.stop()
            for port, signature in ((haproxy.v1_port, b"PROXY TCP4 "), (haproxy.v2_port, b"\r\n\r\n\x00\r\nQUIT\n")):
                with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
                    client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                    data = forwarded_request(listener)
                    source = list(client.getsockname())
                    destination = ["127.0.0.1", port]
                assert data.startswith(signature)
                verdicts = [parse(data) for parse in parsers]
                assert all(verdict == verdicts[0] for verdict in verdicts)
                consumed, seen_source, seen_destination = verdicts[0]
                assert [list(seen_source), list(seen_destination)] == [source, destination]
                assert data[consumed:] == b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
                if port == haproxy.v2_port:
                    tlv_types = tlv_kinds(data[28:consumed])
                    assert 0x03 in tlv_types and 0x05 in tlv_types, tlv_types  # CRC32C, UNIQUE_ID
        finally:
            haproxy.stop()


def tlv_kinds(tlvs: bytes) -> list[int]:
    kinds = []
    while tlvs:
        kinds.append(tlvs[0])
        tlvs = tlvs[3 + int.from_bytes(tlvs[1:3], "big") :]
    return kinds


def forwarded_request(listener: socket.socket) -> bytes:
    """What HAProxy sends on the next connection that carries a request (the connections of
    the readiness probes carry a header and end, closed or reset: HAProxy resets the server side
    of a connection whose client left)."""
    while True:
        accepted, _ = listener.accept()
        with accepted:
            accepted.settimeout(5)
            data = b""
            while not data.endswith(b"\r\n\r\n"):
                try:
                    piece = accepted.recv(4096)
                except ConnectionResetError:
                    break
                if not piece:
                    break
                data += piece
        if data.endswith(b"\r\n\r\n"):
            return data
