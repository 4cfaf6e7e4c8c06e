"""The connection's state: the table of phases, and the phase and flow a connection is in after
each thing that can happen to it (driven through a recording transport, on both parser backends).
The request tuple's named slots are checked against what each parser builds."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from mock_transport import RecordingTransport
from mock_transport import connect as connect_app
from mock_transport import small_app
from parser_events import load_backend

from wirespeed import Config, Request
from wirespeed.connection_state import (
    CLOSED,
    CLOSING,
    FREE,
    LAST,
    LINGERING,
    OPEN,
    PHASE_NAMES,
    PHASES_AFTER,
    READ_ENDED,
    READ_PAUSED,
    WRITE_PAUSED,
    InvalidTransition,
    next_phase,
    without,
)
from wirespeed.protocol import HttpProtocol
from wirespeed.request import BODY, CONNECTION, KEEP_ALIVE, METHOD, RAW_HEADERS, TARGET, VERSION

PHASES = [OPEN, LAST, CLOSING, LINGERING, CLOSED]


def test_the_phases_form_a_line_that_only_goes_forward() -> None:
    assert PHASES == sorted(PHASES) and len(set(PHASES)) == 5
    for current in PHASES:
        for wanted in PHASES:
            if wanted <= current:
                assert next_phase(current, wanted) == current, "never back, and staying is no move"
            elif wanted in PHASES_AFTER[current]:
                assert next_phase(current, wanted) == wanted
            else:
                with pytest.raises(InvalidTransition, match=f"from {PHASE_NAMES[current]} to {PHASE_NAMES[wanted]}"):
                    next_phase(current, wanted)


@pytest.mark.parametrize(
    ("current", "wanted"),
    [
        (OPEN, LINGERING),  # lingering comes only after the last answer is decided
        (LAST, LINGERING),
    ],
)
def test_moves_that_would_skip_a_rule_are_refused(current: int, wanted: int) -> None:
    with pytest.raises(InvalidTransition):
        next_phase(current, wanted)


def test_open_and_free_are_false_so_the_hot_path_tests_them_for_truth() -> None:
    assert OPEN is False and FREE is False
    assert without(READ_PAUSED | WRITE_PAUSED, READ_PAUSED) == WRITE_PAUSED
    assert without(WRITE_PAUSED, WRITE_PAUSED) is FREE
    assert len({READ_PAUSED, READ_ENDED, WRITE_PAUSED}) == 3 and not READ_PAUSED & READ_ENDED & WRITE_PAUSED


def connect(backend: str, **settings: Any) -> tuple[HttpProtocol, RecordingTransport]:
    return connect_app(small_app(), Config(parser=backend, **settings))  # type: ignore[arg-type]


GET = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
GET_WAIT = b"GET /wait HTTP/1.1\r\nHost: x\r\n\r\n"


async def test_keep_alive_requests_leave_the_connection_open_and_free(backend: str) -> None:
    protocol, transport = connect(backend)
    protocol.data_received(GET * 3)
    assert (protocol.phase, protocol.flow) == (OPEN, FREE)
    assert protocol.idle
    assert b"".join(transport.writes).count(b"Hello, World!") == 3


async def test_a_closing_answer_moves_to_closing_then_lingering(backend: str) -> None:
    protocol, transport = connect(backend, lingering_timeout=5.0)
    protocol.data_received(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert protocol.phase == LINGERING
    assert transport.eof_written and not transport.closed
    protocol.data_received(GET)  # read and dropped while lingering
    assert b"".join(transport.writes).count(b"Hello, World!") == 1
    protocol.connection_lost(None)
    assert protocol.phase == CLOSED


async def test_a_closing_answer_without_lingering_closes_at_once(backend: str) -> None:
    protocol, transport = connect(backend, lingering_timeout=0)
    protocol.data_received(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert protocol.phase == CLOSING and transport.closed and not transport.eof_written


async def test_a_parse_error_is_the_last_answer(backend: str) -> None:
    protocol, transport = connect(backend, lingering_timeout=0)
    protocol.data_received(b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n" + GET)
    assert protocol.phase == CLOSING and transport.closed
    written = b"".join(transport.writes)
    assert written.startswith(b"HTTP/1.1 400 Bad Request") and b"Connection: close\r\n" in written
    assert b"Hello, World!" not in written


async def test_the_client_closing_while_busy_makes_the_next_answer_the_last(backend: str) -> None:
    protocol, transport = connect(backend)
    protocol.data_received(GET_WAIT)
    assert not protocol.idle
    assert protocol.eof_received() is True, "our side stays open for the answer"
    assert protocol.phase == LAST and protocol.flow & READ_ENDED
    for _ in range(100):
        if transport.closed:
            break
        await asyncio.sleep(0.005)
    written = b"".join(transport.writes)
    assert b"waited" in written and b"Connection: close\r\n" in written
    assert transport.closed and not transport.eof_written, "the client is gone: no lingering"


async def test_the_client_closing_while_idle_ends_the_connection_now(backend: str) -> None:
    protocol, _ = connect(backend)
    protocol.data_received(GET)
    assert protocol.eof_received() is False
    assert protocol.flow & READ_ENDED and protocol.phase == OPEN


async def test_shutdown_makes_the_next_answer_the_last(backend: str) -> None:
    protocol, transport = connect(backend, lingering_timeout=0)
    protocol.close_after_response()
    assert protocol.phase == LAST
    protocol.data_received(GET * 2)
    written = b"".join(transport.writes)
    assert written.count(b"Hello, World!") == 1 and b"Connection: close\r\n" in written
    assert protocol.phase == CLOSING and transport.closed


async def test_paused_writing_queues_requests_and_pauses_reading(backend: str) -> None:
    protocol, transport = connect(backend)
    protocol.pause_writing()
    assert protocol.flow == WRITE_PAUSED
    protocol.data_received(GET * 2)
    assert protocol.flow == WRITE_PAUSED | READ_PAUSED and not transport.reading
    assert not protocol.idle and not transport.writes
    protocol.resume_writing()
    assert protocol.flow is FREE and transport.reading and protocol.idle
    assert b"".join(transport.writes).count(b"Hello, World!") == 2


async def test_a_lost_connection_is_closed_whatever_it_was_doing(backend: str) -> None:
    protocol, _ = connect(backend)
    protocol.data_received(GET_WAIT + GET)
    assert not protocol.idle
    protocol.connection_lost(None)
    assert protocol.phase == CLOSED
    await asyncio.sleep(0.02)
    assert protocol.idle, "the running handler was cancelled and the queue dropped"


@pytest.mark.parametrize("backend_name", ["rust", "httptools"])
def test_the_request_slots_name_what_each_parser_puts_there(backend_name: str) -> None:
    """The names of request.py, and the positions the protocol's and the app's hot paths read
    by number (0, 1, 2, 4, 5), against the tuples both parsers build."""
    owner = object()
    parser = load_backend(backend_name)(Config(), Request, owner)
    events = parser.feed(b"POST /up?x=1 HTTP/1.0\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi")
    request = events[0]
    assert isinstance(request, Request)
    assert (METHOD, TARGET, VERSION, RAW_HEADERS, KEEP_ALIVE, BODY, CONNECTION) == tuple(range(7))
    assert request[METHOD] == request[0] == "POST" == request.method
    assert request[TARGET] == request[1] == "/up?x=1" == request.target
    assert request[VERSION] == request[2] == 0 == request.version
    assert list(request[RAW_HEADERS]) == [(b"host", b"a"), (b"content-length", b"2")]
    assert request[KEEP_ALIVE] is request[4] is False is request.keep_alive
    assert request[BODY] == request[5] == b"hi" == request.inline_body
    assert request[CONNECTION] is owner
