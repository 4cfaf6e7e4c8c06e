"""The httptools (llhttp) twin of the Rust request parser: same constructor, same events.

Strategy: this module owns the httptools backend of `RequestParser` and nothing else: it turns
received bytes into the events documented in `wirespeed.parser`, by the wire rules both backends
share, and reports every failure through `wirespeed.errors.parse_error`. llhttp parses and
validates the header fields (names, values, CRLFs, obs-fold) through `on_header` and
`on_headers_complete`. Python owns what llhttp cannot do by the rules or does not expose: the
byte offsets of each message (for pipelining and the limits), the request line, the framing
checks, Content-Length bodies, chunked bodies and trailers. All of it works on whole slices
with C-level primitives (`bytes.find`/`count`/`translate`, slicing, compiled regexes); no
Python loop runs per byte, and a head that arrives whole costs one llhttp call. It must not
import the Rust extension.

Why Python reads the request line: llhttp accepts only its built-in method names (the rules
accept any token, case-sensitive), accepts several spaces between the parts of the line (the
rules answer 400) and says nothing about where a message ends. So llhttp is fed a stand-in line
(`GET / HTTP/1.1`) followed by the real header section, never past the blank line, piece by
piece as bytes arrive so that a bad field is rejected as soon as its bytes are in. One llhttp
parser is reused while heads carry no body; otherwise llhttp waits for a body Python has
already taken, and a fresh one is made. llhttp runs with its Transfer-Encoding leniencies on,
and its verdicts on Content-Length and Transfer-Encoding values (given as each field ends) are
held until the blank line, where the rules judge them; its body-framing verdict after the head
is ignored (it refuses `Transfer-Encoding: chunked<TAB>`, which the rules accept).

Where one input breaks several rules, the break whose bytes come first wins, so the same bytes
fed whole or in any pieces give the same events. A limit counts as broken at the byte that
passes it: the first head byte past `max_head_size` (431), the first target byte past
`max_target_length` (414), the end of field line `max_headers + 1` (431). Readings of rules
that leave room, the same as the Rust parser's: the HTTP version is judged before the form of
the target (`PRI * HTTP/2.0` is 505); a chunk size gets 413 once its digits have ended and the
declared total passes `max_body_size`, before that chunk's data is delivered; the trailer
section (fields and final CRLF) counts toward `max_head_size` together with the head; a
chunk-size line may take `max_head_size` bytes with its CRLF, and is a 400 at its
`max_head_size`-th byte unless that byte ends it (a fault in that byte comes first); CONNECT's
authority-form allows an empty port (`port = *DIGIT`).

Intentional differences from the Rust parser:

None. Every rule is implemented as written, so no input llhttp refuses or accepts on its own
reaches the events: the request line, message framing, chunked decoding and trailers are done
in Python for exactly that reason (see above), and the head size is counted exactly rather
than approximated. The table and differential tests in tests/test_parser.py, and fuzzing both
backends against each other, find no disagreement in the events (error details differ).

An unfinished chunk-size line is not kept as it came: `_pending` holds a stand-in of a few
bytes at which the line grammar stands exactly where the line does (its size digits, then the
shape of its last extension), so a line trickled in byte by byte costs linear time.
"""

from __future__ import annotations

import re
from typing import Any

from httptools import (
    HttpParserCallbackError,
    HttpParserError,
    HttpParserUpgrade,
    HttpRequestParser,
)

from .config import Config
from .errors import ParseError, parse_error

__all__ = ["RequestParser"]

Event = Any  # tuple (a request) | bytes (body piece) | None (end of body) | ParseError
Headers = list[tuple[bytes, bytes]]

# ---------------------------------------------------------------------------------------------
# Grammar (RFC 9110 §5.6.2, RFC 9112 §3, §7.1), as byte-class regexes compiled once.

# tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|"
#         / "~" / DIGIT / ALPHA
_TCHAR = rb"!#$%&'*+\-.^_`|~0-9A-Za-z"
_TOKEN_RUN = re.compile(rb"[" + _TCHAR + rb"]*")
# request-target bytes allowed by the rules: visible ASCII, 0x21..0x7E.
_TARGET_RUN = re.compile(rb"[\x21-\x7e]*")
# HTTP-version = "HTTP/" DIGIT "." DIGIT (RFC 9112 §2.3): another value of this shape is 505.
_VERSION_SHAPE = re.compile(rb"HTTP/[0-9]\.[0-9]")
# Any prefix of an HTTP-version, for a request line that has not ended yet.
_VERSION_PREFIX = re.compile(rb"(?:H(?:T(?:T(?:P(?:/(?:[0-9](?:\.[0-9]?)?)?)?)?)?)?)?")
# absolute-form (RFC 9112 §3.2.2): scheme "://" ...; scheme = ALPHA *( ALPHA / DIGIT / "+" /
# "-" / "." ) (RFC 3986 §3.1).
_ABSOLUTE_FORM = re.compile(rb"[A-Za-z][A-Za-z0-9+\-.]*://")
# authority-form (RFC 9112 §3.2.3) = uri-host ":" port; uri-host is an IP-literal or a
# reg-name (unreserved / pct-encoded / sub-delims); port = *DIGIT (RFC 3986 §3.2.3).
_AUTHORITY_FORM = re.compile(rb"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~%!$&'()*+,;=]+):[0-9]*")

# chunk-ext = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] ), ext-val = token /
# quoted-string (RFC 9112 §7.1.1); quoted-string per RFC 9110 §5.6.4.
_QDTEXT = rb"\t \x21\x23-\x5b\x5d-\x7e\x80-\xff"
_QPAIR = rb"\t \x21-\x7e\x80-\xff"
_QUOTED = rb'"(?:[' + _QDTEXT + rb"]|\\[" + _QPAIR + rb'])*"'
_EXT = (
    rb"[ \t]*;[ \t]*[" + _TCHAR + rb"]+(?:[ \t]*=[ \t]*(?:[" + _TCHAR + rb"]+|" + _QUOTED + rb"))?"
)
# chunk-size [ chunk-ext ], without the CRLF.
_CHUNK_LINE = re.compile(rb"([0-9A-Fa-f]+)(?:" + _EXT + rb")*")
# Any prefix of a chunk-size line that has its first digit, for a line that has not ended yet:
# the size, complete extensions (the last one in group "ext"), then the start of one more, its
# parts in named groups. The groups say where the line stands, so the line can be held as a
# short stand-in that stands exactly there (see _chunk_line_stand_in).
_CHUNK_LINE_PREFIX = re.compile(
    rb"(?P<size>[0-9A-Fa-f]+)(?:(?P<ext>" + _EXT + rb"))*"
    rb"(?P<ows0>[ \t]*)(?:(?P<semi>;)(?P<ows1>[ \t]*)(?:(?P<name>[" + _TCHAR + rb"]+)"
    rb"(?P<ows2>[ \t]*)(?:(?P<eq>=)(?P<ows3>[ \t]*)(?:(?P<token>[" + _TCHAR + rb"]+)"
    rb'|(?P<quote>"(?:[' + _QDTEXT + rb"]|\\[" + _QPAIR + rb"])*)(?P<escape>\\?))?)?)?)?"
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

# trailer-section = *( field-line CRLF ) CRLF; field-line = field-name ":" OWS field-value OWS.
# field-value bytes: HTAB, SP, VCHAR, obs-text (no CTL, no DEL) (RFC 9110 §5.5).
_FIELD_VALUE = rb"[\t\x20-\x7e\x80-\xff]*"
_HEX_RUN = re.compile(rb"[0-9A-Fa-f]*")
# Any prefix of a header or trailer section. Header sections are checked with it only when
# llhttp has stopped early (see _read_fields).
_FIELDS_PREFIX = re.compile(
    rb"(?:[" + _TCHAR + rb"]+:" + _FIELD_VALUE + rb"\r\n)*"
    rb"(?:[" + _TCHAR + rb"]+(?::" + _FIELD_VALUE + rb"\r?)?|\r\n?)?"
)
_TRAILERS = re.compile(rb"(?:[" + _TCHAR + rb"]+:" + _FIELD_VALUE + rb"\r\n)*\r\n")

_VERSIONS = {b"HTTP/1.1": 1, b"HTTP/1.0": 0}
_HEAD_END = b"\r\n\r\n"
# What llhttp sees in place of each request line (see the module docstring).
_STAND_IN_LINE = b"GET / HTTP/1.1\r\n"
_OWS = b" \t"
# llhttp's verdicts on Content-Length and Transfer-Encoding values, which it gives as the field
# ends; the rules judge those at the blank line (see _read_fields).
_LLHTTP_FRAMING_ERRORS = frozenset(
    (
        "Duplicate Content-Length",
        "Invalid character in Content-Length",
        "Content-Length overflow",
        "Empty Content-Length",
        "Empty Transfer-Encoding",
        "Invalid `Transfer-Encoding` header value",
        "Content-Length can't be present with Transfer-Encoding",
        "Transfer-Encoding can't be present with Content-Length",
    )
)
_FRAMING_NAMES = frozenset((b"host", b"content-length", b"transfer-encoding", b"connection"))
# For bytes.translate(None, delete): what is left after deleting the allowed bytes is bad.
_TCHAR_BYTES = b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_TARGET_BYTES = bytes(range(0x21, 0x7F))
_MAX_LENGTH_DIGITS = 19  # the rules: a Content-Length of more digits is 400 (fits in u64)

# Common methods come back as the same interned str every time.
_METHODS: dict[bytes, str] = {
    m.encode(): m
    for m in ("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH")
}

# Parser states.
_LINE = 0  # before or inside a request line
_FIELDS = 1  # inside the header section; llhttp is being fed
_INLINE_BODY = 2  # collecting a Content-Length body delivered with its request
_STREAM_BODY = 3  # passing on a Content-Length body piece by piece
_CHUNK_SIZE = 4  # before or inside a chunk-size line
_CHUNK_DATA = 5  # inside chunk-data
_CHUNK_CRLF = 6  # the CRLF after chunk-data
_TRAILERS_STATE = 7  # the trailer section after the last chunk
_DONE = 8  # after a request that closes the connection, or after an error: input is ignored

# Body framing decided at the end of a head.
_NO_BODY = 0
_LENGTH = 1
_CHUNKED = 2


class _FieldReader:
    """The llhttp protocol object: collects one head's fields and applies the framing rules.

    llhttp calls `on_header` once per complete field and `on_headers_complete` at the blank
    line. A rule violation is raised from the callback and kept in `error`, because httptools
    replaces it with its own `HttpParserCallbackError`. Per field it only lowercases the name
    and remembers the few fields that frame the message; the rest waits for the blank line.
    """

    __slots__ = (
        "max_body_size",
        "version",
        "headers",
        "framing_fields",
        "trailing_ows",
        "error",
        "headers_done",
        "framing",
        "length",
        "keep_alive",
    )

    def __init__(self, config: Config) -> None:
        self.max_body_size = config.max_body_size
        # Decided by on_headers_complete.
        self.framing = _NO_BODY
        self.length = 0
        self.keep_alive = True
        self.start(1)

    def start(self, version: int) -> None:
        """Forget the previous head; the next one is of HTTP/1.`version`."""
        self.version = version
        self.headers: Headers = []
        self.framing_fields: Headers = []
        # Set by the feeder when a field value may end in OWS, which llhttp keeps.
        self.trailing_ows = False
        self.error: ParseError | None = None
        self.headers_done = False

    def fail(self, status: int, detail: str) -> ParseError:
        self.error = error = parse_error(status, detail)
        return error

    def on_header(self, name: bytes, value: bytes) -> None:
        name = name.lower()
        self.headers.append((name, value))
        if name in _FRAMING_NAMES:
            self.framing_fields.append((name, value))

    def on_headers_complete(self) -> None:
        self.headers_done = True
        if self.trailing_ows:  # llhttp drops leading OWS, not trailing
            self.headers = [(n, v.rstrip(_OWS)) for n, v in self.headers]
            self.framing_fields = [(n, v.rstrip(_OWS)) for n, v in self.framing_fields]
        framing_fields = self.framing_fields
        if len(framing_fields) == 1 and framing_fields[0][0] == b"host":  # the usual head
            self.framing = _NO_BODY
            self.keep_alive = self.version == 1
            return
        hosts = 0
        lengths: list[bytes] = []
        codings: list[bytes] = []
        connection: list[bytes] = []
        for name, value in framing_fields:
            if name == b"host":
                hosts += 1
            elif name == b"connection":
                connection.append(value)
            elif name == b"content-length":
                lengths.append(value)
            else:
                codings.append(value)
        version = self.version
        # RFC 9112 §3.2: exactly one Host in HTTP/1.1, at most one in HTTP/1.0.
        if hosts != 1:
            if hosts > 1:
                raise self.fail(400, "duplicate Host header")
            if version == 1:
                raise self.fail(400, "missing Host header")
        # RFC 9112 §6.1-6.3: body framing.
        self.framing = _NO_BODY
        if codings:
            if lengths:
                raise self.fail(400, "both Content-Length and Transfer-Encoding")
            if version == 0:
                raise self.fail(400, "Transfer-Encoding in an HTTP/1.0 request")
            codings = [c.strip(_OWS).lower() for v in codings for c in v.split(b",")]
            if b"" in codings:
                raise self.fail(400, "empty transfer coding")
            if codings[-1] != b"chunked":
                raise self.fail(400, "final transfer coding is not chunked")
            if len(codings) > 1:
                if codings.count(b"chunked") > 1:
                    raise self.fail(400, "chunked applied more than once")
                raise self.fail(501, "unsupported transfer coding")
            self.framing = _CHUNKED
        elif lengths:
            if len(lengths) > 1:
                raise self.fail(400, "conflicting Content-Length")
            value = lengths[0]
            if not value.isdigit() or len(value) > _MAX_LENGTH_DIGITS:
                raise self.fail(400, "invalid Content-Length")
            length = int(value)
            if length > self.max_body_size:
                raise self.fail(413, "body too large")
            if length:
                self.framing = _LENGTH
                self.length = length
        # RFC 9112 §9.3: persistence.
        if connection:
            if len(connection) == 1 and b"," not in connection[0]:
                options = {connection[0].strip(_OWS).lower()}
            else:
                options = {o.strip(_OWS).lower() for v in connection for o in v.split(b",")}
            close = b"close" in options
            self.keep_alive = not close if version else (b"keep-alive" in options and not close)
        else:
            self.keep_alive = version == 1


class RequestParser:
    """Bytes in, request events out: see `wirespeed.parser` for the event contract."""

    __slots__ = (
        "_max_head_size",
        "_max_headers",
        "_max_target_length",
        "_max_body_size",
        "_inline_body_size",
        "_state",
        "_pending",
        "_tail",
        "_head_size",
        "_field_lines",
        "_line_len",
        "_section",
        "_deferred",
        "_stand_in_due",
        "_reader",
        "_llhttp",
        "_method",
        "_target",
        "_version",
        "_remaining",
        "_body_parts",
        "_body_total",
        "_line_shift",
        "_keep_alive",
        "_request_type",
        "_owner",
    )

    def __init__(self, config: Config, request_type: type[tuple[Any, ...]] | None = None, owner: Any = None) -> None:
        # With request_type, requests are made as instances of it with `owner` as a 7th item.
        self._request_type = request_type
        self._owner = owner
        self._max_head_size = config.max_head_size
        self._max_headers = config.max_headers
        self._max_target_length = config.max_target_length
        self._max_body_size = config.max_body_size
        self._inline_body_size = config.inline_body_size
        self._state = _LINE
        # Unconsumed bytes of a request line, chunk CRLF or trailer section, or the stand-in of
        # an unfinished chunk-size line (see _read_chunk_size).
        self._pending = b""
        # The last (up to 3) bytes of the head so far, to find a blank line split across feeds.
        self._tail = b""
        self._head_size = 0
        self._field_lines = 0  # CRLFs seen in the header section so far
        self._line_len = 0  # bytes of the header section since its last CRLF
        self._section: list[bytes] = []  # the header section so far, when it spans buffers
        self._deferred: str | None = None  # an llhttp framing verdict held to the blank line
        self._stand_in_due = False
        self._reader = _FieldReader(config)
        self._llhttp: HttpRequestParser | None = None
        self._method = ""
        self._target = ""
        self._version = 1
        self._remaining = 0
        self._body_parts: list[bytes] = []
        self._body_total = 0
        # How much longer the unfinished chunk-size line is than its stand-in in _pending.
        self._line_shift = 0
        self._keep_alive = True

    def feed(self, data: bytes) -> list[Event]:
        """Every event that `data` completes, in order (see `wirespeed.parser`)."""
        if self._state == _DONE:
            return []
        events: list[Event] = []
        if self._pending:
            data = self._pending + data
            self._pending = b""
        try:
            self._run(data, events)
        except ParseError as error:
            self._stop()
            events.append(error)
        return events

    # -- the state machine --------------------------------------------------------------------

    def _run(self, data: bytes, events: list[Event]) -> None:
        pos = 0
        end = len(data)
        while pos < end:
            state = self._state
            if state == _LINE:
                pos = self._read_request_line(data, pos, events)
            elif state == _FIELDS:
                pos = self._read_fields(data, pos, events)
            elif state == _INLINE_BODY:
                pos = self._read_inline_body(data, pos, events)
            elif state == _STREAM_BODY or state == _CHUNK_DATA:
                pos = self._read_body_piece(data, pos, events)
            elif state == _CHUNK_SIZE:
                pos = self._read_chunk_size(data, pos)
            elif state == _CHUNK_CRLF:
                pos = self._read_chunk_crlf(data, pos)
            elif state == _TRAILERS_STATE:
                pos = self._read_trailers(data, pos, events)
            else:  # _DONE
                return
            if pos < 0:
                return

    def _stop(self) -> None:
        self._state = _DONE
        self._pending = b""
        self._body_parts = []
        self._llhttp = None

    def _request_done(self) -> None:
        """The last event of a request has been emitted: stop, or wait for the next one."""
        if self._keep_alive:
            self._state = _LINE
        else:
            self._stop()

    # -- request line (RFC 9112 §3) -----------------------------------------------------------

    def _read_request_line(self, data: bytes, pos: int, events: list[Event]) -> int:
        # RFC 9112 §2.2: empty lines (CRLF) before a request line are skipped.
        while data.startswith(b"\r\n", pos):
            pos += 2
        eol = data.find(b"\r\n", pos)
        if eol < 0:
            partial = data[pos:]
            if partial:
                line = partial[:-1] if partial[-1:] == b"\r" else partial
                self._check_line(line, len(partial), complete=False)
                self._pending = partial
            return -1
        line = data[pos:eol]
        size = eol + 2 - pos
        parts = line.split(b" ")
        # The common shape, checked with C-level bytes methods; anything else (or anything
        # near a limit) takes the diagnosing path.
        if (
            len(parts) == 3
            and size <= self._max_head_size
            and parts[2] in _VERSIONS
            and parts[1][:1] == b"/"
            and len(parts[1]) <= self._max_target_length
            and parts[0]
            and not parts[0].translate(None, _TCHAR_BYTES)
            and not parts[1].translate(None, _TARGET_BYTES)
            and parts[0] != b"CONNECT"
        ):
            method, target, version_name = parts
            version = _VERSIONS[version_name]
        else:
            method, target, version = self._check_line(line, size, complete=True)
        self._method = _METHODS.get(method) or method.decode("ascii")
        self._target = target.decode("ascii")
        self._version = version
        reader = self._reader
        reader.start(version)
        if self._llhttp is None:
            self._llhttp = _new_llhttp(reader)
        # Fast path: the whole head is in this buffer and within the limits; then llhttp
        # gets it in one call.
        head_end = data.find(_HEAD_END, eol) + 4
        if (
            head_end > 3
            and head_end - pos <= self._max_head_size
            # A field line takes at least 4 bytes ("a:" CRLF): count them only if it matters.
            and (
                head_end - eol <= 4 * self._max_headers
                or data.count(b"\r\n", eol + 2, head_end) <= self._max_headers
            )
        ):
            if data.find(b" \r\n", eol, head_end) >= 0 or data.find(b"\t\r\n", eol, head_end) >= 0:
                reader.trailing_ows = True
            self._head_size = head_end - pos
            deferred = self._feed_llhttp(_STAND_IN_LINE + data[eol + 2 : head_end])
            if deferred is not None:  # the blank line is here: that is when it counts
                raise parse_error(400, deferred)
            return self._start_body(data, head_end, events)
        self._head_size = size
        self._field_lines = 0
        self._line_len = 0
        self._section = []
        self._deferred = None
        self._tail = b"\r\n"
        self._stand_in_due = True
        self._state = _FIELDS
        return eol + 2

    def _check_line(self, line: bytes, size: int, complete: bool) -> tuple[bytes, bytes, int]:
        """Diagnose a request line (without CRLF) of `size` head bytes; raise on any error.

        A partial line (`complete` false) is checked as far as it goes. The result is only
        meaningful for a complete line.
        """
        over = size > self._max_head_size
        if over:  # only the bytes within the limit decide between another error and 431
            line = line[: self._max_head_size]
            complete = False
        length = len(line)
        method_end = _TOKEN_RUN.match(line).end()  # type: ignore[union-attr]
        if method_end == length:
            if complete:
                raise parse_error(400, "missing request target")
        else:
            if method_end == 0 or line[method_end] != 0x20:
                raise parse_error(400, "invalid character in method")
            start = method_end + 1
            target_end = _TARGET_RUN.match(line, start).end()  # type: ignore[union-attr]
            if target_end - start > self._max_target_length:
                raise parse_error(414, "request target too long")
            if target_end == length:
                if complete:
                    if target_end == start:
                        raise parse_error(400, "missing request target")
                    raise parse_error(505, "missing HTTP version")
            else:
                if line[target_end] != 0x20:
                    raise parse_error(400, "invalid character in request target")
                if target_end == start:
                    raise parse_error(400, "empty request target")
                version = line[target_end + 1 :]
                if complete:
                    # The version is judged before the target's form (the HTTP/2 preface,
                    # "PRI * HTTP/2.0", is a 505), as the Rust parser does.
                    number = _VERSIONS.get(version)
                    if number is None:
                        if _VERSION_SHAPE.fullmatch(version):
                            raise parse_error(505, "unsupported HTTP version")
                        raise parse_error(400, "invalid HTTP version")
                    method = line[:method_end]
                    target = line[start:target_end]
                    self._check_target_form(method, target)
                    return method, target, number
                if not _VERSION_PREFIX.fullmatch(version):
                    raise parse_error(400, "invalid HTTP version")
        if over:
            raise parse_error(431, "request head too large")
        return b"", b"", 1

    @staticmethod
    def _check_target_form(method: bytes, target: bytes) -> None:
        """RFC 9112 §3.2: which request-target forms go with which methods."""
        if method == b"CONNECT":
            if not _AUTHORITY_FORM.fullmatch(target):
                raise parse_error(400, "CONNECT needs an authority-form target")
        elif target[0] == 0x2F:  # "/": origin-form
            return
        elif target == b"*":
            if method != b"OPTIONS":
                raise parse_error(400, "asterisk-form target is only for OPTIONS")
        elif not _ABSOLUTE_FORM.match(target):
            raise parse_error(400, "invalid request target")

    # -- header section (RFC 9112 §5), through llhttp -----------------------------------------

    def _read_fields(self, data: bytes, pos: int, events: list[Event]) -> int:
        """The header section when it did not arrive whole with its request line."""
        tail = self._tail
        probe = tail + data[pos : pos + 3]
        found = probe.find(_HEAD_END)
        if found >= 0:
            head_end = pos + found + 4 - len(tail)
        else:
            found = data.find(_HEAD_END, pos)
            head_end = found + 4 if found >= 0 else -1
        stop = head_end if head_end >= 0 else len(data)
        reader = self._reader
        if not reader.trailing_ows and (
            (tail != b"\r\n" and (b" \r\n" in probe or b"\t\r\n" in probe))
            or data.find(b" \r\n", pos, stop) >= 0
            or data.find(b"\t\r\n", pos, stop) >= 0
        ):
            reader.trailing_ows = True
        # A limit counts as an error at the byte that passes it, so the bytes before that byte
        # are checked first: a bad field in them is a 400, not a 431.
        limit = pos + self._max_head_size - self._head_size  # the first byte over the size
        detail = "request head too large"
        fields_end = self._too_many_fields_at(data, pos, stop)
        if 0 <= fields_end <= limit:  # the last byte of the field that is one too many
            limit = fields_end - 1
            detail = "too many header fields"
        piece = data[pos : min(stop, limit)]
        self._section.append(piece)
        if self._deferred is None:
            self._deferred = self._feed_llhttp(piece)
        if self._deferred is not None:
            # llhttp has stopped at a Content-Length or Transfer-Encoding value; the rules
            # judge those at the blank line, so the rest of the head is checked here.
            section = b"".join(self._section)
            if _FIELDS_PREFIX.fullmatch(section) is None:
                raise parse_error(400, "invalid header field")
        if stop > limit:
            raise parse_error(431, detail)
        if self._deferred is not None and head_end >= 0:
            raise parse_error(400, self._deferred)
        self._head_size += stop - pos
        if head_end < 0:
            self._tail = data[-3:] if len(data) - pos >= 3 else (tail + data[pos:])[-3:]
            return -1
        return self._start_body(data, head_end, events)

    def _too_many_fields_at(self, data: bytes, pos: int, stop: int) -> int:
        """Where field line number max_headers + 1 ends in data[pos:stop], or -1.

        The lines are counted by their CRLFs with C-level `bytes.count`; llhttp reports a
        field only when the next one begins, too late to place the error.
        """
        carry = self._tail[-1:] == b"\r" and data[pos : pos + 1] == b"\n"
        lines = self._field_lines + data.count(b"\r\n", pos, stop) + carry
        line_len = self._line_len
        if lines <= self._max_headers:  # the usual case: not even the blank line is over
            last = data.rfind(b"\r\n", pos, stop)
            if last >= 0:
                self._line_len = stop - last - 2
            elif carry:
                self._line_len = stop - pos - 1
            else:
                self._line_len = line_len + stop - pos
            self._field_lines = lines
            return -1
        # Rare: walk the lines of this piece to the one that passes the limit.
        count = self._field_lines
        at = pos
        if carry:
            count += 1
            if line_len == 1:  # a CR alone: the blank line, the head ends here
                return -1
            if count > self._max_headers:
                return pos + 1
            at = pos + 1
            line_len = 0
        while True:
            crlf = data.find(b"\r\n", at, stop)
            if crlf < 0:  # cannot happen: there are more CRLFs than fields allowed
                return -1
            if crlf - at + line_len == 0:  # the blank line
                return -1
            count += 1
            if count > self._max_headers:
                return crlf + 2
            at = crlf + 2
            line_len = 0

    def _feed_llhttp(self, piece: bytes) -> str | None:
        """Feed llhttp; None, or the reason when it stops at a framing field's value."""
        if self._stand_in_due:
            self._stand_in_due = False
            piece = _STAND_IN_LINE + piece
        if not piece:
            return None
        llhttp = self._llhttp
        assert llhttp is not None
        reader = self._reader
        try:
            llhttp.feed_data(piece)
        except HttpParserCallbackError:
            if reader.error is None:
                raise
            raise reader.error from None
        except HttpParserUpgrade:
            # "Connection: upgrade" makes llhttp stop after the head, which is all we need
            # from it; the next head gets a fresh llhttp parser.
            self._llhttp = None
        except HttpParserError as exc:
            # After the head, llhttp judges body framing, which Python has already done.
            if not reader.headers_done:
                reason = str(exc)
                if reason in _LLHTTP_FRAMING_ERRORS:
                    return reason.lower()
                raise parse_error(400, reason.lower() or "invalid header field") from None
        return None

    def _request(self, reader: _FieldReader, body: bytes | None) -> tuple[Any, ...]:
        fields = (self._method, self._target, self._version, reader.headers, reader.keep_alive, body)
        if self._request_type is None:
            return fields
        return self._request_type((*fields, self._owner))

    def _start_body(self, data: bytes, pos: int, events: list[Event]) -> int:
        reader = self._reader
        if reader.framing != _NO_BODY:
            self._llhttp = None  # llhttp awaits a body: use a fresh one for the next head
        self._keep_alive = reader.keep_alive
        framing = reader.framing
        if framing == _NO_BODY:
            events.append(self._request(reader, b""))
            self._request_done()
        elif framing == _LENGTH and reader.length <= self._inline_body_size:
            self._state = _INLINE_BODY
            self._remaining = reader.length
            self._body_parts = []
        else:
            events.append(self._request(reader, None))
            if framing == _LENGTH:
                self._state = _STREAM_BODY
                self._remaining = reader.length
            else:
                self._state = _CHUNK_SIZE
                self._body_total = 0
        return pos if self._state != _DONE else -1

    # -- Content-Length bodies (RFC 9112 §6.2) ------------------------------------------------

    def _read_inline_body(self, data: bytes, pos: int, events: list[Event]) -> int:
        remaining = self._remaining
        available = len(data) - pos
        if available < remaining:
            self._body_parts.append(data[pos:])
            self._remaining = remaining - available
            return -1
        body = data[pos : pos + remaining]
        if self._body_parts:
            self._body_parts.append(body)
            body = b"".join(self._body_parts)
            self._body_parts = []
        reader = self._reader
        events.append(self._request(reader, body))
        self._request_done()
        return pos + remaining if self._state != _DONE else -1

    def _read_body_piece(self, data: bytes, pos: int, events: list[Event]) -> int:
        """A piece of a streamed Content-Length body or of one chunk's data."""
        remaining = self._remaining
        take = min(remaining, len(data) - pos)
        events.append(data[pos : pos + take])
        remaining -= take
        self._remaining = remaining
        if remaining:
            return -1
        if self._state == _CHUNK_DATA:
            self._state = _CHUNK_CRLF
        else:
            events.append(None)
            self._request_done()
            if self._state == _DONE:
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
            raise parse_error(400, "chunk size has too many digits")
        if pos + digits < end or complete:  # the digits have ended
            if not digits:
                raise parse_error(400, "invalid chunk size")
            size = int(data[pos : pos + digits], 16)
            total = self._body_total + size
            if total > self._max_body_size:
                raise parse_error(413, "body too large")
        if not complete:
            line_end = end - 1 if data[end - 1 : end] == b"\r" else end
            match = _CHUNK_LINE_PREFIX.fullmatch(data, pos, line_end)
            if match is None:
                raise parse_error(400, _chunk_line_problem(data[pos:line_end]))
            # A CR last must be where the line may end ("1;a=" CR is wrong at the CR).
            if line_end < end and _CHUNK_LINE.fullmatch(data, pos, line_end) is None:
                raise parse_error(400, "invalid chunk extension")
            if end == limit:
                raise parse_error(400, "chunk extension too long")
            # Hold a few bytes that stand where the line stands, not the line: the next feed
            # then costs what it brings, however slowly the line trickles in.
            stand_in = _chunk_line_stand_in(match) + data[line_end:end]
            self._line_shift += end - pos - len(stand_in)
            self._pending = stand_in
            return -1
        if _CHUNK_LINE.fullmatch(data, pos, eol) is None:
            raise parse_error(400, _chunk_line_problem(data[pos:eol]))
        self._line_shift = 0
        if size == 0:
            self._state = _TRAILERS_STATE
            return eol + 2
        self._body_total = total
        self._remaining = size
        self._state = _CHUNK_DATA
        return eol + 2

    def _read_chunk_crlf(self, data: bytes, pos: int) -> int:
        after = data[pos : pos + 2]
        if after == b"\r\n":
            self._state = _CHUNK_SIZE
            return pos + 2
        if after != b"\r":  # one byte that is not CR, or two that are not CRLF
            raise parse_error(400, "missing CRLF after chunk data")
        self._pending = after
        return -1

    def _read_trailers(self, data: bytes, pos: int, events: list[Event]) -> int:
        if data.startswith(b"\r\n", pos):
            section_end = pos + 2
        else:
            found = data.find(_HEAD_END, pos)
            section_end = found + 4 if found >= 0 else -1
        stop = section_end if section_end >= 0 else len(data)
        room = self._max_head_size - self._head_size  # the trailers count with the head
        if stop - pos > room:
            if not _FIELDS_PREFIX.fullmatch(data, pos, pos + max(room, 0)):
                raise parse_error(400, "invalid trailer field")
            raise parse_error(431, "trailer section too large")
        if section_end < 0:
            if not _FIELDS_PREFIX.fullmatch(data, pos):
                raise parse_error(400, "invalid trailer field")
            self._pending = data[pos:]
            return -1
        if not _TRAILERS.fullmatch(data, pos, section_end):
            raise parse_error(400, "invalid trailer field")
        events.append(None)  # trailer fields are validated and dropped
        self._request_done()
        return section_end if self._state != _DONE else -1


def _new_llhttp(reader: _FieldReader) -> HttpRequestParser:
    """An llhttp parser that leaves the Transfer-Encoding rules to Python."""
    llhttp = HttpRequestParser(reader)
    llhttp.set_dangerous_leniencies(lenient_chunked_length=True, lenient_transfer_encoding=True)
    return llhttp


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


def _chunk_line_problem(line: bytes) -> str:
    if not _hex_run(line):
        return "invalid chunk size"
    if b"\n" in line or b"\r" in line:
        return "bare CR or LF in chunk-size line"
    return "invalid chunk extension"
