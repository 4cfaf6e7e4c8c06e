"""uvicorn in-process, the reference ASGI server the differential tests compare wirespeed with.

`UvicornServer(app).start()` runs uvicorn (uvloop and httptools, lifespan off) in a thread on
an ephemeral port of 127.0.0.1 and returns once it accepts connections; `stop()` asks it to
exit and waits for the thread.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import uvicorn


class UvicornServer:
    def __init__(self, app: Any, **settings: Any) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self.port: int = self._socket.getsockname()[1]
        settings.setdefault("lifespan", "off")
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            loop="uvloop",
            http="httptools",
            log_level="warning",
            access_log=False,
            **settings,
        )
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._main, name="uvicorn-test-server", daemon=True)

    def _main(self) -> None:
        self.server.run(sockets=[self._socket])

    def start(self, timeout: float = 10.0) -> UvicornServer:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(10)
        self._socket.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"
