"""Strategy: this module owns a request head, from its request line to its blank line (RFC 9112
§2-§6), as rust/head.rs does. llhttp reads the field lines, where head.rs has httparse; Python
reads the rest: the request line of the common shape (any other goes to request_line.py), the
limits of the head, and the fields that frame the message (Host, Content-Length,
Transfer-Encoding, Connection and Expect), which `FieldReader`, the llhttp protocol object,
judges in the Rust parser's order to say how the body is framed. `HeadReader` holds the
methods of `RequestParser` that read a head.

How llhttp is used: it is fed a stand-in line (`GET / HTTP/1.1`) followed by the real header
section, never past the blank line, piece by piece as bytes arrive so that a bad field is
rejected as soon as its bytes are in. One llhttp parser is reused while heads carry no body;
otherwise llhttp waits for a body Python has already taken, and a fresh one is made. llhttp
runs with its Transfer-Encoding leniencies on, and its own verdicts are never reported: its
reasons name faults more coarsely than the rules ("Invalid header token" for a bad name byte,
whitespace before the colon and a missing colon alike), and it refuses Content-Length and
Transfer-Encoding values as each field ends, which the rules judge at the blank line among the
other framing faults. So when llhttp stops inside a head, Python reads that header section
itself (`field_section_fault` names the first fault of its field lines as the Rust scanner
does; a head without one is read by a regex and judged as usual); its body-framing verdict
after the head is ignored (it refuses `Transfer-Encoding: chunked<TAB>`, which the rules
accept).

Readings of rules that leave room, the same as the Rust parser's: an Expect member other than
`100-continue` (one with parameters included) is a 417, empty members are ignored. The framing
faults of a complete head are judged in the Rust parser's order: field by field, a second
Host, an invalid Host value, a second Content-Length field, a malformed Content-Length, an
empty transfer coding; then a missing Host, both Content-Length and Transfer-Encoding,
Transfer-Encoding in HTTP/1.0, the final coding, chunked twice, another coding (501), the body
size (413), and an expectation other than 100-continue in HTTP/1.1 (417).

A header section that arrives a few bytes at a time is read by llhttp incrementally; once
llhttp has stopped inside a head (at a field the rules judge only at the blank line, such as a
second Content-Length), `_read_fields` judges the section so far once, then each next piece
after the stand-in of what it has judged (`_deferred`, see fields.py), and joins the pieces
once, at the blank line, to read the fields.
"""

from __future__ import annotations

from httptools import (
    HttpParserCallbackError,
    HttpParserError,
    HttpParserUpgrade,
    HttpRequestParser,
)

from ..config import Config
from ..errors import ParseError, ParseFault
from . import fields, request_line
from .fields import SECTION_END, field_section_fault, field_section_stand_in
from .grammar import OWS, TARGET_BYTES, TCHAR_BYTES
from .request_line import IN_METHOD, VERSIONS, RequestLineScanner
from .state import FIELDS, Event

# Bound by assignment, not by name import, as they are called as methods: see __init__.py.
_HOST_VALUE = request_line.HOST_VALUE
_FIELD_LINE = fields.FIELD_LINE

Headers = list[tuple[bytes, bytes]]

# What llhttp sees in place of each request line (see the module docstring).
_STAND_IN_LINE = b"GET / HTTP/1.1\r\n"
# The fields the parser gives a meaning to: they frame the message, or (Expect) decide whether
# its body is reported with it.
_FRAMING_NAMES = frozenset(
    (b"host", b"content-length", b"transfer-encoding", b"connection", b"expect", b"upgrade")
)
_MAX_LENGTH_DIGITS = 19  # the rules: a Content-Length of more digits is 400 (fits in u64)

# Common methods come back as the same interned str every time.
_METHODS: dict[bytes, str] = {
    m.encode(): m
    for m in ("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH")
}

# Body framing decided at the end of a head.
NO_BODY = 0
LENGTH = 1
CHUNKED = 2


class FieldReader:
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
        "websocket",
    )

    def __init__(self, config: Config) -> None:
        self.max_body_size = config.max_body_size
        # Decided by on_headers_complete.
        self.framing = NO_BODY
        self.length = 0
        self.keep_alive = True
        self.expect_continue = False  # read only when framing is LENGTH
        self.websocket = False  # an Upgrade field names websocket (RFC 6455 §4.2.1)
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
            self.headers = [(n, v.rstrip(OWS)) for n, v in self.headers]
            self.framing_fields = [(n, v.rstrip(OWS)) for n, v in self.framing_fields]
        framing_fields = self.framing_fields
        if (  # the usual head: one valid Host and nothing else that frames the message
            len(framing_fields) == 1
            and framing_fields[0][0] == b"host"
            and _HOST_VALUE.fullmatch(framing_fields[0][1]) is not None
        ):
            self.framing = NO_BODY
            self.keep_alive = self.version == 1
            self.websocket = False
            return
        self.judge()

    def take_fields(self, section: bytes) -> None:
        """The fields of a whole, valid header section, read without llhttp, then judged."""
        self.headers = headers = [
            (name.lower(), value.rstrip(OWS)) for name, value in _FIELD_LINE.findall(section)
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
        websocket = False
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
                    coding = coding.strip(OWS)
                    if not coding:
                        raise self.fail(ParseFault.INVALID_TRANSFER_ENCODING)
                    codings.append(coding.lower())
            elif name == b"expect":
                expectations += [m.strip(OWS).lower() for m in value.split(b",")]
            elif name == b"upgrade":
                # RFC 9110 §7.8: a list of protocols; `websocket/13` is another protocol.
                websocket = websocket or any(p.strip(OWS).lower() == b"websocket" for p in value.split(b","))
            else:
                connection.append(value)
        version = self.version
        # RFC 9112 §3.2: exactly one Host in HTTP/1.1.
        if version == 1 and hosts == 0:
            raise self.fail(ParseFault.MISSING_HOST)
        # RFC 9112 §6.1-6.3: body framing.
        self.framing = NO_BODY
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
            self.framing = CHUNKED
        elif length is not None:
            if length > self.max_body_size:
                raise self.fail(ParseFault.BODY_TOO_LARGE)
            if length:
                self.framing = LENGTH
                self.length = length
        # RFC 9110 §10.1.1: only 100-continue can be met; HTTP/1.0 ignores expectations.
        # Empty list members do not count (RFC 9110 §5.6.1.2).
        self.expect_continue = False
        if expectations and version == 1:
            if any(member and member != b"100-continue" for member in expectations):
                raise self.fail(ParseFault.UNSUPPORTED_EXPECTATION)
            self.expect_continue = b"100-continue" in expectations
        self.websocket = websocket
        # RFC 9112 §9.3: persistence.
        if connection:
            if len(connection) == 1 and b"," not in connection[0]:
                options = {connection[0].strip(OWS).lower()}
            else:
                options = {o.strip(OWS).lower() for v in connection for o in v.split(b",")}
            close = b"close" in options
            self.keep_alive = not close if version else (b"keep-alive" in options and not close)
        else:
            self.keep_alive = version == 1


def _new_llhttp(reader: FieldReader) -> HttpRequestParser:
    """An llhttp parser that leaves the Transfer-Encoding rules to Python."""
    llhttp = HttpRequestParser(reader)
    llhttp.set_dangerous_leniencies(lenient_chunked_length=True, lenient_transfer_encoding=True)
    return llhttp


class HeadReader(RequestLineScanner):
    """The methods of `RequestParser` that read a head: its request line, then its header
    section, whole through llhttp or in pieces."""

    __slots__ = ()

    def _read_request_line(self, data: bytes, pos: int, events: list[Event]) -> int:
        """A head from its first byte: the empty lines before it, its request line, then the
        whole head in one llhttp call when it is all in `data` and within the limits; else the
        header section goes on in `_read_fields`."""
        if self._line_held:  # the line began in an earlier feed
            if data.find(b"\r\n", pos) < 0:
                self._scan_line(data, pos)  # the new bytes, from where the last scan stopped
                return -1
            # The line is complete: it and the rest of the input are read as if the line had
            # come in one piece.
            data = b"".join(self._line_parts) + data[pos:]
            self._line_parts = []
            self._line_held = 0
            self._line_phase = IN_METHOD
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
            and parts[2] in VERSIONS
            and parts[1][:1] == b"/"
            and len(parts[1]) <= self._max_target_length
            and parts[0]
            and not parts[0].translate(None, TCHAR_BYTES)
            and not parts[1].translate(None, TARGET_BYTES)
            and parts[0] != b"CONNECT"
        ):
            method, target, version_name = parts
            version = VERSIONS[version_name]
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
        head_end = data.find(SECTION_END, eol) + 4
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
        self._state = FIELDS
        return eol + 2

    # -- header section (RFC 9112 §5), through llhttp -----------------------------------------

    def _read_fields(self, data: bytes, pos: int, events: list[Event]) -> int:
        """The header section when it did not arrive whole with its request line."""
        tail = self._tail
        probe = tail + data[pos : pos + 3]
        found = probe.find(SECTION_END)
        if found >= 0:
            head_end = pos + found + 4 - len(tail)
        else:
            found = data.find(SECTION_END, pos)
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
            fault = field_section_fault(judged, 0, len(judged))
            if fault is not None:
                raise fault.error()
            if stop > limit:
                raise over.error()
            if head_end >= 0:  # the section is whole: its fields are read from it, once
                self._reader.take_fields(judged if stand_in is None else b"".join(self._section))
            else:
                # Hold a few bytes that stand where the section stands: the next feed then
                # costs what it brings, however slowly the section trickles in.
                self._deferred = field_section_stand_in(judged, 0)
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
        section in Python (`field_section_fault`, `FieldReader.take_fields`), so a fault is
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
        fault = field_section_fault(section, 0, len(section))
        if fault is not None:
            raise fault.error()
        self._reader.take_fields(section)
