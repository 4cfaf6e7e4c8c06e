"""The request-parser case table: raw bytes in, expected events out, one RFC section per row.

Strategy: this module owns the data of the parser tests and nothing else. With the hostile
rows of `attack_cases.py` it is the one case table both parsers are held to: `test_parser.py`
feeds every row to both Python backends in several ways, the live tests send the rows to real
servers, and `case_table.py` writes all of them to `parser_cases.json`, which `cargo test`
(rust/tests.rs) runs through the Rust parser. Python is the source, and the JSON file is
generated and committed, because helpers and computed rows (`b"a" * 8192`, a head of 300
fields) keep the rows short and exact; `test_case_table.py` fails when the file is stale, so
after editing a row run `.venv/bin/python tests/case_table.py`. A row's `expected` is the list
of events `RequestParser.feed` returns over the whole input, with consecutive body pieces
merged into one `bytes` and an error written as `Err(status, detail)`: `detail=None` pins the
status only, a phrase pins the fault (the constants BARE_LF and on are the faults). The rules
are tests/RULES.md; each row cites the section of it (an RFC 9110, 9112 or 6585 section) that
it checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from wirespeed.config import Config


@dataclass(frozen=True, eq=False)
class Err:
    """An expected error event: its status and, where a row pins it, its detail phrase (the
    words after the status in the server's answer). `detail=None` matches any phrase."""

    status: int
    detail: str | None = None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Err):
            return NotImplemented
        if self.status != other.status:
            return False
        return self.detail is None or other.detail is None or self.detail == other.detail


@dataclass(frozen=True)
class Case:
    raw: bytes
    expected: list[Any]
    rfc: str  # e.g. "9112§3.2"
    config: dict[str, int] = field(default_factory=dict)
    # True when the input stops inside a request (more bytes would continue that request).
    open_end: bool = False

    def make_config(self) -> Config:
        return Config().replace(**self.config)


def answers_for(events: list[Any]) -> tuple[list[tuple[Any, bytes]], bool]:
    """What a server answers for parser `events`: (request event, its whole body) for each
    request, or (Err, b"") for the error; and whether the events stop inside a streamed body
    (whose request is then still waiting for it)."""
    exchanges: list[tuple[Any, bytes]] = []
    streaming = False
    for event in events:
        if isinstance(event, tuple):
            exchanges.append((event, event[5] or b""))
            streaming = event[5] is None
        elif isinstance(event, bytes):
            exchanges[-1] = (exchanges[-1][0], exchanges[-1][1] + event)
        elif event is None:
            streaming = False
        elif streaming:
            # The error cut off the body the last request was reading: the handler that
            # reads it gets the error, and that is the answer.
            exchanges[-1] = (event, b"")
            streaming = False
        else:
            exchanges.append((event, b""))
    return exchanges, streaming


HOST = [(b"host", b"a")]


def req(
    method: str = "GET",
    target: str = "/",
    headers: list[tuple[bytes, bytes]] | None = None,
    body: bytes | None = b"",
    version: int = 1,
    keep_alive: bool = True,
) -> tuple[str, str, int, list[tuple[bytes, bytes]], bool, bytes | None]:
    """An expected request event (Host: a by default)."""
    return (method, target, version, HOST if headers is None else headers, keep_alive, body)


def case(
    case_id: str, rfc: str, raw: bytes, expected: list[Any], open_end: bool = False, **config: int
) -> Any:  # a pytest ParameterSet
    return pytest.param(
        Case(raw, expected, rfc, config, open_end), id=f"{case_id}-rfc{rfc.replace('§', '-')}"
    )


def get(target: bytes = b"/", extra: bytes = b"", version: bytes = b"HTTP/1.1") -> bytes:
    """A GET with Host: a and `extra` field lines."""
    return b"GET " + target + b" " + version + b"\r\nHost: a\r\n" + extra + b"\r\n"


def head_of_size(size: int) -> bytes:
    """A valid head of exactly `size` bytes (request line through the blank line)."""
    base = b"GET / HTTP/1.1\r\nHost: a\r\nX: \r\n\r\n"
    return base[:-4] + b"v" * (size - len(base)) + b"\r\n\r\n"


def chunked(body: bytes, extra: bytes = b"") -> bytes:
    return b"POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n" + extra + b"\r\n" + body


CHUNKED_HEADERS = [(b"host", b"a"), (b"transfer-encoding", b"chunked")]
VALID = get()  # a complete, valid keep-alive request
TCHARS = b"!#$%&'*+-.^_`|~09AZaz"
CTL_BYTES = [0x00, 0x01, 0x08, 0x0B, 0x0C, 0x1F, 0x7F]

# The faults of tests/RULES.md, for rows that pin the phrase a client reads: the kinds of
# rust/error.rs and wirespeed.errors.ParseFault, by the same names (test_case_table.py holds
# the three equal).
BARE_LF = Err(400, "bare LF line ending")
BARE_CR = Err(400, "bare CR without LF")
INVALID_METHOD = Err(400, "invalid method")
INVALID_REQUEST_LINE = Err(400, "invalid request line")
INVALID_TARGET = Err(400, "invalid character in request target")
INVALID_TARGET_FORM = Err(400, "invalid request target")
ASTERISK_FORM_NOT_OPTIONS = Err(400, "asterisk-form target is only allowed with OPTIONS")
CONNECT_NEEDS_AUTHORITY = Err(400, "CONNECT needs an authority-form target")
TARGET_TOO_LONG = Err(414, "request target too long")
INVALID_VERSION = Err(400, "invalid HTTP version")
UNSUPPORTED_VERSION = Err(505, "unsupported HTTP version")
INVALID_HEADER_NAME = Err(400, "invalid character in header name")
WHITESPACE_BEFORE_COLON = Err(400, "whitespace between header name and colon")
OBS_FOLD = Err(400, "obsolete line folding in header")
INVALID_HEADER_VALUE = Err(400, "invalid character in header value")
TOO_MANY_HEADERS = Err(431, "too many header fields")
HEAD_TOO_LARGE = Err(431, "request head too large")
MISSING_HOST = Err(400, "missing Host header")
DUPLICATE_HOST = Err(400, "duplicate Host header")
INVALID_HOST = Err(400, "invalid Host header")
CONTENT_LENGTH_AND_TRANSFER_ENCODING = Err(400, "both Content-Length and Transfer-Encoding")
INVALID_CONTENT_LENGTH = Err(400, "invalid Content-Length")
CONFLICTING_CONTENT_LENGTH = Err(400, "conflicting Content-Length")
BODY_TOO_LARGE = Err(413, "request body too large")
INVALID_TRANSFER_ENCODING = Err(400, "invalid Transfer-Encoding")
TRANSFER_ENCODING_NOT_CHUNKED = Err(400, "final transfer coding is not chunked")
CHUNKED_TWICE = Err(400, "chunked applied more than once")
TRANSFER_ENCODING_IN_HTTP10 = Err(400, "Transfer-Encoding in an HTTP/1.0 request")
UNSUPPORTED_TRANSFER_CODING = Err(501, "unsupported transfer coding")
UNSUPPORTED_EXPECTATION = Err(417, "unsupported expectation")
INVALID_CHUNK_SIZE = Err(400, "invalid chunk size")
INVALID_CHUNK_EXTENSION = Err(400, "invalid chunk extension")
CHUNK_EXTENSION_TOO_LONG = Err(400, "chunk extension too long")
MISSING_CHUNK_CRLF = Err(400, "missing CRLF after chunk data")
TRAILERS_TOO_LARGE = Err(431, "trailer section too large")

# A second shape of request, as a bare-bones client sends it: Host: x, a chunked POST to /c.
HOST_X = [(b"host", b"x")]
CHUNKED_X = b"POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
CHUNKED_X_START = req("POST", "/c", HOST_X + [(b"transfer-encoding", b"chunked")], None)


def line_x(request_line: bytes) -> bytes:
    """`request_line`, then Host: x and the blank line."""
    return request_line + b"\r\nHost: x\r\n\r\n"


def getx(target: str = "/") -> Any:
    """The expected event of `line_x(b"GET <target> HTTP/1.1")`."""
    return req(target=target, headers=HOST_X)


def chunked_x(body: bytes) -> bytes:
    return CHUNKED_X + body


def long(prefix: bytes, run: bytes, times: int, tail: bytes = b"") -> bytes:
    """`prefix`, then `run` repeated `times`, then `tail`: a long part, as it trickles in."""
    return prefix + run * times + tail


def fields_head(count: int) -> bytes:
    """A GET with `count` fields: Host: x, then X-1: 1, X-2: 2, ..."""
    lines = b"".join(b"X-%d: %d\r\n" % (i, i) for i in range(1, count))
    return b"GET / HTTP/1.1\r\nHost: x\r\n" + lines + b"\r\n"


def fields_of(count: int) -> list[tuple[bytes, bytes]]:
    """The fields of `fields_head(count)`, as a request event has them."""
    return HOST_X + [(b"x-%d" % i, b"%d" % i) for i in range(1, count)]


def faults(rows: list[tuple[str, str, bytes, Err]], **config: int) -> list[Any]:
    """Rows answered with one error and nothing else, from (name, rfc, raw, error); each id
    starts with the error's status."""
    return [case(f"{error.status}-{name}", rfc, raw, [error], **config) for name, rfc, raw, error in rows]


# A browser's request for an image (the head the parser benchmark uses).
BROWSER_REQUEST = (
    b"GET /wp-content/uploads/2010/03/hello-kitty-darth-vader-pink.jpg HTTP/1.1\r\n"
    b"Host: www.kittyhell.com\r\n"
    b"User-Agent: Mozilla/5.0 (Macintosh; U; Intel Mac OS X 10_6_8; ja-JP-mac; rv:1.9.2.3) Gecko/20100401 Firefox/3.6.3\r\n"
    b"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
    b"Accept-Language: ja,en-us;q=0.7,en;q=0.3\r\n"
    b"Accept-Encoding: gzip,deflate\r\n"
    b"Accept-Charset: Shift_JIS,utf-8;q=0.7,*;q=0.7\r\n"
    b"Cookie: wp_ozh_wsa_visits=2; wp_ozh_wsa_visit_lasttime=xxxxxxxxxx\r\n"
    b"Connection: keep-alive\r\n\r\n"
)


def _request_line_cases() -> list[Any]:
    rfc = "9112§3"
    rows = [
        case("ok-get", rfc, VALID, [req()]),
        case("ok-http10", "9112§2.3", b"GET / HTTP/1.0\r\n\r\n", [req(headers=[], version=0, keep_alive=False)]),
        case("ok-leading-empty-lines", "9112§2.2", b"\r\n\r\n" + VALID, [req()]),
        case("ok-custom-method", "9110§9.1", b"FOO / HTTP/1.1\r\nHost: a\r\n\r\n", [req("FOO")]),
        case("ok-method-purge", "9110§9.1", b"PURGE /x HTTP/1.1\r\nHost: a\r\n\r\n", [req("PURGE", "/x")]),
        case("400-method-m-search-asterisk", "9112§3.2.4", b"M-SEARCH * HTTP/1.1\r\nHost: a\r\n\r\n", [Err(400)]),
        case("ok-method-m-search-origin", "9110§9.1", b"M-SEARCH / HTTP/1.1\r\nHost: a\r\n\r\n", [req("M-SEARCH")]),
        case("ok-method-mixed-case-kept", "9110§9.1", b"Purge / HTTP/1.1\r\nHost: a\r\n\r\n", [req("Purge")]),
        case("ok-lowercase-method-is-distinct", "9110§9.1", b"get / HTTP/1.1\r\nHost: a\r\n\r\n", [req("get")]),
        case("ok-every-tchar-method", "9110§5.6.2", TCHARS + b" / HTTP/1.1\r\nHost: a\r\n\r\n", [req(TCHARS.decode())]),
        case("ok-origin-query", "9112§3.2.1", get(b"/p/a%20b?q=1&r=%2F#f"), [req(target="/p/a%20b?q=1&r=%2F#f")]),
        case("ok-visible-ascii-target", "9112§3.2", get(b'/"<>\\^`{|}~'), [req(target='/"<>\\^`{|}~')]),
        case("ok-absolute-form-raw", "9112§3.2.2", get(b"http://example.com:8080/x?y"), [req(target="http://example.com:8080/x?y")]),
        case("ok-absolute-form-no-path", "9112§3.2.2", get(b"http://example.com"), [req(target="http://example.com")]),
        case("ok-absolute-form-ipv6", "9112§3.2.2", get(b"https://[::1]:8443/x"), [req(target="https://[::1]:8443/x")]),
        case("400-absolute-form-empty-host", "9110§4.2.1", get(b"http:///x"), [Err(400)]),
        case("400-absolute-form-port-only", "9110§4.2.1", get(b"http://:80/x"), [Err(400)]),
        case("400-absolute-form-userinfo", "9110§4.2.4", get(b"http://user@example.com/"), [Err(400)]),
        case("400-absolute-form-bad-port", "9112§3.2.2", get(b"http://example.com:80x/"), [Err(400)]),
        case("ok-asterisk-options", "9112§3.2.4", b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", [req("OPTIONS", "*")]),
        case("ok-connect-authority", "9112§3.2.3", b"CONNECT example.com:443 HTTP/1.1\r\nHost: a\r\n\r\n", [req("CONNECT", "example.com:443")]),
        case("ok-connect-empty-port", "9112§3.2.3", b"CONNECT example.com: HTTP/1.1\r\nHost: a\r\n\r\n", [req("CONNECT", "example.com:")]),
        case("ok-connect-ipv6", "9112§3.2.3", b"CONNECT [::1]:8443 HTTP/1.1\r\nHost: a\r\n\r\n", [req("CONNECT", "[::1]:8443")]),
        # 400: the method is a token (RFC 9110 §5.6.2, §9.1)
        case("400-method-at-sign", "9110§5.6.2", b"G@T / HTTP/1.1\r\nHost: a\r\n\r\n", [Err(400)]),
        case("400-method-paren", "9110§5.6.2", b"GE(T / HTTP/1.1\r\nHost: a\r\n\r\n", [Err(400)]),
        case("400-method-non-ascii", "9110§5.6.2", b"G\xc3\x89T / HTTP/1.1\r\nHost: a\r\n\r\n", [Err(400)]),
        case("400-method-empty", rfc, b" / HTTP/1.1\r\nHost: a\r\n\r\n", [Err(400)]),
        case("400-method-nul", "9110§5.6.2", b"GE\x00T / HTTP/1.1\r\nHost: a\r\n\r\n", [Err(400)]),
        case("400-method-only", rfc, b"GET\r\nHost: a\r\n\r\n", [Err(400)]),
        # 400: exactly one SP between the parts
        case("400-two-spaces-after-method", rfc, b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n", [Err(400)]),
        case("400-two-spaces-after-target", rfc, b"GET /  HTTP/1.1\r\nHost: a\r\n\r\n", [Err(400)]),
        case("400-tab-separator", rfc, b"GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", [Err(400)]),
        case("400-space-after-version", rfc, b"GET / HTTP/1.1 \r\nHost: a\r\n\r\n", [Err(400)]),
        case("400-empty-version", rfc, b"GET / \r\nHost: a\r\n\r\n", [Err(400)]),
        # 400: target bytes are 0x21..0x7E
        case("400-target-nul", "9112§3.2", get(b"/a\x00b"), [Err(400)]),
        case("400-target-ctl", "9112§3.2", get(b"/a\x01b"), [Err(400)]),
        case("400-target-del", "9112§3.2", get(b"/a\x7fb"), [Err(400)]),
        case("400-target-non-ascii", "9112§3.2", get(b"/caf\xc3\xa9"), [Err(400)]),
        case("400-target-tab", "9112§3.2", get(b"/a\tb"), [Err(400)]),
        # 400: request-target forms
        case("400-asterisk-not-options", "9112§3.2.4", get(b"*"), [Err(400)]),
        case("400-connect-origin-form", "9112§3.2.3", b"CONNECT /x HTTP/1.1\r\nHost: a\r\n\r\n", [Err(400)]),
        case("400-connect-absolute-form", "9112§3.2.3", b"CONNECT http://a:1/ HTTP/1.1\r\nHost: a\r\n\r\n", [Err(400)]),
        case("400-connect-asterisk", "9112§3.2.3", b"CONNECT * HTTP/1.1\r\nHost: a\r\n\r\n", [Err(400)]),
        case("400-connect-no-port", "9112§3.2.3", b"CONNECT example.com HTTP/1.1\r\nHost: a\r\n\r\n", [Err(400)]),
        case("400-authority-not-connect", "9112§3.2.3", get(b"example.com:443"), [Err(400)]),
        case("400-relative-target", "9112§3.2", get(b"abc"), [Err(400)]),
        # 505 / 400: the version
        case("505-http20", "9110§6.2", get(version=b"HTTP/2.0"), [Err(505)]),
        case("505-http12", "9110§6.2", get(version=b"HTTP/1.2"), [Err(505)]),
        case("505-http09", "9110§6.2", get(version=b"HTTP/0.9"), [Err(505)]),
        case("505-http30", "9110§6.2", get(version=b"HTTP/3.0"), [Err(505)]),
        case("505-no-version-http09-style", "9112§3", b"GET /\r\n", [UNSUPPORTED_VERSION]),
        case("505-no-version-then-fields", "9112§3", b"GET /index.html\r\nHost: a\r\n\r\n", [Err(505)]),
        case("505-http2-preface-version-before-target-form", "9110§6.2", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", [Err(505)]),
        case("400-version-lowercase", "9112§2.3", get(version=b"http/1.1"), [Err(400)]),
        case("400-version-letter", "9112§2.3", get(version=b"HTTP/1.x"), [Err(400)]),
        case("400-version-two-digit-major", "9112§2.3", get(version=b"HTTP/12.0"), [Err(400)]),
        case("400-version-two-digit-minor", "9112§2.3", get(version=b"HTTP/1.10"), [Err(400)]),
        case("400-version-no-minor", "9112§2.3", get(version=b"HTTP/1"), [Err(400)]),
        case("400-version-https", "9112§2.3", get(version=b"HTTPS/1.1"), [Err(400)]),
        case("400-version-junk", "9112§2.3", get(version=b"FOO"), [Err(400)]),
        # 414: the target limit, also before the line is complete
        case("ok-target-at-limit", "9112§3", get(b"/" + b"a" * 15), [req(target="/" + "a" * 15)], max_target_length=16),
        case("414-target-over-limit", "9112§3", get(b"/" + b"a" * 16), [Err(414)], max_target_length=16),
        case("414-target-over-limit-no-crlf", "9112§3", b"GET /" + b"a" * 16, [Err(414)], max_target_length=16),
        case("414-absolute-target", "9112§3", get(b"http://example.com/" + b"a" * 20), [Err(414)], max_target_length=16),
        case("414-default-limit", "9112§3", get(b"/" + b"a" * 8192), [Err(414)]),
        case("414-before-431", "9112§3", get(b"/" + b"a" * 80), [Err(414)], max_target_length=16, max_head_size=64),
    ]
    # A long line, as it trickles in: the fault in its last byte, in each part, and the head
    # limit passed inside it without a CRLF (the line is 64 bytes at its 64th).
    a = b"a" * 300
    head = {"max_head_size": 64}
    rows += [
        case("400-long-method-bad-last-byte", "9110§9.1", b"G" * 300 + b"@", [Err(400, "invalid method")]),
        case("400-long-target-bad-last-byte", "9112§3.2", b"GET /" + a + b"\x7f", [Err(400, "invalid character in request target")]),
        case("400-long-target-bare-cr-last", "9112§2.2", b"GET /" + a + b"\rX", [Err(400, "bare CR without LF")]),
        case("400-long-target-bad-version-last-byte", "9112§2.3", b"GET /" + a + b" HTTP/1.x", [Err(400, "invalid HTTP version")]),
        case("505-long-target-then-http20", "9110§6.2", get(b"/" + a, version=b"HTTP/2.0"), [Err(505)]),
        case("400-long-target-no-version", "9112§3", b"GET /" + a + b" \r\n", [Err(400, "invalid HTTP version")]),
        case("ok-long-target", "9112§3", get(b"/" + a), [req(target="/" + a.decode())]),
        case("414-long-target-passes-limit", "9112§3", b"GET /" + a, [Err(414, "request target too long")], max_target_length=200),
        case("ok-line-unfinished-at-head-limit", "9112§3", b"GET /" + b"a" * 59, [], open_end=True, **head),
        case("431-method-unfinished-over-head-limit", "9112§3", b"G" * 65, [Err(431, "request head too large")], **head),
        case("431-target-unfinished-over-head-limit", "9112§3", b"GET /" + b"a" * 60, [Err(431, "request head too large")], **head),
        case("431-version-unfinished-over-head-limit", "9112§3", b"GET /" + b"a" * 51 + b" HTTP/1.1", [Err(431, "request head too large")], **head),
        case("400-bad-target-byte-at-head-limit", "9112§3.2", b"GET /" + b"a" * 58 + b"\x7f", [Err(400, "invalid character in request target")], **head),
        case("431-bad-target-byte-past-head-limit", "9112§3.2", b"GET /" + b"a" * 59 + b"\x7f", [Err(431, "request head too large")], **head),
    ]
    # The request line of a bare-bones client (Host: x), valid and not.
    visible = "/!\"#$%&'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~"
    browser_fields = [(line.split(b": ")[0].lower(), line.split(b": ", 1)[1]) for line in BROWSER_REQUEST.split(b"\r\n")[1:-2]]
    rows += [
        case("ok-get-host-x", rfc, line_x(b"GET / HTTP/1.1"), [getx()]),
        case("ok-query-with-escapes", rfc, line_x(b"GET /a?b=1&c=%20 HTTP/1.1"), [getx("/a?b=1&c=%20")]),
        case("ok-two-leading-crlfs", "9112§2.2", b"\r\n\r\n" + line_x(b"GET / HTTP/1.1"), [getx()]),
        case("ok-method-any-token", "9110§9.1", line_x(b"M-SEARCH~! /x HTTP/1.1"), [req("M-SEARCH~!", "/x", HOST_X)]),
        case("ok-method-case-sensitive", "9110§9.1", line_x(b"get / HTTP/1.1"), [req("get", headers=HOST_X)]),
        case("ok-absolute-form-port-and-query", "9112§3.2.2", line_x(b"GET http://example.com:8080/a?b HTTP/1.1"), [getx("http://example.com:8080/a?b")]),
        case("ok-absolute-form-scheme-chars", "9112§3.2.2", line_x(b"GET svn+ssh.v-2://h/ HTTP/1.1"), [getx("svn+ssh.v-2://h/")]),
        case("ok-asterisk-form-host-x", "9112§3.2.4", line_x(b"OPTIONS * HTTP/1.1"), [req("OPTIONS", "*", HOST_X)]),
        case("ok-authority-form-ip-literal", "9112§3.2.3", line_x(b"CONNECT [::1]:8443 HTTP/1.1"), [req("CONNECT", "[::1]:8443", HOST_X)]),
        case("ok-target-every-visible-byte", "9112§3.2", line_x(b"GET " + visible.encode() + b" HTTP/1.1"), [getx(visible)]),
        case("ok-browser-request", rfc, BROWSER_REQUEST, [req(target="/wp-content/uploads/2010/03/hello-kitty-darth-vader-pink.jpg", headers=browser_fields)]),
    ]
    rows += faults([
        ("method-not-a-token", "9110§9.1", line_x(b"GE(T / HTTP/1.1"), INVALID_METHOD),
        ("method-utf-8", "9110§9.1", line_x(b"G\xc3\x89T / HTTP/1.1"), INVALID_METHOD),
        ("method-nul-byte", "9110§9.1", line_x(b"G\x00T / HTTP/1.1"), INVALID_METHOD),
        ("htab-after-method", rfc, line_x(b"GET\t/ HTTP/1.1"), INVALID_METHOD),
        ("leading-space", rfc, line_x(b" GET / HTTP/1.1"), INVALID_REQUEST_LINE),
        ("two-spaces-before-target", rfc, line_x(b"GET  / HTTP/1.1"), INVALID_REQUEST_LINE),
        ("two-spaces-before-version", rfc, line_x(b"GET /  HTTP/1.1"), INVALID_VERSION),
        ("space-before-line-end", rfc, line_x(b"GET / HTTP/1.1 "), INVALID_VERSION),
        ("no-target", rfc, line_x(b"GET"), INVALID_REQUEST_LINE),
        ("empty-target", rfc, line_x(b"GET "), INVALID_REQUEST_LINE),
        ("nothing-after-target-space", rfc, line_x(b"GET / "), INVALID_VERSION),
        ("target-control-byte", "9112§3.2", line_x(b"GET /a\x01b HTTP/1.1"), INVALID_TARGET),
        ("target-nul-byte", "9112§3.2", line_x(b"GET /a\x00b HTTP/1.1"), INVALID_TARGET),
        ("target-del-byte", "9112§3.2", line_x(b"GET /a\x7fb HTTP/1.1"), INVALID_TARGET),
        ("target-htab", "9112§3.2", line_x(b"GET /a\tb HTTP/1.1"), INVALID_TARGET),
        ("target-utf-8", "9112§3.2", line_x(b"GET /caf\xc3\xa9 HTTP/1.1"), INVALID_TARGET),
        ("target-not-utf-8", "9112§3.2", line_x(b"GET /\xff HTTP/1.1"), INVALID_TARGET),
        ("target-relative-path", "9112§3.2", line_x(b"GET a/b HTTP/1.1"), INVALID_TARGET_FORM),
        ("target-query-only", "9112§3.2", line_x(b"GET ?a HTTP/1.1"), INVALID_TARGET_FORM),
        ("scheme-starts-with-digit", "9112§3.2.2", line_x(b"GET 1http://x/ HTTP/1.1"), INVALID_TARGET_FORM),
        ("scheme-without-slashes", "9112§3.2.2", line_x(b"GET http:x HTTP/1.1"), INVALID_TARGET_FORM),
        ("absolute-form-no-host", "9110§4.2.1", line_x(b"GET http:///x HTTP/1.1"), INVALID_TARGET_FORM),
        ("absolute-form-only-port", "9110§4.2.1", line_x(b"GET http://:80/x HTTP/1.1"), INVALID_TARGET_FORM),
        ("absolute-form-user", "9110§4.2.4", line_x(b"GET http://u@x/ HTTP/1.1"), INVALID_TARGET_FORM),
        ("absolute-form-port-not-digits", "9112§3.2.2", line_x(b"GET http://x:8a/ HTTP/1.1"), INVALID_TARGET_FORM),
        ("absolute-form-host-not-reg-name", "9112§3.2.2", line_x(b"GET http://x^y/ HTTP/1.1"), INVALID_TARGET_FORM),
        ("authority-form-without-connect", "9112§3.2.3", line_x(b"GET example.com:80 HTTP/1.1"), INVALID_TARGET_FORM),
        ("connect-slash", "9112§3.2.3", line_x(b"CONNECT / HTTP/1.1"), CONNECT_NEEDS_AUTHORITY),
        ("connect-absolute-form-target", "9112§3.2.3", line_x(b"CONNECT http://x:1/ HTTP/1.1"), CONNECT_NEEDS_AUTHORITY),
        ("connect-host-without-port", "9112§3.2.3", line_x(b"CONNECT example.com HTTP/1.1"), CONNECT_NEEDS_AUTHORITY),
        ("connect-port-not-digits", "9112§3.2.3", line_x(b"CONNECT example.com:4a HTTP/1.1"), CONNECT_NEEDS_AUTHORITY),
        ("connect-userinfo", "9112§3.2.3", line_x(b"CONNECT u@example.com:1 HTTP/1.1"), CONNECT_NEEDS_AUTHORITY),
        ("connect-star", "9112§3.2.3", line_x(b"CONNECT * HTTP/1.1"), CONNECT_NEEDS_AUTHORITY),
        ("asterisk-form-with-get", "9112§3.2.4", line_x(b"GET * HTTP/1.1"), ASTERISK_FORM_NOT_OPTIONS),
        ("asterisk-then-more", "9112§3.2.4", line_x(b"OPTIONS *x HTTP/1.1"), INVALID_TARGET_FORM),
        ("version-2-0", "9112§2.3", line_x(b"GET / HTTP/2.0"), UNSUPPORTED_VERSION),
        ("version-1-2", "9112§2.3", line_x(b"GET / HTTP/1.2"), UNSUPPORTED_VERSION),
        ("version-0-9", "9112§2.3", line_x(b"GET / HTTP/0.9"), UNSUPPORTED_VERSION),
        ("version-3-7-no-fields", "9112§2.3", b"GET / HTTP/3.7\r\n\r\n", UNSUPPORTED_VERSION),
        ("no-version-then-host-x", "9112§2.3", line_x(b"GET /index.html"), UNSUPPORTED_VERSION),
        ("version-http-lowercase", "9112§2.3", line_x(b"GET / http/1.1"), INVALID_VERSION),
        ("version-major-11", "9112§2.3", line_x(b"GET / HTTP/11.1"), INVALID_VERSION),
        ("version-without-minor", "9112§2.3", line_x(b"GET / HTTP/1"), INVALID_VERSION),
        ("version-minor-10", "9112§2.3", line_x(b"GET / HTTP/1.10"), INVALID_VERSION),
        ("version-xyz", "9112§2.3", line_x(b"GET / XYZ"), INVALID_VERSION),
        ("version-then-a-word", "9112§2.3", line_x(b"GET / HTTP/1.1 x"), INVALID_VERSION),
    ])
    # 414 at the default target limit (8192), also before the line is complete; 414 before
    # 431, and a bad target byte before the limit is a 400, after it the 414 wins.
    a = b"a" * 8191
    rows += [
        case("ok-target-at-default-limit", rfc, line_x(b"GET /" + a + b" HTTP/1.1"), [getx("/" + a.decode())]),
        case("414-target-one-over-default-limit", rfc, line_x(b"GET /" + a + b"a HTTP/1.1"), [TARGET_TOO_LONG]),
        case("414-unfinished-target-over-default-limit", rfc, b"GET /" + a + b"a", [TARGET_TOO_LONG]),
        case("ok-unfinished-target-at-default-limit", rfc, b"GET /" + a, [], open_end=True),
    ]
    small = {"max_target_length": 10, "max_head_size": 40}
    both = b"GET /" + b"b" * 10 + b" HTTP/1.1\r\nHost: x\r\nA: " + b"c" * 40 + b"\r\n\r\n"
    rows += [
        case("414-before-431-both-over", rfc, both, [TARGET_TOO_LONG], **small),
        case("414-before-431-unfinished", rfc, both[:30], [TARGET_TOO_LONG], **small),
        case("400-bad-target-byte-within-target-limit", "9112§3.2", b"GET /aaa\x01aaaaaaaaaaaaa HTTP/1.1\r\n", [INVALID_TARGET], **small),
        case("414-bad-target-byte-past-target-limit", rfc, b"GET /aaaaaaaaaaaaaa\x01a HTTP/1.1\r\n", [TARGET_TOO_LONG], **small),
        case("414-absolute-form-over-target-limit", rfc, b"GET http://a.b/c HTTP/1.1\r\n", [TARGET_TOO_LONG], **small),
    ]
    return rows


BARE_LF_NEAR_LIMIT = b"POST /up HTTP/1.1\r\nHost: a\r\nContent.L0ength: \nhello"


def _line_ending_cases() -> list[Any]:
    rfc = "9112§2.2"
    rows = [
        case("400-bare-lf-after-request-line", rfc, b"GET / HTTP/1.1\nHost: a\r\n\r\n", [Err(400)]),
        case("400-bare-lf-after-field", rfc, b"GET / HTTP/1.1\r\nHost: a\n\r\n", [Err(400)]),
        case("400-bare-lf-blank-line", rfc, b"GET / HTTP/1.1\r\nHost: a\r\n\n", [Err(400)]),
        case("400-bare-lf-blank-line-after-field", rfc, b"GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n\n", [Err(400)]),
        case("400-bare-lf-in-target", rfc, b"GET /a\nb HTTP/1.1\r\nHost: a\r\n\r\n", [Err(400)]),
        case("400-bare-cr-after-request-line", rfc, b"GET / HTTP/1.1\rHost: a\r\n\r\n", [Err(400)]),
        case("400-bare-cr-in-value", rfc, b"GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", [Err(400)]),
        case("400-bare-cr-in-target", rfc, b"GET /a\rb HTTP/1.1\r\nHost: a\r\n\r\n", [Err(400)]),
        case("400-bare-cr-blank-line", rfc, b"GET / HTTP/1.1\r\nHost: a\r\n\rX", [Err(400)]),
        case("400-cr-cr-lf", rfc, b"GET / HTTP/1.1\r\nHost: a\r\r\n\r\n", [Err(400)]),
        # A bare LF is a 400 as soon as it has arrived, not once a later line end does.
        case("400-bare-lf-ends-field-next-line-unfinished", rfc, b"GET / HTTP/1.1\r\nHost: a\r\nX:\nY", [Err(400)]),
        case("400-bare-lf-after-host-next-line-unfinished", rfc, b"GET / HTTP/1.1\r\nHost: a\nX", [Err(400)]),
        case("400-bare-lf-is-last-byte", rfc, b"GET / HTTP/1.1\r\nHost: a\r\nX: b\n", [Err(400)]),
        case("400-bare-lf-after-name", rfc, b"GET / HTTP/1.1\r\nHost: a\r\nX\n", [Err(400)]),
        # The first fault in byte order wins: the bare LF is head byte 46.
        case("400-bare-lf-before-head-limit", rfc, BARE_LF_NEAR_LIMIT, [BARE_LF], max_head_size=48),
        case("400-bare-lf-at-head-limit", rfc, BARE_LF_NEAR_LIMIT, [BARE_LF], max_head_size=46),
        case("431-bare-lf-past-head-limit", rfc, BARE_LF_NEAR_LIMIT, [HEAD_TOO_LARGE], max_head_size=45),
    ]
    rows += faults([
        ("bare-lf-ends-request-line", rfc, b"GET / HTTP/1.1\nHost: x\r\n\r\n", BARE_LF),
        ("bare-lf-ends-host-line", rfc, b"GET / HTTP/1.1\r\nHost: x\nA: b\r\n\r\n", BARE_LF),
        ("bare-lf-ends-only-field", rfc, b"GET / HTTP/1.1\r\nHost: x\n\r\n", BARE_LF),
        ("bare-lf-as-blank-line", rfc, b"GET / HTTP/1.1\r\nHost: x\r\n\n", BARE_LF),
        ("bare-lf-as-blank-line-http10", rfc, b"GET / HTTP/1.0\r\n\n", BARE_LF),
        ("only-bare-lfs", rfc, b"GET / HTTP/1.1\nHost: x\n\n", BARE_LF),
        ("bare-lf-no-fields-http10", rfc, b"GET / HTTP/1.0\n\r\n", BARE_LF),
        ("leading-bare-lf", rfc, b"\n" + line_x(b"GET / HTTP/1.1"), BARE_LF),
        ("leading-crlf-then-bare-lf", rfc, b"\r\n\n" + line_x(b"GET / HTTP/1.1"), BARE_LF),
        ("bare-lf-after-method", rfc, line_x(b"GET\n/ HTTP/1.1"), BARE_LF),
        ("bare-lf-after-target", rfc, b"GET /\nHost: x\r\n\r\n", BARE_LF),
        ("bare-lf-before-bad-target-form", rfc, b"GET x HTTP/1.1\nHost: x\r\n\r\n", BARE_LF),
        ("bare-lf-before-bad-value", rfc, b"GET / HTTP/1.1\r\nHost: x\nA: \x01\r\n\r\n", BARE_LF),
        ("bare-lf-ends-empty-value-next-line-unfinished", rfc, b"GET / HTTP/1.1\r\nHost: x\r\nX:\nY", BARE_LF),
        ("bare-lf-ends-host-next-line-unfinished", rfc, b"GET / HTTP/1.1\r\nHost: x\nA", BARE_LF),
        ("bare-lf-last-byte-after-value", rfc, b"GET / HTTP/1.1\r\nHost: x\r\nX: b\n", BARE_LF),
        ("bare-lf-after-field-name", rfc, b"GET / HTTP/1.1\r\nHost: x\r\nX\n", BARE_LF),
        ("bare-cr-ends-request-line", rfc, b"GET / HTTP/1.1\rHost: x\r\n\r\n", BARE_CR),
        ("bare-cr-after-method", rfc, line_x(b"GET\r/ HTTP/1.1"), BARE_CR),
        ("bare-cr-after-target", rfc, line_x(b"GET /\rx HTTP/1.1"), BARE_CR),
        ("bare-cr-inside-value", rfc, b"GET / HTTP/1.1\r\nHost: x\ry\r\n\r\n", BARE_CR),
        ("bare-cr-starts-a-line", rfc, b"GET / HTTP/1.1\r\nHost: x\r\n\rA: b\r\n\r\n", BARE_CR),
        ("leading-bare-cr", rfc, b"\r" + line_x(b"GET / HTTP/1.1"), BARE_CR),
        ("cr-cr-lf-after-host", rfc, b"GET / HTTP/1.1\r\nHost: x\r\r\n\r\n", BARE_CR),
    ])
    return rows


def _field_cases() -> list[Any]:
    rfc = "9112§5"
    rows = [
        case(
            "ok-value-ows-trimmed",
            "9110§5.5",
            get(extra=b"X-A:  \t v \t \r\nX-B:\tw\r\n"),
            [req(headers=[(b"host", b"a"), (b"x-a", b"v"), (b"x-b", b"w")])],
        ),
        case(
            "ok-value-inner-whitespace-kept",
            "9110§5.5",
            get(extra=b"X: a b\t c\r\n"),
            [req(headers=[(b"host", b"a"), (b"x", b"a b\t c")])],
        ),
        case(
            "ok-obs-text-value",
            "9110§5.5",
            get(extra=b"X: caf\xc3\xa9 \x80\xff\r\n"),
            [req(headers=[(b"host", b"a"), (b"x", b"caf\xc3\xa9 \x80\xff")])],
        ),
        case(
            "ok-empty-values",
            "9110§5.5",
            get(extra=b"X:\r\nY: \t \r\n"),
            [req(headers=[(b"host", b"a"), (b"x", b""), (b"y", b"")])],
        ),
        case(
            "ok-names-lowercased-order-and-duplicates-kept",
            rfc,
            b"GET / HTTP/1.1\r\nX-Dup: 1\r\nHOST: a\r\nAccept: */*\r\nx-dup: 2\r\nX-DUP: 3\r\n\r\n",
            [req(headers=[(b"x-dup", b"1"), (b"host", b"a"), (b"accept", b"*/*"), (b"x-dup", b"2"), (b"x-dup", b"3")])],
        ),
        case(
            "ok-every-tchar-name",
            "9110§5.6.2",
            get(extra=TCHARS + b": 1\r\n"),
            [req(headers=[(b"host", b"a"), (TCHARS.lower(), b"1")])],
        ),
        case("400-empty-name", rfc, get(extra=b": a\r\n"), [Err(400)]),
        case("400-name-at-sign", "9110§5.1", get(extra=b"X@Y: a\r\n"), [Err(400)]),
        case("400-name-non-ascii", "9110§5.1", get(extra=b"X\xc3\xa9: a\r\n"), [Err(400)]),
        case("400-name-no-colon", rfc, get(extra=b"XY\r\n"), [Err(400)]),
        case("400-space-before-colon", "9112§5.1", get(extra=b"X : a\r\n"), [Err(400)]),
        case("400-tab-before-colon", "9112§5.1", get(extra=b"X\t: a\r\n"), [Err(400)]),
        case("400-space-before-colon-host", "9112§5.1", b"GET / HTTP/1.1\r\nHost : a\r\n\r\n", [Err(400)]),
        case("400-obs-fold-space", "9112§5.2", get(extra=b"X: a\r\n b\r\n"), [Err(400)]),
        case("400-obs-fold-tab", "9112§5.2", get(extra=b"X: a\r\n\tb\r\n"), [Err(400)]),
        case("400-first-field-line-indented", "9112§5.2", b"GET / HTTP/1.1\r\n Host: a\r\n\r\n", [Err(400)]),
        case("400-del-in-value", "9110§5.5", get(extra=b"X: a\x7fb\r\n"), [Err(400)]),
    ]
    rows += [
        case(f"400-ctl-{byte:02x}-in-value", "9110§5.5", get(extra=b"X: a" + bytes([byte]) + b"b\r\n"), [Err(400)])
        for byte in CTL_BYTES
    ]
    # 431: the number of fields and the size of the head (request line through blank line)
    limits = {"max_head_size": 64}
    rows += [
        case(
            "ok-fields-at-limit",
            rfc,
            get(extra=b"X: 1\r\nY: 2\r\n"),
            [req(headers=[(b"host", b"a"), (b"x", b"1"), (b"y", b"2")])],
            max_headers=3,
        ),
        case("431-too-many-fields", rfc, get(extra=b"X: 1\r\nY: 2\r\nZ: 3\r\n"), [Err(431)], max_headers=3),
        case("431-too-many-fields-default", rfc, get(extra=b"X: 1\r\n" * 100), [Err(431)]),
        case("431-too-many-fields-head-incomplete", rfc, get(extra=b"X: 1\r\nY: 2\r\nZ: 3\r\n")[:-2], [Err(431)], max_headers=3),
        case("400-bad-field-that-would-be-one-too-many", rfc, get(extra=b"X: 1\r\nY: 2\r\nZ@: 3\r\n"), [Err(400)], max_headers=3),
        case("ok-head-at-limit", rfc, head_of_size(64), [req(headers=[(b"host", b"a"), (b"x", b"v" * 32)])], **limits),
        case(
            "ok-head-at-limit-leading-crlf-not-counted",
            "9112§2.2",
            b"\r\n\r\n" + head_of_size(64),
            [req(headers=[(b"host", b"a"), (b"x", b"v" * 32)])],
            **limits,
        ),
        case("431-head-one-over-limit", rfc, head_of_size(65), [Err(431)], **limits),
        case("431-head-incomplete-over-limit", rfc, head_of_size(100)[:80], [Err(431)], **limits),
        case("431-request-line-over-limit", rfc, b"GET /" + b"a" * 70 + b" HTTP/1.1\r\n", [Err(431)], max_head_size=64, max_target_length=100),
        case("431-default-limit", rfc, get(extra=b"X: " + b"v" * 16384 + b"\r\n"), [Err(431)]),
    ]
    # A second Content-Length makes llhttp stop reading a head (the rules judge it at the blank
    # line), so the twin reads the rest of the section itself, however it trickles in: its first
    # fault, the head limit and the field limit fall where they fall in a section read whole.
    # A section of 310 bytes ends at the limit, or one byte past it; a fault in the last byte
    # that fits is a 400, one past it a 431.
    deferred = b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nContent-Length: 0\r\n"
    section = b"X: " + b"v" * 200 + b"\r\nY: " + b"v" * 100 + b"\r\n\r\n"
    room = {"max_head_size": len(deferred) + len(section)}
    short = {"max_head_size": len(deferred) + len(section) - 1}
    conflicting = Err(400, "conflicting Content-Length")
    too_large = Err(431, "request head too large")
    long_line = b"X: " + b"v" * 300
    rows += [
        case("400-deferred-section-ends-at-limit", "9110§8.6", deferred + section, [conflicting], **room),
        case("431-deferred-section-ends-one-past-limit", rfc, deferred + section, [too_large], **short),
        case("400-deferred-fault-in-last-byte-that-fits", "9112§2.2", deferred + section[:-1] + b"x", [Err(400, "bare CR without LF")], **room),
        case("431-deferred-fault-one-past-limit", rfc, deferred + section[:-1] + b"x", [too_large], **short),
        case("431-deferred-head-limit-mid-line", rfc, deferred + long_line + b"\r\n\r\n", [too_large], max_head_size=len(deferred) + 100),
        case("431-deferred-head-limit-mid-name", rfc, deferred + b"X" * 300 + b": v\r\n\r\n", [too_large], max_head_size=len(deferred) + 100),
        case("400-deferred-long-value-nul-last", "9110§5.5", deferred + long_line + b"\x00", [Err(400, "invalid character in header value")]),
        case("400-deferred-long-value-bare-lf-last", "9112§2.2", deferred + long_line + b"\n", [Err(400, "bare LF line ending")]),
        case("400-deferred-long-name-space-last", "9112§5.1", deferred + b"A: 1\r\n" + b"X" * 300 + b" ", [Err(400, "whitespace between header name and colon")]),
        case("400-deferred-long-name-bad-last", "9110§5.1", deferred + b"X" * 300 + b"@", [Err(400, "invalid character in header name")]),
        case("400-deferred-obs-fold-after-long-line", "9112§5.2", deferred + long_line + b"\r\n\t", [Err(400, "obsolete line folding in header")]),
        case("400-deferred-end-bare-cr-after-long-line", "9112§2.2", deferred + long_line + b"\r\n\rX", [Err(400, "bare CR without LF")]),
        case("431-deferred-too-many-fields", rfc, deferred + b"X: 1\r\n" + long_line + b"\r\n\r\n", [Err(431, "too many header fields")], max_headers=4),
        case("400-deferred-fault-in-field-one-too-many", rfc, deferred + b"X: 1\r\n" + long_line + b"\x7f\r\n\r\n", [Err(400, "invalid character in header value")], max_headers=4),
    ]
    # Field lines of a bare-bones client (Host: x), valid and not.
    rows += [
        case(
            "ok-field-order-case-and-duplicates",
            rfc,
            b"GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\nACCEPT: */*\r\nx-a: 2\r\nSet-Thing: 3\r\n\r\n",
            [req(headers=HOST_X + [(b"x-a", b"1"), (b"accept", b"*/*"), (b"x-a", b"2"), (b"set-thing", b"3")])],
        ),
        case(
            "ok-values-trimmed-inner-whitespace-kept",
            "9110§5.5",
            b"GET / HTTP/1.1\r\nHost:x\r\nA: \t a \t b \t\r\nB:\r\nC:   \r\n\r\n",
            [req(headers=HOST_X + [(b"a", b"a \t b"), (b"b", b""), (b"c", b"")])],
        ),
        case(
            "ok-obs-text-utf-8-and-high-bytes",
            "9110§5.5",
            b"GET / HTTP/1.1\r\nHost: x\r\nA: caf\xc3\xa9 \x80\xff\r\n\r\n",
            [req(headers=HOST_X + [(b"a", b"caf\xc3\xa9 \x80\xff")])],
        ),
        case(
            "ok-name-of-tchars",
            rfc,
            b"GET / HTTP/1.1\r\nHost: x\r\n!#$%&'*+-.^_`|~09Az: v\r\n\r\n",
            [req(headers=HOST_X + [(b"!#$%&'*+-.^_`|~09az", b"v")])],
        ),
    ]
    fields = b"GET / HTTP/1.1\r\nHost: x\r\n"
    rows += faults([
        ("obs-fold-two-spaces", "9112§5.2", fields + b"A: b\r\n  c\r\n\r\n", OBS_FOLD),
        ("obs-fold-htab", "9112§5.2", fields + b"A: b\r\n\tc\r\n\r\n", OBS_FOLD),
        ("space-before-host-line", "9112§5.2", b"GET / HTTP/1.1\r\n Host: x\r\n\r\n", OBS_FOLD),
        ("space-between-host-and-colon", "9112§5.1", b"GET / HTTP/1.1\r\nHost : x\r\n\r\n", WHITESPACE_BEFORE_COLON),
        ("htab-between-host-and-colon", "9112§5.1", b"GET / HTTP/1.1\r\nHost\t: x\r\n\r\n", WHITESPACE_BEFORE_COLON),
        ("name-empty", "9110§5.1", fields + b": v\r\n\r\n", INVALID_HEADER_NAME),
        ("field-line-without-colon", "9110§5.1", fields + b"NoColon\r\n\r\n", INVALID_HEADER_NAME),
        ("name-with-parentheses", "9110§5.1", fields + b"A(b): v\r\n\r\n", INVALID_HEADER_NAME),
        ("name-utf-8", "9110§5.1", fields + b"N\xc3\xa4me: v\r\n\r\n", INVALID_HEADER_NAME),
        ("name-nul-byte", "9110§5.1", fields + b"A\x00: v\r\n\r\n", INVALID_HEADER_NAME),
        ("name-nul-byte-then-more", "9110§5.1", fields + b"A\x00: b\r\n\r\n", INVALID_HEADER_NAME),
        ("value-nul-byte", "9110§5.5", fields + b"A: b\x00c\r\n\r\n", INVALID_HEADER_VALUE),
        ("value-control-byte", "9110§5.5", fields + b"A: b\x01c\r\n\r\n", INVALID_HEADER_VALUE),
        ("value-unit-separator", "9110§5.5", fields + b"A: b\x1f\r\n\r\n", INVALID_HEADER_VALUE),
        ("value-del-byte", "9110§5.5", fields + b"A: b\x7fc\r\n\r\n", INVALID_HEADER_VALUE),
        ("value-vertical-tab", "9110§5.5", b"GET / HTTP/1.1\r\nHost: \x0bx\r\n\r\n", INVALID_HEADER_VALUE),
        ("value-long-then-backspace", "9110§5.5", fields + b"A: 0123456789012345678901234567890123456789\x08\r\n\r\n", INVALID_HEADER_VALUE),
    ])
    # 431 (RFC 6585 §5): the field count, by default and with small and large limits (the
    # large one past the fields the parser keeps on the stack), and the head size.
    count = "6585§5"
    many = {"max_headers": 300, "max_head_size": 64 * 1024}
    rows += [
        case("ok-100-fields-default-limit", count, fields_head(100), [req(headers=fields_of(100))]),
        case("431-101-fields-default-limit", count, fields_head(101), [TOO_MANY_HEADERS]),
        case("ok-3-fields-limit-3", count, fields_head(3), [req(headers=fields_of(3))], max_headers=3),
        case("431-4-fields-limit-3", count, fields_head(4), [TOO_MANY_HEADERS], max_headers=3),
        case("ok-300-fields-limit-300", count, fields_head(300), [req(headers=fields_of(300))], **many),
        case("431-301-fields-limit-300", count, fields_head(301), [TOO_MANY_HEADERS], **many),
    ]
    head = fields + b"A: 0123456789\r\n\r\n"
    fits = [req(headers=HOST_X + [(b"a", b"0123456789")])]
    rows += [
        case("ok-head-exactly-at-limit", count, head, fits, max_head_size=len(head)),
        case("ok-leading-crlfs-not-counted", "9112§2.2", b"\r\n\r\n" + head, fits, max_head_size=len(head)),
        case("431-head-one-byte-over", count, head, [HEAD_TOO_LARGE], max_head_size=len(head) - 1),
        case("ok-unfinished-head-at-limit", count, head[:-1], [], open_end=True, max_head_size=len(head) - 1),
        case("431-unfinished-head-over-limit", count, head[:-1], [HEAD_TOO_LARGE], max_head_size=len(head) - 2),
        # Bytes past the limit are never looked at: a bad byte there is still a 431.
        case("431-bad-byte-past-head-limit", count, head[:-1] + b"\x01\r\n\r\n", [HEAD_TOO_LARGE], max_head_size=len(head) - 1),
        case("431-16-kib-value", count, fields + b"A: " + b"v" * 16384 + b"\r\n\r\n", [HEAD_TOO_LARGE]),
    ]
    return rows


def _host_cases() -> list[Any]:
    rfc = "9112§3.2"
    rows = [
        case("400-missing-host-http11", rfc, b"GET / HTTP/1.1\r\nX: 1\r\n\r\n", [Err(400)]),
        case("400-two-hosts", rfc, b"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", [Err(400)]),
        case("400-two-hosts-http10", rfc, b"GET / HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n", [DUPLICATE_HOST]),
        case("ok-no-host-http10", rfc, b"GET / HTTP/1.0\r\nX: 1\r\n\r\n", [req(headers=[(b"x", b"1")], version=0, keep_alive=False)]),
        case("ok-empty-host", rfc, b"GET / HTTP/1.1\r\nHost:\r\n\r\n", [req(headers=[(b"host", b"")])]),
    ]
    rows += faults([
        ("missing-host-one-field", rfc, b"GET / HTTP/1.1\r\nA: b\r\n\r\n", MISSING_HOST),
        ("two-hosts-name-case-differs", rfc, b"GET / HTTP/1.1\r\nHost: x\r\nHOST: x\r\n\r\n", DUPLICATE_HOST),
    ])
    rows.append(
        case(
            "ok-no-host-http10-keep-alive",
            rfc,
            b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
            [req(headers=[(b"connection", b"keep-alive")], version=0)],
        )
    )
    return rows


def _trickled_head_cases() -> list[Any]:
    """Heads with a long run of bytes that cannot be a fault where they are, then the byte that
    decides, or the limit the run passes: the answer comes at that byte, however the bytes are
    split (a parser that skips parsing a trickling head again must not miss it)."""
    n = 1500
    fields = b"GET / HTTP/1.1\r\nHost: x\r\n"
    value = fields + b"A: "
    lines = b"A: v\r\n"
    rows = faults([
        ("method-then-not-a-token", "9110§9.1", long(b"", b"M", n, b"(/ HTTP/1.1\r\n"), INVALID_METHOD),
        ("method-then-del", "9110§9.1", long(b"", b"M", n, b"\x7f"), INVALID_METHOD),
        ("method-then-crlf", "9112§3", long(b"", b"M", n, b"\r\n"), INVALID_REQUEST_LINE),
        ("method-then-bare-cr", "9112§2.2", long(b"", b"M", n, b"\rx"), BARE_CR),
        ("method-then-bare-lf", "9112§2.2", long(b"", b"M", n, b"\n"), BARE_LF),
        ("method-then-two-spaces", "9112§3", long(b"", b"M", n, b"  "), INVALID_REQUEST_LINE),
        ("target-then-control", "9112§3.2", long(b"GET /", b"a", n, b"\x01"), INVALID_TARGET),
        ("target-then-utf-8", "9112§3.2", long(b"GET /", b"a", n, b"\xc3\xa9"), INVALID_TARGET),
        ("target-then-htab", "9112§3.2", long(b"GET /", b"a", n, b"\t"), INVALID_TARGET),
        ("target-then-crlf", "9112§2.3", long(b"GET /", b"a", n, b"\r\n"), UNSUPPORTED_VERSION),
        ("target-then-bare-cr", "9112§2.2", long(b"GET /", b"a", n, b"\rx"), BARE_CR),
        ("target-then-bare-lf", "9112§2.2", long(b"GET /", b"a", n, b"\n"), BARE_LF),
        ("target-then-bad-version", "9112§2.3", long(b"GET /", b"a", n, b" HTTP/1.1x"), INVALID_VERSION),
        ("target-then-bad-form", "9112§3.2", long(b"GET ", b"a", n, b" HTTP/1.1\r\n"), INVALID_TARGET_FORM),
        ("name-then-not-a-token", "9110§5.1", long(fields, b"N", n, b"(: v"), INVALID_HEADER_NAME),
        ("name-then-space", "9112§5.1", long(fields, b"N", n, b" : v"), WHITESPACE_BEFORE_COLON),
        ("name-then-htab", "9112§5.1", long(fields, b"N", n, b"\t: v"), WHITESPACE_BEFORE_COLON),
        ("name-then-crlf", "9110§5.1", long(fields, b"N", n, b"\r\n"), INVALID_HEADER_NAME),
        ("name-then-bare-lf", "9112§2.2", long(fields, b"N", n, b"\n"), BARE_LF),
        ("value-then-nul", "9110§5.5", long(value, b"v", n, b"\x00"), INVALID_HEADER_VALUE),
        ("value-then-del", "9110§5.5", long(value, b"v", n, b"\x7f"), INVALID_HEADER_VALUE),
        ("value-then-vertical-tab", "9110§5.5", long(value, b"\t v", n, b"\x0b"), INVALID_HEADER_VALUE),
        ("value-then-bare-cr", "9112§2.2", long(value, b"v", n, b"\rx"), BARE_CR),
        ("value-then-cr-cr", "9112§2.2", long(value, b"v", n, b"\r\r\n"), BARE_CR),
        ("value-then-bare-lf", "9112§2.2", long(value, b"v", n, b"\n"), BARE_LF),
        ("value-then-obs-fold", "9112§5.2", long(value, b"v", n, b"\r\n c\r\n\r\n"), OBS_FOLD),
        ("value-then-obs-fold-htab", "9112§5.2", long(value, b"v", n, b"\r\n\tc"), OBS_FOLD),
        ("lines-then-bare-cr", "9112§2.2", long(fields, lines, 90, b"\rx"), BARE_CR),
        ("lines-then-bare-lf", "9112§2.2", long(fields, lines, 90, b"\n"), BARE_LF),
        ("lines-then-a-colon", "9110§5.1", long(fields, lines, 90, b": v"), INVALID_HEADER_NAME),
        ("value-then-second-host", "9112§3.2", long(value, b"v", n, b"\r\nHost: y\r\n\r\n"), DUPLICATE_HOST),
        ("content-length-digits-then-blank-line", "9110§8.6", long(fields + b"Content-Length: ", b"1", n, b"\r\n\r\n"), INVALID_CONTENT_LENGTH),
    ])
    # Valid heads: a colon ends a name (the rest is value, colons and all), a space in a value
    # is value; two long heads in a row, and a head after an inline body, are each followed
    # from their start.
    colons = b"a:b c" + b"v:" * n
    target = "/" + "t" * n
    rows += [
        case("ok-colons-in-a-long-value", "9112§5.1", fields + b"Na:" + colons + b"\r\n\r\n", [req(headers=HOST_X + [(b"na", colons)])]),
        case("ok-long-name-empty-value", "9110§5.1", long(fields, b"N", n, b":\r\n\r\n"), [req(headers=HOST_X + [(b"n" * n, b"")])]),
        case("ok-two-long-heads-pipelined", "9112§9.3.2", 2 * line_x(b"GET " + target.encode() + b" HTTP/1.1"), [getx(target), getx(target)]),
        case(
            "400-long-head-after-a-body",
            "9112§6.3",
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nabGET " + target.encode() + b"\x01",
            [req("POST", "/", HOST_X + [(b"content-length", b"2")], b"ab"), INVALID_TARGET],
        ),
    ]
    # Runs that pass a limit, at the byte that passes it.
    head = {"max_head_size": 1000}
    bare = b"GET / HTTP/1.1\r\n"
    rows += [
        case("431-method-passes-head-limit", "6585§5", long(b"", b"M", n), [HEAD_TOO_LARGE], **head),
        case("431-target-passes-head-limit", "6585§5", long(b"GET /", b"a", n), [HEAD_TOO_LARGE], **head),
        case("431-name-passes-head-limit", "6585§5", long(bare, b"N", n), [HEAD_TOO_LARGE], **head),
        case("431-value-passes-head-limit", "6585§5", long(bare + b"A: ", b"v", n), [HEAD_TOO_LARGE], **head),
        case("431-field-lines-pass-head-limit", "6585§5", long(bare, lines, n // 5), [HEAD_TOO_LARGE], max_headers=n, **head),
        case("431-head-limit-before-a-bad-byte", "6585§5", long(bare + b"A: ", b"v", n, b"\x00"), [HEAD_TOO_LARGE], **head),
        case("414-target-passes-target-limit", "9112§3", long(b"GET /", b"a", n), [TARGET_TOO_LONG], max_target_length=1000),
        case("414-target-limit-before-a-bad-byte", "9112§3", long(b"GET /", b"a", n, b"\x01"), [TARGET_TOO_LONG], max_target_length=1000),
        case("431-field-lines-pass-field-limit", "6585§5", long(bare, lines, 8), [TOO_MANY_HEADERS], max_headers=5),
    ]
    return rows


def _framing_cases() -> list[Any]:
    cl = "9112§6.3"
    te = "9112§6.1"
    post = b"POST /up HTTP/1.1\r\nHost: a\r\n"
    rows = [
        case("ok-no-framing-no-body", "9112§6.3", b"POST /up HTTP/1.1\r\nHost: a\r\n\r\n", [req("POST", "/up")]),
        case(
            "ok-content-length-inline",
            cl,
            post + b"Content-Length: 5\r\n\r\nhello",
            [req("POST", "/up", [(b"host", b"a"), (b"content-length", b"5")], b"hello")],
        ),
        case(
            "ok-content-length-zero",
            cl,
            post + b"Content-Length: 0\r\n\r\n",
            [req("POST", "/up", [(b"host", b"a"), (b"content-length", b"0")], b"")],
        ),
        case(
            "ok-content-length-ows",
            cl,
            post + b"Content-Length: \t 5 \t\r\n\r\nhello",
            [req("POST", "/up", [(b"host", b"a"), (b"content-length", b"5")], b"hello")],
        ),
        case(
            "ok-content-length-19-digits",
            cl,
            post + b"Content-Length: 0000000000000000005\r\n\r\nhello",
            [req("POST", "/up", [(b"host", b"a"), (b"content-length", b"0000000000000000005")], b"hello")],
        ),
        case(
            "ok-content-length-at-inline-limit",
            cl,
            post + b"Content-Length: 4\r\n\r\nabcd",
            [req("POST", "/up", [(b"host", b"a"), (b"content-length", b"4")], b"abcd")],
            inline_body_size=4,
        ),
        case(
            "ok-content-length-streamed",
            cl,
            post + b"Content-Length: 10\r\n\r\n0123456789",
            [req("POST", "/up", [(b"host", b"a"), (b"content-length", b"10")], None), b"0123456789", None],
            inline_body_size=4,
        ),
        case(
            "ok-content-length-streamed-incomplete",
            cl,
            post + b"Content-Length: 10\r\n\r\n01234",
            [req("POST", "/up", [(b"host", b"a"), (b"content-length", b"10")], None), b"01234"],
            inline_body_size=4,
            open_end=True,
        ),
        case(
            "ok-content-length-streamed-head-only",
            cl,
            post + b"Content-Length: 10\r\n\r\n",
            [req("POST", "/up", [(b"host", b"a"), (b"content-length", b"10")], None)],
            inline_body_size=4,
            open_end=True,
        ),
        case(
            "ok-content-length-inline-with-zero-inline-limit",
            cl,
            post + b"Content-Length: 1\r\n\r\nx",
            [req("POST", "/up", [(b"host", b"a"), (b"content-length", b"1")], None), b"x", None],
            inline_body_size=0,
        ),
        case("ok-body-at-size-limit", cl, post + b"Content-Length: 16\r\n\r\n" + b"b" * 16,
             [req("POST", "/up", [(b"host", b"a"), (b"content-length", b"16")], b"b" * 16)], max_body_size=16),
        case("413-content-length-over-limit-at-head", cl, post + b"Content-Length: 17\r\n\r\n", [Err(413)], max_body_size=16),
        case("413-content-length-over-default", cl, post + b"Content-Length: 16777217\r\n\r\n", [Err(413)]),
        case("400-both-cl-and-te", "9112§6.1", post + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", [Err(400)]),
        case("400-both-te-and-cl", "9112§6.1", post + b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", [Err(400)]),
        case("400-two-cl-equal", cl, post + b"Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello", [Err(400)]),
        case("400-two-cl-different", cl, post + b"Content-Length: 5\r\ncontent-length: 6\r\n\r\nhello", [Err(400)]),
    ]
    for name, value in [
        ("plus", b"+5"),
        ("minus", b"-1"),
        ("inner-space", b"5 5"),
        ("list", b"5,5"),
        ("list-space", b"5, 5"),
        ("hex", b"0x5"),
        ("suffix", b"5a"),
        ("empty", b""),
        ("decimal", b"5.0"),
        ("20-digits", b"00000000000000000005"),
        ("u64-overflow", b"18446744073709551616"),
        ("huge", b"9" * 30),
    ]:
        rows.append(case(f"400-cl-{name}", cl, post + b"Content-Length: " + value + b"\r\n\r\nhello", [Err(400)]))
    headers = [(b"host", b"a"), (b"transfer-encoding", b"chunked")]
    rows += [
        case("400-te-gzip-only", te, post + b"Transfer-Encoding: gzip\r\n\r\n", [Err(400)]),
        case("400-te-chunked-not-last", te, post + b"Transfer-Encoding: chunked, gzip\r\n\r\n", [Err(400)]),
        case("400-te-chunked-twice", te, post + b"Transfer-Encoding: chunked, chunked\r\n\r\n", [Err(400)]),
        case("400-te-chunked-twice-fields", te, post + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", [Err(400)]),
        case("400-te-chunked-then-gzip-field", te, post + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n", [Err(400)]),
        case("400-te-empty", te, post + b"Transfer-Encoding:\r\n\r\n", [Err(400)]),
        case("400-te-empty-element-first", te, post + b"Transfer-Encoding: ,chunked\r\n\r\n", [Err(400)]),
        case("400-te-empty-element-last", te, post + b"Transfer-Encoding: chunked,\r\n\r\n", [Err(400)]),
        case("400-te-empty-element-middle", te, post + b"Transfer-Encoding: gzip,, chunked\r\n\r\n", [Err(400)]),
        case("400-te-chunked-with-param", te, post + b"Transfer-Encoding: chunked;q=1\r\n\r\n", [Err(400)]),
        case("400-te-http10", "9112§6.1", b"POST /up HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", [Err(400)]),
        case("501-te-gzip-chunked", te, post + b"Transfer-Encoding: gzip, chunked\r\n\r\n", [Err(501)]),
        case("501-te-identity-chunked", te, post + b"Transfer-Encoding: identity, chunked\r\n\r\n", [Err(501)]),
        case("501-te-two-fields", te, post + b"Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n", [Err(501)]),
        case("501-te-unknown-coding", te, post + b"Transfer-Encoding: x-custom , \tchunked\r\n\r\n", [Err(501)]),
        case(
            "ok-te-case-insensitive",
            te,
            post + b"Transfer-Encoding: CHUNKED\r\n\r\n0\r\n\r\n",
            [req("POST", "/up", [(b"host", b"a"), (b"transfer-encoding", b"CHUNKED")], None), None],
        ),
        case(
            "ok-te-trailing-ows",
            te,
            post + b"Transfer-Encoding: chunked\t \r\n\r\n0\r\n\r\n",
            [req("POST", "/up", headers, None), None],
        ),
    ]
    # The framing fields of a bare-bones client's POST (Host: x).
    px = b"POST / HTTP/1.1\r\nHost: x\r\n"
    rows += faults([
        ("content-length-then-chunked", te, px + b"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", CONTENT_LENGTH_AND_TRANSFER_ENCODING),
        ("chunked-then-content-length", te, px + b"Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", CONTENT_LENGTH_AND_TRANSFER_ENCODING),
        ("content-length-plus-sign", "9110§8.6", px + b"Content-Length: +3\r\n\r\nabc", INVALID_CONTENT_LENGTH),
        ("content-length-negative", "9110§8.6", px + b"Content-Length: -3\r\n\r\n", INVALID_CONTENT_LENGTH),
        ("content-length-space-inside", "9110§8.6", px + b"Content-Length: 1 2\r\n\r\n", INVALID_CONTENT_LENGTH),
        ("content-length-equal-list", "9110§8.6", px + b"Content-Length: 3, 3\r\n\r\nabc", INVALID_CONTENT_LENGTH),
        ("content-length-0x", "9110§8.6", px + b"Content-Length: 0x3\r\n\r\nabc", INVALID_CONTENT_LENGTH),
        ("content-length-no-digits", "9110§8.6", px + b"Content-Length:\r\n\r\n", INVALID_CONTENT_LENGTH),
        ("content-length-20-digits-leading-zeros", "9110§8.6", px + b"Content-Length: 00000000000000000001\r\n\r\n", INVALID_CONTENT_LENGTH),
        ("content-length-23-digits", "9110§8.6", px + b"Content-Length: 99999999999999999999999\r\n\r\n", INVALID_CONTENT_LENGTH),
        ("two-content-lengths-equal", cl, px + b"Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc", CONFLICTING_CONTENT_LENGTH),
        ("two-content-lengths-differ", cl, px + b"Content-Length: 3\r\ncontent-length: 4\r\n\r\nabcd", CONFLICTING_CONTENT_LENGTH),
        ("content-length-over-default-body-limit", "9110§15.5.14", px + b"Content-Length: 16777217\r\n\r\n", BODY_TOO_LARGE),
        ("transfer-encoding-gzip", te, px + b"Transfer-Encoding: gzip\r\n\r\n", TRANSFER_ENCODING_NOT_CHUNKED),
        ("transfer-encoding-chunked-then-gzip", te, px + b"Transfer-Encoding: chunked, gzip\r\n\r\n", TRANSFER_ENCODING_NOT_CHUNKED),
        ("transfer-encoding-chunked-chunked", te, px + b"Transfer-Encoding: chunked, chunked\r\n\r\n", CHUNKED_TWICE),
        ("transfer-encoding-chunked-in-two-fields", te, px + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", CHUNKED_TWICE),
        ("transfer-encoding-gzip-then-chunked", te, px + b"Transfer-Encoding: gzip, chunked\r\n\r\n", UNSUPPORTED_TRANSFER_CODING),
        ("transfer-encoding-identity-field-then-chunked", te, px + b"Transfer-Encoding: identity\r\nTransfer-Encoding: chunked\r\n\r\n", UNSUPPORTED_TRANSFER_CODING),
        ("transfer-encoding-no-coding", te, px + b"Transfer-Encoding:\r\n\r\n", INVALID_TRANSFER_ENCODING),
        ("transfer-encoding-empty-member", te, px + b"Transfer-Encoding: gzip, , chunked\r\n\r\n", INVALID_TRANSFER_ENCODING),
        ("transfer-encoding-trailing-comma", te, px + b"Transfer-Encoding: chunked,\r\n\r\n", INVALID_TRANSFER_ENCODING),
        ("transfer-encoding-http10", te, b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", TRANSFER_ENCODING_IN_HTTP10),
    ])

    # Content-Length bodies (RFC 9112 §6.2): inline up to inline_body_size, streamed above it
    # (the head as soon as it is complete), up to max_body_size.
    def posted(length: int, body: bytes | None, target: str = "/") -> Any:
        return req("POST", target, HOST_X + [(b"content-length", b"%d" % length)], body)

    length = "9112§6.2"
    px_p = b"POST /p HTTP/1.1\r\nHost: x\r\n"
    big = b"z" * 65536
    inline4 = {"inline_body_size": 4}
    rows += [
        case("ok-content-length-5-inline", length, px_p + b"Content-Length: 5\r\n\r\nhello", [posted(5, b"hello", "/p")]),
        case("ok-content-length-0-inline", length, px_p + b"Content-Length: 0\r\n\r\n", [posted(0, b"", "/p")]),
        case(
            "ok-content-length-leading-zeros-inline",
            length,
            px_p + b"Content-Length: 0002\r\n\r\nhi",
            [req("POST", "/p", HOST_X + [(b"content-length", b"0002")], b"hi")],
        ),
        case("ok-body-at-inline-limit", length, px + b"Content-Length: 4\r\n\r\nabcd", [posted(4, b"abcd")], **inline4),
        case("ok-body-over-inline-limit-streamed", length, px + b"Content-Length: 5\r\n\r\nabcde", [posted(5, None), b"abcde", None], **inline4),
        case("ok-streamed-head-before-its-body", length, px + b"Content-Length: 5\r\n\r\n", [posted(5, None)], open_end=True, **inline4),
        case(
            "ok-streamed-body-then-get",
            length,
            px + b"Content-Length: 5\r\n\r\nabcde" + line_x(b"GET / HTTP/1.1"),
            [posted(5, None), b"abcde", None, getx()],
            **inline4,
        ),
        case("ok-one-byte-body-streamed-inline-limit-0", length, px + b"Content-Length: 1\r\n\r\na", [posted(1, None), b"a", None], inline_body_size=0),
        case("ok-empty-body-inline-limit-0", length, px + b"Content-Length: 0\r\n\r\n", [posted(0, b"")], inline_body_size=0),
        case("ok-body-at-body-limit", length, px + b"Content-Length: 3\r\n\r\nabc", [posted(3, b"abc")], max_body_size=3),
        case("413-body-one-over-body-limit", "9110§15.5.14", px + b"Content-Length: 4\r\n\r\nabcd", [BODY_TOO_LARGE], max_body_size=3),
        case("ok-64-kib-body-inline", length, px + b"Content-Length: 65536\r\n\r\n" + big, [posted(65536, big)]),
        case(
            "ok-64-kib-body-inline-then-a-byte",
            length,
            px + b"Content-Length: 65536\r\n\r\n" + big + b"G",
            [posted(65536, big)],
            open_end=True,
        ),
    ]
    return rows


def _chunked_cases() -> list[Any]:
    rfc = "9112§7.1"
    ext = "9112§7.1.1"
    trailer = "9112§7.1.2"
    start = req("POST", "/up", CHUNKED_HEADERS, None)
    rows = [
        case("ok-chunked-basic", rfc, chunked(b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"), [start, b"hello world", None]),
        case("ok-chunked-empty-body", rfc, chunked(b"0\r\n\r\n"), [start, None]),
        case("ok-chunked-hex-sizes", rfc, chunked(b"a\r\n0123456789\r\nB\r\nabcdefghijk\r\n0\r\n\r\n"), [start, b"0123456789abcdefghijk", None]),
        case("ok-chunked-leading-zeros", rfc, chunked(b"0005\r\nhello\r\n000\r\n\r\n"), [start, b"hello", None]),
        case("ok-chunked-16-digits", rfc, chunked(b"0000000000000005\r\nhello\r\n0\r\n\r\n"), [start, b"hello", None]),
        case("ok-chunked-data-with-crlf", rfc, chunked(b"4\r\n\r\n\r\n\r\n0\r\n\r\n"), [start, b"\r\n\r\n", None]),
        case("ok-chunked-incomplete", rfc, chunked(b"5\r\nhel"), [start, b"hel"], open_end=True),
        case("ok-chunked-head-only", rfc, chunked(b""), [start], open_end=True),
        case(
            "ok-chunk-extensions",
            ext,
            chunked(b'5;a\r\nhello\r\n3;a=b;c="d \\" e"\r\nabc\r\n2 ; x = y\t;z\r\nde\r\n0;last=1\r\n\r\n'),
            [start, b"helloabcde", None],
        ),
        case("ok-chunk-extension-quoted-empty", ext, chunked(b'1;a=""\r\nx\r\n0\r\n\r\n'), [start, b"x", None]),
        case(
            "ok-trailers-dropped",
            trailer,
            chunked(b"5\r\nhello\r\n0\r\nExpires: never\r\nX-Sum:  abc \r\nEmpty:\r\n\r\n"),
            [start, b"hello", None],
        ),
        case("400-chunk-size-missing", rfc, chunked(b"\r\nhello\r\n0\r\n\r\n"), [start, Err(400)]),
        case("400-chunk-size-not-hex", rfc, chunked(b"zz\r\nhello\r\n0\r\n\r\n"), [start, Err(400)]),
        case("400-chunk-size-sign", rfc, chunked(b"+5\r\nhello\r\n0\r\n\r\n"), [start, Err(400)]),
        case("400-chunk-size-0x", rfc, chunked(b"0x5\r\nhello\r\n0\r\n\r\n"), [start, Err(400)]),
        case("400-chunk-size-17-digits", rfc, chunked(b"00000000000000005\r\nhello\r\n0\r\n\r\n"), [start, Err(400)]),
        case("400-chunk-size-overflow", rfc, chunked(b"fffffffffffffffff\r\n"), [start, Err(400)]),
        case("400-chunk-size-leading-space", rfc, chunked(b" 5\r\nhello\r\n0\r\n\r\n"), [start, Err(400)]),
        case("400-chunk-size-trailing-space", ext, chunked(b"5 \r\nhello\r\n0\r\n\r\n"), [start, Err(400)]),
        case("400-chunk-size-bare-lf", rfc, chunked(b"5\nhello\r\n0\r\n\r\n"), [start, Err(400)]),
        case("400-chunk-size-bare-cr", rfc, chunked(b"5\rhello\r\n0\r\n\r\n"), [start, Err(400)]),
        case("400-chunk-data-no-crlf", rfc, chunked(b"5\r\nhelloX\r\n0\r\n\r\n"), [start, b"hello", Err(400)]),
        case("400-chunk-data-too-long", rfc, chunked(b"3\r\nhello\r\n0\r\n\r\n"), [start, b"hel", Err(400)]),
        case("400-chunk-data-bare-lf", rfc, chunked(b"5\r\nhello\n0\r\n\r\n"), [start, b"hello", Err(400)]),
        case("400-chunk-data-cr-only", rfc, chunked(b"5\r\nhello\rX"), [start, b"hello", Err(400)]),
        case("400-last-chunk-bare-lf", rfc, chunked(b"0\n\r\n"), [start, Err(400)]),
        case("400-chunk-ext-empty", ext, chunked(b"5;\r\nhello\r\n0\r\n\r\n"), [start, Err(400)]),
        case("400-chunk-ext-no-name", ext, chunked(b"5;=a\r\nhello\r\n0\r\n\r\n"), [start, Err(400)]),
        case("400-chunk-ext-no-value", ext, chunked(b"5;a=\r\nhello\r\n0\r\n\r\n"), [start, Err(400)]),
        case("400-chunk-ext-unclosed-quote", ext, chunked(b'5;a="b\r\nhello\r\n0\r\n\r\n'), [start, Err(400)]),
        case("400-chunk-ext-bad-char", ext, chunked(b"5;a@b\r\nhello\r\n0\r\n\r\n"), [start, Err(400)]),
        case("400-chunk-ext-ctl-in-quoted", ext, chunked(b'5;a="\x01"\r\nhello\r\n0\r\n\r\n'), [start, Err(400)]),
        case("400-trailer-space-before-colon", trailer, chunked(b"0\r\nX : 1\r\n\r\n"), [start, Err(400)]),
        case("400-trailer-obs-fold", trailer, chunked(b"0\r\nX: 1\r\n 2\r\n\r\n"), [start, Err(400)]),
        case("400-trailer-bare-lf", trailer, chunked(b"0\r\nX: 1\n\r\n"), [start, Err(400)]),
        case("400-trailer-bare-lf-end", trailer, chunked(b"0\r\nX: 1\r\n\n"), [start, Err(400)]),
        case("400-trailer-no-colon", trailer, chunked(b"0\r\nX\r\n\r\n"), [start, Err(400)]),
        case("400-trailer-nul", trailer, chunked(b"0\r\nX: a\x00\r\n\r\n"), [start, Err(400)]),
        case("400-trailer-end-bare-cr", trailer, chunked(b"0\r\n\rX"), [start, Err(400)]),
        case("400-trailer-bare-lf-next-line-unfinished", trailer, chunked(b"0\r\nX: 1\nY"), [start, Err(400)]),
        case("400-chunk-ext-cr-where-line-cannot-end", ext, chunked(b"1;a=\r"), [start, Err(400)]),
        case(
            "431-trailers-count-with-head",
            trailer,
            chunked(b"0\r\nAB:\r\n\r\n"),
            [start, Err(431)],
            max_head_size=len(chunked(b"")) + 6,
        ),
        case(
            "ok-trailers-within-head-limit",
            trailer,
            chunked(b"0\r\nA:\r\n\r\n"),
            [start, None],
            max_head_size=len(chunked(b"")) + 6,
        ),
        case("431-trailer-section-too-large", trailer, chunked(b"0\r\nX: " + b"v" * 200 + b"\r\n\r\n"), [start, Err(431)], max_head_size=128),
        case("431-trailer-section-incomplete-too-large", trailer, chunked(b"0\r\nX: " + b"v" * 200), [start, Err(431)], max_head_size=128),
        # Long trailer lines, as they trickle in: the fault in the last byte, in each part.
        case("ok-long-trailers", trailer, chunked(b"0\r\nX: " + b"v" * 300 + b"\r\n" + b"Y" * 300 + b":\r\n\r\n"), [start, None]),
        case("400-long-trailer-value-nul-last", trailer, chunked(b"0\r\nX: " + b"v" * 300 + b"\x00"), [start, Err(400, "invalid character in header value")]),
        case("400-long-trailer-value-bare-cr-last", trailer, chunked(b"0\r\nX: " + b"v" * 300 + b"\rY"), [start, Err(400, "bare CR without LF")]),
        case("400-long-trailer-name-bad-last", trailer, chunked(b"0\r\nA: 1\r\n" + b"X" * 300 + b"@"), [start, Err(400, "invalid character in header name")]),
        case("400-long-trailer-name-space-last", trailer, chunked(b"0\r\n" + b"X" * 300 + b" "), [start, Err(400, "whitespace between header name and colon")]),
        case("400-trailer-obs-fold-after-long-line", trailer, chunked(b"0\r\nX: " + b"v" * 300 + b"\r\n\t"), [start, Err(400, "obsolete line folding in header")]),
        case("400-trailer-end-bare-cr-after-long-line", trailer, chunked(b"0\r\nX: " + b"v" * 300 + b"\r\n\rX"), [start, Err(400, "bare CR without LF")]),
    ]
    # The trailer section takes what the head left of max_head_size, however it trickles in:
    # a section of 310 bytes ends at the limit, or one byte past it; a fault in the last
    # byte that fits is a 400, one past it a 431; the next request has all its room again.
    section = b"X: " + b"v" * 200 + b"\r\nY: " + b"v" * 100 + b"\r\n\r\n"
    room = {"max_head_size": len(chunked(b"")) + len(section)}
    short = {"max_head_size": len(chunked(b"")) + len(section) - 1}
    rows += [
        case("ok-trailers-end-at-limit", trailer, chunked(b"0\r\n" + section), [start, None], **room),
        case("431-trailers-end-one-past-limit", trailer, chunked(b"0\r\n" + section), [start, Err(431, "trailer section too large")], **short),
        case("400-trailer-fault-in-last-byte-that-fits", trailer, chunked(b"0\r\n" + section[:-1] + b"x"), [start, Err(400, "bare CR without LF")], **room),
        case("431-trailer-fault-one-past-limit", trailer, chunked(b"0\r\n" + section[:-1] + b"x"), [start, Err(431, "trailer section too large")], **short),
        case(
            "ok-trailers-at-limit-then-chunk-line-and-trailers-at-limit",
            trailer,
            chunked(b"0\r\n" + section) + chunked(b"5;a=" + b"v" * (room["max_head_size"] - 6) + b"\r\nhello\r\n0\r\n" + section),
            [start, None, start, b"hello", None],
            **room,
        ),
        case("413-chunked-total-over-limit", rfc, chunked(b"5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n"), [start, b"hello", Err(413)], max_body_size=8),
        case("413-chunked-single-chunk-over-limit", rfc, chunked(b"9\r\n123456789\r\n0\r\n\r\n"), [start, Err(413)], max_body_size=8),
        case("413-chunk-size-before-its-extension", rfc, chunked(b"ff;@\r\n"), [start, Err(413)], max_body_size=8),
        case("413-chunk-size-once-digits-end", rfc, chunked(b"ff\r"), [start, Err(413)], max_body_size=8, open_end=True),
        case("400-chunk-size-empty-line-start", rfc, chunked(b"\r"), [start, Err(400)]),
        case("ok-chunked-at-limit", rfc, chunked(b"4\r\nabcd\r\n4\r\nefgh\r\n0\r\n\r\n"), [start, b"abcdefgh", None], max_body_size=8),
    ]
    # A chunk-size line, CRLF included, may take max_head_size bytes (RFC 9112 §7.1.1: limit
    # chunk extensions); 400 once that many bytes of it are in without its CRLF.
    line = {"max_head_size": 64}  # the head is 58 bytes
    v = b"v"
    rows += [
        case("ok-chunk-line-at-limit", ext, chunked(b"5;a=" + v * 58 + b"\r\nhello\r\n0\r\n\r\n"), [start, b"hello", None], **line),
        case("400-chunk-line-one-over-limit", ext, chunked(b"5;a=" + v * 59 + b"\r\nhello\r\n0\r\n\r\n"), [start, Err(400)], **line),
        case("ok-chunk-line-unfinished-below-limit", ext, chunked(b"5;a=" + v * 59), [start], open_end=True, **line),
        case("400-chunk-line-unfinished-at-limit", ext, chunked(b"5;a=" + v * 60), [start, Err(400)], **line),
        case("400-chunk-line-cr-at-limit", ext, chunked(b"5;a=" + v * 59 + b"\r\n"), [start, Err(400)], **line),
        case("400-chunk-line-quoted-over-limit", ext, chunked(b'5;a="' + b'x\\"' * 40), [start, Err(400)], **line),
        case("400-chunk-line-many-extensions-over-limit", ext, chunked(b"5" + b" ; a" * 20), [start, Err(400)], **line),
        case(
            "400-last-chunk-line-over-limit",
            ext,
            chunked(b"5\r\nhello\r\n0;a=" + v * 100),
            [start, b"hello", Err(400)],
            **line,
        ),
        case(
            "ok-chunk-lines-limited-one-by-one",
            ext,
            chunked(b"5;a=" + v * 58 + b"\r\nhello\r\n0;b=" + v * 58 + b"\r\n\r\n"),
            [start, b"hello", None],
            **line,
        ),
        case("413-chunk-size-before-line-limit", ext, chunked(b"ff;a=" + v * 100), [start, Err(413)], max_body_size=8, **line),
        case(
            "400-chunk-line-over-default-limit",
            ext,
            chunked(b"1;a=" + v * (16384 - 5) + b"\r\nx\r\n0\r\n\r\n"),
            [start, Err(400)],
        ),
    ]
    # The chunked POST to /c of a bare-bones client (Host: x).
    x = CHUNKED_X_START
    rows += [
        case(f"ok-chunked-{name}", section, chunked_x(body), [x, *([data] if data else []), None])
        for name, section, body, data in [
            ("one-chunk", rfc, b"5\r\nhello\r\n0\r\n\r\n", b"hello"),
            ("two-chunks", rfc, b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", b"hello world"),
            ("hex-sizes-both-cases", rfc, b"A\r\n0123456789\r\n1a\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n\r\n",
             b"0123456789abcdefghijklmnopqrstuvwxyz"),
            ("16-hex-digit-sizes", rfc, b"0000000000000003\r\nabc\r\n0000000000000000\r\n\r\n", b"abc"),
            ("extensions-tokens-and-quoted", ext, b'3;a\r\nabc\r\n3;a=b;c="d e";f\r\ndef\r\n0;last\r\n\r\n', b"abcdef"),
            ("extensions-bws", ext, b"3 ;\ta = b ; c=d\r\nabc\r\n0 ; x\r\n\r\n", b"abc"),
            ("extension-quoted-pairs", ext, b'3;a="x\\"y\\\\"\r\nabc\r\n0\r\n\r\n', b"abc"),
            ("extension-quoted-obs-text", ext, b'3;a="\x80\xff\t;="\r\nabc\r\n0\r\n\r\n', b"abc"),
            ("extension-and-trailer", ext, b'5;e="v"\r\nhello\r\n0\r\nT: v\r\n\r\n', b"hello"),
            ("trailers-are-dropped", trailer, b"3\r\nabc\r\n0\r\nExpires: never\r\nX-Sum: 1\r\n\r\n", b"abc"),
            ("no-chunks", rfc, b"0\r\n\r\n", b""),
            ("data-of-crlfs", rfc, b"4\r\n\r\n\r\n\r\n0\r\n\r\n", b"\r\n\r\n"),
        ]
    ]
    rows.append(
        case("ok-get-after-chunked-body", "9112§9.3.2", chunked_x(b"1\r\na\r\n0\r\n\r\n") + line_x(b"GET /next HTTP/1.1"),
             [x, b"a", None, getx("/next")])
    )
    # Faults in a chunk-size line, after chunk data, and in the trailer section: the head (and
    # the data before the fault) first, the error last.
    rows += [
        case(f"{error.status}-{name}", section, chunked_x(body), [x, *data, error])
        for name, section, body, data, error in [
            ("chunk-size-absent", rfc, b"\r\nabc\r\n0\r\n\r\n", [], INVALID_CHUNK_SIZE),
            ("chunk-size-g", rfc, b"g\r\nabc\r\n0\r\n\r\n", [], INVALID_CHUNK_SIZE),
            ("chunk-size-plus-sign", rfc, b"+3\r\nabc\r\n0\r\n\r\n", [], INVALID_CHUNK_SIZE),
            ("chunk-size-0x-prefix", rfc, b"0x3\r\nabc\r\n0\r\n\r\n", [], INVALID_CHUNK_SIZE),
            ("chunk-size-17-digits-leading-zeros", rfc, b"00000000000000003\r\nabc\r\n0\r\n\r\n", [], INVALID_CHUNK_SIZE),
            ("chunk-size-17-hex-fs", rfc, b"fffffffffffffffff\r\n", [], INVALID_CHUNK_SIZE),
            ("chunk-size-after-a-space", rfc, b" 3\r\nabc\r\n0\r\n\r\n", [], INVALID_CHUNK_SIZE),
            ("bare-lf-ends-chunk-size", rfc, b"3\nabc\r\n0\r\n\r\n", [], BARE_LF),
            ("bare-lf-ends-chunk-ext", rfc, b"3;a=b\nabc\r\n0\r\n\r\n", [], BARE_LF),
            ("bare-cr-after-chunk-size", rfc, b"3\rabc\r\n0\r\n\r\n", [], BARE_CR),
            ("chunk-ext-nothing-after-semicolon", ext, b"3;\r\nabc\r\n0\r\n\r\n", [], INVALID_CHUNK_EXTENSION),
            ("chunk-ext-value-without-name", ext, b"3;=b\r\nabc\r\n0\r\n\r\n", [], INVALID_CHUNK_EXTENSION),
            ("chunk-ext-equals-then-nothing", ext, b"3;a=\r\nabc\r\n0\r\n\r\n", [], INVALID_CHUNK_EXTENSION),
            ("chunk-size-then-space", ext, b"3 \r\nabc\r\n0\r\n\r\n", [], INVALID_CHUNK_EXTENSION),
            ("chunk-ext-value-then-space", ext, b"3;a=b \r\nabc\r\n0\r\n\r\n", [], INVALID_CHUNK_EXTENSION),
            ("chunk-ext-at-sign", ext, b"3;a@b\r\nabc\r\n0\r\n\r\n", [], INVALID_CHUNK_EXTENSION),
            ("chunk-ext-quote-not-closed", ext, b'3;a="bc\r\nabc\r\n0\r\n\r\n', [], INVALID_CHUNK_EXTENSION),
            ("chunk-ext-text-after-quote", ext, b'3;a="b"c\r\nabc\r\n0\r\n\r\n', [], INVALID_CHUNK_EXTENSION),
            ("chunk-ext-control-in-quotes", ext, b'3;a="\x01"\r\nabc\r\n0\r\n\r\n', [], INVALID_CHUNK_EXTENSION),
            ("chunk-ext-control-in-quoted-pair", ext, b'3;a="\\\x01"\r\nabc\r\n0\r\n\r\n', [], INVALID_CHUNK_EXTENSION),
            ("chunk-data-one-byte-too-many", rfc, b"3\r\nabcd\r\n0\r\n\r\n", [b"abc"], MISSING_CHUNK_CRLF),
            ("chunk-data-then-lf", rfc, b"3\r\nabc\n0\r\n\r\n", [b"abc"], MISSING_CHUNK_CRLF),
            ("chunk-data-then-cr", rfc, b"3\r\nabc\r0\r\n\r\n", [b"abc"], MISSING_CHUNK_CRLF),
            ("trailer-continuation-line", trailer, b"0\r\nA: b\r\n c\r\n\r\n", [], OBS_FOLD),
            ("trailer-name-with-parenthesis", trailer, b"0\r\nA(b: c\r\n\r\n", [], INVALID_HEADER_NAME),
            ("trailer-space-then-colon", trailer, b"0\r\nA : c\r\n\r\n", [], WHITESPACE_BEFORE_COLON),
            ("trailer-value-nul", trailer, b"0\r\nA: \x00\r\n\r\n", [], INVALID_HEADER_VALUE),
            ("trailer-line-bare-lf", trailer, b"0\r\nA: b\n\r\n", [], BARE_LF),
            ("trailer-bare-lf-then-unfinished-line", trailer, b"0\r\nA: b\nC", [], BARE_LF),
            ("trailer-blank-line-bare-lf", trailer, b"0\r\n\n", [], BARE_LF),
            ("trailer-blank-line-bare-cr", trailer, b"0\r\n\rx", [], BARE_CR),
        ]
    ]
    # 413 once the decoded total passes max_body_size, at the chunk size that passes it.
    total = "9110§15.5.14"
    five = {"max_body_size": 5}
    rows += [
        case("ok-chunks-add-up-to-body-limit", total, chunked_x(b"2\r\nab\r\n3\r\ncde\r\n0\r\n\r\n"), [x, b"abcde", None], **five),
        case("413-second-chunk-passes-body-limit", total, chunked_x(b"2\r\nab\r\n4\r\ncdef\r\n0\r\n\r\n"), [x, b"ab", BODY_TOO_LARGE], **five),
        case("413-first-chunk-over-body-limit", total, chunked_x(b"6;x\r\nabcdef\r\n0\r\n\r\n"), [x, BODY_TOO_LARGE], **five),
        case("413-16-hex-digits-over-default-body-limit", total, chunked_x(b"ffffffffffffffff\r\n"), [x, BODY_TOO_LARGE]),
    ]
    # The trailer section shares max_head_size with its head.
    section = b"A: 123\r\n\r\n"
    room = len(CHUNKED_X) + len(section)
    rows += [
        case("ok-trailers-exactly-at-head-limit", trailer, chunked_x(b"0\r\n" + section), [x, None], max_head_size=room),
        case("431-trailers-one-byte-over", trailer, chunked_x(b"0\r\n" + section), [x, TRAILERS_TOO_LARGE], max_head_size=room - 1),
        case("ok-unfinished-trailers-at-head-limit", trailer, chunked_x(b"0\r\n" + section[:-1]), [x], open_end=True,
             max_head_size=room - 1),
        case("431-unfinished-trailers-over-head-limit", trailer, chunked_x(b"0\r\n" + section[:-1]), [x, TRAILERS_TOO_LARGE],
             max_head_size=room - 2),
        case("431-no-room-for-the-blank-line", trailer, chunked_x(b"0\r\n\r\n"), [x, TRAILERS_TOO_LARGE], max_head_size=len(CHUNKED_X) + 1),
    ]
    # A chunk-size line, CRLF included, may take max_head_size bytes; faults in those bytes
    # first, 400 at the byte that reaches the limit without ending the line.
    line = {"max_head_size": 64}
    too_long = CHUNK_EXTENSION_TOO_LONG
    rows += [
        case("ok-size-line-at-limit", ext, chunked_x(b"5;a=" + v * 58 + b"\r\nhello\r\n0\r\n\r\n"), [x, b"hello", None], **line),
        case("400-size-line-one-over", ext, chunked_x(b"5;a=" + v * 59 + b"\r\nhello\r\n0\r\n\r\n"), [x, too_long], **line),
        case("ok-size-line-unfinished-one-short", ext, chunked_x(b"5;a=" + v * 59), [x], open_end=True, **line),
        case("400-size-line-unfinished-at-limit", ext, chunked_x(b"5;a=" + v * 60), [x, too_long], **line),
        case("400-size-line-cr-at-limit", ext, chunked_x(b"5;a=" + v * 59 + b"\r"), [x, too_long], **line),
        case("400-size-line-cr-at-limit-then-lf", ext, chunked_x(b"5;a=" + v * 59 + b"\r\n"), [x, too_long], **line),
        case("400-size-line-bare-lf-at-limit", "9112§2.2", chunked_x(b"5;a=" + v * 59 + b"\nhello"), [x, BARE_LF], **line),
        case("400-size-line-bad-byte-at-limit", ext, chunked_x(b"5;a=" + v * 59 + b"@"), [x, INVALID_CHUNK_EXTENSION], **line),
        case("400-size-line-bad-byte-past-limit", ext, chunked_x(b"5;a=" + v * 60 + b"@"), [x, too_long], **line),
        case("400-size-line-quoted-pairs-over", ext, chunked_x(b'5;a="' + b'x\\"' * 40), [x, too_long], **line),
        case("400-size-line-extensions-over", ext, chunked_x(b"5" + b" ; a" * 20), [x, too_long], **line),
        case("400-last-chunk-line-over", ext, chunked_x(b"5\r\nhello\r\n0;a=" + v * 100), [x, b"hello", too_long], **line),
        case("ok-every-size-line-its-own-limit", ext, chunked_x(b"5;a=" + v * 58 + b"\r\nhello\r\n0;b=" + v * 58 + b"\r\n\r\n"),
             [x, b"hello", None], **line),
        case("400-chunk-size-17-zeros", rfc, chunked_x(b"0" * 17 + b"\r\n"), [x, INVALID_CHUNK_SIZE], **line),
        case("413-size-judged-before-line-limit", ext, chunked_x(b"ff;a=" + v * 100), [x, BODY_TOO_LARGE], max_body_size=8, **line),
        case("ok-size-line-at-default-limit", ext, chunked_x(b"1;a=" + v * (16384 - 6) + b"\r\nx\r\n0\r\n\r\n"), [x, b"x", None]),
        case("400-size-line-over-default-limit", ext, chunked_x(b"1;a=" + v * (16384 - 5) + b"\r\nx\r\n0\r\n\r\n"), [x, too_long]),
        case("ok-quoted-extension-one-short-of-limit", ext, chunked_x(b'1;a="' + b"x" * 994), [x], open_end=True, max_head_size=1000),
        case("400-quoted-extension-reaches-limit", ext, chunked_x(b'1;a="' + b"x" * 995), [x, too_long], max_head_size=1000),
    ]
    return rows


def _expect_cases() -> list[Any]:
    """RFC 9110 §10.1.1: a body the client holds back for 100 Continue is never inline."""
    rfc = "9110§10.1.1"
    post = b"POST /up HTTP/1.1\r\nHost: a\r\n"

    def expecting(value: bytes, length: bytes | None = b"5", version: int = 1) -> list[tuple[bytes, bytes]]:
        fields = ([(b"host", b"a")] if version else []) + [(b"expect", value)]
        return fields + ([] if length is None else [(b"content-length", length)])

    rows = [
        case("expect-small-body-follows", rfc, post + b"Expect: 100-continue\r\nContent-Length: 5\r\n\r\nhello",
             [req("POST", "/up", expecting(b"100-continue"), None), b"hello", None]),
        case("expect-head-alone-is-reported", rfc, post + b"Expect: 100-continue\r\nContent-Length: 5\r\n\r\n",
             [req("POST", "/up", expecting(b"100-continue"), None)], open_end=True),
        case("expect-case-insensitive", rfc, post + b"Expect: 100-CONTINUE\r\nContent-Length: 5\r\n\r\nhello",
             [req("POST", "/up", expecting(b"100-CONTINUE"), None), b"hello", None]),
        case("expect-list-empty-members", "9110§5.6.1.2", post + b"Expect: , 100-continue ,\r\nContent-Length: 5\r\n\r\nhello",
             [req("POST", "/up", expecting(b", 100-continue ,"), None), b"hello", None]),
        case("expect-large-body", rfc, post + b"Expect: 100-continue\r\nContent-Length: 5\r\n\r\nhello",
             [req("POST", "/up", expecting(b"100-continue"), None), b"hello", None], inline_body_size=2),
        case("expect-chunked", rfc, chunked(b"5\r\nhello\r\n0\r\n\r\n", b"Expect: 100-continue\r\n"),
             [req("POST", "/up", CHUNKED_HEADERS + [(b"expect", b"100-continue")], None), b"hello", None]),
        case("expect-no-content", rfc, post + b"Expect: 100-continue\r\nContent-Length: 0\r\n\r\n",
             [req("POST", "/up", expecting(b"100-continue", b"0"))]),
        case("expect-no-framing", rfc, post + b"Expect: 100-continue\r\n\r\n",
             [req("POST", "/up", expecting(b"100-continue", None))]),
        case("expect-empty-value-is-none", "9110§5.6.1.2", post + b"Expect:\r\nContent-Length: 5\r\n\r\nhello",
             [req("POST", "/up", expecting(b""), b"hello")]),
        case("expect-then-pipelined", rfc, post + b"Expect: 100-continue\r\nContent-Length: 5\r\n\r\nhello" + get(b"/2"),
             [req("POST", "/up", expecting(b"100-continue"), None), b"hello", None, req(target="/2")]),
        case("expect-http10-ignored", rfc, b"POST /up HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello",
             [req("POST", "/up", expecting(b"100-continue", version=0), b"hello", version=0, keep_alive=False)]),
        case("expect-http10-unknown-ignored", rfc, b"POST /up HTTP/1.0\r\nExpect: foo\r\nContent-Length: 5\r\n\r\nhello",
             [req("POST", "/up", expecting(b"foo", version=0), b"hello", version=0, keep_alive=False)]),
        case("417-unknown-expectation", "9110§15.5.18", post + b"Expect: foo\r\nContent-Length: 5\r\n\r\nhello", [Err(417)]),
        case("417-continue-with-parameter", "9110§15.5.18", post + b"Expect: 100-continue;x=1\r\nContent-Length: 5\r\n\r\n", [Err(417)]),
        case("417-continue-and-unknown", "9110§15.5.18", post + b"Expect: 100-continue\r\nExpect: 102-processing\r\n\r\n", [Err(417)]),
        case("417-without-body", "9110§15.5.18", get(extra=b"Expect: foo\r\n"), [Err(417)]),
        case("413-before-417", "9110§15.5.14", post + b"Expect: foo\r\nContent-Length: 17\r\n\r\n", [Err(413)], max_body_size=16),
        case("413-expect-from-head-alone", "9110§15.5.14", post + b"Expect: 100-continue\r\nContent-Length: 17\r\n\r\n", [Err(413)],
             max_body_size=16),
        case("400-before-417", "9112§3.2", b"POST /up HTTP/1.1\r\nExpect: foo\r\n\r\n", [Err(400)]),
    ]
    px = b"POST / HTTP/1.1\r\nHost: x\r\n"

    def expect_x(value: bytes, length: int, body: bytes | None = None) -> Any:
        return req("POST", "/", HOST_X + [(b"expect", value), (b"content-length", b"%d" % length)], body)

    rows += [
        case("expect-small-body-streamed", rfc, px + b"Expect: 100-continue\r\nContent-Length: 3\r\n\r\nabc",
             [expect_x(b"100-continue", 3), b"abc", None]),
        case("expect-head-before-its-body", rfc, px + b"Expect: 100-Continue\r\nContent-Length: 3\r\n\r\n",
             [expect_x(b"100-Continue", 3)], open_end=True),
        case("expect-list-leading-comma", "9110§5.6.1.2", px + b"Expect: ,100-continue\r\nContent-Length: 1\r\n\r\na",
             [expect_x(b",100-continue", 1), b"a", None]),
        case("expect-empty-body-inline", rfc, px + b"Expect: 100-continue\r\nContent-Length: 0\r\n\r\n",
             [expect_x(b"100-continue", 0, b"")]),
        case("expect-empty-value-body-inline", "9110§5.6.1.2", px + b"Expect:\r\nContent-Length: 1\r\n\r\na",
             [expect_x(b"", 1, b"a")]),
        case("expect-http10-foo-body-inline", rfc, b"POST / HTTP/1.0\r\nExpect: foo\r\nContent-Length: 1\r\n\r\na",
             [req("POST", "/", [(b"expect", b"foo"), (b"content-length", b"1")], b"a", version=0, keep_alive=False)]),
    ]
    rows += faults([
        (f"expect-{name}", "9110§15.5.18", px + b"Expect: " + value + b"\r\nContent-Length: 1\r\n\r\na", UNSUPPORTED_EXPECTATION)
        for name, value in [
            ("foo", b"foo"),
            ("continue-with-parameter", b"100-continue;a=b"),
            ("continue-and-foo", b"100-continue, foo"),
            ("continuex", b"100-continuex"),
        ]
    ])
    rows += faults([
        ("expect-foo-body-over-default-limit", "9110§15.5.14", px + b"Expect: foo\r\nContent-Length: 99999999999\r\n\r\n", BODY_TOO_LARGE),
        ("expect-foo-without-host", "9112§3.2", b"POST / HTTP/1.1\r\nExpect: foo\r\n\r\n", MISSING_HOST),
    ])
    return rows


def _keep_alive_cases() -> list[Any]:
    rfc = "9112§9.3"

    def conn(version: bytes, value: bytes | None) -> bytes:
        field = b"" if value is None else b"Connection: " + value + b"\r\n"
        return b"GET / " + version + b"\r\nHost: a\r\n" + field + b"\r\n"

    def expect(value: bytes | None, version: int, keep_alive: bool) -> list[Any]:
        headers = [(b"host", b"a")] + ([] if value is None else [(b"connection", value)])
        return [req(headers=headers, version=version, keep_alive=keep_alive)]

    rows = []
    for version, minor in ((b"HTTP/1.1", 1), (b"HTTP/1.0", 0)):
        for value, persistent in [
            (None, minor == 1),
            (b"close", False),
            (b"Close", False),
            (b"keep-alive", True),
            (b"Keep-Alive", True),
            (b"keep-alive, close", False),
            (b"upgrade", minor == 1),
            (b"foo ,\tCLOSE", False),
            (b"closed", minor == 1),
        ]:
            label = "none" if value is None else value.decode().replace(" ", "").replace(",", "+").replace("\t", "")
            rows.append(
                case(f"keep-alive-http1{minor}-{label}", rfc, conn(version, value), expect(value, minor, persistent))
            )
    rows.append(
        case(
            "keep-alive-close-in-second-field",
            rfc,
            b"GET / HTTP/1.1\r\nHost: a\r\nConnection: foo\r\nConnection: close\r\n\r\n",
            [req(headers=[(b"host", b"a"), (b"connection", b"foo"), (b"connection", b"close")], keep_alive=False)],
        )
    )
    rows.append(
        case(
            "keep-alive-http10-close-in-second-field",
            rfc,
            b"GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n",
            [req(headers=[(b"connection", b"keep-alive"), (b"connection", b"close")], version=0, keep_alive=False)],
        )
    )
    # Connection options of a bare-bones client (Host: x in HTTP/1.1).
    for name, minor, values, persistent in [
        ("close", 1, [b"close"], False),
        ("upgrade-and-close-list", 1, [b"Upgrade ,CLOSE"], False),
        ("keep-alive-then-close-field", 1, [b"keep-alive", b"close"], False),
        ("keep-alive", 1, [b"keep-alive"], True),
        ("closed-is-not-close", 1, [b"closed"], True),
        ("http10-keep-alive-capitals", 0, [b"Keep-Alive"], True),
        ("http10-keep-alive-and-close-list", 0, [b"keep-alive, close"], False),
        ("http10-other-then-keep-alive-field", 0, [b"x", b"keep-alive"], True),
    ]:
        host = HOST_X if minor else []
        raw = b"GET / HTTP/1.%d\r\n" % minor + (b"Host: x\r\n" if minor else b"")
        raw += b"".join(b"Connection: " + value + b"\r\n" for value in values) + b"\r\n"
        fields = host + [(b"connection", value) for value in values]
        rows.append(case(f"connection-{name}", rfc, raw, [req(headers=fields, version=minor, keep_alive=persistent)]))
    return rows


def _pipelining_cases() -> list[Any]:
    rfc = "9112§9.3.2"
    close = b"GET /c HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
    closed = req(target="/c", headers=[(b"host", b"a"), (b"connection", b"close")], keep_alive=False)
    inline = b"POST /i HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
    inline_req = req("POST", "/i", [(b"host", b"a"), (b"content-length", b"3")], b"abc")
    chunk = chunked(b"3\r\nxyz\r\n0\r\nT: 1\r\n\r\n")
    chunk_req = req("POST", "/up", CHUNKED_HEADERS, None)
    rows = [
        case(
            "pipeline-four-requests",
            rfc,
            get(b"/1") + inline + chunk + get(b"/4"),
            [req(target="/1"), inline_req, chunk_req, b"xyz", None, req(target="/4")],
        ),
        case(
            "pipeline-streamed-body-then-get",
            rfc,
            b"PUT /s HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\n\r\n123456" + get(b"/2") + b"\r\n" + get(b"/3"),
            [req("PUT", "/s", [(b"host", b"a"), (b"content-length", b"6")], None), b"123456", None, req(target="/2"), req(target="/3")],
            inline_body_size=4,
        ),
        case("pipeline-partial-last", rfc, get(b"/1") + get(b"/2") + b"GET /3 HTTP/1.1\r\nHo", [req(target="/1"), req(target="/2")], open_end=True),
        case("stop-after-connection-close", rfc, get(b"/1") + close + get(b"/3"), [req(target="/1"), closed]),
        case("stop-after-close-ignores-garbage", rfc, close + b"\x00\x01 garbage\r\n\r\n", [closed]),
        case("stop-after-http10", rfc, b"GET /a HTTP/1.0\r\n\r\n" + get(b"/b"), [req(target="/a", headers=[], version=0, keep_alive=False)]),
        case(
            "stop-after-close-with-chunked-body",
            rfc,
            chunked(b"2\r\nhi\r\n0\r\n\r\n", extra=b"Connection: close\r\n") + get(b"/next"),
            [req("POST", "/up", CHUNKED_HEADERS + [(b"connection", b"close")], None, keep_alive=False), b"hi", None],
        ),
        case(
            "stop-after-close-with-inline-body",
            rfc,
            b"POST / HTTP/1.1\r\nHost: a\r\nConnection: close\r\nContent-Length: 2\r\n\r\nhi" + get(b"/next"),
            [req("POST", "/", [(b"host", b"a"), (b"connection", b"close"), (b"content-length", b"2")], b"hi", keep_alive=False)],
        ),
        case("error-stops-pipeline", rfc, get(b"/1") + b"G@T / HTTP/1.1\r\nHost: a\r\n\r\n" + get(b"/3"), [req(target="/1"), Err(400)]),
        case("error-in-second-request-only", rfc, get(b"/1") + get(b"/2", version=b"HTTP/2.0") + get(b"/3"), [req(target="/1"), Err(505)]),
        case("error-after-chunked-body", rfc, chunk + b"GET / HTTP/1.1\r\n\r\n" + get(), [chunk_req, b"xyz", None, Err(400)]),
        case(
            "upgrade-is-just-a-request",
            "9110§7.8",
            b"GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n" + get(b"/2"),
            [req(target="/ws", headers=[(b"host", b"a"), (b"connection", b"Upgrade"), (b"upgrade", b"websocket")]), req(target="/2")],
        ),
        case(
            "connect-then-request",
            "9112§3.2.3",
            b"CONNECT a:1 HTTP/1.1\r\nHost: a\r\n\r\n" + get(b"/2"),
            [req("CONNECT", "a:1"), req(target="/2")],
        ),
        case(
            "content-length-body-looks-like-request",
            "9112§6.3",
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 28\r\n\r\n" + get(b"/x") + get(b"/2"),
            [req("POST", "/", [(b"host", b"a"), (b"content-length", b"28")], get(b"/x")), req(target="/2")],
        ),
    ]
    # Pipelines of a bare-bones client (Host: x).
    http10 = req(target="/1", headers=[], version=0, keep_alive=False)
    rows += [
        case("pipeline-three-gets", rfc, b"".join(line_x(b"GET /%d HTTP/1.1" % i) for i in (1, 2, 3)), [getx("/1"), getx("/2"), getx("/3")]),
        case(
            "pipeline-body-crlf-get-unfinished-get",
            rfc,
            b"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi\r\n\r\n" + line_x(b"GET /b HTTP/1.1") + b"GET /c HTTP",
            [req("POST", "/a", HOST_X + [(b"content-length", b"2")], b"hi"), getx("/b")],
            open_end=True,
        ),
        case(
            "stop-after-close-host-x",
            "9112§9.6",
            b"GET /1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" + line_x(b"GET /2 HTTP/1.1"),
            [req(target="/1", headers=HOST_X + [(b"connection", b"close")], keep_alive=False)],
        ),
        case("stop-after-http10-then-get", "9112§9.3", b"GET /1 HTTP/1.0\r\n\r\n" + line_x(b"GET /2 HTTP/1.1"), [http10]),
        case("stop-after-http10-then-garbage", "9112§9.6", b"GET /1 HTTP/1.0\r\n\r\n\x00\x01garbage", [http10]),
        case(
            "stop-after-close-and-streamed-body",
            "9112§9.6",
            b"POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\n\r\n",
            [req("POST", "/", HOST_X + [(b"connection", b"close"), (b"content-length", b"3")], None, keep_alive=False), b"abc", None],
            inline_body_size=0,
        ),
        case(
            "stop-after-close-and-chunked-body",
            "9112§9.6",
            b"POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n"
            + line_x(b"GET / HTTP/1.1"),
            [req("POST", "/", HOST_X + [(b"connection", b"close"), (b"transfer-encoding", b"chunked")], None, keep_alive=False), b"a", None],
        ),
        case(
            "error-after-a-get",
            rfc,
            line_x(b"GET /1 HTTP/1.1") + line_x(b"GET /2 HTTP/9.9") + line_x(b"GET /3 HTTP/1.1"),
            [getx("/1"), UNSUPPORTED_VERSION],
        ),
    ]
    return rows


def _partial_cases() -> list[Any]:
    rfc = "9112§2.2"
    return [
        case("partial-request-line", rfc, b"GET /index.ht", [], open_end=True),
        case("partial-head", rfc, b"GET / HTTP/1.1\r\nHost: a\r\n", [], open_end=True),
        case("partial-head-cr", rfc, b"GET / HTTP/1.1\r\nHost: a\r\n\r", [], open_end=True),
        case("partial-empty-lines", rfc, b"\r\n\r\n\r", [], open_end=True),
        case("partial-inline-body", "9112§6.3", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhel", [], open_end=True),
        case("partial-version-http20", rfc, b"GET / HTTP/2.0", [], open_end=True),
    ]


def _differential_regression_cases() -> list[Any]:
    """Found by tests/test_differential.py: inputs on which the backends disagreed."""
    return [
        # A CR that starts no empty line is a bare CR, judged before the head (and its size
        # limit) begins; the twin answered 431 for a head limit of one byte.
        case("400-bare-cr-before-request-line-one-byte-head-limit", "9112§2.2", b"\r\r\n", [Err(400)], max_head_size=1),
    ]


CASES: list[Any] = (
    _request_line_cases()
    + _line_ending_cases()
    + _field_cases()
    + _host_cases()
    + _trickled_head_cases()
    + _framing_cases()
    + _expect_cases()
    + _chunked_cases()
    + _keep_alive_cases()
    + _pipelining_cases()
    + _partial_cases()
    + _differential_regression_cases()
)

# Inputs for the differential test beyond the table: odd shapes the table does not pin down.
DIFFERENTIAL_INPUTS: list[bytes] = [
    b"\n" + VALID,
    b"\r\n" * 50 + VALID,
    b"GET / HTTP/1.1\r\nHost: a\r\n\r\n\r\n" + VALID,
    b"GET http://a HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET HTTP://A/ HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET h+t.t-p://a/ HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET 1http://a/ HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET http:/a HTTP/1.1\r\nHost: a\r\n\r\n",
    b"OPTIONS ** HTTP/1.1\r\nHost: a\r\n\r\n",
    b"OPTIONS http://a/ HTTP/1.1\r\nHost: a\r\n\r\n",
    b"CONNECT a: HTTP/1.1\r\nHost: a\r\n\r\n",
    b"CONNECT :80 HTTP/1.1\r\nHost: a\r\n\r\n",
    b"CONNECT user@a:80 HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nX:\x80\xff\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1;a=b;c\r\nx\r\n0\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1;a=\"\\\"\"\r\nx\r\n0\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1;a=\"\\\r\nx\r\n0\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\t;a\r\nx\r\n0\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nContent-Length: x\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nTransfer-Encoding: gzip\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + VALID,
    b"POST / HTTP/1.0\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\nabc" + VALID,
    b"GET / HTTP/1.1\r\nHost: a\r\nConnection: ,,close,,\r\n\r\n" + VALID,
    b"GET / HTTP/1.1\r\nHost: a\r\nConnection:\r\n\r\n" + VALID,
    b"GET / HTTP/1.1\r\nHost: a, b\r\n\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",  # a TLS ClientHello on the plain port
    b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",  # the HTTP/2 preface
    b"GET / HTTP/1.1\r\nHost: a\r\n" + b"X: 1\r\n" * 99 + b"\r\n",
    b"GET /" + b"a" * 8191 + b" HTTP/1.1\r\nHost: a\r\n\r\n",
    # Several problems in one head: the first in byte order decides.
    b"GET /\x00 HTTP/2.0\r\nHost: a\r\n\r\n",
    b"G@T * HTTP/2.0\r\n\r\n",
    b"CONNECT /x HTTP/2.0\r\n\r\n",
    b"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\nX@: 1\r\n\r\n",
    b"GET / HTTP/1.1\r\nContent-Length: x\r\n" + b"X: " + b"v" * 17000,
    b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n" + b"X: " + b"v" * 17000,
    b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\nContent-Length: x\r\n\r\n",
    b"GET / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\nTransfer-Encoding: chunked\r\n\r\n",
    b"POST / HTTP/1.0\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" + b"f" * 17 + b";@\r\n",
]
