"""End-to-end protocol tests: exact bytes over raw sockets against a live server, both backends."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator, Callable

import pytest

from conftest import RunningServer
from http_wire import Connection, exchange
from wirespeed import App, Forbidden, Request, Response, StreamingResponse

ServerFor = Callable[..., RunningServer]


def make_app() -> App:
    app = App()

    @app.get("/")
    def hello(request: Request) -> str:
        return "Hello, World!"

    @app.route("/echo", methods=["POST", "PUT"])
    async def echo(request: Request) -> bytes:
        return await request.body()

    @app.get("/users/{user_id:int}")
    def user(request: Request, user_id: int) -> dict[str, object]:
        return {"user_id": user_id, "type": type(user_id).__name__}

    @app.get("/files/{rest:path}")
    def files(request: Request, rest: str) -> str:
        return rest

    @app.get("/sleep/{ms:int}")
    async def sleep(request: Request, ms: int) -> str:
        await asyncio.sleep(ms / 1000)
        return f"slept {ms}"

    @app.get("/fast-async")
    async def fast_async(request: Request) -> str:
        return "no suspension"

    @app.get("/task")
    async def task_name(request: Request) -> str:
        await asyncio.sleep(0)
        return "task" if asyncio.current_task() is not None else "inline"

    @app.get("/inline-task")
    async def inline_task(request: Request) -> str:
        return "task" if asyncio.current_task() is not None else "inline"

    @app.get("/stream")
    def stream(request: Request) -> StreamingResponse:
        async def pieces() -> AsyncIterator[bytes]:
            for i in range(5):
                await asyncio.sleep(0)
                yield f"piece {i}\n".encode()

        return StreamingResponse(pieces(), content_type="text/plain")

    @app.get("/boom")
    def boom(request: Request) -> str:
        raise RuntimeError("handler failure")

    @app.get("/async-boom")
    async def async_boom(request: Request) -> str:
        await asyncio.sleep(0)
        raise RuntimeError("async handler failure")

    @app.get("/teapot")
    def teapot(request: Request) -> Response:
        return Response("short and stout", 418, {"X-Kind": "teapot"}, content_type="text/plain")

    @app.get("/forbidden")
    def forbidden(request: Request) -> str:
        raise Forbidden("not for you")

    @app.get("/inspect")
    def inspect_request(request: Request) -> dict[str, object]:
        return {
            "method": request.method,
            "path": request.path,
            "raw_path": request.raw_path,
            "query": dict(request.query),
            "tags": request.query.getall("tag"),
            "agent": request.headers.get("User-Agent"),
            "accept": request.headers.getall("accept"),
            "client_host": request.client[0] if request.client else None,
            "version": request.http_version,
        }

    @app.post("/json")
    async def post_json(request: Request) -> dict[str, object]:
        return {"got": await request.json()}

    @app.get("/bad-header")
    def bad_header(request: Request) -> Response:
        return Response("split", headers={"X-Injected": "a\r\nSet-Cookie: evil=1"})

    @app.get("/nothing")
    def nothing(request: Request) -> None:
        return None

    return app


@pytest.fixture
def server(server_for: ServerFor) -> RunningServer:
    return server_for(make_app())


def test_plaintext_response_bytes(server: RunningServer) -> None:
    (response,) = exchange(server.port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert response.status == 200
    assert response.body == b"Hello, World!"
    assert response.header("content-type") == "text/plain; charset=utf-8"
    assert response.header("content-length") == "13"
    assert response.header("server") == "wirespeed"
    date = response.header("date")
    assert date is not None and date.endswith(" GMT")
    assert response.header("connection") is None  # keep-alive is the HTTP/1.1 default


def test_keep_alive_across_many_requests(server: RunningServer) -> None:
    with Connection(server.port) as connection:
        for i in range(200):
            connection.send(f"GET /users/{i} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            response = connection.read_response()
            assert response.status == 200
            assert json.loads(response.body) == {"user_id": i, "type": "int"}
        assert not connection.is_closed(timeout=0.2)


def test_pipelined_responses_keep_request_order(server: RunningServer) -> None:
    # Slow async, inline sync, fast async, slow async: answers must come back in request order.
    paths = ["/sleep/80", "/", "/fast-async", "/sleep/10", "/users/7", "/sleep/30", "/"]
    data = b"".join(f"GET {p} HTTP/1.1\r\nHost: x\r\n\r\n".encode() for p in paths)
    responses = exchange(server.port, data, count=len(paths))
    assert [r.body for r in responses] == [
        b"slept 80",
        b"Hello, World!",
        b"no suspension",
        b"slept 10",
        b'{"user_id":7,"type":"int"}',
        b"slept 30",
        b"Hello, World!",
    ]


def test_pipelined_burst_of_sixteen(server: RunningServer) -> None:
    data = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" * 16
    responses = exchange(server.port, data, count=16)
    assert all(r.status == 200 and r.body == b"Hello, World!" for r in responses)


def test_async_handler_without_suspension_runs_without_a_task(server: RunningServer) -> None:
    inline, task = exchange(
        server.port, b"GET /inline-task HTTP/1.1\r\nHost: x\r\n\r\nGET /task HTTP/1.1\r\nHost: x\r\n\r\n", count=2
    )
    assert inline.body == b"inline"
    # A handler that suspends is finished inside a real Task (current_task() works after).
    assert task.body == b"task"


def test_http10_closes_by_default(server: RunningServer) -> None:
    with Connection(server.port) as connection:
        connection.send(b"GET / HTTP/1.0\r\n\r\n")
        response = connection.read_response()
        assert response.status == 200
        assert response.header("connection") == "close"
        assert connection.is_closed()


def test_http10_keep_alive_when_asked(server: RunningServer) -> None:
    with Connection(server.port) as connection:
        for _ in range(3):
            connection.send(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            response = connection.read_response()
            assert response.status == 200
            assert response.header("connection") == "keep-alive"
        assert not connection.is_closed(timeout=0.2)


def test_connection_close_is_honoured(server: RunningServer) -> None:
    with Connection(server.port) as connection:
        # The second request follows a Connection: close one and must never be answered.
        connection.send(
            b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /users/1 HTTP/1.1\r\nHost: x\r\n\r\n"
        )
        response = connection.read_response()
        assert response.header("connection") == "close"
        assert connection.read_until_close() == b""


def test_head_has_get_headers_and_no_body(server: RunningServer) -> None:
    with Connection(server.port) as connection:
        connection.send(b"HEAD /users/5 HTTP/1.1\r\nHost: x\r\n\r\nGET /users/5 HTTP/1.1\r\nHost: x\r\n\r\n")
        head = connection.read_response("HEAD")
        get = connection.read_response("GET")
    assert head.status == get.status == 200
    assert head.body == b""
    assert head.header("content-length") == get.header("content-length") == str(len(get.body))
    assert head.header("content-type") == get.header("content-type") == "application/json"


def test_unknown_path_is_plain_404(server: RunningServer) -> None:
    (response,) = exchange(server.port, b"GET /missing HTTP/1.1\r\nHost: x\r\n\r\n")
    assert response.status == 404
    assert response.body == b"404 Not Found"
    assert response.header("content-type") == "text/plain; charset=utf-8"


def test_wrong_method_is_405_with_allow(server: RunningServer) -> None:
    (response,) = exchange(server.port, b"DELETE /users/3 HTTP/1.1\r\nHost: x\r\n\r\n")
    assert response.status == 405
    assert response.header("allow") == "GET, HEAD, OPTIONS"
    (response,) = exchange(server.port, b"GET /echo HTTP/1.1\r\nHost: x\r\n\r\n")
    assert response.status == 405
    assert response.header("allow") == "OPTIONS, POST, PUT"


def test_options_asterisk_and_path(server: RunningServer) -> None:
    star, path = exchange(
        server.port,
        b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\nOPTIONS /echo HTTP/1.1\r\nHost: x\r\n\r\n",
        count=2,
    )
    assert star.status == 204
    allowed = set((star.header("allow") or "").split(", "))
    assert {"GET", "HEAD", "OPTIONS", "POST", "PUT"} <= allowed
    assert path.status == 204
    assert path.header("allow") == "OPTIONS, POST, PUT"


def test_path_parameters(server: RunningServer) -> None:
    ok, not_int, rest = exchange(
        server.port,
        b"GET /users/0042 HTTP/1.1\r\nHost: x\r\n\r\n"
        b"GET /users/abc HTTP/1.1\r\nHost: x\r\n\r\n"
        b"GET /files/a/b%20c/d.txt HTTP/1.1\r\nHost: x\r\n\r\n",
        count=3,
    )
    assert json.loads(ok.body) == {"user_id": 42, "type": "int"}
    assert not_int.status == 404
    assert rest.body == b"a/b c/d.txt"


def test_request_api(server: RunningServer) -> None:
    (response,) = exchange(
        server.port,
        b"GET /inspect?q=hello%20world&tag=a&tag=b&empty= HTTP/1.1\r\n"
        b"Host: x\r\nUser-Agent: raw-test/1.0\r\nAccept: text/html\r\nACCEPT: */*\r\n\r\n",
    )
    assert json.loads(response.body) == {
        "method": "GET",
        "path": "/inspect",
        "raw_path": "/inspect",
        "query": {"q": "hello world", "tag": "a", "empty": ""},
        "tags": ["a", "b"],
        "agent": "raw-test/1.0",
        "accept": ["text/html", "*/*"],
        "client_host": "127.0.0.1",
        "version": "1.1",
    }


def test_content_length_body(server: RunningServer) -> None:
    body = b"x" * 1000
    (response,) = exchange(server.port, b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" + body)
    assert response.status == 200
    assert response.body == body
    assert response.header("content-type") == "application/octet-stream"


def test_large_body_streamed_in_pieces(server_for: ServerFor) -> None:
    server = server_for(make_app(), inline_body_size=1024)
    body = bytes(range(256)) * 4096  # 1 MiB, far above the inline size
    with Connection(server.port) as connection:
        connection.send(b"PUT /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body))
        for offset in range(0, len(body), 65536):
            connection.send(body[offset : offset + 65536])
        response = connection.read_response()
        assert response.body == body
        connection.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert connection.read_response().body == b"Hello, World!"


def test_chunked_request_body(server: RunningServer) -> None:
    with Connection(server.port) as connection:
        connection.send(
            b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"5\r\nhello\r\n1;ext=1\r\n \r\n"
        )
        time.sleep(0.05)  # the rest arrives in a later packet
        connection.send(b"5\r\nworld\r\n0\r\nX-Trailer: yes\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert connection.read_response().body == b"hello world"
        assert connection.read_response().body == b"Hello, World!"


def test_json_request_body(server: RunningServer) -> None:
    payload = b'{"a": [1, 2, 3]}'
    good, bad = exchange(
        server.port,
        b"POST /json HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (len(payload), payload)
        + b"POST /json HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n{x}",
        count=2,
    )
    assert json.loads(good.body) == {"got": {"a": [1, 2, 3]}}
    assert bad.status == 400
    assert bad.body.startswith(b"400 Bad Request: invalid JSON body")


def test_expect_100_continue(server_for: ServerFor) -> None:
    server = server_for(make_app(), inline_body_size=0)
    with Connection(server.port) as connection:
        connection.send(
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"
        )
        interim = connection.read_response()
        assert interim.status == 100
        connection.send(b"hello")
        assert connection.read_response().body == b"hello"


def test_expect_100_continue_refused_ends_the_connection(server_for: ServerFor) -> None:
    """RFC 9110 §10.1.1: a final answer instead of 100 Continue; the body never comes, so
    the connection cannot go on to another request."""
    server = server_for(make_app(), inline_body_size=0)
    with Connection(server.port) as connection:
        connection.send(b"POST /nowhere HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
        response = connection.read_response()
        assert response.status == 404
        assert response.header("connection") == "close"
        assert connection.read_until_close() == b""


@pytest.mark.parametrize(
    "framing,body",
    [
        ("Content-Length: 100000", b"b" * 100000),
        ("Transfer-Encoding: chunked", b"5\r\nhello\r\n" * 1000 + b"0\r\n\r\n"),
    ],
    ids=["length", "chunked"],
)
def test_unread_body_is_dropped_and_the_connection_goes_on(server: RunningServer, framing: str, body: bytes) -> None:
    """A request answered without its body being read (405 here): the body is read and
    dropped, and the next request on the connection is answered as usual."""
    with Connection(server.port) as connection:
        connection.send(f"POST / HTTP/1.1\r\nHost: x\r\n{framing}\r\n\r\n".encode() + body[:1000])
        refused = connection.read_response()
        assert refused.status == 405 and refused.header("connection") is None
        connection.send(body[1000:] + b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert connection.read_response().body == b"Hello, World!"


def test_malformed_body_behind_an_unread_one_ends_the_connection(server: RunningServer) -> None:
    with Connection(server.port) as connection:
        connection.send(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
        assert connection.read_response().status == 405
        connection.send(b"zz\r\n")  # a bad chunk size: its request has its answer already
        assert connection.read_until_close() == b""


def test_streaming_response_is_chunked(server: RunningServer) -> None:
    with Connection(server.port) as connection:
        connection.send(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
        response = connection.read_response()
        assert response.header("transfer-encoding") == "chunked"
        assert response.header("content-length") is None
        assert response.body == b"".join(f"piece {i}\n".encode() for i in range(5))
        connection.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert connection.read_response().body == b"Hello, World!"


def test_streaming_response_to_http10_ends_with_close(server: RunningServer) -> None:
    with Connection(server.port) as connection:
        connection.send(b"GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        response = connection.read_response()
        assert response.header("transfer-encoding") is None
        assert response.header("connection") == "close"
        assert response.body == b"".join(f"piece {i}\n".encode() for i in range(5))


@pytest.mark.parametrize("path", ["/boom", "/async-boom"])
def test_handler_exception_is_500_and_connection_survives(
    server: RunningServer, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    with Connection(server.port) as connection:
        connection.send(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        failed = connection.read_response()
        assert failed.status == 500
        assert failed.body == b"500 Internal Server Error"  # nothing of the exception leaks
        assert connection.read_response().body == b"Hello, World!"
    assert any("handler failure" in str(r.exc_info[1]) for r in caplog.records if r.exc_info)


def test_response_splitting_is_refused(server: RunningServer) -> None:
    bad, ok = exchange(
        server.port, b"GET /bad-header HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", count=2
    )
    assert bad.status == 500
    assert bad.header("set-cookie") is None and bad.header("x-injected") is None
    assert ok.body == b"Hello, World!"


def test_http_error_raised_by_handler(server: RunningServer) -> None:
    (response,) = exchange(server.port, b"GET /forbidden HTTP/1.1\r\nHost: x\r\n\r\n")
    assert response.status == 403
    assert response.body == b"403 Forbidden: not for you"


def test_custom_response_status_and_headers(server: RunningServer) -> None:
    teapot, nothing = exchange(
        server.port, b"GET /teapot HTTP/1.1\r\nHost: x\r\n\r\nGET /nothing HTTP/1.1\r\nHost: x\r\n\r\n", count=2
    )
    assert teapot.status == 418
    assert teapot.header("x-kind") == "teapot"
    assert teapot.body == b"short and stout"
    assert nothing.status == 204
    assert nothing.header("content-length") is None


def test_server_header_can_be_changed_or_removed(server_for: ServerFor) -> None:
    custom = server_for(make_app(), server_header="custom/1")
    bare = server_for(make_app(), server_header=None)
    (response,) = exchange(custom.port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert response.header("server") == "custom/1"
    (response,) = exchange(bare.port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert response.header("server") is None
    assert response.header("date") is not None


# Every status a parser error can carry, end to end: the answer, then the close.
ERROR_CASES = [
    pytest.param(b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400, id="400-cl-cl-9112-6.3"),
    pytest.param(b"GET / HTTP/1.1\r\n\r\n", 400, id="400-no-host-9112-3.2"),
    pytest.param(b"GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400, id="400-space-before-colon-9112-5.1"),
    pytest.param(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n", 413, id="413-body-9110-15.5.14"),
    pytest.param(b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414, id="414-target-9110-15.5.15"),
    pytest.param(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 17000 + b"\r\n\r\n", 431, id="431-head-6585-5"),
    pytest.param(
        b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501, id="501-coding-9112-6.1"
    ),
    pytest.param(b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505, id="505-version-9110-15.6.6"),
]


@pytest.mark.parametrize("data,status", ERROR_CASES)
def test_parse_errors_answer_then_close(server: RunningServer, data: bytes, status: int) -> None:
    with Connection(server.port) as connection:
        # A good request after the bad one, in the same write: it must never be answered.
        connection.send(data + b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        response = connection.read_response()
        assert response.status == status
        assert response.header("connection") == "close"
        assert response.body.startswith(f"{status} ".encode())
        assert connection.read_until_close() == b""
    # The server keeps serving everyone else.
    (ok,) = exchange(server.port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert ok.body == b"Hello, World!"


def test_error_after_good_requests_answers_them_first(server: RunningServer) -> None:
    with Connection(server.port) as connection:
        connection.send(
            b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /sleep/20 HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/9.9\r\n\r\n"
        )
        assert connection.read_response().body == b"Hello, World!"
        assert connection.read_response().body == b"slept 20"
        assert connection.read_response().status == 505
        assert connection.read_until_close() == b""


def test_body_too_large_while_streaming_closes_after_answer(server_for: ServerFor) -> None:
    server = server_for(make_app(), max_body_size=100)
    with Connection(server.port) as connection:
        connection.send(
            b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + b"40\r\n" + b"a" * 64 + b"\r\n"
        )
        connection.send(b"40\r\n" + b"a" * 64 + b"\r\n0\r\n\r\n")
        response = connection.read_response()
        assert response.status == 413
        assert response.header("connection") == "close"
        assert connection.read_until_close() == b""


def test_client_disconnect_mid_request_does_not_disturb_others(server: RunningServer) -> None:
    for _ in range(20):
        sock = socket.create_connection(("127.0.0.1", server.port))
        sock.sendall(b"GET /sleep/50 HTTP/1.1\r\nHost: x\r\n\r\nPOST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab")
        sock.close()
    (ok,) = exchange(server.port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert ok.body == b"Hello, World!"


def test_stock_asyncio_loop(server_for: ServerFor) -> None:
    server = server_for(make_app(), loop="asyncio")
    assert "uvloop" not in type(server.loop).__module__
    paths = ["/sleep/20", "/", "/stream", "/users/3"]
    data = b"".join(f"GET {p} HTTP/1.1\r\nHost: x\r\n\r\n".encode() for p in paths)
    responses = exchange(server.port, data, count=len(paths))
    assert [r.status for r in responses] == [200, 200, 200, 200]
    assert responses[0].body == b"slept 20"
    assert responses[2].body.startswith(b"piece 0\n")
