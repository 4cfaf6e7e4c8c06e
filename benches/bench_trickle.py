"""Trickle benchmark: the cost per byte of a message part that arrives one byte per feed.

Strategy: this script owns the check that a parser's work stays linear in the length of a part
of a message that trickles in (a slow or hostile client): a request line, a header section, a
chunk-size line, a trailer section and a deferred header section (one that llhttp has stopped
reading, so that the twin reads it in Python), each of N bytes for N = 1K, 2K, 4K, 8K and 16K (the
limits raised to let them through), are fed one byte per `feed` call to a fresh parser, and the
time per byte is printed. A parser that scans again what it has already scanned costs more per
byte as N grows; a linear one costs the same at every N. The time is the CPU time of the
process (`time.process_time`), so that the time other programs take on a shared machine does
not count, and each figure is the best of several rounds.

With --callgrind, the same program runs under `valgrind --tool=callgrind` at two sizes, once
feeding the message and once only preparing it, and the difference divided by N is printed:
instructions per byte, which do not drift with the load of a shared machine the way timings
do. `make bench-trickle` times both parsers.

    .venv/bin/python benches/bench_trickle.py [--parser httptools|rust] [--rounds 5] [part ...]
    .venv/bin/python benches/bench_trickle.py --callgrind [--sizes 2048,8192] [part ...]
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from collections.abc import Callable

from count_instructions import callgrind_total
from wirespeed.config import Config

SIZES = (1024, 2048, 4096, 8192, 16384)
CALLGRIND_SIZES = "2048,8192"
LARGEST = 64 * 1024  # every limit the parts must stay within is raised above this
CONFIG = Config(
    max_head_size=2 * LARGEST,
    max_target_length=LARGEST,
    max_headers=LARGEST // 16,
    max_requests_per_connection=0,
)
CHUNKED_HEAD = b"POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"


def _field_lines(size: int) -> bytes:
    """`size` bytes (a multiple of 64) of field lines of 64 bytes each."""
    return b"".join(b"X-%05d: " % n + b"v" * 52 + b"\r\n" for n in range(size // 64))


def request_line(size: int) -> tuple[bytes, bytes]:
    """A request line of `size` bytes (CRLF included), its target as long as it takes."""
    return b"", b"GET /" + b"a" * (size - 16) + b" HTTP/1.1\r\nHost: a\r\n\r\n"


def header_section(size: int) -> tuple[bytes, bytes]:
    """A header section of `size` bytes of field lines after the request line."""
    return b"GET / HTTP/1.1\r\nHost: a\r\n", _field_lines(size) + b"\r\n"


def deferred_header_section(size: int) -> tuple[bytes, bytes]:
    """A header section of `size` bytes of field lines after a second Content-Length, at which
    llhttp stops reading the head; the rules answer that with a 400 at the blank line."""
    return b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nContent-Length: 0\r\n", _field_lines(size) + b"\r\n"


def chunk_size_line(size: int) -> tuple[bytes, bytes]:
    """A chunk-size line of `size` bytes: one extension with a long name."""
    return CHUNKED_HEAD, b"1;" + b"e" * (size - 4) + b"\r\nx\r\n0\r\n\r\n"


def trailer_section(size: int) -> tuple[bytes, bytes]:
    """A trailer section of `size` bytes of field lines after the last chunk."""
    return CHUNKED_HEAD + b"0\r\n", _field_lines(size) + b"\r\n"


# name: the message for a part of N bytes, as (the bytes before the part, the part and the
# rest); the first is fed at once, the second one byte per feed.
PARTS: dict[str, Callable[[int], tuple[bytes, bytes]]] = {
    "request-line": request_line,
    "header-section": header_section,
    "deferred-header-section": deferred_header_section,
    "chunk-size-line": chunk_size_line,
    "trailer-section": trailer_section,
}

# The parts whose message ends in an error, judged once the part is whole: its detail phrase.
ENDS_IN_ERROR = {"deferred-header-section": "conflicting Content-Length"}


def parser_class(name: str) -> type:
    module = "wirespeed._parser" if name == "rust" else "wirespeed.parser_httptools"
    return importlib.import_module(module).RequestParser  # type: ignore[no-any-return]


def message(part: str, size: int) -> tuple[bytes, list[bytes]]:
    """The message with a `part` of `size` bytes: what is fed at once, then the pieces of one
    byte."""
    before, trickled = PARTS[part](size)
    return before, [trickled[i : i + 1] for i in range(len(trickled))]


def trickle(cls: type, part: str, before: bytes, pieces: list[bytes]) -> float:
    """CPU seconds to feed `before`, then `pieces` one per feed, to a new parser; the message
    must give the events of a whole `part`: one valid request, or the error it ends in."""
    parser = cls(CONFIG)
    started = time.process_time()
    events = parser.feed(before)
    for piece in pieces:
        events += parser.feed(piece)
    elapsed = time.process_time() - started
    error = ENDS_IN_ERROR.get(part)
    if error is not None:
        if len(events) != 1 or getattr(events[0], "detail", None) != error:
            raise SystemExit(f"the message did not end in the error {error!r}: {events!r}")
    elif not events or not isinstance(events[0], tuple) or any(isinstance(e, BaseException) for e in events):
        raise SystemExit(f"the message was not parsed as one valid request: {events[-1:]!r}")
    return elapsed


def collected(parser: str, part: str, size: int, fed: bool) -> int:
    """Instructions callgrind counts for the whole program that prepares the message with a
    `part` of `size` bytes and, if `fed`, feeds it as `trickle` does."""
    return callgrind_total(__file__, ["--feed" if fed else "--prepare", str(size), "--parser", parser, part])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("parts", nargs="*", help=f"of {', '.join(PARTS)} (default: all)")
    parser.add_argument("--parser", default="httptools", choices=("httptools", "rust"))
    parser.add_argument("--rounds", type=int, default=5, help="rounds per figure, the best kept (default 5)")
    parser.add_argument("--callgrind", action="store_true", help="count instructions instead of timing")
    parser.add_argument("--sizes", default=CALLGRIND_SIZES, help=f"with --callgrind (default {CALLGRIND_SIZES})")
    parser.add_argument("--feed", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--prepare", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    unknown = sorted(set(args.parts) - set(PARTS))
    if unknown:
        parser.error(f"unknown part {', '.join(unknown)}: choose from {', '.join(PARTS)}")
    parts = args.parts or list(PARTS)
    if args.feed is not None or args.prepare is not None:  # the program callgrind counts
        cls = parser_class(args.parser)
        before, pieces = message(parts[0], args.feed or args.prepare)
        if args.feed:
            trickle(cls, parts[0], before, pieces)
        return 0
    if args.callgrind:
        sizes = [int(size) for size in args.sizes.split(",")]
        print(f"instructions per byte, one byte per feed ({args.parser} parser, callgrind)")
        print(f"{'part':<24}" + "".join(f"{size:>12,}" for size in sizes))
        for part in parts:
            row = [
                (collected(args.parser, part, size, True) - collected(args.parser, part, size, False)) / size
                for size in sizes
            ]
            print(f"{part:<24}" + "".join(f"{count:>12,.0f}" for count in row))
        return 0
    cls = parser_class(args.parser)
    print(f"ns per byte, one byte per feed ({args.parser} parser, best of {args.rounds})")
    print(f"{'part':<24}" + "".join(f"{size:>8,}" for size in SIZES))
    for part in parts:
        row = []
        for size in SIZES:
            before, pieces = message(part, size)
            row.append(min(trickle(cls, part, before, pieces) for _ in range(args.rounds)) / size * 1e9)
        print(f"{part:<24}" + "".join(f"{ns:>8,.0f}" for ns in row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
