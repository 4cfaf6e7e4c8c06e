"""Strategy: this module owns the field lines of a field section, header or trailer (RFC 9112
§5, RFC 9110 §5.5), where Python reads them rather than llhttp: the first fault of a section,
named as the scanner of rust/fields.rs (`FieldLines`) names it, and a stand-in of a few bytes
that stands where an unfinished section, valid so far, stands: the state of that scanner,
written as bytes. head.py reads a header section with these once llhttp has stopped inside
it, framing.py every trailer section. The meanings fields.rs also gives the values of
Content-Length, Transfer-Encoding, Connection and Expect are judged in head.py, in one pass
over the fields that frame the message (`FieldReader.judge`).
"""

from __future__ import annotations

import re

from ..errors import ParseFault
from . import grammar
from .grammar import CR, FIELD_VALUE, HTAB, LF, SP, TCHAR

# Bound by assignment, not by name import, as they are called as methods: see __init__.py.
_TOKEN_RUN = grammar.TOKEN_RUN
_VALUE_RUN = grammar.VALUE_RUN

# field-line = field-name ":" OWS field-value OWS (RFC 9112 §5).
# One valid field line; with the name and the value (leading OWS skipped) in groups.
FIELD_LINE = re.compile(rb"([" + TCHAR + rb"]+):[ \t]*(" + FIELD_VALUE + rb")\r\n")
# Where a field section with at least one line ends, a head or a trailer section: the CRLF of
# its last line and the blank line.
SECTION_END = b"\r\n\r\n"


def field_section_stand_in(data: bytes, pos: int) -> bytes:
    """A short text at which a field section stands where the unfinished one at data[pos:],
    valid so far, stands: at the start of a line, after the CR of the blank line, in a field
    name, in a field value, or after the CR that ends a field line (the states of fields.rs).

    The same bytes may follow either and be valid, and end the section at the same byte, so
    checking the stand-in plus what comes next is checking the section plus what comes next.
    """
    last_crlf = data.rfind(b"\r\n", pos)
    line = last_crlf + 2 if last_crlf >= 0 else pos
    if line == len(data):
        return b""
    if data.find(b":", line) < 0:
        return b"\r" if data[line] == CR else b"a"
    return b"a:\r" if data[-1] == CR else b"a:"


def field_section_fault(data: bytes, pos: int, end: int) -> ParseFault | None:
    """The first fault of the field section (header or trailer) that starts at data[pos],
    looking at data[pos:end] only; None when there is none there (complete or not). Field
    lines are judged as the Rust scanner (fields.rs) judges them, whole valid lines by a regex
    and the first other line byte by byte; the number of fields is left to the caller."""
    match = FIELD_LINE.match
    while True:
        line = match(data, pos, end)
        if line is None:
            break
        pos = line.end()
    if pos >= end:
        return None
    b = data[pos]
    if b == CR:  # the blank line, if an LF follows
        return ParseFault.BARE_CR if pos + 1 < end and data[pos + 1] != LF else None
    if b == LF:
        return ParseFault.BARE_LF
    if b == SP or b == HTAB:  # RFC 9112 §5.2: obs-fold
        return ParseFault.OBS_FOLD
    name_end = _TOKEN_RUN.match(data, pos, end).end()  # type: ignore[union-attr]
    if name_end == pos:
        return ParseFault.INVALID_HEADER_NAME
    if name_end == end:
        return None
    b = data[name_end]
    if b == SP or b == HTAB:  # RFC 9112 §5.1
        return ParseFault.WHITESPACE_BEFORE_COLON
    if b == LF:
        return ParseFault.BARE_LF
    if b != 0x3A:  # ":"
        return ParseFault.INVALID_HEADER_NAME
    value_end = _VALUE_RUN.match(data, name_end + 1, end).end()  # type: ignore[union-attr]
    if value_end == end:
        return None
    b = data[value_end]
    if b == LF:
        return ParseFault.BARE_LF
    if b != CR:
        return ParseFault.INVALID_HEADER_VALUE
    if value_end + 1 < end and data[value_end + 1] != LF:
        return ParseFault.BARE_CR
    return None  # a CR last: the line is unfinished
