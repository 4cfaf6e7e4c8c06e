"""Differential fuzzing of the two parser backends: the Rust extension against the httptools twin.

Strategy: this module owns the generator of HTTP/1.1 request bytes and the property both
backends must share on them: for every input and every limit configuration, both accept with
equal events, or both reject with the same error (status, class and detail phrase), and each
backend gives the same events for the input fed whole and fed in random pieces. The generator
builds valid requests from their parts (method, target, version, header fields, framing,
Content-Length and chunked bodies with extensions and trailers, pipelined requests) and lets
each part go wrong now and then; some inputs are then mutated (a byte inserted, deleted or
replaced). It also checks that the Python table of error kinds (`wirespeed.errors.ParseFault`)
is the one of rust/error.rs. The example count defaults to 3000, which keeps this module near
20 s on a slow machine; set WIRESPEED_FUZZ_EXAMPLES to run more (it is read once, at import).
Disagreements found here become rows of tests/parser_cases.py
(`_differential_regression_cases`), part of the table test_parser.py and
test_attacks_live.py run.
"""

from __future__ import annotations

import itertools
import os
import re
import string
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from parser_cases import CASES
from parser_events import load_backend, run
from wirespeed.config import Config
from wirespeed.errors import ParseFault

EXAMPLES = int(os.environ.get("WIRESPEED_FUZZ_EXAMPLES", "") or 3000)
RUST_ERRORS = Path(__file__).resolve().parent.parent / "rust" / "error.rs"

Draw = Callable[[st.SearchStrategy[Any]], Any]


# -- running a backend -------------------------------------------------------------------------


def _backends() -> tuple[type, type]:
    return load_backend("rust"), load_backend("httptools")


# -- the generator -----------------------------------------------------------------------------

TCHARS = "!#$%&'*+-.^_`|~" + string.digits + string.ascii_letters
PATH_CHARS = string.ascii_letters + string.digits + "/-._~%!$&'()*+,;=:@?"
# Bytes that break some rule somewhere, for inserting and replacing.
ODD_BYTES = b"\x00\x01\x08\x0b\x7f\x80\xc3\xff \t\r\n:;,=\"\\@()/*"
EOL = b"\r\n"


def sometimes(draw: Draw, percent: int) -> bool:
    """True in about `percent` of the draws; shrinks to False (the plain request)."""
    return bool(draw(st.integers(0, 99)) >= 100 - percent)


def tokens(min_size: int = 1, max_size: int = 8) -> st.SearchStrategy[bytes]:
    return st.text(TCHARS, min_size=min_size, max_size=max_size).map(str.encode)


def pick(draw: Draw, options: list[bytes]) -> bytes:
    return bytes(draw(st.sampled_from(options)))


class Parts:
    """Draws the parts of one request. A tame part is valid (and still varied: custom methods,
    every target form, OWS, name case, codings, chunk splits, extensions, trailers); a wild one
    goes wrong now and then. The request line, the header section and the body are each wild
    in about a quarter of the requests, independently, so the faults of a body are met after a
    valid head too."""

    def __init__(self, draw: Draw) -> None:
        self.draw = draw
        self.wild = {area: sometimes(draw, 25) for area in ("line", "fields", "body")}

    def odd(self, area: str, percent: int) -> bool:
        """Whether this part of `area` goes wrong this time."""
        return self.wild[area] and sometimes(self.draw, percent)

    def line_end(self, area: str) -> bytes:
        """CRLF, or a broken one (RFC 9112 §2.2)."""
        if self.odd(area, 4):
            return pick(self.draw, [b"\n", b"\r", b"\r\r\n", b"\n\r", b"\r\n\r"])
        return EOL

    def method(self) -> bytes:
        """method = token (RFC 9110 §9.1), mostly a common one."""
        draw = self.draw
        if self.odd("line", 10):
            return pick(draw, [b"", b"G@T", b"GE(T", b"G\xc3\x89T", b"GE\x00T", b"GET\t", b"{GET}"])
        if sometimes(draw, 20):
            return bytes(draw(tokens()))
        common = [b"GET", b"POST", b"PUT", b"HEAD", b"DELETE", b"OPTIONS", b"PATCH", b"TRACE", b"CONNECT"]
        return pick(draw, common)

    def host(self) -> bytes:
        return pick(self.draw, [b"a", b"example.com", b"127.0.0.1", b"[::1]", b"x-y.z", b"a%20b"])

    def target(self, method: bytes) -> bytes:
        """The request-target forms of RFC 9112 §3.2, each with the method it goes with."""
        draw = self.draw
        if self.odd("line", 15):
            odd = [b"", b"/a b", b"/\x00", b"/\x7f", b"/caf\xc3\xa9", b"abc", b"/a\tb", b"**", b"*",
                   b"user@a:1", b"a:1", b"http:/a", b"1http://a/", b"[::1]", b"a:8x"]
            return pick(draw, odd)
        if method == b"CONNECT":  # §3.2.3 authority-form
            return self.host() + pick(draw, [b":443", b":", b":80"])
        if method == b"OPTIONS" and sometimes(draw, 40):  # §3.2.4 asterisk-form
            return b"*"
        if sometimes(draw, 15):  # §3.2.2 absolute-form
            scheme = pick(draw, [b"http", b"https", b"HTTP", b"h+t.t-p"])
            return scheme + b"://" + self.host() + b"/" + draw(st.text(PATH_CHARS, max_size=8)).encode()
        if sometimes(draw, 5):
            return b"/" + b"a" * draw(st.integers(0, 80))
        return b"/" + draw(st.text(PATH_CHARS, max_size=16)).encode()  # §3.2.1 origin-form

    def version(self) -> bytes:
        if self.odd("line", 10):
            odd = [b"HTTP/2.0", b"HTTP/1.2", b"HTTP/0.9", b"http/1.1", b"HTTP/1", b"HTTP/1.10", b"HTTPS/1.1",
                   b"HTTP/12.0", b"HTTP/1.x", b"", b"HTTP/1.1 ", b"H", b"HTTP/"]
            return pick(self.draw, odd)
        return b"HTTP/1.0" if sometimes(self.draw, 15) else b"HTTP/1.1"

    def separator(self) -> bytes:
        """The SP between the parts of the request line (RFC 9112 §3), or not quite."""
        if self.odd("line", 3):
            return pick(self.draw, [b"  ", b"\t", b"", b" \t"])
        return b" "

    def content_length(self, length: int) -> bytes:
        """Content-Length values (RFC 9110 §8.6): the body's length, or a broken one."""
        if self.odd("fields", 30):
            odd = [b"+%d" % length, b"-1", b"0x%x" % length, b"%d, %d" % (length, length),
                   b"%d,%d" % (length, length), b"", b"%d %d" % (length, length), b"%020d" % length,
                   b"18446744073709551616", b"9" * 30, b"1e3", b"%d" % (length + 1), b"16777217", b"99",
                   b"%d.0" % length, b"\xd9\xa3"]
            return pick(self.draw, odd)
        if sometimes(self.draw, 10):
            return b"%019d" % length
        return b"%d" % length

    def transfer_encoding(self) -> bytes:
        """Transfer-Encoding values (RFC 9112 §6.1)."""
        if self.odd("fields", 35):
            odd = [b"chunked, identity", b"xchunked", b"gzip, chunked", b"chunked, chunked", b"identity", b"",
                   b",chunked", b"chunked,", b"chunked;q=1", b"gzip,, chunked", b"gzip ,\tchunked",
                   b"chunked , gzip", b"gzip,chunked", b"chunk ed"]
            return pick(self.draw, odd)
        return pick(self.draw, [b"chunked", b"CHUNKED", b"Chunked", b"chunked \t", b"\tchunked"])

    def other_field(self) -> tuple[bytes, bytes]:
        draw = self.draw
        name = pick(draw, [b"Accept", b"User-Agent", b"X-A", b"Cookie", b"Upgrade", b"Expect"])
        if sometimes(draw, 20):
            name = draw(tokens(max_size=6))
        if self.odd("fields", 10):
            return name, draw(st.binary(max_size=10))
        return name, draw(st.text(PATH_CHARS + " \t", max_size=10)).encode() + pick(draw, [b"", b"\x80\xff"])

    def cased(self, name: bytes) -> bytes:
        """Field names are case-insensitive (RFC 9110 §5.1)."""
        how = self.draw(st.sampled_from(["as-is", "lower", "upper", "mixed"]))
        if how == "lower":
            return name.lower()
        if how == "upper":
            return name.upper()
        if how == "mixed":
            flips = self.draw(st.integers(0, 2 ** len(name) - 1))
            return bytes(c ^ 0x20 if chr(c).isalpha() and flips >> i & 1 else c for i, c in enumerate(name))
        return name

    def field(self, name: bytes, value: bytes) -> bytes:
        """One field line, with OWS around the value (RFC 9112 §5) and, when wild, whitespace
        before the colon (§5.1), obs-fold (§5.2) or a bad line end (§2.2) now and then."""
        draw = self.draw
        ows = [b"", b"", b"", b" ", b"\t", b" \t ", b"  "]
        before = pick(draw, ows) if name else b""
        after = pick(draw, ows)
        colon = pick(draw, [b" :", b"\t:", b"", b"::"]) if self.odd("fields", 3) else b":"
        line = self.cased(name) + colon + before + value + after + self.line_end("fields")
        if self.odd("fields", 3):
            line += pick(draw, [b" ", b"\t"]) + b"folded" + EOL
        return line

    def chunk_extension(self) -> bytes:
        """chunk-ext (RFC 9112 §7.1.1): mostly none, some valid, some broken."""
        draw = self.draw
        if self.odd("body", 10):
            return pick(draw, [b";", b";=a", b";a=", b';a="b', b";a@b", b" x", b";a=\x01", b'; a="\x7f"',
                               b";a b", b"x", b"; a = \"\\"])
        if not sometimes(draw, 30):
            return b""
        return pick(draw, [b";a", b";a=b", b';a="x y"', b" ; a = b\t;c", b';a="\\""', b";n=" + b"v" * 40,
                           b'\t;x=""', b";a=b ;c=\"d\""])

    def chunked_body(self, body: bytes) -> bytes:
        """`body` in chunks split at random positions, the last chunk, trailers and the final
        CRLF (RFC 9112 §7.1), with odd sizes, extensions and line ends when wild."""
        draw = self.draw
        cuts = sorted(set(draw(st.lists(st.integers(0, len(body)), max_size=3))))
        bounds = [0, *cuts, len(body)]
        out = []
        for start, stop in itertools.pairwise(bounds):
            data = body[start:stop]
            if not data:
                continue
            size = b"%x" % len(data)
            if sometimes(draw, 20):
                size = pick(draw, [size.upper(), b"000" + size, b"0" * 15 + size])
            if self.odd("body", 10):
                size = pick(draw, [b"%x" % (len(data) + 1), b"0" * 16 + size, b"", b"-" + size, b"0x" + size])
            out.append(size + self.chunk_extension() + self.line_end("body") + data)
            out.append(pick(draw, [b"", b"\n", b"x\r\n", b"\r"]) if self.odd("body", 5) else EOL)
        last = pick(draw, [b"000", b"", b"0x0", b" 0", b"g"]) if self.odd("body", 10) else b"0"
        out.append(last + self.chunk_extension() + self.line_end("body"))
        trailers = [(b"X-Sum", b"abc"), (b"Expires", b"never"), (b"Content-Length", b"x"), (b"Empty", b"")]
        for name, value in draw(st.lists(st.sampled_from(trailers), max_size=2)):
            out.append(self.field(name, value))
        out.append(self.line_end("body"))
        return b"".join(out)


@st.composite
def requests(draw: Draw) -> bytes:
    """One request: valid, or (wild) with each part broken now and then."""
    parts = Parts(draw)
    method = parts.method()
    request_line = method + parts.separator() + parts.target(method) + parts.separator() + parts.version()
    if parts.odd("line", 2):
        request_line = method + b" " + parts.target(method)  # no version at all: HTTP/0.9
    framing = draw(st.sampled_from(["none", "length", "chunked"]))
    body = draw(st.binary(max_size=24))
    fields: list[tuple[bytes, bytes]] = []
    if not parts.odd("fields", 10):
        fields.append((b"Host", parts.host()))
    fields += [parts.other_field() for _ in range(draw(st.integers(0, 3)))]
    if framing == "length":
        fields.append((b"Content-Length", parts.content_length(len(body))))
    elif framing == "chunked":
        fields.append((b"Transfer-Encoding", parts.transfer_encoding()))
    if sometimes(draw, 20):
        value = pick(draw, [b"close", b"keep-alive", b"Keep-Alive", b"upgrade", b"close, upgrade", b"foo ,\tCLOSE"])
        fields.append((b"Connection", value))
    # Duplicates (RFC 9112 §3.2, §6.1, RFC 9110 §8.6), then any order.
    if parts.odd("fields", 15):
        name = pick(draw, [b"Host", b"Content-Length", b"Transfer-Encoding"])
        fields.append((name, pick(draw, [b"a", b"0", b"3", b"chunked", b"gzip"])))
    if sometimes(draw, 30):
        fields = draw(st.permutations(fields))
    head = request_line + parts.line_end("line") + b"".join(parts.field(n, v) for n, v in fields)
    head += parts.line_end("fields")
    if framing == "length":
        return head + body
    if framing == "chunked":
        return head + parts.chunked_body(body)
    return head


def mutate(draw: Draw, raw: bytes) -> bytes:
    """A byte inserted, deleted or replaced at random positions (1 to 3 times)."""
    data = bytearray(raw)
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(data)))
        byte = draw(st.sampled_from(ODD_BYTES) | st.integers(0, 255))
        op = draw(st.sampled_from(["insert", "delete", "replace"]))
        if op == "insert" or at == len(data):
            data.insert(at, byte)
        elif op == "delete":
            del data[at]
        else:
            data[at] = byte
    return bytes(data)


TABLE_INPUTS = [c.values[0].raw for c in CASES]


@st.composite
def inputs(draw: Draw) -> bytes:
    """Pipelined requests (RFC 9112 §9.3.2), perhaps after empty lines, perhaps mutated; or a
    row of the case table, mutated."""
    if sometimes(draw, 10):
        return mutate(draw, draw(st.sampled_from(TABLE_INPUTS)))
    raw = b"\r\n" * draw(st.integers(0, 1)) + b"".join(draw(st.lists(requests(), min_size=1, max_size=3)))
    if sometimes(draw, 30):
        raw = mutate(draw, raw)
    return raw


@st.composite
def configs(draw: Draw) -> Config:
    """The default limits, or small ones so that every limit path is reached."""
    if not sometimes(draw, 35):
        return Config()
    tiny = st.integers(1, 6)  # limits hit at the first bytes, before the parts are whole
    return Config(
        max_head_size=draw(tiny | st.integers(24, 400)),
        max_headers=draw(st.integers(1, 8)),
        max_target_length=draw(tiny | st.integers(1, 64)),
        max_body_size=draw(st.integers(1, 64)),
        inline_body_size=draw(st.integers(0, 32)),
    )


def split(raw: bytes, cuts: list[int]) -> list[bytes]:
    bounds = sorted({0, len(raw), *(c % (len(raw) + 1) for c in cuts)})
    return [raw[a:b] for a, b in itertools.pairwise(bounds)]


# -- the properties ----------------------------------------------------------------------------


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=inputs(), config=configs(), cuts=st.lists(st.integers(0, 4096), max_size=6))
def test_backends_agree_on_generated_requests(raw: bytes, config: Config, cuts: list[int]) -> None:
    rust, twin = _backends()
    expected = run(rust, config, [raw])
    assert run(twin, config, [raw]) == expected, f"rust and httptools differ on {raw!r}"
    chunks = split(raw, cuts)
    assert run(rust, config, chunks) == expected, f"rust: {raw!r} fed as {chunks!r}"
    assert run(twin, config, chunks) == expected, f"httptools: {raw!r} fed as {chunks!r}"


def test_error_kinds_are_those_of_rust() -> None:
    """`ParseFault` lists the kinds of rust/error.rs, in order, with their status and detail."""
    if not RUST_ERRORS.exists():
        pytest.skip("rust/error.rs is not in this tree")
    source = RUST_ERRORS.read_text()
    details = dict(re.findall(r'^\s*(\w+) => "([^"]*)",$', source, re.MULTILINE))
    statuses: dict[str, int] = {}
    for names, status in re.findall(r"^\s*([\w| ]+) => (\d{3}),$", source, re.MULTILINE):
        for name in names.split("|"):
            statuses[name.strip()] = int(status)
    kinds = re.findall(r"ParseFault::(\w+),", source.split("pub const ALL")[1].split("];")[0])
    assert len(kinds) == len(details) == len(ParseFault)
    for kind, fault in zip(kinds, ParseFault, strict=True):
        assert fault.name == re.sub(r"(?<!^)(?=[A-Z])", "_", kind).upper()
        assert fault.detail == details[kind], kind
        assert fault.status == statuses.get(kind, 400), kind
