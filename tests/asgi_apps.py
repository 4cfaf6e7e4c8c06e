"""Real Starlette and FastAPI applications for the ASGI tests, and a bare ASGI app that reports
its scope (`proxy_view_app`, for the tests of proxy headers, directly and behind nginx).

`starlette_app` and `fastapi_app` build one application each, the way a user would write it:
routing with converters, JSON, forms and multipart uploads, streaming and file responses,
StaticFiles, background tasks, CORS and GZip middleware, a lifespan context manager whose
state reaches every request, and custom exception handlers. Each app takes a `Probe`, the
tests' window into it: the messages the app sent (so a test knows a FileResponse went out as
`http.response.pathsend`), what its background tasks and lifespan did, and gates a test opens
to let a waiting handler or background task go on. The server runs the app in its own
thread, so the gates are `threading.Event`s, waited for in a worker thread.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from fastapi import BackgroundTasks, FastAPI, File, Form, Query, UploadFile
from fastapi import HTTPException as FastAPIHTTPException
from fastapi import Request as FastAPIRequest
from fastapi.responses import JSONResponse as FastAPIJSONResponse
from pydantic import BaseModel, Field
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

GATE_TIMEOUT = 10.0  # a gate never opened lets its waiter go after this many seconds
ALLOWED_ORIGIN = "https://allowed.example"
STREAM_PIECES = [b"alpha\n", b"bravo bravo\n", b"charlie charlie charlie\n", b"delta\n", b"echo!\n"]
LARGE_TEXT = "".join(f"line {i}: the quick brown fox jumps over the lazy dog\n" for i in range(4000))


@dataclass
class Probe:
    """What the tests see of a running app."""

    sends: list[tuple[str, str]] = field(default_factory=list)  # (path, message type), in order
    send_errors: list[tuple[str, BaseException]] = field(default_factory=list)  # (path, what send raised)
    background: list[str] = field(default_factory=list)  # tokens of finished background tasks
    lifespan: list[str] = field(default_factory=list)  # "startup" and "shutdown", as they ran
    gates: dict[str, threading.Event] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def gate(self, name: str) -> threading.Event:
        with self._lock:
            return self.gates.setdefault(name, threading.Event())

    async def wait_gate(self, name: str) -> bool:
        return await asyncio.to_thread(self.gate(name).wait, GATE_TIMEOUT)

    def sent_types(self, path: str) -> list[str]:
        return [kind for sent_path, kind in self.sends if sent_path == path]


class SendRecorder:
    """Pure ASGI middleware: records the type of every message the app sends, and what a send
    raised."""

    def __init__(self, app: ASGIApp, probe: Probe) -> None:
        self.app = app
        self.probe = probe

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]

        async def recording_send(message: Message) -> None:
            self.probe.sends.append((path, message["type"]))
            try:
                await send(message)
            except BaseException as error:
                self.probe.send_errors.append((path, error))
                raise

        await self.app(scope, receive, recording_send)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- Starlette ---------------------------------------------------------------------------------


def starlette_app(probe: Probe, files_dir: Path, static_dir: Path) -> Starlette:
    """Streaming, files, StaticFiles, middleware, lifespan state and large uploads."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        probe.lifespan.append("startup")
        yield {"greeting": "hello from lifespan", "hits": []}
        probe.lifespan.append("shutdown")

    async def home(request: Request) -> JSONResponse:
        return JSONResponse({"framework": "starlette", "path": request.url.path})

    async def echo_json(request: Request) -> JSONResponse:
        payload = await request.json()
        return JSONResponse({"received": payload, "keys": sorted(payload)}, status_code=201)

    async def user(request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "user_id": request.path_params["user_id"],
                "type": type(request.path_params["user_id"]).__name__,
                "tags": request.query_params.getlist("tag"),
                "sort": request.query_params.get("sort"),
            }
        )

    async def stream(request: Request) -> StreamingResponse:
        async def pieces() -> AsyncIterator[bytes]:
            for piece in STREAM_PIECES:
                await asyncio.sleep(0.005)
                yield piece

        return StreamingResponse(pieces(), media_type="text/plain")

    async def gated_stream(request: Request) -> StreamingResponse:
        token = request.query_params["token"]

        async def pieces() -> AsyncIterator[bytes]:
            yield b"first piece\n"
            await probe.wait_gate(token)
            yield b"second piece\n"
            yield b"last piece\n"

        return StreamingResponse(pieces(), media_type="text/plain")

    async def file(request: Request) -> FileResponse:
        path = files_dir / request.path_params["name"]
        return FileResponse(path, media_type="application/octet-stream")

    async def background(request: Request) -> PlainTextResponse:
        token = request.query_params["token"]

        async def task() -> None:
            await probe.wait_gate(token)
            probe.background.append(token)

        return PlainTextResponse(f"scheduled {token}", background=BackgroundTask(task))

    async def background_status(request: Request) -> JSONResponse:
        return JSONResponse({"done": list(probe.background)})

    async def state(request: Request) -> JSONResponse:
        request.state.hits.append(request.query_params.get("who", "?"))
        return JSONResponse({"greeting": request.state.greeting, "hits": list(request.state.hits)})

    async def large_text(request: Request) -> PlainTextResponse:
        return PlainTextResponse(LARGE_TEXT)

    async def upload_hash(request: Request) -> JSONResponse:
        digest = hashlib.sha256()
        size = pieces = 0
        async for chunk in request.stream():
            if chunk:
                digest.update(chunk)
                size += len(chunk)
                pieces += 1
        return JSONResponse({"sha256": digest.hexdigest(), "size": size, "pieces": pieces})

    async def refuse(request: Request) -> PlainTextResponse:
        # Answers without reading the body it was sent.
        return PlainTextResponse("no thanks", status_code=403)

    async def teapot(request: Request) -> Response:
        raise HTTPException(status_code=418, detail="short and stout", headers={"X-Teapot": "yes"})

    async def who(request: Request) -> JSONResponse:
        client = request.client
        return JSONResponse({"port": client.port if client else None, "path": request.url.path})

    async def slow(request: Request) -> PlainTextResponse:
        await asyncio.sleep(int(request.query_params["ms"]) / 1000)
        return PlainTextResponse(f"slow {request.query_params['ms']}")

    async def http_exception(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return JSONResponse(
            {"error": exc.detail, "status": exc.status_code, "handler": "custom"},
            status_code=exc.status_code,
            headers={**(exc.headers or {}), "X-Handled-By": "custom-handler"},
        )

    routes = [
        Route("/", home),
        Route("/json", echo_json, methods=["POST"]),
        Route("/users/{user_id:int}", user),
        Route("/stream", stream),
        Route("/gated-stream", gated_stream),
        Route("/files/{name}", file),
        Route("/background", background),
        Route("/background/status", background_status),
        Route("/state", state),
        Route("/large-text", large_text),
        Route("/upload-hash", upload_hash, methods=["POST", "PUT"]),
        Route("/refuse", refuse, methods=["POST"]),
        Route("/teapot", teapot),
        Route("/who", who),
        Route("/slow", slow),
        Mount("/static", app=StaticFiles(directory=static_dir, html=True), name="static"),
    ]
    middleware = [
        Middleware(SendRecorder, probe=probe),
        Middleware(
            CORSMiddleware,
            allow_origins=[ALLOWED_ORIGIN],
            allow_methods=["GET", "POST", "PUT"],
            allow_headers=["X-Custom"],
            expose_headers=["X-Exposed"],
            max_age=600,
        ),
        Middleware(GZipMiddleware, minimum_size=1000),
    ]
    return Starlette(
        routes=routes,
        middleware=middleware,
        lifespan=lifespan,
        exception_handlers={HTTPException: http_exception},
    )


# -- FastAPI -----------------------------------------------------------------------------------


class Item(BaseModel):
    name: str = Field(min_length=1)
    price: float = Field(gt=0)
    tags: list[str] = []


class PaymentRequired(Exception):
    def __init__(self, amount: int) -> None:
        self.amount = amount


def fastapi_app(probe: Probe) -> FastAPI:
    """JSON with validation, parameters, forms and files, background tasks, HEAD, handlers."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        probe.lifespan.append("startup")
        yield {"db": {"answer": 42}}
        probe.lifespan.append("shutdown")

    app = FastAPI(lifespan=lifespan)

    @app.exception_handler(FastAPIHTTPException)
    async def http_exception(request: FastAPIRequest, exc: FastAPIHTTPException) -> FastAPIJSONResponse:
        return FastAPIJSONResponse(
            {"problem": exc.detail, "path": request.url.path},
            status_code=exc.status_code,
            headers={"X-Handled-By": "fastapi-handler"},
        )

    @app.exception_handler(PaymentRequired)
    async def payment_required(request: FastAPIRequest, exc: PaymentRequired) -> FastAPIJSONResponse:
        return FastAPIJSONResponse({"pay": exc.amount}, status_code=402)

    @app.post("/items", status_code=201)
    async def create_item(item: Item) -> dict[str, Any]:
        return {"item": item.model_dump(), "price_with_tax": round(item.price * 1.2, 2)}

    @app.get("/items/{item_id}")
    async def read_item(item_id: int, q: str | None = None, limit: int = 10, tag: Annotated[list[str] | None, Query()] = None) -> dict[str, Any]:
        if item_id == 404:
            raise FastAPIHTTPException(status_code=404, detail="no such item")
        return {"item_id": item_id, "q": q, "limit": limit, "tags": tag or []}

    @app.get("/names/{name}")
    async def read_name(name: str, request: FastAPIRequest) -> dict[str, Any]:
        return {"name": name, "raw_path": request.scope["raw_path"].decode("latin-1"), "url": str(request.url)}

    @app.get("/pay")
    async def pay() -> None:
        raise PaymentRequired(5)

    @app.post("/login")
    async def login(username: Annotated[str, Form()], remember: Annotated[bool, Form()] = False) -> dict[str, Any]:
        return {"username": username, "remember": remember}

    @app.post("/upload")
    async def upload(
        title: Annotated[str, Form()],
        files: Annotated[list[UploadFile], File()],
        note: Annotated[UploadFile | None, File()] = None,
    ) -> dict[str, Any]:
        described = []
        for upload_file in files:
            data = await upload_file.read()
            described.append(
                {
                    "filename": upload_file.filename,
                    "content_type": upload_file.content_type,
                    "size": len(data),
                    "sha256": _digest(data),
                }
            )
        note_text = (await note.read()).decode() if note is not None else None
        return {"title": title, "files": described, "note": note_text}

    @app.get("/background")
    async def background(token: str, tasks: BackgroundTasks) -> dict[str, str]:
        async def task() -> None:
            await probe.wait_gate(token)
            probe.background.append(token)

        tasks.add_task(task)
        return {"scheduled": token}

    @app.get("/background/status")
    async def background_status() -> dict[str, list[str]]:
        return {"done": list(probe.background)}

    @app.get("/state")
    async def state(request: FastAPIRequest) -> dict[str, Any]:
        return {"db": request.state.db, "root_path": request.scope["root_path"]}

    @app.api_route("/report", methods=["GET", "HEAD"])
    async def report() -> dict[str, Any]:
        return {"rows": list(range(50)), "title": "report"}

    @app.get("/only-get")
    async def only_get() -> dict[str, str]:
        return {"only": "get"}

    return app


async def proxy_view_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answers with what its scope says of the client, the scheme, the server and the host,
    and the proxy headers as they came (JSON; over a WebSocket, one text message)."""
    if scope["type"] == "lifespan":
        await receive()
        await send({"type": "lifespan.startup.complete"})
        await receive()
        await send({"type": "lifespan.shutdown.complete"})
        return
    headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}
    seen = {
        "client": scope["client"],
        "scheme": scope["scheme"],
        "server": scope["server"],
        "host": headers.get("host"),
        "xff": headers.get("x-forwarded-for"),
        "forwarded": headers.get("forwarded"),
    }
    if scope["type"] == "websocket":
        await receive()
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.send", "text": json.dumps(seen)})
        await send({"type": "websocket.close", "code": 1000})
        return
    while (await receive()).get("more_body"):
        pass
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": json.dumps(seen).encode()})
