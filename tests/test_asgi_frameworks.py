"""Starlette and FastAPI applications served by wirespeed's ASGI mode, end to end.

Strategy: this module owns the proof that real framework applications work under wirespeed as
their users write them. The apps of tests/asgi_apps.py run on a live server (both parser
backends, through `server_for`, which detects the ASGI app) and are driven by httpx and by raw
sockets where the bytes on the wire matter: chunked streaming, file bodies sent through
`http.response.pathsend`, StaticFiles, background tasks that run after the response, CORS and
GZip middleware, lifespan state reaching `request.state`, custom exception handlers, large
streamed uploads, HEAD, keep-alive, pipelining, `Connection: close` and `Expect: 100-continue`.
Each test asserts what would break if the feature did; what the server puts in the scope, field
by field, is tests/test_asgi_differential.py's.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import socket
import struct
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_apps import (
    ALLOWED_ORIGIN,
    LARGE_TEXT,
    STREAM_PIECES,
    Probe,
    fastapi_app,
    starlette_app,
)
from http_wire import Connection, exchange

ServerFor = Callable[..., Any]

WAIT = 5.0  # seconds a raw client waits for any answer
SMALL_FILE = bytes(range(256)) * 4 + b"tail"  # 1,028 bytes
BIG_FILE_SIZE = 2 * 1024 * 1024
UPLOAD_SIZE = 8 * 1024 * 1024
INDEX_HTML = b"<!doctype html><title>index</title><p>static index</p>\n"
STYLE_CSS = b"body { color: #333; }\n"


@dataclass(frozen=True)
class Dirs:
    files: Path
    static: Path
    big: bytes


@pytest.fixture(scope="module")
def dirs(tmp_path_factory: pytest.TempPathFactory) -> Dirs:
    root = tmp_path_factory.mktemp("asgi-apps")
    files, static = root / "files", root / "static"
    files.mkdir()
    static.mkdir()
    big = os.urandom(BIG_FILE_SIZE)
    (files / "small.bin").write_bytes(SMALL_FILE)
    (files / "big.bin").write_bytes(big)
    (static / "index.html").write_bytes(INDEX_HTML)
    (static / "style.css").write_bytes(STYLE_CSS)
    return Dirs(files, static, big)


@pytest.fixture
def probe() -> Iterator[Probe]:
    probe = Probe()
    yield probe
    for gate in probe.gates.values():  # let nothing wait on a gate after the test
        gate.set()


@pytest.fixture
def star(server_for: ServerFor, probe: Probe, dirs: Dirs) -> Any:
    return server_for(starlette_app(probe, dirs.files, dirs.static))


@pytest.fixture
def fast(server_for: ServerFor, probe: Probe) -> Any:
    return server_for(fastapi_app(probe))


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=WAIT) as client:
        yield client


def get(target: str, fields: str = "", method: str = "GET") -> bytes:
    return f"{method} {target} HTTP/1.1\r\nHost: test\r\n{fields}\r\n".encode()


def wait_until(condition: Callable[[], bool], timeout: float = WAIT) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


# -- JSON, path and query parameters -----------------------------------------------------------


def test_starlette_json_and_path_and_query_parameters(star: Any, client: httpx.Client) -> None:
    home = client.get(f"{star.url}/")
    assert home.status_code == 200
    assert home.headers["content-type"] == "application/json"
    assert home.json() == {"framework": "starlette", "path": "/"}

    posted = client.post(f"{star.url}/json", json={"b": [1, 2], "a": "ü"})
    assert posted.status_code == 201
    assert posted.json() == {"received": {"b": [1, 2], "a": "ü"}, "keys": ["a", "b"]}

    user = client.get(f"{star.url}/users/42", params=[("tag", "x"), ("tag", "y y"), ("sort", "desc")])
    assert user.json() == {"user_id": 42, "type": "int", "tags": ["x", "y y"], "sort": "desc"}
    # The int converter does not match a word: the route is not found.
    assert client.get(f"{star.url}/users/abc").status_code == 404


def test_fastapi_json_validation(fast: Any, client: httpx.Client) -> None:
    created = client.post(f"{fast.url}/items", json={"name": "lamp", "price": 10.0, "tags": ["home"]})
    assert created.status_code == 201
    assert created.json() == {"item": {"name": "lamp", "price": 10.0, "tags": ["home"]}, "price_with_tax": 12.0}

    invalid = client.post(f"{fast.url}/items", json={"name": "", "price": -1})
    assert invalid.status_code == 422
    assert sorted(tuple(error["loc"]) for error in invalid.json()["detail"]) == [("body", "name"), ("body", "price")]

    not_json = client.post(f"{fast.url}/items", content=b"{not json", headers={"content-type": "application/json"})
    assert not_json.status_code == 422


def test_fastapi_path_and_query_parameters(fast: Any, client: httpx.Client) -> None:
    item = client.get(f"{fast.url}/items/7?q=lamp&limit=3&tag=a&tag=b%20c")
    assert item.status_code == 200
    assert item.json() == {"item_id": 7, "q": "lamp", "limit": 3, "tags": ["a", "b c"]}
    assert client.get(f"{fast.url}/items/8").json() == {"item_id": 8, "q": None, "limit": 10, "tags": []}
    bad = client.get(f"{fast.url}/items/seven?limit=many")
    assert bad.status_code == 422
    assert sorted(tuple(error["loc"]) for error in bad.json()["detail"]) == [("path", "item_id"), ("query", "limit")]

    # A percent-encoded UTF-8 segment arrives decoded in the path and as sent in raw_path.
    (raw,) = exchange(fast.port, get("/names/J%C3%BCrgen%20M%C3%BCller?x=1"))
    assert raw.status == 200
    named = json.loads(raw.body)
    assert named["name"] == "Jürgen Müller"
    assert named["raw_path"] == "/names/J%C3%BCrgen%20M%C3%BCller"


def test_fragment_in_the_target_reaches_neither_path_nor_query(star: Any) -> None:
    """A fragment is no part of a request-target (RFC 9112 §3.2, RFC 3986 §3.5): a server strips
    it or refuses the request, and the app never routes or parses it."""
    for target, expected in (("/users/42#top", None), ("/users/42?sort=asc#top", "asc")):
        (response,) = exchange(star.port, get(target))
        if response.status != 400:
            assert response.status == 200, (target, response.status, response.body)
            assert json.loads(response.body) == {"user_id": 42, "type": "int", "tags": [], "sort": expected}


def test_root_path_reaches_the_app(server_for: ServerFor, probe: Probe, client: httpx.Client) -> None:
    server = server_for(fastapi_app(probe), root_path="/api")
    state = client.get(f"{server.url}/state")
    assert state.status_code == 200
    assert state.json() == {"db": {"answer": 42}, "root_path": "/api"}
    named = client.get(f"{server.url}/names/x")
    assert named.json()["url"] == f"{server.url}/api/names/x"


# -- forms and multipart -----------------------------------------------------------------------


def test_fastapi_urlencoded_form(fast: Any, client: httpx.Client) -> None:
    login = client.post(f"{fast.url}/login", data={"username": "zoë & co", "remember": "true"})
    assert login.status_code == 200
    assert login.json() == {"username": "zoë & co", "remember": True}
    missing = client.post(f"{fast.url}/login", data={"remember": "true"})
    assert missing.status_code == 422


def test_fastapi_multipart_upload_with_files(fast: Any, client: httpx.Client) -> None:
    big = os.urandom(300_000)
    files = [
        ("files", ("notes.txt", b"plain notes\n", "text/plain")),
        ("files", ("blob.bin", big, "application/octet-stream")),
        ("note", ("note.txt", "grüße".encode(), "text/plain")),
    ]
    answer = client.post(f"{fast.url}/upload", data={"title": "two files"}, files=files)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "title": "two files",
        "files": [
            {"filename": "notes.txt", "content_type": "text/plain", "size": 12, "sha256": hashlib.sha256(b"plain notes\n").hexdigest()},
            {"filename": "blob.bin", "content_type": "application/octet-stream", "size": len(big), "sha256": hashlib.sha256(big).hexdigest()},
        ],
        "note": "grüße",
    }


# -- streaming and files -----------------------------------------------------------------------


def test_streaming_response_is_chunked_on_the_wire(star: Any, probe: Probe) -> None:
    with Connection(star.port, timeout=WAIT) as connection:
        connection.send(get("/stream"))
        head = connection._read_until(b"\r\n\r\n")
        raw_body = connection._read_until(b"0\r\n\r\n") + b"0\r\n\r\n"
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    fields = head.lower().split(b"\r\n")
    assert b"transfer-encoding: chunked" in fields
    assert not any(field.startswith(b"content-length:") for field in fields)
    # One chunk per body message: the app awaits between pieces.
    assert raw_body == b"".join(b"%x\r\n%b\r\n" % (len(piece), piece) for piece in STREAM_PIECES) + b"0\r\n\r\n"
    assert probe.sent_types("/stream") == ["http.response.start"] + ["http.response.body"] * (len(STREAM_PIECES) + 1)


def test_streaming_response_reaches_the_client_before_it_ends(star: Any, probe: Probe) -> None:
    with Connection(star.port, timeout=WAIT) as connection:
        connection.send(get("/gated-stream?token=s1"))
        connection._read_until(b"\r\n\r\n")
        # The first piece arrives while the app still waits for the gate: nothing is buffered.
        assert connection._read_until(b"first piece\n\r\n") == b"c\r\n"
        assert not probe.gate("s1").is_set()
        probe.gate("s1").set()
        assert connection._read_until(b"0\r\n\r\n") == b"d\r\nsecond piece\n\r\nb\r\nlast piece\n\r\n"


def test_file_response_goes_out_through_pathsend(star: Any, probe: Probe, dirs: Dirs) -> None:
    (small,) = exchange(star.port, get("/files/small.bin"))
    assert small.status == 200
    assert small.header("content-length") == str(len(SMALL_FILE))
    assert small.header("transfer-encoding") is None
    assert small.body == SMALL_FILE
    assert probe.sent_types("/files/small.bin") == ["http.response.start", "http.response.pathsend"]


def test_large_file_response_arrives_intact(star: Any, probe: Probe, dirs: Dirs, client: httpx.Client) -> None:
    # httpx accepts gzip: GZipMiddleware lets a pathsend response through as it is.
    response = client.get(f"{star.url}/files/big.bin")
    assert probe.sent_types("/files/big.bin") == ["http.response.start", "http.response.pathsend"]
    assert response.status_code == 200
    assert response.headers["content-length"] == str(BIG_FILE_SIZE)
    assert "transfer-encoding" not in response.headers
    assert "content-encoding" not in response.headers
    assert len(response.content) == BIG_FILE_SIZE
    assert hashlib.sha256(response.content).digest() == hashlib.sha256(dirs.big).digest()
    # The connection is still good for the next request.
    assert client.get(f"{star.url}/files/small.bin").content == SMALL_FILE


def test_file_response_head_has_length_and_no_body(star: Any) -> None:
    with Connection(star.port, timeout=WAIT) as connection:
        connection.send(get("/files/big.bin", method="HEAD") + get("/files/small.bin"))
        head = connection.read_response("HEAD")
        after = connection.read_response()
    assert head.status == 200
    assert head.header("content-length") == str(BIG_FILE_SIZE)
    assert head.body == b""
    assert after.body == SMALL_FILE  # nothing of the big file leaked in between


def test_static_files(star: Any, client: httpx.Client) -> None:
    css = client.get(f"{star.url}/static/style.css")
    assert css.status_code == 200
    assert css.content == STYLE_CSS
    assert css.headers["content-type"].startswith("text/css")
    assert css.headers["content-length"] == str(len(STYLE_CSS))
    index = client.get(f"{star.url}/static/")
    assert index.status_code == 200
    assert index.content == INDEX_HTML
    assert client.get(f"{star.url}/static/missing.txt").status_code == 404
    assert client.get(f"{star.url}/static/../asgi_apps.py").status_code == 404
    revalidated = client.get(f"{star.url}/static/style.css", headers={"If-None-Match": css.headers["etag"]})
    assert revalidated.status_code == 304
    assert revalidated.content == b""


# -- background tasks --------------------------------------------------------------------------


@pytest.mark.parametrize("framework", ["starlette", "fastapi"])
def test_background_task_runs_after_the_response(
    framework: str, server_for: ServerFor, probe: Probe, dirs: Dirs, client: httpx.Client
) -> None:
    app = starlette_app(probe, dirs.files, dirs.static) if framework == "starlette" else fastapi_app(probe)
    server = server_for(app)
    # The task waits for a gate the test holds: the answer comes while the task has not run.
    answer = client.get(f"{server.url}/background", params={"token": "b1"})
    assert answer.status_code == 200
    assert "b1" in answer.text
    assert probe.background == []
    probe.gate("b1").set()
    # A later request sees what the task did.
    assert wait_until(lambda: client.get(f"{server.url}/background/status").json()["done"] == ["b1"])


# -- middleware --------------------------------------------------------------------------------


def test_cors_preflight_and_simple_request(star: Any, client: httpx.Client) -> None:
    preflight = client.options(
        f"{star.url}/json",
        headers={"Origin": ALLOWED_ORIGIN, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "X-Custom"},
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert set(preflight.headers["access-control-allow-methods"].split(", ")) == {"GET", "POST", "PUT"}
    assert "x-custom" in preflight.headers["access-control-allow-headers"].lower()
    assert preflight.headers["access-control-max-age"] == "600"

    refused = client.options(
        f"{star.url}/json", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    )
    assert refused.status_code == 400
    assert "access-control-allow-origin" not in refused.headers

    simple = client.get(f"{star.url}/", headers={"Origin": ALLOWED_ORIGIN})
    assert simple.status_code == 200
    assert simple.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert simple.headers["access-control-expose-headers"] == "X-Exposed"
    foreign = client.get(f"{star.url}/", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in foreign.headers


def test_gzip_compresses_a_large_body_when_asked(star: Any) -> None:
    expected = LARGE_TEXT.encode()
    with Connection(star.port, timeout=WAIT) as connection:
        connection.send(get("/large-text", "Accept-Encoding: gzip\r\n"))
        compressed = connection.read_response()
        connection.send(get("/large-text"))
        identity = connection.read_response()
    assert compressed.status == 200
    assert compressed.header("content-encoding") == "gzip"
    assert "Accept-Encoding" in (compressed.header("vary") or "")
    assert int(compressed.header("content-length") or 0) == len(compressed.body) < len(expected) // 10
    assert gzip.decompress(compressed.body) == expected
    assert identity.header("content-encoding") is None
    assert identity.body == expected


# -- lifespan ----------------------------------------------------------------------------------


def test_lifespan_state_reaches_request_state(star: Any, probe: Probe, client: httpx.Client) -> None:
    assert probe.lifespan == ["startup"]  # ran before the server took requests
    first = client.get(f"{star.url}/state", params={"who": "ann"}).json()
    second = client.get(f"{star.url}/state", params={"who": "bob"}).json()
    assert first == {"greeting": "hello from lifespan", "hits": ["ann"]}
    # Each request gets a shallow copy of the state: the list it holds is shared.
    assert second == {"greeting": "hello from lifespan", "hits": ["ann", "bob"]}


def test_fastapi_lifespan_state_and_shutdown(server_for: ServerFor, probe: Probe, client: httpx.Client) -> None:
    server = server_for(fastapi_app(probe))
    assert probe.lifespan == ["startup"]
    assert client.get(f"{server.url}/state").json() == {"db": {"answer": 42}, "root_path": ""}
    server.stop()
    assert probe.lifespan == ["startup", "shutdown"]


# -- exception handlers ------------------------------------------------------------------------


def test_starlette_http_exception_handler(star: Any, client: httpx.Client) -> None:
    teapot = client.get(f"{star.url}/teapot")
    assert teapot.status_code == 418
    assert teapot.json() == {"error": "short and stout", "status": 418, "handler": "custom"}
    assert teapot.headers["x-teapot"] == "yes"
    assert teapot.headers["x-handled-by"] == "custom-handler"
    # Routing's own 404 goes through the same handler.
    missing = client.get(f"{star.url}/nowhere")
    assert missing.status_code == 404
    assert missing.json() == {"error": "Not Found", "status": 404, "handler": "custom"}


def test_fastapi_exception_handlers(fast: Any, client: httpx.Client) -> None:
    missing = client.get(f"{fast.url}/items/404")
    assert missing.status_code == 404
    assert missing.json() == {"problem": "no such item", "path": "/items/404"}
    assert missing.headers["x-handled-by"] == "fastapi-handler"
    payment = client.get(f"{fast.url}/pay")
    assert (payment.status_code, payment.json()) == (402, {"pay": 5})


# -- large uploads -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def upload() -> bytes:
    return os.urandom(UPLOAD_SIZE)


def test_large_upload_with_content_length(star: Any, upload: bytes, client: httpx.Client) -> None:
    answer = client.post(f"{star.url}/upload-hash", content=upload)
    assert answer.status_code == 200
    result = answer.json()
    assert (result["size"], result["sha256"]) == (UPLOAD_SIZE, hashlib.sha256(upload).hexdigest())
    assert result["pieces"] > 1  # streamed, not handed over whole


def test_large_upload_chunked(star: Any, upload: bytes, client: httpx.Client) -> None:
    def pieces() -> Iterator[bytes]:
        for start in range(0, UPLOAD_SIZE, 100_000):
            yield upload[start : start + 100_000]

    answer = client.put(f"{star.url}/upload-hash", content=pieces())
    assert answer.status_code == 200
    assert answer.request.headers["transfer-encoding"] == "chunked"
    result = answer.json()
    assert (result["size"], result["sha256"]) == (UPLOAD_SIZE, hashlib.sha256(upload).hexdigest())
    assert result["pieces"] > 1


# -- HEAD --------------------------------------------------------------------------------------


def test_head_on_a_fastapi_route(fast: Any) -> None:
    with Connection(fast.port, timeout=WAIT) as connection:
        connection.send(get("/report"))
        full = connection.read_response()
        connection.send(get("/report", method="HEAD"))
        head = connection.read_response("HEAD")
        # Nothing follows the HEAD answer's head: the next answer starts right after it.
        connection.send(get("/only-get", method="HEAD") + get("/only-get"))
        not_allowed = connection.read_response("HEAD")
        after = connection.read_response()
    assert full.status == head.status == 200
    assert json.loads(full.body) == {"rows": list(range(50)), "title": "report"}
    assert head.body == b""
    assert head.header("content-length") == full.header("content-length") == str(len(full.body))
    assert head.header("content-type") == full.header("content-type") == "application/json"
    assert not_allowed.status == 405
    assert (after.status, json.loads(after.body)) == (200, {"only": "get"})


# -- connection management ---------------------------------------------------------------------


def test_keep_alive_across_requests(star: Any, fast: Any, client: httpx.Client) -> None:
    ports = {client.get(f"{star.url}/who").json()["port"] for _ in range(5)}
    assert len(ports) == 1  # one connection served all five
    with Connection(fast.port, timeout=WAIT) as connection:
        for item_id in range(5):
            connection.send(get(f"/items/{item_id}"))
            response = connection.read_response()
            assert response.header("connection") != "close"
            assert json.loads(response.body)["item_id"] == item_id


def test_pipelined_requests_answered_in_order(star: Any) -> None:
    requests = (
        get("/slow?ms=150")
        + get("/slow?ms=1")
        + b"POST /json HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: 8\r\n\r\n{\"n\": 3}"
        + get("/users/4")
    )
    answers = exchange(star.port, requests, count=4)
    assert [answer.status for answer in answers] == [200, 200, 201, 200]
    assert answers[0].body == b"slow 150"
    assert answers[1].body == b"slow 1"
    assert json.loads(answers[2].body) == {"received": {"n": 3}, "keys": ["n"]}
    assert json.loads(answers[3].body)["user_id"] == 4


def test_connection_close_is_honoured(star: Any) -> None:
    with Connection(star.port, timeout=WAIT) as connection:
        connection.send(get("/", "Connection: close\r\n"))
        response = connection.read_response()
        assert response.status == 200
        assert response.header("connection") == "close"
        assert connection.read_until_close() == b""


def test_http10_request_closes_after_the_answer(fast: Any) -> None:
    with Connection(fast.port, timeout=WAIT) as connection:
        connection.send(b"GET /items/3 HTTP/1.0\r\n\r\n")
        response = connection.read_response()
        assert json.loads(response.body)["item_id"] == 3
        assert connection.read_until_close() == b""


# -- Expect: 100-continue ----------------------------------------------------------------------


def test_100_continue_when_the_app_reads_the_body(star: Any) -> None:
    body = os.urandom(200_000)
    with Connection(star.port, timeout=WAIT) as connection:
        connection.send(
            b"POST /upload-hash HTTP/1.1\r\nHost: test\r\nExpect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(body)
        )
        assert connection._read_until(b"\r\n\r\n") == b"HTTP/1.1 100 Continue"
        connection.send(body)
        final = connection.read_response()
    assert final.status == 200
    assert json.loads(final.body)["sha256"] == hashlib.sha256(body).hexdigest()


def test_no_100_continue_when_the_app_does_not_read(star: Any) -> None:
    with Connection(star.port, timeout=WAIT) as connection:
        connection.send(b"POST /refuse HTTP/1.1\r\nHost: test\r\nExpect: 100-continue\r\nContent-Length: 100000\r\n\r\n")
        final = connection.read_response()  # the final answer comes first, without a 100
    assert final.status == 403
    assert final.body == b"no thanks"
    assert b"100 Continue" not in final.raw_head


def test_client_gone_mid_stream(star: Any, probe: Probe, client: httpx.Client) -> None:
    sock = socket.create_connection(("127.0.0.1", star.port), timeout=WAIT)
    sock.sendall(get("/gated-stream?token=gone"))
    assert b"first piece" in sock.recv(65536)
    # Gone for certain: a reset, not a FIN (after a FIN a client may still be reading).
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()
    time.sleep(0.1)
    probe.gate("gone").set()  # the app now sends to a client that is gone
    # send() raises an OSError (Starlette turns it into ClientDisconnect and stops streaming).
    assert wait_until(lambda: bool(probe.send_errors))
    ((path, error),) = probe.send_errors
    assert path == "/gated-stream"
    assert isinstance(error, OSError), repr(error)
    assert client.get(f"{star.url}/").status_code == 200  # the server goes on


def test_streaming_response_to_http10_is_close_delimited(star: Any) -> None:
    with Connection(star.port, timeout=WAIT) as connection:
        connection.send(b"GET /stream HTTP/1.0\r\n\r\n")
        head = connection._read_until(b"\r\n\r\n")
        fields = head.lower().split(b"\r\n")
        # No chunked coding for an HTTP/1.0 client (RFC 9112 §6.1): the end of the body is the close.
        assert not any(field.startswith((b"transfer-encoding:", b"content-length:")) for field in fields)
        assert connection.read_until_close() == b"".join(STREAM_PIECES)

