"""The ASGI lifespan protocol (asgiref "Lifespan" spec 2.0): the app's startup and shutdown.

Strategy: this module owns one long-lived call of the app with a `lifespan` scope, run in a
Task of its own, and the two events it is sent. `startup()` runs before the server accepts
connections and `shutdown()` after it has stopped (they are the adapter's startup and shutdown
hooks, which the server runs as it runs a native app's). The `state` dict of the scope is the
one each request's scope gets a shallow copy of.

Modes: "on" needs the app to take part; "off" never calls it; "auto" (the default) calls it and
takes an app that raises before it answers the startup event as one that does not support
lifespan, and serves it all the same. `lifespan.startup.failed`, in any mode, stops the server
before it serves: `startup()` raises LifespanFailure with the app's message.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

logger = logging.getLogger("wirespeed")

LifespanMode = str  # "auto" | "on" | "off"


# The exit status of a process whose app failed to start: the wirespeed command's, and a
# worker's (its supervisor then stops the others rather than restart it).
STARTUP_FAILED = 3


class LifespanFailure(Exception):
    """The app's startup failed: the server must not serve it."""


class Lifespan:
    """The lifespan conversation with one app, in one process."""

    def __init__(self, app: Callable[..., Awaitable[None]], mode: LifespanMode, state: dict[str, Any]) -> None:
        if mode not in ("auto", "on", "off"):
            raise ValueError(f"unknown lifespan mode {mode!r}: use auto, on or off")
        self.app = app
        self.mode = mode
        self.state = state
        # How long the app's shutdown may take (the server's shutdown_timeout).
        self.shutdown_timeout = 30.0
        self._events: asyncio.Queue[dict[str, Any]] | None = None
        self._answer: asyncio.Future[dict[str, Any] | None] | None = None
        self._task: asyncio.Task[None] | None = None
        self._started = False  # the app answered the startup event
        self._running = False  # ... and has not been sent the shutdown event yet

    async def startup(self) -> None:
        if self.mode == "off":
            return
        loop = asyncio.get_running_loop()
        self._events = asyncio.Queue()
        self._task = loop.create_task(self._main())
        answer = await self._ask({"type": "lifespan.startup"})
        if answer is None:  # the app ended (or raised) without answering
            return
        if answer["type"] == "lifespan.startup.failed":
            message = answer.get("message", "")
            raise LifespanFailure(f"application startup failed: {message}" if message else "application startup failed")
        self._started = self._running = True

    async def shutdown(self) -> None:
        if not self._running:
            return
        self._running = False
        try:
            answer = await asyncio.wait_for(self._ask({"type": "lifespan.shutdown"}), self.shutdown_timeout)
        except asyncio.TimeoutError:
            logger.warning("the app's shutdown did not finish within %g s: cancelled", self.shutdown_timeout)
            answer = None
        except asyncio.CancelledError:
            # A second signal: the app's shutdown is cut short, its Task with it.
            if self._task is not None:
                self._task.cancel()
            raise
        if answer is not None and answer["type"] == "lifespan.shutdown.failed":
            logger.error("application shutdown failed: %s", answer.get("message", ""))
        if self._task is not None:
            _, pending = await asyncio.wait({self._task}, timeout=1.0)
            for task in pending:
                task.cancel()

    async def _ask(self, event: dict[str, Any]) -> dict[str, Any] | None:
        """Send the app an event and wait for its answer (None: the app ended instead)."""
        assert self._events is not None and self._task is not None
        self._answer = asyncio.get_running_loop().create_future()
        if self._task.done():
            return None
        await self._events.put(event)
        return await self._answer

    async def _main(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": self.state}
        try:
            await self.app(scope, self._receive, self._send)
        except BaseException as error:
            answered = self._started
            if not answered and self.mode == "auto":
                logger.info("the app does not support the ASGI lifespan protocol (%s: %s)", type(error).__name__, error)
            elif isinstance(error, asyncio.CancelledError):
                raise
            else:
                logger.error("the app's lifespan call raised", exc_info=error)
                if not answered and self.mode == "on":
                    self._settle({"type": "lifespan.startup.failed", "message": f"{type(error).__name__}: {error}"})
        else:
            if not self._started and self.mode == "on":
                logger.warning("the app returned from its lifespan call without answering the startup event")
        finally:
            self._settle(None)

    async def _receive(self) -> dict[str, Any]:
        assert self._events is not None
        return await self._events.get()

    async def _send(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind not in (
            "lifespan.startup.complete",
            "lifespan.startup.failed",
            "lifespan.shutdown.complete",
            "lifespan.shutdown.failed",
        ):
            raise RuntimeError(f"unexpected ASGI message {kind!r} in the lifespan protocol")
        self._settle(message)

    def _settle(self, answer: dict[str, Any] | None) -> None:
        future = self._answer
        if future is not None and not future.done():
            future.set_result(answer)


__all__ = ["STARTUP_FAILED", "Lifespan", "LifespanFailure"]
