"""Conditional, range and content-coding requests on one representation (RFC 9110 §12.5.3,
§13 and §14).

Strategy: this module owns the reading of the validator, range and Accept-Encoding header
fields, and the decisions they lead to: 412, 304, a byte range or a coalesced set of them
(206, its multipart/byteranges framing included), 416, or the whole representation; and
which precompressed coding a client accepts. It works on plain values (an entity tag, a
modification time in whole seconds, a length) and raw header bytes, and knows nothing of
files or sockets: `static.py` applies it to files.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Iterable
from email.utils import mktime_tz, parsedate_tz
from typing import Final

# The request fields this module reads (names as both parsers give them: lowercase bytes).
IF_MATCH: Final = b"if-match"
IF_NONE_MATCH: Final = b"if-none-match"
IF_MODIFIED_SINCE: Final = b"if-modified-since"
IF_UNMODIFIED_SINCE: Final = b"if-unmodified-since"
IF_RANGE: Final = b"if-range"
RANGE: Final = b"range"
ACCEPT_ENCODING: Final = b"accept-encoding"
FIELDS: Final = frozenset(
    {IF_MATCH, IF_NONE_MATCH, IF_MODIFIED_SINCE, IF_UNMODIFIED_SINCE, IF_RANGE, RANGE, ACCEPT_ENCODING}
)

# What `preconditions` decides, besides "carry on" (None).
NOT_MODIFIED: Final = 304
PRECONDITION_FAILED: Final = 412


class Unsatisfiable:
    """The range set names no byte of the representation: 416 (RFC 9110 §15.5.17)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "UNSATISFIABLE"


UNSATISFIABLE: Final = Unsatisfiable()

# entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE; etagc = %x21 / %x23-7E / obs-text (§8.8.3)
_ENTITY_TAG = re.compile(rb'[ \t]*(W/)?"([\x21\x23-\x7e\x80-\xff]*)"[ \t]*(?:,|$)')
# int-range = first-pos "-" [ last-pos ]; suffix-range = "-" suffix-length (§14.1.2).
_RANGE_SPEC = re.compile(rb"([0-9]+)?-([0-9]+)?")
# A position of more than eighteen digits is past the end of any file: it is not converted
# (int() of a long digit string costs time, and Python refuses very long ones).
_FAR = 10**18


def _position(digits: bytes) -> int:
    return int(digits) if len(digits) <= 18 else _FAR


def request_fields(raw_headers: Iterable[tuple[bytes, bytes]]) -> dict[bytes, bytes] | None:
    """The fields of FIELDS present in a request, or None when there are none (the common
    case, found without building the request's header mapping). A field sent twice is joined
    with a comma, as RFC 9110 §5.3 allows for list fields; for the others that makes an
    invalid value, which is then ignored."""
    found: dict[bytes, bytes] | None = None
    for name, value in raw_headers:
        if name in FIELDS:
            if found is None:
                found = {}
            earlier = found.get(name)
            found[name] = value if earlier is None else earlier + b", " + value
    return found


def entity_tags(value: bytes) -> list[tuple[bool, bytes]] | None:
    """The (weak, opaque-tag) pairs of an If-Match/If-None-Match list; None for `*`. An empty
    list when the value is not a well-formed list (which then matches nothing)."""
    value = value.strip(b" \t")
    if value == b"*":
        return None
    tags: list[tuple[bool, bytes]] = []
    position = 0
    while position < len(value):
        found = _ENTITY_TAG.match(value, position)
        if found is None or found.end() == position:
            return []
        tags.append((found.group(1) is not None, found.group(2)))
        position = found.end()
        while position < len(value) and value[position] in b" \t,":  # empty list elements
            position += 1
    return tags


def _any_match(value: bytes, opaque: bytes, strong: bool) -> bool:
    tags = entity_tags(value)
    if tags is None:
        return True  # "*": the representation exists
    if strong:  # §8.8.3.2: both tags strong and equal
        return any(not weak and tag == opaque for weak, tag in tags)
    return any(tag == opaque for _, tag in tags)


def http_date(value: bytes) -> int | None:
    """An HTTP-date (IMF-fixdate, or the obsolete RFC 850 and asctime forms that §5.6.7 says
    recipients accept) as a Unix time in seconds; None when it is not a date."""
    try:
        parsed = parsedate_tz(value.decode("latin-1"))
    except (ValueError, IndexError, TypeError):  # pragma: no cover - parsedate_tz returns None
        return None
    if parsed is None:
        return None
    try:
        return int(mktime_tz(parsed))
    except (ValueError, OverflowError):
        return None


def preconditions(fields: dict[bytes, bytes], opaque: bytes, mtime: int, last_modified: bytes) -> int | None:
    """RFC 9110 §13.2.2 for a GET or HEAD of a representation whose strong entity tag is
    `opaque` (without quotes) and whose modification time is `mtime`: PRECONDITION_FAILED,
    NOT_MODIFIED, or None to go on."""
    if_match = fields.get(IF_MATCH)
    if if_match is not None:
        if not _any_match(if_match, opaque, strong=True):
            return PRECONDITION_FAILED
    else:
        unmodified_since = fields.get(IF_UNMODIFIED_SINCE)
        if unmodified_since is not None:
            date = http_date(unmodified_since)
            if date is not None and mtime > date:
                return PRECONDITION_FAILED
    if_none_match = fields.get(IF_NONE_MATCH)
    if if_none_match is not None:
        return NOT_MODIFIED if _any_match(if_none_match, opaque, strong=False) else None
    modified_since = fields.get(IF_MODIFIED_SINCE)
    if modified_since is not None:
        if modified_since == last_modified:  # what we sent, echoed back: no date parsing
            return NOT_MODIFIED
        date = http_date(modified_since)
        if date is not None and mtime <= date:
            return NOT_MODIFIED
    return None


def if_range_holds(value: bytes, opaque: bytes, mtime: int) -> bool:
    """§13.1.5: the range applies only to the representation the client already has part of.
    An entity tag must match strongly; a date must equal Last-Modified, which must itself be a
    strong validator (at least a second older than now, §8.8.2.2)."""
    value = value.strip(b" \t")
    if value.startswith(b'"'):
        return value == b'"' + opaque + b'"'
    if value.startswith(b"W/"):
        return False
    date = http_date(value)
    return date is not None and date == mtime and mtime < int(time.time())


def byte_ranges(value: bytes, size: int, max_ranges: int) -> list[tuple[int, int]] | Unsatisfiable | None:
    """The ranges of a `Range: bytes=...` value over `size` bytes to answer with, as (first,
    last) inclusive: those that overlap or touch coalesced into one (§15.3.7.2 allows it
    whatever their order), the rest in the order the field gave them (as §15.3.7.2 asks),
    unsatisfiable ones dropped. UNSATISFIABLE when none overlaps the representation (416);
    None when the field is to be ignored and the whole representation sent (§14.2): another
    unit, a syntax error, no ranges wanted (`max_ranges` 0), or more than `max_ranges`
    range-specs (counted before coalescing, as Apache's MaxRanges and nginx's max_ranges)."""
    unit, equals, ranges = value.partition(b"=")
    if not equals or unit.strip(b" \t").lower() != b"bytes":
        return None
    specs = [spec.strip(b" \t") for spec in ranges.split(b",")]
    specs = [spec for spec in specs if spec]  # empty list elements are allowed (§5.6.1)
    if not specs or len(specs) > max_ranges:
        return None
    satisfiable: list[tuple[int, int, int]] = []  # (first, last, position in the field)
    for spec in specs:
        found = _RANGE_SPEC.fullmatch(spec)
        if found is None:
            return None
        first, last = found.group(1), found.group(2)
        if first is None:
            if last is None:
                return None  # a lone "-"
            length = _position(last)
            if length > 0 and size > 0:
                satisfiable.append((max(0, size - length), size - 1, len(satisfiable)))
            continue
        start = _position(first)
        end = None if last is None else _position(last)
        if end is not None and end < start:
            return None  # §14.1.1: an invalid range-spec makes the whole set invalid
        if start < size:
            satisfiable.append((start, size - 1 if end is None else min(end, size - 1), len(satisfiable)))
    if not satisfiable:
        return UNSATISFIABLE
    if len(satisfiable) == 1:
        return [satisfiable[0][:2]]
    # Coalesced in order of position; each keeps the earliest place in the field of the
    # ranges it took in. The result covers every byte at most once: never more than `size`.
    satisfiable.sort()
    merged = [list(satisfiable[0])]
    for first, last, order in satisfiable[1:]:
        current = merged[-1]
        if first <= current[1] + 1:
            current[1] = max(current[1], last)
            current[2] = min(current[2], order)
        else:
            merged.append([first, last, order])
    merged.sort(key=lambda span: span[2])
    return [(first, last) for first, last, _ in merged]


def content_range(first: int, last: int, size: int) -> str:
    return f"bytes {first}-{last}/{size}"


# A piece of a body taken from a representation: bytes of its own, then `length` bytes of the
# representation from `offset`.
Piece = tuple[bytes, int, int]


def multipart_byteranges(
    ranges: list[tuple[int, int]], size: int, content_type: str | None
) -> tuple[str, list[Piece]] | None:
    """The Content-Type and the body of a 206 `multipart/byteranges` answer with `ranges` of a
    representation of `size` bytes (§14.6): each part a delimiter, its Content-Type and
    Content-Range, then its bytes; the last piece the closing delimiter. The boundary is
    random for each answer, so no file can be made to hold it. None when this body would be
    larger than the whole representation, which then answers instead (a 200 is always
    allowed, §14.2; Apache and nginx do the same): many small ranges cannot make an answer
    bigger than the file itself."""
    boundary = secrets.token_hex(12)
    delimiter = b"--" + boundary.encode("ascii") + b"\r\n"
    type_line = b"" if content_type is None else b"Content-Type: " + content_type.encode("latin-1") + b"\r\n"
    pieces: list[Piece] = []
    total = 0
    for first, last in ranges:
        head = b"%b%bContent-Range: bytes %d-%d/%d\r\n\r\n" % (delimiter, type_line, first, last, size)
        if pieces:
            head = b"\r\n" + head
        pieces.append((head, first, last + 1 - first))
        total += len(head) + last + 1 - first
    closing = b"\r\n--" + boundary.encode("ascii") + b"--\r\n"
    if total + len(closing) > size:
        return None
    pieces.append((closing, 0, 0))
    return "multipart/byteranges; boundary=" + boundary, pieces


# Accept-Encoding values seen, mapped to their codings' q-values: browsers send a handful of
# distinct values, so each is parsed once (bounded, in case a client sends many).
_ACCEPTED: dict[bytes, dict[str, float]] = {}
_ACCEPTED_LIMIT = 256
_ALIASES = {"x-gzip": "gzip"}


def _accepted_codings(value: bytes) -> dict[str, float]:
    codings = _ACCEPTED.get(value)
    if codings is not None:
        return codings
    codings = {}
    for element in value.decode("latin-1").split(","):
        coding, *params = element.split(";")
        coding = coding.strip(" \t").lower()
        if not coding:
            continue
        quality = 1.0
        for param in params:
            name, _, number = param.strip(" \t").partition("=")
            if name.strip(" \t").lower() == "q":
                try:
                    quality = float(number.strip(" \t"))
                except ValueError:
                    quality = 0.0
                if not 0.0 <= quality <= 1.0:
                    quality = 0.0
        coding = _ALIASES.get(coding, coding)
        codings[coding] = max(quality, codings.get(coding, 0.0))
    if len(_ACCEPTED) < _ACCEPTED_LIMIT:
        _ACCEPTED[value] = codings
    return codings


def preferred_codings(accept_encoding: bytes, available: Iterable[str]) -> list[str]:
    """The content codings of `available` (given in the server's order of preference) that an
    Accept-Encoding value accepts (§12.5.3), best first: by q-value, then in the server's
    order. A coding the field does not name is acceptable only through `*`. A coding with a
    lower q-value than an explicitly listed `identity` is left out (identity is better)."""
    codings = _accepted_codings(accept_encoding)
    star = codings.get("*", 0.0)
    identity = codings.get("identity", 0.0)
    ranked = sorted(
        ((codings.get(coding, star), order, coding) for order, coding in enumerate(available)),
        key=lambda ranking: (-ranking[0], ranking[1]),  # highest q first, then the server's order
    )
    return [coding for quality, _, coding in ranked if quality > 0 and quality >= identity]
