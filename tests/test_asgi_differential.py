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

import hashlib
import time
from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass
from typing import Any

import pytest
from conftest import LiveServers
from http_wire import Connection, WireResponse
from uvicorn_server import UvicornServer

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]

WAIT = 5.0
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
    row("fragment-in-target", req("GET /frag?q=1#section HTTP/1.1", H)),
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
    row("http10-keep-alive", req("GET /old HTTP/1.0", "Connection: keep-alive") + req("GET /after HTTP/1.0"), methods=("GET", "GET"), closes=True),
    row("absolute-form", req("GET http://example.test:8080/abs/p?q=1 HTTP/1.1", "Host: example.test:8080")),
    row("head", req("HEAD /head HTTP/1.1", H), methods=("HEAD",)),
    row("head-chunked-answer", req("HEAD /head HTTP/1.1", H, "X-Answer: chunked"), methods=("HEAD",)),
    row("options-asterisk", req("OPTIONS * HTTP/1.1", H)),
    row("custom-method", req("PURGE /cache/item HTTP/1.1", H)),
    row("chunked-answer", req("GET /stream HTTP/1.1", H, "X-Answer: chunked")),
    row("chunked-answer-http10", req("GET /stream HTTP/1.0", "X-Answer: chunked"), closes=True),
    row("no-content-answer", req("DELETE /thing HTTP/1.1", H, "X-Answer: no-content")),
    row("connection-close", req("GET /bye HTTP/1.1", H, "Connection: close"), closes=True),
    row("pipelined", req("GET /one HTTP/1.1", H) + req("POST /two HTTP/1.1", H, "Content-Length: 3", body=b"xyz") + req("GET /three?3 HTTP/1.1", H), methods=("GET", "POST", "GET")),
]


# -- the expected differences ------------------------------------------------------------------


@dataclass(frozen=True)
class Expected:
    uvicorn: Any
    wirespeed: Any
    clause: str  # the ASGI spec (HTTP & WebSocket ASGI Message Format) clause that allows both


ALL = "*"  # the difference shows in every row

# (row, field) -> Expected. Fields are "<n>.scope.<key>", "<n>.events", "<n>.response.<part>".
EXPECTED_DIFFERENCES: dict[tuple[str, str], Expected] = {}


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
            closed: bool | None = True  # closed before all the answers came
        else:
            closed = connection.read_until_close() == b"" if case.closes else None
    flat: dict[str, Any] = {"closed": closed, "answers": len(responses), "interim answers": tuple(interims)}
    for index, record in enumerate(recorder.records):
        for key, value in record["scope"].items():
            flat[f"{index}.scope.{key}"] = value
        flat[f"{index}.events"] = summarize(record["events"]) if case.joined else tuple(record["events"])
    for index, response in enumerate(responses):
        flat[f"{index}.response.status"] = response.status
        flat[f"{index}.response.headers"] = tuple(
            (name.lower(), value) for name, value in response.headers if name.lower() not in ("date", "server")
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


def expected_for(row_id: str) -> dict[str, tuple[Any, Any]]:
    return {
        key: (entry.uvicorn, entry.wirespeed)
        for (row_name, key), entry in EXPECTED_DIFFERENCES.items()
        if row_name in (row_id, ALL)
    }


# -- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def uvicorn_recorder() -> Iterator[tuple[UvicornServer, Recorder]]:
    recorder = Recorder()
    server = UvicornServer(recorder).start()
    recorder.port = server.port
    yield server, recorder
    server.stop()


WIRESPEED_RECORDERS: dict[str, Recorder] = {}


def _wirespeed_app(kind: str) -> Any:
    return WIRESPEED_RECORDERS.setdefault(kind, Recorder())


@pytest.fixture(scope="module")
def wirespeed_servers() -> Iterator[LiveServers]:
    servers = LiveServers(_wirespeed_app)
    yield servers
    servers.stop()


@pytest.fixture
def wirespeed_recorder(backend: str, wirespeed_servers: LiveServers) -> tuple[Any, Recorder]:
    server = wirespeed_servers.get(backend, {"lifespan": "off"}, kind=backend)
    recorder = WIRESPEED_RECORDERS[backend]
    recorder.port = server.port
    return server, recorder


# -- the tests ---------------------------------------------------------------------------------


@pytest.mark.parametrize("case", ROWS)
def test_row_matches_uvicorn(
    case: Row, uvicorn_recorder: tuple[UvicornServer, Recorder], wirespeed_recorder: tuple[Any, Recorder]
) -> None:
    reference = send_row(uvicorn_recorder[0].port, uvicorn_recorder[1], case)
    observed = send_row(wirespeed_recorder[0].port, wirespeed_recorder[1], case)
    row_id = next(param.id for param in ROWS if param.values[0] is case)
    assert differences(reference, observed) == expected_for(row_id)


def test_expected_differences_name_known_rows() -> None:
    row_ids = {param.id for param in ROWS}
    for (row_name, key), entry in EXPECTED_DIFFERENCES.items():
        assert row_name == ALL or row_name in row_ids, (row_name, key)
        assert entry.clause, (row_name, key)

