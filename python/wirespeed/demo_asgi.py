"""The demo as a FastAPI app, served by wirespeed's ASGI mode: `wirespeed wirespeed.demo_asgi:app`.

Strategy: this module owns only the FastAPI demo's routes, the same as the native demo's
(`demo.py`) plus what the ASGI mode adds: an HTML home page, a JSON route with a typed path
parameter, a JSON body validated by a model, a streamed body, a file sent with
`http.response.pathsend` (zero-copy), the static folder mounted with Starlette's StaticFiles,
a WebSocket echo, and state set up by the lifespan. FastAPI is not a dependency of wirespeed: it comes with the
test extra, which `make run` and `make test` install.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import FileResponse, HTMLResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel

from .demo import STATIC_DIR

HOME_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>wirespeed: FastAPI</title>
<link rel="stylesheet" href="/static/style.css">
</head>
<body>
<h1>wirespeed serving FastAPI</h1>
<ul>
<li><a href="/users/42"><code>GET /users/42</code></a> returns JSON with the path parameter.</li>
<li><a href="/greeting"><code>GET /greeting</code></a> reads the state the lifespan set up.</li>
<li><code>POST /items</code> with <code>{"name": "x", "price": 1.5}</code> echoes a validated item.</li>
<li><a href="/count"><code>GET /count</code></a> streams ten lines, one every 100 ms.</li>
<li><a href="/hello.txt"><code>GET /hello.txt</code></a> is a file sent with pathsend.</li>
<li><a href="/static/hello.txt"><code>GET /static/hello.txt</code></a> is Starlette's StaticFiles.</li>
<li><a href="/docs"><code>GET /docs</code></a> is FastAPI's own documentation page.</li>
<li><code>ws://.../ws/echo</code> is a FastAPI WebSocket that echoes each text message.</li>
</ul>
</body>
</html>
"""


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
    yield {"greeting": "served by wirespeed"}


app = FastAPI(title="wirespeed demo", lifespan=lifespan)


class Item(BaseModel):
    name: str
    price: float


@app.get("/", response_class=HTMLResponse)
async def home() -> str:
    return HOME_PAGE


@app.get("/users/{user_id}")
async def user(user_id: int) -> dict[str, Any]:
    return {"user_id": user_id}


@app.get("/greeting")
async def greeting(request: Request) -> dict[str, str]:
    return {"greeting": request.state.greeting}  # from the lifespan's state


@app.post("/items")
async def create_item(item: Item) -> dict[str, Any]:
    return {"name": item.name, "price": item.price}


@app.get("/count")
async def count() -> StreamingResponse:
    async def lines() -> AsyncIterator[str]:
        for number in range(10):
            yield f"{number}\n"
            await asyncio.sleep(0.1)

    return StreamingResponse(lines(), media_type="text/plain")


@app.get("/hello.txt")
async def hello_file() -> FileResponse:
    return FileResponse(os.path.join(STATIC_DIR, "hello.txt"), media_type="text/plain")


@app.websocket("/ws/echo")
async def echo(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        while True:
            await websocket.send_text(await websocket.receive_text())
    except WebSocketDisconnect:
        pass


app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
