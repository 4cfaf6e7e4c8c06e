"""The listening sockets as operators use them: a Unix socket (--uds), an inherited descriptor
(--fd), systemd socket activation (systemd-socket-activate), IPv6 and dual stack, a host name
bound on every address it resolves to; each alone and under --workers 2.

Every server is a real `python -m wirespeed` process serving a small ASGI app that answers
with its pid, its scope's server and client, and the LISTEN_* variables it still sees; clients
are curl, httpx and raw sockets. Tests about what the client sees on the wire take the
`backend` fixture; the ones about files, processes and descriptors run on one parser.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from processes import OutputCollector, free_port, start_cli, stop_cli, wait_until
from wirespeed import App, Config
from wirespeed.cli import build_parser, config_from_args
from wirespeed.listeners import systemd_descriptors
from wirespeed.server import Server, new_event_loop

BACKEND = "rust" if importlib.util.find_spec("wirespeed._parser") is not None else "httptools"
SOCKET_ACTIVATE = shutil.which("systemd-socket-activate")
CURL = shutil.which("curl")
NSS_WRAPPER = next(
    (str(path) for path in Path("/usr/lib").glob("*/libnss_wrapper.so")), None
) or (shutil.which("libnss_wrapper.so"))

APP = """\
import json, os


async def app(scope, receive, send):
    assert scope["type"] == "http"
    body = json.dumps({
        "pid": os.getpid(),
        "server": scope["server"],
        "client": scope["client"],
        "listen": {k: v for k, v in os.environ.items() if k.startswith("LISTEN_")},
    }).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})
"""


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    (tmp_path / "listen_app.py").write_text(APP)
    return tmp_path


def cli_args(backend: str, *flags: str) -> list[str]:
    return ["listen_app:app", "--lifespan", "off", "--parser", backend, "--shutdown-timeout", "2", *flags]


def env(**extra: str) -> dict[str, str]:
    python_path = str(Path(__file__).resolve().parent.parent / "python")
    paths = [python_path, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return dict(os.environ, PYTHONPATH=os.pathsep.join(paths), **extra)


def ask_tcp(host: str, port: int, timeout: float = 5) -> dict[str, Any]:
    """GET / over a raw socket to (host, port); the app's JSON answer."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect((host, port))
        return _exchange(sock)


def ask_unix(path: str, timeout: float = 5) -> dict[str, Any]:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(path)
        return _exchange(sock)


def _exchange(sock: socket.socket) -> dict[str, Any]:
    sock.sendall(b"GET / HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 "), data
    return dict(json.loads(body))


def curl(*args: str) -> dict[str, Any]:
    assert CURL is not None
    result = subprocess.run(check=False, args=[CURL, "-sS", "--max-time", "5", *args], capture_output=True, text=True, timeout=10)
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def all_serving(process: subprocess.Popen[str], workers: int) -> OutputCollector:
    """After start_cli saw the first worker's startup line: wait for the other workers' (so
    that every one of them can take connections), collecting the output from now on."""
    output = OutputCollector(process)
    assert wait_until(lambda: output.text.count("serving on") >= workers - 1, 10), output.text
    return output


def pids_seen(ask: Any, want: int = 2, tries: int = 200) -> set[int]:
    """The worker pids that answer `ask()` over up to `tries` connections (stops at `want`)."""
    pids: set[int] = set()
    for _ in range(tries):
        pids.add(ask()["pid"])
        if len(pids) >= want:
            break
    return pids


def refused(family: int, address: Any) -> bool:
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(2)
        try:
            sock.connect(address)
        except ConnectionRefusedError:
            return True
        return False


def run_failing(app_dir: Path, *flags: str, pass_fds: tuple[int, ...] = ()) -> list[str]:
    """Run the CLI expecting it to fail at once: its stderr lines (exit code checked: 1)."""
    result = subprocess.run(
        [sys.executable, "-m", "wirespeed", *cli_args(BACKEND, *flags), "--log-level", "critical"],
        check=False,
        cwd=app_dir, env=env(), capture_output=True, text=True, timeout=15, pass_fds=pass_fds,
    )
    assert result.returncode == 1, (result.stdout, result.stderr)
    return result.stderr.splitlines()


@pytest.fixture
def stale_socket(tmp_path: Path) -> Iterator[str]:
    """A socket file that nothing listens on (bound, and closed without being removed)."""
    path = str(tmp_path / "stale.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.bind(path)
    assert stat.S_ISSOCK(os.lstat(path).st_mode)
    yield path


# -- Unix domain sockets


@pytest.mark.skipif(CURL is None, reason="curl is not installed (make system-deps)")
def test_uds_served_to_curl_and_httpx(backend: str, app_dir: Path) -> None:
    path = str(app_dir / "app.sock")
    process, line = start_cli(*cli_args(backend, "--uds", path, "--uds-mode", "660"), cwd=app_dir, env=env())
    try:
        assert f"serving on unix:{path} " in line
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o660
        answer = curl("--unix-socket", path, "http://localhost/")
        assert answer["server"] == [path, None]
        assert answer["client"] is None
        with httpx.Client(transport=httpx.HTTPTransport(uds=path), base_url="http://localhost") as client:
            response = client.get("/")
            assert response.status_code == 200
            assert response.json()["server"] == [path, None]
            assert response.json()["pid"] == process.pid
    finally:
        assert stop_cli(process) == 0
    assert not os.path.exists(path), "the socket file outlived the server"


@pytest.mark.parametrize("loop", ["uvloop", "asyncio"])
def test_uds_replaces_a_stale_socket_file(app_dir: Path, stale_socket: str, loop: str) -> None:
    process, line = start_cli(*cli_args(BACKEND, "--uds", stale_socket, "--loop", loop), cwd=app_dir, env=env())
    try:
        assert f"loop: {loop}" in line
        assert stat.S_IMODE(os.stat(stale_socket).st_mode) == 0o666  # the default, whatever the umask
        assert ask_unix(stale_socket)["pid"] == process.pid
    finally:
        assert stop_cli(process) == 0
    assert not os.path.exists(stale_socket)


def test_uds_in_use_is_refused_and_the_server_there_goes_on(app_dir: Path) -> None:
    path = str(app_dir / "busy.sock")
    process, _ = start_cli(*cli_args(BACKEND, "--uds", path), cwd=app_dir, env=env())
    try:
        errors = run_failing(app_dir, "--uds", path)
        assert errors == [f"wirespeed: error: cannot listen on unix:{path}: address already in use"]
        assert ask_unix(path)["pid"] == process.pid  # the first server still has its socket file
    finally:
        assert stop_cli(process) == 0


@pytest.mark.parametrize(
    ("what", "make", "reason"),
    [
        ("a regular file", lambda p: p.write_text("keep me"), "a file that is not a socket is in the way"),
        ("a directory", lambda p: p.mkdir(), "a directory is in the way"),
    ],
)
def test_uds_never_deletes_what_is_not_a_socket(app_dir: Path, what: str, make: Any, reason: str) -> None:
    path = app_dir / "taken"
    make(path)
    errors = run_failing(app_dir, "--uds", str(path))
    assert errors == [f"wirespeed: error: cannot listen on unix:{path}: {reason} (it is left alone)"], what
    assert path.exists()
    if path.is_file():
        assert path.read_text() == "keep me"


def test_uds_with_workers(app_dir: Path, stale_socket: str) -> None:
    process, _ = start_cli(
        *cli_args(BACKEND, "--uds", stale_socket, "--uds-mode", "600", "--workers", "2"), cwd=app_dir, env=env()
    )
    all_serving(process, 2)
    try:
        assert stat.S_IMODE(os.stat(stale_socket).st_mode) == 0o600
        pids = pids_seen(lambda: ask_unix(stale_socket))
        assert len(pids) == 2 and process.pid not in pids
        if CURL:
            assert curl("--unix-socket", stale_socket, "http://localhost/")["pid"] in pids
        with httpx.Client(transport=httpx.HTTPTransport(uds=stale_socket), base_url="http://localhost") as client:
            assert client.get("/").json()["server"] == [stale_socket, None]
    finally:
        assert stop_cli(process) == 0
    assert not os.path.exists(stale_socket), "the supervisor left the socket file"


# -- inherited descriptors (--fd)


@pytest.mark.parametrize("workers", [0, 2], ids=["one-process", "workers"])
def test_fd_tcp(backend: str, app_dir: Path, workers: int) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    fd = listener.fileno()
    try:
        process, line = start_cli(
            *cli_args(backend, "--fd", str(fd), "--workers", str(workers), "--port", "1"),
            cwd=app_dir, env=env(), pass_fds=(fd,),
        )
    finally:
        listener.close()  # the server's copy is the one that serves
    all_serving(process, workers)
    try:
        assert f"http://127.0.0.1:{port}" in line
        answer = curl(f"http://127.0.0.1:{port}/") if CURL else ask_tcp("127.0.0.1", port)
        assert answer["server"] == ["127.0.0.1", port]
        assert answer["client"][0] == "127.0.0.1"
        if workers:
            pids = pids_seen(lambda: ask_tcp("127.0.0.1", port))
            assert len(pids) == 2 and process.pid not in pids
        else:
            assert answer["pid"] == process.pid
    finally:
        assert stop_cli(process) == 0


@pytest.mark.parametrize("workers", [0, 2], ids=["one-process", "workers"])
def test_fd_unix(app_dir: Path, workers: int) -> None:
    path = str(app_dir / "parent.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen()
    fd = listener.fileno()
    try:
        process, line = start_cli(
            *cli_args(BACKEND, "--fd", str(fd), "--workers", str(workers)), cwd=app_dir, env=env(), pass_fds=(fd,)
        )
    finally:
        listener.close()
    all_serving(process, workers)
    try:
        assert f"unix:{path}" in line
        assert ask_unix(path)["server"] == [path, None]
        if workers:
            assert len(pids_seen(lambda: ask_unix(path))) == 2
    finally:
        assert stop_cli(process) == 0
    assert os.path.exists(path), "a socket file the server did not make is not its to remove"


def test_fd_bound_but_not_listening_is_made_to_listen(app_dir: Path) -> None:
    with socket.socket() as bound:
        bound.bind(("127.0.0.1", 0))
        port = bound.getsockname()[1]
        process, _ = start_cli(
            *cli_args(BACKEND, "--fd", str(bound.fileno())), cwd=app_dir, env=env(), pass_fds=(bound.fileno(),)
        )
    try:
        assert ask_tcp("127.0.0.1", port)["pid"] == process.pid
    finally:
        assert stop_cli(process) == 0


def test_fd_that_is_not_a_listening_socket(app_dir: Path, tmp_path: Path) -> None:
    closed = 97
    assert run_failing(app_dir, "--fd", str(closed)) == [
        f"wirespeed: error: cannot listen on fd {closed}: bad file descriptor"
    ]
    with open(tmp_path / "plain", "w") as plain:
        fd = plain.fileno()
        assert run_failing(app_dir, "--fd", str(fd), pass_fds=(fd,)) == [
            f"wirespeed: error: cannot listen on fd {fd}: socket operation on non-socket"
        ]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as datagram:
        fd = datagram.fileno()
        assert run_failing(app_dir, "--fd", str(fd), pass_fds=(fd,)) == [
            f"wirespeed: error: cannot listen on fd {fd}: not a stream socket"
        ]


def test_fd_wins_over_uds(app_dir: Path) -> None:
    """The documented precedence: --fd, then --uds (which is ignored, with a warning)."""
    path = app_dir / "unused.sock"
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        process, _ = start_cli(
            *cli_args(BACKEND, "--fd", str(listener.fileno()), "--uds", str(path)),
            cwd=app_dir, env=env(), pass_fds=(listener.fileno(),),
        )
    try:
        assert ask_tcp("127.0.0.1", port)["pid"] == process.pid
        assert not path.exists()
    finally:
        assert stop_cli(process) == 0


# -- systemd socket activation


def socket_activate(app_dir: Path, listen: list[str], *flags: str, names: str | None = None) -> subprocess.Popen[str]:
    """wirespeed under systemd-socket-activate listening on `listen` (127.0.0.1:PORT, or the
    path of a Unix socket); it is started
    by the first connection (the caller's), as systemd starts a service, in the activator's
    own process (it execs the service, as systemd does, so LISTEN_PID is that pid)."""
    assert SOCKET_ACTIVATE is not None
    command = [SOCKET_ACTIVATE]
    for address in listen:
        command += ["-l", address]
    if names:
        command.append(f"--fdname={names}")
    command += ["-E", "PYTHONPATH", sys.executable, "-m", "wirespeed", *cli_args(BACKEND, *flags)]
    process = subprocess.Popen(
        command, cwd=app_dir, env=env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert process.stdout is not None
    seen: list[str] = []
    while len([line for line in seen if line.startswith("Listening on")]) < len(listen):
        line = process.stdout.readline()
        assert line, "systemd-socket-activate ended:\n" + "".join(seen)
        seen.append(line)
    return process


needs_activate = pytest.mark.skipif(
    SOCKET_ACTIVATE is None, reason="systemd-socket-activate is not installed (make system-deps installs systemd)"
)


@needs_activate
@pytest.mark.parametrize("workers", [0, 2], ids=["one-process", "workers"])
def test_socket_activation(app_dir: Path, workers: int) -> None:
    port = free_port()
    activator = socket_activate(app_dir, [f"127.0.0.1:{port}"], "--workers", str(workers), "--port", "1")
    output = OutputCollector(activator)
    try:
        answer = curl(f"http://127.0.0.1:{port}/") if CURL else ask_tcp("127.0.0.1", port)  # starts it
        assert answer["listen"] == {}, "LISTEN_* must be gone from the environment the app sees"
        assert answer["server"] == ["127.0.0.1", port]
        pid = activator.pid
        if workers:
            assert wait_until(lambda: output.text.count("serving on") >= workers, 10), output.text
            pids = pids_seen(lambda: ask_tcp("127.0.0.1", port))
            assert len(pids) == 2 and pid not in pids
        else:
            assert answer["pid"] == pid
    finally:
        assert stop_cli(activator) == 0
    output.join()
    log = output.text
    serving = [line for line in log.splitlines() if "serving on" in line]
    assert len(serving) == max(workers, 1), log
    assert all(f"serving on fd 3 = http://127.0.0.1:{port} " in line for line in serving), log
    assert "Traceback" not in log, log


@needs_activate
def test_socket_activation_several_sockets_and_precedence(app_dir: Path) -> None:
    """Two TCP sockets and a Unix one, all served by the one process systemd started; --uds
    given as well is ignored (systemd's sockets come first)."""
    first, second = free_port(), free_port()
    unix = str(app_dir / "activated.sock")
    ignored = app_dir / "ignored.sock"
    activator = socket_activate(
        app_dir, [f"127.0.0.1:{first}", f"127.0.0.1:{second}", unix], "--uds", str(ignored), names="web:admin"
    )
    output = OutputCollector(activator)
    try:
        one = ask_tcp("127.0.0.1", first)
        two = ask_tcp("127.0.0.1", second)
        three = ask_unix(unix)
        assert one["pid"] == two["pid"] == three["pid"] == activator.pid
        assert (one["server"][1], two["server"][1], three["server"]) == (first, second, [unix, None])
        assert three["client"] is None
        assert not ignored.exists(), "systemd's sockets come first: --uds is not bound"
    finally:
        assert stop_cli(activator) == 0
    output.join()
    assert (
        f"fd 3 (web) = http://127.0.0.1:{first}, fd 4 (admin) = http://127.0.0.1:{second}, fd 5 = unix:{unix}"
        in output.text
    ), output.text
    assert "--uds ignored: serving on the sockets systemd passed" in output.text


def test_systemd_variables_are_read_once_and_removed() -> None:
    """LISTEN_PID names the process the sockets are for: another one's are not taken. Either
    way the variables are gone afterwards, as sd_listen_fds(1) leaves them."""
    theirs = {"LISTEN_PID": str(os.getpid() + 1), "LISTEN_FDS": "1", "OTHER": "x"}
    assert systemd_descriptors(theirs) is None
    assert theirs == {"OTHER": "x"}
    mine = {"LISTEN_PID": str(os.getpid()), "LISTEN_FDS": "2", "LISTEN_FDNAMES": "web", "OTHER": "x"}
    assert systemd_descriptors(mine) == [(3, "web"), (4, None)]
    assert mine == {"OTHER": "x"}
    assert systemd_descriptors({"LISTEN_FDS": "1"}) is None  # no LISTEN_PID: not activated


# -- IPv6, dual stack, and every address of a name


def has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
        return True
    except OSError:
        return False


needs_ipv6 = pytest.mark.skipif(not has_ipv6_loopback(), reason="this machine has no IPv6 loopback (::1)")


@needs_ipv6
def test_ipv6_only(backend: str, app_dir: Path) -> None:
    port = free_port()
    process, line = start_cli(*cli_args(backend, "--host", "::1", "--port", str(port)), cwd=app_dir, env=env())
    try:
        assert f"http://[::1]:{port} " in line
        answer = curl("-6", f"http://[::1]:{port}/") if CURL else ask_tcp("::1", port)
        assert answer["server"] == ["::1", port]
        assert answer["client"][0] == "::1"
        assert refused(socket.AF_INET, ("127.0.0.1", port))
    finally:
        assert stop_cli(process) == 0


@needs_ipv6
@pytest.mark.parametrize("workers", [0, 2], ids=["one-process", "workers"])
def test_dual_stack(backend: str, app_dir: Path, workers: int) -> None:
    port = free_port()
    process, line = start_cli(
        *cli_args(backend, "--host", "::", "--port", str(port), "--workers", str(workers)), cwd=app_dir, env=env()
    )
    all_serving(process, workers)
    try:
        assert f"http://[::]:{port} (IPv4 too)" in line
        assert ask_tcp("::1", port)["client"][0] == "::1"
        assert ask_tcp("127.0.0.1", port)["client"][0] == "::ffff:127.0.0.1"
        if workers:  # each worker's own socket is dual-stack too
            for host in ("127.0.0.1", "::1"):
                pids = pids_seen(lambda host=host: ask_tcp(host, port))
                assert len(pids) == 2 and process.pid not in pids, host
    finally:
        assert stop_cli(process) == 0


@pytest.fixture
def both_localhosts(tmp_path: Path) -> dict[str, str]:
    """The environment in which "localhost" resolves to 127.0.0.1 and ::1: this one when
    /etc/hosts says so, else nss_wrapper's with a hosts file of its own."""
    found = {info[0] for info in socket.getaddrinfo("localhost", 0, type=socket.SOCK_STREAM)}
    if {socket.AF_INET, socket.AF_INET6} <= found:
        return env()
    if NSS_WRAPPER is None:
        pytest.skip("localhost is only 127.0.0.1 here and nss_wrapper is not installed (make system-deps)")
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1 localhost\n::1 localhost\n")
    return env(LD_PRELOAD=NSS_WRAPPER, NSS_WRAPPER_HOSTS=str(hosts))


@needs_ipv6
@pytest.mark.parametrize("workers", [0, 2], ids=["one-process", "workers"])
def test_localhost_binds_both_families(app_dir: Path, both_localhosts: dict[str, str], workers: int) -> None:
    process, line = start_cli(
        *cli_args(BACKEND, "--host", "localhost", "--port", "0", "--workers", str(workers)),
        cwd=app_dir, env=both_localhosts,
    )
    all_serving(process, workers)
    try:
        match = re.search(r"http://127\.0\.0\.1:(\d+), http://\[::1\]:(\d+) ", line)
        assert match, line
        port = int(match[1])
        assert int(match[2]) == port, "port 0: the first socket's port for the others"
        if CURL:
            assert curl("-4", f"http://localhost:{port}/")["client"][0] == "127.0.0.1"
            assert curl("-6", f"http://localhost:{port}/")["client"][0] == "::1"
        for host in ("127.0.0.1", "::1"):
            if workers:
                pids = pids_seen(lambda host=host: ask_tcp(host, port))
                assert len(pids) == 2 and process.pid not in pids, host
            else:
                assert ask_tcp(host, port)["pid"] == process.pid
    finally:
        assert stop_cli(process) == 0


@needs_ipv6
def test_an_address_in_use_is_named_and_nothing_stays_bound(app_dir: Path, both_localhosts: dict[str, str]) -> None:
    """localhost:P with [::1]:P taken: the error names [::1]:P, and 127.0.0.1:P, bound
    first, is let go."""
    with socket.socket(socket.AF_INET6) as taken:
        taken.bind(("::1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        for workers in ("0", "2"):
            result = subprocess.run(
                [sys.executable, "-m", "wirespeed", *cli_args(BACKEND, "--host", "localhost", "--port", str(port)),
                 "--workers", workers, "--log-level", "critical"],
                check=False, cwd=app_dir, env=both_localhosts, capture_output=True, text=True, timeout=15,
            )
            assert result.returncode == 1, result
            assert result.stderr.splitlines() == [
                f"wirespeed: error: cannot listen on [::1]:{port}: address already in use"
            ], workers
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", port))  # free again


# -- the Server API: several sockets at once


def test_server_serves_every_socket_it_is_given(backend: str, tmp_path: Path) -> None:
    app = App()

    @app.get("/")
    def home(request: Any) -> str:
        return "home"

    tcp = socket.socket()
    tcp.bind(("127.0.0.1", 0))
    unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    path = str(tmp_path / "api.sock")
    unix.bind(path)

    async def main() -> None:
        server = Server(app, Config(parser=backend))
        await server.start([unix, tcp])
        try:
            assert server.port == tcp.getsockname()[1]
            for opened in (
                asyncio.open_connection("127.0.0.1", server.port),
                asyncio.open_unix_connection(path),
            ):
                reader, writer = await opened
                writer.write(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                answer = await asyncio.wait_for(reader.read(), 5)
                writer.close()
                assert answer.startswith(b"HTTP/1.1 200 ") and answer.endswith(b"home")
        finally:
            server.request_shutdown()
            await server.shutdown()

    loop = new_event_loop()
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()
        tcp.close()
        unix.close()


# -- flags and settings


@pytest.mark.parametrize(("flag", "mode"), [("660", 0o660), ("0o600", 0o600), ("0777", 0o777)])
def test_uds_mode_flag_is_octal(flag: str, mode: int) -> None:
    config = config_from_args(build_parser().parse_args(["--uds", "/tmp/x.sock", "--uds-mode", flag]))
    assert (config.uds, config.uds_mode) == ("/tmp/x.sock", mode)


@pytest.mark.parametrize("flag", ["9", "rw", "17777"])
def test_uds_mode_flag_refuses_what_is_not_a_mode(flag: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--uds-mode", flag])
    assert "expected an octal file mode" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("settings", "message"),
    [({"fd": -1}, "fd must not be negative"), ({"uds": ""}, "uds must be a path"), ({"uds_mode": 0o10000}, "uds_mode")],
)
def test_config_refuses_bad_socket_settings(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Config(**settings)
