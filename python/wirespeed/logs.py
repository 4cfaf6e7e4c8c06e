"""The server's log lines about clients, rate-limited so hostile traffic cannot flood the log.

Strategy: this module owns how a rejected request is reported. Each one is worth one line at
info level (the client's address and the answer it got), but a client sending garbage in a loop
must not turn the log into its own output: at most `per_second` lines are written in any
one-second window, and the lines held back are counted and reported in one summary line when
the next window opens. The protocol calls `ClientErrorLog.rejected`; nothing here touches
sockets or HTTP bytes. The client a line names is the connection's TCP peer, also behind a
proxy with `Config.proxy_headers` on: a rejected request's proxy headers are not believed (they
may be what was wrong with it), and the peer is the one address the server saw for itself.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

client_logger = logging.getLogger("wirespeed.client")


class ClientErrorLog:
    """Info lines for rejected requests, at most `per_second` of them in any one-second window."""

    __slots__ = ("_clock", "_logger", "_per_second", "_window_start", "_written", "_held_back")

    def __init__(
        self,
        per_second: int,
        logger: logging.Logger = client_logger,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._per_second = per_second
        self._logger = logger
        self._clock = clock
        self._window_start = -1.0e9
        self._written = 0
        self._held_back = 0

    def rejected(self, client: object, answer: str) -> None:
        """Report that the request from `client` was answered with `answer` (the status line
        and detail, e.g. `400 Bad Request: conflicting Content-Length`)."""
        if not self._logger.isEnabledFor(logging.INFO):
            return
        now = self._clock()
        if now - self._window_start >= 1.0:
            if self._held_back:
                self._logger.info(
                    "%d more rejected requests were not logged (at most %d lines a second)",
                    self._held_back,
                    self._per_second,
                )
            self._window_start = now
            self._written = 0
            self._held_back = 0
        if self._written < self._per_second:
            self._written += 1
            self._logger.info("rejected request from %s: %s", client, answer)
        else:
            self._held_back += 1
