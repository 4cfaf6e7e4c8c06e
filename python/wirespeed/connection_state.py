"""The state of one connection: where it is in its life, and which way its bytes may flow.

Strategy: this module owns the rules of a connection's state and nothing that acts on them
(the protocol does: it writes, closes and pauses). The state is two small values, not a set
of flags that must be kept consistent by hand:

* `phase`, our side's life, which only ever moves forward, along the line

      OPEN -> LAST -> CLOSING -> LINGERING -> CLOSED

  and may skip phases (`PHASES_AFTER` is the table of the moves allowed). OPEN answers
  requests. LAST still answers, but the next answer says `Connection: close`: the server is
  shutting down, or the client has closed its side. CLOSING: the last answer is decided,
  nothing after it is answered, and the connection ends once what is in flight is written.
  LINGERING: our side is closed (RFC 9112 §9.6), and what the client still sends is read and
  dropped until it closes too or `lingering_timeout` passes. CLOSED: the transport is gone.
  `phase >= CLOSING` is the one test of "nothing more is answered".

* `flow`, a set of bits for the two directions of the byte stream: READ_PAUSED (we hold the
  client back: pipelined work or buffered body piles up, or our answers are not being read),
  READ_ENDED (the client has closed its side: nothing more comes), WRITE_PAUSED (the
  transport's buffer is over its high-water mark, or a file body waits for a full socket).

What the connection is busy with (a running Task, queued requests, an answer held for its
body) is not state of its own: it is read off those objects (`HttpProtocol.idle`).

OPEN and FREE (no flow bit set) are False rather than 0. They compare and index as 0, but the
protocol's hot path tests `phase` and `flow` for truth before it compares them, and CPython
answers that for a bool without a call (an int costs a call per test, every request).
"""

from __future__ import annotations

from typing import Final

# Phases, in the order a connection goes through them.
OPEN: Final[int] = False
LAST: Final = 1
CLOSING: Final = 2
LINGERING: Final = 3
CLOSED: Final = 4

PHASE_NAMES: Final = ("OPEN", "LAST", "CLOSING", "LINGERING", "CLOSED")

# phase -> the phases it may move to. A move to the phase it is in is no move, and allowed.
PHASES_AFTER: Final[dict[int, frozenset[int]]] = {
    OPEN: frozenset({LAST, CLOSING, CLOSED}),
    LAST: frozenset({CLOSING, CLOSED}),
    CLOSING: frozenset({LINGERING, CLOSED}),
    LINGERING: frozenset({CLOSED}),
    CLOSED: frozenset(),
}

# Flow bits, and the flow with none set.
FREE: Final[int] = False
READ_PAUSED: Final = 1
READ_ENDED: Final = 2
WRITE_PAUSED: Final = 4


class InvalidTransition(RuntimeError):
    """A move along the line of phases that the table does not allow (a server bug)."""


def without(flow: int, bits: int) -> int:
    """`flow` with `bits` cleared (FREE when none is left)."""
    return flow & ~bits or FREE


def next_phase(current: int, wanted: int) -> int:
    """The phase after a move from `current` toward `wanted`: `wanted` when the table allows
    it; `current` when the connection is already at or past it (a late request to close, say,
    from a connection that has closed already, changes nothing). Raises InvalidTransition for
    a move the table does not know, which would skip a rule."""
    if wanted <= current:
        return current
    if wanted not in PHASES_AFTER[current]:
        raise InvalidTransition(f"a connection cannot move from {PHASE_NAMES[current]} to {PHASE_NAMES[wanted]}")
    return wanted


__all__ = [
    "CLOSED",
    "CLOSING",
    "FREE",
    "LAST",
    "LINGERING",
    "OPEN",
    "PHASES_AFTER",
    "PHASE_NAMES",
    "READ_ENDED",
    "READ_PAUSED",
    "WRITE_PAUSED",
    "InvalidTransition",
    "next_phase",
    "without",
]
