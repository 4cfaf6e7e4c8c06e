"""Strategy: this module owns the request line (RFC 9112 §3), method SP request-target SP
HTTP-version CRLF, wherever it is not the common shape that head.py checks first: it scans the
line as rust/request_line.rs does, each part in byte order, and raises its first fault. It
also holds, as request_line.rs does, the rules on the forms of the target and the Host value
that head.py applies to a Host field. `RequestLineScanner` holds these methods of
`RequestParser`.

Why Python reads the request line: llhttp accepts only its built-in method names (the rules
accept any token, case-sensitive), accepts several spaces between the parts of the line (the
rules answer 400) and says nothing about where a message ends.

Readings of rules that leave room, the same as the Rust parser's: the HTTP version is judged
before the form of the target (`PRI * HTTP/2.0` is 505); CONNECT's authority-form allows an
empty port (`port = *DIGIT`), and absolute-form's authority is read as a Host value with a
non-empty host.

A request line that arrives a few bytes at a time is not scanned again with every feed: an
unfinished request line is held as the pieces already scanned, with the part of the line the
scan stopped in; the next bytes are scanned from there, and the line is read whole once its
CRLF has come.
"""

from __future__ import annotations

import re

from ..errors import ParseFault
from . import grammar
from .grammar import REG_NAME
from .state import ParserState

# Bound by assignment, not by name import, as they are called as methods: see __init__.py.
_TOKEN_RUN = grammar.TOKEN_RUN
_TARGET_RUN = grammar.TARGET_RUN

# HTTP-version = "HTTP/" DIGIT "." DIGIT (RFC 9112 §2.3): another value of this shape is 505.
# Any prefix of one, for a request line that has not ended yet (the whole shape is 8 bytes).
_VERSION_PREFIX = re.compile(rb"(?:H(?:T(?:T(?:P(?:/(?:[0-9](?:\.[0-9]?)?)?)?)?)?)?)?")
# The version slot of a request line, and one byte more to tell an over-long one.
_VERSION_SLOT = re.compile(rb"[^\r\n]{0,9}")
VERSIONS = {b"HTTP/1.1": 1, b"HTTP/1.0": 0}
# IP-literal = "[" ... "]" (RFC 3986 §3.2.2), as an authority's uri-host.
_IP_LITERAL = rb"\[[0-9A-Fa-f:.]+\]"
# absolute-form (RFC 9112 §3.2.2): scheme "://" authority, then the path and query raw;
# scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) (RFC 3986 §3.1). The authority, up to
# the first "/", "?" or "#", is a Host value (the Host is taken from it) whose host is not
# empty (RFC 9110 §4.2.1) and has no userinfo (§4.2.4).
_ABSOLUTE_FORM = re.compile(
    rb"[A-Za-z][A-Za-z0-9+\-.]*://(?:" + _IP_LITERAL + rb"|[" + REG_NAME + rb"]+)(?::[0-9]*)?(?:[/?#]|\Z)"
)
# authority-form (RFC 9112 §3.2.3) = uri-host ":" port; uri-host is an IP-literal or a
# reg-name (unreserved / pct-encoded / sub-delims); port = *DIGIT (RFC 3986 §3.2.3).
# Host (RFC 9112 §3.2, RFC 9110 §7.2) = uri-host [ ":" port ], the reg-name possibly empty.
HOST_VALUE = re.compile(rb"(?:" + _IP_LITERAL + rb"|[" + REG_NAME + rb"]*)(?::[0-9]*)?")
_AUTHORITY_FORM = re.compile(rb"(?:" + _IP_LITERAL + rb"|[" + REG_NAME + rb"]+):[0-9]*")

# Where the scan of an unfinished request line stopped: in the method, in the target, in the
# version (which is scanned again with the next bytes, as it is 8 bytes at most).
IN_METHOD = 0
IN_TARGET = 1
IN_VERSION = 2


class RequestLineScanner(ParserState):
    """The methods of `RequestParser` that scan a request line."""

    __slots__ = ()

    def _scan_line(self, data: bytes, pos: int) -> tuple[bytes, bytes, int] | None:
        """The request line, judged as the Rust scanner judges it: each part in byte order,
        raising its first fault. A line whose CRLF has come is scanned whole, from its first
        byte at data[pos], and its (method, target, version) returned. An unfinished line that
        is valid so far gives None and is held (`_hold_line`); the next scan resumes in the
        part where this one stopped, at data[pos] after the `_line_held` bytes of earlier
        feeds, so that only a CR at the end and the version (8 bytes at most) are scanned
        again. Only the first max_head_size bytes of the head are looked at (431 past them)."""
        held = self._line_held
        start = pos - held  # where the line starts, counting the bytes held from earlier feeds
        limit = start + self._max_head_size
        end = min(len(data), limit)
        phase = self._line_phase
        if phase == IN_METHOD:
            if not held and data[pos] == 0x0D and pos + 1 < len(data):
                # A CR that starts no empty line is bare (RFC 9112 §2.2), judged like the empty
                # lines before the request line: before the head and its size limit begin.
                raise ParseFault.BARE_CR.error()
            # method = token (RFC 9110 §9.1), then exactly one SP.
            m_end = _TOKEN_RUN.match(data, pos, end).end()  # type: ignore[union-attr]
            after = data[m_end : min(m_end + 2, end)]
            if not after or after == b"\r":
                return self._hold_line(data, pos, m_end, IN_METHOD, limit)
            fault = _separator_fault(after, m_end == start, ParseFault.INVALID_REQUEST_LINE, ParseFault.INVALID_METHOD)
            if fault is not None:
                raise fault.error()
            t_start = resume = m_end + 1
            self._target_start = t_start - start
        else:  # the method, its SP and the target or its start are held
            t_start = start + self._target_start
            m_end = t_start - 1
            resume = pos
        if phase != IN_VERSION:
            # request-target: visible ASCII (RFC 9112 §3.2), at most max_target_length bytes.
            t_end = _TARGET_RUN.match(data, resume, end).end()  # type: ignore[union-attr]
            if t_end - t_start > self._max_target_length:
                raise ParseFault.TARGET_TOO_LONG.error()
            after = data[t_end : min(t_end + 2, end)]
            if not after or after == b"\r":
                return self._hold_line(data, pos, t_end, IN_TARGET, limit)
            # "GET /" CRLF is an HTTP/0.9 request: no version at all -> 505.
            fault = _separator_fault(after, t_end == t_start, ParseFault.UNSUPPORTED_VERSION, ParseFault.INVALID_TARGET)
            if fault is not None:
                raise fault.error()
            v_start = t_end + 1
        else:  # the version is scanned again from its first byte, at data[pos]
            v_start = resume
            t_end = v_start - 1
        # HTTP-version = "HTTP/" DIGIT "." DIGIT (RFC 9112 §2.3), then CRLF.
        v_end = _VERSION_SLOT.match(data, v_start, end).end()  # type: ignore[union-attr]
        version = data[v_start:v_end]
        if not _VERSION_PREFIX.fullmatch(version):
            raise ParseFault.INVALID_VERSION.error()
        after = data[v_end : min(v_end + 2, end)]
        if not after or after == b"\r":
            return self._hold_line(data, pos, v_start, IN_VERSION, limit)
        if after[0] == 0x0A:
            raise ParseFault.BARE_LF.error()
        if after[1] != 0x0A:
            raise ParseFault.BARE_CR.error()
        # The version is judged before the target's form (the HTTP/2 preface, "PRI *
        # HTTP/2.0", is a 505).
        number = VERSIONS.get(version)
        if number is None:
            if len(version) == len(b"HTTP/1.1"):
                raise ParseFault.UNSUPPORTED_VERSION.error()
            raise ParseFault.INVALID_VERSION.error()
        method = data[start:m_end]
        target = data[t_start:t_end]
        _check_target_form(method, target)
        return method, target, number

    def _hold_line(self, data: bytes, pos: int, scanned: int, phase: int, limit: int) -> None:
        """An unfinished request line without a fault so far: 431 if the head is over its size;
        else data[pos:scanned] joins the held bytes of the line, and what follows (nothing, a
        CR, or the version so far) waits in _pending to be scanned with the next bytes, in
        `phase`."""
        if len(data) > limit:
            raise ParseFault.HEAD_TOO_LARGE.error()
        if scanned > pos:
            self._line_parts.append(data[pos:scanned])
            self._line_held += scanned - pos
        self._line_phase = phase
        self._pending = data[scanned:]


def _separator_fault(after: bytes, empty: bool, at_crlf: ParseFault, otherwise: ParseFault) -> ParseFault | None:
    """The fault where a method or target run ends (`after`: the next one or two bytes, not a
    lone CR): None when it is the one SP the request line needs (RFC 9112 §3). An empty run
    is an invalid line; a line ending there is `at_crlf`; another byte is `otherwise`."""
    first = after[0]
    if first == 0x20:
        return ParseFault.INVALID_REQUEST_LINE if empty else None
    if after == b"\r\n":
        return ParseFault.INVALID_REQUEST_LINE if empty else at_crlf
    if first == 0x0D:
        return ParseFault.BARE_CR
    if first == 0x0A:
        return ParseFault.BARE_LF
    return otherwise


def _check_target_form(method: bytes, target: bytes) -> None:
    """RFC 9112 §3.2: which request-target forms go with which methods."""
    if method == b"CONNECT":
        if not _AUTHORITY_FORM.fullmatch(target):
            raise ParseFault.CONNECT_NEEDS_AUTHORITY.error()
    elif target[0] == 0x2F:  # "/": origin-form
        return
    elif target == b"*":
        if method != b"OPTIONS":
            raise ParseFault.ASTERISK_FORM_NOT_OPTIONS.error()
    elif not _ABSOLUTE_FORM.match(target):
        raise ParseFault.INVALID_TARGET_FORM.error()
