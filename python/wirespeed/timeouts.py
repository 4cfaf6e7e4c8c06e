"""Timeouts: what each connection waits for, and the one sweep that ends those that wait too long.

Strategy: this module owns the timeouts of Config (`header_timeout`, `body_timeout`,
`keep_alive_timeout`, `write_timeout`) and nothing on the request path. No timer is set per
request or per connection: a `TimeoutSweep` visits every connection a few times per shortest
timeout, and each connection's `Watch` reads off its state what it is waiting for (the phases
below) and since when. A wait counts from the first sweep that sees it (from accept for the
first head), so a timeout fires no earlier than its time and at most two sweep intervals
later. What a late connection is answered (a 408, a plain close, an abort) is the protocol's
business (`HttpProtocol.timed_out`).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Final

from .connection_state import CLOSING, READ_PAUSED, WRITE_PAUSED

if TYPE_CHECKING:
    from .config import Config
    from .protocol import HttpProtocol
    from .server import ServerState

# What a connection waits for, and the timeout that bounds the wait.
FIRST_HEAD: Final = "the first request head"  # header_timeout from accept; 408 if part of it came
WAITING_HEAD: Final = "a request head"  # header_timeout; 408
NEXT_REQUEST: Final = "the next request"  # keep_alive_timeout; a plain close
WAITING_BODY: Final = "body bytes"  # body_timeout, between bytes; 408
WRITING: Final = "the client to read"  # write_timeout, while writing is paused; the connection is cut


def sweep_interval(config: Config) -> float:
    """How often the timeout sweep runs: an eighth of the shortest timeout, within 20 ms..1 s.
    A timeout fires between its time and that plus two intervals."""
    timeouts = [
        t
        for t in (config.header_timeout, config.body_timeout, config.keep_alive_timeout, config.write_timeout)
        if t > 0
    ]
    return min(1.0, max(0.02, min(timeouts, default=8.0) / 8))


class TimeoutSweep:
    """The timeouts of every connection of one server, checked in one pass on a loop timer."""

    __slots__ = ("_state", "_interval", "_timer")

    def __init__(self, state: ServerState) -> None:
        self._state = state
        self._interval = sweep_interval(state.config)
        self._timer: asyncio.TimerHandle | None = None

    def start(self) -> None:
        self._timer = self._state.loop.call_later(self._interval, self._sweep)

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _sweep(self) -> None:
        state = self._state
        now = state.loop.time()
        for connection in list(state.connections):
            connection.check_timeouts(now)
        self._timer = state.loop.call_later(self._interval, self._sweep)


class Watch:
    """What one connection was last seen waiting for (a phase and the progress it had made),
    since when, and since when its writing has been paused."""

    __slots__ = ("waiting_for", "since", "write_paused_since")

    def __init__(self) -> None:
        self.waiting_for: tuple[str, int] | None = (FIRST_HEAD, 0)  # from accept (`since` is set then)
        self.since = 0.0
        self.write_paused_since = 0.0

    def late(self, connection: HttpProtocol, now: float) -> str | None:
        """The phase whose timeout `connection` has passed at `now`, or None."""
        if connection.phase >= CLOSING:
            return None
        config = connection.state.config
        flow = connection.flow
        if flow & WRITE_PAUSED:
            if config.write_timeout and now - self.write_paused_since > config.write_timeout:
                return WRITING
            return None
        body = connection.receiving
        if flow & READ_PAUSED or (body is None and not connection.idle):
            self.waiting_for = None  # the server holds the client back, or it is the server's turn
            return None
        if body is not None and body.awaiting_continue:
            self.waiting_for = None  # the client waits for 100 Continue: the handler's turn
            return None
        parser = connection.parser
        served = parser.requests
        if body is not None:  # a body is arriving, whether or not its handler runs yet
            waiting_for = (WAITING_BODY, body.received)  # any body byte restarts the wait
            limit = config.body_timeout
        elif parser.holding:
            waiting_for = (FIRST_HEAD if served == 0 else WAITING_HEAD, served)
            limit = config.header_timeout
        elif served == 0:
            waiting_for = (FIRST_HEAD, 0)
            limit = config.header_timeout
        else:
            waiting_for = (NEXT_REQUEST, served)
            limit = config.keep_alive_timeout
        if waiting_for != self.waiting_for:  # a new wait begins
            self.waiting_for = waiting_for
            self.since = now
            return None
        if limit and now - self.since > limit:
            return waiting_for[0]
        return None


__all__ = [
    "FIRST_HEAD",
    "NEXT_REQUEST",
    "WAITING_BODY",
    "WAITING_HEAD",
    "WRITING",
    "TimeoutSweep",
    "Watch",
    "sweep_interval",
]
