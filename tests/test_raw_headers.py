"""The header fields of a parsed request, as the contract in `wirespeed.parser` describes them.

Strategy: this module owns the checks of the `headers` item of a request event on both
backends: a sequence of `(bytes, bytes)` tuples in wire order (length, iteration, indexing,
slicing, membership, equality with the list of the same tuples, repr), and that it stays right
after the parser has gone on to later requests, fed in pieces so that its pending buffer is
reused. On the Rust parser the object is the lazy `RawHeaders`: these tests also check that
it makes its tuples once, that a request repeating the previous one's field lines gets the
same immutable object, and that every one made is freed with all it holds.
"""

from __future__ import annotations

import sys
import tracemalloc
from collections.abc import Sequence
from typing import Any

import pytest

from wirespeed.config import Config

HEAD = (
    b"GET /a HTTP/1.1\r\n"
    b"Host: example.com\r\n"
    b"X-Custom-Name:  spaced value \t\r\n"
    b"ACCEPT: text/html\r\n"
    b"X-Empty:\r\n"
    b"Cookie: a=1\r\n"
    b"cookie: b=2\r\n"
    b"X-Colon: a:b: c\r\n"
    b"X-Tab:\tin\tside\t\r\n"
    b"X-Obs-Text: caf\xc3\xa9 \xff\r\n"
    b"X-!#$%&'*+.^_`|~09: tchars\r\n"
    b"\r\n"
)
FIELDS = [
    (b"host", b"example.com"),
    (b"x-custom-name", b"spaced value"),
    (b"accept", b"text/html"),
    (b"x-empty", b""),
    (b"cookie", b"a=1"),
    (b"cookie", b"b=2"),
    (b"x-colon", b"a:b: c"),
    (b"x-tab", b"in\tside"),
    (b"x-obs-text", b"caf\xc3\xa9 \xff"),
    (b"x-!#$%&'*+.^_`|~09", b"tchars"),
]


def headers_of(event: Any) -> Sequence[tuple[bytes, bytes]]:
    assert type(event) is tuple, f"not a request: {event!r}"
    return event[3]  # type: ignore[no-any-return]


def is_lazy(headers: object) -> bool:
    return type(headers).__name__ == "RawHeaders"


def test_headers_are_the_sequence_of_field_tuples(parser_class: type) -> None:
    [event] = parser_class(Config()).feed(HEAD)
    headers = headers_of(event)
    assert isinstance(headers, Sequence)
    assert len(headers) == len(FIELDS) and bool(headers)
    assert headers == FIELDS and FIELDS == headers and not headers != FIELDS
    assert headers != FIELDS[:-1] and headers != [*FIELDS[:-1], (b"cookie", b"b=3")]
    assert list(headers) == FIELDS and [field for field in headers] == FIELDS
    assert all(type(field) is tuple and type(field[0]) is bytes and type(field[1]) is bytes for field in headers)
    assert headers[0] == FIELDS[0] and headers[-1] == FIELDS[-1] and headers[3] == (b"x-empty", b"")
    assert headers[1:3] == FIELDS[1:3] and type(headers[1:3]) is list
    with pytest.raises(IndexError):
        headers[len(FIELDS)]
    assert (b"accept", b"text/html") in headers and (b"accept", b"*/*") not in headers
    assert headers.index((b"cookie", b"b=2")) == 5 and headers.count((b"host", b"example.com")) == 1
    assert headers.index((b"cookie", b"b=2"), 2, 6) == 5
    assert list(reversed(headers)) == FIELDS[::-1]
    assert repr(FIELDS) in repr(headers)


def test_headers_of_a_request_without_fields_are_empty(parser_class: type) -> None:
    [event] = parser_class(Config()).feed(b"GET / HTTP/1.0\r\n\r\n")
    headers = headers_of(event)
    assert len(headers) == 0 and not headers and headers == [] and list(headers) == []


def test_headers_stay_right_after_later_requests(parser_class: type) -> None:
    """Kept unread while the parser goes on through other requests, fed in pieces (so its
    pending buffer is refilled and overwritten), a request's fields are still its own."""
    parser = parser_class(Config())
    kept: list[tuple[Sequence[tuple[bytes, bytes]], list[tuple[bytes, bytes]]]] = []
    for i in range(40):
        value = b"v%d-" % i + b"x" * (i * 7)
        raw = b"GET /%d HTTP/1.1\r\nHost: h%d\r\nX-Long-Name-%d: %s\r\n\r\n" % (i, i, i, value)
        expected = [(b"host", b"h%d" % i), (b"x-long-name-%d" % i, value)]
        events = parser.feed(raw[:11]) + parser.feed(raw[11:30]) + parser.feed(raw[30:])
        [event] = events
        kept.append((headers_of(event), expected))
    for headers, expected in kept:  # read only now, the first time
        assert list(headers) == expected
        assert headers == expected


def test_headers_are_immutable(parser_class: type) -> None:
    [event] = parser_class(Config()).feed(HEAD)
    headers = headers_of(event)
    if not is_lazy(headers):
        pytest.skip("the httptools twin gives a plain list")
    with pytest.raises(TypeError):
        headers[0] = (b"host", b"other")  # type: ignore[index]
    with pytest.raises(TypeError):
        hash(headers)
    with pytest.raises(AttributeError):
        headers.anything = 1  # type: ignore[attr-defined]
    assert headers == FIELDS


def test_tuples_are_made_once(parser_class: type) -> None:
    [event] = parser_class(Config()).feed(HEAD)
    headers = headers_of(event)
    first, second = list(headers), list(headers)
    assert all(a is b for a, b in zip(first, second, strict=True))
    assert headers[2] is first[2]


def test_repeated_field_lines_give_the_same_object(parser_class: type) -> None:
    """A keep-alive client sending the same field lines again (another target) gets the same
    immutable object on the Rust parser; any byte changed gives a new one."""
    parser = parser_class(Config())
    [first] = parser.feed(HEAD)
    [again] = parser.feed(HEAD.replace(b"GET /a", b"GET /b"))
    [renamed] = parser.feed(HEAD.replace(b"ACCEPT:", b"Accept:"))
    [changed] = parser.feed(HEAD.replace(b"a=1", b"a=2"))
    assert headers_of(again) == headers_of(renamed) == FIELDS
    assert headers_of(changed) == [*FIELDS[:4], (b"cookie", b"a=2"), *FIELDS[5:]]
    if is_lazy(headers_of(first)):
        assert headers_of(again) is headers_of(first)
        assert headers_of(renamed) is not headers_of(first)
        assert headers_of(changed) is not headers_of(renamed)
    assert headers_of(first) == FIELDS


@pytest.mark.parametrize("size", [5_000, 70_000], ids=["5k", "70k"])
def test_a_large_field_section(parser_class: type, size: int) -> None:
    """Field lines beyond what a connection keeps for reuse, and beyond 64 KiB (where the Rust
    parser's offsets take four bytes), are handed out just the same."""
    value = b"y" * size
    raw = b"GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + value + b" \r\nX-After:\r\nX-Last: z\r\n\r\n"
    parser = parser_class(Config(max_head_size=100_000))
    [first] = parser.feed(raw)
    [second] = parser.feed(raw)
    expected = [(b"host", b"a"), (b"x-big", value), (b"x-after", b""), (b"x-last", b"z")]
    assert headers_of(first) == headers_of(second) == expected


def test_headers_leave_nothing_behind(parser_class: type) -> None:
    """Requests whose field lines all differ, their fields read or not, then dropped: nothing of
    them stays allocated, and the type is held no more than before."""
    parser = parser_class(Config(max_requests_per_connection=0))
    heads = [HEAD.replace(b"b=2", b"b=%04d" % i) for i in range(1000)]

    def feed_all() -> None:
        for i, head in enumerate(heads):
            [event] = parser.feed(head)
            if i % 2:
                assert list(headers_of(event))[5] == (b"cookie", b"b=%04d" % i)

    feed_all()  # caches and free lists warmed up
    headers_type = type(headers_of(parser.feed(HEAD)[0]))
    references = sys.getrefcount(headers_type)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(5):
            feed_all()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    # 5,000 requests of about 400 bytes of field lines each: a leak of any part shows.
    assert grown < 64 * 1024, grown
    if is_lazy(headers_of(parser.feed(HEAD)[0])):
        assert sys.getrefcount(headers_type) <= references + 2
