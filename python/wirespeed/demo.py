"""The demo app that `wirespeed` serves when it is given no app of its own.

Strategy: this module owns only the demo's routes: an HTML home page, a JSON route with a
path parameter, a WebSocket echo, static files from the folder shipped beside it, and
plain-text 404s for everything else (the router's default). It is also the smallest example of the App API.
"""

from __future__ import annotations

import os

from .app import App
from .request import Request
from .response import HTMLResponse
from .websocket.native import WebSocket

STATIC_DIR = os.path.join(os.path.dirname(__file__), "demo_static")

HOME_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>wirespeed</title>
<link rel="stylesheet" href="/static/style.css">
</head>
<body>
<h1>wirespeed</h1>
<p>An HTTP/1.1 server for Python with a request parser in Rust.</p>
<ul>
<li><a href="/users/42"><code>GET /users/42</code></a> returns JSON with the path parameter.</li>
<li><a href="/static/hello.txt"><code>GET /static/hello.txt</code></a> is a static file.</li>
<li><code>ws://.../ws/echo</code> is a WebSocket that echoes each message:
<input id="say" value="hello"> <button onclick="ws.send(say.value)">send</button> <span id="heard"></span></li>
<li>Any other path is a plain-text <code>404 Not Found</code>.</li>
</ul>
<script>
const ws = new WebSocket(`ws://${location.host}/ws/echo`);
ws.onmessage = (event) => { document.getElementById("heard").textContent = event.data; };
</script>
</body>
</html>
"""

app = App()


@app.get("/")
def home(request: Request) -> HTMLResponse:
    return HTMLResponse(HOME_PAGE)


@app.get("/users/{user_id}")
def user(request: Request, user_id: str) -> dict[str, str]:
    return {"user_id": user_id}


@app.websocket("/ws/echo")
async def echo(ws: WebSocket) -> None:
    await ws.accept()
    async for message in ws:
        await ws.send(message)


app.static("/static", STATIC_DIR)
