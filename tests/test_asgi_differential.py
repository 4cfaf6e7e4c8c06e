"""wirespeed's ASGI mode against uvicorn: the same raw requests, the same app, field by field.

Strategy: this module owns the conformance table of the ASGI HTTP connection scope and its
events. A recording ASGI app keeps, for every request, the scope (every key; the client's port
and the server's port reduced to what is comparable, and of `state` and `extensions` only
their type and keys) and the events its `receive()` gave (type, body bytes, more_body), and
answers in one of a few fixed ways chosen by the request. The same app runs under uvicorn
(in-process, uvloop and httptools, lifespan off) and under wirespeed on both parser backends;
every row of ROWS sends the same bytes to both and reads the answers, and the two records are
compared field by field, together with the answers (status, fields but Date and Server, body).

The differences that are expected are listed once, in EXPECTED_DIFFERENCES, each with what
uvicorn gives, what wirespeed gives and the ASGI spec clause that allows both. A row passes
when the differences it shows are exactly the ones listed for it: an unlisted difference
fails, and so does a listed one that no longer shows.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib.metadata
import re
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass
from typing import Any

import pytest
from conftest import LiveServers, RunningServer
from http_wire import Connection, WireResponse
from uvicorn_server import UvicornServer
from wirespeed import Config

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]

WAIT = 2.0  # seconds a client waits for an answer or the close (loopback: plenty)
ANSWER = b"recorded\n"
LARGE_PIECES = [bytes([65 + i]) * 300_000 for i in range(4)]  # 1.2 MB, sent in 4 pieces


# -- the recording app -------------------------------------------------------------------------


class Recorder:
    """An ASGI 3 app that records each request's scope and events, then answers.

    The answer depends on the request's `x-answer` field: none gives 200 with Content-Length
    and ANSWER; `chunked` gives 200 with ANSWER in two body messages and no Content-Length;
    `no-content` gives 204 with no body."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []
        self.port = 0  # the port the server listens on, set once it does

    async def __call__(self, scope: Scope, receive: Callable[[], Any], send: Callable[[Message], Any]) -> None:
        if scope["type"] != "http":
            raise RuntimeError(f"unexpected scope type {scope['type']!r}")
        record: dict[str, Any] = {"scope": self.snapshot(scope), "events": []}
        self.records.append(record)
        while True:
            message = await receive()
            record["events"].append((message["type"], bytes(message.get("body", b"")), message.get("more_body", False)))
            if message["type"] != "http.request" or not message.get("more_body", False):
                break
        answer = dict(scope["headers"]).get(b"x-answer", b"")
        if answer == b"chunked":
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
            await send({"type": "http.response.body", "body": ANSWER[:4], "more_body": True})
            await send({"type": "http.response.body", "body": ANSWER[4:]})
        elif answer == b"no-content":
            await send({"type": "http.response.start", "status": 204, "headers": []})
            await send({"type": "http.response.body", "body": b""})
        else:
            headers = [(b"content-type", b"text/plain"), (b"content-length", b"%d" % len(ANSWER))]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": ANSWER})

    def snapshot(self, scope: Scope) -> dict[str, Any]:
        values: dict[str, Any] = {"keys": tuple(sorted(scope))}
        for key, value in scope.items():
            if key == "client":
                # The port is the client's ephemeral one: only its kind is comparable.
                values[key] = None if value is None else (value[0], type(value[1]).__name__)
            elif key == "server":
                values[key] = None if value is None else (value[0], "listening port" if value[1] == self.port else value[1])
            elif key == "headers":
                values[key] = tuple(tuple(pair) for pair in value)
                values["headers.types"] = tuple(sorted({f"{type(pair).__name__}[{type(pair[0]).__name__}, {type(pair[1]).__name__}]" for pair in value}))
            elif key in ("state", "extensions"):
                values[key] = (type(value).__name__, tuple(sorted(value)))
            elif key == "asgi":
                values[key] = tuple(sorted(value.items()))
            else:
                values[key] = value
            if key not in ("headers", "state", "extensions", "asgi"):
                values[f"{key}.type"] = type(value).__name__
        return values


# -- the rows ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    pieces: tuple[bytes, ...]  # sent in order, a short pause between them
    methods: tuple[str, ...] = ("GET",)  # one per request, to read the answers
    joined: bool = False  # compare the events joined (their split is the server's choice)
    closes: bool = False  # the server ends the connection after the last answer


def row(row_id: str, *pieces: bytes, **values: Any) -> Any:
    return pytest.param(Row(tuple(pieces), **values), id=row_id)


def req(line: str, *fields: str, body: bytes = b"") -> bytes:
    return (line + "\r\n" + "".join(f + "\r\n" for f in fields) + "\r\n").encode("latin-1") + body


def chunked(*chunks: bytes, trailer: bytes = b"") -> bytes:
    return b"".join(b"%x\r\n%b\r\n" % (len(c), c) for c in chunks) + b"0\r\n" + trailer + b"\r\n"


H = "Host: example.test"

ROWS = [
    row("get-query", req("GET /a/b?x=1&y=%20z&x=2&empty= HTTP/1.1", H)),
    row("get-empty-query", req("GET /q? HTTP/1.1", H)),
    row("root", req("GET / HTTP/1.1", H)),
    row("percent-path-utf8", req("GET /caf%C3%A9/%E2%9C%93%20ok?k=%C3%A9 HTTP/1.1", H)),
    row("percent-encoded-slash", req("GET /a%2Fb/%25/c%3Fd HTTP/1.1", H)),
    row("reserved-path-chars", req("GET /a+b/;p=1/~x/!$&'()*,=:@ HTTP/1.1", H)),
    row("fragment-after-query", req("GET /frag?q=1#section HTTP/1.1", H)),
    row("fragment-without-query", req("GET /frag#section HTTP/1.1", H)),
    row("duplicate-headers", req("GET /dup HTTP/1.1", H, "X-Dup: one", "Cookie: a=1", "X-Dup: two", "Cookie: b=2")),
    row("mixed-case-header-names", req("GET /case HTTP/1.1", "HoSt: example.test", "X-MiXeD-CaSe: Value With Case", "ACCEPT: text/PLAIN")),
    row("header-whitespace", req("GET /ws HTTP/1.1", H, "X-Pad: \t padded value \t ", "X-Empty:", "X-Inner: a  \t b")),
    row("obs-text-header-value", req("GET /obs HTTP/1.1", H) [:-2] + b"X-Latin: caf\xe9\r\n\r\n"),
    row("post-content-length", req("POST /echo HTTP/1.1", H, "Content-Type: text/plain", "Content-Length: 11", body=b"hello world")),
    row("post-empty-body", req("POST /empty HTTP/1.1", H, "Content-Length: 0")),
    row("post-no-body-fields", req("POST /none HTTP/1.1", H)),
    row("post-chunked", req("POST /chunked HTTP/1.1", H, "Transfer-Encoding: chunked", body=chunked(b"hello ", b"chunked ", b"world")), methods=("POST",), joined=True),
    row("post-chunked-trailer", req("POST /trailer HTTP/1.1", H, "Transfer-Encoding: chunked", body=chunked(b"data", trailer=b"X-Sum: 4\r\n")), methods=("POST",), joined=True),
    row(
        "post-large-body-several-events",
        req("PUT /large HTTP/1.1", H, f"Content-Length: {sum(map(len, LARGE_PIECES))}"),
        *LARGE_PIECES,
        methods=("PUT",),
        joined=True,
    ),
    row("post-chunked-pieces", req("POST /pieces HTTP/1.1", H, "Transfer-Encoding: chunked"), b"3\r\none\r\n", b"3\r\ntwo\r\n", b"0\r\n\r\n", methods=("POST",), joined=True),
    row("expect-100-continue", req("POST /expect HTTP/1.1", H, "Expect: 100-continue", "Content-Length: 4", body=b"body")),
    row("http10-get", req("GET /old?v=1 HTTP/1.0"), closes=True),
    row("http10-post", req("POST /old HTTP/1.0", "Content-Length: 3", body=b"abc"), closes=True),
    row("http10-keep-alive", req("GET /old HTTP/1.0", "Connection: keep-alive")),
    row("absolute-form", req("GET http://example.test:8080/abs/p?q=1 HTTP/1.1", "Host: example.test:8080")),
    row("head", req("HEAD /head HTTP/1.1", H), methods=("HEAD",)),
    row("head-chunked-answer", req("HEAD /head HTTP/1.1", H, "X-Answer: chunked"), methods=("HEAD",)),
    row("options-asterisk", req("OPTIONS * HTTP/1.1", H)),
    row("custom-method", req("PURGE /cache/item HTTP/1.1", H)),
    row("chunked-answer", req("GET /stream HTTP/1.1", H, "X-Answer: chunked")),
    row("chunked-answer-http10", req("GET /stream HTTP/1.0", "X-Answer: chunked"), closes=True),
    row("no-content-answer", req("DELETE /thing HTTP/1.1", H, "X-Answer: no-content")),
    row("connection-close", req("GET /bye HTTP/1.1", H, "Connection: close"), closes=True),
    row("connection-close-chunked-answer", req("GET /bye HTTP/1.1", H, "Connection: close", "X-Answer: chunked"), closes=True),
    row("chunked-answer-then-next", req("GET /stream HTTP/1.1", H, "X-Answer: chunked") + req("GET /next HTTP/1.1", H), methods=("GET", "GET")),
    row("pipelined", req("GET /one HTTP/1.1", H) + req("POST /two HTTP/1.1", H, "Content-Length: 3", body=b"xyz") + req("GET /three?3 HTTP/1.1", H), methods=("GET", "POST", "GET")),
]


# -- the expected differences ------------------------------------------------------------------


@dataclass(frozen=True)
class Expected:
    uvicorn: Any
    wirespeed: Any
    clause: str  # the ASGI spec (HTTP & WebSocket ASGI Message Format) clause that allows both


ALL = "*"  # the difference shows in every row

UVICORN_KEYS = ("asgi", "client", "headers", "http_version", "method", "path", "query_string", "raw_path", "root_path", "scheme", "server", "state", "type")
WIRESPEED_KEYS = tuple(sorted(UVICORN_KEYS + ("extensions",)))

# (row, field) -> Expected. Fields are "<i>.scope.<key>", "<i>.events" and "<i>.response.<part>"
# for the i-th request of a row ("n." in a key here stands for every i), "closed" and "answers".
EXPECTED_DIFFERENCES: dict[tuple[str, str], Expected] = {
    (ALL, "n.scope.asgi"): Expected(
        (("spec_version", "2.3"), ("version", "3.0")),
        (("spec_version", "2.4"), ("version", "3.0")),
        "HTTP connection scope, asgi['spec_version']: the version of the HTTP spec the server "
        "implements; 2.4 adds that send() on a closed connection raises an OSError",
    ),
    (ALL, "n.scope.extensions"): Expected(
        "<absent>",
        ("dict", ("http.response.pathsend", "http.response.trailers")),
        "Extensions: a server lists the extensions it supports in scope['extensions'], each "
        "key mapping to a dict; a server that supports none may leave the key out",
    ),
    (ALL, "n.scope.keys"): Expected(
        UVICORN_KEYS,
        WIRESPEED_KEYS,
        "Extensions: scope['extensions'] is optional (uvicorn supports none of the extensions)",
    ),
    ("post-chunked-trailer", "0.scope.headers"): Expected(
        ((b"host", b"example.test"), (b"transfer-encoding", b"chunked"), (b"x-sum", b"4")),
        ((b"host", b"example.test"), (b"transfer-encoding", b"chunked")),
        "HTTP connection scope, headers: the request's header fields; a trailer field is no "
        "header field (RFC 9112 §7.1.2, RFC 9110 §6.5.1: a recipient may discard it). uvicorn "
        "appends the trailers to the header list, wirespeed leaves them out",
    ),
    ("http10-keep-alive", "0.response.headers"): Expected(
        (("connection", "close"), ("content-length", "9"), ("content-type", "text/plain")),
        (("connection", "keep-alive"), ("content-length", "9"), ("content-type", "text/plain")),
        "Connection management is the server's (the spec leaves it out of the messages): an "
        "HTTP/1.0 client that asks for keep-alive may get it (RFC 9112 §9.3, Appendix C.2.2); "
        "uvicorn always closes HTTP/1.0 connections",
    ),
    ("head-chunked-answer", "0.response.headers"): Expected(
        (("content-type", "text/plain"),),
        (("content-type", "text/plain"), ("transfer-encoding", "chunked")),
        "Response framing is the server's (http.response.start carries no framing duty): a HEAD "
        "answer should carry the fields GET would (RFC 9110 §9.3.2), and GET here is chunked; "
        "uvicorn sends neither Content-Length nor Transfer-Encoding",
    ),
    ("chunked-answer-http10", "0.response.headers"): Expected(
        (("connection", "close"), ("content-type", "text/plain"), ("transfer-encoding", "chunked")),
        (("connection", "close"), ("content-type", "text/plain")),
        "Response framing is the server's: an HTTP/1.0 client knows no chunked coding, and a "
        "server must not send Transfer-Encoding to it (RFC 9112 §6.1); wirespeed ends the body "
        "with the close (§6.3), uvicorn chunks it",
    ),
    ("send-after-the-client-reset", "outcome"): Expected(
        ("send returned",),
        ("send raised an OSError (ClientDisconnected)",),
        "HTTP spec 2.4, send(): on a closed connection the server should raise a "
        "server-specific subclass of OSError; uvicorn reports spec_version 2.3 and drops the "
        "message silently",
    ),
}


# -- running a row -----------------------------------------------------------------------------


def send_row(port: int, recorder: Recorder, case: Row) -> dict[str, Any]:
    """Send the row's bytes to the server on `port` and return its flattened record."""
    recorder.records.clear()
    with Connection(port, timeout=WAIT) as connection:
        for index, piece in enumerate(case.pieces):
            if index:
                time.sleep(0.02)
            connection.send(piece)
        responses: list[WireResponse] = []
        interims: list[tuple[int, int, tuple[tuple[str, str], ...]]] = []
        try:
            for method in case.methods:
                response = connection.read_response(method)
                while 100 <= response.status < 200:  # an interim answer: recorded, then the final one
                    interims.append((len(responses), response.status, tuple(response.headers)))
                    response = connection.read_response(method)
                responses.append(response)
        except EOFError:
            closed: bool | str | None = True  # closed before all the answers came
        except TimeoutError:
            closed = f"neither the answer's end nor the close came within {WAIT} s"
        else:
            try:
                closed = connection.read_until_close() == b"" if case.closes else None
            except TimeoutError:
                closed = f"no close within {WAIT} s"
    flat: dict[str, Any] = {"closed": closed, "answers": len(responses), "interim answers": tuple(interims)}
    for index, record in enumerate(recorder.records):
        for key, value in record["scope"].items():
            flat[f"{index}.scope.{key}"] = value
        flat[f"{index}.events"] = summarize(record["events"]) if case.joined else tuple(record["events"])
    for index, response in enumerate(responses):
        flat[f"{index}.response.status"] = response.status
        # Sorted: the order of fields of different names carries no meaning (RFC 9110 §5.3).
        flat[f"{index}.response.headers"] = tuple(
            sorted((name.lower(), value) for name, value in response.headers if name.lower() not in ("date", "server"))
        )
        flat[f"{index}.response.body"] = response.body
    return flat


def summarize(events: list[tuple[str, bytes, bool]]) -> dict[str, Any]:
    """The events of a body whose split is the server's choice: what must hold however split."""
    body = b"".join(piece for _, piece, _ in events)
    return {
        "types": sorted({kind for kind, _, _ in events}),
        "body": body if len(body) <= 64 else f"{len(body)} bytes, sha256 {hashlib.sha256(body).hexdigest()[:16]}",
        "more_body until the last": [more for _, _, more in events] == [True] * (len(events) - 1) + [False],
        "several": len(events) > 1,
    }


def differences(reference: dict[str, Any], observed: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    return {
        key: (reference.get(key, "<absent>"), observed.get(key, "<absent>"))
        for key in sorted(set(reference) | set(observed))
        if reference.get(key, "<absent>") != observed.get(key, "<absent>")
    }


def unexplained(row_id: str, found: dict[str, tuple[Any, Any]], every_row: bool = True) -> dict[str, Any]:
    """The differences `found` in a row that EXPECTED_DIFFERENCES does not list for it (key ->
    (uvicorn, wirespeed)), and the listed ones it did not find (key -> the listed pair). A key
    "n.<field>" in the table stands for that field of every request of the row; the entries for
    ALL rows apply when `every_row` (to the rows of requests, not to LIFECYCLE_CASES)."""
    listed = {
        key: entry
        for (row_name, key), entry in EXPECTED_DIFFERENCES.items()
        if row_name == row_id or (every_row and row_name == ALL)
    }
    seen: set[str] = set()
    unlisted = {}
    for key, pair in found.items():
        generic = re.sub(r"^\d+\.", "n.", key)
        name = key if key in listed else generic
        entry = listed.get(name)
        if entry is not None and (entry.uvicorn, entry.wirespeed) == pair:
            seen.add(name)
        else:
            unlisted[key] = pair
    not_found = {key: (entry.uvicorn, entry.wirespeed) for key, entry in listed.items() if key not in seen}
    return {"unlisted differences": unlisted, "listed differences not found": not_found}


NONE_UNEXPLAINED: dict[str, Any] = {"unlisted differences": {}, "listed differences not found": {}}


# -- fixtures ----------------------------------------------------------------------------------

ROOT_PATH = "/mount"  # the rows of ROOT_PATH_ROWS run once more with it, on both servers


class Servers:
    """The servers of the module, started on first use: uvicorn and wirespeed (one per backend),
    each with its own Recorder, with and without a root_path."""

    def __init__(self) -> None:
        self.uvicorn: dict[str, tuple[UvicornServer, Recorder]] = {}
        self.recorders: dict[str, Recorder] = {}
        # LiveServers is typed for native apps; Server takes an ASGI app as well.
        self.wirespeed = LiveServers(lambda kind: self.recorders.setdefault(kind, Recorder()))  # type: ignore[arg-type,return-value]

    def reference(self, root_path: str) -> tuple[int, Recorder]:
        if root_path not in self.uvicorn:
            recorder = Recorder()
            server = UvicornServer(recorder, root_path=root_path).start()
            recorder.port = server.port
            self.uvicorn[root_path] = (server, recorder)
        server, recorder = self.uvicorn[root_path]
        return server.port, recorder

    def observed(self, backend: str, root_path: str) -> tuple[int, Recorder]:
        kind = f"{backend}{root_path}"
        server = self.wirespeed.get(backend, {"lifespan": "off", "root_path": root_path}, kind=kind)
        recorder = self.recorders[kind]
        recorder.port = server.port
        return server.port, recorder

    def stop(self) -> None:
        for server, _ in self.uvicorn.values():
            server.stop()
        self.wirespeed.stop()


@pytest.fixture(scope="module")
def servers() -> Iterator[Servers]:
    running = Servers()
    yield running
    running.stop()


# -- the tests ---------------------------------------------------------------------------------

ROOT_PATH_ROWS = [param for param in ROWS if param.id in ("get-query", "percent-path-utf8", "absolute-form", "options-asterisk")]


def row_id_of(case: Row) -> str:
    return next(str(param.id) for param in ROWS if param.values[0] is case)


def compare(servers: Servers, backend: str, case: Row, row_id: str, root_path: str = "") -> None:
    reference = send_row(*servers.reference(root_path), case)
    observed = send_row(*servers.observed(backend, root_path), case)
    assert unexplained(row_id, differences(reference, observed)) == NONE_UNEXPLAINED


# uvicorn before 0.55 (the newest on Python 3.10) kept the whitespace after a header value,
# which RFC 9110 §5.5 says is no part of it; this row then compares with a reference that is
# itself wrong. wirespeed's own stripping is in the parser case table.
UVICORN_KEEPS_TRAILING_WHITESPACE = tuple(int(part) for part in importlib.metadata.version("uvicorn").split(".")[:2]) < (0, 55)


@pytest.mark.parametrize("case", ROWS)
def test_row_matches_uvicorn(case: Row, backend: str, servers: Servers) -> None:
    if row_id_of(case) == "header-whitespace" and UVICORN_KEEPS_TRAILING_WHITESPACE:
        pytest.skip("uvicorn < 0.55 keeps the whitespace after a header value (RFC 9110 §5.5)")
    compare(servers, backend, case, row_id_of(case))


@pytest.mark.parametrize("case", ROOT_PATH_ROWS)
def test_row_under_a_root_path_matches_uvicorn(case: Row, backend: str, servers: Servers) -> None:
    compare(servers, backend, case, f"{row_id_of(case)} under root_path", ROOT_PATH)


def test_expected_differences_name_known_rows() -> None:
    row_ids = {param.id for param in ROWS} | {f"{param.id} under root_path" for param in ROOT_PATH_ROWS} | set(LIFECYCLE_CASES)
    for (row_name, key), entry in EXPECTED_DIFFERENCES.items():
        assert row_name == ALL or row_name in row_ids, (row_name, key)
        assert entry.clause, (row_name, key)


# -- receive() and send() once the response is sent or the client is gone ------------------------


class LifecycleApp:
    """Answers with a first body piece (the whole answer for /after-response), waits until the
    test has put the client in the state the case needs, then calls receive() (with a deadline)
    or sends one more body piece (/send-*), and records what came of it."""

    def __init__(self) -> None:
        self.go = threading.Event()
        self.seen: list[str] = []

    async def __call__(self, scope: Scope, receive: Callable[[], Any], send: Callable[[Message], Any]) -> None:
        await receive()
        finish_first = scope["path"] == "/after-response"
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"5")] if finish_first else []})
        await send({"type": "http.response.body", "body": b"first", "more_body": not finish_first})
        await asyncio.to_thread(self.go.wait, WAIT)
        if scope["path"].startswith("/send"):
            try:
                await send({"type": "http.response.body", "body": b"more", "more_body": True})
            except OSError as error:
                self.seen.append(f"send raised an OSError ({type(error).__name__})")
            else:
                self.seen.append("send returned")
            return
        try:
            message = await asyncio.wait_for(receive(), 0.5)
        except asyncio.TimeoutError:
            self.seen.append("no event within 0.5 s")
        else:
            self.seen.append(message["type"])
        if not finish_first:
            try:
                await send({"type": "http.response.body", "body": b""})
            except OSError:
                pass


# case -> (path, how the client leaves before the app goes on: "stays", "closes" (FIN) or
# "resets" (RST, SO_LINGER 0))
LIFECYCLE_CASES = {
    "receive-after-the-response": ("/after-response", "stays"),
    "receive-after-the-client-closed": ("/client-closed", "closes"),
    "send-after-the-client-closed": ("/send-after-close", "closes"),
    "send-after-the-client-reset": ("/send-after-reset", "resets"),
}


@pytest.mark.parametrize("case", list(LIFECYCLE_CASES))
def test_receive_and_send_after_the_response_or_the_client_match_uvicorn(case: str, backend: str) -> None:
    path, client = LIFECYCLE_CASES[case]
    seen = {}
    for name in ("uvicorn", "wirespeed"):
        app = LifecycleApp()
        if name == "uvicorn":
            server: Any = UvicornServer(app).start()
        else:
            server = RunningServer(app, Config(parser=backend, port=0, lifespan="off", shutdown_timeout=1.0)).start()  # type: ignore[arg-type]
        try:
            with Connection(server.port, timeout=WAIT) as connection:
                connection.send(req(f"GET {path} HTTP/1.1", H))
                connection._read_until(b"first")
                if client != "stays":
                    if client == "resets":
                        connection.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    connection.close()
                    time.sleep(0.1)  # the FIN or RST reaches the server
                app.go.set()
                deadline = time.monotonic() + WAIT
                while not app.seen and time.monotonic() < deadline:
                    time.sleep(0.01)
        finally:
            app.go.set()
            server.stop()
        seen[name] = {"outcome": tuple(app.seen)}
    assert unexplained(case, differences(seen["uvicorn"], seen["wirespeed"]), every_row=False) == NONE_UNEXPLAINED
