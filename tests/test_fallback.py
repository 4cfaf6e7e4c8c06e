"""The server where uvloop or the Rust extension is missing (Windows has no uvloop; a platform
without a wheel may have no extension) and where Unix's extras are missing (what Windows
lacks: os.sendfile, os.fork, SIGCHLD, TCP_CORK, the resource module, opening files relative
to a directory's descriptor). AF_UNIX cannot be taken away so (asyncio's Unix loop needs it
for itself): a unit test stands in for a platform without it.

Each runs the real `wirespeed` command in a subprocess whose PYTHONPATH starts with a folder
holding a sitecustomize.py that, before anything else is imported, puts a finder on
sys.meta_path refusing the modules named (`uvloop`, `wirespeed._parser`, `resource`) and
deletes the attributes named. The server must then say (in `--version` and in its "serving
on" line) that it runs on asyncio and the httptools twin, and serve the demo, a static file
whole and in a range, and refuse a path out of its folder, byte for byte as it does on Linux
with everything. Under strace, the files go out with sendfile(2) when it is there and without
it when it is not. The test suite itself says which backends it has: its report header, and
the Rust tests skipped with a reason.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import HAVE_RUST
from http_wire import exchange
from processes import (
    STRACE,
    WRITE_CALLS,
    OutputCollector,
    child_pid,
    start_cli,
    stop_cli,
    traced_bytes,
)
from wirespeed import Config

ROOT = Path(__file__).resolve().parent.parent

BLOCKER = """\
import importlib.abc, os, signal, socket, sys

BLOCKED = {blocked!r}
STRIPPED = {stripped!r}


class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}} (not on this platform)", name=name)
        return None


sys.meta_path.insert(0, Blocker())
for dotted in STRIPPED:
    owner, _, attribute = dotted.partition(".")
    if hasattr(sys.modules[owner], attribute):
        delattr(sys.modules[owner], attribute)
if STRIPPED:
    os.supports_dir_fd.discard(os.open)
"""

NO_UVLOOP_NO_EXTENSION = ("uvloop", "wirespeed._parser")
NO_UNIX_EXTRAS = (
    "os.sendfile", "os.fork", "signal.SIGCHLD", "signal.pthread_sigmask", "socket.TCP_CORK",
    "socket.SO_REUSEPORT", "os.O_NOFOLLOW", "os.O_DIRECTORY", "os.O_PATH",
)
SCENARIOS = {
    "no-uvloop-no-extension": (NO_UVLOOP_NO_EXTENSION, ()),
    "no-unix-extras": ((*NO_UVLOOP_NO_EXTENSION, "resource"), NO_UNIX_EXTRAS),
}
BIG = bytes(range(256)) * 1200  # 300 KiB: larger than static_cache_file_size, sent from disk


def blocked_env(tmp_path: Path, scenario: str) -> dict[str, str]:
    blocked, stripped = SCENARIOS[scenario]
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(BLOCKER.format(blocked=set(blocked), stripped=stripped))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), env.get("PYTHONPATH", "")]))
    env.pop("WIRESPEED_PARSER", None)
    return env


@pytest.fixture(params=sorted(SCENARIOS))
def scenario(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def files(tmp_path: Path) -> Path:
    folder = tmp_path / "files"
    folder.mkdir()
    (folder / "big.bin").write_bytes(BIG)
    (folder / "small.txt").write_text("small and cached\n")
    (tmp_path / "secret.txt").write_text("outside the folder\n")
    (folder / "link-out.txt").symlink_to(tmp_path / "secret.txt")
    return folder


def test_version_says_httptools(tmp_path: Path, scenario: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "wirespeed", "--version"],
        env=blocked_env(tmp_path, scenario), capture_output=True, text=True, check=True, timeout=30,
    )
    assert "(parser: httptools," in result.stdout
    # The same interpreter without the blocker has the extension: the blocker is what changed.
    plain = subprocess.run(
        [sys.executable, "-m", "wirespeed", "--version"], capture_output=True, text=True, check=True, timeout=30
    )
    assert "(parser: rust," in plain.stdout or not HAVE_RUST


def _serve(env: dict[str, str], *args: str, wrapper: tuple[str, ...] = ()) -> tuple[subprocess.Popen[str], str, int]:
    process, line = start_cli("--port", "0", *args, wrapper=wrapper, env=env)
    match = re.search(r"serving on http://127\.0\.0\.1:(\d+) \(parser: (\w+), loop: (\w+)\)", line)
    assert match, line
    return process, line, int(match[1])


@pytest.fixture
def stopping() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:  # the server itself, when it runs under strace
            stop_cli(process, child_pid(process.pid))


def test_the_demo_serves_on_asyncio_and_httptools(
    tmp_path: Path, scenario: str, stopping: list[subprocess.Popen[str]]
) -> None:
    process, line, port = _serve(blocked_env(tmp_path, scenario))
    stopping.append(process)
    assert "(parser: httptools, loop: asyncio)" in line
    home = httpx.get(f"http://127.0.0.1:{port}/", timeout=5)
    assert home.status_code == 200 and "<h1>wirespeed</h1>" in home.text
    hello = httpx.get(f"http://127.0.0.1:{port}/static/hello.txt", timeout=5)
    assert hello.status_code == 200
    assert hello.content == (ROOT / "python" / "wirespeed" / "demo_static" / "hello.txt").read_bytes()
    assert httpx.get(f"http://127.0.0.1:{port}/users/7", timeout=5).json() == {"user_id": "7"}
    # A bad request (RFC 9112 §6.3: an invalid Content-Length) is answered, and the server goes on.
    (bad,) = exchange(port, b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: x\r\n\r\n")
    assert bad.status == 400
    assert httpx.get(f"http://127.0.0.1:{port}/users/8", timeout=5).status_code == 200
    output = OutputCollector(process)
    assert stop_cli(process) == 0
    output.join()


@pytest.mark.skipif(STRACE is None, reason="strace is not installed (make system-deps)")
def test_static_files_whole_ranged_and_contained(
    tmp_path: Path, files: Path, scenario: str, stopping: list[subprocess.Popen[str]]
) -> None:
    trace = tmp_path / "trace"
    process, line, port = _serve(
        blocked_env(tmp_path, scenario), "--static", str(files),
        wrapper=(STRACE, "-f", "-qq", "-s", "0", "-e", "signal=none", "-e", "trace=sendfile," + ",".join(WRITE_CALLS),
                 "-o", str(trace)),
    )
    stopping.append(process)
    assert "(parser: httptools, loop: asyncio)" in line
    base = f"http://127.0.0.1:{port}"
    with httpx.Client(timeout=10) as client:
        whole = client.get(f"{base}/big.bin")
        assert whole.status_code == 200 and whole.content == BIG
        part = client.get(f"{base}/big.bin", headers={"Range": "bytes=1000-70999"})
        assert part.status_code == 206 and part.content == BIG[1000:71000]
        assert client.get(f"{base}/small.txt").text == "small and cached\n"
        assert client.get(f"{base}/link-out.txt").status_code == 404  # a symlink out of the folder
        assert client.get(f"{base}/%2e%2e/secret.txt").status_code == 404
        assert client.get(f"{base}/missing").status_code == 404
        assert client.get(f"{base}/big.bin").content == BIG  # still serving
    assert stop_cli(process, child_pid(process.pid)) == 0
    calls = traced_bytes(trace.read_text())
    sent = sum(calls.get("sendfile", []))
    written = sum(count for call in WRITE_CALLS for count in calls.get(call, []))
    if "os.sendfile" in SCENARIOS[scenario][1]:
        assert sent == 0 and written > 2 * len(BIG)  # copied through the transport
    else:
        assert sent == 2 * len(BIG) + 70_000  # the whole file twice and the range, from the page cache
        assert written < len(BIG)


def test_workers_without_fork_is_a_clear_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "wirespeed", "--workers", "2", "--port", "0"],
        env=blocked_env(tmp_path, "no-unix-extras"), capture_output=True, text=True, check=False, timeout=30,
    )
    assert result.returncode == 2
    assert "workers > 1 forks worker processes, which this platform" in result.stderr
    assert "Traceback" not in result.stderr


def test_without_unix_sockets_tcp_is_labelled_and_uds_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wirespeed import listeners

    monkeypatch.setattr(listeners, "AF_UNIX", None)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        assert listeners.socket_label(sock) == f"http://127.0.0.1:{sock.getsockname()[1]}"
    with pytest.raises(ValueError, match="has no Unix domain sockets"):
        listeners.open_listeners(Config(uds=str(tmp_path / "s.sock")))
    assert not (tmp_path / "s.sock").exists()


def test_the_suite_reports_its_backends_and_skips_rust_with_the_reason(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-rs", "-p", "no:cacheprovider", "--rootdir", str(ROOT),
         str(ROOT / "tests" / "test_methods.py"), "-k", "test_options_on_a_path_lists_its_methods"],
        env=blocked_env(tmp_path, "no-uvloop-no-extension"), capture_output=True, text=True, check=False,
        timeout=60, cwd=ROOT,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "wirespeed parser backends: rust skipped (the Rust extension is not built" in output
    assert "event loop: asyncio" in output
    assert "1 passed, 1 skipped" in output
    assert "SKIPPED [1]" in output and "the Rust extension is not built" in output
