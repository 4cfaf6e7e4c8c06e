"""Strategy: this module owns the message body after the head: a Content-Length body passed on
piece by piece (RFC 9112 §6.2), and the chunked transfer coding (RFC 9112 §7.1): chunk-size
lines with their extensions, chunk data, the CRLF after it, and the trailer section, which is
validated and dropped. It mirrors rust/framing.rs (`LengthDecoder`, `ChunkedDecoder`);
`BodyDecoder` holds these methods of `RequestParser`. How a body is framed is decided with its
head (head.py), and a Content-Length body small enough to come with its request is collected
by parser.py, as in the Rust crate.

Readings of rules that leave room, the same as the Rust parser's: a chunk size gets 413 once
its digits have ended and the declared total passes `max_body_size`, before that chunk's data
is delivered; the trailer section (fields and final CRLF) counts toward `max_head_size`
together with the head; a chunk-size line may take `max_head_size` bytes with its CRLF, and is
a 400 at its `max_head_size`-th byte unless that byte ends it (a fault in that byte comes
first).

An unfinished chunk-size line or trailer section is not kept as it came: `_pending` holds a
stand-in of a few bytes at which the grammar stands exactly where the line or section does (a
chunk size's digits, then the shape of its last extension; the state of a field line), and
`_line_shift` says how many bytes it stands for beyond its own, for the limits. So a line or a
section trickled in byte by byte costs linear time.
"""

from __future__ import annotations

import re

from ..errors import ParseFault
from . import grammar
from .fields import SECTION_END, field_section_fault, field_section_stand_in
from .grammar import (
    CR,
    FIELD_VALUE,
    FIELD_VALUE_SET,
    HTAB,
    LF,
    QDTEXT,
    QDTEXT_SET,
    QPAIR,
    SP,
    TCHAR,
    TCHAR_SET,
)
from .state import (
    CHUNK_CRLF,
    CHUNK_DATA,
    CHUNK_SIZE,
    DONE,
    TRAILERS,
    Event,
    ParserState,
)

# Bound by assignment, not by name import, as it is called as a method: see __init__.py.
_HEX_RUN = grammar.HEX_RUN

# chunk-ext = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] ), ext-val = token /
# quoted-string (RFC 9112 §7.1.1); quoted-string per RFC 9110 §5.6.4.
_QUOTED = rb'"(?:[' + QDTEXT + rb"]|\\[" + QPAIR + rb'])*"'
_EXT = (
    rb"[ \t]*;[ \t]*[" + TCHAR + rb"]+(?:[ \t]*=[ \t]*(?:[" + TCHAR + rb"]+|" + _QUOTED + rb"))?"
)
# chunk-size [ chunk-ext ], without the CRLF.
_CHUNK_LINE = re.compile(rb"([0-9A-Fa-f]+)(?:" + _EXT + rb")*")
# Any prefix of a chunk-size line that has its first digit, for a line that has not ended yet:
# the size, complete extensions (the last one in group "ext"), then the start of one more, its
# parts in named groups. The groups say where the line stands, so the line can be held as a
# short stand-in that stands exactly there (see _chunk_line_stand_in).
_CHUNK_LINE_PREFIX = re.compile(
    rb"(?P<size>[0-9A-Fa-f]+)(?:(?P<ext>" + _EXT + rb"))*"
    rb"(?P<ows0>[ \t]*)(?:(?P<semi>;)(?P<ows1>[ \t]*)(?:(?P<name>[" + TCHAR + rb"]+)"
    rb"(?P<ows2>[ \t]*)(?:(?P<eq>=)(?P<ows3>[ \t]*)(?:(?P<token>[" + TCHAR + rb"]+)"
    rb'|(?P<quote>"(?:[' + QDTEXT + rb"]|\\[" + QPAIR + rb"])*)(?P<escape>\\?))?)?)?)?"
)
# The shortest text for each part of an unfinished extension that is present.
_PARTIAL_EXT_STAND_INS = (
    ("ows0", b" "),
    ("semi", b";"),
    ("ows1", b" "),
    ("name", b"a"),
    ("ows2", b" "),
    ("eq", b"="),
    ("ows3", b" "),
    ("token", b"a"),
    ("quote", b'"'),
    ("escape", b"\\"),
)
_MAX_CHUNK_DIGITS = 16  # the rules: more than 16 hex digits is 400 (and never overflows u64)
# trailer-section = *( field-line CRLF ) CRLF (RFC 9112 §7.1.2).
_TRAILER_SECTION = re.compile(rb"(?:[" + TCHAR + rb"]+:" + FIELD_VALUE + rb"\r\n)*\r\n")


class BodyDecoder(ParserState):
    """The methods of `RequestParser` that read a body after its head."""

    __slots__ = ()

    def _read_body_piece(self, data: bytes, pos: int, events: list[Event]) -> int:
        """A piece of a streamed Content-Length body or of one chunk's data."""
        remaining = self._remaining
        take = min(remaining, len(data) - pos)
        events.append(data[pos : pos + take])
        remaining -= take
        self._remaining = remaining
        if remaining:
            return -1
        if self._state == CHUNK_DATA:
            self._state = CHUNK_CRLF
        else:
            events.append(None)
            self._request_done()
            if self._state == DONE:
                return -1
        return pos + take

    # -- chunked bodies (RFC 9112 §7.1) -------------------------------------------------------

    def _read_chunk_size(self, data: bytes, pos: int) -> int:
        # RFC 9112 §7.1.1: the line, CRLF included, may take max_head_size bytes; nothing past
        # them is looked at. An earlier feed may have left the start of the line in _pending
        # as a stand-in, _line_shift bytes shorter than what it stands for.
        limit = pos + self._max_head_size - self._line_shift
        eol = data.find(b"\r\n", pos, limit)
        complete = eol >= 0
        end = eol if complete else min(len(data), limit)
        # In byte order: too many digits, no digit, the size against the body limit (once the
        # digits have ended), then the extensions, then the length of the line.
        digits = _HEX_RUN.match(data, pos, end).end() - pos  # type: ignore[union-attr]
        size = total = 0
        if digits > _MAX_CHUNK_DIGITS:
            raise ParseFault.INVALID_CHUNK_SIZE.error()
        if pos + digits < end or complete:  # the digits have ended
            if not digits:
                raise ParseFault.INVALID_CHUNK_SIZE.error()
            size = int(data[pos : pos + digits], 16)
            total = self._body_total + size
            if total > self._max_body_size:
                raise ParseFault.BODY_TOO_LARGE.error()
        if not complete:
            line_end = end - 1 if data[end - 1 : end] == b"\r" else end
            match = _CHUNK_LINE_PREFIX.fullmatch(data, pos, line_end)
            # A CR last must be where the line may end ("1;a=" CR is wrong at the CR).
            if match is None or (
                line_end < end and _CHUNK_LINE.fullmatch(data, pos, line_end) is None
            ):
                raise _chunk_line_fault(data[pos:end]).error()
            if end == limit:
                raise ParseFault.CHUNK_EXTENSION_TOO_LONG.error()
            # Hold a few bytes that stand where the line stands, not the line: the next feed
            # then costs what it brings, however slowly the line trickles in.
            stand_in = _chunk_line_stand_in(match) + data[line_end:end]
            self._line_shift += end - pos - len(stand_in)
            self._pending = stand_in
            return -1
        if _CHUNK_LINE.fullmatch(data, pos, eol) is None:
            raise _chunk_line_fault(data[pos : eol + 2]).error()
        self._line_shift = 0
        if size == 0:
            self._state = TRAILERS
            return eol + 2
        self._body_total = total
        self._remaining = size
        self._state = CHUNK_DATA
        return eol + 2

    def _read_chunk_crlf(self, data: bytes, pos: int) -> int:
        after = data[pos : pos + 2]
        if after == b"\r\n":
            self._state = CHUNK_SIZE
            return pos + 2
        if after != b"\r":  # one byte that is not CR, or two that are not CRLF
            raise ParseFault.MISSING_CHUNK_CRLF.error()
        self._pending = after
        return -1

    def _read_trailers(self, data: bytes, pos: int, events: list[Event]) -> int:
        # An earlier feed may have left the start of the section in _pending as a stand-in,
        # _line_shift bytes shorter than what it stands for (trailers are judged, not kept).
        if data.startswith(b"\r\n", pos):
            section_end = pos + 2
        else:
            found = data.find(SECTION_END, pos)
            section_end = found + 4 if found >= 0 else -1
        stop = section_end if section_end >= 0 else len(data)
        room = self._max_head_size - self._head_size - self._line_shift  # they count with the head
        if stop - pos > room:
            fault = field_section_fault(data, pos, pos + max(room, 0))
            raise (fault or ParseFault.TRAILERS_TOO_LARGE).error()
        if section_end < 0:
            fault = field_section_fault(data, pos, len(data))
            if fault is not None:
                raise fault.error()
            # Hold a few bytes that stand where the section stands, not the section: the next
            # feed then costs what it brings, however slowly the section trickles in.
            stand_in = field_section_stand_in(data, pos)
            self._line_shift += len(data) - pos - len(stand_in)
            self._pending = stand_in
            return -1
        if not _TRAILER_SECTION.fullmatch(data, pos, section_end):
            fault = field_section_fault(data, pos, section_end)
            raise (fault or ParseFault.INVALID_HEADER_NAME).error()
        self._line_shift = 0
        events.append(None)  # trailer fields are validated and dropped
        self._request_done()
        return section_end if self._state != DONE else -1


def _hex_run(line: bytes) -> int:
    """How many hex digits `line` starts with."""
    match = _HEX_RUN.match(line)
    return match.end() if match is not None else 0


def _chunk_line_stand_in(match: re.Match[bytes]) -> bytes:
    """A short text at which `_CHUNK_LINE_PREFIX` stands where the matched line stands.

    The same bytes may follow either and be valid, so checking the stand-in plus what comes
    next is checking the line plus what comes next. The size digits (16 at most) are kept, as
    their value matters; an extension is reduced to the shape that decides what may follow it.
    """
    parts = [match["size"]]
    ext = match["ext"]
    if ext is not None:  # what may follow depends on how the last extension ended
        if ext[-1:] == b'"':
            parts.append(b';a=""')
        elif b"=" in ext:  # "=" is no tchar, so it is there only before a token value
            parts.append(b";a=a")
        else:
            parts.append(b";a")
    parts += [stand_in for group, stand_in in _PARTIAL_EXT_STAND_INS if match[group]]
    return b"".join(parts)


# The states of a chunk-size line after its digits, as in rust/framing.rs (chunk-ext =
# *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] ), RFC 9112 §7.1.1), for _chunk_line_fault.
_AFTER_SIZE = 0  # the first byte after the digits
_BEFORE_SEMICOLON = 1
_BEFORE_EXT_NAME = 2
_EXT_NAME = 3
_AFTER_EXT_NAME = 4
_BEFORE_EXT_VALUE = 5
_EXT_TOKEN = 6
_EXT_QUOTED = 7
_EXT_QUOTED_PAIR = 8
_AFTER_EXT_QUOTED = 9
_SIZE_LF = 10  # after the CR that ends the line


def _chunk_line_fault(line: bytes) -> ParseFault:
    """The first fault of a chunk-size line (from its first byte, with its CRLF when it has
    one) that the line regexes refused, named byte by byte as the Rust decoder names it. The
    digits have been judged (count, 413) by the caller."""
    digits = _hex_run(line)
    if not digits:
        return ParseFault.INVALID_CHUNK_SIZE
    bad_ext = ParseFault.INVALID_CHUNK_EXTENSION
    state = _AFTER_SIZE
    for b in line[digits:]:
        ows = b == SP or b == HTAB
        if state == _AFTER_SIZE:
            if b == 0x3B:  # ";"
                state = _BEFORE_EXT_NAME
            elif b == CR:
                state = _SIZE_LF
            elif b == LF:
                return ParseFault.BARE_LF
            elif ows:
                state = _BEFORE_SEMICOLON
            else:
                return ParseFault.INVALID_CHUNK_SIZE
        elif state == _BEFORE_SEMICOLON:
            if b == 0x3B:
                state = _BEFORE_EXT_NAME
            elif not ows:
                return bad_ext
        elif state == _BEFORE_EXT_NAME:
            if b in TCHAR_SET:
                state = _EXT_NAME
            elif not ows:
                return bad_ext
        elif state == _EXT_NAME or state == _EXT_TOKEN:
            if b == 0x3D and state == _EXT_NAME:  # "="
                state = _BEFORE_EXT_VALUE
            elif b == 0x3B:
                state = _BEFORE_EXT_NAME
            elif b == CR:
                state = _SIZE_LF
            elif b == LF:
                return ParseFault.BARE_LF
            elif ows:
                state = _AFTER_EXT_NAME if state == _EXT_NAME else _BEFORE_SEMICOLON
            elif b not in TCHAR_SET:
                return bad_ext
        elif state == _AFTER_EXT_NAME:
            if b == 0x3D:
                state = _BEFORE_EXT_VALUE
            elif b == 0x3B:
                state = _BEFORE_EXT_NAME
            elif not ows:
                return bad_ext
        elif state == _BEFORE_EXT_VALUE:
            if b == 0x22:  # DQUOTE
                state = _EXT_QUOTED
            elif b in TCHAR_SET:
                state = _EXT_TOKEN
            elif not ows:
                return bad_ext
        elif state == _EXT_QUOTED:
            if b == 0x22:
                state = _AFTER_EXT_QUOTED
            elif b == 0x5C:  # backslash
                state = _EXT_QUOTED_PAIR
            elif b not in QDTEXT_SET:
                return bad_ext
        elif state == _EXT_QUOTED_PAIR:
            if b not in FIELD_VALUE_SET:
                return bad_ext
            state = _EXT_QUOTED
        elif state == _AFTER_EXT_QUOTED:
            if b == 0x3B:
                state = _BEFORE_EXT_NAME
            elif b == CR:
                state = _SIZE_LF
            elif b == LF:
                return ParseFault.BARE_LF
            elif ows:
                state = _BEFORE_SEMICOLON
            else:
                return bad_ext
        else:  # _SIZE_LF
            if b != LF:
                return ParseFault.BARE_CR
            break
    # Not reached: the regexes refuse a line only where one of the faults above is.
    return bad_ext

