"""wirespeed behind a real nginx (Debian's package), with proxy headers on.

Each test starts nginx in the foreground on ephemeral ports (plain HTTP and TLS, with a
certificate made for the test), configured from tests/nginx_proxy.conf: proxy_pass over
HTTP/1.1 with keep-alive connections to wirespeed, which listens on 127.0.0.1 or on a Unix
socket the test binds itself. Clients (httpx, curl) connect to nginx from 127.0.0.2, so the
address the app reports can only be the real client's if the proxy headers were read, and
only be nginx's (127.0.0.1) or nothing (a Unix socket) if they were not.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_apps import proxy_view_app
from conftest import RunningServer
from http_wire import Connection
from processes import free_port
from wirespeed import App, Config, Request, StreamingResponse, WebSocket

TEMPLATE = Path(__file__).with_name("nginx_proxy.conf")
NGINX = shutil.which("nginx") or next((path for path in ("/usr/sbin/nginx",) if os.access(path, os.X_OK)), None)
CLIENT = "127.0.0.2"  # where the clients connect from: not in any trust list of these tests

pytestmark = pytest.mark.skipif(NGINX is None, reason="nginx is not installed (make system-deps installs it)")


class Nginx:
    """One nginx in the foreground under its own prefix, proxying to `upstream`."""

    def __init__(self, prefix: Path, upstream: str, certificate: tuple[Path, Path]) -> None:
        assert NGINX is not None
        self.prefix = prefix
        self.port = free_port()
        self.tls_port = free_port()
        compiled = subprocess.run([NGINX, "-V"], capture_output=True, text=True, timeout=10, check=False).stderr
        temp_paths = [
            f"    {module}_temp_path {prefix}/{module};"
            for module in ("proxy", "fastcgi", "uwsgi", "scgi")
            if f"--without-http_{module}_module" not in compiled
        ]
        text = (
            TEMPLATE.read_text()
            .replace("@USER@", "user root root;" if os.geteuid() == 0 else "")
            .replace("@PREFIX@", str(prefix))
            .replace("@TEMP_PATHS@", "\n".join(temp_paths))
            .replace("@UPSTREAM@", upstream)
            .replace("@PORT@", str(self.port))
            .replace("@TLS_PORT@", str(self.tls_port))
        )
        (prefix / "client_body").mkdir(parents=True, exist_ok=True)
        shutil.copy(certificate[0], prefix / "cert.pem")
        shutil.copy(certificate[1], prefix / "key.pem")
        conf = prefix / "nginx.conf"
        conf.write_text(text)
        self.process = subprocess.Popen(
            [
                NGINX,
                "-p",
                str(prefix),
                "-c",
                str(conf),
                "-e",
                str(prefix / "error.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 10
        while not (self._accepts(self.port) and self._accepts(self.tls_port)):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"nginx did not start: {self.errors()}")
            time.sleep(0.02)

    @staticmethod
    def _accepts(port: int) -> bool:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except OSError:
            return False
        return True

    def errors(self) -> str:
        log = self.prefix / "error.log"
        return log.read_text() if log.exists() else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # SIGTERM: nginx's fast shutdown
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        if self.process.stderr is not None:
            self.process.stderr.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def tls_url(self) -> str:
        return f"https://127.0.0.1:{self.tls_port}"


@pytest.fixture(scope="module")
def certificate() -> Iterator[tuple[Path, Path]]:
    """A self-signed certificate for nginx's TLS listener, made for this run."""
    folder = Path(tempfile.mkdtemp(prefix="wsng-cert-"))
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1"],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    yield cert, key
    shutil.rmtree(folder, ignore_errors=True)


class Stack:
    """nginx in front of a wirespeed server."""

    def __init__(self, nginx: Nginx, server: RunningServer) -> None:
        self.nginx = nginx
        self.server = server


@pytest.fixture
def behind_nginx(backend: str, certificate: tuple[Path, Path]) -> Iterator[Callable[..., Stack]]:
    """`behind_nginx(app, upstream, **config)`: wirespeed serving `app` on the current backend,
    over TCP (`upstream` "tcp") or a Unix socket ("unix"), with nginx in front of it."""
    started: list[tuple[Nginx, RunningServer, Path]] = []

    def start(app: Any, upstream: str, **settings: Any) -> Stack:
        folder = Path(tempfile.mkdtemp(prefix="wsng-"))  # short: a Unix socket path has ~100 bytes
        config = Config(parser=backend, port=0, shutdown_timeout=2.0, proxy_headers=True, **settings)  # type: ignore[arg-type]
        if upstream == "unix":
            path = folder / "wirespeed.sock"
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.bind(str(path))
            server = RunningServer(app, config, sock=sock).start()
            target = f"unix:{path}"
        else:
            server = RunningServer(app, config).start()
            target = f"127.0.0.1:{server.port}"
        try:
            nginx = Nginx(folder / "nginx", target, certificate)
        except BaseException:
            server.stop()
            raise
        started.append((nginx, server, folder))
        return Stack(nginx, server)

    yield start
    for nginx, server, folder in started:
        nginx.stop()
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


# -- the apps: they say what they see
def native_app() -> App:
    app = App()
    connections: set[Any] = set()  # every connection a request came on (kept, so each is counted once)

    @app.get("/")
    def index(request: Request) -> dict[str, Any]:
        connections.add(request._connection)
        return {
            "client": request.client,
            "scheme": request.scheme,
            "host": request.host,
            "xff": request.headers.get("x-forwarded-for"),
            "forwarded": request.headers.get("forwarded"),
            "connections": len(connections),
        }

    @app.route("/upload", methods=("POST",))
    async def upload(request: Request) -> dict[str, Any]:
        size = 0
        digest = hashlib.sha256()
        async for piece in request.stream():
            size += len(piece)
            digest.update(piece)
        return {"size": size, "sha256": digest.hexdigest(), "client": request.client}

    @app.get("/stream")
    def stream(request: Request) -> StreamingResponse:
        async def pieces() -> Any:
            for index in range(40):
                await asyncio.sleep(0)
                yield bytes([65 + index % 26]) * 8192

        return StreamingResponse(pieces(), content_type="application/octet-stream")

    @app.websocket("/ws")
    async def echo(ws: WebSocket) -> None:
        await ws.accept()
        request = ws.request
        await ws.send(json.dumps({"client": request.client, "scheme": request.scheme}))
        async for message in ws:
            await ws.send(message)

    return app


APPS: dict[str, Callable[[], Any]] = {"native": native_app, "asgi": lambda: proxy_view_app}
# The trust list that includes nginx's side of the upstream connection, and one that does not.
TRUSTING = {"tcp": "127.0.0.1", "unix": "unix"}
NOT_TRUSTING = {"tcp": "10.0.0.0/8, unix", "unix": "127.0.0.1"}


def client(local_address: str = CLIENT) -> httpx.Client:
    return httpx.Client(
        transport=httpx.HTTPTransport(local_address=local_address, verify=False),
        timeout=10,
    )


def curl(url: str, *options: str) -> dict[str, Any]:
    result = subprocess.run(
        ["curl", "-sSk", "--fail", "--interface", CLIENT, *options, url],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


@pytest.mark.parametrize("kind", sorted(APPS))
@pytest.mark.parametrize("upstream", ["tcp", "unix"])
def test_the_app_sees_the_real_client_and_scheme(behind_nginx: Callable[..., Stack], upstream: str, kind: str) -> None:
    stack = behind_nginx(APPS[kind](), upstream, forwarded_allow_ips=TRUSTING[upstream])
    nginx = stack.nginx
    with client() as http:
        # The client's own X-Forwarded-For is a lie nginx passes on (appending the truth).
        seen = http.get(nginx.url + "/", headers={"X-Forwarded-For": "203.0.113.66"}).json()
    assert seen["client"][0] == CLIENT
    assert seen["scheme"] == "http"
    assert seen["host"] == f"127.0.0.1:{nginx.port}"
    assert seen["xff"] == f"203.0.113.66, {CLIENT}"  # visible to the app as nginx sent it
    assert seen["forwarded"] == f"for={CLIENT};proto=http"
    secure = curl(nginx.tls_url + "/", "-H", "Forwarded: for=198.51.100.1")  # nginx replaces this one
    assert secure["client"][0] == CLIENT
    assert secure["scheme"] == "https"
    assert secure["host"] == f"127.0.0.1:{nginx.tls_port}"


@pytest.mark.parametrize("kind", sorted(APPS))
@pytest.mark.parametrize("upstream", ["tcp", "unix"])
def test_a_proxy_outside_the_trust_list_is_not_believed(
    behind_nginx: Callable[..., Stack], upstream: str, kind: str
) -> None:
    stack = behind_nginx(APPS[kind](), upstream, forwarded_allow_ips=NOT_TRUSTING[upstream])
    secure = curl(stack.nginx.tls_url + "/")
    if upstream == "tcp":
        assert secure["client"][0] == "127.0.0.1"  # nginx's side of the connection
    else:
        assert secure["client"] is None  # a Unix-socket peer has no address
    assert secure["scheme"] == "http"  # the connection's own: plain HTTP from nginx
    assert secure["xff"] == CLIENT and secure["forwarded"] == f"for={CLIENT};proto=https"  # there, not used


@pytest.mark.parametrize("upstream", ["tcp", "unix"])
def test_keep_alive_upstream_connections_carry_many_clients(behind_nginx: Callable[..., Stack], upstream: str) -> None:
    """nginx sends the requests of four clients over its kept-alive connections to wirespeed:
    each request reports its own client, and the connections are few."""
    stack = behind_nginx(native_app(), upstream, forwarded_allow_ips=TRUSTING[upstream])
    addresses = [f"127.0.0.{n}" for n in range(2, 6)]
    clients = [client(address) for address in addresses]
    try:
        seen = []
        for _ in range(30):
            for address, http in zip(addresses, clients):
                seen.append((address, http.get(stack.nginx.url + "/").json()))
    finally:
        for http in clients:
            http.close()
    assert all(answer["client"][0] == address for address, answer in seen)
    assert len(seen) == 120
    assert seen[-1][1]["connections"] <= 2  # one nginx worker, requests one at a time: one connection


@pytest.mark.parametrize("upstream", ["tcp", "unix"])
def test_a_request_body_and_a_streamed_response_through_nginx(
    behind_nginx: Callable[..., Stack], upstream: str
) -> None:
    stack = behind_nginx(native_app(), upstream, forwarded_allow_ips=TRUSTING[upstream])
    body = os.urandom(3 * 1024 * 1024 + 7)
    with client() as http:
        uploaded = http.post(stack.nginx.url + "/upload", content=body).json()
        streamed = http.get(stack.nginx.url + "/stream")
        chunked = http.post(
            stack.nginx.url + "/upload",
            content=iter([body[:100_000], body[100_000:200_000]]),
        ).json()
    assert uploaded == {
        "size": len(body),
        "sha256": hashlib.sha256(body).hexdigest(),
        "client": [CLIENT, 0],
    }
    assert streamed.status_code == 200
    assert streamed.content == b"".join(bytes([65 + index % 26]) * 8192 for index in range(40))
    assert chunked["size"] == 200_000 and chunked["client"] == [CLIENT, 0]


@pytest.mark.parametrize("upstream", ["tcp", "unix"])
def test_bad_input_through_nginx_is_answered(
    behind_nginx: Callable[..., Stack], upstream: str, caplog: pytest.LogCaptureFixture
) -> None:
    """What wirespeed refuses reaches the client through nginx with wirespeed's answer; its log
    line names nginx's side of the connection (the TCP peer), not the client the headers name;
    and everyone else is still served."""
    stack = behind_nginx(
        native_app(),
        upstream,
        forwarded_allow_ips=TRUSTING[upstream],
        max_body_size=1000,
        max_headers=30,
    )
    url = stack.nginx.url
    with caplog.at_level("INFO", logger="wirespeed.client"), client() as http:
        too_large = http.post(url + "/upload", content=b"x" * 5000)
        too_many = http.get(url + "/", headers={f"X-Extra-{n}": "1" for n in range(40)})
        hostile = http.get(
            url + "/",
            headers={
                "X-Forwarded-For": "<script>, 999.1.1.1",
                "Forwarded": 'for="[::1',
            },
        )
        after = http.get(url + "/").json()
    assert too_large.status_code == 413 and b"body" in too_large.content.lower()
    assert too_many.status_code == 431
    assert hostile.status_code == 200 and hostile.json()["client"][0] == CLIENT
    assert after["client"][0] == CLIENT
    lines = [record.getMessage() for record in caplog.records if record.name == "wirespeed.client"]
    assert len(lines) >= 2, lines
    assert not any(CLIENT in line for line in lines), lines
    if upstream == "tcp":
        assert all("127.0.0.1" in line for line in lines), lines
    # Garbage straight to nginx is nginx's to answer; the path through it still works after.
    with Connection(stack.nginx.port) as raw:
        raw.send(b"GET / HTTP/1.1\r\nHost: a\r\nBad Field\r\n\r\n")
        assert raw.read_response().status == 400
    with client() as http:
        assert http.get(url + "/").json()["client"][0] == CLIENT


@pytest.mark.parametrize("upstream", ["tcp", "unix"])
def test_websockets_through_nginx(behind_nginx: Callable[..., Stack], upstream: str) -> None:
    """nginx passes the Upgrade on (the README's `map $http_upgrade`): the WebSocket is opened
    through it, plain and over TLS, messages are echoed, and the app knows the real client; a
    plain request on the same nginx still reuses a kept-alive upstream connection."""
    import ssl

    from websockets.sync.client import connect

    stack = behind_nginx(native_app(), upstream, forwarded_allow_ips=TRUSTING[upstream])
    insecure = ssl.create_default_context()
    insecure.check_hostname = False
    insecure.verify_mode = ssl.CERT_NONE
    for url, scheme, tls in (
        (f"ws://127.0.0.1:{stack.nginx.port}/ws", "http", None),
        (f"wss://127.0.0.1:{stack.nginx.tls_port}/ws", "https", insecure),
    ):
        with connect(url, ssl=tls, source_address=(CLIENT, 0), open_timeout=10) as ws:
            seen = json.loads(ws.recv(timeout=10))
            assert seen["client"][0] == CLIENT and seen["scheme"] == scheme
            for message in ("hello", b"\x00\x01binary", "x" * 70_000):
                ws.send(message)
                assert ws.recv(timeout=10) == message
    with client() as http:
        assert http.get(stack.nginx.url + "/").json()["client"][0] == CLIENT
