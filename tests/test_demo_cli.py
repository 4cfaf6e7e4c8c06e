"""The demo and the command line, as a user meets them: a real `wirespeed` process, curl, httpx."""

from __future__ import annotations

import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

import wirespeed
from processes import free_port, start_cli, stop_cli

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def demo(backend: str) -> Iterator[str]:
    port = free_port()
    process, line = start_cli("--port", str(port), "--parser", backend)
    assert f"http://127.0.0.1:{port}" in line
    assert f"parser: {backend}" in line
    assert "loop: uvloop" in line
    yield f"http://127.0.0.1:{port}"
    assert stop_cli(process) == 0


def test_demo_with_httpx(demo: str) -> None:
    with httpx.Client(base_url=demo) as client:
        home = client.get("/")
        assert home.status_code == 200
        assert home.headers["content-type"] == "text/html; charset=utf-8"
        assert "<h1>wirespeed</h1>" in home.text
        user = client.get("/users/42")
        assert user.status_code == 200
        assert user.json() == {"user_id": "42"}
        assert user.headers["content-type"] == "application/json"
        css = client.get("/static/style.css")
        assert css.status_code == 200
        assert css.headers["content-type"] == "text/css; charset=utf-8"
        assert css.content == (ROOT / "python/wirespeed/demo_static/style.css").read_bytes()
        cached = client.get("/static/style.css", headers={"If-None-Match": css.headers["etag"]})
        assert cached.status_code == 304
        missing = client.get("/nope")
        assert missing.status_code == 404
        assert missing.text == "404 Not Found"
        assert missing.headers["content-type"] == "text/plain; charset=utf-8"
        outside = client.get("/static/%2e%2e/demo.py")
        assert outside.status_code == 404
    with connect(demo.replace("http", "ws") + "/ws/echo") as websocket:
        websocket.send("echo me")
        assert websocket.recv() == "echo me"
        websocket.send(b"\x00\xff")
        assert websocket.recv() == b"\x00\xff"


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed (make test installs it)")
def test_demo_with_curl(demo: str) -> None:
    result = subprocess.run(["curl", "-sS", "-i", f"{demo}/users/42"], capture_output=True, timeout=10, check=True)
    head, _, body = result.stdout.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK")
    assert body == b'{"user_id":"42"}'
    result = subprocess.run(
        ["curl", "-sS", "-w", "%{http_code}:%{num_connects} ", "-o", "/dev/null", f"{demo}/static/hello.txt", "-o", "/dev/null", f"{demo}/missing"],
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    )
    # Two requests over one kept-alive connection: the second makes no new connection.
    assert result.stdout == "200:1 404:0 "


def test_bad_app_path_is_one_line_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "wirespeed", "no_such_module:app"], capture_output=True, text=True, timeout=30
    )
    assert result.returncode != 0
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "cannot import module 'no_such_module'" in result.stderr
    (tmp_path / "notapp.py").write_text("app = 42\n")
    result = subprocess.run(
        [sys.executable, "-m", "wirespeed", "notapp:app"], capture_output=True, text=True, timeout=30, cwd=tmp_path
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "not a wirespeed.App" in result.stderr


def test_port_in_use_is_one_line_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "wirespeed", "--port", str(port)], capture_output=True, text=True, timeout=30
        )
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if "error" in line]
    assert errors == [f"wirespeed: error: cannot listen on 127.0.0.1:{port}: address already in use"], result.stderr


def test_user_app_module(tmp_path: Path, backend: str) -> None:
    (tmp_path / "service.py").write_text(
        "import wirespeed\n"
        "app = wirespeed.App()\n"
        "@app.get('/ping')\n"
        "async def ping(request):\n"
        "    return {'pong': True}\n"
    )
    port = free_port()
    process, _ = start_cli("service:app", "--port", str(port), "--parser", backend, cwd=tmp_path)
    try:
        assert httpx.get(f"http://127.0.0.1:{port}/ping").json() == {"pong": True}
    finally:
        assert stop_cli(process) == 0


def test_environment_selects_parser(tmp_path: Path) -> None:
    port = free_port()
    env = dict(os.environ, WIRESPEED_PARSER="httptools")
    process = subprocess.Popen(
        [sys.executable, "-m", "wirespeed", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    try:
        assert "parser: httptools" in line
    finally:
        stop_cli(process)


@pytest.mark.parametrize("entry", ["app.run(port=PORT)", "asyncio.run(wirespeed.serve(app, port=PORT))"])
def test_run_and_serve_stop_cleanly_on_sigterm(tmp_path: Path, entry: str) -> None:
    port = free_port()
    script = tmp_path / "main.py"
    script.write_text(
        "import asyncio, logging, wirespeed\n"
        "logging.basicConfig(level='INFO')\n"
        "app = wirespeed.App()\n"
        "app.on_startup(lambda: print('startup hook', flush=True))\n"
        "app.on_shutdown(lambda: print('shutdown hook', flush=True))\n"
        "@app.get('/')\n"
        "def index(request):\n"
        "    return 'up'\n"
        f"{entry.replace('PORT', str(port))}\n"
    )
    process = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        lines.append(line)
        if "serving on" in line:
            break
    assert httpx.get(f"http://127.0.0.1:{port}/").text == "up"
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=10)
    assert process.returncode == 0
    assert "startup hook" in "".join(lines)
    assert "shutdown hook" in output


def test_a_second_signal_forces_the_exit(tmp_path: Path) -> None:
    """SIGTERM waits for the request in flight (up to shutdown_timeout); a second SIGTERM
    cuts it, runs the shutdown hooks and exits 0 at once."""
    (tmp_path / "slow_app.py").write_text(
        "import asyncio\n"
        "import wirespeed\n"
        "app = wirespeed.App()\n"
        "app.on_shutdown(lambda: print('shutdown hook', flush=True))\n"
        "@app.get('/slow')\n"
        "async def slow(request):\n"
        "    await asyncio.sleep(60)\n"
        "    return 'late'\n"
    )
    port = free_port()
    process, _ = start_cli("slow_app:app", "--port", str(port), "--shutdown-timeout", "60", cwd=tmp_path)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(b"GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
            time.sleep(0.3)
            process.send_signal(signal.SIGTERM)
            time.sleep(0.5)
            assert process.poll() is None, "the first signal must wait for the request in flight"
            start = time.monotonic()
            process.send_signal(signal.SIGTERM)
            output, _ = process.communicate(timeout=10)
            assert process.returncode == 0
            assert time.monotonic() - start < 5
            assert "shutdown hook" in output
    finally:
        if process.poll() is None:
            process.kill()


def test_fastapi_demo(backend: str) -> None:
    """`wirespeed wirespeed.demo_asgi:app`, the FastAPI demo, detected as ASGI and served."""
    port = free_port()
    process, line = start_cli("wirespeed.demo_asgi:app", "--port", str(port), "--parser", backend)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            assert "<h1>wirespeed serving FastAPI</h1>" in client.get("/").text
            assert client.get("/users/42").json() == {"user_id": 42}
            assert client.get("/users/x").status_code == 422  # FastAPI's own validation
            assert client.get("/greeting").json() == {"greeting": "served by wirespeed"}
            item = client.post("/items", json={"name": "pen", "price": 1.5})
            assert item.json() == {"name": "pen", "price": 1.5}
            count = client.get("/count")
            assert count.headers["transfer-encoding"] == "chunked"
            assert count.text == "".join(f"{n}\n" for n in range(10))
            hello = (ROOT / "python/wirespeed/demo_static/hello.txt").read_bytes()
            assert client.get("/hello.txt").content == hello
            assert client.get("/static/hello.txt").content == hello
        with connect(f"ws://127.0.0.1:{port}/ws/echo") as websocket:
            websocket.send("from FastAPI")
            assert websocket.recv() == "from FastAPI"
    finally:
        assert stop_cli(process) == 0


@pytest.mark.parametrize("backend", ["rust", "httptools"])
def test_version_names_the_release_and_the_parser(backend: str) -> None:
    """`wirespeed --version`: the version, the parser `auto` would use, the Python it runs on."""
    if backend == "rust":
        pytest.importorskip("wirespeed._parser", reason="the Rust extension is not built")
    env = {**os.environ, "WIRESPEED_PARSER": backend}
    result = subprocess.run(
        [sys.executable, "-m", "wirespeed", "--version"], capture_output=True, text=True, timeout=30, env=env
    )
    assert result.returncode == 0, result.stderr
    expected = f"wirespeed {wirespeed.__version__} (parser: {backend}, {platform.python_implementation()} {platform.python_version()}, "
    assert result.stdout.startswith(expected), result.stdout


def test_help_is_grouped_by_topic() -> None:
    result = subprocess.run([sys.executable, "-m", "wirespeed", "--help"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    groups = [line[:-1] for line in result.stdout.splitlines() if line and not line[0].isspace() and line.endswith(":")]
    assert groups == ["positional arguments", "options", "the app", "static files", "the server", "limits",
                      "timeouts (seconds, 0 for none)", "WebSockets", "behind a proxy", "listening sockets", "TLS",
                      "development", "logging"]
    sections = result.stdout.split("\n\n")
    server = next(section for section in sections if section.startswith("the server:"))
    assert "--host" in server and "--workers" in server and "--parser" in server
    websockets = next(section for section in sections if section.startswith("WebSockets:"))
    assert "--ws " in websockets and "--ws-ping-interval" in websockets and "--ws-max-message-size" in websockets
    sockets = next(section for section in sections if section.startswith("listening sockets:"))
    assert "--uds PATH" in sections[sections.index(sockets) + 1] and "--fd N" in sections[sections.index(sockets) + 1]
    proxy = next(section for section in sections if section.startswith("behind a proxy:"))
    assert "--forwarded-allow-ips" in proxy and "--proxy-headers, --no-proxy-headers" in proxy
    tls = result.stdout.split("\nTLS:\n", 1)[1]  # its description is a paragraph of its own
    assert "--ssl-certfile" in tls and "--ssl-cert-reqs" in tls and "--ssl-handshake-timeout" in tls
