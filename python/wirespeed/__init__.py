"""wirespeed: an HTTP/1.1 server for Python with a request parser written in Rust.

Strategy: this module only gathers the public API; every piece lives in its own module.
"""

from .app import App
from .config import Config
from .errors import (
    BadRequest,
    Forbidden,
    HTTPError,
    MethodNotAllowed,
    NotFound,
    ParseError,
)
from .request import Headers, QueryParams, Request
from .response import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from .server import Server, run, serve
from .static import StaticFiles
from .tls import TLSInfo
from .websocket.native import WebSocket, WebSocketDisconnect
from .websocket.session import WebSocketClosed

__version__ = "0.1.0"

__all__ = [
    "App",
    "BadRequest",
    "Config",
    "FileResponse",
    "Forbidden",
    "HTMLResponse",
    "HTTPError",
    "Headers",
    "JSONResponse",
    "MethodNotAllowed",
    "NotFound",
    "ParseError",
    "PlainTextResponse",
    "QueryParams",
    "RedirectResponse",
    "Request",
    "Response",
    "Server",
    "StaticFiles",
    "StreamingResponse",
    "TLSInfo",
    "WebSocket",
    "WebSocketClosed",
    "WebSocketDisconnect",
    "run",
    "serve",
]
