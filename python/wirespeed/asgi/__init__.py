"""ASGI 3 server mode: any ASGI app (Starlette, FastAPI, ...) served by wirespeed.

Strategy: this package only gathers the ASGI pieces, each in its own module: the adapter the
server serves in place of a native App (adapter.py), one request's scope, receive and send
(exchange.py), the checks and encoding of the app's response heads (head.py) and the lifespan
protocol (lifespan.py).
"""

from .adapter import AsgiAdapter, asgi2_as_asgi3, detect_interface, serving_app
from .exchange import ASGI_VERSION, ClientDisconnected
from .lifespan import LifespanFailure

__all__ = [
    "ASGI_VERSION",
    "AsgiAdapter",
    "ClientDisconnected",
    "LifespanFailure",
    "asgi2_as_asgi3",
    "detect_interface",
    "serving_app",
]
