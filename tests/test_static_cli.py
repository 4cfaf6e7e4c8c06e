"""Static files from the command line: `wirespeed --static DIR` and the demo's /static.

Strategy: this module owns static serving as a user meets it, through a real `wirespeed`
process on both parser backends: DIR served at "/" (index.html, 404s, `..` refused, dotfiles
and symlinks out only with their flags, the cache flags), the user errors that end in exit 2
(an APP together with --static, a missing directory), curl's view of a range and of several
(with --max-ranges), and the demo app's /static files going through the same machinery
(content types, validators, Range).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from http_wire import Connection, WireResponse, multipart_parts
from processes import OutputCollector, free_port, start_cli, stop_cli

ROOT = Path(__file__).resolve().parent.parent
DEMO_STATIC = ROOT / "python" / "wirespeed" / "demo_static"

INDEX = "<!doctype html><title>site</title><h1>index of the site</h1>\n"
HELLO = "hello, static world\n"
PAGE = "<p>a page in a folder</p>\n"
HIDDEN = "hidden=yes\n"
SECRET = "secret outside the served directory\n"
BIG = bytes(range(256)) * 800  # 200 KiB: above any small-file cache threshold used here


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """`tmp/site/` to serve, with `tmp/secret.txt` just outside it."""
    root = tmp_path / "site"
    (root / "docs").mkdir(parents=True)
    (root / "index.html").write_text(INDEX)
    (root / "hello.txt").write_text(HELLO)
    (root / "docs" / "page.html").write_text(PAGE)
    (root / ".hidden").write_text(HIDDEN)
    (root / "big.bin").write_bytes(BIG)
    (tmp_path / "secret.txt").write_text(SECRET)
    os.symlink("../secret.txt", root / "out_link")
    return root


@contextmanager
def serving(*args: str) -> Iterator[tuple[str, str]]:
    """Run `wirespeed ARGS --port P`; yields its base URL and startup line; exits 0 on SIGTERM."""
    port = free_port()
    process, line = start_cli(*args, "--port", str(port))
    output = OutputCollector(process)
    try:
        yield f"http://127.0.0.1:{port}", line
    finally:
        code = stop_cli(process)
        output.join()
    assert code == 0, output.text


def raw_get(base: str, target: bytes) -> WireResponse:
    """GET exactly `target` (httpx would remove the dot segments)."""
    port = int(base.rsplit(":", 1)[1])
    with Connection(port) as connection:
        connection.send(b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        return connection.read_response()


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """`wirespeed ARGS` expected to exit on its own (a user error)."""
    return subprocess.run(
        [sys.executable, "-m", "wirespeed", *args], capture_output=True, text=True, timeout=30, check=False
    )


def error_lines(stderr: str) -> list[str]:
    """The `wirespeed: error: ...` lines of a failed run (usage lines may come before)."""
    return [line for line in stderr.splitlines() if line.startswith("wirespeed: error:")]


def test_static_directory_served_at_root(site: Path, backend: str) -> None:
    with serving("--static", str(site), "--parser", backend) as (base, line):
        assert base in line
        assert f"parser: {backend}" in line
        with httpx.Client(base_url=base) as client:
            index = client.get("/")
            assert index.status_code == 200
            assert index.text == INDEX
            assert index.headers["content-type"] == "text/html; charset=utf-8"
            assert client.get("/index.html").text == INDEX
            hello = client.get("/hello.txt")
            assert (hello.status_code, hello.text) == (200, HELLO)
            assert hello.headers["content-type"] == "text/plain; charset=utf-8"
            assert hello.headers["content-length"] == str(len(HELLO))
            assert hello.headers["accept-ranges"] == "bytes"
            assert not hello.headers["etag"].startswith("W/")
            assert client.get("/docs/page.html").text == PAGE
            folder = client.get("/docs?x=1")
            assert folder.status_code == 301
            assert folder.headers["location"] == "/docs/?x=1"
            missing = client.get("/missing.txt")
            assert missing.status_code == 404
            assert missing.headers["content-type"] == "text/plain; charset=utf-8"
            assert client.get("/docs/").status_code == 404  # no index.html in it
            assert client.get("/.hidden").status_code == 404
            assert client.get("/out_link").status_code == 404
            posted = client.post("/hello.txt", content=b"x")
            assert posted.status_code == 405
            allow = {token.strip() for token in posted.headers["allow"].split(",")}
            assert {"GET", "HEAD"} <= allow and "POST" not in allow, allow
            # The app answers OPTIONS on every route, so Allow may name it too: then it works.
            for other in allow - {"GET", "HEAD"}:
                assert client.request(other, "/hello.txt").status_code != 405, other
        for target in (b"/../secret.txt", b"/docs/../../secret.txt", b"/%2e%2e/secret.txt", b"/..%2fsecret.txt"):
            refused = raw_get(base, target)
            assert refused.status == 404, target
            assert SECRET.encode() not in refused.raw_head + refused.body
        assert raw_get(base, b"/hello.txt").body == HELLO.encode()


def test_show_hidden_and_follow_symlinks_flags(site: Path, backend: str) -> None:
    with serving("--static", str(site), "--parser", backend, "--static-show-hidden") as (base, _):
        shown = httpx.get(f"{base}/.hidden")
        assert (shown.status_code, shown.text) == (200, HIDDEN)
        assert httpx.get(f"{base}/out_link").status_code == 404
        assert raw_get(base, b"/../secret.txt").status == 404
    with serving("--static", str(site), "--parser", backend, "--static-follow-symlinks") as (base, _):
        followed = httpx.get(f"{base}/out_link")
        assert (followed.status_code, followed.text) == (200, SECRET)
        assert httpx.get(f"{base}/.hidden").status_code == 404
        assert raw_get(base, b"/../secret.txt").status == 404


def test_cache_flags(site: Path, backend: str) -> None:
    """With the cache off every file goes out with sendfile; bodies and ranges stay exact."""
    for flags in (["--static-cache-size", "0"], ["--static-cache-file-size", "16"]):
        with (
            serving("--static", str(site), "--parser", backend, *flags) as (base, _),
            httpx.Client(base_url=base) as client,
        ):
            for _ in range(2):
                assert client.get("/big.bin").content == BIG
                assert client.get("/hello.txt").text == HELLO
            part = client.get("/big.bin", headers={"Range": "bytes=1000-1999"})
            assert part.status_code == 206
            assert part.headers["content-range"] == f"bytes 1000-1999/{len(BIG)}"
            assert part.content == BIG[1000:2000]


def test_cache_control_flag(site: Path, backend: str) -> None:
    """RFC 9111 §5.2: the value is sent on every file answer, a 304 included (RFC 9110 §15.4.5)."""
    with (
        serving("--static", str(site), "--parser", backend, "--static-cache-control", "public, max-age=60") as (base, _),
        httpx.Client(base_url=base) as client,
    ):
        for target in ("/hello.txt", "/big.bin"):
            whole = client.get(target)
            assert whole.headers["cache-control"] == "public, max-age=60"
            part = client.get(target, headers={"Range": "bytes=0-3"})
            assert part.status_code == 206 and part.headers["cache-control"] == "public, max-age=60"
            again = client.get(target, headers={"If-None-Match": whole.headers["etag"]})
            assert again.status_code == 304 and again.headers["cache-control"] == "public, max-age=60"
    with serving("--static", str(site), "--parser", backend) as (base, _), httpx.Client(base_url=base) as client:
        assert "cache-control" not in client.get("/hello.txt").headers, "none by default"


def test_help_lists_the_static_flags() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    flags = (
        "--static",
        "--static-show-hidden",
        "--static-follow-symlinks",
        "--static-cache-control",
        "--static-cache-size",
        "--static-cache-file-size",
        "--max-ranges",
    )
    for flag in flags:
        assert flag in result.stdout, flag


def test_app_and_static_together_exit_2(site: Path) -> None:
    result = run_cli("wirespeed.demo:app", "--static", str(site), "--port", str(free_port()))
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    (error,) = error_lines(result.stderr)
    assert "--static" in error
    assert "unrecognized arguments" not in error  # refused as a combination, not as a flag
    assert "serving on" not in result.stdout + result.stderr


@pytest.mark.parametrize("kind", ["missing", "a-file"])
def test_static_of_missing_directory_exits_2(tmp_path: Path, kind: str) -> None:
    directory = tmp_path / "no-such-dir"
    if kind == "a-file":
        directory.write_text("not a directory")
    result = run_cli("--static", str(directory), "--port", str(free_port()))
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    (error,) = error_lines(result.stderr)
    assert str(directory) in error
    assert "unrecognized arguments" not in error
    assert "serving on" not in result.stdout + result.stderr


def curl(*args: str) -> tuple[str, dict[str, str], bytes]:
    """`curl -s -o - -D - ARGS`: the status line, the fields (last value wins) and the body."""
    result = subprocess.run(["curl", "-s", "-o", "-", "-D", "-", *args], capture_output=True, timeout=10, check=True)
    head, _, body = result.stdout.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    fields = {}
    for line in lines:
        name, _, value = line.partition(":")
        fields[name.lower()] = value.strip()
    return status, fields, body


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed (make test installs it)")
def test_curl_whole_file_and_range(site: Path, backend: str) -> None:
    with serving("--static", str(site), "--parser", backend) as (base, _):
        status, fields, body = curl(f"{base}/hello.txt")
        assert status == "HTTP/1.1 200 OK"
        assert body == HELLO.encode()
        assert fields["content-length"] == str(len(HELLO))
        status, fields, body = curl("-r", "0-3", f"{base}/hello.txt")
        assert status == "HTTP/1.1 206 Partial Content"
        assert fields["content-range"] == f"bytes 0-3/{len(HELLO)}"
        assert fields["content-length"] == "4"
        assert fields["content-type"] == "text/plain; charset=utf-8"
        assert body == HELLO.encode()[:4]
        status, fields, body = curl("-r", "-5", f"{base}/big.bin")
        assert status == "HTTP/1.1 206 Partial Content"
        assert fields["content-range"] == f"bytes {len(BIG) - 5}-{len(BIG) - 1}/{len(BIG)}"
        assert body == BIG[-5:]
        status, _, _ = curl("-r", f"{len(HELLO)}-", f"{base}/hello.txt")
        assert status == "HTTP/1.1 416 Range Not Satisfiable"


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed (make test installs it)")
@pytest.mark.parametrize("name", ["page.txt", "big.bin"], ids=["cached", "sendfile"])
def test_curl_several_ranges_and_the_max_ranges_flag(site: Path, backend: str, name: str) -> None:
    """curl -r with two ranges gets a multipart/byteranges 206 (RFC 9110 §14.6); with
    --max-ranges 1 the whole file, and with --max-ranges 0 no ranges at all."""
    (site / "page.txt").write_text(PAGE * 100)  # 2.6 KB: the two parts are smaller than it
    data = (site / name).read_bytes()
    with serving("--static", str(site), "--parser", backend) as (base, _):
        status, fields, body = curl("-r", "0-3,10-13", f"{base}/{name}")
    assert status == "HTTP/1.1 206 Partial Content"
    parts = multipart_parts(fields["content-type"], body)
    assert [part for _, part in parts] == [data[0:4], data[10:14]]
    assert [fields["Content-Range"] for fields, _ in parts] == [f"bytes 0-3/{len(data)}", f"bytes 10-13/{len(data)}"]
    for flag, accept_ranges in (("1", "bytes"), ("0", "none")):
        with serving("--static", str(site), "--parser", backend, "--max-ranges", flag) as (base, _):
            status, fields, body = curl("-r", "0-3,10-13", f"{base}/{name}")
        assert (status, body) == ("HTTP/1.1 200 OK", data)
        assert fields["accept-ranges"] == accept_ranges


@pytest.fixture
def demo(backend: str) -> Iterator[str]:
    with serving("--parser", backend) as (base, line):
        assert f"parser: {backend}" in line
        yield base


@pytest.mark.parametrize(
    ("name", "content_type"),
    [("hello.txt", "text/plain; charset=utf-8"), ("style.css", "text/css; charset=utf-8")],
)
def test_demo_static_files(demo: str, name: str, content_type: str) -> None:
    content = (DEMO_STATIC / name).read_bytes()
    with httpx.Client(base_url=demo) as client:
        whole = client.get(f"/static/{name}")
        assert whole.status_code == 200
        assert whole.content == content
        assert whole.headers["content-type"] == content_type
        assert whole.headers["content-length"] == str(len(content))
        assert whole.headers["accept-ranges"] == "bytes"
        assert whole.headers["vary"] == "Accept-Encoding"
        etag = whole.headers["etag"]
        assert etag.startswith('"') and etag.endswith('"'), etag
        assert "last-modified" in whole.headers
        head = client.head(f"/static/{name}")
        assert head.status_code == 200
        assert head.content == b""
        assert head.headers["content-length"] == str(len(content))
        assert head.headers["etag"] == etag
        part = client.get(f"/static/{name}", headers={"Range": "bytes=0-4"})
        assert part.status_code == 206
        assert part.content == content[:5]
        assert part.headers["content-range"] == f"bytes 0-4/{len(content)}"
        assert part.headers["content-type"] == content_type
        assert part.headers["etag"] == etag
        tail = client.get(f"/static/{name}", headers={"Range": "bytes=-3"})
        assert (tail.status_code, tail.content) == (206, content[-3:])
        stale = client.get(f"/static/{name}", headers={"Range": "bytes=0-4", "If-Range": '"not-the-tag"'})
        assert (stale.status_code, stale.content) == (200, content)
        cached = client.get(f"/static/{name}", headers={"If-None-Match": etag})
        assert cached.status_code == 304
        assert cached.content == b""
    assert raw_get(demo, b"/static/../demo.py").status == 404
