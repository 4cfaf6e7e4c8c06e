"""Methods and request-target forms as the router and the app answer them, on live servers on
both parser backends: unknown methods (RFC 9110 §9.1), 405 and its Allow, `methods="*"` on
routes and mounts, `OPTIONS *` (RFC 9112 §3.2.4), CONNECT (RFC 9110 §9.3.6) and the host of an
absolute-form request (RFC 9112 §3.2.2)."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from conftest import RunningServer
from http_wire import Connection, exchange
from wirespeed import App, Request

ServerFor = Callable[..., RunningServer]


def method_app() -> App:
    app = App()

    @app.route("/cache", methods=["GET", "purge"])  # registered names are upper-cased
    def cache(request: Request) -> str:
        return f"cache:{request.method}"

    @app.route("/item/{item_id}", methods=["GET", "PUT", "DELETE", "PATCH"])
    def item(request: Request, item_id: str) -> str:
        return f"item:{request.method}:{item_id}"

    @app.route("/any", methods="*")
    def any_method(request: Request) -> str:
        return f"any:{request.method}"

    @app.get("/mixed")
    def mixed_get(request: Request) -> str:
        return "mixed:get"

    @app.route("/mixed", methods="*")
    def mixed_any(request: Request) -> str:
        return f"mixed:any:{request.method}"

    def everything(request: Request, rest: str) -> str:
        return f"mount:{request.method}:{rest}"

    app.mount("/m", everything, methods="*")

    @app.get("/where")
    def where(request: Request) -> dict[str, str]:
        return {"host": request.host, "path": request.path, "target": request.target}

    return app


@pytest.fixture
def server(server_for: ServerFor) -> RunningServer:
    return server_for(method_app())


def request_line(method: bytes, target: bytes, version: bytes = b"HTTP/1.1") -> bytes:
    return method + b" " + target + b" " + version + b"\r\nHost: x\r\n\r\n"


@pytest.mark.parametrize(
    "method,target,status,body,allow",
    [
        # RFC 9110 §9.1: any token is a method, and method names are case-sensitive.
        (b"PURGE", b"/cache", 200, b"cache:PURGE", None),
        (b"purge", b"/cache", 405, b"405 Method Not Allowed", "GET, HEAD, OPTIONS, PURGE"),
        (b"M-SEARCH", b"/cache", 405, b"405 Method Not Allowed", "GET, HEAD, OPTIONS, PURGE"),
        (b"FOO", b"/cache", 405, b"405 Method Not Allowed", "GET, HEAD, OPTIONS, PURGE"),
        # RFC 9110 §15.5.6: the 405 lists every method of the path; HEAD comes with GET.
        (b"POST", b"/item/7", 405, b"405 Method Not Allowed", "DELETE, GET, HEAD, OPTIONS, PATCH, PUT"),
        (b"FOO", b"/item/7", 405, b"405 Method Not Allowed", "DELETE, GET, HEAD, OPTIONS, PATCH, PUT"),
        (b"PATCH", b"/item/7", 200, b"item:PATCH:7", None),
        (b"FOO", b"/nowhere", 404, b"404 Not Found", None),
    ],
)
def test_methods_and_405_allow(server: RunningServer, method: bytes, target: bytes, status: int, body: bytes, allow: str | None) -> None:
    (response,) = exchange(server.port, request_line(method, target))
    assert (response.status, response.body, response.header("allow")) == (status, body, allow)


def test_options_on_a_path_lists_its_methods(server: RunningServer) -> None:
    (response,) = exchange(server.port, request_line(b"OPTIONS", b"/item/7"))
    assert (response.status, response.header("allow")) == (204, "DELETE, GET, HEAD, OPTIONS, PATCH, PUT")


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE", "OPTIONS", "PURGE", "M-SEARCH", "FOO", "get", "TRACE"])
def test_any_method_route_takes_every_method(server: RunningServer, method: str) -> None:
    """`methods="*"`: the handler gets every method, OPTIONS included, and never a 405."""
    (response,) = exchange(server.port, request_line(method.encode(), b"/any"))
    assert (response.status, response.body, response.header("allow")) == (200, f"any:{method}".encode(), None)


def test_any_method_route_answers_head_without_a_body(server: RunningServer) -> None:
    (response,) = exchange(server.port, request_line(b"HEAD", b"/any"), methods=["HEAD"])
    assert response.status == 200
    assert response.header("content-length") == str(len(b"any:HEAD"))
    with Connection(server.port) as connection:  # and nothing after the head
        connection.send(request_line(b"HEAD", b"/any") + request_line(b"GET", b"/any"))
        assert connection.read_response("HEAD").body == b""
        assert connection.read_response().body == b"any:GET"


@pytest.mark.parametrize(
    "method,body",
    [("GET", b"mixed:get"), ("HEAD", b""), ("POST", b"mixed:any:POST"), ("OPTIONS", b"mixed:any:OPTIONS")],
)
def test_named_methods_win_over_any(server: RunningServer, method: str, body: bytes) -> None:
    """A path's named methods keep their handlers (HEAD goes to GET's); `*` takes the rest."""
    (response,) = exchange(server.port, request_line(method.encode(), b"/mixed"), methods=[method])
    assert (response.status, response.body) == (200, body)
    if method == "HEAD":
        assert response.header("content-length") == str(len(b"mixed:get"))


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "OPTIONS", "PROPFIND"])
def test_any_method_mount(server: RunningServer, method: str) -> None:
    (response,) = exchange(server.port, request_line(method.encode(), b"/m/a/b"))
    assert (response.status, response.body) == (200, f"mount:{method}:a/b".encode())


def test_unknown_methods_from_httpx(server: RunningServer) -> None:
    with httpx.Client(base_url=server.url) as client:
        assert client.request("PURGE", "/cache").text == "cache:PURGE"
        assert client.request("M-SEARCH", "/any").text == "any:M-SEARCH"
        refused = client.request("M-SEARCH", "/cache")
        assert (refused.status_code, refused.headers["allow"]) == (405, "GET, HEAD, OPTIONS, PURGE")
        assert client.request("REPORT", "/m/x", content=b"<q/>").text == "mount:REPORT:x"


def test_options_asterisk_lists_the_server_methods(server_for: ServerFor) -> None:
    """RFC 9112 §3.2.4: the server answers `OPTIONS *` itself, naming the methods it serves;
    a `*` endpoint stands for the methods that act on a resource."""
    app = App()
    app.add_route("/", lambda request: "root", ["GET"])
    app.add_route("/report", lambda request: "report", ["REPORT"])
    server = server_for(app)
    for version in (b"HTTP/1.1", b"HTTP/1.0"):
        (star,) = exchange(server.port, b"OPTIONS * " + version + b"\r\nHost: x\r\n\r\n")
        assert (star.status, star.body, star.header("allow")) == (204, b"", "GET, HEAD, OPTIONS, REPORT")
    (star,) = exchange(server_for(method_app()).port, request_line(b"OPTIONS", b"*"))
    assert star.header("allow") == "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PURGE, PUT"


def test_connect_without_a_handler_is_501(server: RunningServer) -> None:
    """RFC 9110 §9.3.6: no tunnels here; the connection goes on (the request had no body)."""
    with Connection(server.port) as connection:
        connection.send(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n" + request_line(b"GET", b"/any"))
        refused = connection.read_response()
        assert refused.status == 501
        assert refused.body == b"501 Not Implemented: CONNECT is not supported: this server is not a proxy"
        assert refused.header("connection") is None
        assert connection.read_response().body == b"any:GET"


def test_connect_handler(server_for: ServerFor) -> None:
    app = method_app()

    @app.connect
    def refuse_politely(request: Request) -> dict[str, str]:
        return {"target": request.target, "host": request.host, "path": request.raw_path}

    server = server_for(app)
    (response,) = exchange(server.port, b"CONNECT [::1]:8443 HTTP/1.1\r\nHost: elsewhere\r\n\r\n")
    assert response.status == 200
    assert response.body == b'{"target":"[::1]:8443","host":"[::1]:8443","path":"[::1]:8443"}'
    (star,) = exchange(server.port, request_line(b"OPTIONS", b"*"))
    assert "CONNECT" in (star.header("allow") or "").split(", ")


@pytest.mark.parametrize(
    "request_bytes,host,path",
    [
        # RFC 9112 §3.2.2: the Host of an absolute-form request is its authority.
        (b"GET http://example.com:8080/where?q=1 HTTP/1.1\r\nHost: other\r\n\r\n", "example.com:8080", "/where"),
        (b"GET HTTPS://[::1]/where HTTP/1.1\r\nHost: other\r\n\r\n", "[::1]", "/where"),
        (b"GET http://example.com/where HTTP/1.0\r\n\r\n", "example.com", "/where"),
        (b"GET /where HTTP/1.1\r\nHost: origin.example:81\r\n\r\n", "origin.example:81", "/where"),
        (b"GET /where HTTP/1.0\r\n\r\n", "", "/where"),
    ],
)
def test_host_of_each_target_form(server: RunningServer, request_bytes: bytes, host: str, path: str) -> None:
    (response,) = exchange(server.port, request_bytes)
    assert response.status == 200
    answer = json.loads(response.body)
    assert (answer["host"], answer["path"]) == (host, path)


@pytest.mark.parametrize(
    "methods,message",
    [
        ([], "needs at least one method"),
        (["*", "GET"], "stands for every method"),
        (["GET /"], "is not a method name"),
        (["CONNECT"], "app.connect"),
    ],
)
def test_route_registration_is_checked(methods: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        App().add_route("/x", lambda request: "", methods)
    with pytest.raises(ValueError, match=message):
        App().mount("/x", lambda request, rest: "", methods)
