"""Request-parser tests: every case of `parser_cases.py` on both backends, fed every way.

Strategy: this module owns the checks of the parser contract (see `wirespeed.parser`) and of
the wire rules, on the Rust extension and on the httptools twin alike. Each case is fed whole,
one byte at a time, split in two at every position, and followed by more bytes; the events of
all feeds are collected, consecutive body pieces merged, and errors compared by class and
status. A property test feeds arbitrary bytes in arbitrary pieces and expects the events of
the whole; a differential test feeds the same inputs to both backends and compares errors by
status, class and detail. Two tests of the twin alone check that what trickles in is not
scanned again (a short stand-in held; a bounded count of bytes handed to its patterns). The
Rust half is skipped only while `wirespeed._parser` cannot be imported.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import sys
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from attack_cases import ATTACKS
from parser_cases import CASES, DIFFERENTIAL_INPUTS, VALID, Case, Err
from parser_events import collect, load_backend, normalize, run

from wirespeed.config import Config

def _ends_open(case: Case) -> bool:
    """Whether the parser still accepts requests after the case's input."""
    if isinstance(case.expected[-1], Err):
        return False
    requests = [e for e in case.expected if isinstance(e, tuple)]
    return bool(requests[-1][4])


# -- the tables, fed four ways -----------------------------------------------------------------

TABLE = CASES + ATTACKS  # the contract table and the attack table


@pytest.mark.parametrize("case", TABLE)
def test_whole(parser_class: type, case: Case) -> None:
    assert run(parser_class, case.make_config(), [case.raw]) == case.expected


@pytest.mark.parametrize("case", TABLE)
def test_byte_by_byte(parser_class: type, case: Case) -> None:
    raw = case.raw
    chunks = [raw[i : i + 1] for i in range(len(raw))]
    assert run(parser_class, case.make_config(), chunks) == case.expected


@pytest.mark.parametrize("case", TABLE)
def test_every_split(parser_class: type, case: Case) -> None:
    raw = case.raw
    config = case.make_config()
    for at in range(1, len(raw)):
        events = run(parser_class, config, [raw[:at], raw[at:]])
        assert events == case.expected, f"split at {at}: {raw[:at]!r} | {raw[at:]!r}"


@pytest.mark.parametrize("case", [c for c in TABLE if not c.values[0].open_end])
def test_trailing_bytes(parser_class: type, case: Case) -> None:
    """More bytes change nothing: a stopped parser ignores them, an open one waits."""
    config = case.make_config()
    parser = parser_class(config)
    if _ends_open(case):
        # The start of one more request: no event until it is complete.
        assert collect(parser, [case.raw + b"GET /next HT"]) == case.expected
        return
    # A complete valid request after an error or a closing request is never parsed...
    assert collect(parser, [case.raw + VALID]) == case.expected
    # ... and neither is anything fed later.
    assert parser.feed(VALID) == []
    assert parser.feed(b"\r\n" + VALID) == []


def _single_inline_request(case: Case) -> bool:
    """One keep-alive request with its whole body and nothing after it."""
    [event, *rest] = case.expected or [None]
    return not rest and not case.open_end and isinstance(event, tuple) and event[4] and event[5] is not None


@pytest.mark.parametrize("case", [c for c in TABLE if _single_inline_request(c.values[0])])
def test_every_proper_prefix_yields_nothing(parser_class: type, case: Case) -> None:
    """RFC 9112 §2.2 read with the contract: partial input is never an event or an error."""
    raw = case.raw
    config = case.make_config()
    for end in range(len(raw)):
        assert parser_class(config).feed(raw[:end]) == [], f"prefix {raw[:end]!r}"


# -- contract details not expressed as rows ----------------------------------------------------


def test_common_methods_are_interned(parser_class: type) -> None:
    for method in ("GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"):
        raw = method.encode() + b" / HTTP/1.1\r\nHost: a\r\n\r\n"
        first = parser_class(Config()).feed(raw)[0][0]
        second = parser_class(Config()).feed(bytes(bytearray(raw)))[0][0]
        assert first == method
        assert first is second, f"{method} is not interned"


def test_event_types(parser_class: type) -> None:
    raw = b"POST /x?y HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi"
    [event] = parser_class(Config()).feed(raw)
    assert type(event) is tuple and len(event) == 6
    method, target, version, headers, keep_alive, body = event
    assert type(method) is str and type(target) is str and type(version) is int
    assert isinstance(headers, Sequence) and all(type(f) is tuple and len(f) == 2 for f in headers)
    assert type(headers).__name__ == ("RawHeaders" if parser_class.__module__ == "wirespeed._parser" else "list")
    assert all(type(n) is bytes and type(v) is bytes for n, v in headers)
    assert keep_alive is True and type(body) is bytes


def test_streamed_body_pieces_follow_buffers(parser_class: type) -> None:
    """A streamed body is passed on as it arrives: each feed yields what it holds."""
    parser = parser_class(Config(inline_body_size=4))
    head = b"PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 9\r\n\r\n"
    events = parser.feed(head + b"abc")
    assert events[0][5] is None and events[1:] == [b"abc"]
    assert parser.feed(b"def") == [b"def"]
    next_request = ("GET", "/", 1, [(b"host", b"a")], True, b"")
    assert parser.feed(b"ghi" + VALID) == [b"ghi", None, next_request]


def test_content_length_over_limit_is_immediate(parser_class: type) -> None:
    """413 at the head, without waiting for a single body byte (RFC 9110 §15.5.14)."""
    parser = parser_class(Config(max_body_size=10))
    events = parser.feed(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n")
    assert [normalize(e) for e in events] == [Err(413)]


def test_head_limit_without_blank_line(parser_class: type) -> None:
    """431 once the head passes the limit, long before it ends (RFC 6585 §5)."""
    parser = parser_class(Config(max_head_size=1024))
    assert parser.feed(b"GET / HTTP/1.1\r\nHost: a\r\nX: ") == []
    events: list[Any] = []
    for _ in range(20):
        events += parser.feed(b"v" * 64)
    assert [normalize(e) for e in events] == [Err(431)]
    assert parser.feed(b"\r\n\r\n") == []


def test_error_event_is_last_and_parser_stays_dead(parser_class: type) -> None:
    parser = parser_class(Config())
    events = parser.feed(VALID + b"GET / HTTP/1.1\r\nHost: a\x00\r\n\r\n" + VALID)
    first = ("GET", "/", 1, [(b"host", b"a")], True, b"")
    assert [normalize(e) for e in events] == [first, Err(400)]
    for data in (VALID, b"", b"\r\n", VALID * 3):
        assert parser.feed(data) == []


def test_many_pipelined_requests_in_one_buffer(parser_class: type) -> None:
    raw = b"".join(b"GET /%d HTTP/1.1\r\nHost: a\r\n\r\n" % i for i in range(100))
    events = parser_class(Config()).feed(raw)
    assert [e[1] for e in events] == [f"/{i}" for i in range(100)]


def test_large_body_across_many_feeds(parser_class: type) -> None:
    body = bytes(range(256)) * 1024
    head = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" % len(body)
    pieces = [head] + [body[i : i + 1000] for i in range(0, len(body), 1000)] + [VALID]
    events = run(parser_class, Config(), pieces)
    assert events[1:] == [body, None, ("GET", "/", 1, [(b"host", b"a")], True, b"")]


def test_trickled_chunk_extension_is_cut_off_at_the_limit(parser_class: type) -> None:
    """RFC 9112 §7.1.1: an endless extension, one byte per feed, ends at max_head_size bytes."""
    parser = parser_class(Config(max_head_size=1000))
    head = b"POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
    assert len(parser.feed(head)) == 1
    assert parser.feed(b'1;a="') == []
    line = 5
    events: list[Any] = []
    while not events:
        events = parser.feed(b"x")
        line += 1
        assert line <= 1000, "not cut off at the limit"
    assert line == 1000
    assert [normalize(e) for e in events] == [Err(400)]
    assert parser.feed(b'"\r\nx\r\n0\r\n\r\n' + VALID) == []


_LONG_CHUNK_LINES = [
    b"1;a=" + b"v" * 5000,
    b'1;a="' + b'x\\"' * 1700 + b'"',
    b"1" + b' ; a = "b\\;"' * 500,
    b"1;" + b"n" * 5000 + b" = t",
    b"1" + b" \t" * 2000 + b";a",
]


@pytest.mark.parametrize("line", _LONG_CHUNK_LINES, ids=["token", "quoted", "many", "name", "ows"])
def test_twin_holds_a_trickled_chunk_line_in_a_few_bytes(line: bytes) -> None:
    """The twin keeps a short stand-in of an unfinished chunk-size line, so a line trickled in
    byte by byte costs linear time, and still gives the events of the whole input."""
    config = Config(max_head_size=1 << 16)
    raw = b"POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" + line
    raw += b"\r\nx\r\n0\r\n\r\n"
    twin = load_backend("httptools")
    start = ("POST", "/up", 1, [(b"host", b"a"), (b"transfer-encoding", b"chunked")], True, None)
    assert run(twin, config, [raw]) == [start, b"x", None]
    parser = twin(config)
    events: list[Any] = []
    for i in range(len(raw)):
        events += parser.feed(raw[i : i + 1])
        assert len(parser._pending) <= 32, f"{len(parser._pending)} bytes held at {i}"
    assert events == [start, b"x", None]


class _CountingPattern:
    """A compiled pattern that adds to `handed[0]` the length of every slice it is asked to
    scan (`match(string, pos, endpos)` and the like)."""

    def __init__(self, pattern: re.Pattern[bytes], handed: list[int]) -> None:
        self._pattern = pattern
        self._handed = handed

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._pattern, name)
        handed = self._handed

        def counted(string: bytes, pos: int = 0, endpos: int = sys.maxsize) -> Any:
            handed[0] += max(0, min(endpos, len(string)) - pos)
            return method(string, pos, endpos)

        return counted


def _field_lines(size: int) -> bytes:
    """`size` bytes (a multiple of 64) of field lines of 64 bytes each."""
    return b"".join(b"X-%05d: " % n + b"v" * 52 + b"\r\n" for n in range(size // 64))


_CHUNKED_HEAD = b"POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
# A head that llhttp stops reading at its second Content-Length: the twin reads the rest of its
# header section in Python, and the rules answer it at the blank line.
_DEFERRED_HEAD = b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nContent-Length: 0\r\n"
# A message with a part of `size` bytes: (what comes at once, what trickles in, part included).
_TRICKLED_PARTS: dict[str, Callable[[int], tuple[bytes, bytes]]] = {
    "request-line": lambda size: (b"", b"GET /" + b"a" * (size - 16) + b" HTTP/1.1\r\nHost: a\r\n\r\n"),
    "header-section": lambda size: (b"GET / HTTP/1.1\r\nHost: a\r\n", _field_lines(size) + b"\r\n"),
    "chunk-size-line": lambda size: (_CHUNKED_HEAD, b"1;" + b"e" * (size - 4) + b"\r\nx\r\n0\r\n\r\n"),
    "trailer-section": lambda size: (_CHUNKED_HEAD + b"0\r\n", _field_lines(size) + b"\r\n"),
    "deferred-header-section": lambda size: (_DEFERRED_HEAD, _field_lines(size) + b"\r\n"),
    "deferred-long-field": lambda size: (_DEFERRED_HEAD, b"X: " + b"v" * (size - 5) + b"\r\n\r\n"),
}
# The parts whose message ends in an error once the part is whole (the rest are one request).
_TRICKLED_ERRORS = {
    "deferred-header-section": Err(400, "conflicting Content-Length"),
    "deferred-long-field": Err(400, "conflicting Content-Length"),
}


@pytest.mark.parametrize("part", _TRICKLED_PARTS)
@pytest.mark.parametrize("size", [1024, 8192])
def test_twin_scans_a_trickled_part_once(monkeypatch: pytest.MonkeyPatch, part: str, size: int) -> None:
    """The twin does not scan again what it has scanned: every compiled pattern of its modules
    is made to count the bytes it is handed, and a part of `size` bytes fed one byte per feed
    hands them at most 16 bytes per byte (the few bytes that stand for an unfinished part are
    scanned again with each next byte), at 1 KiB and at 8 KiB alike; scanning the unfinished
    part again with every feed hands them about size/2 per byte. Bytes, not time, so the
    check is deterministic; benches/bench_trickle.py times both backends on these parts."""
    twin = importlib.import_module("wirespeed.parser_httptools")
    handed = [0]
    for module_info in pkgutil.iter_modules(twin.__path__):
        module = importlib.import_module(f"{twin.__name__}.{module_info.name}")
        for name, value in vars(module).items():
            if isinstance(value, re.Pattern):
                monkeypatch.setattr(module, name, _CountingPattern(value, handed))
    at_once, trickled = _TRICKLED_PARTS[part](size)
    parser = twin.RequestParser(Config(max_head_size=32 * 1024, max_target_length=16 * 1024, max_headers=1024))
    events = parser.feed(at_once)
    for i in range(len(trickled)):
        events += parser.feed(trickled[i : i + 1])
    if part in _TRICKLED_ERRORS:
        assert [normalize(e) for e in events] == [_TRICKLED_ERRORS[part]]
    else:
        assert isinstance(events[0], tuple) and not any(isinstance(e, BaseException) for e in events), events
    assert handed[0] <= 16 * size, f"{handed[0] / size:.0f} bytes handed per byte"


# -- any bytes, any split: the same events -----------------------------------------------------

_FRAGMENTS = [c.values[0].raw for c in CASES[::7]] + [
    b"\r\n", b"\n", b"\r", b" ", b"\t", b":", b";", b"0", b"GET", b"HTTP/1.1", b"Host: a",
    b"Content-Length: 3", b"Transfer-Encoding: chunked", b"\x00", b"\x80",
]
_SMALL = Config(max_head_size=96, max_headers=4, max_target_length=24, max_body_size=16,
                inline_body_size=4)


# The fixture only picks a class; every example makes its own parsers.
@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    pieces=st.lists(st.sampled_from(_FRAGMENTS) | st.binary(max_size=6), max_size=8),
    cuts=st.lists(st.integers(min_value=0, max_value=2000), max_size=5),
    small=st.booleans(),
)
def test_any_split_gives_the_same_events(
    parser_class: type, pieces: list[bytes], cuts: list[int], small: bool
) -> None:
    raw = b"".join(pieces)
    config = _SMALL if small else Config()
    bounds = sorted({0, len(raw), *(c % (len(raw) + 1) for c in cuts)})
    chunks = [raw[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]
    assert run(parser_class, config, chunks) == run(parser_class, config, [raw])


# -- differential: both backends, same inputs, same results ------------------------------------


def _differential_inputs() -> list[tuple[Config, bytes]]:
    inputs = [(c.values[0].make_config(), c.values[0].raw) for c in TABLE]
    inputs += [(Config(), raw) for raw in DIFFERENTIAL_INPUTS]
    return inputs


def _feeds(raw: bytes) -> list[list[bytes]]:
    middle = len(raw) // 2
    return [[raw], [raw[:middle], raw[middle:]], [raw[i : i + 7] for i in range(0, len(raw), 7)]]


# Inputs on which the backends are known to differ, with what each answers (rust, httptools);
# each must be listed in the twin's docstring under "Intentional differences from the Rust
# parser". None today: the backends agree on every input, error details included.
EXPECTED_DIFFERENCES: list[tuple[Config, bytes, list[Any], list[Any]]] = []


def test_backends_agree() -> None:
    """Both backends give the same events, and the same error status, class and detail."""
    rust = load_backend("rust")
    twin = load_backend("httptools")
    expected_differences = {(config, raw): (r, t) for config, raw, r, t in EXPECTED_DIFFERENCES}
    disagreements = []
    for config, raw in _differential_inputs():
        for chunks in _feeds(raw):
            actual = run(rust, config, chunks)
            expected = run(twin, config, chunks)
            if (actual, expected) == expected_differences.get((config, raw), (expected, expected)):
                continue
            disagreements.append(
                f"{raw!r} in {len(chunks)} feeds: rust {actual!r} != httptools {expected!r}"
            )
            break
    assert not disagreements, "\n".join(disagreements)


def test_expected_differences_still_differ() -> None:
    """Each expected difference is what the backends answer, fed whole."""
    rust = load_backend("rust")
    twin = load_backend("httptools")
    for config, raw, rust_events, twin_events in EXPECTED_DIFFERENCES:
        assert run(rust, config, [raw]) == rust_events, raw
        assert run(twin, config, [raw]) == twin_events, raw


def test_requests_as_a_tuple_subclass_with_their_owner(parser_class: type) -> None:
    """Both backends build the server's Request objects directly, owner last."""
    from wirespeed.request import Request

    owner = object()
    parser = parser_class(Config(), Request, owner)
    events = parser.feed(
        b"GET /a?b=1 HTTP/1.1\r\nHost: x\r\nX-One: 1\r\n\r\n"
        b"POST /p HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
    )
    first, second = events[0], events[1]
    assert type(first) is Request and type(second) is Request
    assert tuple(first) == ("GET", "/a?b=1", 1, [(b"host", b"x"), (b"x-one", b"1")], True, b"", owner)
    assert first.method == "GET" and first.raw_path == "/a" and first.query["b"] == "1"
    assert second[5] is None and events[2:] == [b"abc", None]
    assert first != Request.build("GET", "/a?b=1")  # requests compare by identity


def test_the_last_request_a_connection_may_carry_is_not_keep_alive(parser_class: type) -> None:
    """max_requests_per_connection: the parser reports the last one with keep_alive False and
    parses nothing after it; `requests` counts what it reported."""
    parser = parser_class(Config(max_requests_per_connection=3, inline_body_size=0))
    post = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi"
    events = collect(parser, [VALID + post + VALID + VALID])
    assert [e[4] for e in events if isinstance(e, tuple)] == [True, True, False]
    assert events[1:4] == [events[1], b"hi", None] and parser.requests == 3
    assert parser.feed(VALID) == []
    unlimited = parser_class(Config(max_requests_per_connection=0))
    assert len(unlimited.feed(VALID * 50)) == 50 and unlimited.requests == 50


def test_holding_says_whether_part_of_a_request_is_held(parser_class: type) -> None:
    parser = parser_class(Config(inline_body_size=16))
    assert not parser.holding
    parser.feed(b"GET /in")  # in the target
    assert parser.holding
    parser.feed(b"dex HT")  # in the version
    assert parser.holding
    parser.feed(b"TP/1.1\r\nHost: a\r\n\r\n")
    assert not parser.holding
    parser.feed(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nab")  # inline body
    assert parser.holding
    parser.feed(b"cd")
    assert not parser.holding
