"""The httptools twin's work on a message part that trickles in: linear in the part's length.

Strategy: this module owns the check that the twin scans each byte of a request line, a header
section, a chunk-size line or a trailer section a bounded number of times, however slowly it
arrives. Every compiled pattern of `wirespeed.parser_httptools` (the twin's scanners) is
replaced for the test by one that counts the bytes it is handed, and a part of N bytes fed one
byte per feed must hand them at most `BYTES_HANDED_PER_BYTE` bytes per byte, at a small and a
large N alike; a twin that scanned an unfinished part again with every feed would hand them
about N²/2. Bytes are counted, not time, so the check is deterministic. The check is the
twin's alone: the Rust parser has no such patterns to count (benches/bench_trickle.py times
both backends on the same parts). The events themselves are checked by test_parser.py.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from typing import Any

import pytest

from wirespeed import parser_httptools
from wirespeed.config import Config

SIZES = (1024, 8192)
# What a byte may cost, counted in bytes handed to the patterns: the few bytes that stand for
# an unfinished part are scanned again with each byte that follows them.
BYTES_HANDED_PER_BYTE = 16
CONFIG = Config(max_head_size=32 * 1024, max_target_length=16 * 1024, max_headers=1024)
CHUNKED_HEAD = b"POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"


def _field_lines(size: int) -> bytes:
    """`size` bytes of field lines of 64 bytes each."""
    return b"".join(b"X-%03d: " % n + b"v" * 55 + b"\r\n" for n in range(size // 64))


# name: the message for a part of `size` bytes, as (what comes at once, what trickles in).
PARTS: dict[str, Callable[[int], tuple[bytes, bytes]]] = {
    "request-line": lambda size: (b"", b"GET /" + b"a" * (size - 16) + b" HTTP/1.1\r\nHost: a\r\n\r\n"),
    "header-section": lambda size: (b"GET / HTTP/1.1\r\nHost: a\r\n", _field_lines(size) + b"\r\n"),
    "chunk-size-line": lambda size: (CHUNKED_HEAD, b"1;" + b"e" * (size - 4) + b"\r\nx\r\n0\r\n\r\n"),
    "trailer-section": lambda size: (CHUNKED_HEAD + b"0\r\n", _field_lines(size) + b"\r\n"),
}


class CountingPattern:
    """A compiled pattern that adds to `handed` the length of every slice it is asked to
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


def bytes_handed(monkeypatch: pytest.MonkeyPatch, part: str, size: int) -> int:
    """Bytes the twin's patterns are handed for the message with a `part` of `size` bytes,
    that part fed one byte per feed; the message must come out as one valid request."""
    handed = [0]
    for name, value in vars(parser_httptools).items():
        if isinstance(value, re.Pattern):
            monkeypatch.setattr(parser_httptools, name, CountingPattern(value, handed))
    at_once, trickled = PARTS[part](size)
    parser = parser_httptools.RequestParser(CONFIG)
    events = parser.feed(at_once)
    for i in range(len(trickled)):
        events += parser.feed(trickled[i : i + 1])
    assert isinstance(events[0], tuple) and not any(isinstance(e, BaseException) for e in events), events
    return handed[0]


@pytest.mark.parametrize("part", PARTS)
@pytest.mark.parametrize("size", SIZES)
def test_trickled_part_is_scanned_once(monkeypatch: pytest.MonkeyPatch, part: str, size: int) -> None:
    handed = bytes_handed(monkeypatch, part, size)
    assert handed <= BYTES_HANDED_PER_BYTE * size, f"{handed / size:.0f} bytes handed per byte"
