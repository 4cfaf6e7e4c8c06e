"""The demo app that `wirespeed` serves when it is given no app of its own.

Strategy: this module owns only the demo's routes: an HTML home page, a JSON route with a
path parameter, static files from the folder shipped beside it, and plain-text 404s for
everything else (the router's default). It is also the smallest example of the App API.
"""

from __future__ import annotations

import os

from .app import App
from .request import Request
from .response import HTMLResponse

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
<li>Any other path is a plain-text <code>404 Not Found</code>.</li>
</ul>
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


app.static("/static", STATIC_DIR)
