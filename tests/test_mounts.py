"""Mounts: a handler that owns every path under a prefix (`app.mount`, `app.static`), and how
mounts rank against routes and against each other, on live servers on both parser backends."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from conftest import RunningServer
from http_wire import Connection
from wirespeed import App, Request, StaticFiles


def echo_rest(name: str) -> Callable[[Request, str], str]:
    def handler(request: Request, rest: str) -> str:
        return f"{name}:{rest}"

    return handler


@pytest.fixture
def app(tmp_path: pytest.TempPathFactory) -> App:
    app = App()
    app.mount("/", echo_rest("root"))
    app.mount("/files", echo_rest("files"))
    app.mount("/files/deep", echo_rest("deep"))
    app.mount("/upload", echo_rest("upload"), methods=("PUT",))

    @app.get("/files/exact")
    def exact(request: Request) -> str:
        return "route:exact"

    @app.get("/files/item/{item_id:int}")
    def item(request: Request, item_id: int) -> str:
        return f"route:item:{item_id}"

    return app


MOUNT_ROWS = [
    # (target, expected body) -- the mount that owns the path, and the rest it is given
    ("/", "root:"),
    ("/anything/else", "root:anything/else"),
    ("/files", "files:"),
    ("/files/", "files:"),
    ("/files/a/b.txt", "files:a/b.txt"),
    ("/filesystem", "root:filesystem"),  # a prefix owns whole segments only
    ("/files/deep/x", "deep:x"),  # the longer prefix wins
    ("/files/deeper", "files:deeper"),
    ("/files/exact", "route:exact"),  # a route wins over a mount
    ("/files/item/7", "route:item:7"),  # so does a route with parameters
    ("/files/item/x", "files:item/x"),  # ... unless it does not match
    ("/files/a%20b%2Fc", "files:a b/c"),  # the rest is percent-decoded once
    ("/files/a?x=1", "files:a"),  # the query is not part of the path
]


@pytest.mark.parametrize(("target", "expected"), MOUNT_ROWS)
def test_mount_owns_its_prefix(
    server_for: Callable[..., RunningServer], app: App, target: str, expected: str
) -> None:
    server = server_for(app)
    with Connection(server.port) as connection:
        connection.send(f"GET {target} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        response = connection.read_response()
    assert response.status == 200
    assert response.body.decode() == expected


def test_mount_methods(server_for: Callable[..., RunningServer], app: App) -> None:
    server = server_for(app)
    with Connection(server.port) as connection:
        connection.send(b"PUT /upload/f HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        assert connection.read_response().body == b"upload:f"
        connection.send(b"GET /upload/f HTTP/1.1\r\nHost: x\r\n\r\n")
        refused = connection.read_response()
        assert refused.status == 405
        assert refused.header("allow") == "OPTIONS, PUT"
        connection.send(b"HEAD /files/a HTTP/1.1\r\nHost: x\r\n\r\n")  # GET mounts answer HEAD
        head = connection.read_response("HEAD")
        assert head.status == 200 and head.header("content-length") == str(len(b"files:a"))


def test_mount_prefixes_are_checked() -> None:
    app = App()
    app.mount("/a", echo_rest("a"))
    with pytest.raises(ValueError, match="already mounted"):
        app.mount("/a/", echo_rest("again"))
    with pytest.raises(ValueError, match="plain path"):
        app.mount("/a/{x}", echo_rest("pattern"))
    with pytest.raises(ValueError, match="plain path"):
        app.mount("relative", echo_rest("relative"))


def test_static_files_mount_like_any_handler(
    server_for: Callable[..., RunningServer], tmp_path: pytest.TempPathFactory
) -> None:
    root = tmp_path / "public"  # type: ignore[operator]
    root.mkdir()
    (root / "hello.txt").write_text("hello")
    app = App()
    app.mount("/assets", StaticFiles(root))
    server = server_for(app)
    with Connection(server.port) as connection:
        connection.send(b"GET /assets/hello.txt HTTP/1.1\r\nHost: x\r\n\r\n")
        response = connection.read_response()
        assert (response.status, response.body) == (200, b"hello")
        connection.send(b"GET /assets HTTP/1.1\r\nHost: x\r\n\r\n")
        redirect = connection.read_response()
        assert (redirect.status, redirect.header("location")) == (301, "/assets/")
