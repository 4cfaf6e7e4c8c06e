"""permessage-deflate (RFC 7692): compressed WebSocket messages, with the standard library's zlib.

Strategy: this module owns the permessage-deflate extension on the server's side: choosing the
first acceptable offer of a handshake and answering it (`negotiate`, RFC 7692 §5, §7.1), and
turning one whole message's payload into its compressed form and back (`PerMessageDeflate`,
§7.2). It sees messages, never frames: the frame reader reassembles a message and says whether
RSV1 marked it compressed, and the writer sets RSV1 on what `compress` returns. Inflating is
bounded by the message limit as it happens: a small payload that would inflate to gigabytes is
a 1009 after making at most the limit plus one byte. Nothing here does I/O.

The server's policy is that of common servers (the `websockets` library's defaults): every
request of the client is honoured; the server's own window is at most 2^12 bytes, said in the
answer whether or not the client asked; a client that offers `client_max_window_bits` is asked
for at most 2^12 too; a client that does not keeps its 2^15 (RFC 7692 §7.1.2.2 forbids naming
client_max_window_bits in the answer then). An offer that names a window of 2^8 for the server
is declined: zlib cannot compress raw deflate with a window that small (it refuses 8), and RFC
7692 §7.1.2.1 lets the server answer only with that value or a smaller one.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from typing import Final, Literal

from ..errors import WebSocketInvalidData, WebSocketMessageTooBig

NAME: Final = "permessage-deflate"

# RFC 7692 §7.2.1: a message's compressed data ends with the empty stored block a sync flush
# gives, less these four bytes; §7.2.2: the receiver appends them again before inflating.
_TAIL: Final = b"\x00\x00\xff\xff"
# Below this payload size, appending the tail (one copy) is cheaper than a second inflate call.
_CONCAT_LIMIT: Final = 4096

# Window sizes (log2) an offer may name: 1*DIGIT with a value 8..15 (RFC 7692 §7.1.2.1).
_WINDOW_VALUES: Final = {str(bits): bits for bits in range(8, 16)}
# zlib's raw deflate refuses a window of 2^8 to compress with; it inflates with any of 8..15.
MIN_COMPRESS_WINDOW_BITS: Final = 9

# One offer as `Handshake.extensions` holds it: (name, ((parameter, value or None), ...)).
Offer = tuple[str, Sequence[tuple[str, str | None]]]


class PerMessageDeflate:
    """The negotiated permessage-deflate of one connection, on the server's side.

    `decompress` inflates the client's messages, `compress` deflates the server's. The
    parameters are the agreed ones (RFC 7692 §7.1): the server compresses with a window of at
    most 2^`server_max_window_bits` bytes and, with `server_no_context_takeover`, starts every
    message afresh; the client promised the same with its `client_*` pair, and its messages are
    inflated with a window of 2^`client_max_window_bits` (a reference past it is a 1007).

    Not safe to share between connections or tasks. After an error from `decompress` the
    connection is to be closed; the object refuses to inflate anything more.
    """

    __slots__ = (
        "_compressor",
        "_decompressor",
        "_failed",
        "_flush_mode",
        "client_max_window_bits",
        "client_no_context_takeover",
        "level",
        "mem_level",
        "server_max_window_bits",
        "server_no_context_takeover",
    )

    def __init__(
        self,
        *,
        server_no_context_takeover: bool = False,
        client_no_context_takeover: bool = False,
        server_max_window_bits: int = 15,
        client_max_window_bits: int = 15,
        level: int = zlib.Z_DEFAULT_COMPRESSION,
        mem_level: int = 5,
    ) -> None:
        if not MIN_COMPRESS_WINDOW_BITS <= server_max_window_bits <= 15:
            raise ValueError("server_max_window_bits must be 9..15: zlib cannot compress with a window of 2^8")
        if not 8 <= client_max_window_bits <= 15:
            raise ValueError("client_max_window_bits must be 8..15")
        self.server_no_context_takeover = server_no_context_takeover
        self.client_no_context_takeover = client_no_context_takeover
        self.server_max_window_bits = server_max_window_bits
        self.client_max_window_bits = client_max_window_bits
        self.level = level
        self.mem_level = mem_level
        # Made on first use: a connection that never sends (or receives) a message costs none
        # of zlib's memory for that direction.
        self._compressor: zlib._Compress | None = None
        # Without context takeover the one compressor is kept, and every message ends with a
        # full flush instead of a sync flush: it emits the same empty stored block and forgets
        # the history, so no message refers to an earlier one (RFC 7692 §7.1.1.1) and no
        # compressor is made per message.
        self._flush_mode = zlib.Z_FULL_FLUSH if server_no_context_takeover else zlib.Z_SYNC_FLUSH
        self._decompressor: zlib._Decompress | None = None
        self._failed = False

    def __repr__(self) -> str:
        return (
            f"PerMessageDeflate(server_no_context_takeover={self.server_no_context_takeover}, "
            f"client_no_context_takeover={self.client_no_context_takeover}, "
            f"server_max_window_bits={self.server_max_window_bits}, "
            f"client_max_window_bits={self.client_max_window_bits})"
        )

    def compress(self, payload: bytes) -> bytes:
        """The compressed payload of one message (RFC 7692 §7.2.1): deflated, sync-flushed, the
        final 00 00 ff ff removed. An empty message gives b"\\x00" (§7.2.3.6)."""
        compressor = self._compressor
        if compressor is None:
            compressor = self._compressor = zlib.compressobj(
                self.level, zlib.DEFLATED, -self.server_max_window_bits, self.mem_level
            )
        body = compressor.compress(payload)
        # The flush holds at least the whole empty stored block: its 00 00 ff ff is in `tail`.
        tail = compressor.flush(self._flush_mode)
        return body + tail[:-4] if body else tail[:-4]

    def decompress(self, payload: bytes, max_size: int) -> bytes:
        """The inflated payload of one compressed message (RFC 7692 §7.2.2); raises
        WebSocketMessageTooBig when it would be longer than `max_size` bytes, without making
        more than that, and WebSocketInvalidData when it does not inflate."""
        if max_size < 0:
            raise ValueError("max_size must not be negative")
        if self._failed:
            raise WebSocketInvalidData("the compression context was lost to an earlier error")
        decompressor = self._decompressor
        if decompressor is None:
            decompressor = zlib.decompressobj(-self.client_max_window_bits)
            if not self.client_no_context_takeover:
                self._decompressor = decompressor
        # One byte over the limit is enough to know it is over; zlib's max_length of 0 would
        # mean "no limit", which max_size + 1 never is.
        limit = max_size + 1
        try:
            if len(payload) <= _CONCAT_LIMIT:
                data = decompressor.decompress(payload + _TAIL, limit)
            else:
                data = decompressor.decompress(payload, limit)
                if len(data) <= max_size:
                    # The tail adds no output to a well-formed message, but a payload cut
                    # short of its flush may have held some back.
                    rest = decompressor.decompress(_TAIL, limit - len(data))
                    if rest:
                        data += rest
        except zlib.error as error:
            self._fail()
            raise WebSocketInvalidData(f"a compressed message does not inflate: {error}") from None
        if len(data) > max_size:
            # The output reached max_size + 1, where zlib stopped with input left over
            # (unconsumed_tail): over the limit whatever that input holds.
            self._fail()
            raise WebSocketMessageTooBig(f"a message inflates to more than {max_size} bytes")
        if decompressor.eof:
            # The message ended its deflate stream with a BFINAL block (RFC 7692 §7.2.3.4): zlib
            # cannot go on from there, so the next message starts a new stream.
            self._decompressor = None
        return data

    def _fail(self) -> None:
        self._decompressor = None
        self._failed = True


def negotiate(
    offers: Iterable[Offer],
    enabled: bool = True,
    *,
    max_server_window_bits: int = 12,
    max_client_window_bits: int = 12,
    server_no_context_takeover: bool = False,
    client_no_context_takeover: bool = False,
    level: int = zlib.Z_DEFAULT_COMPRESSION,
    mem_level: int = 5,
) -> tuple[str, PerMessageDeflate] | None:
    """The first acceptable permessage-deflate offer of `offers` (`Handshake.extensions`, in
    the client's order), answered: the Sec-WebSocket-Extensions value of the 101 and the codec
    for the connection; None when compression is not `enabled` or no offer is acceptable.

    An offer with an unknown parameter, a parameter given twice, a value where none belongs or
    a missing or invalid window value is declined, and so is one that names a server window of
    2^8; the next offer is tried (RFC 7692 §5.1, §7.1). The keywords are the server's own
    limits: its window (9..15), the window it asks of a client that offered
    `client_max_window_bits` (8..15), and whether it asks either side to drop context between
    messages (RFC 7692 §7.1.1.1 and §7.1.1.2 let the server add both to any answer).
    """
    if not MIN_COMPRESS_WINDOW_BITS <= max_server_window_bits <= 15:
        raise ValueError("max_server_window_bits must be 9..15")
    if not 8 <= max_client_window_bits <= 15:
        raise ValueError("max_client_window_bits must be 8..15")
    if not enabled:
        return None
    for name, parameters in offers:
        if name.lower() != NAME:
            continue
        offer = _read_offer(parameters)
        if offer is None:
            continue
        server_reset, client_reset, server_bits, client_bits = offer
        if server_bits == 8:
            continue  # §7.1.2.1: only 8 or less may answer it, and zlib cannot compress with 8
        server_reset = server_reset or server_no_context_takeover
        client_reset = client_reset or client_no_context_takeover
        server_window = min(server_bits or 15, max_server_window_bits)
        answer = [NAME]
        if server_reset:
            answer.append("server_no_context_takeover")
        if client_reset:
            answer.append("client_no_context_takeover")
        # §7.1.2.1: an offered value is accepted by answering it or a smaller one; the server
        # may name its window even when the client did not ask.
        if server_bits is not None or server_window < 15:
            answer.append(f"server_max_window_bits={server_window}")
        # §7.1.2.2: named in the answer only when the offer names it, with at most its value.
        client_window = 15
        if client_bits is not None:
            client_window = max_client_window_bits if client_bits is True else min(client_bits, max_client_window_bits)
            if client_bits is not True or client_window < 15:
                answer.append(f"client_max_window_bits={client_window}")
        codec = PerMessageDeflate(
            server_no_context_takeover=server_reset,
            client_no_context_takeover=client_reset,
            server_max_window_bits=server_window,
            client_max_window_bits=client_window,
            level=level,
            mem_level=mem_level,
        )
        return "; ".join(answer), codec
    return None


def _read_offer(
    parameters: Iterable[tuple[str, str | None]],
) -> tuple[bool, bool, int | None, int | Literal[True] | None] | None:
    """The parameters of one permessage-deflate offer (RFC 7692 §7.1): server and client
    no-context-takeover, the server window (None: not named) and the client window (None: not
    named, True: named without a value); None when the offer is to be declined."""
    server_reset = client_reset = False
    server_bits: int | None = None
    client_bits: int | Literal[True] | None = None
    seen: set[str] = set()
    for raw_name, value in parameters:
        name = raw_name.lower()
        if name in seen:
            return None  # §7.1: a parameter given twice declines the offer
        seen.add(name)
        if name == "server_no_context_takeover":  # §7.1.1.1: no value
            if value is not None:
                return None
            server_reset = True
        elif name == "client_no_context_takeover":  # §7.1.1.2: no value
            if value is not None:
                return None
            client_reset = True
        elif name == "server_max_window_bits":  # §7.1.2.1: a value is required
            if value is None or value not in _WINDOW_VALUES:
                return None
            server_bits = _WINDOW_VALUES[value]
        elif name == "client_max_window_bits":  # §7.1.2.2: the value is optional in an offer
            if value is None:
                client_bits = True
            elif value in _WINDOW_VALUES:
                client_bits = _WINDOW_VALUES[value]
            else:
                return None
        else:
            return None  # §7.1: an unknown parameter declines the offer
    return server_reset, client_reset, server_bits, client_bits


__all__ = ["MIN_COMPRESS_WINDOW_BITS", "NAME", "PerMessageDeflate", "negotiate"]
