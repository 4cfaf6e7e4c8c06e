"""WebSocket frames (RFC 6455 §5): the reader's contract, its pure-Python twin, and the frames a
server writes.

Strategy: this module owns the WebSocket wire format on the Python side. `WebSocketReader` here
is the twin of the Rust extension's `wirespeed._parser.WebSocketReader` (rust/ws_frames.rs,
rust/python_ws.rs), for builds without the extension (the httptools configuration): the same
events, the same fault reasons, for the same bytes, however they are split. It keeps the bytes
of an unfinished frame and how many it needs before they are worth reading again, so a frame
that trickles in is not read again per byte, and unmasks each payload in one XOR of two
integers (linear, in C). `encode_frame` builds a server's frames. Nothing here knows of
sockets, the handshake or compression (the caller inflates compressed messages).

The contract. `WebSocketReader(max_frame_size, max_message_size, compression)` reads one
connection's client frames; `reader.feed(data: bytes) -> list` is called once per received
buffer and returns, in order, every event that buffer completes:

* `str` -- a whole uncompressed text message, strict UTF-8, checked fragment by fragment: a
  message fails (1007) at the fragment that shows it can no longer be valid.
* `bytes` -- a whole uncompressed binary message.
* `(PING, payload: bytes)`, `(PONG, payload: bytes)` -- control frames, as they come, between
  the fragments of a message too.
* `(CLOSE, code: int | None, reason: str)` -- a valid close frame (an empty one: None, "").
* `(TEXT, payload: bytes)`, `(BINARY, payload: bytes)` -- a whole message whose first frame had
  RSV1 set (permessage-deflate, RFC 7692 §6), only when `compression` is true: its fragments'
  payloads joined, still compressed, not checked as UTF-8 (the caller inflates and checks it).
* `(FAULT, close_code: int, reason: str)` -- what the client broke, with the close code to
  answer with (RFC 6455 §7.4.1; `wirespeed.errors.websocket_error(close_code, reason)` makes
  the exception). Always the last event: the reader ignores all input after it.

Faults, judged in this order. A frame's header byte by byte, each rule as soon as its byte has
arrived: RSV2 or RSV3, or RSV1 without `compression` (1002 `reserved bits set`); a reserved
opcode (1002); RSV1 on a continuation or a control frame (`reserved bits set`, RFC 7692 §6.1);
a fragmented control frame; an unmasked frame; a length not in the fewest bytes, or with the
64-bit top bit (1002 `invalid payload length`); a control frame over 125 bytes; a frame over
`max_frame_size` (1009, from its header, before any payload). Then, once the length is known,
the message: a continuation with nothing to continue or a new message inside another (1002
`invalid fragmentation`); a message passing `max_message_size` (1009; for a compressed message
its compressed bytes). Once a frame is complete: text that is not UTF-8 (1007); a close frame
of one byte or with a code a client may not send (1002), or a reason that is not UTF-8 (1007).
"""

from __future__ import annotations

import codecs
import operator
import struct

# Opcodes (RFC 6455 §5.2, §11.8).
CONTINUATION = 0x0
TEXT = 0x1
BINARY = 0x2
CLOSE = 0x8
PING = 0x9
PONG = 0xA
# The first item of a fault event.
FAULT = -1

Event = str | bytes | tuple[int, bytes] | tuple[int, int | None, str]
"""One item of `feed`'s list (see the module's docstring)."""
Fault = tuple[int, int, str]
"""`(FAULT, close_code, reason)`."""

# The faults, as rust/ws_frames.rs words them (WsFault::reason) and answers them (close_code).
_RESERVED_BITS: Fault = (FAULT, 1002, "reserved bits set")
_RESERVED_OPCODE: Fault = (FAULT, 1002, "reserved opcode")
_BAD_CONTROL_FRAME: Fault = (FAULT, 1002, "control frames are at most 125 bytes and not fragmented")
_UNMASKED: Fault = (FAULT, 1002, "client frames must be masked")
_BAD_LENGTH: Fault = (FAULT, 1002, "invalid payload length")
_FRAME_TOO_LARGE: Fault = (FAULT, 1009, "frame too large")
_MESSAGE_TOO_LARGE: Fault = (FAULT, 1009, "message too large")
_BAD_FRAGMENTATION: Fault = (FAULT, 1002, "invalid fragmentation")
_INVALID_UTF8: Fault = (FAULT, 1007, "invalid UTF-8")
_BAD_CLOSE: Fault = (FAULT, 1002, "invalid close frame")

_OPCODES = frozenset((CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG))
_UTF8_DECODER = codecs.getincrementaldecoder("utf-8")
_HEADER_16 = struct.Struct("!BBH")
_HEADER_64 = struct.Struct("!BBQ")


def close_code_allowed(code: int) -> bool:
    """The close codes a peer may send (RFC 6455 §7.4.1, §7.4.2; 1004-1006 and 1015 are never
    sent; 1012-1014 are registered since, IANA "WebSocket Close Code Number Registry")."""
    return 1000 <= code <= 1003 or 1007 <= code <= 1014 or 3000 <= code <= 4999


def unmask(masked: bytes | bytearray, key: bytes | bytearray) -> bytes:
    """`masked` XOR the masking key repeated (RFC 6455 §5.3): one XOR of two integers."""
    size = len(masked)
    if not size:
        return b""
    mask = key * (size >> 2) + key[: size & 3]
    return (int.from_bytes(masked, "little") ^ int.from_bytes(mask, "little")).to_bytes(size, "little")


def encode_frame(opcode: int, payload: bytes, fin: bool = True, rsv1: bool = False) -> bytes:
    """A server's frame: never masked (RFC 6455 §5.1), its length in the fewest bytes (§5.2).

    Raises ValueError for an opcode §5.2 does not define, and for a control frame that is
    fragmented or over 125 bytes (§5.5), which no peer would accept.
    """
    if opcode not in _OPCODES:
        raise ValueError(f"not a WebSocket opcode: {opcode!r}")
    size = len(payload)
    if opcode >= CLOSE and (size > 125 or not fin):
        raise ValueError("control frames are at most 125 bytes and not fragmented")
    first = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode
    if size < 126:
        return bytes((first, size)) + payload
    if size <= 0xFFFF:
        return _HEADER_16.pack(first, 126, size) + payload
    return _HEADER_64.pack(first, 127, size) + payload


def data_frame_head(opcode: int, size: int, rsv1: bool = False) -> bytes:
    """The head of a whole (FIN) text or binary frame of `size` bytes: what `encode_frame`
    puts before such a payload, without its checks (the server's own sends, which are valid
    by construction), so that a large payload can be written after it without a copy."""
    first = 0xC0 | opcode if rsv1 else 0x80 | opcode
    if size < 126:
        return bytes((first, size))
    if size <= 0xFFFF:
        return _HEADER_16.pack(first, 126, size)
    return _HEADER_64.pack(first, 127, size)


def _limit(value: int) -> int:
    """An int at least 0 (as the Rust reader's u64 takes it)."""
    value = operator.index(value)
    if value < 0:
        raise OverflowError("can't convert negative int to unsigned")
    return value


class WebSocketReader:
    """Reads one WebSocket connection's client frames: the pure-Python twin of
    `wirespeed._parser.WebSocketReader` (see the module's docstring for the events)."""

    __slots__ = (
        "_max_frame_size",
        "_max_message_size",
        "_compression",
        "_held",
        "_need",
        "_open",
        "_compressed",
        "_parts",
        "_texts",
        "_size",
        "_decoder",
        "_failed",
    )

    def __init__(self, max_frame_size: int, max_message_size: int, compression: bool) -> None:
        self._max_frame_size = _limit(max_frame_size)
        self._max_message_size = _limit(max_message_size)
        self._compression = bool(compression)
        # The bytes of an unfinished frame, and how many it must reach before it can be judged
        # further: one look per header step and one when the payload is all there.
        self._held = bytearray()
        self._need = 0
        # The data message being reassembled: its opcode (TEXT or BINARY; 0 for none), whether
        # its first frame had RSV1, its fragments so far (payloads; for uncompressed text the
        # decoded pieces and the decoder holding a character cut between fragments), and
        # their payload bytes in all.
        self._open = 0
        self._compressed = False
        self._parts: list[bytes] = []
        self._texts: list[str] = []
        self._size = 0
        self._decoder: codecs.IncrementalDecoder | None = None
        self._failed = False

    def feed(self, data: bytes) -> list[Event]:
        """Every event that `data` completes, in order."""
        if self._failed:
            return []
        held = self._held
        events: list[Event] = []
        if held:
            held += data
            if len(held) < self._need:
                return events
            used = self._read(held, events)
            if used == len(held) or self._failed:
                self._held = bytearray()
            else:
                del held[:used]
        else:
            used = self._read(data, events)
            if used < len(data) and not self._failed:
                self._held = bytearray(memoryview(data)[used:])
        return events

    def _fail(self, fault: Fault, events: list[Event]) -> int:
        """Reports `fault` and stops reading; what `_read` returns then (nothing is kept)."""
        events.append(fault)
        self._failed = True
        return 0

    def _read(self, buffer: bytes | bytearray, events: list[Event]) -> int:
        """Reads the frames at the start of `buffer` into `events`; the bytes used. What is left
        is an unfinished frame, and `_need` how many bytes it needs to be looked at again."""
        end = len(buffer)
        at = 0
        while at < end:
            first = buffer[at]
            opcode = first & 0x0F
            rsv1 = first & 0x40
            if first & 0x30 or (rsv1 and not self._compression):
                return self._fail(_RESERVED_BITS, events)
            if opcode not in _OPCODES:
                return self._fail(_RESERVED_OPCODE, events)
            # RSV1 marks a compressed message on its first frame only (RFC 7692 §6, §6.1).
            if rsv1 and opcode != TEXT and opcode != BINARY:
                return self._fail(_RESERVED_BITS, events)
            control = opcode >= CLOSE
            fin = first & 0x80
            if control and not fin:
                return self._fail(_BAD_CONTROL_FRAME, events)
            if end - at < 2:
                self._need = 2
                return at
            second = buffer[at + 1]
            if not second & 0x80:
                return self._fail(_UNMASKED, events)
            length = second & 0x7F
            if length == 126:
                if end - at < 4:
                    self._need = 4
                    return at
                length = buffer[at + 2] << 8 | buffer[at + 3]
                if length < 126:
                    return self._fail(_BAD_LENGTH, events)
                size = 8
            elif length == 127:
                if end - at < 10:
                    self._need = 10
                    return at
                length = int.from_bytes(buffer[at + 2 : at + 10], "big")
                if length >> 63 or length <= 0xFFFF:
                    return self._fail(_BAD_LENGTH, events)
                size = 14
            else:
                size = 6
            if control and length > 125:
                return self._fail(_BAD_CONTROL_FRAME, events)
            if length > self._max_frame_size:
                return self._fail(_FRAME_TOO_LARGE, events)
            if not control:
                if (opcode == CONTINUATION) != (self._open != 0):
                    return self._fail(_BAD_FRAGMENTATION, events)
                if self._size + length > self._max_message_size:
                    return self._fail(_MESSAGE_TOO_LARGE, events)
            stop = at + size + length
            if stop > end:
                self._need = size + length
                return at
            payload = unmask(buffer[at + size : stop], buffer[at + size - 4 : at + size])
            at = stop
            if control:
                fault = _control(opcode, payload, events)
            elif fin and opcode and not rsv1:  # a whole uncompressed message (nothing was open)
                if opcode == BINARY:
                    events.append(payload)
                    continue
                try:
                    events.append(payload.decode("utf-8"))
                    continue
                except UnicodeDecodeError:
                    fault = _INVALID_UTF8
            else:
                if opcode:
                    self._open = opcode
                    self._compressed = bool(rsv1)
                fault = self._fragment(payload, bool(fin), events)
            if fault is not None:
                return self._fail(fault, events)
        return at

    def _fragment(self, payload: bytes, fin: bool, events: list[Event]) -> Fault | None:
        """Adds a data frame's payload to its message, and reports the message when `fin`; or
        the fault in it. (`_read` reports an uncompressed message of one frame itself.)"""
        opcode = self._open
        if opcode == TEXT and not self._compressed:
            decoder = self._decoder
            if decoder is None:
                decoder = self._decoder = _UTF8_DECODER("strict")
            try:
                self._texts.append(decoder.decode(payload, fin))
            except UnicodeDecodeError:
                return _INVALID_UTF8
            if not fin:
                # CPython's incremental decoder waits on ED A0..ED BF, which only a surrogate
                # can follow; the Rust reader (and UTF-8) refuses it at once.
                pending = decoder.getstate()[0]
                if len(pending) > 1 and pending[0] == 0xED and pending[1] > 0x9F:
                    return _INVALID_UTF8
                self._size += len(payload)
                return None
            events.append("".join(self._texts))
        else:
            if fin and not self._parts:  # a message of one frame
                message = payload
            else:
                self._parts.append(payload)
                if not fin:
                    self._size += len(payload)
                    return None
                message = b"".join(self._parts)
            events.append((opcode, message) if self._compressed else message)
        self._open = 0
        self._compressed = False
        self._parts = []
        self._texts = []
        self._size = 0
        self._decoder = None
        return None


def _control(opcode: int, payload: bytes, events: list[Event]) -> Fault | None:
    """Reports a control frame: PING, PONG, or CLOSE with its code and reason (RFC 6455 §5.5.1,
    §7.4); or the fault of a bad close frame."""
    if opcode != CLOSE:
        events.append((opcode, payload))
    elif not payload:
        events.append((CLOSE, None, ""))
    elif len(payload) == 1:
        return _BAD_CLOSE
    else:
        code = payload[0] << 8 | payload[1]
        if not close_code_allowed(code):
            return _BAD_CLOSE
        try:
            events.append((CLOSE, code, payload[2:].decode("utf-8")))
        except UnicodeDecodeError:
            return _INVALID_UTF8
    return None
