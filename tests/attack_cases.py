"""The attack table: hostile and borderline requests, each with its outcome and its RFC section.

Strategy: this module owns the rows that show wirespeed cannot be the weak link of a
request-smuggling chain. The rows are grouped as the threats are: framing conflicts, chunked
bodies, line endings and characters, the request line, Host, request-target forms, and what
follows an error. Each row is a `parser_cases.Case` (raw bytes, expected events, RFC section,
limits). A rejection is `Err(status, detail)`: the detail is the phrase the server puts after
the status in its plain-text answer, so the rows pin the words a client sees as well as the
code. `test_parser.py` feeds every row to both parser backends whole, byte by byte and split at
every position; `test_attacks_live.py` sends every row to a live server on both backends; and
`cargo test` runs every row through the Rust parser from tests/parser_cases.json (written by
tests/case_table.py). The sections the rows cite are those of tests/RULES.md.
"""

from __future__ import annotations

from typing import Any

from parser_cases import CHUNKED_HEADERS, Err, case, chunked, get, req

POST = b"POST /up HTTP/1.1\r\nHost: a\r\n"
SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n"
BOTH = "both Content-Length and Transfer-Encoding"
BAD_CL = "invalid Content-Length"
NOT_CHUNKED = "final transfer coding is not chunked"
BAD_VALUE = "invalid character in header value"
BAD_NAME = "invalid character in header name"
BAD_SIZE = "invalid chunk size"
BAD_EXT = "invalid chunk extension"
NO_CRLF = "missing CRLF after chunk data"
BARE_LF = "bare LF line ending"
BARE_CR = "bare CR without LF"


def post(fields: bytes, body: bytes = b"") -> bytes:
    """A POST to /up with Host: a, the given field lines and body."""
    return POST + fields + b"\r\n" + body


def posted(fields: list[tuple[bytes, bytes]], body: bytes | None) -> Any:
    """The expected request event of `post`."""
    return req("POST", "/up", [(b"host", b"a"), *fields], body)


def _framing_conflicts() -> list[Any]:
    te = "9112§6.1"
    cl = "9112§6.3"
    dup = "9110§8.6"
    rows = [
        # Content-Length with Transfer-Encoding: the classic CL.TE / TE.CL desync (§6.1 ¶15).
        case("cl-te", te, post(b"Content-Length: 6\r\nTransfer-Encoding: chunked\r\n", b"0\r\n\r\nG"), [Err(400, BOTH)]),
        case("te-cl", te, post(b"Transfer-Encoding: chunked\r\nContent-Length: 4\r\n", b"5c\r\nGPOST"), [Err(400, BOTH)]),
        case("cl-te-identity", te, post(b"Content-Length: 3\r\nTransfer-Encoding: identity\r\n", b"abc"), [Err(400, BOTH)]),
        case("cl-zero-te", te, post(b"Content-Length: 0\r\nTransfer-Encoding: chunked\r\n", b"0\r\n\r\n"), [Err(400, BOTH)]),
        case("cl-te-smuggled-get", te, post(b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n", b"0\r\n\r\n") + SMUGGLED, [Err(400, BOTH)]),
        # Two Content-Length fields, equal or not, are refused (RFC 9110 §8.6 lets a recipient
        # refuse; accepting them would leave the choice of value to the next hop).
        case("cl-twice-equal", dup, post(b"Content-Length: 3\r\nContent-Length: 3\r\n", b"abc"), [Err(400, "conflicting Content-Length")]),
        case("cl-twice-different", dup, post(b"Content-Length: 3\r\nContent-Length: 10\r\n", b"abc"), [Err(400, "conflicting Content-Length")]),
        case("cl-twice-case", dup, post(b"content-length: 3\r\nCONTENT-LENGTH: 3\r\n", b"abc"), [Err(400, "conflicting Content-Length")]),
        case("cl-list-equal", dup, post(b"Content-Length: 3, 3\r\n", b"abc"), [Err(400, BAD_CL)]),
        case("cl-list-different", dup, post(b"Content-Length: 3,10\r\n", b"abc"), [Err(400, BAD_CL)]),
        case("cl-plus", cl, post(b"Content-Length: +3\r\n", b"abc"), [Err(400, BAD_CL)]),
        case("cl-minus", cl, post(b"Content-Length: -3\r\n", b"abc"), [Err(400, BAD_CL)]),
        case("cl-inner-space", cl, post(b"Content-Length: 1 3\r\n", b"abc"), [Err(400, BAD_CL)]),
        case("cl-vertical-tab", cl, post(b"Content-Length: 3\x0b\r\n", b"abc"), [Err(400, BAD_VALUE)]),
        case("cl-hex", cl, post(b"Content-Length: 0x3\r\n", b"abc"), [Err(400, BAD_CL)]),
        case("cl-hex-digits", cl, post(b"Content-Length: 1a\r\n", b"abc"), [Err(400, BAD_CL)]),
        case("cl-word", cl, post(b"Content-Length: three\r\n", b"abc"), [Err(400, BAD_CL)]),
        case("cl-empty", cl, post(b"Content-Length:\r\n", b"abc"), [Err(400, BAD_CL)]),
        case("cl-decimal", cl, post(b"Content-Length: 3.0\r\n", b"abc"), [Err(400, BAD_CL)]),
        case("cl-exponent", cl, post(b"Content-Length: 3e0\r\n", b"abc"), [Err(400, BAD_CL)]),
        case("cl-unicode-digit", cl, post("Content-Length: ３\r\n".encode(), b"abc"), [Err(400, BAD_CL)]),
        case("cl-u64-max-plus-one", cl, post(b"Content-Length: 18446744073709551616\r\n"), [Err(400, BAD_CL)]),
        case("cl-i64-max-plus-one", "9110§15.5.14", post(b"Content-Length: 9223372036854775808\r\n"), [Err(413, "request body too large")]),
        case("cl-40-digits", cl, post(b"Content-Length: " + b"9" * 40 + b"\r\n"), [Err(400, BAD_CL)]),
        case("cl-over-body-limit", "9110§15.5.14", post(b"Content-Length: 17\r\n", b"a" * 17), [Err(413, "request body too large")], max_body_size=16),
        case(
            "cl-leading-zeros-ok",
            cl,
            post(b"Content-Length: 003\r\n", b"abc") + SMUGGLED,
            [posted([(b"content-length", b"003")], b"abc"), req(target="/smuggled")],
        ),
        case(
            "cl-ows-ok",
            "9110§5.5",
            post(b"Content-Length:\t 3 \t\r\n", b"abc"),
            [posted([(b"content-length", b"3")], b"abc")],
        ),
        # Transfer-Encoding must be a list whose last coding is exactly `chunked` (§6.1 ¶12).
        case("te-chunked-identity", te, post(b"Transfer-Encoding: chunked, identity\r\n", b"0\r\n\r\n"), [Err(400, NOT_CHUNKED)]),
        case("te-identity", te, post(b"Transfer-Encoding: identity\r\n", b"abc"), [Err(400, NOT_CHUNKED)]),
        case("te-xchunked", te, post(b"Transfer-Encoding: xchunked\r\n", b"0\r\n\r\n"), [Err(400, NOT_CHUNKED)]),
        case("te-chunkedx", te, post(b"Transfer-Encoding: chunkedx\r\n", b"0\r\n\r\n"), [Err(400, NOT_CHUNKED)]),
        case("te-chunked-quoted", te, post(b'Transfer-Encoding: "chunked"\r\n', b"0\r\n\r\n"), [Err(400, NOT_CHUNKED)]),
        case("te-chunk-ed-space", te, post(b"Transfer-Encoding: chunk ed\r\n", b"0\r\n\r\n"), [Err(400, NOT_CHUNKED)]),
        case("te-chunked-vertical-tab", te, post(b"Transfer-Encoding: chunked\x0b\r\n", b"0\r\n\r\n"), [Err(400, BAD_VALUE)]),
        case("te-chunked-form-feed", te, post(b"Transfer-Encoding: \x0cchunked\r\n", b"0\r\n\r\n"), [Err(400, BAD_VALUE)]),
        case("te-chunked-nul", te, post(b"Transfer-Encoding: chunked\x00\r\n", b"0\r\n\r\n"), [Err(400, BAD_VALUE)]),
        case("te-chunked-twice-list", te, post(b"Transfer-Encoding: chunked, chunked\r\n", b"0\r\n\r\n"), [Err(400, "chunked applied more than once")]),
        case(
            "te-chunked-twice-fields",
            te,
            post(b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", b"0\r\n\r\n"),
            [Err(400, "chunked applied more than once")],
        ),
        case(
            "te-chunked-then-identity-field",
            te,
            post(b"Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n", b"0\r\n\r\n"),
            [Err(400, NOT_CHUNKED)],
        ),
        case("te-empty", te, post(b"Transfer-Encoding:\r\n", b"0\r\n\r\n"), [Err(400, "invalid Transfer-Encoding")]),
        case("te-with-parameter", te, post(b"Transfer-Encoding: chunked;x=1\r\n", b"0\r\n\r\n"), [Err(400, NOT_CHUNKED)]),
        case("te-gzip-chunked", te, post(b"Transfer-Encoding: gzip, chunked\r\n", b"0\r\n\r\n"), [Err(501, "unsupported transfer coding")]),
        case(
            "te-gzip-field-chunked-field",
            te,
            post(b"Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n", b"0\r\n\r\n"),
            [Err(501, "unsupported transfer coding")],
        ),
        case(
            "te-http10",
            te,
            b"POST /up HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + SMUGGLED,
            [Err(400, "Transfer-Encoding in an HTTP/1.0 request")],
        ),
        case("te-space-before-colon", "9112§5.1", post(b"Transfer-Encoding : chunked\r\n", b"0\r\n\r\n"), [Err(400, "whitespace between header name and colon")]),
        case("te-obs-fold", "9112§5.2", post(b"Transfer-Encoding:\r\n chunked\r\n", b"0\r\n\r\n"), [Err(400, "obsolete line folding in header")]),
        case(
            "te-mixed-case-ok",
            te,
            post(b"Transfer-Encoding: ChUnKeD\r\n", b"0\r\n\r\n"),
            [posted([(b"transfer-encoding", b"ChUnKeD")], None), None],
        ),
        case(
            "te-ows-ok",
            "9110§5.5",
            post(b"Transfer-Encoding: \t chunked\t \r\n", b"0\r\n\r\n"),
            [posted([(b"transfer-encoding", b"chunked")], None), None],
        ),
        # An underscore is a token character: this is another field, not Transfer-Encoding,
        # so the request has no body and the "body" is read as the next request.
        case(
            "te-underscore-is-another-field",
            "9110§5.1",
            post(b"Transfer_Encoding: chunked\r\n", b"0\r\n\r\n"),
            [posted([(b"transfer_encoding", b"chunked")], b""), Err(400, "invalid request line")],
        ),
    ]
    return rows


def _chunked_bodies() -> list[Any]:
    rfc = "9112§7.1"
    ext = "9112§7.1.1"
    trailer = "9112§7.1.2"
    start = req("POST", "/up", CHUNKED_HEADERS, None)
    return [
        case("chunk-size-not-hex", rfc, chunked(b"g\r\nx\r\n0\r\n\r\n"), [start, Err(400, BAD_SIZE)]),
        case("chunk-size-negative", rfc, chunked(b"-1\r\nx\r\n0\r\n\r\n"), [start, Err(400, BAD_SIZE)]),
        case("chunk-size-0x", rfc, chunked(b"0x1\r\nx\r\n0\r\n\r\n"), [start, Err(400, BAD_SIZE)]),
        case("chunk-size-empty", rfc, chunked(b"\r\nx\r\n0\r\n\r\n"), [start, Err(400, BAD_SIZE)]),
        case("chunk-size-leading-space", rfc, chunked(b" 1\r\nx\r\n0\r\n\r\n"), [start, Err(400, BAD_SIZE)]),
        case("chunk-size-u64-overflow", rfc, chunked(b"10000000000000000\r\nx\r\n"), [start, Err(400, BAD_SIZE)]),
        case("chunk-size-wraps-to-small", rfc, chunked(b"10000000000000001\r\nx\r\n0\r\n\r\n"), [start, Err(400, BAD_SIZE)]),
        case("chunk-size-over-body-limit", "9110§15.5.14", chunked(b"11\r\n"), [start, Err(413, "request body too large")], max_body_size=16),
        case("chunk-data-longer-than-size", rfc, chunked(b"1\r\nxy\r\n0\r\n\r\n") + SMUGGLED, [start, b"x", Err(400, NO_CRLF)]),
        case("chunk-data-shorter-than-size", rfc, chunked(b"3\r\nx\r\n0\r\n\r\n") + SMUGGLED, [start, b"x\r\n", Err(400, NO_CRLF)]),
        case("chunk-data-no-crlf-then-request", rfc, chunked(b"1\r\nx") + SMUGGLED, [start, b"x", Err(400, NO_CRLF)]),
        case("chunk-data-bare-lf", rfc, chunked(b"1\r\nx\n0\r\n\r\n"), [start, b"x", Err(400, NO_CRLF)]),
        case("chunk-size-bare-lf", "9112§2.2", chunked(b"1\nx\r\n0\r\n\r\n"), [start, Err(400, BARE_LF)]),
        case("last-chunk-bare-lf", "9112§2.2", chunked(b"0\n\r\n") + SMUGGLED, [start, Err(400, BARE_LF)]),
        case("chunk-size-bare-cr", "9112§2.2", chunked(b"1\rx\r\n0\r\n\r\n"), [start, Err(400, BARE_CR)]),
        # Size shapes other parsers have been lenient about (RFC 9112 §7.1: chunk-size = 1*HEXDIG).
        case("chunk-size-plus", rfc, chunked(b"+1\r\nx\r\n0\r\n\r\n"), [start, Err(400, BAD_SIZE)]),
        case("chunk-size-underscore", rfc, chunked(b"1_0\r\n" + b"x" * 16 + b"\r\n0\r\n\r\n"), [start, Err(400, BAD_SIZE)]),
        case("chunk-size-leading-tab", rfc, chunked(b"\t1\r\nx\r\n0\r\n\r\n"), [start, Err(400, BAD_SIZE)]),
        # Whitespace after the size may only precede a chunk-ext (BWS ";"), never the CRLF.
        case("chunk-size-trailing-space", ext, chunked(b"1 \r\nx\r\n0\r\n\r\n"), [start, Err(400, BAD_EXT)]),
        case("chunk-size-trailing-tab", ext, chunked(b"1\t\r\nx\r\n0\r\n\r\n"), [start, Err(400, BAD_EXT)]),
        case("chunk-size-second-number", rfc, chunked(b"1 2\r\nx\r\n0\r\n\r\n"), [start, Err(400, BAD_EXT)]),
        case("chunk-size-overflow-then-body", rfc, chunked(b"fffffffffffffffff\r\nx\r\n0\r\n\r\n"), [start, Err(400, BAD_SIZE)]),
        case("chunk-data-cr-then-other", rfc, chunked(b"1\r\nx\rX0\r\n\r\n"), [start, b"x", Err(400, NO_CRLF)]),
        case("last-chunk-cr-then-other", "9112§2.2", chunked(b"0\rX\r\n"), [start, Err(400, BARE_CR)]),
        # The last chunk never comes: the next request's line is read as a chunk-size line.
        case("last-chunk-missing-then-request", rfc, chunked(b"5\r\nhello\r\n") + SMUGGLED, [start, b"hello", Err(400, BAD_SIZE)]),
        case(
            "chunk-extensions-ok",
            ext,
            chunked(b'1;name=value\r\na\r\n1 ; q="quoted \\"text\\"" ; flag\r\nb\r\n0;last\r\n\r\n'),
            [start, b"ab", None],
        ),
        case("chunk-ext-no-name", ext, chunked(b"1;=v\r\nx\r\n0\r\n\r\n"), [start, Err(400, BAD_EXT)]),
        case("chunk-ext-empty", ext, chunked(b"1;\r\nx\r\n0\r\n\r\n"), [start, Err(400, BAD_EXT)]),
        case("chunk-ext-no-value", ext, chunked(b"1;a=\r\nx\r\n0\r\n\r\n"), [start, Err(400, BAD_EXT)]),
        case("chunk-ext-unclosed-quote", ext, chunked(b'1;a="x\r\nx\r\n0\r\n\r\n'), [start, Err(400, BAD_EXT)]),
        case("chunk-ext-nul", ext, chunked(b"1;a\x00\r\nx\r\n0\r\n\r\n"), [start, Err(400, BAD_EXT)]),
        case("chunk-ext-bare-lf-inside", ext, chunked(b"1;a\nb\r\nx\r\n0\r\n\r\n"), [start, Err(400, BARE_LF)]),
        case("chunk-ext-too-long", ext, chunked(b"1;a=" + b"v" * 200 + b"\r\nx\r\n0\r\n\r\n"), [start, Err(400, "chunk extension too long")], max_head_size=128),
        case(
            "trailers-ok-and-dropped",
            trailer,
            chunked(b"1\r\nx\r\n0\r\nX-Checksum: abc\r\nContent-Length: 99\r\nTransfer-Encoding: gzip\r\n\r\n") + SMUGGLED,
            [start, b"x", None, req(target="/smuggled")],
        ),
        case("trailer-bad-name", trailer, chunked(b"0\r\nX@: 1\r\n\r\n"), [start, Err(400, BAD_NAME)]),
        case("trailer-nul-value", trailer, chunked(b"0\r\nX: a\x00b\r\n\r\n"), [start, Err(400, BAD_VALUE)]),
        case("trailer-obs-fold", trailer, chunked(b"0\r\nX: a\r\n b\r\n\r\n"), [start, Err(400, "obsolete line folding in header")]),
        case("trailer-bare-lf", trailer, chunked(b"0\r\nX: a\n\r\n"), [start, Err(400, BARE_LF)]),
        case("trailer-space-before-colon", trailer, chunked(b"0\r\nX : a\r\n\r\n"), [start, Err(400, "whitespace between header name and colon")]),
        case("trailers-too-large", trailer, chunked(b"0\r\nX: " + b"v" * 200 + b"\r\n\r\n"), [start, Err(431, "trailer section too large")], max_head_size=128),
    ]


def _line_endings_and_characters() -> list[Any]:
    return [
        case("obs-fold-space", "9112§5.2", get(extra=b"X: a\r\n b\r\n"), [Err(400, "obsolete line folding in header")]),
        case("obs-fold-tab", "9112§5.2", get(extra=b"X: a\r\n\tb\r\n"), [Err(400, "obsolete line folding in header")]),
        case("obs-fold-of-host", "9112§5.2", b"GET / HTTP/1.1\r\nHost:\r\n a\r\n\r\n", [Err(400, "obsolete line folding in header")]),
        case("space-before-colon", "9112§5.1", get(extra=b"Content-Length : 0\r\n"), [Err(400, "whitespace between header name and colon")]),
        case("tab-before-colon", "9112§5.1", get(extra=b"X\t: 1\r\n"), [Err(400, "whitespace between header name and colon")]),
        case("bare-cr-in-value", "9112§2.2", get(extra=b"X: a\rb\r\n"), [Err(400, BARE_CR)]),
        case("bare-cr-line-end", "9112§2.2", b"GET / HTTP/1.1\rHost: a\r\n\r\n", [Err(400, BARE_CR)]),
        case("bare-lf-line-end", "9112§2.2", b"GET / HTTP/1.1\r\nHost: a\nX: 1\r\n\r\n", [Err(400, BARE_LF)]),
        case("bare-lf-head-end", "9112§2.2", b"GET / HTTP/1.1\r\nHost: a\n\n" + SMUGGLED, [Err(400, BARE_LF)]),
        case("nul-in-name", "9110§5.1", get(extra=b"X\x00Y: 1\r\n"), [Err(400, BAD_NAME)]),
        case("nul-in-value", "9110§5.5", get(extra=b"X: a\x00b\r\n"), [Err(400, BAD_VALUE)]),
        case("ctl-in-name", "9110§5.1", get(extra=b"X\x01: 1\r\n"), [Err(400, BAD_NAME)]),
        case("ctl-in-value", "9110§5.5", get(extra=b"X: \x1b[31m\r\n"), [Err(400, BAD_VALUE)]),
        case("del-in-value", "9110§5.5", get(extra=b"X: a\x7f\r\n"), [Err(400, BAD_VALUE)]),
        case("non-ascii-in-name", "9110§5.1", get(extra="Ünicode: 1\r\n".encode()), [Err(400, BAD_NAME)]),
        case("empty-name", "9112§5", get(extra=b": 1\r\n"), [Err(400, BAD_NAME)]),
        case("nul-in-target", "9112§3.2", get(b"/a\x00.html"), [Err(400, "invalid character in request target")]),
        case("ctl-in-target", "9112§3.2", get(b"/a\x1b"), [Err(400, "invalid character in request target")]),
        case("non-ascii-in-target", "9112§3.2", get("/café".encode()), [Err(400, "invalid character in request target")]),
        case("non-ascii-in-method", "9110§9.1", "GÉT / HTTP/1.1\r\nHost: a\r\n\r\n".encode(), [Err(400, "invalid method")]),
        case("nul-in-method", "9110§9.1", b"G\x00T / HTTP/1.1\r\nHost: a\r\n\r\n", [Err(400, "invalid method")]),
        case("tls-hello-on-plain-port", "9110§9.1", b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03", [Err(400, "invalid method")]),
        case(
            "obs-text-in-value-ok",
            "9110§5.5",
            get(extra=b"X: caf\xc3\xa9\r\n"),
            [req(headers=[(b"host", b"a"), (b"x", b"caf\xc3\xa9")])],
        ),
    ]


def _request_lines() -> list[Any]:
    rfc = "9112§3"
    version = "9110§6.2"
    return [
        case("target-at-limit-ok", rfc, get(b"/" + b"a" * 31), [req(target="/" + "a" * 31)], max_target_length=32),
        case("target-over-limit", "9110§15.5.15", get(b"/" + b"a" * 32), [Err(414, "request target too long")], max_target_length=32),
        case("target-over-default-limit", "9110§15.5.15", get(b"/" + b"a" * 8192), [Err(414, "request target too long")]),
        case("target-never-ends", "9110§15.5.15", b"GET /" + b"a" * 9000, [Err(414, "request target too long")]),
        case("too-many-fields", "6585§5", get(extra=b"X: 1\r\n" * 100), [Err(431, "too many header fields")]),
        case("fields-at-limit-ok", "6585§5", get(extra=b"X: 1\r\n" * 2), [req(headers=[(b"host", b"a"), (b"x", b"1"), (b"x", b"1")])], max_headers=3),
        case("one-huge-field", "6585§5", get(extra=b"X: " + b"v" * 17000 + b"\r\n"), [Err(431, "request head too large")]),
        case("head-never-ends", "6585§5", b"GET / HTTP/1.1\r\nHost: a\r\n" + b"X: 1\r\n" * 20, [Err(431, "request head too large")], max_head_size=64),
        case("http20", version, get(version=b"HTTP/2.0"), [Err(505, "unsupported HTTP version")]),
        case("http2-preface", version, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", [Err(505, "unsupported HTTP version")]),
        case("http09-style-line", "9112§3", b"GET /index.html\r\n", [Err(505, "unsupported HTTP version")]),
        case("http13", version, get(version=b"HTTP/1.3"), [Err(505, "unsupported HTTP version")]),
        case("version-garbage", "9112§2.3", get(version=b"HTTP/1.1.1"), [Err(400, "invalid HTTP version")]),
        case("version-lowercase", "9112§2.3", get(version=b"Http/1.1"), [Err(400, "invalid HTTP version")]),
        case("version-leading-zero", "9112§2.3", get(version=b"HTTP/01.1"), [Err(400, "invalid HTTP version")]),
        case("version-word", "9112§2.3", get(version=b"banana"), [Err(400, "invalid HTTP version")]),
        case("two-spaces", rfc, b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n", [Err(400, "invalid request line")]),
        case("tab-separator", rfc, b"GET\t/\tHTTP/1.1\r\nHost: a\r\n\r\n", [Err(400, "invalid method")]),
        case("method-only", rfc, b"GET\r\nHost: a\r\n\r\n", [Err(400, "invalid request line")]),
    ]


def _host() -> list[Any]:
    rfc = "9112§3.2"
    return [
        case("host-missing-http11", rfc, b"GET / HTTP/1.1\r\n\r\n", [Err(400, "missing Host header")]),
        case("host-twice", rfc, b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", [Err(400, "duplicate Host header")]),
        case("host-twice-equal", rfc, b"GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n", [Err(400, "duplicate Host header")]),
        case("host-twice-http10", rfc, b"GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", [Err(400, "duplicate Host header")]),
        case("host-missing-http10-ok", rfc, b"GET / HTTP/1.0\r\n\r\n", [req(headers=[], version=0, keep_alive=False)]),
        # A Host field with an invalid value is a 400 as well (§3.2 ¶6): uri-host [ ":" port ].
        case("host-with-space", rfc, b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", [Err(400, "invalid Host header")]),
        case("host-list", rfc, b"GET / HTTP/1.1\r\nHost: a, b\r\n\r\n", [Err(400, "invalid Host header")]),
        case("host-with-path", rfc, b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", [Err(400, "invalid Host header")]),
        case("host-with-userinfo", rfc, b"GET / HTTP/1.1\r\nHost: user@a\r\n\r\n", [Err(400, "invalid Host header")]),
        case("host-bad-port", rfc, b"GET / HTTP/1.1\r\nHost: a:80x\r\n\r\n", [Err(400, "invalid Host header")]),
        case("host-two-ports", rfc, b"GET / HTTP/1.1\r\nHost: a:1:2\r\n\r\n", [Err(400, "invalid Host header")]),
        case("host-unclosed-ip-literal", rfc, b"GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", [Err(400, "invalid Host header")]),
        case("host-non-ascii", rfc, "GET / HTTP/1.1\r\nHost: café\r\n\r\n".encode(), [Err(400, "invalid Host header")]),
        case("host-invalid-http10", rfc, b"GET / HTTP/1.0\r\nHost: a b\r\n\r\n", [Err(400, "invalid Host header")]),
        case("host-invalid-after-bad-length", rfc, b"GET / HTTP/1.1\r\nContent-Length: x\r\nHost: a b\r\n\r\n", [Err(400, BAD_CL)]),
        case("host-port-ok", rfc, b"GET / HTTP/1.1\r\nHost: example.com:8080\r\n\r\n", [req(headers=[(b"host", b"example.com:8080")])]),
        case("host-ipv6-ok", rfc, b"GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n", [req(headers=[(b"host", b"[::1]:8080")])]),
        case("host-empty-port-ok", rfc, b"GET / HTTP/1.1\r\nHost: a:\r\n\r\n", [req(headers=[(b"host", b"a:")])]),
        case("host-sub-delims-ok", rfc, b"GET / HTTP/1.1\r\nHost: a-b_c.d~e%41!$&'()*+,;=\r\n\r\n", [req(headers=[(b"host", b"a-b_c.d~e%41!$&'()*+,;=")])]),
        case("host-empty-ok", rfc, b"GET / HTTP/1.1\r\nHost:\r\n\r\n", [req(headers=[(b"host", b"")])]),
    ]


def _request_targets() -> list[Any]:
    return [
        case(
            "absolute-form-ok",
            "9112§3.2.2",
            b"GET http://example.com/x?y=1 HTTP/1.1\r\nHost: other\r\n\r\n",
            [req(target="http://example.com/x?y=1", headers=[(b"host", b"other")])],
        ),
        # The Host of an absolute-form request is its target's authority (§3.2.2 ¶4); the
        # Host field must still be there in HTTP/1.1 (§3.2 ¶6) and is then ignored.
        case("absolute-form-port", "9112§3.2.2", b"GET http://example.com:8080/x HTTP/1.1\r\nHost: other\r\n\r\n",
             [req(target="http://example.com:8080/x", headers=[(b"host", b"other")])]),
        case("absolute-form-no-path", "9112§3.2.2", b"GET http://example.com HTTP/1.1\r\nHost: example.com\r\n\r\n",
             [req(target="http://example.com", headers=[(b"host", b"example.com")])]),
        case("absolute-form-query-no-path", "9112§3.2.2", b"GET http://example.com?q=1 HTTP/1.1\r\nHost: a\r\n\r\n",
             [req(target="http://example.com?q=1")]),
        case("absolute-form-https-ipv6", "9112§3.2.2", b"GET https://[::1]:8443/x HTTP/1.1\r\nHost: a\r\n\r\n",
             [req(target="https://[::1]:8443/x")]),
        case("absolute-form-post-body", "9112§3.2.2", b"POST http://example.com/up HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi",
             [req("POST", "http://example.com/up", [(b"host", b"a"), (b"content-length", b"2")], b"hi")]),
        case("absolute-form-options", "9112§3.2.2", b"OPTIONS http://example.com/x HTTP/1.1\r\nHost: a\r\n\r\n",
             [req("OPTIONS", "http://example.com/x")]),
        case("absolute-form-custom-method", "9110§9.1", b"PURGE http://example.com/x HTTP/1.1\r\nHost: a\r\n\r\n",
             [req("PURGE", "http://example.com/x")]),
        case("absolute-form-http10-no-host-field", "9112§3.2.2", b"GET http://example.com/x HTTP/1.0\r\n\r\n",
             [req(target="http://example.com/x", headers=[], version=0, keep_alive=False)]),
        case("absolute-form-without-host-field", "9112§3.2", b"GET http://example.com/x HTTP/1.1\r\n\r\n", [Err(400, "missing Host header")]),
        case("absolute-form-userinfo", "9110§4.2.4", get(b"http://user:pw@example.com/"), [Err(400, "invalid request target")]),
        case("absolute-form-empty-host", "9110§4.2.1", get(b"http:///etc/passwd"), [Err(400, "invalid request target")]),
        case("absolute-form-port-only", "9110§4.2.1", get(b"http://:8080/"), [Err(400, "invalid request target")]),
        case("absolute-form-bad-port", "9112§3.2.2", get(b"http://example.com:80x/"), [Err(400, "invalid request target")]),
        case("absolute-form-bad-host", "9112§3.2.2", get(b"http://exa\"mple.com/"), [Err(400, "invalid request target")]),
        case("asterisk-form-options-ok", "9112§3.2.4", b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", [req("OPTIONS", "*")]),
        case("asterisk-form-options-http10-ok", "9112§3.2.4", b"OPTIONS * HTTP/1.0\r\n\r\n", [req("OPTIONS", "*", [], version=0, keep_alive=False)]),
        case("asterisk-form-get", "9112§3.2.4", get(b"*"), [Err(400, "asterisk-form target is only allowed with OPTIONS")]),
        case("asterisk-form-post", "9112§3.2.4", b"POST * HTTP/1.1\r\nHost: a\r\n\r\n", [Err(400, "asterisk-form target is only allowed with OPTIONS")]),
        case("connect-authority-ok", "9112§3.2.3", b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
             [req("CONNECT", "example.com:443", [(b"host", b"example.com:443")])]),
        case("connect-ipv6-ok", "9112§3.2.3", b"CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\n\r\n",
             [req("CONNECT", "[::1]:443", [(b"host", b"[::1]:443")])]),
        case("connect-then-get", "9110§9.3.6", b"CONNECT example.com:443 HTTP/1.1\r\nHost: a\r\n\r\n" + SMUGGLED,
             [req("CONNECT", "example.com:443"), req(target="/smuggled")]),
        case("connect-origin-form", "9112§3.2.3", b"CONNECT / HTTP/1.1\r\nHost: a\r\n\r\n", [Err(400, "CONNECT needs an authority-form target")]),
        case("connect-absolute-form", "9112§3.2.3", b"CONNECT http://a:1/ HTTP/1.1\r\nHost: a\r\n\r\n", [Err(400, "CONNECT needs an authority-form target")]),
        case("connect-no-port", "9112§3.2.3", b"CONNECT example.com HTTP/1.1\r\nHost: a\r\n\r\n", [Err(400, "CONNECT needs an authority-form target")]),
        case("authority-form-get", "9112§3.2.3", get(b"example.com:80"), [Err(400, "invalid request target")]),
        case("relative-target", "9112§3.2", get(b"index.html"), [Err(400, "invalid request target")]),
        case("scheme-without-slashes", "9112§3.2.2", get(b"http:x"), [Err(400, "invalid request target")]),
    ]


def _what_follows_an_error() -> list[Any]:
    """After an error nothing more is parsed: the good request that follows is never seen."""
    rfc = "9112§9.3.2"
    return [
        case("bad-field-then-good", rfc, get(extra=b"X: \x00\r\n") + SMUGGLED, [Err(400, BAD_VALUE)]),
        case("bad-version-then-good", rfc, get(version=b"HTTP/2.0") + SMUGGLED, [Err(505, "unsupported HTTP version")]),
        case("good-bad-good", rfc, SMUGGLED + b"GET / HTTP/1.1\r\n\r\n" + SMUGGLED, [req(target="/smuggled"), Err(400, "missing Host header")]),
        case(
            "body-bytes-are-not-a-request",
            "9112§6.3",
            post(b"Content-Length: %d\r\n" % len(SMUGGLED), SMUGGLED),
            [posted([(b"content-length", b"%d" % len(SMUGGLED))], SMUGGLED)],
        ),
        case(
            "chunked-error-then-good",
            rfc,
            chunked(b"1\r\nx\r\nzz\r\n") + SMUGGLED,
            [req("POST", "/up", CHUNKED_HEADERS, None), b"x", Err(400, BAD_SIZE)],
        ),
        case(
            "connection-close-then-good",
            "9112§9.6",
            b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n" + SMUGGLED,
            [req(headers=[(b"host", b"a"), (b"connection", b"close")], keep_alive=False)],
        ),
    ]


ATTACKS: list[Any] = (
    _framing_conflicts()
    + _chunked_bodies()
    + _line_endings_and_characters()
    + _request_lines()
    + _host()
    + _request_targets()
    + _what_follows_an_error()
)
