"""Seed corpora for the fuzz targets in rust/fuzz/fuzz_targets/, drawn from the parser test tables.

Every raw input of tests/parser_cases.py (CASES and DIFFERENTIAL_INPUTS) and, when it exists,
of tests/attack_cases.py (ATTACKS) becomes one file, named by its SHA-1 as libFuzzer names
its own, prefixed with the configuration bytes the target reads first:

  feed      9 bytes: five limit bytes (0xFF = the default limit; a case's own limits where the
            encoding of feed.rs can express them), then four piece lengths
  scanners  1 byte (max_target_length and max_fields); each input is written whole and from
            its second line on, so the field-section scanner sees field lines first
  ws_frames 3 bytes (settings, two split points) before a stream of WebSocket client frames
            built here: messages whole and fragmented, control frames, and bad frames
  ws_reader 5 bytes (settings: permessage-deflate and the frame and message limits; two 16-bit
            split points) before the same streams and some more: compressed messages, and
            frames the message rules refuse, whole and cut off after their length bytes
  proxy_protocol  no settings: each PROXY header of tests/proxy_cases.py, alone and followed
            by a request

Usage (with the project's venv): .venv/bin/python rust/fuzz/seed_corpus.py [--target feed] [DIR]
DIR defaults to target/fuzz-corpus/<target> (git-ignored, as all of target/ is).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = 0xFF
# Piece lengths of the split feed, varied per seed so the seeds start from different cuts.
SPLITS = [bytes([7, 1, 64, 3]), bytes([1, 0, 2, 0]), bytes([13, 200, 5, 31]), bytes([0, 0, 0, 0])]


def _raw_inputs() -> Iterator[tuple[bytes, dict[str, int]]]:
    """(raw bytes, the case's limits) of every row of the test tables."""
    sys.path.insert(0, str(ROOT / "tests"))
    sys.path.insert(0, str(ROOT / "python"))
    import parser_cases

    for row in parser_cases.CASES:
        case = row.values[0]
        yield case.raw, dict(case.config)
    for raw in parser_cases.DIFFERENTIAL_INPUTS:
        yield raw, {}
    try:
        import attack_cases
    except ModuleNotFoundError as error:
        if error.name != "attack_cases":
            raise
        return
    for row in attack_cases.ATTACKS:
        attack: Any = row.values[0]
        yield attack.raw, dict(getattr(attack, "config", None) or {})


def _limit_byte(config: dict[str, int], name: str) -> int:
    """The byte feed.rs decodes to `config[name]`, or 0xFF (the default) if it cannot."""
    value = config.get(name)
    if value is None:
        return DEFAULT
    if name == "max_head_size":
        b = (value - 8) // 2
        return b if 0 <= b < 0xFF and 8 + 2 * b == value else DEFAULT
    if name == "max_headers":
        return value if 0 <= value < 16 else DEFAULT
    if name in ("max_target_length", "max_body_size"):
        return value if 0 <= value < 0xFE else DEFAULT
    if name == "inline_body_size":
        return value if 0 <= value < 64 else DEFAULT
    return DEFAULT


def feed_seeds() -> Iterator[bytes]:
    names = ["max_head_size", "max_headers", "max_target_length", "max_body_size", "inline_body_size"]
    for i, (raw, config) in enumerate(_raw_inputs()):
        limits = bytes(_limit_byte(config, name) for name in names)
        yield limits + SPLITS[i % len(SPLITS)] + raw


def scanner_seeds() -> Iterator[bytes]:
    for raw, _ in _raw_inputs():
        yield b"\xff" + raw
        _, crlf, fields = raw.partition(b"\r\n")
        if crlf:
            yield b"\x13" + fields


def _client_frame(first: int, payload: bytes) -> bytes:
    """A client's frame (RFC 6455 §5.2): masked, its length in the fewest bytes."""
    key = b"\x37\xfa\x21\x3d"
    size = len(payload)
    if size < 126:
        length = bytes([0x80 | size])
    elif size <= 0xFFFF:
        length = bytes([0x80 | 126]) + size.to_bytes(2, "big")
    else:
        length = bytes([0x80 | 127]) + size.to_bytes(8, "big")
    return bytes([first]) + length + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def _ws_streams() -> list[bytes]:
    """Sequences of client frames: messages whole and in fragments, control frames between
    them, and the faults of the cargo test table."""
    return [
        _client_frame(0x81, b"Hello"),
        _client_frame(0x82, bytes(range(200))),
        _client_frame(0x01, b"Hel") + _client_frame(0x89, b"ping") + _client_frame(0x80, b"lo"),
        _client_frame(0x01, "€".encode()[:1]) + _client_frame(0x80, "€".encode()[1:]),
        _client_frame(0x88, b"\x03\xe8bye"),
        _client_frame(0x8A, b"") + _client_frame(0x88, b""),
        _client_frame(0xC1, b"deflated?"),
        _client_frame(0x81, b"ok\xc0"),
        _client_frame(0x82, bytes(70000))[:200],
        b"\x81\x05Hello",  # unmasked
        b"\x82\xfe\x00\x7d" + bytes(4 + 125),  # a non-minimal length
    ]


def ws_frames_seeds() -> Iterator[bytes]:
    """The streams after a settings byte and two split points."""
    for i, stream in enumerate(_ws_streams()):
        yield bytes([i % 16, 3 + i, 17 + 2 * i]) + stream


# ws_reader's settings byte: bit 0 permessage-deflate, bits 1-3 and 4-6 the frame and message
# limits as indices into LIMITS of ws_reader.rs: [0, 1, 7, 125, 126, 1000, 65536, 1 << 20].
def _ws_reader_settings(frame_limit: int, message_limit: int, compression: bool) -> int:
    return frame_limit << 1 | message_limit << 4 | int(compression)


ROOMY = _ws_reader_settings(7, 7, False)
ROOMY_DEFLATE = _ws_reader_settings(7, 7, True)


def ws_reader_seeds() -> Iterator[bytes]:
    """ws_frames' streams, roomy and with small limits, and streams for what only Reader
    does: compressed messages (RFC 7692), and the message rules judged from a frame's length
    bytes (settings byte, two 16-bit split points, bytes)."""
    frame = _client_frame
    settings = [ROOMY, ROOMY_DEFLATE, _ws_reader_settings(5, 3, False), _ws_reader_settings(3, 5, True)]
    seeds = [(settings[i % len(settings)], stream) for i, stream in enumerate(_ws_streams())]
    message_125 = _ws_reader_settings(7, 3, False)
    seeds += [
        (ROOMY_DEFLATE, frame(0x41, b"\xff\x00") + frame(0x89, b"p") + frame(0x80, b"\xfe")),  # compressed, fragmented
        (ROOMY_DEFLATE, frame(0xC2, bytes(300)) + frame(0x81, b"plain")),  # compressed binary, then text
        (ROOMY_DEFLATE, frame(0x41, b"a") + frame(0xC0, b"b")),  # RSV1 on a continuation
        (message_125, frame(0x02, bytes(60)) + frame(0x80, bytes(70))),  # 130 bytes, over 125
        (message_125, (frame(0x02, bytes(60)) + frame(0x80, bytes(70)))[: 66 + 2]),  # cut after the length
        (ROOMY, frame(0x01, b"a") + frame(0x82, b"b")),  # a new message inside another
        (ROOMY, frame(0x01, b"a") + frame(0x82, b"b")[:2]),  # the same, cut after the length
        (ROOMY, frame(0x80, b"x")),  # nothing to continue
        (_ws_reader_settings(7, 6, False), frame(0x82, bytes(70000))[:14] + bytes(50)),  # over 65536, cut off
        (ROOMY, frame(0x88, b"\x03\xe8\xff")),  # a close reason that is not UTF-8
        (ROOMY, frame(0x88, b"\x03\xed")),  # close code 1005, which is never sent
    ]
    for i, (setting, stream) in enumerate(seeds):
        splits = (3 * i + 1) % (len(stream) + 1), (len(stream) // 2 + i) % (len(stream) + 1)
        yield bytes([setting]) + splits[0].to_bytes(2, "big") + splits[1].to_bytes(2, "big") + stream


def proxy_protocol_seeds() -> Iterator[bytes]:
    sys.path.insert(0, str(ROOT / "tests"))
    sys.path.insert(0, str(ROOT / "python"))
    import proxy_cases

    for case in proxy_cases.ALL:
        yield case.data
        yield case.data + b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", choices=["feed", "scanners", "ws_frames", "ws_reader", "proxy_protocol"], default="feed")
    parser.add_argument("corpus", nargs="?", type=Path, help="directory to write (default target/fuzz-corpus/<target>)")
    args = parser.parse_args()
    corpus: Path = args.corpus or ROOT / "target" / "fuzz-corpus" / args.target
    corpus.mkdir(parents=True, exist_ok=True)
    seeds = {
        "feed": feed_seeds,
        "scanners": scanner_seeds,
        "ws_frames": ws_frames_seeds,
        "ws_reader": ws_reader_seeds,
        "proxy_protocol": proxy_protocol_seeds,
    }[args.target]()
    written = 0
    for seed in seeds:
        path = corpus / hashlib.sha1(seed).hexdigest()
        if not path.exists():
            path.write_bytes(seed)
            written += 1
    print(f"seed_corpus: {written} new {args.target} seeds in {corpus}")


if __name__ == "__main__":
    main()
