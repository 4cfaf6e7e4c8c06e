"""The WebSocket frame readers (RFC 6455 §5, RFC 7692 §6): the Rust extension's and its Python twin.

Strategy: one table of client byte streams, each row citing its section, with the events the
contract (python/wirespeed/websocket/frames.py) gives for it; every row runs on both readers,
fed whole, byte by byte and split at every point (or, for a long stream, at points near its
ends and through it), which must all give the row's events. A hypothesis test then feeds both
readers the same random frame sequences (valid and corrupted) in the same random pieces and
asks for the same events. Frames are built here by hand, masked byte by byte, so neither
reader's code checks itself; `encode_frame` is checked by reading its frames back.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wirespeed.errors import WebSocketError, websocket_error
from wirespeed.websocket import frames, reader_class
from wirespeed.websocket.frames import (
    BINARY,
    CLOSE,
    CONTINUATION,
    FAULT,
    PING,
    PONG,
    TEXT,
    encode_frame,
)

HAVE_RUST = importlib.util.find_spec("wirespeed._parser") is not None
KEY = b"\x37\xfa\x21\x3d"  # RFC 6455 §5.7's masking key
MiB = 1 << 20

READERS = [
    pytest.param("rust", marks=pytest.mark.skipif(not HAVE_RUST, reason="the Rust extension is not built")),
    "twin",
]


def new_reader(kind: str, max_frame_size: int = MiB, max_message_size: int = MiB, compression: bool = False) -> Any:
    cls = reader_class("rust") if kind == "rust" else frames.WebSocketReader
    return cls(max_frame_size, max_message_size, compression)


def masked(first: int, payload: bytes, *, key: bytes = KEY, form: int | None = None) -> bytes:
    """A client's frame: first byte `first`, masked with `key`; its length in the fewest bytes,
    or in `form` (126: 16 bits, 127: 64 bits) when given."""
    return header(first, len(payload), form=form, mask=True) + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def unmasked(first: int, payload: bytes) -> bytes:
    return header(first, len(payload), mask=False) + payload


def header(first: int, length: int, *, form: int | None = None, mask: bool = True) -> bytes:
    """A header without its masking key: the first byte, then the length."""
    bit = 0x80 if mask else 0
    if form is None:
        form = length if length < 126 else 126 if length <= 0xFFFF else 127
    if form == 126:
        return bytes((first, bit | 126)) + length.to_bytes(2, "big")
    if form == 127:
        return bytes((first, bit | 127)) + length.to_bytes(8, "big")
    return bytes((first, bit | length))


def fault(close_code: int, reason: str) -> tuple[int, int, str]:
    return (FAULT, close_code, reason)


RESERVED_BITS = fault(1002, "reserved bits set")
RESERVED_OPCODE = fault(1002, "reserved opcode")
BAD_CONTROL = fault(1002, "control frames are at most 125 bytes and not fragmented")
UNMASKED = fault(1002, "client frames must be masked")
BAD_LENGTH = fault(1002, "invalid payload length")
FRAME_TOO_LARGE = fault(1009, "frame too large")
MESSAGE_TOO_LARGE = fault(1009, "message too large")
BAD_FRAGMENTATION = fault(1002, "invalid fragmentation")
INVALID_UTF8 = fault(1007, "invalid UTF-8")
BAD_CLOSE = fault(1002, "invalid close frame")

# Frame first bytes: FIN + opcode, and the same with RSV1 (permessage-deflate).
T, B, C, P, PO, CONT = 0x81, 0x82, 0x88, 0x89, 0x8A, 0x80
EURO = "€".encode()  # E2 82 AC
BIG = bytes(i % 251 for i in range(70_000))


class Row(NamedTuple):
    name: str
    section: str
    data: bytes
    events: list[Any]
    max_frame_size: int = MiB
    max_message_size: int = MiB
    compression: bool = False


ROWS: list[Row] = [
    # §5.2, §5.3, §5.7: data frames of each length form, unmasked by the reader.
    Row("RFC sample Hello", "6455 §5.7", bytes.fromhex("818537fa213d7f9f4d5158"), ["Hello"]),
    Row("empty text", "6455 §5.6", masked(T, b""), [""]),
    Row("empty binary", "6455 §5.6", masked(B, b""), [b""]),
    Row("non-ASCII text", "6455 §5.6", masked(T, "größer €𝄞".encode()), ["größer €𝄞"]),
    Row("binary 125", "6455 §5.2", masked(B, BIG[:125]), [BIG[:125]]),
    Row("binary 126: 16-bit length", "6455 §5.2", masked(B, BIG[:126]), [BIG[:126]]),
    Row("binary 65535", "6455 §5.2", masked(B, BIG[:65535]), [BIG[:65535]]),
    Row("binary 65536: 64-bit length", "6455 §5.2", masked(B, BIG[:65536]), [BIG[:65536]]),
    Row("any masking key", "6455 §5.3", masked(B, b"abcdefghi", key=b"\x00\xff\x80\x01"), [b"abcdefghi"]),
    Row("frames in one buffer", "6455 §5.2", masked(T, b"a") + masked(B, b"b") + masked(T, b"c"), ["a", b"b", "c"]),
    Row("an unfinished frame waits", "6455 §5.2", masked(T, b"abc")[:-1], []),
    Row("an unfinished header waits", "6455 §5.2", masked(B, BIG[:70000])[:9], []),
    # §5.1: client frames are masked.
    Row("unmasked", "6455 §5.1", unmasked(T, b"x"), [UNMASKED]),
    Row("unmasked after a good frame", "6455 §5.1", masked(T, b"ok") + unmasked(B, b""), ["ok", UNMASKED]),
    # §5.2: reserved bits, opcodes, lengths.
    *[Row(f"RSV bits {bits:#x}", "6455 §5.2", masked(0x81 | bits, b"x"), [RESERVED_BITS]) for bits in (0x40, 0x20, 0x10)],
    *[
        Row(f"reserved opcode {op}", "6455 §5.2", masked(0x80 | op, b""), [RESERVED_OPCODE])
        for op in (3, 4, 5, 6, 7, 11, 12, 13, 14, 15)
    ],
    Row("reserved opcode, judged on its first byte", "6455 §5.2", b"\x83", [RESERVED_OPCODE]),
    Row("16-bit length under 126", "6455 §5.2", masked(B, b"x" * 125, form=126), [BAD_LENGTH]),
    Row("64-bit length under 65536", "6455 §5.2", masked(B, b"x" * 200, form=127), [BAD_LENGTH]),
    Row("64-bit length, top bit set", "6455 §5.2", header(B, 1 << 63, form=127), [BAD_LENGTH]),
    Row("frames after a fault are never read", "6455 §7.1.7", masked(0x83, b"") + masked(T, b"lost"), [RESERVED_OPCODE]),
    # §5.4: fragmentation.
    Row("fragmented text", "6455 §5.4", masked(0x01, b"Hel") + masked(CONT, b"lo"), ["Hello"]),
    Row("fragmented binary, three frames", "6455 §5.4", masked(0x02, b"a") + masked(0x00, b"") + masked(CONT, b"b"), [b"ab"]),
    Row(
        "control frames between fragments",
        "6455 §5.4",
        masked(0x01, b"Hel") + masked(P, b"p") + masked(PO, b"q") + masked(CONT, b"lo"),
        [(PING, b"p"), (PONG, b"q"), "Hello"],
    ),
    Row("continuation with nothing to continue", "6455 §5.4", masked(CONT, b"x"), [BAD_FRAGMENTATION]),
    Row("text inside a fragmented message", "6455 §5.4", masked(0x01, b"a") + masked(T, b"b"), [BAD_FRAGMENTATION]),
    Row("binary inside a fragmented message", "6455 §5.4", masked(0x02, b"a") + masked(0x02, b"b"), [BAD_FRAGMENTATION]),
    Row("fragmentation judged once the length is known", "6455 §5.4", header(CONT, 3)[:1], []),
    # §5.5: control frames.
    Row("ping", "6455 §5.5.2", masked(P, b"Hello"), [(PING, b"Hello")]),
    Row("pong", "6455 §5.5.3", masked(PO, b""), [(PONG, b"")]),
    Row("ping of 125 bytes", "6455 §5.5", masked(P, BIG[:125]), [(PING, BIG[:125])]),
    Row("ping of 126 bytes", "6455 §5.5", masked(P, BIG[:126]), [BAD_CONTROL]),
    Row("fragmented ping", "6455 §5.5", masked(0x09, b"x"), [BAD_CONTROL]),
    Row("fragmented close", "6455 §5.5", masked(0x08, b""), [BAD_CONTROL]),
    # §5.5.1, §7.4: close frames.
    Row("close, empty", "6455 §5.5.1", masked(C, b""), [(CLOSE, None, "")]),
    Row("close with a code", "6455 §7.4.1", masked(C, b"\x03\xe8"), [(CLOSE, 1000, "")]),
    Row("close with a reason", "6455 §5.5.1", masked(C, b"\x03\xe9sp\xc3\xa4ter"), [(CLOSE, 1001, "später")]),
    *[
        Row(f"close code {code}", "6455 §7.4.2", masked(C, code.to_bytes(2, "big")), [(CLOSE, code, "")])
        for code in (1003, 1007, 1014, 3000, 4999)
    ],
    Row("close of one byte", "6455 §5.5.1", masked(C, b"\x03"), [BAD_CLOSE]),
    *[
        Row(f"close code {code}", "6455 §7.4.1", masked(C, code.to_bytes(2, "big")), [BAD_CLOSE])
        for code in (0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535)
    ],
    Row("close reason not UTF-8", "6455 §8.1", masked(C, b"\x03\xe8\xff"), [INVALID_UTF8]),
    Row("frames after a close are read", "6455 §5.5.1", masked(C, b"") + masked(P, b""), [(CLOSE, None, ""), (PING, b"")]),
    # §8.1: text is UTF-8, judged at the fragment that shows it cannot be.
    Row("invalid UTF-8", "6455 §8.1", masked(T, b"ok\xc0\x80"), [INVALID_UTF8]),
    Row("a surrogate", "6455 §8.1", masked(T, b"\xed\xa0\x80"), [INVALID_UTF8]),
    Row("over U+10FFFF", "6455 §8.1", masked(T, b"\xf4\x90\x80\x80"), [INVALID_UTF8]),
    Row("character cut at the end", "6455 §8.1", masked(T, EURO[:2]), [INVALID_UTF8]),
    Row(
        "character split across fragments",
        "6455 §8.1",
        masked(0x01, EURO[:1]) + masked(0x00, EURO[1:2]) + masked(CONT, EURO[2:]),
        ["€"],
    ),
    Row("invalid fragment fails before the rest", "6455 §8.1", masked(0x01, b"ok\xc0"), [INVALID_UTF8]),
    Row("surrogate prefix fails at its fragment", "6455 §8.1", masked(0x01, b"a\xed\xa0"), [INVALID_UTF8]),
    Row("valid prefix waits for its fragment", "6455 §8.1", masked(0x01, b"a\xed\x9f"), []),
    Row("cut at the last fragment", "6455 §8.1", masked(0x01, b"a") + masked(CONT, EURO[:1]), [INVALID_UTF8]),
    Row("binary is not UTF-8 checked", "6455 §5.6", masked(B, b"\xff\xfe"), [b"\xff\xfe"]),
    # Limits: a frame is refused from its header, a message at the frame that passes it.
    Row("frame at the limit", "6455 §10.4", masked(B, b"x" * 100), [b"x" * 100], max_frame_size=100),
    Row("frame over the limit, from its header", "6455 §10.4", header(B, 101), [FRAME_TOO_LARGE], max_frame_size=100),
    Row("64-bit length over the limit", "6455 §10.4", header(B, 1 << 62, form=127), [FRAME_TOO_LARGE]),
    Row("control frame over a small limit", "6455 §10.4", masked(P, b"x" * 11), [FRAME_TOO_LARGE], max_frame_size=10),
    Row("message at the limit", "6455 §10.4", masked(0x02, b"x" * 6) + masked(CONT, b"y" * 4), [b"xxxxxxyyyy"], max_message_size=10),
    Row(
        "message over the limit, from the header that passes it",
        "6455 §10.4",
        masked(0x02, b"x" * 6) + header(CONT, 5),
        [MESSAGE_TOO_LARGE],
        max_message_size=10,
    ),
    Row(
        "control frames not counted in a message",
        "6455 §10.4",
        masked(0x02, b"x" * 6) + masked(P, b"p" * 9) + masked(CONT, b"y" * 4),
        [(PING, b"p" * 9), b"xxxxxxyyyy"],
        max_message_size=10,
    ),
    Row("frame fault before message fault", "6455 §5.1", unmasked(CONT, b"x"), [UNMASKED]),
    # RFC 7692 §6: permessage-deflate's RSV1, passed on still compressed.
    Row("RSV1 without compression", "7692 §6", masked(0xC1, b"x"), [RESERVED_BITS]),
    Row("compressed text", "7692 §6", masked(0xC1, b"\xf2H\xcd\xc9\xc9\x07\x00"), [(TEXT, b"\xf2H\xcd\xc9\xc9\x07\x00")], compression=True),
    Row("compressed binary", "7692 §6", masked(0xC2, b"\x00"), [(BINARY, b"\x00")], compression=True),
    Row(
        "compressed fragments, a ping between",
        "7692 §6.1",
        masked(0x41, b"\xff\x00") + masked(P, b"") + masked(CONT, b"\xfe"),
        [(PING, b""), (TEXT, b"\xff\x00\xfe")],
        compression=True,
    ),
    Row("uncompressed after compressed", "7692 §6", masked(0xC1, b"\xff") + masked(T, b"plain"), [(TEXT, b"\xff"), "plain"], compression=True),
    Row("uncompressed text still checked", "7692 §6", masked(T, b"\xff"), [INVALID_UTF8], compression=True),
    Row("RSV1 on a continuation", "7692 §6.1", masked(0x41, b"a") + masked(0xC0, b"b"), [RESERVED_BITS], compression=True),
    Row("RSV1 on a continuation of plain text", "7692 §6.1", masked(0x01, b"a") + masked(0xC0, b"b"), [RESERVED_BITS], compression=True),
    Row("RSV1 on a ping", "7692 §6.1", masked(0xC9, b""), [RESERVED_BITS], compression=True),
    Row("RSV1 on a close", "7692 §6.1", masked(0xC8, b""), [RESERVED_BITS], compression=True),
    Row(
        "compressed limit counts compressed bytes",
        "7692 §6",
        masked(0x42, b"x" * 8) + header(CONT, 3),
        [MESSAGE_TOO_LARGE],
        max_message_size=10,
        compression=True,
    ),
    Row("RSV2 with compression", "7692 §6", masked(0xA1, b"x"), [RESERVED_BITS], compression=True),
]


def feed_pieces(reader: Any, pieces: Iterator[bytes] | list[bytes]) -> list[Any]:
    events: list[Any] = []
    for piece in pieces:
        events.extend(reader.feed(piece))
    return events


def split_points(size: int) -> list[int]:
    """Every point of a short input; near the ends and through a long one."""
    if size <= 400:
        return list(range(1, size))
    return sorted({*range(1, 40), *range(size - 40, size), *range(40, size - 40, max(1, size // 50))})


@pytest.mark.parametrize("kind", READERS)
@pytest.mark.parametrize("row", ROWS, ids=[row.name for row in ROWS])
def test_table(kind: str, row: Row) -> None:
    def reader() -> Any:
        return new_reader(kind, row.max_frame_size, row.max_message_size, row.compression)

    assert reader().feed(row.data) == row.events
    data = row.data
    assert feed_pieces(reader(), (data[i : i + 1] for i in range(len(data)))) == row.events, "byte by byte"
    for split in split_points(len(data)):
        assert feed_pieces(reader(), [data[:split], data[split:]]) == row.events, f"split at {split}"
    assert feed_pieces(reader(), [b"", data, b""]) == row.events, "with empty pieces"


def test_table_rows_are_sound() -> None:
    """Rows cite RFC 6455 or 7692; each fault is the last event and names a close code that
    `websocket_error` turns into its exception."""
    for row in ROWS:
        assert row.section.split()[0] in ("6455", "7692"), row.name
        faults = [event for event in row.events if isinstance(event, tuple) and event[0] == FAULT]
        assert faults in ([], row.events[-1:]), row.name
        for _, close_code, reason in faults:
            error = websocket_error(close_code, reason)
            assert isinstance(error, WebSocketError)
            assert error.close_code == close_code


@pytest.mark.parametrize("kind", READERS)
def test_input_after_a_fault_is_ignored(kind: str) -> None:
    reader = new_reader(kind)
    assert reader.feed(unmasked(T, b"x")) == [UNMASKED]
    assert reader.feed(masked(T, b"fine")) == []
    assert reader.feed(b"") == []


@pytest.mark.parametrize("kind", READERS)
def test_events_types(kind: str) -> None:
    events = new_reader(kind, compression=True).feed(
        masked(T, b"t") + masked(B, b"b") + masked(P, b"p") + masked(C, b"\x03\xe8") + masked(0xC2, b"z")
    )
    assert [type(event) for event in events] == [str, bytes, tuple, tuple, tuple]
    assert all(type(item) in (int, bytes, str, type(None)) for event in events[2:] for item in event)


# --- trickling ----------------------------------------------------------------------------------


def test_twin_trickle_is_linear(monkeypatch: pytest.MonkeyPatch) -> None:
    """A 1 MiB frame fed in 16-byte pieces, then 64 KiB fed byte by byte: the twin looks at its
    held bytes once per header step and once when the payload is whole, and unmasks once."""
    reads = 0
    unmasks = 0
    read, unmask = frames.WebSocketReader._read, frames.unmask

    def counting_read(self: frames.WebSocketReader, buffer: Any, events: list[Any]) -> int:
        nonlocal reads
        reads += 1
        return read(self, buffer, events)

    def counting_unmask(masked_bytes: Any, key: Any) -> bytes:
        nonlocal unmasks
        unmasks += 1
        return unmask(masked_bytes, key)

    monkeypatch.setattr(frames.WebSocketReader, "_read", counting_read)
    monkeypatch.setattr(frames, "unmask", counting_unmask)
    payload = bytes(range(256)) * 4096
    data = masked(B, payload)
    reader = frames.WebSocketReader(2 * MiB, 2 * MiB, False)
    events = feed_pieces(reader, (data[i : i + 16] for i in range(0, len(data), 16)))
    assert events == [payload]
    assert (reads, unmasks) == (2, 1)  # the first piece, then the whole frame

    reads = unmasks = 0
    data = masked(B, payload[: 64 * 1024])
    events = feed_pieces(reader, (data[i : i + 1] for i in range(len(data))))
    assert events == [payload[: 64 * 1024]]
    assert (reads, unmasks) == (4, 1)  # 1 byte, 2 bytes, 10 bytes, the whole frame


@pytest.mark.parametrize("kind", READERS)
def test_trickled_megabyte(kind: str) -> None:
    """1 MiB in 16-byte pieces, text split across two fragments, both readers."""
    text = ("€uro " * 300_000)[: MiB // 3]
    encoded = text.encode()
    data = masked(0x01, encoded[:1001]) + masked(P, b"!") + masked(CONT, encoded[1001:])
    events = feed_pieces(new_reader(kind, 2 * MiB, 2 * MiB), (data[i : i + 16] for i in range(0, len(data), 16)))
    assert events == [(PING, b"!"), text]


# --- both readers, random input -----------------------------------------------------------------


@st.composite
def streams(draw: st.DrawFn) -> bytes:
    """Client frames: messages (fragmented or not, text or binary, compressed or not) with
    control frames among them, and raw frames of any first byte, mask and length form; then
    maybe a byte changed or the end cut off."""
    out: list[bytes] = []
    for _ in range(draw(st.integers(0, 5))):
        kind = draw(st.sampled_from(["message", "message", "message", "control", "raw"]))
        if kind == "message":
            opcode = draw(st.sampled_from([TEXT, BINARY]))
            if opcode == TEXT and draw(st.booleans()):
                data = draw(st.text(max_size=30)).encode()
            else:
                data = draw(st.binary(max_size=30))
            cuts = sorted(draw(st.lists(st.integers(0, len(data)), max_size=3)))
            pieces = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)])]
            rsv1 = 0x40 if draw(st.integers(0, 3)) == 0 else 0
            for index, piece in enumerate(pieces):
                first = (0x80 if index == len(pieces) - 1 else 0) | ((opcode | rsv1) if index == 0 else 0)
                out.append(masked(first, piece))
                if draw(st.integers(0, 4)) == 0:
                    out.append(masked(draw(st.sampled_from([P, PO])), draw(st.binary(max_size=5))))
        elif kind == "control":
            opcode = draw(st.sampled_from([C, P, PO]))
            if opcode == C and draw(st.booleans()):
                code = draw(st.sampled_from([1000, 1001, 1004, 1005, 1012, 1016, 2999, 3000, 4999, 5000]))
                payload = code.to_bytes(2, "big") + draw(st.text(max_size=5)).encode()
            else:
                payload = draw(st.binary(max_size=130))
            out.append(masked(opcode, payload))
        else:
            rsv = draw(st.sampled_from([0, 0, 0, 0, 0x40, 0x20, 0x10]))
            first = draw(st.sampled_from([0x80, 0])) | rsv | draw(st.integers(0, 15))
            payload = draw(st.binary(max_size=140))
            form = draw(st.sampled_from([None, None, 126, 127]))
            if draw(st.integers(0, 5)) == 0:
                out.append(header(first, len(payload), form=form, mask=False) + payload)
            else:
                key = draw(st.binary(min_size=4, max_size=4))
                out.append(masked(first, payload, key=key, form=form))
    stream = bytearray(b"".join(out))
    if stream and draw(st.integers(0, 3)) == 0:
        at = draw(st.integers(0, len(stream) - 1))
        stream[at] = draw(st.integers(0, 255))
    if stream and draw(st.integers(0, 5)) == 0:
        del stream[draw(st.integers(0, len(stream) - 1)) :]
    return bytes(stream)


def pieces_of(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(cut, len(data)) for cut in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)])]


@pytest.mark.skipif(not HAVE_RUST, reason="the Rust extension is not built")
@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=streams(),
    cuts=st.lists(st.integers(0, 2000), max_size=6),
    max_frame_size=st.sampled_from([0, 5, 30, 125, 126, MiB, MiB, MiB]),
    max_message_size=st.sampled_from([0, 10, 40, MiB, MiB, MiB]),
    compression=st.booleans(),
)
def test_rust_and_twin_agree(data: bytes, cuts: list[int], max_frame_size: int, max_message_size: int, compression: bool) -> None:
    def events(kind: str, pieces: list[bytes]) -> list[Any]:
        return feed_pieces(new_reader(kind, max_frame_size, max_message_size, compression), pieces)

    whole = events("twin", [data])
    assert events("rust", [data]) == whole
    pieces = pieces_of(data, cuts)
    assert events("rust", pieces) == whole
    assert events("twin", pieces) == whole
    singles = [data[i : i + 1] for i in range(len(data))]
    assert events("rust", singles) == whole
    assert events("twin", singles) == whole


# ASCII, continuation bytes at the edges of the ranges that follow lead bytes, and lead bytes
# (C0, C1, F5 and FF never appear in UTF-8; E0, ED, F0 and F4 limit their next byte).
UTF8_BYTES = [0x41, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xE1, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF]


@pytest.mark.skipif(not HAVE_RUST, reason="the Rust extension is not built")
@settings(max_examples=1000, deadline=None)
@given(fragments=st.lists(st.lists(st.sampled_from(UTF8_BYTES), max_size=6).map(bytes), min_size=1, max_size=5))
def test_utf8_verdicts_agree(fragments: list[bytes]) -> None:
    """Text of random bytes in random fragments, each followed by a ping: the same fragment
    fails in both readers (the UTF-8 prefix rules, surrogates and all), so the same pings come
    before the fault."""
    data = b"".join(
        masked((0x80 if i == len(fragments) - 1 else 0) | (TEXT if i == 0 else 0), fragment) + masked(P, b"%d" % i)
        for i, fragment in enumerate(fragments)
    )
    rust, twin = new_reader("rust").feed(data), new_reader("twin").feed(data)
    assert rust == twin
    joined = b"".join(fragments)
    try:
        text = joined.decode("utf-8")
    except UnicodeDecodeError:
        assert rust[-1] == INVALID_UTF8
    else:
        assert rust == [(PING, b"%d" % i) for i in range(len(fragments) - 1)] + [text, (PING, b"%d" % (len(fragments) - 1))]


# --- encode_frame -------------------------------------------------------------------------------


def client_copy(frame: bytes, key: bytes = KEY) -> bytes:
    """A server's frame as a client would send it: the same, masked."""
    second = frame[1] & 0x7F
    size = 2 + {126: 2, 127: 8}.get(second, 0)
    payload = frame[size:]
    return bytes((frame[0], frame[1] | 0x80)) + frame[2:size] + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


@pytest.mark.parametrize("kind", READERS)
@pytest.mark.parametrize(
    ("frames_sent", "events"),
    [
        ([encode_frame(TEXT, "hé".encode())], ["hé"]),
        ([encode_frame(BINARY, BIG[:70_000])], [BIG[:70_000]]),
        ([encode_frame(TEXT, b"a", fin=False), encode_frame(PING, b"x"), encode_frame(CONTINUATION, b"b")], [(PING, b"x"), "ab"]),
        ([encode_frame(PONG, b"")], [(PONG, b"")]),
        ([encode_frame(CLOSE, b"\x03\xe8bye")], [(CLOSE, 1000, "bye")]),
        ([encode_frame(TEXT, b"\x00\x01", rsv1=True)], [(TEXT, b"\x00\x01")]),
    ],
)
def test_encode_frame_round_trip(kind: str, frames_sent: list[bytes], events: list[Any]) -> None:
    reader = new_reader(kind, compression=True)
    assert reader.feed(b"".join(client_copy(frame) for frame in frames_sent)) == events


@pytest.mark.parametrize("kind", READERS)
@settings(max_examples=200, deadline=None)
@given(payload=st.binary(max_size=70_000), opcode=st.sampled_from([TEXT, BINARY]), rsv1=st.booleans())
def test_encode_frame_round_trip_any_length(kind: str, payload: bytes, opcode: int, rsv1: bool) -> None:
    if opcode == TEXT and not rsv1:
        payload = payload.decode("latin-1").encode()  # UTF-8
    event = new_reader(kind, compression=True).feed(client_copy(encode_frame(opcode, payload, rsv1=rsv1)))
    if rsv1:
        assert event == [(opcode, payload)]
    else:
        assert event == [payload.decode() if opcode == TEXT else payload]


def test_encode_frame_is_minimal_and_unmasked() -> None:
    assert encode_frame(TEXT, b"hi") == b"\x81\x02hi"
    assert encode_frame(BINARY, b"", fin=False) == b"\x02\x00"
    assert encode_frame(TEXT, b"", rsv1=True) == b"\xc1\x00"
    sizes = [(125, b"\x82\x7d"), (126, b"\x82\x7e\x00\x7e"), (65535, b"\x82\x7e\xff\xff"), (65536, b"\x82\x7f" + (65536).to_bytes(8, "big"))]
    for size, header_bytes in sizes:
        frame = encode_frame(BINARY, bytes(size))
        assert frame[: len(header_bytes)] == header_bytes
        assert len(frame) == len(header_bytes) + size
    assert type(encode_frame(BINARY, bytearray(b"ab"))) is bytes  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: encode_frame(3, b""), "not a WebSocket opcode"),
        (lambda: encode_frame(PING, bytes(126)), "at most 125"),
        (lambda: encode_frame(CLOSE, b"", fin=False), "not fragmented"),
    ],
)
def test_encode_frame_refuses_what_no_peer_accepts(call: Callable[[], bytes], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


def test_unmask_is_its_own_inverse() -> None:
    for size in (0, 1, 2, 3, 4, 5, 8, 1000, 1001):
        data = BIG[:size]
        once = frames.unmask(data, KEY)
        assert once == bytes(b ^ KEY[i % 4] for i, b in enumerate(data))
        assert frames.unmask(once, KEY) == data


# --- construction and backend choice --------------------------------------------------------------


@pytest.mark.parametrize("kind", READERS)
def test_construction(kind: str) -> None:
    cls = reader_class("rust") if kind == "rust" else frames.WebSocketReader
    assert cls(max_frame_size=10, max_message_size=20, compression=False).feed(masked(B, b"x" * 11)) == [FRAME_TOO_LARGE]
    with pytest.raises(OverflowError):
        cls(-1, 10, False)
    with pytest.raises(TypeError):
        cls(1.5, 10, False)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        cls(10, 10)  # type: ignore[call-arg]


def test_reader_class() -> None:
    assert reader_class("httptools") is frames.WebSocketReader
    if HAVE_RUST:
        from wirespeed._parser import WebSocketReader

        assert reader_class("rust") is WebSocketReader
        assert reader_class() is WebSocketReader
    else:
        assert reader_class() is frames.WebSocketReader
    with pytest.raises(ValueError, match="unknown parser"):
        reader_class("nope")
