"""A stand-in for a socket transport, for unit tests of the protocol layer on its own.

Strategy: this module owns `RecordingTransport`, which records what the protocol writes and
whether it paused reading, half-closed or closed, so a test can drive `HttpProtocol` by calling
its asyncio callbacks directly, `connect`, which makes such a protocol for an app, and
`small_app`, an app with a plain, an async and a suspending handler. End-to-end
tests use real sockets instead.
"""

from __future__ import annotations

import asyncio
from typing import Any

from wirespeed import App, Config, Request
from wirespeed.protocol import HttpProtocol
from wirespeed.server import ServerState


class RecordingTransport(asyncio.Transport):
    """Stands in for a socket transport; records every write call."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False
        self.eof_written = False
        self.reading = True

    def write(self, data: Any) -> None:
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        self.eof_written = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 50000) if name == "peername" else default

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True


def connect(app: App, config: Config, loop: asyncio.AbstractEventLoop | None = None) -> tuple[HttpProtocol, RecordingTransport]:
    """An `HttpProtocol` serving `app`, connected to a new RecordingTransport (on the running
    loop unless `loop` is given)."""
    protocol = HttpProtocol(ServerState(app, config, loop or asyncio.get_running_loop()))
    transport = RecordingTransport()
    protocol.connection_made(transport)
    return protocol, transport


def small_app() -> App:
    """`/` answers "Hello, World!"; `/async` answers "async" without suspending; `/wait`
    answers "waited" after a 10 ms sleep (it gets a Task)."""
    app = App()

    @app.get("/")
    def hello(request: Request) -> str:
        return "Hello, World!"

    @app.get("/async")
    async def hello_async(request: Request) -> str:
        return "async"

    @app.get("/wait")
    async def wait(request: Request) -> str:
        await asyncio.sleep(0.01)
        return "waited"

    return app
