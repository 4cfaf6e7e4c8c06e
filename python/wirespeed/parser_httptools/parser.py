"""The httptools (llhttp) twin of the Rust request parser: same constructor, same events.

Strategy: this module owns the httptools backend of `RequestParser` and nothing else: it turns
received bytes into the events documented in `wirespeed.parser`, by the wire rules both backends
share, and reports every failure as a `wirespeed.errors.ParseFault`: the error kinds of
rust/error.rs, each with its status and detail phrase, so that both backends answer alike, to
the word. llhttp parses and validates the header fields (names, values, CRLFs, obs-fold)
through `on_header` and `on_headers_complete`. Python owns what llhttp cannot do by the rules
or does not expose: the byte offsets of each message (for pipelining and the limits), the
request line, the framing checks, Content-Length bodies, chunked bodies and trailers, and the
naming of every fault. All of it works on whole slices with C-level primitives
(`bytes.find`/`count`/`translate`, slicing, compiled regexes); no Python loop runs per byte
(except once, to name the fault of a refused chunk-size line), and a head that arrives whole
costs one llhttp call. It must not import the Rust extension.

Why Python reads the request line: llhttp accepts only its built-in method names (the rules
accept any token, case-sensitive), accepts several spaces between the parts of the line (the
rules answer 400) and says nothing about where a message ends. So llhttp is fed a stand-in line
(`GET / HTTP/1.1`) followed by the real header section, never past the blank line, piece by
piece as bytes arrive so that a bad field is rejected as soon as its bytes are in. One llhttp
parser is reused while heads carry no body; otherwise llhttp waits for a body Python has
already taken, and a fresh one is made. llhttp runs with its Transfer-Encoding leniencies on,
and its own verdicts are never reported: its reasons name faults more coarsely than the rules
("Invalid header token" for a bad name byte, whitespace before the colon and a missing colon
alike), and it refuses Content-Length and Transfer-Encoding values as each field ends, which
the rules judge at the blank line among the other framing faults. So when llhttp stops inside
a head, Python reads that header section itself (`_field_section_fault` names the first fault
of its field lines as the Rust scanner does; a head without one is read by a regex and judged
as usual); its body-framing verdict after the head is ignored (it refuses
`Transfer-Encoding: chunked<TAB>`, which the rules accept).

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
authority-form allows an empty port (`port = *DIGIT`), and absolute-form's authority is read
as a Host value with a non-empty host; an Expect member other than `100-continue` (one with
parameters included) is a 417, empty members are ignored. The framing faults of a complete head
are judged in the Rust parser's order: field by field, a second Host, an invalid Host value,
a second Content-Length field, a malformed Content-Length, an empty transfer coding; then a missing Host, both
Content-Length and Transfer-Encoding, Transfer-Encoding in HTTP/1.0, the final coding, chunked
twice, another coding (501), the body size (413), and an expectation other than 100-continue
in HTTP/1.1 (417).

Intentional differences from the Rust parser:

None. Every rule is implemented as written, so no input llhttp refuses or accepts on its own
reaches the events: the request line, message framing, chunked decoding and trailers are done
in Python for exactly that reason (see above), and the head size is counted exactly rather
than approximated. The table and differential tests in tests/test_parser.py and the
hypothesis differential test in tests/test_differential.py find no disagreement in the
events, error details included: every error names the same fault, in the same words, as the
Rust parser's, and where one input has several faults both name the same first one.

What arrives a few bytes at a time is not scanned again with every feed, so a part of a
message trickled in byte by byte costs linear time. An unfinished request line is held as the
pieces already scanned, with the part of the line the scan stopped in; the next bytes are
scanned from there, and the line is read whole once its CRLF has come. An unfinished
chunk-size line or trailer section is not kept as it came: `_pending` holds a stand-in of a
few bytes at which the grammar stands exactly where the line or section does (a chunk size's
digits, then the shape of its last extension; the state of a field line), and `_line_shift`
says how many bytes it stands for beyond its own, for the limits. llhttp reads the header
section incrementally; once it has stopped inside a head (at a field the rules judge only at
the blank line, such as a second Content-Length), `_read_fields` judges the section so far
once, then each next piece after the stand-in of what it has judged (`_deferred`), and joins
the pieces once, at the blank line, to read the fields.
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

from ..config import Config
from ..errors import ParseError, ParseFault

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
# Any prefix of one, for a request line that has not ended yet (the whole shape is 8 bytes).
_VERSION_PREFIX = re.compile(rb"(?:H(?:T(?:T(?:P(?:/(?:[0-9](?:\.[0-9]?)?)?)?)?)?)?)?")
# absolute-form (RFC 9112 §3.2.2): scheme "://" authority, then the path and query raw;
# scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) (RFC 3986 §3.1). The authority, up to
# the first "/", "?" or "#", is a Host value (the Host is taken from it) whose host is not
# empty (RFC 9110 §4.2.1) and has no userinfo (§4.2.4).
_ABSOLUTE_FORM = re.compile(
    rb"[A-Za-z][A-Za-z0-9+\-.]*://(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~%!$&'()*+,;=]+)(?::[0-9]*)?(?:[/?#]|\Z)"
)
# authority-form (RFC 9112 §3.2.3) = uri-host ":" port; uri-host is an IP-literal or a
# reg-name (unreserved / pct-encoded / sub-delims); port = *DIGIT (RFC 3986 §3.2.3).
# Host (RFC 9112 §3.2, RFC 9110 §7.2) = uri-host [ ":" port ], the reg-name possibly empty.
_HOST_VALUE = re.compile(rb"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~%!$&'()*+,;=]*)(?::[0-9]*)?")
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
_VALUE_RUN = re.compile(_FIELD_VALUE)
# One valid field line; with the name and the value (leading OWS skipped) in groups.
_FIELD_LINE = re.compile(rb"([" + _TCHAR + rb"]+):[ \t]*(" + _FIELD_VALUE + rb")\r\n")
_TRAILERS = re.compile(rb"(?:[" + _TCHAR + rb"]+:" + _FIELD_VALUE + rb"\r\n)*\r\n")
# The version slot of a request line, and one byte more to tell an over-long one.
_VERSION_SLOT = re.compile(rb"[^\r\n]{0,9}")

_VERSIONS = {b"HTTP/1.1": 1, b"HTTP/1.0": 0}
_HEAD_END = b"\r\n\r\n"
# What llhttp sees in place of each request line (see the module docstring).
_STAND_IN_LINE = b"GET / HTTP/1.1\r\n"
_OWS = b" \t"
# The fields the parser gives a meaning to: they frame the message, or (Expect) decide whether
# its body is reported with it.
_FRAMING_NAMES = frozenset((b"host", b"content-length", b"transfer-encoding", b"connection", b"expect"))
# For bytes.translate(None, delete): what is left after deleting the allowed bytes is bad.
_TCHAR_BYTES = b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_TARGET_BYTES = bytes(range(0x21, 0x7F))
_MAX_LENGTH_DIGITS = 19  # the rules: a Content-Length of more digits is 400 (fits in u64)

# Common methods come back as the same interned str every time.
_METHODS: dict[bytes, str] = {
    m.encode(): m
    for m in ("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH")
}

# Where the scan of an unfinished request line stopped: in the method, in the target, in the
# version (which is scanned again with the next bytes, as it is 8 bytes at most).
_IN_METHOD = 0
_IN_TARGET = 1
_IN_VERSION = 2

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
        "error",
        "expect_continue",
        "framing",
        "framing_fields",
        "headers",
        "headers_done",
        "keep_alive",
        "length",
        "max_body_size",
        "trailing_ows",
        "version",
    )

    def __init__(self, config: Config) -> None:
        self.max_body_size = config.max_body_size
        # Decided by on_headers_complete.
        self.framing = _NO_BODY
        self.length = 0
        self.keep_alive = True
        self.expect_continue = False  # read only when framing is _LENGTH
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

    def fail(self, fault: ParseFault) -> ParseError:
        self.error = error = fault.error()
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
        if (  # the usual head: one valid Host and nothing else that frames the message
            len(framing_fields) == 1
            and framing_fields[0][0] == b"host"
            and _HOST_VALUE.fullmatch(framing_fields[0][1]) is not None
        ):
            self.framing = _NO_BODY
            self.keep_alive = self.version == 1
            return
        self.judge()

    def take_fields(self, section: bytes) -> None:
        """The fields of a whole, valid header section, read without llhttp, then judged."""
        self.headers = headers = [
            (name.lower(), value.rstrip(_OWS)) for name, value in _FIELD_LINE.findall(section)
        ]
        self.framing_fields = [field for field in headers if field[0] in _FRAMING_NAMES]
        self.headers_done = True
        self.judge()

    def judge(self) -> None:
        """The rules on the fields that frame the message, in the Rust parser's order: field
        by field, a second or invalid Host, a second or malformed Content-Length, an empty transfer
        coding; then, on the whole head, Host, the framing, the body size and the expectations."""
        hosts = 0
        length: int | None = None
        codings: list[bytes] | None = None
        connection: list[bytes] = []
        expectations: list[bytes] = []
        for name, value in self.framing_fields:
            if name == b"host":
                # RFC 9112 §3.2: at most one Host.
                hosts += 1
                if hosts > 1:
                    raise self.fail(ParseFault.DUPLICATE_HOST)
                if _HOST_VALUE.fullmatch(value) is None:
                    raise self.fail(ParseFault.INVALID_HOST)
            elif name == b"content-length":
                # RFC 9110 §8.6: one Content-Length field of 1*DIGIT, even with equal values.
                if length is not None:
                    raise self.fail(ParseFault.CONFLICTING_CONTENT_LENGTH)
                if not value.isdigit() or len(value) > _MAX_LENGTH_DIGITS:
                    raise self.fail(ParseFault.INVALID_CONTENT_LENGTH)
                length = int(value)
            elif name == b"transfer-encoding":
                # RFC 9112 §6.1: a list of codings, of all fields in order; no empty element.
                if codings is None:
                    codings = []
                for coding in value.split(b","):
                    coding = coding.strip(_OWS)
                    if not coding:
                        raise self.fail(ParseFault.INVALID_TRANSFER_ENCODING)
                    codings.append(coding.lower())
            elif name == b"expect":
                expectations += [m.strip(_OWS).lower() for m in value.split(b",")]
            else:
                connection.append(value)
        version = self.version
        # RFC 9112 §3.2: exactly one Host in HTTP/1.1.
        if version == 1 and hosts == 0:
            raise self.fail(ParseFault.MISSING_HOST)
        # RFC 9112 §6.1-6.3: body framing.
        self.framing = _NO_BODY
        if codings is not None:
            if length is not None:
                raise self.fail(ParseFault.CONTENT_LENGTH_AND_TRANSFER_ENCODING)
            if version == 0:
                raise self.fail(ParseFault.TRANSFER_ENCODING_IN_HTTP10)
            if codings[-1] != b"chunked":
                raise self.fail(ParseFault.TRANSFER_ENCODING_NOT_CHUNKED)
            if len(codings) > 1:
                if codings.count(b"chunked") > 1:
                    raise self.fail(ParseFault.CHUNKED_TWICE)
                raise self.fail(ParseFault.UNSUPPORTED_TRANSFER_CODING)
            self.framing = _CHUNKED
        elif length is not None:
            if length > self.max_body_size:
                raise self.fail(ParseFault.BODY_TOO_LARGE)
            if length:
                self.framing = _LENGTH
                self.length = length
        # RFC 9110 §10.1.1: only 100-continue can be met; HTTP/1.0 ignores expectations.
        # Empty list members do not count (RFC 9110 §5.6.1.2).
        self.expect_continue = False
        if expectations and version == 1:
            if any(member and member != b"100-continue" for member in expectations):
                raise self.fail(ParseFault.UNSUPPORTED_EXPECTATION)
            self.expect_continue = b"100-continue" in expectations
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


class RequestParser:
    """Bytes in, request events out: see `wirespeed.parser` for the event contract."""

    __slots__ = (
        "_body_parts",
        "_body_total",
        "_deferred",
        "_field_lines",
        "_head_size",
        "_inline_body_size",
        "_keep_alive",
        "_line_held",
        "_line_len",
        "_line_parts",
        "_line_phase",
        "_line_shift",
        "_llhttp",
        "_max_body_size",
        "_max_head_size",
        "_max_headers",
        "_max_target_length",
        "_method",
        "_owner",
        "_pending",
        "_reader",
        "_remaining",
        "_request_type",
        "_max_requests",
        "requests",
        "_section",
        "_stand_in_due",
        "_state",
        "_tail",
        "_target",
        "_target_start",
        "_version",
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
        # Requests reported so far, and how many the connection may carry (0: no limit); the
        # last one is reported as not keep-alive.
        self.requests = 0
        self._max_requests = getattr(config, "max_requests_per_connection", 0)
        self._state = _LINE
        # Bytes still to be scanned with the next feed: the end of an unfinished request line
        # (a CR, or its version so far), a chunk CRLF's CR, or the stand-in of an unfinished
        # chunk-size line or trailer section (see _read_chunk_size, _read_trailers).
        self._pending = b""
        # An unfinished request line: the bytes already scanned (valid so far), how many, the
        # part the scan stopped in and, past the method, where the target starts in the line.
        self._line_parts: list[bytes] = []
        self._line_held = 0
        self._line_phase = _IN_METHOD
        self._target_start = 0
        # The last (up to 3) bytes of the head so far, to find a blank line split across feeds.
        self._tail = b""
        self._head_size = 0
        self._field_lines = 0  # CRLFs seen in the header section so far
        self._line_len = 0  # bytes of the header section since its last CRLF
        self._section: list[bytes] = []  # the header section so far, when it spans buffers
        # Once llhttp has stopped inside this head (None before): the stand-in of the header
        # section judged so far, which Python reads from there.
        self._deferred: bytes | None = None
        self._stand_in_due = False
        self._reader = _FieldReader(config)
        self._llhttp: HttpRequestParser | None = None
        self._method = ""
        self._target = ""
        self._version = 1
        self._remaining = 0
        self._body_parts: list[bytes] = []
        self._body_total = 0
        # How much longer the unfinished chunk-size line or trailer section is than its
        # stand-in in _pending.
        self._line_shift = 0
        self._keep_alive = True

    @property
    def holding(self) -> bool:
        """Whether bytes of a request not yet reported are held: an unfinished head, or a
        head waiting for its inline body."""
        state = self._state
        return (
            (state == _LINE and bool(self._pending or self._line_held)) or state == _FIELDS or state == _INLINE_BODY
        )

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
        self._line_parts = []
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
        if self._line_held:  # the line began in an earlier feed
            if data.find(b"\r\n", pos) < 0:
                self._scan_line(data, pos)  # the new bytes, from where the last scan stopped
                return -1
            # The line is complete: it and the rest of the input are read as if the line had
            # come in one piece.
            data = b"".join(self._line_parts) + data[pos:]
            self._line_parts = []
            self._line_held = 0
            self._line_phase = _IN_METHOD
            self._run(data, events)
            return -1
        # RFC 9112 §2.2: empty lines (CRLF) before a request line are skipped.
        while data.startswith(b"\r\n", pos):
            pos += 2
        eol = data.find(b"\r\n", pos)
        if eol < 0:
            if pos < len(data):
                self._scan_line(data, pos)  # a fault or 414 as soon as its bytes are in
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
            scanned = self._scan_line(data, pos)
            if scanned is None:  # cannot happen: _scan_line sees the CRLF at eol
                raise ParseFault.INVALID_REQUEST_LINE.error()
            method, target, version = scanned
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
            if self._feed_llhttp(_STAND_IN_LINE + data[eol + 2 : head_end]):
                self._read_fields_without_llhttp(data[eol + 2 : head_end])
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
        if phase == _IN_METHOD:
            if not held and data[pos] == 0x0D and pos + 1 < len(data):
                # A CR that starts no empty line is bare (RFC 9112 §2.2), judged like the empty
                # lines before the request line: before the head and its size limit begin.
                raise ParseFault.BARE_CR.error()
            # method = token (RFC 9110 §9.1), then exactly one SP.
            m_end = _TOKEN_RUN.match(data, pos, end).end()  # type: ignore[union-attr]
            after = data[m_end : min(m_end + 2, end)]
            if not after or after == b"\r":
                return self._hold_line(data, pos, m_end, _IN_METHOD, limit)
            fault = _separator_fault(after, m_end == start, ParseFault.INVALID_REQUEST_LINE, ParseFault.INVALID_METHOD)
            if fault is not None:
                raise fault.error()
            t_start = resume = m_end + 1
            self._target_start = t_start - start
        else:  # the method, its SP and the target or its start are held
            t_start = start + self._target_start
            m_end = t_start - 1
            resume = pos
        if phase != _IN_VERSION:
            # request-target: visible ASCII (RFC 9112 §3.2), at most max_target_length bytes.
            t_end = _TARGET_RUN.match(data, resume, end).end()  # type: ignore[union-attr]
            if t_end - t_start > self._max_target_length:
                raise ParseFault.TARGET_TOO_LONG.error()
            after = data[t_end : min(t_end + 2, end)]
            if not after or after == b"\r":
                return self._hold_line(data, pos, t_end, _IN_TARGET, limit)
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
            return self._hold_line(data, pos, v_start, _IN_VERSION, limit)
        if after[0] == 0x0A:
            raise ParseFault.BARE_LF.error()
        if after[1] != 0x0A:
            raise ParseFault.BARE_CR.error()
        # The version is judged before the target's form (the HTTP/2 preface, "PRI *
        # HTTP/2.0", is a 505).
        number = _VERSIONS.get(version)
        if number is None:
            if len(version) == len(b"HTTP/1.1"):
                raise ParseFault.UNSUPPORTED_VERSION.error()
            raise ParseFault.INVALID_VERSION.error()
        method = data[start:m_end]
        target = data[t_start:t_end]
        self._check_target_form(method, target)
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

    @staticmethod
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
        over = ParseFault.HEAD_TOO_LARGE
        fields_end = self._too_many_fields_at(data, pos, stop)
        if 0 <= fields_end <= limit:  # the last byte of the field that is one too many
            limit = fields_end - 1
            over = ParseFault.TOO_MANY_HEADERS
        piece = data[pos : min(stop, limit)]
        self._section.append(piece)
        stand_in = self._deferred
        if stand_in is not None:  # llhttp stopped in an earlier feed: this piece is judged here
            judged = stand_in + piece
        elif self._feed_llhttp(piece) or stop > limit:
            # llhttp has stopped inside this head, or a limit is passed: the section so far
            # is judged here, once, so that its first fault wins.
            judged = b"".join(self._section)
        else:
            judged = None
        if judged is not None:
            fault = _field_section_fault(judged, 0, len(judged))
            if fault is not None:
                raise fault.error()
            if stop > limit:
                raise over.error()
            if head_end >= 0:  # the section is whole: its fields are read from it, once
                self._reader.take_fields(judged if stand_in is None else b"".join(self._section))
            else:
                # Hold a few bytes that stand where the section stands: the next feed then
                # costs what it brings, however slowly the section trickles in.
                self._deferred = _field_section_stand_in(judged, 0)
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

    def _feed_llhttp(self, piece: bytes) -> bool:
        """Feed llhttp; whether it has stopped inside the head.

        llhttp's own verdicts are not reported: where it stops, the caller reads the header
        section in Python (`_field_section_fault`, `_FieldReader.take_fields`), so a fault is
        named, and the first one chosen, by the rules alone. llhttp stops at a fault of the
        section, and at Content-Length and Transfer-Encoding values it judges as each field
        ends, which the rules judge at the blank line, among the other framing faults.
        """
        if self._stand_in_due:
            self._stand_in_due = False
            piece = _STAND_IN_LINE + piece
        if not piece:
            return False
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
        except HttpParserError:
            # After the head, llhttp judges body framing, which Python has already done.
            if not reader.headers_done:
                self._llhttp = None  # of no more use; the next head gets a fresh one
                return True
        return False

    def _read_fields_without_llhttp(self, section: bytes) -> None:
        """llhttp stopped inside this whole header section: Python reads it instead."""
        fault = _field_section_fault(section, 0, len(section))
        if fault is not None:
            raise fault.error()
        self._reader.take_fields(section)

    def _request(self, reader: _FieldReader, body: bytes | None) -> tuple[Any, ...]:
        self.requests += 1
        fields = (self._method, self._target, self._version, reader.headers, self._keep_alive, body)
        if self._request_type is None:
            return fields
        return self._request_type((*fields, self._owner))

    def _start_body(self, data: bytes, pos: int, events: list[Event]) -> int:
        reader = self._reader
        if reader.framing != _NO_BODY:
            self._llhttp = None  # llhttp awaits a body: use a fresh one for the next head
        # The connection's last request (max_requests_per_connection) is not keep-alive.
        self._keep_alive = reader.keep_alive and not (
            self._max_requests and self.requests + 1 >= self._max_requests
        )
        framing = reader.framing
        if framing == _NO_BODY:
            events.append(self._request(reader, b""))
            self._request_done()
        elif framing == _LENGTH and reader.length <= self._inline_body_size and not reader.expect_continue:
            self._state = _INLINE_BODY
            self._remaining = reader.length
            self._body_parts = []
        else:  # a large or chunked body, or one the client holds back for 100 Continue
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
            raise ParseFault.MISSING_CHUNK_CRLF.error()
        self._pending = after
        return -1

    def _read_trailers(self, data: bytes, pos: int, events: list[Event]) -> int:
        # An earlier feed may have left the start of the section in _pending as a stand-in,
        # _line_shift bytes shorter than what it stands for (trailers are judged, not kept).
        if data.startswith(b"\r\n", pos):
            section_end = pos + 2
        else:
            found = data.find(_HEAD_END, pos)
            section_end = found + 4 if found >= 0 else -1
        stop = section_end if section_end >= 0 else len(data)
        room = self._max_head_size - self._head_size - self._line_shift  # they count with the head
        if stop - pos > room:
            fault = _field_section_fault(data, pos, pos + max(room, 0))
            raise (fault or ParseFault.TRAILERS_TOO_LARGE).error()
        if section_end < 0:
            fault = _field_section_fault(data, pos, len(data))
            if fault is not None:
                raise fault.error()
            # Hold a few bytes that stand where the section stands, not the section: the next
            # feed then costs what it brings, however slowly the section trickles in.
            stand_in = _field_section_stand_in(data, pos)
            self._line_shift += len(data) - pos - len(stand_in)
            self._pending = stand_in
            return -1
        if not _TRAILERS.fullmatch(data, pos, section_end):
            fault = _field_section_fault(data, pos, section_end)
            raise (fault or ParseFault.INVALID_HEADER_NAME).error()
        self._line_shift = 0
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
_TCHAR_SET = frozenset(_TCHAR_BYTES)
_QDTEXT_SET = frozenset(b"\t \x21" + bytes(range(0x23, 0x5C)) + bytes(range(0x5D, 0x7F)) + bytes(range(0x80, 0x100)))
_FIELD_VALUE_SET = frozenset(b"\t" + bytes(range(0x20, 0x7F)) + bytes(range(0x80, 0x100)))
_CR, _LF, _SP, _HTAB = 0x0D, 0x0A, 0x20, 0x09


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
        ows = b == _SP or b == _HTAB
        if state == _AFTER_SIZE:
            if b == 0x3B:  # ";"
                state = _BEFORE_EXT_NAME
            elif b == _CR:
                state = _SIZE_LF
            elif b == _LF:
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
            if b in _TCHAR_SET:
                state = _EXT_NAME
            elif not ows:
                return bad_ext
        elif state == _EXT_NAME or state == _EXT_TOKEN:
            if b == 0x3D and state == _EXT_NAME:  # "="
                state = _BEFORE_EXT_VALUE
            elif b == 0x3B:
                state = _BEFORE_EXT_NAME
            elif b == _CR:
                state = _SIZE_LF
            elif b == _LF:
                return ParseFault.BARE_LF
            elif ows:
                state = _AFTER_EXT_NAME if state == _EXT_NAME else _BEFORE_SEMICOLON
            elif b not in _TCHAR_SET:
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
            elif b in _TCHAR_SET:
                state = _EXT_TOKEN
            elif not ows:
                return bad_ext
        elif state == _EXT_QUOTED:
            if b == 0x22:
                state = _AFTER_EXT_QUOTED
            elif b == 0x5C:  # backslash
                state = _EXT_QUOTED_PAIR
            elif b not in _QDTEXT_SET:
                return bad_ext
        elif state == _EXT_QUOTED_PAIR:
            if b not in _FIELD_VALUE_SET:
                return bad_ext
            state = _EXT_QUOTED
        elif state == _AFTER_EXT_QUOTED:
            if b == 0x3B:
                state = _BEFORE_EXT_NAME
            elif b == _CR:
                state = _SIZE_LF
            elif b == _LF:
                return ParseFault.BARE_LF
            elif ows:
                state = _BEFORE_SEMICOLON
            else:
                return bad_ext
        else:  # _SIZE_LF
            if b != _LF:
                return ParseFault.BARE_CR
            break
    # Not reached: the regexes refuse a line only where one of the faults above is.
    return bad_ext


def _field_section_stand_in(data: bytes, pos: int) -> bytes:
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
        return b"\r" if data[line] == _CR else b"a"
    return b"a:\r" if data[-1] == _CR else b"a:"


def _field_section_fault(data: bytes, pos: int, end: int) -> ParseFault | None:
    """The first fault of the field section (header or trailer) that starts at data[pos],
    looking at data[pos:end] only; None when there is none there (complete or not). Field
    lines are judged as the Rust scanner (fields.rs) judges them, whole valid lines by a regex
    and the first other line byte by byte; the number of fields is left to the caller."""
    match = _FIELD_LINE.match
    while True:
        line = match(data, pos, end)
        if line is None:
            break
        pos = line.end()
    if pos >= end:
        return None
    b = data[pos]
    if b == _CR:  # the blank line, if an LF follows
        return ParseFault.BARE_CR if pos + 1 < end and data[pos + 1] != _LF else None
    if b == _LF:
        return ParseFault.BARE_LF
    if b == _SP or b == _HTAB:  # RFC 9112 §5.2: obs-fold
        return ParseFault.OBS_FOLD
    name_end = _TOKEN_RUN.match(data, pos, end).end()  # type: ignore[union-attr]
    if name_end == pos:
        return ParseFault.INVALID_HEADER_NAME
    if name_end == end:
        return None
    b = data[name_end]
    if b == _SP or b == _HTAB:  # RFC 9112 §5.1
        return ParseFault.WHITESPACE_BEFORE_COLON
    if b == _LF:
        return ParseFault.BARE_LF
    if b != 0x3A:  # ":"
        return ParseFault.INVALID_HEADER_NAME
    value_end = _VALUE_RUN.match(data, name_end + 1, end).end()  # type: ignore[union-attr]
    if value_end == end:
        return None
    b = data[value_end]
    if b == _LF:
        return ParseFault.BARE_LF
    if b != _CR:
        return ParseFault.INVALID_HEADER_VALUE
    if value_end + 1 < end and data[value_end + 1] != _LF:
        return ParseFault.BARE_CR
    return None  # a CR last: the line is unfinished
