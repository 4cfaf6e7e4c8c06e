"""The decisions of `wirespeed.conditional` alone: entity-tag lists, HTTP dates, preconditions,
byte ranges (coalesced and capped), the multipart/byteranges framing and content-coding
negotiation, as tables with the RFC 9110 section of each row.

These are unit tests of pure functions (no server); the same rules are exercised end to end
against live servers in test_static.py.
"""

from __future__ import annotations

import time
from email.utils import formatdate

import pytest

from http_wire import multipart_parts
from wirespeed.conditional import (
    NOT_MODIFIED,
    PRECONDITION_FAILED,
    UNSATISFIABLE,
    byte_ranges,
    entity_tags,
    http_date,
    if_range_holds,
    multipart_byteranges,
    preconditions,
    preferred_codings,
    request_fields,
)

OPAQUE = b"1a2b-400"
MTIME = 1_700_000_000
LAST_MODIFIED = formatdate(MTIME, usegmt=True).encode()
EARLIER = formatdate(MTIME - 60, usegmt=True).encode()
LATER = formatdate(MTIME + 60, usegmt=True).encode()

ENTITY_TAG_LISTS = [
    # (value, tags or None for "*", section)
    (b'"a"', [(False, b"a")], "§8.8.3"),
    (b'W/"a"', [(True, b"a")], "§8.8.3"),
    (b'"a", W/"b" ,"c"', [(False, b"a"), (True, b"b"), (False, b"c")], "§8.8.3, §5.6.1 lists"),
    (b'"a",,"b",', [(False, b"a"), (False, b"b")], "§5.6.1: empty list elements"),
    (b'""', [(False, b"")], "§8.8.3: an empty opaque-tag is valid"),
    (b"*", None, "§13.1.2: any current representation"),
    (b" * ", None, "§5.6.3: optional whitespace"),
    (b"a", [], "§8.8.3: an unquoted tag is not a tag: nothing matches"),
    (b'"a" "b"', [], "§5.6.1: list members need a comma"),
    (b'w/"a"', [], "§8.8.3: the weak prefix is case-sensitive"),
    (b'"a\\"b"', [], '§8.8.3: no escapes: \\" ends the tag early'),
]


@pytest.mark.parametrize(("value", "expected", "section"), ENTITY_TAG_LISTS)
def test_entity_tag_lists(value: bytes, expected: list[tuple[bool, bytes]] | None, section: str) -> None:
    assert entity_tags(value) == expected, section


HTTP_DATES = [
    (LAST_MODIFIED, MTIME, "§5.6.7 IMF-fixdate"),
    (b"Sunday, 06-Nov-94 08:49:37 GMT", 784111777, "§5.6.7 obsolete RFC 850 form"),
    (b"Sun Nov  6 08:49:37 1994", 784111777, "§5.6.7 obsolete asctime form"),
    (b"yesterday", None, "not a date"),
    (b"", None, "empty"),
]


@pytest.mark.parametrize(("value", "expected", "section"), HTTP_DATES)
def test_http_dates(value: bytes, expected: int | None, section: str) -> None:
    assert http_date(value) == expected, section


PRECONDITIONS = [
    # (fields, decision, section)
    ({}, None, "no condition"),
    ({b"if-none-match": b'"1a2b-400"'}, NOT_MODIFIED, "§13.1.2 match"),
    ({b"if-none-match": b'W/"1a2b-400"'}, NOT_MODIFIED, "§13.1.2 weak comparison"),
    ({b"if-none-match": b'"x", "1a2b-400"'}, NOT_MODIFIED, "§13.1.2 any member"),
    ({b"if-none-match": b"*"}, NOT_MODIFIED, "§13.1.2 *"),
    ({b"if-none-match": b'"x"'}, None, "§13.1.2 no match"),
    ({b"if-modified-since": LAST_MODIFIED}, NOT_MODIFIED, "§13.1.3 same date"),
    ({b"if-modified-since": LATER}, NOT_MODIFIED, "§13.1.3 later date"),
    ({b"if-modified-since": EARLIER}, None, "§13.1.3 modified since"),
    ({b"if-modified-since": b"garbage"}, None, "§13.1.3 an invalid date is ignored"),
    ({b"if-none-match": b'"x"', b"if-modified-since": LATER}, None, "§13.1.3 ignored with If-None-Match"),
    ({b"if-match": b'"1a2b-400"'}, None, "§13.1.1 strong match"),
    ({b"if-match": b"*"}, None, "§13.1.1 *"),
    ({b"if-match": b'"x"'}, PRECONDITION_FAILED, "§13.1.1 no match"),
    ({b"if-match": b'W/"1a2b-400"'}, PRECONDITION_FAILED, "§13.1.1 weak tags never match strongly"),
    ({b"if-unmodified-since": EARLIER}, PRECONDITION_FAILED, "§13.1.4 modified since"),
    ({b"if-unmodified-since": LAST_MODIFIED}, None, "§13.1.4 not modified"),
    ({b"if-unmodified-since": b"nonsense"}, None, "§13.1.4 an invalid date is ignored"),
    ({b"if-match": b'"1a2b-400"', b"if-unmodified-since": EARLIER}, None, "§13.2.2 If-Match decides"),
    ({b"if-match": b'"x"', b"if-none-match": b'"1a2b-400"'}, PRECONDITION_FAILED, "§13.2.2 step 1 first"),
    ({b"if-match": b'"1a2b-400"', b"if-none-match": b'"1a2b-400"'}, NOT_MODIFIED, "§13.2.2 steps 1 then 3"),
]


@pytest.mark.parametrize(("fields", "expected", "section"), PRECONDITIONS)
def test_preconditions(fields: dict[bytes, bytes], expected: int | None, section: str) -> None:
    assert preconditions(fields, OPAQUE, MTIME, LAST_MODIFIED) == expected, section


BYTE_RANGES = [
    # (value, size, expected, section)
    (b"bytes=0-9", 100, [(0, 9)], "§14.1.2 int-range"),
    (b"bytes=90-", 100, [(90, 99)], "§14.1.2 open-ended"),
    (b"bytes=90-1000", 100, [(90, 99)], "§14.1.2 last-pos past the end is clamped"),
    (b"bytes=-10", 100, [(90, 99)], "§14.1.2 suffix-range"),
    (b"bytes=-1000", 100, [(0, 99)], "§14.1.2 suffix longer than the representation"),
    (b"Bytes = 0-0", 100, [(0, 0)], "§14.1 range units are case-insensitive, OWS around ="),
    (b"bytes=0-9,", 100, [(0, 9)], "§5.6.1 empty list elements"),
    (b"bytes=100-", 100, UNSATISFIABLE, "§14.1.1 starts at the end"),
    (b"bytes=200-300", 100, UNSATISFIABLE, "§14.1.1 starts past the end"),
    (b"bytes=-0", 100, UNSATISFIABLE, "§14.1.1 an empty suffix"),
    (b"bytes=200-,300-", 100, UNSATISFIABLE, "§14.1.1 none of several overlaps"),
    (b"bytes=200-,5-9", 100, [(5, 9)], "§14.1.1 an unsatisfiable range is dropped: one part"),
    (b"bytes=9-5", 100, None, "§14.1.1 last-pos before first-pos: invalid, ignored"),
    (b"bytes=0-1,9-5", 100, None, "§14.1.1 one invalid spec invalidates the set"),
    (b"bytes=x-", 100, None, "§14.1.2 not digits"),
    (b"bytes= 1 - 2", 100, None, "§14.1.2 no whitespace inside a range"),
    (b"bytes=-", 100, None, "§14.1.2 a lone dash"),
    (b"bytes=", 100, None, "§14.1.2 no range"),
    (b"bytes 0-1", 100, None, "§14.2 no '='"),
    (b"items=0-1", 100, None, "§14.1 an unknown unit is ignored"),
    (b"bytes=0-" + b"9" * 40, 100, [(0, 99)], "§14.1.2 a last-pos of any length is clamped"),
    (b"bytes=" + b"9" * 40 + b"-", 100, UNSATISFIABLE, "§14.1.1 a first-pos of any length past the end"),
    (b"bytes=-" + b"9" * 5000, 100, [(0, 99)], "§14.1.2 a suffix longer than int() converts: the whole"),
    (b"bytes=" + b"9" * 40 + b"-5", 100, None, "§14.1.1 a huge first-pos after its last-pos: invalid"),
    (b"bytes=+1-2", 100, None, "§14.1.2 no sign"),
]


@pytest.mark.parametrize(("value", "size", "expected", "section"), BYTE_RANGES)
def test_byte_ranges(value: bytes, size: int, expected: object, section: str) -> None:
    assert byte_ranges(value, size, 200) == expected, section


def ranges(*spans: str) -> bytes:
    return b"bytes=" + ",".join(spans).encode()


RANGE_SETS = [
    # (Range value, size, max_ranges, expected, section): several ranges, coalesced and capped
    (ranges("0-1", "5-9"), 100, 200, [(0, 1), (5, 9)], "§14.1.2 two ranges"),
    (ranges("5-9", "0-1"), 100, 200, [(5, 9), (0, 1)], "§15.3.7.2 parts in the order asked for"),
    (ranges("0-1", "-10"), 100, 200, [(0, 1), (90, 99)], "§14.1.2 with a suffix-range"),
    (ranges("0-4", "3-9"), 100, 200, [(0, 9)], "§15.3.7.2 overlapping: coalesced into one part"),
    (ranges("0-4", "5-9"), 100, 200, [(0, 9)], "§15.3.7.2 touching: coalesced"),
    (ranges("5-9", "0-4"), 100, 200, [(0, 9)], "§15.3.7.2 coalesced whatever their order"),
    (ranges("0-9", "2-3"), 100, 200, [(0, 9)], "§15.3.7.2 one inside another"),
    (ranges("1-1", "3-3", "2-2"), 100, 200, [(1, 3)], "§15.3.7.2 a chain of touching ranges"),
    (ranges("0-1", "4-5", "1-2"), 100, 200, [(0, 2), (4, 5)], "§15.3.7.2 coalesced part takes the first place"),
    (ranges("50-59", "0-9", "20-29", "5-24"), 100, 200, [(50, 59), (0, 29)],
     "§15.3.7.2 a coalesced part comes where the first of its ranges was"),
    (ranges("0-", "10-20"), 100, 200, [(0, 99)], "§15.3.7.2 an open range takes in the rest"),
    (ranges("90-", "-5"), 100, 200, [(90, 99)], "§15.3.7.2 a suffix inside an open range"),
    (ranges("0-9", "200-", "20-29"), 100, 200, [(0, 9), (20, 29)], "§14.1.1 unsatisfiable ones dropped"),
    (ranges("200-", "300-"), 100, 200, UNSATISFIABLE, "§15.5.17 none satisfiable: 416"),
    (ranges("0-1", "9-5"), 100, 200, None, "§14.1.1 one invalid spec: the field is ignored"),
    (ranges(*["0-0"] * 3), 100, 3, [(0, 0)], "§14.2 at the cap: answered (and coalesced)"),
    (ranges(*["0-0"] * 4), 100, 3, None, "§14.2 over the cap (Apache MaxRanges): the whole file"),
    (ranges(*["0-0", "", ""]), 100, 1, [(0, 0)], "§5.6.1 empty list elements do not count"),
    (ranges(*["0-"] * 1000), 100, 200, None, "§14.2 1000 overlapping ranges: over the cap, the whole"),
    (ranges(*["0-"] * 200), 100, 200, [(0, 99)], "§14.2 200 overlapping ranges: one part"),
    (ranges(*[f"{i}-{i}" for i in range(0, 400, 2)]), 1000, 200, [(i, i) for i in range(0, 400, 2)],
     "§14.1.2 200 small disjoint ranges are still ranges (multipart_byteranges bounds their size)"),
    (ranges("0-9"), 100, 0, None, "§14.2 max_ranges 0: ranges are off"),
]


@pytest.mark.parametrize(("value", "size", "max_ranges", "expected", "section"), RANGE_SETS)
def test_range_sets(value: bytes, size: int, max_ranges: int, expected: object, section: str) -> None:
    assert byte_ranges(value, size, max_ranges) == expected, section


def test_multipart_byteranges_body() -> None:
    """§14.6: each part carries the representation's Content-Type and its own Content-Range;
    the pieces, filled from the representation, make exactly that body."""
    data = bytes(range(256)) * 4
    spans = [(0, 9), (500, 599), (1000, 1023)]
    answer = multipart_byteranges(spans, len(data), "application/pdf")
    assert answer is not None
    content_type, pieces = answer
    body = b"".join(head + data[offset : offset + length] for head, offset, length in pieces)
    parts = multipart_parts(content_type, body)
    assert [fields for fields, _ in parts] == [
        {"Content-Type": "application/pdf", "Content-Range": f"bytes {first}-{last}/1024"} for first, last in spans
    ]
    assert [part for _, part in parts] == [data[first : last + 1] for first, last in spans]
    other, _ = multipart_byteranges(spans, len(data), "application/pdf") or ("", [])
    assert other != content_type, "a new boundary for each answer"


@pytest.mark.parametrize(
    ("spans", "size", "multipart", "section"),
    [
        ([(0, 9), (50, 59)], 1000, True, "§14.6 smaller than the file"),
        ([(0, 9), (50, 59)], 100, False, "§14.2 larger than the 100-byte file: send the whole"),
        ([(i, i) for i in range(0, 400, 2)], 1000, False, "§14.2 200 one-byte parts outweigh the file"),
        ([(0, 498), (500, 999)], 1000, False, "§14.2 nearly all of it: the whole is smaller"),
    ],
)
def test_multipart_never_outgrows_the_file(
    spans: list[tuple[int, int]], size: int, multipart: bool, section: str
) -> None:
    answer = multipart_byteranges(spans, size, "text/plain; charset=utf-8")
    assert (answer is not None) == multipart, section
    if answer is not None:
        assert sum(len(head) + length for head, _, length in answer[1]) <= size


def test_if_range() -> None:
    old = MTIME  # long ago: Last-Modified is a strong validator
    last_modified = formatdate(old, usegmt=True).encode()
    assert if_range_holds(b'"1a2b-400"', OPAQUE, old), "§13.1.5 the current strong tag"
    assert not if_range_holds(b'"other"', OPAQUE, old), "§13.1.5 another tag"
    assert not if_range_holds(b'W/"1a2b-400"', OPAQUE, old), "§13.1.5 a weak tag never matches"
    assert if_range_holds(last_modified, OPAQUE, old), "§13.1.5 the Last-Modified date"
    assert not if_range_holds(EARLIER, OPAQUE, old), "§13.1.5 another date"
    now = int(time.time())
    assert not if_range_holds(formatdate(now, usegmt=True).encode(), OPAQUE, now), (
        "§8.8.2.2 a modification in the current second is a weak validator"
    )


CODINGS = [
    # (Accept-Encoding, expected preference among ("br", "gzip"), section)
    (b"gzip, deflate, br", ["br", "gzip"], "§12.5.3 equal q: the server's order"),
    (b"gzip", ["gzip"], "§12.5.3 only gzip"),
    (b"x-gzip", ["gzip"], "§8.4.1.3 x-gzip is gzip"),
    (b"br;q=0.5, gzip", ["gzip", "br"], "§12.5.3 higher q first"),
    (b"br;q=0, gzip", ["gzip"], "§12.5.3 q=0: not acceptable"),
    (b"*", ["br", "gzip"], "§12.5.3 * covers unlisted codings"),
    (b"*;q=0.1, gzip;q=0.9", ["gzip", "br"], "§12.5.3 * ranks unlisted codings"),
    (b"*, br;q=0", ["gzip"], "§12.5.3 a listed coding beats *"),
    (b"identity", [], "§12.5.3 identity only"),
    (b"", [], "§12.5.3 an empty value: identity only"),
    (b"gzip;q=0.4, identity;q=0.8", [], "§12.5.3 identity preferred over gzip"),
    (b"GZIP;Q=1", ["gzip"], "§12.5.3 codings and q are case-insensitive"),
    (b"gzip;q=2", [], "§12.4.2 q above 1 is invalid: not acceptable"),
    (b"gzip;q=abc, br", ["br"], "§12.4.2 an invalid q: not acceptable"),
]


@pytest.mark.parametrize(("value", "expected", "section"), CODINGS)
def test_preferred_codings(value: bytes, expected: list[str], section: str) -> None:
    assert preferred_codings(value, ("br", "gzip")) == expected, section


def test_request_fields_are_found_without_a_header_mapping() -> None:
    raw = [(b"host", b"x"), (b"if-none-match", b'"a"'), (b"if-none-match", b'"b"'), (b"range", b"bytes=0-1")]
    assert request_fields(raw) == {b"if-none-match": b'"a", "b"', b"range": b"bytes=0-1"}
    assert request_fields([(b"host", b"x"), (b"accept", b"*/*")]) is None
