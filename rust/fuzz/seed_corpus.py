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


def ws_frames_seeds() -> Iterator[bytes]:
    """Sequences of client frames: messages whole and in fragments, control frames between
    them, and the faults of the cargo test table (settings byte, two split points, bytes)."""
    streams = [
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
    for i, stream in enumerate(streams):
        yield bytes([i % 16, 3 + i, 17 + 2 * i]) + stream


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", choices=["feed", "scanners", "ws_frames"], default="feed")
    parser.add_argument("corpus", nargs="?", type=Path, help="directory to write (default target/fuzz-corpus/<target>)")
    args = parser.parse_args()
    corpus: Path = args.corpus or ROOT / "target" / "fuzz-corpus" / args.target
    corpus.mkdir(parents=True, exist_ok=True)
    seeds = {"feed": feed_seeds, "scanners": scanner_seeds, "ws_frames": ws_frames_seeds}[args.target]()
    written = 0
    for seed in seeds:
        path = corpus / hashlib.sha1(seed).hexdigest()
        if not path.exists():
            path.write_bytes(seed)
            written += 1
    print(f"seed_corpus: {written} new {args.target} seeds in {corpus}")


if __name__ == "__main__":
    main()
