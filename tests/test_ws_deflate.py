"""permessage-deflate (RFC 7692): negotiation, the RFC's examples, round trips, bombs, interop.

Strategy: the negotiation is a table of Sec-WebSocket-Extensions offers, read by
`read_handshake` as a handshake would be, each with the answer RFC 7692 leads to (or None for
no compression) and the section that says so. The codec is held to the byte examples of RFC
7692 §7.2.3, to an independent inflater for random messages and parameters (zlib's own
decompressobj, fed so that it cannot reach past the agreed window), to a bound on memory for
a deflate bomb, and to 1007 for data that does not inflate. Where the `websockets` library is
installed, its client side negotiates with `negotiate` and exchanges messages with the codec.
"""

from __future__ import annotations

import functools
import os
import tracemalloc
import zlib
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wirespeed.errors import WebSocketInvalidData, WebSocketMessageTooBig
from wirespeed.websocket import read_handshake
from wirespeed.websocket.deflate import PerMessageDeflate, negotiate

TAIL = b"\x00\x00\xff\xff"
HELLO = bytes.fromhex("f248cdc9c90700")  # RFC 7692 §7.2.3.1
HELLO_AGAIN = bytes.fromhex("f200110000")  # §7.2.3.2: the second "Hello", sharing the window


def offers(*values: str) -> Any:
    """The extension offers of a correct handshake with these Sec-WebSocket-Extensions lines."""
    headers = [
        (b"host", b"example.org"),
        (b"upgrade", b"websocket"),
        (b"connection", b"Upgrade"),
        (b"sec-websocket-key", b"dGhlIHNhbXBsZSBub25jZQ=="),
        (b"sec-websocket-version", b"13"),
    ]
    headers += [(b"sec-websocket-extensions", value.encode("ascii")) for value in values]
    handshake = read_handshake("GET", 1, headers)
    assert handshake is not None
    return handshake.extensions


PMD = "permessage-deflate"

# (id, Sec-WebSocket-Extensions lines, the answer or None, section). The server's policy: its
# window at most 12 bits, said unasked; a client that names client_max_window_bits asked for
# at most 12 bits; everything else the client asks for is honoured.
NEGOTIATION: list[tuple[str, tuple[str, ...], str | None, str]] = [
    ("nothing offered", (), None, "RFC 6455 §9.1: no extension unless offered"),
    ("other extension only", ("x-webkit-deflate-frame",), None, "RFC 6455 §9.1: only permessage-deflate is spoken"),
    ("bare offer (Firefox)", (PMD,), f"{PMD}; server_max_window_bits=12", "§7.1.2.1: the server may name its window unasked"),
    (
        "client_max_window_bits without value (Chrome)",
        (f"{PMD}; client_max_window_bits",),
        f"{PMD}; server_max_window_bits=12; client_max_window_bits=12",
        "§7.1.2.2: the server may then limit the client's window",
    ),
    ("client window 10", (f"{PMD}; client_max_window_bits=10",), f"{PMD}; server_max_window_bits=12; client_max_window_bits=10", "§7.1.2.2: the offered value or smaller"),
    ("client window 15", (f"{PMD}; client_max_window_bits=15",), f"{PMD}; server_max_window_bits=12; client_max_window_bits=12", "§7.1.2.2: a smaller value than offered"),
    ("client window 8", (f"{PMD}; client_max_window_bits=8",), f"{PMD}; server_max_window_bits=12; client_max_window_bits=8", "§7.1.2.2: zlib inflates with 2^8"),
    ("server window 10", (f"{PMD}; server_max_window_bits=10",), f"{PMD}; server_max_window_bits=10", "§7.1.2.1: accepted with the same value"),
    ("server window 9", (f"{PMD}; server_max_window_bits=9",), f"{PMD}; server_max_window_bits=9", "§7.1.2.1: accepted with the same value"),
    ("server window 15", (f"{PMD}; server_max_window_bits=15",), f"{PMD}; server_max_window_bits=12", "§7.1.2.1: accepted with a smaller value"),
    ("server window quoted", (f'{PMD}; server_max_window_bits="10"',), f"{PMD}; server_max_window_bits=10", "§7.1.2.1, RFC 6455 §9.1: a quoted value is the same value"),
    ("server window 8", (f"{PMD}; server_max_window_bits=8",), None, "§7.1.2.1: only 8 or less may answer it; zlib cannot compress with 8"),
    (
        "server window 8, then a bare offer",
        (f"{PMD}; server_max_window_bits=8, {PMD}",),
        f"{PMD}; server_max_window_bits=12",
        "§5.1: a declined offer gives way to the next",
    ),
    ("server_no_context_takeover", (f"{PMD}; server_no_context_takeover",), f"{PMD}; server_no_context_takeover; server_max_window_bits=12", "§7.1.1.1: accepted by echoing it"),
    (
        "client_no_context_takeover",
        (f"{PMD}; client_no_context_takeover",),
        f"{PMD}; client_no_context_takeover; server_max_window_bits=12",
        "§7.1.1.2: the server may echo it",
    ),
    (
        "every parameter",
        (f"{PMD}; client_no_context_takeover; server_no_context_takeover; server_max_window_bits=11; client_max_window_bits=9",),
        f"{PMD}; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=11; client_max_window_bits=9",
        "§7.1: all four honoured",
    ),
    ("server window without value", (f"{PMD}; server_max_window_bits",), None, "§7.1.2.1: a value is required"),
    ("server window 16", (f"{PMD}; server_max_window_bits=16",), None, "§7.1.2.1: 8..15"),
    ("server window 7", (f"{PMD}; server_max_window_bits=7",), None, "§7.1.2.1: 8..15"),
    ("server window 010", (f"{PMD}; server_max_window_bits=010",), None, "§7.1.2.1: no leading zero"),
    ("server window not a number", (f"{PMD}; server_max_window_bits=big",), None, "§7.1.2.1: a decimal integer"),
    ("client window 16", (f"{PMD}; client_max_window_bits=16",), None, "§7.1.2.2: 8..15"),
    ("takeover with a value", (f"{PMD}; server_no_context_takeover=1",), None, "§7.1.1.1: the parameter has no value"),
    ("client takeover with a value", (f"{PMD}; client_no_context_takeover=true",), None, "§7.1.1.2: the parameter has no value"),
    ("unknown parameter", (f"{PMD}; x_frames=2",), None, "§7.1: an unknown parameter declines the offer"),
    ("duplicated parameter", (f"{PMD}; client_max_window_bits=10; client_max_window_bits=10",), None, "§7.1: a duplicated parameter declines the offer"),
    (
        "unknown parameter, then a fallback",
        (f"{PMD}; x_frames=2, {PMD}; client_max_window_bits",),
        f"{PMD}; server_max_window_bits=12; client_max_window_bits=12",
        "§5.1: offers in order of preference, the first acceptable one wins",
    ),
    (
        "first acceptable of several",
        (f"{PMD}; server_max_window_bits=10; client_max_window_bits", f"{PMD}"),
        f"{PMD}; server_max_window_bits=10; client_max_window_bits=12",
        "§5.1: the first offer, across header lines",
    ),
    (
        "fallback across header lines",
        (f"x-other, {PMD}; server_max_window_bits=8", f"{PMD}; server_no_context_takeover"),
        f"{PMD}; server_no_context_takeover; server_max_window_bits=12",
        "§5.1, RFC 6455 §9.1: other extensions are passed over",
    ),
]


def parse_answer(answer: str) -> dict[str, str | None]:
    name, *parameters = (part.strip() for part in answer.split(";"))
    assert name == PMD
    parsed: dict[str, str | None] = {}
    for parameter in parameters:
        key, _, value = parameter.partition("=")
        assert key not in parsed
        parsed[key] = value or None
    return parsed


@pytest.mark.parametrize(("lines", "expected"), [(row[1], row[2]) for row in NEGOTIATION], ids=[row[0] for row in NEGOTIATION])
def test_negotiation_table(lines: tuple[str, ...], expected: str | None) -> None:
    result = negotiate(offers(*lines))
    if expected is None:
        assert result is None
        return
    assert result is not None
    answer, codec = result
    assert answer == expected
    # The codec works to what the answer says.
    said = parse_answer(answer)
    assert codec.server_no_context_takeover == ("server_no_context_takeover" in said)
    assert codec.client_no_context_takeover == ("client_no_context_takeover" in said)
    assert codec.server_max_window_bits == int(said.get("server_max_window_bits") or 15)
    assert codec.client_max_window_bits == int(said.get("client_max_window_bits") or 15)


def test_disabled_declines_everything() -> None:
    assert negotiate(offers(PMD, f"{PMD}; client_max_window_bits"), enabled=False) is None


@pytest.mark.parametrize(
    ("policy", "line", "expected"),
    [
        ({"max_server_window_bits": 15}, PMD, PMD),
        ({"max_server_window_bits": 15, "max_client_window_bits": 15}, f"{PMD}; client_max_window_bits", PMD),
        ({"max_client_window_bits": 15}, f"{PMD}; client_max_window_bits=11", f"{PMD}; server_max_window_bits=12; client_max_window_bits=11"),
        ({"max_client_window_bits": 9}, PMD, f"{PMD}; server_max_window_bits=12"),  # §7.1.2.2: not offered, not answered
        (
            {"server_no_context_takeover": True, "client_no_context_takeover": True},
            PMD,
            f"{PMD}; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=12",
        ),
        ({"max_server_window_bits": 9}, f"{PMD}; server_max_window_bits=8", None),
    ],
)
def test_negotiation_policy(policy: dict[str, Any], line: str, expected: str | None) -> None:
    result = negotiate(offers(line), **policy)
    assert (result and result[0]) == expected


@pytest.mark.parametrize("policy", [{"max_server_window_bits": 8}, {"max_server_window_bits": 16}, {"max_client_window_bits": 7}])
def test_negotiation_policy_out_of_range(policy: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        negotiate(offers(PMD), **policy)


def test_tuples_built_directly() -> None:
    """Handshake.extensions need not come from read_handshake: names in any case."""
    result = negotiate([("Permessage-Deflate", (("Server_Max_Window_Bits", "9"),))])
    assert result is not None and result[0] == f"{PMD}; server_max_window_bits=9"


def test_codec_refuses_window_8_to_compress_with() -> None:
    with pytest.raises(ValueError):
        PerMessageDeflate(server_max_window_bits=8)
    PerMessageDeflate(client_max_window_bits=8)  # inflating with 2^8 is fine


# --- RFC 7692 §7.2.3: the examples ----------------------------------------------------------


def test_hello_compressed() -> None:
    """§7.2.3.1: "Hello" in one compressed block."""
    assert PerMessageDeflate().compress(b"Hello") == HELLO
    assert PerMessageDeflate().decompress(HELLO, 100) == b"Hello"


def test_sharing_the_window() -> None:
    """§7.2.3.2: with context takeover, the second "Hello" refers to the first."""
    server = PerMessageDeflate()
    assert server.compress(b"Hello") == HELLO
    assert server.compress(b"Hello") == HELLO_AGAIN
    reader = PerMessageDeflate()
    assert reader.decompress(HELLO, 100) == b"Hello"
    assert reader.decompress(HELLO_AGAIN, 100) == b"Hello"


def test_no_context_takeover_compresses_each_message_alone() -> None:
    """§7.1.1.1: server_no_context_takeover, so both "Hello"s are compressed alike."""
    server = PerMessageDeflate(server_no_context_takeover=True)
    assert [server.compress(b"Hello") for _ in range(3)] == [HELLO] * 3


def test_client_no_context_takeover_refuses_references_to_earlier_messages() -> None:
    """§7.1.1.2: a client that agreed to no context takeover may not refer to its earlier
    message; such a reference does not inflate (1007)."""
    reader = PerMessageDeflate(client_no_context_takeover=True)
    assert reader.decompress(HELLO, 100) == b"Hello"
    with pytest.raises(WebSocketInvalidData) as raised:
        reader.decompress(HELLO_AGAIN, 100)
    assert raised.value.close_code == 1007


@pytest.mark.parametrize(
    ("payload", "section"),
    [
        ("00 05 00 fa ff 48 65 6c 6c 6f 00", "§7.2.3.3: a block with no compression"),
        ("f3 48 cd c9 c9 07 00 00", "§7.2.3.4: a block with BFINAL set"),
        ("f2 48 05 00 00 00 ff ff ca c9 c9 07 00", "§7.2.3.5: two blocks in one message"),
    ],
)
def test_other_forms_of_hello(payload: str, section: str) -> None:
    data = bytes.fromhex(payload)
    assert PerMessageDeflate().decompress(data, 5) == b"Hello"
    assert PerMessageDeflate(client_no_context_takeover=True).decompress(data, 5) == b"Hello"


def test_after_a_bfinal_block_the_next_message_starts_anew() -> None:
    """§7.2.3.4: a message that ended its stream with BFINAL leaves nothing to take over; the
    next message is inflated from a fresh start rather than lost."""
    reader = PerMessageDeflate()
    assert reader.decompress(bytes.fromhex("f348cdc9c9070000"), 100) == b"Hello"
    assert reader.decompress(HELLO, 100) == b"Hello"
    assert reader.decompress(HELLO_AGAIN, 100) == b"Hello"


@pytest.mark.parametrize("takeover", [True, False])
def test_empty_message(takeover: bool) -> None:
    """§7.2.3.6: an empty message compresses to the single byte 00, which inflates to nothing."""
    server = PerMessageDeflate(server_no_context_takeover=not takeover)
    assert server.compress(b"") == b"\x00"
    server.compress(b"Hello")
    assert server.compress(b"") == b"\x00"
    assert PerMessageDeflate().decompress(b"\x00", 0) == b""


# --- round trips against an independent inflater -----------------------------------------------


def inflate_within(data: bytes, wbits: int, inflater: Any = None) -> bytes:
    """`data` (one message, tail appended here) inflated by zlib with a window of 2^wbits, one
    output byte per call: zlib checks a distance against the window plus what the current call
    has written, so with one byte per call no reference past the window inflates."""
    inflater = inflater or zlib.decompressobj(-wbits)
    out = bytearray()
    pending = data + TAIL
    while pending:
        out += inflater.decompress(pending, 1)
        pending = inflater.unconsumed_tail
    return bytes(out)


def test_inflate_within_catches_a_wider_window() -> None:
    """The checker has teeth: a stream made with 2^15 that refers back 20000 bytes does not
    inflate within 2^9."""
    block = os.urandom(20000)
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    data = (compressor.compress(block * 2) + compressor.flush(zlib.Z_SYNC_FLUSH))[:-4]
    assert inflate_within(data, 15) == block * 2
    with pytest.raises(zlib.error):
        inflate_within(data, 9)


@pytest.mark.parametrize("bits", range(9, 16))
def test_compression_stays_within_the_window(bits: int) -> None:
    """§7.1.2.1: with server_max_window_bits N, no reference reaches past 2^N bytes; the data
    repeats at distances just over and under the window."""
    window = 1 << bits
    pieces = [os.urandom(window - 300), os.urandom(window + 50), os.urandom(40)]
    message = pieces[0] + pieces[1] + pieces[0] + pieces[2] + pieces[1] + pieces[2] * 30
    for takeover in (True, False):
        server = PerMessageDeflate(server_max_window_bits=bits, server_no_context_takeover=not takeover)
        inflater = zlib.decompressobj(-bits) if takeover else None
        for _ in range(2):
            data = server.compress(message)
            assert inflate_within(data, bits, inflater) == message


messages = st.lists(
    st.one_of(
        st.binary(max_size=3000),
        st.text(alphabet="ab cd\n{}\":,", max_size=6000).map(lambda text: text.encode()),
        st.builds(lambda unit, count: unit * count, st.binary(min_size=1, max_size=40), st.integers(0, 2000)),
    ),
    min_size=1,
    max_size=6,
)


@given(
    payloads=messages,
    server_bits=st.integers(9, 15),
    takeover=st.booleans(),
    level=st.sampled_from([0, 1, 6, 9]),
    mem_level=st.sampled_from([1, 5, 8, 9]),
)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_compress_round_trip(payloads: list[bytes], server_bits: int, takeover: bool, level: int, mem_level: int) -> None:
    """What `compress` makes inflates with plain zlib: one inflater for the connection with
    context takeover, a fresh one for every message without it (§7.2.1, §7.1.1.1)."""
    server = PerMessageDeflate(server_max_window_bits=server_bits, server_no_context_takeover=not takeover, level=level, mem_level=mem_level)
    inflater = zlib.decompressobj(-server_bits)
    for payload in payloads:
        data = server.compress(payload)
        assert not data.endswith(TAIL)  # removed (the byte left last holds the empty block's header bits)
        if not takeover:
            inflater = zlib.decompressobj(-server_bits)
        assert inflater.decompress(data + TAIL) == payload


@given(
    payloads=messages,
    client_bits=st.integers(8, 15),
    takeover=st.booleans(),
    fragments=st.integers(1, 3),
)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_decompress_round_trip(payloads: list[bytes], client_bits: int, takeover: bool, fragments: int) -> None:
    """What plain zlib compresses as a client would (§7.2.1; a window of 2^8 is compressed with
    zlib's 9, which keeps distances under 256) inflates with `decompress`; a message sent in
    fragments, each flushed, is their payloads joined."""
    reader = PerMessageDeflate(client_max_window_bits=client_bits, client_no_context_takeover=not takeover)
    compressor = zlib.compressobj(6, zlib.DEFLATED, -max(client_bits, 9))
    for payload in payloads:
        if not takeover:
            compressor = zlib.compressobj(6, zlib.DEFLATED, -max(client_bits, 9))
        step = len(payload) // fragments + 1
        data = b"".join(compressor.compress(payload[i : i + step]) + compressor.flush(zlib.Z_SYNC_FLUSH) for i in range(0, max(len(payload), 1), step))
        assert data.endswith(TAIL)
        assert reader.decompress(data[:-4], len(payload)) == payload


@given(payloads=messages, bits=st.integers(9, 15), takeover=st.booleans())
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_codec_with_itself(payloads: list[bytes], bits: int, takeover: bool) -> None:
    sender = PerMessageDeflate(server_max_window_bits=bits, server_no_context_takeover=not takeover)
    receiver = PerMessageDeflate(client_max_window_bits=bits, client_no_context_takeover=not takeover)
    for payload in payloads:
        assert receiver.decompress(sender.compress(payload), len(payload)) == payload


# --- limits and bad data ------------------------------------------------------------------------


@functools.cache
def zeros_compressed(size: int) -> bytes:
    """A message of `size` zero bytes, compressed (about 1/1000 of its size)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = bytes(1 << 20)
    parts = [compressor.compress(chunk) for _ in range(size >> 20)]
    parts.append(compressor.compress(bytes(size & ((1 << 20) - 1))))
    parts.append(compressor.flush(zlib.Z_SYNC_FLUSH))
    return b"".join(parts)[:-4]


@pytest.mark.parametrize("takeover", [True, False])
@pytest.mark.parametrize("expanded", [3 << 20, 128 << 20], ids=["3 MiB from 3 KiB", "128 MiB from 127 KiB"])
def test_deflate_bomb(expanded: int, takeover: bool) -> None:
    """A payload that inflates far past the limit is a 1009, found having made no more than
    about the limit: the peak of traced memory stays under three times it."""
    max_size = 1 << 20
    bomb = zeros_compressed(expanded)
    assert len(bomb) < expanded // 1000
    reader = PerMessageDeflate(client_no_context_takeover=not takeover)
    tracemalloc.start()
    try:
        with pytest.raises(WebSocketMessageTooBig) as raised:
            reader.decompress(bomb, max_size)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert raised.value.close_code == 1009
    assert peak < 3 * max_size
    # The connection is to close; the codec does not go on from a half-read message.
    with pytest.raises(WebSocketInvalidData):
        reader.decompress(HELLO, 100)


@pytest.mark.parametrize("kind", ["repetitive", "random"])  # compressed under and over the one-call limit
def test_limit_is_inclusive(kind: str) -> None:
    message = b"abc" * 4000 if kind == "repetitive" else os.urandom(12000)
    data = PerMessageDeflate().compress(message)
    assert PerMessageDeflate().decompress(data, len(message)) == message
    with pytest.raises(WebSocketMessageTooBig):
        PerMessageDeflate().decompress(data, len(message) - 1)


@pytest.mark.parametrize(
    "payload",
    [
        bytes.fromhex("ffffffff"),  # garbage
        bytes.fromhex("07"),  # BTYPE 11, reserved (RFC 1951 §3.2.3)
        bytes.fromhex("0105 00 0000 48656c6c6f"),  # a stored block whose NLEN is not ~LEN
        HELLO_AGAIN,  # a reference before the start of the stream
    ],
    ids=["garbage", "reserved block type", "bad stored length", "distance too far back"],
)
def test_corrupt_data_is_1007(payload: bytes) -> None:
    with pytest.raises(WebSocketInvalidData) as raised:
        PerMessageDeflate().decompress(payload, 1 << 20)
    assert raised.value.close_code == 1007


def test_corrupt_large_payload_is_1007() -> None:
    data = bytearray(PerMessageDeflate().compress(os.urandom(20000)))
    data[0] |= 0x06  # the first block's type becomes the reserved 11
    with pytest.raises(WebSocketInvalidData):
        PerMessageDeflate().decompress(bytes(data), 1 << 20)


def test_negative_limit_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        PerMessageDeflate().decompress(HELLO, -1)


# --- interop: the websockets library's client side --------------------------------------------


def websockets_modules() -> Any:
    pytest.importorskip("websockets", reason="the websockets library is not installed: no interop check")
    from websockets.extensions import permessage_deflate
    from websockets.frames import Frame, Opcode
    from websockets.headers import build_extension, parse_extension

    return permessage_deflate, Frame, Opcode, build_extension, parse_extension


CLIENT_CONFIGS: list[dict[str, Any]] = [
    {},  # the library's default: client_max_window_bits without value
    {"client_max_window_bits": None},
    {"server_max_window_bits": 10},
    {"server_max_window_bits": 15, "client_max_window_bits": 9},
    {"server_no_context_takeover": True, "client_no_context_takeover": True},
    {"server_no_context_takeover": True, "server_max_window_bits": 9, "client_max_window_bits": 15},
]


def negotiated_with_websockets(config: dict[str, Any]) -> tuple[Any, PerMessageDeflate]:
    """websockets' client extension and ours, after a handshake: the client's offer read by
    read_handshake, answered by negotiate, the answer accepted by the client."""
    permessage_deflate, _, _, build_extension, parse_extension = websockets_modules()
    factory = permessage_deflate.ClientPerMessageDeflateFactory(**config)
    offer = build_extension([(factory.name, factory.get_request_params())])
    result = negotiate(offers(offer))
    assert result is not None, offer
    answer, ours = result
    ((_, parameters),) = parse_extension(answer)
    return factory.process_response_params(parameters, []), ours


@pytest.mark.parametrize("config", CLIENT_CONFIGS, ids=lambda config: ",".join(f"{k}={v}" for k, v in config.items()) or "default")
def test_websockets_client_interop(config: dict[str, Any]) -> None:
    _, Frame, Opcode, _, _ = websockets_modules()
    client, ours = negotiated_with_websockets(config)
    texts = [b"Hello", b"Hello", b"", b'{"event": "tick", "n": 1}' * 50, os.urandom(5000), b"Hello" * 3000]
    for payload in texts:
        sent = client.encode(Frame(Opcode.BINARY, payload))
        assert sent.rsv1
        assert ours.decompress(bytes(sent.data), 1 << 20) == payload
        answer = ours.compress(payload)
        received = client.decode(Frame(Opcode.BINARY, answer, rsv1=True), max_size=1 << 20)
        assert bytes(received.data) == payload


def test_websockets_client_fragments() -> None:
    """A message the client sends in fragments (each flushed; RFC 7692 §6.1) is inflated whole."""
    _, Frame, Opcode, _, _ = websockets_modules()
    client, ours = negotiated_with_websockets({})
    for payload in (b"fragmented " * 100, os.urandom(3000)):
        pieces = [payload[: len(payload) // 3], payload[len(payload) // 3 : 2 * len(payload) // 3], payload[2 * len(payload) // 3 :]]
        frames = [client.encode(Frame(Opcode.TEXT if i == 0 else Opcode.CONT, piece, fin=i == 2)) for i, piece in enumerate(pieces)]
        assert ours.decompress(b"".join(bytes(frame.data) for frame in frames), len(payload)) == payload


def test_websockets_client_refuses_nothing_we_answer() -> None:
    """Every answer of the negotiation table is one websockets' client accepts for an offer it
    could have made (the same parameters as the row's first permessage-deflate offer)."""
    permessage_deflate, *_ = websockets_modules()
    from websockets.headers import parse_extension

    for _, lines, expected, _ in NEGOTIATION:
        if expected is None:
            continue
        chosen = negotiate(offers(*lines))
        assert chosen is not None
        ((_, answer_parameters),) = parse_extension(chosen[0])
        # The offer that was answered: the first one negotiate accepts on its own.
        for name, parameters in offers(*lines):
            if negotiate([(name, parameters)]) is not None:
                break
        kwargs: dict[str, Any] = {"client_max_window_bits": None}
        for key, value in parameters:
            if key.endswith("no_context_takeover"):
                kwargs[key] = True
            else:
                kwargs[key] = True if value is None else int(value)
        if kwargs["client_max_window_bits"] == 8:
            continue  # websockets' client cannot offer 8 (it compresses with zlib)
        factory = permessage_deflate.ClientPerMessageDeflateFactory(**kwargs)
        factory.process_response_params(answer_parameters, [])
