"""The ASGI lifespan protocol and the end of an ASGI app's work, in-process on both parser
backends: the startup and shutdown events and their answers, the lifespan `state` each request
gets a copy of, a failed startup (nothing is served), the three modes (auto, on, off) with an
app that does not support lifespan, a failed shutdown, and the app Tasks still running at
shutdown (awaited, then cancelled at `shutdown_timeout`). Also Starlette's and FastAPI's
`lifespan` context managers, which yield state.

Every server is real (RunningServer on 127.0.0.1) and every request goes over a real socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from conftest import RunningServer
from fastapi import Request as FastAPIRequest
from processes import free_port
from wirespeed.asgi import LifespanFailure

Scope = dict[str, Any]
Receive = Callable[[], Any]
Send = Callable[[dict[str, Any]], Any]


async def answer_json(send: Send, data: Any, status: int = 200) -> None:
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": json.dumps(data).encode()})


def refused(port: int) -> bool:
    """Whether nothing listens on `port` of 127.0.0.1."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return False
    except ConnectionRefusedError:
        return True


async def plain_lifespan(receive: Receive, send: Send, events: list[str]) -> None:
    """The lifespan protocol with nothing to do but note the shutdown in `events`."""
    await receive()
    await send({"type": "lifespan.startup.complete"})
    await receive()
    events.append("lifespan.shutdown")
    await send({"type": "lifespan.shutdown.complete"})


def messages(caplog: pytest.LogCaptureFixture, level: int | None = None) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name.startswith("wirespeed") and (level is None or record.levelno == level)
    ]


def test_startup_and_shutdown_are_sent_in_order_and_answered(server_for: Callable[..., RunningServer]) -> None:
    events: list[Any] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            events.append(("scope", scope["asgi"], dict(scope["state"])))
            events.append((await receive())["type"])
            await asyncio.sleep(0.2)  # the server waits for the answer before it listens
            scope["state"]["ready"] = True
            await send({"type": "lifespan.startup.complete"})
            events.append((await receive())["type"])
            await asyncio.sleep(0.2)  # ... and for this one before it ends
            events.append("cleaned up")
            await send({"type": "lifespan.shutdown.complete"})
            events.append("returned")
            return
        await answer_json(send, {"ready": scope["state"].get("ready"), "events": events[1:]})

    server = server_for(app)
    response = httpx.get(server.url + "/")
    assert response.status_code == 200
    assert response.json() == {"ready": True, "events": ["lifespan.startup"]}
    server.stop()
    assert events == [
        ("scope", {"version": "3.0", "spec_version": "2.0"}, {}),
        "lifespan.startup",
        "lifespan.shutdown",
        "cleaned up",
        "returned",
    ]


def test_state_is_a_shallow_copy_per_request(server_for: Callable[..., RunningServer]) -> None:
    lifespan_state: list[dict[str, Any]] = []
    request_states: list[dict[str, Any]] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await receive()
            scope["state"].update(name="db", hits=[])
            lifespan_state.append(scope["state"])
            await send({"type": "lifespan.startup.complete"})
            await receive()
            await send({"type": "lifespan.shutdown.complete"})
            return
        state = scope["state"]
        request_states.append(state)
        if scope["path"] == "/mutate":
            state["name"] = "changed"
            state["extra"] = 1
            state["hits"].append(scope["path"])  # the same list: the copy is shallow
        await answer_json(send, {"keys": sorted(state), "name": state["name"], "hits": state["hits"]})

    server = server_for(app)
    with httpx.Client(base_url=server.url) as client:
        first = client.get("/read").json()
        mutated = client.get("/mutate").json()
        after = client.get("/read").json()
    assert first == {"keys": ["hits", "name"], "name": "db", "hits": []}
    assert mutated == {"keys": ["extra", "hits", "name"], "name": "changed", "hits": ["/mutate"]}
    assert after == {"keys": ["hits", "name"], "name": "db", "hits": ["/mutate"]}
    assert lifespan_state[0] == {"name": "db", "hits": ["/mutate"]}
    assert len(request_states) == 3
    assert all(state is not lifespan_state[0] for state in request_states)
    assert request_states[0] is not request_states[2]


def test_startup_failed_raises_and_nothing_is_served(server_for: Callable[..., RunningServer]) -> None:
    scopes: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        scopes.append(scope["type"])
        if scope["type"] == "lifespan":
            await receive()
            await send({"type": "lifespan.startup.failed", "message": "the database is unreachable"})
            return
        await answer_json(send, "served")

    port = free_port()
    with pytest.raises(LifespanFailure) as failure:
        server_for(app, port=port)
    assert str(failure.value) == "application startup failed: the database is unreachable"
    assert refused(port)
    assert scopes == ["lifespan"]


async def http_only(scope: Scope, receive: Receive, send: Send) -> None:
    """An app without lifespan support, as many are written. (Not an `assert`: pytest rewrites
    those in test modules, and the message would not be the app's own.)"""
    if scope["type"] != "http":
        raise ValueError("http only")
    await answer_json(send, {"path": scope["path"]})


def test_auto_mode_serves_an_app_without_lifespan_support(
    server_for: Callable[..., RunningServer], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="wirespeed")
    server = server_for(http_only, lifespan="auto")
    response = httpx.get(server.url + "/here")
    assert response.status_code == 200
    assert response.json() == {"path": "/here"}
    server.stop()
    unsupported = [m for m in messages(caplog, logging.INFO) if "does not support the ASGI lifespan protocol" in m]
    assert unsupported == ["the app does not support the ASGI lifespan protocol (ValueError: http only)"]
    assert messages(caplog, logging.ERROR) == []


def test_on_mode_fails_startup_for_an_app_without_lifespan_support(
    server_for: Callable[..., RunningServer],
) -> None:
    port = free_port()
    with pytest.raises(LifespanFailure) as failure:
        server_for(http_only, lifespan="on", port=port)
    assert str(failure.value) == "application startup failed: ValueError: http only"
    assert refused(port)


def test_off_mode_never_calls_the_app_for_lifespan(server_for: Callable[..., RunningServer]) -> None:
    scopes: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        scopes.append(scope["type"])
        if scope["type"] == "lifespan":  # would answer, were it asked
            await receive()
            await send({"type": "lifespan.startup.complete"})
            await receive()
            await send({"type": "lifespan.shutdown.complete"})
            return
        await answer_json(send, "served")

    server = server_for(app, lifespan="off")
    assert httpx.get(server.url + "/").json() == "served"
    server.stop()
    assert scopes == ["http"]


def test_shutdown_failed_is_logged(
    server_for: Callable[..., RunningServer], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="wirespeed")

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await receive()
            await send({"type": "lifespan.startup.complete"})
            await receive()
            await send({"type": "lifespan.shutdown.failed", "message": "could not flush the cache"})
            return
        await answer_json(send, "served")

    server = server_for(app)
    assert httpx.get(server.url + "/").json() == "served"
    server.stop()
    assert not server._thread.is_alive()
    assert messages(caplog, logging.ERROR) == ["application shutdown failed: could not flush the cache"]


def test_background_work_after_the_response_is_awaited_at_shutdown(
    server_for: Callable[..., RunningServer],
) -> None:
    events: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await plain_lifespan(receive, send, events)
            return
        await answer_json(send, "answered")
        await asyncio.sleep(0.3)  # work after the answer, like a background task
        events.append("background done")

    server = server_for(app, shutdown_timeout=5.0)
    assert httpx.get(server.url + "/").json() == "answered"
    assert events == []  # the answer came before the work ended
    began = time.monotonic()
    server.stop()
    assert events == ["background done", "lifespan.shutdown"]
    assert time.monotonic() - began < 3


def test_app_task_hanging_past_shutdown_timeout_is_cancelled(
    server_for: Callable[..., RunningServer], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="wirespeed")
    events: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await plain_lifespan(receive, send, events)
            return
        await answer_json(send, "answered")
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            events.append("cancelled")
            raise
        events.append("slept")

    server = server_for(app, shutdown_timeout=0.5)
    assert httpx.get(server.url + "/").json() == "answered"
    began = time.monotonic()
    server.stop()
    took = time.monotonic() - began
    assert not server._thread.is_alive()
    assert events == ["cancelled", "lifespan.shutdown"]
    assert 0.4 <= took < 3, took  # it waited for shutdown_timeout, then no longer
    assert "cancelling 1 ASGI app task(s) still running at shutdown" in messages(caplog, logging.WARNING)


def test_app_hanging_before_its_response_is_cut_and_cancelled(
    server_for: Callable[..., RunningServer],
) -> None:
    """A request still in flight at shutdown: its connection is closed at shutdown_timeout and
    its app, which never noticed, is cancelled in bounded time."""
    events: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await plain_lifespan(receive, send, events)
            return
        events.append("started")
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            events.append("cancelled")
            raise
        await answer_json(send, "late")

    server = server_for(app, shutdown_timeout=0.5)
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
        deadline = time.monotonic() + 5
        while "started" not in events and time.monotonic() < deadline:
            time.sleep(0.01)
        began = time.monotonic()
        server.stop()
        took = time.monotonic() - began
        try:
            received = sock.recv(65536)
        except ConnectionResetError:
            received = b""
    assert received == b""  # cut without an answer
    assert not server._thread.is_alive()
    assert events == ["started", "cancelled", "lifespan.shutdown"]
    assert took < 3, took


def starlette_app(events: list[str]) -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        events.append("startup")
        yield {"greeting": "hello from the lifespan"}
        events.append("shutdown")

    async def home(request: Request) -> JSONResponse:
        return JSONResponse({"greeting": request.state.greeting})

    return Starlette(routes=[Route("/", home)], lifespan=lifespan)


def fastapi_app(events: list[str]) -> Any:
    from fastapi import FastAPI

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        events.append("startup")
        yield {"greeting": "hello from the lifespan"}
        events.append("shutdown")

    app = FastAPI(lifespan=lifespan)

    @app.get("/")
    async def home(request: FastAPIRequest) -> dict[str, str]:  # imported at the top: FastAPI
        return {"greeting": request.state.greeting}  # reads the annotation in the module's globals

    return app


@pytest.mark.parametrize("make_app", [starlette_app, fastapi_app], ids=["starlette", "fastapi"])
def test_framework_lifespan_yields_state(
    server_for: Callable[..., RunningServer], make_app: Callable[[list[str]], Any]
) -> None:
    events: list[str] = []
    server = server_for(make_app(events), lifespan="on")
    assert events == ["startup"]
    response = httpx.get(server.url + "/")
    assert response.status_code == 200
    assert response.json() == {"greeting": "hello from the lifespan"}
    server.stop()
    assert events == ["startup", "shutdown"]
