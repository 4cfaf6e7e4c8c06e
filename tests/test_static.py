"""Static files end to end: HTTP semantics and the sending of file bodies, on live servers.

Strategy: this module owns what a client sees of `app.static(...)` and `wirespeed --static`:
content types and validators, HEAD, conditional requests (RFC 9110 §13), byte ranges, several
of them as multipart/byteranges (never larger than the file), and If-Range (§14, §13.1.5),
directories and redirects, 403/404/405, precompressed `.br`/`.gz` siblings chosen by
Accept-Encoding (§12.5.3), changes on disk, which files the cache keeps, and the sending
itself: big files whole and exact on uvloop and on the stock asyncio loop, keep-alive,
pipelining order, backpressure and the write timeout, files that shrink or grow while they are
sent, and, under strace, proof that the body bytes go out with sendfile(2) and never through
write(2).
Path containment (`..`, encodings, symlinks, dotfiles) is not this module's concern.
Real servers on 127.0.0.1, both parser backends; raw sockets where exact bytes matter.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
import os
import random
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import RunningServer
from http_wire import Connection, WireResponse, multipart_parts
from processes import (
    STRACE,
    WRITE_CALLS,
    OutputCollector,
    child_pid,
    free_port,
    start_cli,
    stop_cli,
    traced_bytes,
)
from wirespeed import App, Request, StaticFiles

ServerFor = Callable[..., RunningServer]

# Tests that move tens of MiB or start a traced process; each still takes a second or two.
slow = pytest.mark.slow

MTIME = 1_700_000_000  # 2023-11-14 22:13:20 UTC: every file of the tree carries it
LAST_MODIFIED = formatdate(MTIME, usegmt=True)
EARLIER = formatdate(MTIME - 3600, usegmt=True)
LATER = formatdate(MTIME + 3600, usegmt=True)
MiB = 1024 * 1024
BIG4 = "big4.bin"  # 4 MiB
BIG64 = "big64.bin"  # 64 MiB
PREFIX = "/static"


def random_bytes(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- the served tree ----------------------------------------------------------------------------


APP_JS = b"".join(b"export function f%d(x) { return x * %d + 'wirespeed'; }\n" % (i, i) for i in range(200))
STYLE_CSS = b"body { margin: 0; }\n" * 300
# No brotli encoder is installed; the server never decodes a sibling, so the .br file only has
# to be distinct bytes that are not the original.
APP_JS_BR = b"\xce\xb2 brotli stand-in \x00" + random_bytes(700, 7)

SMALL_FILES: dict[str, bytes] = {
    "hello.txt": b"hello, static world\n",
    "digits.txt": bytes(random.Random(1).choices(b"abcdefghijklmnopqrstuvwxyz0123456789", k=1000)),
    "page.html": b"<!doctype html><title>page</title><p>page</p>\n",
    "style.css": STYLE_CSS,
    "style.css.gz": gzip.compress(STYLE_CSS, mtime=0),
    "app.js": APP_JS,
    "app.js.gz": gzip.compress(APP_JS, mtime=0),
    "app.js.br": APP_JS_BR,
    "data.json": b'{"wirespeed": true}\n',
    "logo.svg": b'<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>\n',
    "pixel.png": b"\x89PNG\r\n\x1a\n" + random_bytes(60, 2),
    "blob.zzqx": random_bytes(50, 3),
    "README": b"no extension\n",
    "empty.txt": b"",
    "orphan.txt.gz": gzip.compress(b"the original does not exist\n", mtime=0),
    "medium.bin": random_bytes(300_000, 4),  # above the default 64 KiB cache threshold
    "docs/index.html": b"<!doctype html><title>docs</title><p>docs index</p>\n",
    "docs/guide.txt": b"a guide\n",
    "nodir/notes.txt": b"a directory without an index\n",
}


@dataclass
class Tree:
    root: Path
    files: dict[str, bytes]  # every file but the big ones, by path relative to root
    big: dict[str, tuple[int, str]]  # big files: (size, sha256)

    def data(self, name: str) -> bytes:
        if name in self.files:
            return self.files[name]
        return (self.root / name).read_bytes()


def write_tree(root: Path, files: dict[str, bytes], mtime: float = MTIME) -> None:
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.utime(path, (mtime, mtime))


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Tree:
    """The read-only tree most tests serve; no test changes it."""
    root = tmp_path_factory.mktemp("static")
    write_tree(root, SMALL_FILES)
    big: dict[str, tuple[int, str]] = {}
    for name, size, seed in ((BIG4, 4 * MiB, 40), (BIG64, 64 * MiB, 640)):
        data = random_bytes(size, seed)
        write_tree(root, {name: data})
        big[name] = (size, sha256(data))
    return Tree(root, dict(SMALL_FILES), big)


def static_app(root: Path, **options: Any) -> App:
    """The tree at /static, and one plain route, /plain, to show the connection carries on."""
    app = App()
    app.static(PREFIX, root, **options)

    @app.get("/plain")
    def plain(request: Request) -> str:
        return "plain"

    return app


# -- raw HTTP helpers ---------------------------------------------------------------------------


def request_bytes(target: str, headers: Sequence[tuple[str, str]] = (), method: str = "GET") -> bytes:
    lines = [f"{method} {target} HTTP/1.1", "Host: a", *(f"{name}: {value}" for name, value in headers)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


GET_PLAIN = request_bytes("/plain")


def fetch(port: int, target: str, headers: Sequence[tuple[str, str]] = (), method: str = "GET") -> WireResponse:
    """One request, then GET /plain on the same connection: the answer must be framed exactly
    (a stray body byte, or a missing one, breaks the second answer)."""
    with Connection(port) as connection:
        connection.send(request_bytes(target, headers, method) + GET_PLAIN)
        response = connection.read_response(method)
        after = connection.read_response()
        assert (after.status, after.body) == (200, b"plain"), f"framing after {method} {target} is off"
        return response


def table(rows: Sequence[tuple[Any, ...]]) -> dict[str, Any]:
    """parametrize arguments of a table whose rows start with their id."""
    return {"argvalues": [row[1:] for row in rows], "ids": [row[0] for row in rows]}


def vary_tokens(response: WireResponse) -> set[str]:
    return {token.strip().lower() for value in response.header_all("vary") for token in value.split(",")}


def head_fields(response: WireResponse) -> dict[str, str]:
    """The fields of a response but Date, by lower-case name (for GET/HEAD comparisons)."""
    return {name.lower(): value for name, value in response.headers if name.lower() != "date"}


def is_strong_etag(value: str | None) -> bool:
    return value is not None and re.fullmatch(r'"[\x21\x23-\x7e]+"', value) is not None


class SmallWindow(Connection):
    """A connection whose receive buffer is set before connecting, so the window stays small."""

    def __init__(self, port: int, rcvbuf: int = 16384, timeout: float = 5.0) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect(("127.0.0.1", port))
        self.buffer = b""


def read_head(connection: Connection) -> WireResponse:
    """The status line and fields only; the body stays unread (read as if for HEAD)."""
    return connection.read_response("HEAD")


def drain(connection: Connection, size: int) -> tuple[str, int]:
    """Read at most `size` body bytes (never past them); their sha256 and how many came before
    EOF. Big bodies are hashed piece by piece rather than collected."""
    digest = hashlib.sha256()
    taken = connection.buffer[:size]
    connection.buffer = connection.buffer[size:]
    digest.update(taken)
    got = len(taken)
    buffer = bytearray(MiB)
    view = memoryview(buffer)
    while got < size:
        try:
            count = connection.sock.recv_into(view, min(len(buffer), size - got))
        except ConnectionResetError:
            break
        if count == 0:
            break
        digest.update(view[:count])
        got += count
    return digest.hexdigest(), got


def read_to_eof(connection: Connection, timeout: float) -> tuple[int, bool]:
    """Read and count bytes until EOF or reset; (count, whether the end came within timeout)."""
    count = len(connection.buffer)
    connection.buffer = b""
    deadline = time.monotonic() + timeout
    buffer = bytearray(MiB)
    while time.monotonic() < deadline:
        connection.sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            got = connection.sock.recv_into(buffer)
        except ConnectionResetError:
            return count, True
        except TimeoutError:
            return count, False
        if got == 0:
            return count, True
        count += got
    return count, False


# -- 1. content type and validators -------------------------------------------------------------

# The stdlib says text/javascript; a system mime.types may say application/javascript.
JS_TYPE = (mimetypes.guess_type("app.js", strict=False)[0] or "text/javascript") + "; charset=utf-8"

CONTENT_TYPES = [
    # (file, Content-Type, RFC 9110 section)
    ("hello.txt", "text/plain; charset=utf-8", "§8.3 text type with charset"),
    ("page.html", "text/html; charset=utf-8", "§8.3"),
    ("style.css", "text/css; charset=utf-8", "§8.3"),
    ("app.js", JS_TYPE, "§8.3 a JavaScript type with charset"),
    ("data.json", "application/json; charset=utf-8", "§8.3"),
    ("logo.svg", "image/svg+xml; charset=utf-8", "§8.3"),
    ("pixel.png", "image/png", "§8.3 binary type: no charset"),
    ("blob.zzqx", "application/octet-stream", "§8.3 unknown extension"),
    ("README", "application/octet-stream", "§8.3 no extension"),
    ("medium.bin", "application/octet-stream", "§8.3 a file sent with sendfile"),
]


@pytest.mark.parametrize(("name", "content_type", "section"), CONTENT_TYPES, ids=[row[0] for row in CONTENT_TYPES])
def test_content_type_and_validators(
    server_for: ServerFor, tree: Tree, name: str, content_type: str, section: str
) -> None:
    assert JS_TYPE in ("text/javascript; charset=utf-8", "application/javascript; charset=utf-8")
    server = server_for(static_app(tree.root))
    response = fetch(server.port, f"{PREFIX}/{name}")
    data = tree.data(name)
    assert response.status == 200, section
    assert response.header("content-type") == content_type, section
    assert response.header("content-length") == str(len(data)), "§8.6"
    assert response.body == data
    assert response.header("last-modified") == LAST_MODIFIED, "§8.8.2"
    assert is_strong_etag(response.header("etag")), f"§8.8.3 strong ETag, got {response.header('etag')!r}"
    assert response.header("accept-ranges") == "bytes", "§14.3"
    assert "accept-encoding" in vary_tokens(response), "§12.5.5"
    assert response.header("content-encoding") is None


def test_content_type_and_validators_with_httpx(server_for: ServerFor, tree: Tree) -> None:
    """The same through a real client library, on one kept-alive connection."""
    server = server_for(static_app(tree.root))
    with httpx.Client(base_url=server.url) as client:
        for name, content_type, _ in CONTENT_TYPES:
            response = client.get(f"{PREFIX}/{name}")  # httpx asks for gzip and unpacks it
            assert response.status_code == 200
            assert response.headers["content-type"] == content_type
            assert response.content == tree.data(name)
            assert response.headers["last-modified"] == LAST_MODIFIED
            assert is_strong_etag(response.headers["etag"])


# -- 2. HEAD ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "headers", "config", "body"),
    [
        ("hello.txt", [], {}, "hello.txt"),
        ("medium.bin", [], {}, "medium.bin"),
        ("digits.txt", [], {"static_cache_size": 0}, "digits.txt"),
        ("app.js", [("Accept-Encoding", "gzip")], {}, "app.js.gz"),
        ("docs/", [], {}, "docs/index.html"),
        ("empty.txt", [], {}, "empty.txt"),
        (BIG4, [], {}, BIG4),
    ],
    ids=["cached", "sendfile", "cache-off", "gzip-sibling", "index", "empty", "big"],
)
def test_head_has_the_fields_of_get_and_no_body(
    server_for: ServerFor, tree: Tree, name: str, headers: list[tuple[str, str]], config: dict[str, Any], body: str
) -> None:
    """§9.3.2: HEAD answers the fields GET would, with the same Content-Length, and no body:
    the next pipelined answer follows the head directly."""
    server = server_for(static_app(tree.root), **config)
    with Connection(server.port) as connection:
        connection.send(request_bytes(f"{PREFIX}/{name}", headers))
        get = read_head(connection)
        data = tree.data(body)
        assert get.header("content-length") == str(len(data))
        assert drain(connection, len(data)) == (sha256(data), len(data))
        connection.send(request_bytes(f"{PREFIX}/{name}", headers, "HEAD") + GET_PLAIN)
        head = connection.read_response("HEAD")
        assert connection.buffer == b"" or connection.buffer.startswith(b"HTTP/1.1 200 OK\r\n"), "HEAD sent body bytes"
        after = connection.read_response()
        assert after.body == b"plain"
    assert get.status == head.status == 200
    assert head_fields(head) == head_fields(get)


def test_head_ignores_range(server_for: ServerFor, tree: Tree) -> None:
    """§14.2: Range applies to GET only; HEAD answers 200 with the whole length."""
    server = server_for(static_app(tree.root))
    response = fetch(server.port, f"{PREFIX}/digits.txt", [("Range", "bytes=0-9")], "HEAD")
    assert response.status == 200
    assert response.header("content-length") == "1000"
    assert response.header("content-range") is None


# -- 3. conditional requests --------------------------------------------------------------------

CONDITIONAL_ROWS: list[tuple[str, list[tuple[str, str]], int, str]] = [
    # (id, request fields with {etag} {lm} {earlier} {later} filled in, status, RFC 9110 section)
    ("inm-exact", [("If-None-Match", "{etag}")], 304, "§13.1.2"),
    ("inm-weak-form", [("If-None-Match", "W/{etag}")], 304, "§13.1.2 weak comparison"),
    ("inm-list", [("If-None-Match", '"nope", {etag} , "other"')], 304, "§13.1.2 list"),
    ("inm-star", [("If-None-Match", "*")], 304, "§13.1.2 *"),
    ("inm-mismatch", [("If-None-Match", '"nope"')], 200, "§13.1.2"),
    ("inm-weak-mismatch", [("If-None-Match", 'W/"nope"')], 200, "§13.1.2"),
    ("ims-equal", [("If-Modified-Since", "{lm}")], 304, "§13.1.3"),
    ("ims-later", [("If-Modified-Since", "{later}")], 304, "§13.1.3"),
    ("ims-earlier", [("If-Modified-Since", "{earlier}")], 200, "§13.1.3"),
    ("ims-invalid-date", [("If-Modified-Since", "yesterday at noon")], 200, "§13.1.3 invalid date ignored"),
    ("ims-ignored-under-inm-mismatch", [("If-None-Match", '"nope"'), ("If-Modified-Since", "{later}")], 200,
     "§13.1.3 ignored when If-None-Match is present"),
    ("inm-match-beats-ims-earlier", [("If-None-Match", "{etag}"), ("If-Modified-Since", "{earlier}")], 304,
     "§13.2.2 step 3 before 4"),
    ("im-match", [("If-Match", "{etag}")], 200, "§13.1.1"),
    ("im-list", [("If-Match", '"nope", {etag}')], 200, "§13.1.1 list"),
    ("im-star", [("If-Match", "*")], 200, "§13.1.1 *"),
    ("im-mismatch", [("If-Match", '"nope"')], 412, "§13.1.1"),
    ("im-weak-never-matches", [("If-Match", "W/{etag}")], 412, "§13.1.1 strong comparison"),
    ("im-mismatch-beats-inm-match", [("If-Match", '"nope"'), ("If-None-Match", "{etag}")], 412,
     "§13.2.2 step 1 first"),
    ("ius-earlier", [("If-Unmodified-Since", "{earlier}")], 412, "§13.1.4"),
    ("ius-equal", [("If-Unmodified-Since", "{lm}")], 200, "§13.1.4"),
    ("ius-later", [("If-Unmodified-Since", "{later}")], 200, "§13.1.4"),
    ("ius-invalid-date", [("If-Unmodified-Since", "not a date")], 200, "§13.1.4 invalid date ignored"),
    ("ius-ignored-under-im-match", [("If-Match", "{etag}"), ("If-Unmodified-Since", "{earlier}")], 200,
     "§13.1.4 ignored when If-Match is present"),
    ("ius-earlier-beats-inm-match", [("If-Unmodified-Since", "{earlier}"), ("If-None-Match", "{etag}")], 412,
     "§13.2.2 step 2 before 3"),
]


def fill(value: str, etag: str) -> str:
    return value.format(etag=etag, lm=LAST_MODIFIED, earlier=EARLIER, later=LATER)


@pytest.mark.parametrize("name", ["digits.txt", "medium.bin"], ids=["cached", "sendfile"])
@pytest.mark.parametrize(("fields", "status", "section"), **table(CONDITIONAL_ROWS))
def test_conditional_requests(
    server_for: ServerFor, tree: Tree, name: str, fields: list[tuple[str, str]], status: int, section: str
) -> None:
    server = server_for(static_app(tree.root))
    plain = fetch(server.port, f"{PREFIX}/{name}")
    etag = plain.header("etag")
    assert etag is not None and is_strong_etag(etag)
    response = fetch(server.port, f"{PREFIX}/{name}", [(key, fill(value, etag)) for key, value in fields])
    assert response.status == status, section
    if status == 200:
        assert response.body == tree.data(name)
    elif status == 304:
        assert response.header("content-length") is None, "304: no Content-Length (spec)"
        assert response.header("etag") == etag, "§15.4.5: 304 carries the ETag"
        assert response.header("last-modified") == LAST_MODIFIED
        assert "accept-encoding" in vary_tokens(response), "§15.4.5: 304 carries Vary"
    else:
        assert (response.header("content-type") or "").startswith("text/plain")
        assert response.body, "412 carries a plain text body"
        assert response.body != tree.data(name)


def test_conditional_on_head(server_for: ServerFor, tree: Tree) -> None:
    """§13.2.1: the preconditions apply to HEAD as to GET."""
    server = server_for(static_app(tree.root))
    etag = fetch(server.port, f"{PREFIX}/hello.txt").header("etag") or ""
    not_modified = fetch(server.port, f"{PREFIX}/hello.txt", [("If-None-Match", etag)], "HEAD")
    assert not_modified.status == 304
    failed = fetch(server.port, f"{PREFIX}/hello.txt", [("If-Match", '"nope"')], "HEAD")
    assert failed.status == 412


# -- 4. ranges ----------------------------------------------------------------------------------

Span = Callable[[int], tuple[int, int]]

RANGE_ROWS: list[tuple[str, str, Span | int, str]] = [
    # (id, Range value with {size} {last} {beyond} filled in, (first, last) byte for a 206 or a
    # status (416, or 200 for the whole file), RFC 9110 section)
    ("first-ten", "bytes=0-9", lambda n: (0, 9), "§14.1.2"),
    ("first-byte", "bytes=0-0", lambda n: (0, 0), "§14.1.2"),
    ("open-ended", "bytes=10-", lambda n: (10, n - 1), "§14.1.2"),
    ("suffix", "bytes=-5", lambda n: (n - 5, n - 1), "§14.1.2"),
    ("suffix-longer-than-file", "bytes=-{beyond}", lambda n: (0, n - 1), "§14.1.2 whole file as 206"),
    ("end-clamped", "bytes=5-{beyond}", lambda n: (5, n - 1), "§14.1.2 last-pos past the end"),
    ("last-byte", "bytes={last}-{last}", lambda n: (n - 1, n - 1), "§14.1.2"),
    ("last-byte-open", "bytes={last}-", lambda n: (n - 1, n - 1), "§14.1.2"),
    ("leading-zeros", "bytes=00-09", lambda n: (0, 9), "§14.1.2 1*DIGIT"),
    ("trailing-comma", "bytes=0-9,", lambda n: (0, 9), "§5.6.1 empty list elements"),
    ("start-at-size", "bytes={size}-", 416, "§15.5.17"),
    ("start-past-size", "bytes={beyond}-{beyond}", 416, "§15.5.17"),
    ("suffix-zero", "bytes=-0", 416, "§14.1.1 -0 is unsatisfiable"),
    ("several-all-past-size", "bytes={size}-,{beyond}-", 416, "§15.5.17 no range overlaps"),
    ("reversed", "bytes=5-2", 200, "§14.1.1 invalid: ignored"),
    ("not-a-number", "bytes=x-", 200, "§14.1.1 invalid: ignored"),
    ("empty-set", "bytes=", 200, "§14.1.1 invalid: ignored"),
    ("no-equals", "bytes 0-1", 200, "§14.2 invalid: ignored"),
    ("lone-dash", "bytes=-", 200, "§14.1.1 invalid: ignored"),
    ("three-parts", "bytes=1-2-3", 200, "§14.1.1 invalid: ignored"),
    ("plus-sign", "bytes=+1-5", 200, "§14.1.1 DIGIT only (int() takes '+')"),
    ("underscores", "bytes=1_0-2_0", 200, "§14.1.1 DIGIT only (int() takes '_')"),
    ("hex", "bytes=0x1-5", 200, "§14.1.1 DIGIT only"),
    ("other-unit", "items=0-1", 200, "§14.2 unknown unit: ignored"),
]

RANGE_VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    # id: (file, Config fields)
    "cached": ("digits.txt", {}),  # 1,000 bytes from the in-memory cache
    "sendfile-large": ("medium.bin", {"static_cache_file_size": 64 * 1024}),  # 300,000 bytes
    "sendfile-cache-off": ("digits.txt", {"static_cache_size": 0}),
}


def range_server(server_for: ServerFor, tree: Tree, variant: str) -> tuple[str, bytes, RunningServer]:
    """The file of a RANGE_VARIANTS entry, its bytes, and a server set up as the entry says."""
    name, config = RANGE_VARIANTS[variant]
    return name, tree.data(name), server_for(static_app(tree.root), **config)


def range_value(template: str, size: int) -> str:
    return template.format(size=size, last=size - 1, beyond=size + 1000)


@pytest.mark.parametrize("variant", list(RANGE_VARIANTS))
@pytest.mark.parametrize(("template", "expected", "section"), **table(RANGE_ROWS))
def test_range(
    server_for: ServerFor, tree: Tree, variant: str, template: str, expected: Span | int, section: str
) -> None:
    name, data, server = range_server(server_for, tree, variant)
    size = len(data)
    whole = fetch(server.port, f"{PREFIX}/{name}")
    response = fetch(server.port, f"{PREFIX}/{name}", [("Range", range_value(template, size))])
    if expected == 200:
        assert response.status == 200, section
        assert response.body == data
        assert response.header("content-range") is None
    elif expected == 416:
        assert response.status == 416, section
        assert response.header("content-range") == f"bytes */{size}", "§14.4"
        assert response.body != data
    else:
        assert callable(expected)
        first, last = expected(size)
        assert response.status == 206, section
        assert response.header("content-range") == f"bytes {first}-{last}/{size}", "§14.4"
        assert response.header("content-length") == str(last - first + 1)
        assert response.body == data[first : last + 1]
        for field in ("content-type", "accept-ranges", "etag", "last-modified", "vary"):
            assert response.header(field) == whole.header(field), f"§15.3.7: 206 carries {field}"


def test_range_on_an_empty_file_is_ignored(server_for: ServerFor, tree: Tree) -> None:
    """§14.1.2: no range of an empty representation is satisfiable; the spec answers 200."""
    server = server_for(static_app(tree.root))
    response = fetch(server.port, f"{PREFIX}/empty.txt", [("Range", "bytes=0-0")])
    assert response.status == 200
    assert response.header("content-length") == "0"
    assert response.body == b""


IF_RANGE_ROWS: list[tuple[str, str, int, str]] = [
    # (id, If-Range value, status, RFC 9110 section)
    ("current-strong-etag", "{etag}", 206, "§13.1.5"),
    ("other-etag", '"nope"', 200, "§13.1.5"),
    ("weak-etag", "W/{etag}", 200, "§13.1.5 a weak tag never matches"),
    ("date-equal", "{lm}", 206, "§13.1.5 date equal to Last-Modified"),
    ("date-later", "{later}", 200, "§13.1.5 exact match only"),
    ("date-earlier", "{earlier}", 200, "§13.1.5"),
    ("garbage", "whenever", 200, "§13.1.5"),
]


@pytest.mark.parametrize("variant", ["cached", "sendfile-large"])
@pytest.mark.parametrize(("value", "status", "section"), **table(IF_RANGE_ROWS))
def test_if_range(server_for: ServerFor, tree: Tree, variant: str, value: str, status: int, section: str) -> None:
    name, data, server = range_server(server_for, tree, variant)
    etag = fetch(server.port, f"{PREFIX}/{name}").header("etag") or ""
    response = fetch(server.port, f"{PREFIX}/{name}", [("Range", "bytes=3-12"), ("If-Range", fill(value, etag))])
    assert response.status == status, section
    if status == 206:
        assert response.header("content-range") == f"bytes 3-12/{len(data)}"
        assert response.body == data[3:13]
    else:
        assert response.body == data


# -- 4b. several ranges: multipart/byteranges ---------------------------------------------------

Spans = Callable[[int], list[tuple[int, int]]]

MULTIPART_ROWS: list[tuple[str, str, Spans, str]] = [
    # (id, Range value with {size} {last} {beyond} filled in, the parts as (first, last),
    # RFC 9110 section)
    ("two", "bytes=0-9,100-199", lambda n: [(0, 9), (100, 199)], "§14.6"),
    ("three-with-suffix", "bytes=0-0,500-509,-20", lambda n: [(0, 0), (500, 509), (n - 20, n - 1)], "§14.6"),
    ("asked-order-kept", "bytes=500-509,0-9", lambda n: [(500, 509), (0, 9)], "§15.3.7.2 the order asked for"),
    ("overlapping-coalesced", "bytes=0-9,5-19,100-109", lambda n: [(0, 19), (100, 109)], "§15.3.7.2 coalesced"),
    ("unsatisfiable-dropped", "bytes=0-9,{beyond}-,100-109", lambda n: [(0, 9), (100, 109)], "§14.1.1"),
    ("last-byte-and-first", "bytes={last}-,0-0", lambda n: [(n - 1, n - 1), (0, 0)], "§14.6"),
]


def assert_multipart(response: WireResponse, whole: WireResponse, data: bytes, spans: list[tuple[int, int]]) -> None:
    """A 206 multipart/byteranges answer whose parts are exactly `spans` of `data`."""
    assert response.status == 206, (response.raw_head, response.body[:200])
    assert response.header("content-range") is None, "§14.6: Content-Range in each part, not in the head"
    assert response.header("content-length") == str(len(response.body)), "§8.6: exact Content-Length"
    parts = multipart_parts(response.header("content-type") or "", response.body)
    content_type = whole.header("content-type")
    assert [fields for fields, _ in parts] == [
        {"Content-Type": content_type, "Content-Range": f"bytes {first}-{last}/{len(data)}"} for first, last in spans
    ], "§14.6: each part has the representation's Content-Type and its Content-Range"
    for (first, last), (_, part) in zip(spans, parts):
        assert part == data[first : last + 1], (first, last)
    for field in ("accept-ranges", "etag", "last-modified", "vary", "content-encoding"):
        assert response.header(field) == whole.header(field), f"§15.3.7: 206 carries {field}"


@pytest.mark.parametrize("variant", list(RANGE_VARIANTS))
@pytest.mark.parametrize(("template", "expected", "section"), **table(MULTIPART_ROWS))
def test_several_ranges_are_multipart(
    server_for: ServerFor, tree: Tree, variant: str, template: str, expected: Spans, section: str
) -> None:
    name, data, server = range_server(server_for, tree, variant)
    whole = fetch(server.port, f"{PREFIX}/{name}")
    with Connection(server.port) as connection:  # twice on one connection: the body ends exactly
        for _ in range(2):
            connection.send(request_bytes(f"{PREFIX}/{name}", [("Range", range_value(template, len(data)))]))
            assert_multipart(connection.read_response(), whole, data, expected(len(data)))
        connection.send(GET_PLAIN)
        assert connection.read_response().body == b"plain"


@pytest.mark.parametrize("variant", list(RANGE_VARIANTS))
@pytest.mark.parametrize(
    ("value", "span", "section"),
    [
        ("bytes=0-9,10-19", (0, 19), "§15.3.7.2 touching ranges coalesce: one part"),
        ("bytes=0-,0-,0-", None, "§15.3.7.2 the same range thrice: one part"),
        ("bytes=100-199,{beyond}-", (100, 199), "§14.1.1 the only satisfiable range: one part"),
    ],
)
def test_ranges_coalesced_into_one_are_a_plain_206(
    server_for: ServerFor, tree: Tree, variant: str, value: str, span: tuple[int, int] | None, section: str
) -> None:
    """§15.3.7.2: a single part is sent as a plain 206, never as multipart."""
    name, data, server = range_server(server_for, tree, variant)
    first, last = span or (0, len(data) - 1)
    response = fetch(server.port, f"{PREFIX}/{name}", [("Range", range_value(value, len(data)))])
    assert response.status == 206, section
    assert response.header("content-range") == f"bytes {first}-{last}/{len(data)}"
    assert not (response.header("content-type") or "").startswith("multipart/"), section
    assert response.body == data[first : last + 1]


# The most a range answer may add to the file: a status line and fields (a Date, an ETag...).
HEAD_ALLOWANCE = 1024

AMPLIFICATION_ROWS: list[tuple[str, str, str]] = [
    # (id, Range value, RFC 9110 section)
    ("1000-overlapping", ",".join(["0-"] * 1000), "§14.2: over max_ranges, the whole file"),
    ("1000-overlapping-small", ",".join(f"{i % 50}-{i % 50 + 400}" for i in range(1000)), "§14.2 over max_ranges"),
    ("200-overlapping", ",".join(["0-", "-500", "3-"] * 66), "§15.3.7.2 coalesced into one part"),
    ("200-one-byte", ",".join(f"{i}-{i}" for i in range(0, 400, 2)), "§14.2 the whole file if the parts outweigh it"),
    ("200-reversed", ",".join(f"{i}-{i + 3}" for i in range(800, 0, -4)), "§15.3.7.2 touching: coalesced"),
]


@pytest.mark.parametrize("variant", list(RANGE_VARIANTS))
@pytest.mark.parametrize(("ranges", "section"), **table(AMPLIFICATION_ROWS))
def test_many_ranges_cannot_amplify_the_answer(
    server_for: ServerFor, tree: Tree, variant: str, ranges: str, section: str
) -> None:
    """RFC 9110 §17.15 (and CVE-2011-3192): a Range field of many overlapping or tiny ranges
    gets an answer no larger than the file itself and its head, whatever its form."""
    name, data, server = range_server(server_for, tree, variant)
    with Connection(server.port) as connection:
        connection.send(request_bytes(f"{PREFIX}/{name}", [("Range", "bytes=" + ranges)]))
        response = connection.read_response()
    assert len(response.raw_head) + len(response.body) <= len(data) + HEAD_ALLOWANCE, section
    if response.status == 200:
        assert response.body == data
        return
    assert response.status == 206, section
    single = response.header("content-range")
    if single is not None:
        parts = [({"Content-Range": single}, response.body)]
    else:
        parts = multipart_parts(response.header("content-type") or "", response.body)
    for fields, part in parts:
        first, last = map(int, fields["Content-Range"].removeprefix("bytes ").split("/")[0].split("-"))
        assert part == data[first : last + 1]


@pytest.mark.parametrize("variant", ["cached", "sendfile-large"])
@pytest.mark.parametrize(("value", "status", "section"), **table(IF_RANGE_ROWS))
def test_if_range_with_several_ranges(
    server_for: ServerFor, tree: Tree, variant: str, value: str, status: int, section: str
) -> None:
    name, data, server = range_server(server_for, tree, variant)
    whole = fetch(server.port, f"{PREFIX}/{name}")
    etag = whole.header("etag") or ""
    headers = [("Range", "bytes=3-12,200-299"), ("If-Range", fill(value, etag))]
    response = fetch(server.port, f"{PREFIX}/{name}", headers)
    if status == 206:
        assert_multipart(response, whole, data, [(3, 12), (200, 299)])
    else:
        assert (response.status, response.body) == (200, data), section


@pytest.mark.parametrize("variant", list(RANGE_VARIANTS))
def test_head_ignores_several_ranges(server_for: ServerFor, tree: Tree, variant: str) -> None:
    """§14.2: Range applies to GET only; HEAD with several ranges answers the 200 head."""
    name, config = RANGE_VARIANTS[variant]
    server = server_for(static_app(tree.root), **config)
    with Connection(server.port) as connection:
        connection.send(request_bytes(f"{PREFIX}/{name}", [("Range", "bytes=0-9,100-199")], "HEAD") + GET_PLAIN)
        head = connection.read_response("HEAD")
        assert connection.read_response().body == b"plain", "HEAD sent body bytes"
    assert head.status == 200
    assert head.header("content-length") == str(len(tree.data(name)))
    assert head.header("content-range") is None


@pytest.mark.parametrize("coding", ["gzip", "br"])
@pytest.mark.parametrize("config", [{}, {"static_cache_size": 0}], ids=["cached", "cache-off"])
def test_several_ranges_of_a_precompressed_sibling(
    server_for: ServerFor, tree: Tree, coding: str, config: dict[str, Any]
) -> None:
    """§14.1: the ranges select bytes of the selected representation, the sibling; the 206
    keeps its Content-Encoding, Vary and ETag."""
    server = server_for(static_app(tree.root), **config)
    data = tree.files["app.js" + SUFFIX[coding]]
    accept = [("Accept-Encoding", coding)]
    whole = fetch(server.port, f"{PREFIX}/app.js", accept)
    assert whole.header("content-encoding") == coding
    response = fetch(server.port, f"{PREFIX}/app.js", [*accept, ("Range", "bytes=0-9,-30")])
    assert_multipart(response, whole, data, [(0, 9), (len(data) - 30, len(data) - 1)])


@pytest.mark.parametrize(
    ("max_ranges", "value", "status", "accept_ranges"),
    [
        (2, "bytes=0-9,20-29", 206, "bytes"),
        (2, "bytes=0-9,20-29,40-49", 200, "bytes"),
        (1, "bytes=0-9,20-29", 200, "bytes"),
        (1, "bytes=0-9", 206, "bytes"),
        (0, "bytes=0-9", 200, "none"),
    ],
)
def test_max_ranges(
    server_for: ServerFor, tree: Tree, max_ranges: int, value: str, status: int, accept_ranges: str
) -> None:
    """Config.max_ranges caps the range-specs of one field (counted as sent, before they are
    coalesced); over it the whole file is sent (§14.2). 0 turns ranges off (§14.3)."""
    data = tree.data("digits.txt")
    server = server_for(static_app(tree.root), max_ranges=max_ranges)
    response = fetch(server.port, f"{PREFIX}/digits.txt", [("Range", value)])
    assert response.status == status
    assert response.header("accept-ranges") == accept_ranges
    if status == 200:
        assert response.body == data


@pytest.mark.parametrize("loop", ["uvloop", "asyncio"])
def test_several_ranges_of_a_big_file_to_a_slow_reader(server_for: ServerFor, tree: Tree, loop: str) -> None:
    """Parts of MiBs, read through a small window: the parts' own bytes and the file's go out
    in order as the socket drains, and the connection carries on after them."""
    data = tree.data(BIG4)
    spans = [(3 * MiB, 4 * MiB - 1), (10, 2 * MiB), (2 * MiB + 5, 2 * MiB + 5)]
    server = server_for(static_app(tree.root), loop=loop)
    whole = fetch(server.port, f"{PREFIX}/hello.txt")
    value = "bytes=" + ",".join(f"{first}-{last}" for first, last in spans)
    with SmallWindow(server.port, timeout=15) as connection:
        connection.send(request_bytes(f"{PREFIX}/{BIG4}", [("Range", value)]) + GET_PLAIN)
        response = connection.read_response()
        assert connection.read_response().body == b"plain"
    parts = multipart_parts(response.header("content-type") or "", response.body)
    assert [fields["Content-Range"] for fields, _ in parts] == [f"bytes {a}-{b}/{len(data)}" for a, b in spans]
    assert [part for _, part in parts] == [data[a : b + 1] for a, b in spans]
    assert whole.status == 200


# -- 5. directories, missing files, methods -----------------------------------------------------


@pytest.mark.parametrize(
    ("target", "status", "location", "section"),
    [
        ("/static/docs", 301, "/static/docs/", "§15.4.2"),
        ("/static/docs?a=1&b=%20x", 301, "/static/docs/?a=1&b=%20x", "§15.4.2 the query is kept"),
        ("/static", 301, "/static/", "§15.4.2 the mount point itself"),
        ("/static/nodir/", 404, None, "§15.5.5 directory without index"),
        ("/static/", 404, None, "§15.5.5 the root has no index"),
        ("/static/missing.txt", 404, None, "§15.5.5"),
        ("/static/docs/missing.txt", 404, None, "§15.5.5"),
        ("/static/orphan.txt", 404, None, "§15.5.5 only a .gz sibling exists"),
        ("/static/docs/index.html/", 404, None, "§15.5.5 a file is not a directory (as nginx: ENOTDIR)"),
        ("/static/docs/index.html//", 404, None, "§15.5.5 nor with two slashes"),
    ],
)
def test_directories_and_missing(
    server_for: ServerFor, tree: Tree, target: str, status: int, location: str | None, section: str
) -> None:
    server = server_for(static_app(tree.root))
    response = fetch(server.port, target)
    assert response.status == status, section
    assert response.header("location") == location
    assert tree.files["docs/index.html"] not in response.body


@pytest.mark.parametrize("config", [{}, {"static_cache_size": 0}], ids=["cached", "cache-off"])
def test_a_fifo_is_a_404_and_never_blocks(server_for: ServerFor, tmp_path: Path, config: dict[str, Any]) -> None:
    """A named pipe is not a file to serve: 404 at once (opening it for reading would wait
    for a writer, and hold up every connection)."""
    write_tree(tmp_path, {"hello.txt": b"hello"})
    os.mkfifo(tmp_path / "pipe")
    server = server_for(static_app(tmp_path), **config)
    with Connection(server.port, timeout=3) as connection:
        connection.send(request_bytes(f"{PREFIX}/pipe") + request_bytes(f"{PREFIX}/hello.txt"))
        assert connection.read_response().status == 404
        assert connection.read_response().body == b"hello"


@pytest.mark.parametrize("target", ["/static/docs/", "/static/docs/?page=2", "/static/docs/index.html"])
def test_directory_index(server_for: ServerFor, tree: Tree, target: str) -> None:
    server = server_for(static_app(tree.root))
    with httpx.Client(base_url=server.url) as client:
        response = client.get(target)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.content == tree.files["docs/index.html"]
    assert is_strong_etag(response.headers["etag"])


def test_directory_redirect_is_followed_by_a_client(server_for: ServerFor, tree: Tree) -> None:
    server = server_for(static_app(tree.root))
    with httpx.Client(base_url=server.url, follow_redirects=True) as client:
        response = client.get("/static/docs?x=1")
    assert [r.status_code for r in response.history] == [301]
    assert str(response.url).endswith("/static/docs/?x=1")
    assert response.content == tree.files["docs/index.html"]


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
@pytest.mark.parametrize("target", ["/static/hello.txt", "/static/docs/"])
def test_other_methods_get_405(server_for: ServerFor, tree: Tree, method: str, target: str) -> None:
    """§15.5.6: 405 with Allow naming GET and HEAD (§10.2.1)."""
    server = server_for(static_app(tree.root))
    response = fetch(server.port, target, [("Content-Length", "0")], method)
    assert response.status == 405
    allow = {token.strip() for token in (response.header("allow") or "").split(",")}
    assert {"GET", "HEAD"} <= allow
    assert method not in allow
    # Whatever else Allow names (the app answers OPTIONS on every route) must be answered.
    for other in allow - {"GET", "HEAD"}:
        assert fetch(server.port, target, method=other).status != 405, f"Allow names {other}, which gets 405"
    assert tree.files["hello.txt"] not in response.body


# -- 7. precompressed siblings ------------------------------------------------------------------

ENCODING_ROWS: list[tuple[str, str | None, str | None, str]] = [
    # (id, Accept-Encoding or None for no field, coding served for app.js, RFC 9110 section)
    ("none", None, None, "§12.5.3 no field: identity"),
    ("br", "br", "br", "§12.5.3"),
    ("gzip", "gzip", "gzip", "§12.5.3"),
    ("both-br-preferred", "gzip, br", "br", "§12.5.3 equal q: br preferred (spec)"),
    ("both-with-deflate", "gzip, deflate, br", "br", "§12.5.3"),
    ("q-gzip-higher", "br;q=0.5, gzip", "gzip", "§12.4.2 higher q wins"),
    ("q-br-higher", "gzip;q=0.8, br;q=0.9", "br", "§12.4.2"),
    ("q-explicit-one", "br;q=1.0, gzip;q=1", "br", "§12.4.2"),
    ("q-tiny", "gzip;q=0.001", "gzip", "§12.4.2"),
    ("q-zero-br", "br;q=0, gzip", "gzip", "§12.4.2 q=0: not acceptable"),
    ("q-zero-both", "br;q=0, gzip;q=0", None, "§12.5.3"),
    ("star", "*", "br", "§12.5.3 * covers the rest"),
    ("star-lower-than-gzip", "*;q=0.5, gzip", "gzip", "§12.5.3"),
    ("star-but-no-gzip", "gzip;q=0, *", "br", "§12.5.3"),
    ("star-but-no-br", "br;q=0, *", "gzip", "§12.5.3"),
    ("x-gzip", "x-gzip", "gzip", "§8.4.1.3 x-gzip is gzip"),
    ("identity", "identity", None, "§12.5.3"),
    ("deflate-only", "deflate", None, "§12.5.3"),
    ("empty", "", None, "§12.5.3 empty field: identity"),
    ("spaces", " gzip ; q=0.5 ,br;q=0.4", "gzip", "§12.5.3 OWS"),
    ("case-insensitive", "GZIP", "gzip", "§8.4.1 codings are case-insensitive"),
    ("case-insensitive-q", "GzIp, Br;Q=0.1", "gzip", "§5.6.6 parameter names are case-insensitive"),
    ("identity-preferred", "gzip;q=0.5, identity", None, "§12.5.3 identity has the higher q"),
    ("equal-q-below-one", "br;q=0.5, gzip;q=0.5", "br", "§12.4.2 equal q: br preferred (spec)"),
    ("q-zero-decimals", "gzip;q=0.000, br;q=0", None, "§12.4.2 q=0.000 is q=0"),
    ("star-zero", "*;q=0", None, "§12.5.3 nothing acceptable: no content coding"),
    ("star-zero-but-gzip", "gzip;q=0.5, *;q=0", "gzip", "§12.5.3 the listed coding beats *"),
]
SUFFIX = {None: "", "gzip": ".gz", "br": ".br"}


@pytest.mark.parametrize(("accept", "coding", "section"), **table(ENCODING_ROWS))
def test_precompressed_sibling_by_accept_encoding(
    server_for: ServerFor, tree: Tree, accept: str | None, coding: str | None, section: str
) -> None:
    server = server_for(static_app(tree.root))
    headers = [] if accept is None else [("Accept-Encoding", accept)]
    response = fetch(server.port, f"{PREFIX}/app.js", headers)
    expected = tree.files["app.js" + SUFFIX[coding]]
    assert response.status == 200
    assert response.header("content-encoding") == coding, section
    assert response.body == expected
    assert response.header("content-length") == str(len(expected))
    assert response.header("content-type") == JS_TYPE, "§8.4: the original's type"
    assert "accept-encoding" in vary_tokens(response), "§12.5.5"
    assert is_strong_etag(response.header("etag"))


@pytest.mark.parametrize(
    ("accept", "coding"),
    [("br", None), ("br, gzip", "gzip"), ("*", "gzip"), ("gzip;q=0", None)],
    ids=["br-absent", "gzip", "star", "refused"],
)
def test_only_a_gzip_sibling(server_for: ServerFor, tree: Tree, accept: str, coding: str | None) -> None:
    """style.css has a .gz sibling and no .br: a coding without a sibling is never claimed."""
    server = server_for(static_app(tree.root))
    response = fetch(server.port, f"{PREFIX}/style.css", [("Accept-Encoding", accept)])
    assert response.header("content-encoding") == coding
    assert response.body == tree.files["style.css" + SUFFIX[coding]]
    assert response.header("content-type") == "text/css; charset=utf-8"


def test_each_representation_has_its_own_etag(server_for: ServerFor, tree: Tree) -> None:
    """§8.8.3: a strong tag names one representation; the 304 of §13.1.2 follows the one chosen."""
    server = server_for(static_app(tree.root))
    tags: dict[str | None, str] = {}
    for coding, accept in ((None, "identity"), ("gzip", "gzip"), ("br", "br")):
        response = fetch(server.port, f"{PREFIX}/app.js", [("Accept-Encoding", accept)])
        assert response.header("content-encoding") == coding
        tags[coding] = response.header("etag") or ""
        assert is_strong_etag(tags[coding])
    assert len(set(tags.values())) == 3, tags
    cached = fetch(server.port, f"{PREFIX}/app.js", [("Accept-Encoding", "gzip"), ("If-None-Match", tags["gzip"])])
    assert cached.status == 304
    assert cached.header("etag") == tags["gzip"]
    assert "accept-encoding" in vary_tokens(cached)
    other = fetch(server.port, f"{PREFIX}/app.js", [("Accept-Encoding", "gzip"), ("If-None-Match", tags[None])])
    assert other.status == 200
    assert other.body == tree.files["app.js.gz"]
    ranged = [("Accept-Encoding", "gzip"), ("Range", "bytes=0-3")]
    current = fetch(server.port, f"{PREFIX}/app.js", [*ranged, ("If-Range", tags["gzip"])])
    assert current.status == 206, "§13.1.5: If-Range names the gzip representation chosen"
    assert current.body == tree.files["app.js.gz"][:4]
    stale = fetch(server.port, f"{PREFIX}/app.js", [*ranged, ("If-Range", tags[None])])
    assert stale.status == 200
    assert stale.body == tree.files["app.js.gz"]


@pytest.mark.parametrize(
    ("coding", "value"),
    [("gzip", "bytes=0-9"), ("gzip", "bytes=-20"), ("br", "bytes=5-")],
)
def test_range_applies_to_the_compressed_bytes(server_for: ServerFor, tree: Tree, coding: str, value: str) -> None:
    """§14.1: a range selects bytes of the selected representation, here the sibling."""
    server = server_for(static_app(tree.root))
    data = tree.files["app.js" + SUFFIX[coding]]
    response = fetch(server.port, f"{PREFIX}/app.js", [("Accept-Encoding", coding), ("Range", value)])
    first, _, last = value.removeprefix("bytes=").partition("-")
    if first == "":
        start, end = len(data) - int(last), len(data) - 1
    else:
        start, end = int(first), int(last) if last else len(data) - 1
    assert response.status == 206
    assert response.header("content-encoding") == coding
    assert response.header("content-range") == f"bytes {start}-{end}/{len(data)}"
    assert response.body == data[start : end + 1]
    assert "accept-encoding" in vary_tokens(response)


@pytest.mark.parametrize(("name", "content_type"), [("app.js.gz", "application/gzip"), ("app.js.br", None)])
def test_a_sibling_asked_for_directly_is_a_plain_file(
    server_for: ServerFor, tree: Tree, name: str, content_type: str | None
) -> None:
    """A .gz file named in the URL is that file: no Content-Encoding, or a client would unpack it."""
    server = server_for(static_app(tree.root))
    response = fetch(server.port, f"{PREFIX}/{name}", [("Accept-Encoding", "gzip, br")])
    assert response.status == 200
    assert response.header("content-encoding") is None
    assert response.body == tree.files[name]
    if content_type is not None:
        assert response.header("content-type") == content_type


def test_precompressed_off_serves_identity(server_for: ServerFor, tree: Tree) -> None:
    server = server_for(static_app(tree.root, precompressed=False))
    response = fetch(server.port, f"{PREFIX}/app.js", [("Accept-Encoding", "gzip, br")])
    assert response.status == 200
    assert response.header("content-encoding") is None
    assert response.body == APP_JS


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed (make test installs it)")
def test_curl_unpacks_the_gzip_sibling_and_fetches_a_range(server_for: ServerFor, tree: Tree) -> None:
    """A real client decodes the .gz sibling to the original, and -r asks for a range."""
    server = server_for(static_app(tree.root))
    url = f"{server.url}{PREFIX}"
    unpacked = subprocess.run(
        ["curl", "-sS", "--fail", "--compressed", "-H", "Accept-Encoding: gzip", f"{url}/app.js"],
        capture_output=True, timeout=10, check=True,
    )
    assert unpacked.stdout == APP_JS
    ranged = subprocess.run(
        ["curl", "-sS", "--fail", "-r", "100-199", "-w", "%{http_code}", "-o", "-", f"{url}/medium.bin"],
        capture_output=True, timeout=10, check=True,
    )
    assert ranged.stdout == tree.files["medium.bin"][100:200] + b"206"


# -- 8. changes on disk -------------------------------------------------------------------------


@pytest.mark.parametrize("config", [{}, {"static_cache_size": 0}], ids=["cached", "cache-off"])
def test_a_changed_file_is_served_fresh(server_for: ServerFor, tmp_path: Path, config: dict[str, Any]) -> None:
    """§8.8.3: a new ETag (and Last-Modified) once the file changes; never stale bytes."""
    first = b"A" * 100
    write_tree(tmp_path, {"note.txt": first})
    server = server_for(static_app(tmp_path), **config)
    path = tmp_path / "note.txt"
    seen = fetch(server.port, f"{PREFIX}/note.txt")
    assert seen.body == first
    tags = [seen.header("etag")]

    # Same size, new bytes, mtime moved on.
    second = b"B" * 100
    path.write_bytes(second)
    os.utime(path, (MTIME + 5, MTIME + 5))
    seen = fetch(server.port, f"{PREFIX}/note.txt")
    assert seen.body == second
    assert seen.header("last-modified") == formatdate(MTIME + 5, usegmt=True)
    assert seen.header("etag") not in tags
    tags.append(seen.header("etag"))
    stale = fetch(server.port, f"{PREFIX}/note.txt", [("If-None-Match", tags[0] or "")])
    assert stale.status == 200 and stale.body == second

    # New size, the same mtime.
    third = b"C" * 150
    path.write_bytes(third)
    os.utime(path, (MTIME + 5, MTIME + 5))
    seen = fetch(server.port, f"{PREFIX}/note.txt")
    assert seen.body == third
    assert seen.header("etag") not in tags
    tags.append(seen.header("etag"))

    # Replaced by another file of the same size and mtime (a new inode): the bytes are new.
    fourth = b"D" * 150
    replacement = tmp_path / "replacement.tmp"
    replacement.write_bytes(fourth)
    os.utime(replacement, (MTIME + 5, MTIME + 5))
    os.replace(replacement, path)
    seen = fetch(server.port, f"{PREFIX}/note.txt")
    assert seen.body == fourth

    # Removed: 404.
    path.unlink()
    assert fetch(server.port, f"{PREFIX}/note.txt").status == 404


def cached_app(root: Path) -> tuple[App, StaticFiles]:
    """As `static_app`, with the StaticFiles itself, to look into its cache."""
    app = App()
    files = StaticFiles(root)
    files.mount(app, PREFIX)

    @app.get("/plain")
    def plain(request: Request) -> str:
        return "plain"

    return app, files


def test_the_cache_drops_the_least_recently_used_file(server_for: ServerFor, tmp_path: Path) -> None:
    """Room for two files: the one read again and again stays in memory, the one read once
    and never since goes when a third comes, although it came in later."""
    write_tree(tmp_path, {name: name.encode() * 200 for name in ("often", "once", "third")})  # 1,000 bytes each
    app, files = cached_app(tmp_path)
    server = server_for(app, static_cache_size=2500)
    with Connection(server.port) as connection:
        for name in ("often", "once", "often", "often", "often", "third"):
            connection.send(request_bytes(f"{PREFIX}/{name}"))
            assert connection.read_response().body == name.encode() * 200
    remembered = files._files  # noqa: SLF001 - what is in memory is not visible on the wire
    assert list(remembered) == ["often", "third"], "the least recently used one went"
    assert files._cached_bytes == 2000  # noqa: SLF001


def test_a_file_larger_than_the_cache_does_not_empty_it(server_for: ServerFor, tmp_path: Path) -> None:
    """A file under static_cache_file_size but over static_cache_size is sent from disk;
    the files in memory stay."""
    write_tree(tmp_path, {"small": b"s" * 1000, "large": b"L" * 3000})
    app, files = cached_app(tmp_path)
    server = server_for(app, static_cache_size=2500)
    for name, size in (("small", 1000), ("large", 3000), ("large", 3000)):
        assert len(fetch(server.port, f"{PREFIX}/{name}").body) == size
    remembered = files._files  # noqa: SLF001
    assert remembered["small"].body is not None
    assert remembered["large"].body is None
    assert files._cached_bytes == 1000  # noqa: SLF001


# -- 9. sending big files -----------------------------------------------------------------------


def get_big(connection: Connection, tree: Tree, name: str) -> None:
    """Read one whole answer for `name` from `connection` and check its bytes."""
    size, digest = tree.big[name]
    response = read_head(connection)
    assert response.status == 200
    assert response.header("content-length") == str(size)
    assert drain(connection, size) == (digest, size)


@pytest.mark.parametrize("name", [BIG4, pytest.param(BIG64, marks=slow)])
@pytest.mark.parametrize("loop", ["uvloop", "asyncio"])
def test_a_big_file_arrives_whole(server_for: ServerFor, tree: Tree, loop: str, name: str) -> None:
    server = server_for(static_app(tree.root), loop=loop)
    with Connection(server.port) as connection:
        connection.send(request_bytes(f"{PREFIX}/{name}") + GET_PLAIN)
        get_big(connection, tree, name)
        assert connection.read_response().body == b"plain"


@slow
def test_keep_alive_carries_several_big_files(server_for: ServerFor, tree: Tree) -> None:
    server = server_for(static_app(tree.root))
    with Connection(server.port) as connection:
        for name in (BIG64, BIG4, BIG4):
            connection.send(request_bytes(f"{PREFIX}/{name}"))
            get_big(connection, tree, name)
        connection.send(GET_PLAIN)
        assert connection.read_response().body == b"plain"


@pytest.mark.parametrize("loop", ["uvloop", "asyncio"])
def test_pipelined_answers_keep_their_order(server_for: ServerFor, tree: Tree, loop: str) -> None:
    """§9.3 of RFC 9112: answers in request order, each framed exactly, whatever sent them."""
    server = server_for(static_app(tree.root), loop=loop)
    big = tree.data(BIG4)
    first, last = 1000, 2_000_999
    with Connection(server.port) as connection:
        connection.send(
            request_bytes(f"{PREFIX}/{BIG4}")
            + request_bytes(f"{PREFIX}/hello.txt")
            + request_bytes(f"{PREFIX}/{BIG4}", [("Range", f"bytes={first}-{last}")])
            + GET_PLAIN
        )
        get_big(connection, tree, BIG4)
        small = connection.read_response()
        assert (small.status, small.body) == (200, tree.files["hello.txt"])
        ranged = read_head(connection)
        assert ranged.status == 206
        assert ranged.header("content-range") == f"bytes {first}-{last}/{len(big)}"
        assert drain(connection, last - first + 1) == (sha256(big[first : last + 1]), last - first + 1)
        plain = connection.read_response()
        assert (plain.status, plain.body) == (200, b"plain")


@slow
def test_a_slow_reader_does_not_hold_up_others(server_for: ServerFor, tree: Tree) -> None:
    server = server_for(static_app(tree.root))
    with SmallWindow(server.port, rcvbuf=16384, timeout=10) as slow_client:
        slow_client.send(request_bytes(f"{PREFIX}/{BIG64}"))
        head = read_head(slow_client)
        assert head.header("content-length") == str(tree.big[BIG64][0])
        latencies = []
        with Connection(server.port) as quick:
            for _ in range(50):
                started = time.perf_counter()
                quick.send(request_bytes(f"{PREFIX}/hello.txt"))
                assert quick.read_response().body == tree.files["hello.txt"]
                latencies.append(time.perf_counter() - started)
            quick.send(request_bytes(f"{PREFIX}/{BIG4}"))
            get_big(quick, tree, BIG4)
        assert max(latencies) < 0.25, f"slowest small answer {max(latencies):.3f} s"
        # The stalled transfer resumes where it stopped and ends exact.
        size, digest = tree.big[BIG64]
        assert drain(slow_client, size) == (digest, size)


@slow
@pytest.mark.parametrize("loop", ["uvloop", "asyncio"])
def test_a_client_that_stops_reading_a_big_file_is_cut(server_for: ServerFor, tree: Tree, loop: str) -> None:
    server = server_for(static_app(tree.root), write_timeout=1, loop=loop)
    state = server.server.state
    assert state is not None
    size = tree.big[BIG64][0]
    with SmallWindow(server.port, rcvbuf=4096, timeout=10) as stalled:
        stalled.send(request_bytes(f"{PREFIX}/{BIG64}"))
        started = time.monotonic()
        time.sleep(0.3)
        assert state.connections, "the connection ended before the write timeout"
        deadline = started + 6
        while state.connections and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not state.connections, "a client that never reads was not cut"
        assert time.monotonic() - started > 0.8
        received, ended = read_to_eof(stalled, 5)
        assert ended
        assert received < size
    assert fetch(server.port, f"{PREFIX}/hello.txt").body == tree.files["hello.txt"]


# -- 10. files that change size while they are sent --------------------------------------------


@slow
@pytest.mark.parametrize("loop", ["uvloop", "asyncio"])
def test_a_file_that_shrinks_while_sent_ends_the_connection(server_for: ServerFor, tmp_path: Path, loop: str) -> None:
    size = 64 * MiB
    data = random_bytes(size, 99)
    write_tree(tmp_path, {"shrinks.bin": data, "hello.txt": b"still here\n"})
    server = server_for(static_app(tmp_path), loop=loop)
    with SmallWindow(server.port, rcvbuf=65536, timeout=10) as connection:
        connection.send(request_bytes(f"{PREFIX}/shrinks.bin"))
        head = read_head(connection)
        assert head.header("content-length") == str(size)
        assert drain(connection, MiB) == (sha256(data[:MiB]), MiB)
        os.truncate(tmp_path / "shrinks.bin", 1000)
        truncated_at = time.monotonic()
        received, ended = read_to_eof(connection, 10)
        assert ended, "the client hangs: no EOF after the file shrank"
        assert time.monotonic() - truncated_at < 5
        assert MiB + received < size, "more bytes than the file still had"
    assert fetch(server.port, f"{PREFIX}/hello.txt").body == b"still here\n"
    assert fetch(server.port, f"{PREFIX}/shrinks.bin").body == data[:1000]


@slow
@pytest.mark.parametrize("loop", ["uvloop", "asyncio"])
def test_a_file_that_grows_while_sent_sends_content_length_bytes(
    server_for: ServerFor, tmp_path: Path, loop: str
) -> None:
    size = 64 * MiB
    data = random_bytes(size, 98)
    write_tree(tmp_path, {"grows.bin": data, "hello.txt": b"still here\n"})
    server = server_for(static_app(tmp_path), loop=loop)
    with SmallWindow(server.port, rcvbuf=65536, timeout=10) as connection:
        connection.send(request_bytes(f"{PREFIX}/grows.bin"))
        head = read_head(connection)
        assert head.header("content-length") == str(size)
        assert drain(connection, MiB) == (sha256(data[:MiB]), MiB)
        with open(tmp_path / "grows.bin", "ab") as file:
            file.write(b"\xff" * (4 * MiB))
        assert drain(connection, size - MiB) == (sha256(data[MiB:]), size - MiB)
        connection.send(request_bytes(f"{PREFIX}/hello.txt"))
        after = connection.read_response()  # fails on any byte past Content-Length
        assert (after.status, after.body) == (200, b"still here\n")


# -- 6 and 11. the CLI as another user, and under strace ----------------------------------------


@dataclass
class CliServer:
    process: subprocess.Popen[str]
    port: int
    output: OutputCollector

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def start_static_cli(directory: Path, *flags: str, wrapper: Sequence[str] = ()) -> CliServer:
    """`python -m wirespeed --static DIR` behind an optional wrapper command (setpriv, strace),
    once it prints its startup line."""
    port = free_port()
    process, _ = start_cli(
        "--static", str(directory), "--port", str(port), *flags, cwd=directory, wrapper=wrapper, timeout=20
    )
    return CliServer(process, port, OutputCollector(process))


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A served tree that any user can traverse (pytest's own tmp dirs are private to root)."""
    root = Path(tempfile.mkdtemp(prefix="wirespeed-static-"))
    root.chmod(0o755)
    try:
        yield root
    finally:
        for path in root.rglob("*"):
            if path.is_file():
                path.chmod(0o644)
        shutil.rmtree(root)


def unprivileged_wrapper() -> list[str]:
    """Run as nobody when we are root (root reads a mode 000 file); as ourselves otherwise."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root and setpriv (util-linux) is missing: cannot drop privileges")
    return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def test_an_unreadable_file_is_403(backend: str, shared_dir: Path) -> None:
    """§15.5.4: a file the server process may not open is 403; a chmod is seen at once."""
    write_tree(shared_dir, {"secret.txt": b"top secret\n", "open.txt": b"open\n", "docs/index.html": b"docs\n"})
    for path in shared_dir.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    secret = shared_dir / "secret.txt"
    secret.chmod(0o000)
    cli = start_static_cli(shared_dir, "--parser", backend, wrapper=unprivileged_wrapper())
    try:
        status = Path(f"/proc/{cli.process.pid}/status").read_text().splitlines()
        uid_line = next(line for line in status if line.startswith("Uid:"))
        if os.geteuid() == 0:
            assert uid_line.split()[1:] == ["65534"] * 4, f"the server did not drop root: {uid_line}"
        with httpx.Client(base_url=cli.url) as client:
            forbidden = client.get("/secret.txt")
            assert forbidden.status_code == 403
            assert b"top secret" not in forbidden.content
            assert client.get("/open.txt").content == b"open\n"
            redirect = client.get("/docs?q=1")
            assert (redirect.status_code, redirect.headers.get("location")) == (301, "/docs/?q=1")
            assert client.get("/docs/").content == b"docs\n"
            secret.chmod(0o644)
            assert client.get("/secret.txt").content == b"top secret\n"
            secret.chmod(0o000)
            assert client.get("/secret.txt").status_code == 403
    finally:
        secret.chmod(0o644)
        stop_cli(cli.process)


@slow
@pytest.mark.skipif(STRACE is None, reason="strace is not installed (make test must install it)")
@pytest.mark.parametrize(
    ("name", "flags", "via"),
    [
        (BIG4, ("--loop", "uvloop"), "sendfile"),
        (BIG4, ("--loop", "asyncio"), "sendfile"),
        ("medium.bin", ("--loop", "uvloop"), "sendfile"),  # above static_cache_file_size
        ("digits.txt", ("--loop", "asyncio", "--static-cache-size", "0"), "sendfile"),
        ("digits.txt", ("--loop", "uvloop"), "memory"),  # the small-file cache: one write
    ],
    ids=["big-uvloop", "big-asyncio", "medium-uvloop", "small-cache-off-asyncio", "small-cached"],
)
def test_file_bodies_go_out_with_sendfile(
    backend: str, tree: Tree, tmp_path: Path, name: str, flags: tuple[str, ...], via: str
) -> None:
    """Bodies above the cache threshold, and all of them with the cache off, never pass
    through Python: strace sees sendfile(2) calls that add up to the file, and no write-like
    call anywhere near its size. A cached small file goes out from memory, with no sendfile
    (which shows the "cached" rows of the range table take the other path)."""
    assert STRACE is not None
    data = tree.data(name)
    trace_file = tmp_path / "trace.txt"
    calls_traced = "trace=sendfile," + ",".join(WRITE_CALLS)
    wrapper = [STRACE, "-f", "-qq", "-s", "0", "-e", "signal=none", "-e", calls_traced, "-o", str(trace_file)]
    cli = start_static_cli(tree.root, "--parser", backend, *flags, wrapper=wrapper)
    try:
        with Connection(cli.port, timeout=15) as connection:
            connection.send(request_bytes(f"/{name}"))
            response = read_head(connection)
            assert response.status == 200
            assert drain(connection, len(data)) == (sha256(data), len(data))
    finally:
        exit_code = stop_cli(cli.process, child_pid(cli.process.pid))
    assert exit_code == 0, cli.output.text
    calls = traced_bytes(trace_file.read_text())
    sent = sum(calls.get("sendfile", []))
    written = [count for call in WRITE_CALLS for count in calls.get(call, [])]
    counts = {call: len(sizes) for call, sizes in calls.items()}
    if via == "memory":
        assert sent == 0, f"a cached file went out with sendfile ({sent} bytes)"
        assert max(written, default=0) >= len(data), f"no write-like call carried the body; calls: {counts}"
        return
    assert sent == len(data), f"sendfile carried {sent} bytes of {len(data)}; calls: {counts}"
    assert max(written, default=0) < min(len(data), 64 * 1024), f"a write-like call carried {max(written)} bytes"
    if len(data) >= MiB:
        assert sum(written) < len(data) // 4, f"write-like calls carried {sum(written)} bytes in all"


@slow
@pytest.mark.skipif(STRACE is None, reason="strace is not installed (make test must install it)")
@pytest.mark.parametrize("loop", ["uvloop", "asyncio"])
def test_the_parts_of_a_multipart_answer_go_out_with_sendfile(backend: str, tree: Tree, tmp_path: Path, loop: str) -> None:
    """The parts of a multipart/byteranges answer from a file sent from disk never pass
    through Python either: sendfile(2) carries exactly the bytes of the ranges, and only the
    parts' own few lines go by write."""
    assert STRACE is not None
    data = tree.data(BIG4)
    spans = [(MiB, 3 * MiB - 1), (0, 99_999), (4 * MiB - 500_000, 4 * MiB - 1)]
    trace_file = tmp_path / "trace.txt"
    calls_traced = "trace=sendfile," + ",".join(WRITE_CALLS)
    wrapper = [STRACE, "-f", "-qq", "-s", "0", "-e", "signal=none", "-e", calls_traced, "-o", str(trace_file)]
    cli = start_static_cli(tree.root, "--parser", backend, "--loop", loop, wrapper=wrapper)
    try:
        with Connection(cli.port, timeout=15) as connection:
            value = "bytes=" + ",".join(f"{first}-{last}" for first, last in spans)
            connection.send(request_bytes(f"/{BIG4}", [("Range", value)]))
            response = connection.read_response()
    finally:
        exit_code = stop_cli(cli.process, child_pid(cli.process.pid))
    assert exit_code == 0, cli.output.text
    parts = multipart_parts(response.header("content-type") or "", response.body)
    assert [part for _, part in parts] == [data[first : last + 1] for first, last in spans]
    calls = traced_bytes(trace_file.read_text())
    written = [count for call in WRITE_CALLS for count in calls.get(call, [])]
    assert sum(calls.get("sendfile", [])) == sum(last + 1 - first for first, last in spans)
    assert max(written, default=0) < 4096, f"a write-like call carried {max(written)} bytes"


def test_a_cache_control_value_cannot_split_the_response(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="invalid header value"):
        StaticFiles(tmp_path, cache_control="max-age=1\r\nSet-Cookie: a=b")
