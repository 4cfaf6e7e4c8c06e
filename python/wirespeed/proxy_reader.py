"""The PROXY protocol on a connection: the reader that takes the parser's place until the header is in.

Strategy: this module owns what a connection does with the PROXY header (Config.proxy_protocol)
and nothing of its bytes' rules (rust/proxy_protocol.rs, and its twin proxy_protocol.py for
the httptools backend). With the setting off nothing here runs. With it on, a new connection's
`parser` is a `ProxyHeaderReader` (the same trick as the WebSocket session: `data_received`
stays as it is and feeds whatever `parser` is), which gathers the first bytes until the parser
of the header has its verdict, then

* a complete header from a trusted peer (forwarded_allow_ips, the one trust list, trust.py):
  its source and destination become the connection's client and server addresses (LOCAL and
  UNKNOWN headers, and AF_UNSPEC and AF_UNIX ones, keep the real ones, as the specification
  says), the HTTP parser is put back and fed the bytes that followed the header;
* a complete header from a peer not in the list: the connection is closed. The rule: with the
  PROXY protocol on, only trusted peers may connect at all, since every connection must start
  with a header and only a trusted peer's header is believed;
* bytes that are not a valid header (a plain HTTP request included): the connection is closed
  without an answer (the peer does not speak HTTP yet).

Each close writes one line through the server's rate-limited client log (logs.py). The header
must arrive within header_timeout, which counts from accept (timeouts.py: the reader holds
nothing a 408 would answer, so the sweep closes a late connection) and so bounds the header
and the first request head together.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .protocol import HttpProtocol
    from .trust import TrustedPeers

ParseHeader = Callable[[bytes], Any]

# The parser of the header per parser backend: (module, function).
HEADER_PARSERS: dict[str, tuple[str, str]] = {
    "rust": ("wirespeed._parser", "parse_proxy_header"),
    "httptools": ("wirespeed.proxy_protocol", "parse_proxy_header"),
}

UNTRUSTED = "PROXY protocol header from a peer not in forwarded_allow_ips"
LATE = "PROXY protocol header not received in time"


class ProxyProtocol:
    """What every connection of a server with the PROXY protocol on shares."""

    __slots__ = ("parse", "trusted")

    def __init__(self, trusted: TrustedPeers, backend: str) -> None:
        module_name, function_name = HEADER_PARSERS[backend]
        self.parse: ParseHeader = getattr(importlib.import_module(module_name), function_name)
        self.trusted = trusted  # forwarded_allow_ips, as the proxy headers read it

    def reader(self, connection: HttpProtocol) -> ProxyHeaderReader:
        return ProxyHeaderReader(self, connection)


class ProxyHeaderReader:
    """A connection's `parser` until its PROXY header is read. Like a parser it has `feed`,
    `requests` (0) and `holding` (False: nothing of a request is held, so a late header is a
    plain close)."""

    __slots__ = ("buffer", "connection", "http_parser", "needed", "protocol")

    requests = 0
    holding = False
    # What the connection logs when its header is late (HttpProtocol.timed_out).
    late_reason = LATE

    def __init__(self, protocol: ProxyProtocol, connection: HttpProtocol) -> None:
        self.protocol = protocol
        self.connection = connection
        self.http_parser = connection.parser
        self.buffer = b""
        self.needed = 1  # bytes in all before the header's parser is asked again

    def feed(self, data: bytes) -> list[Any]:
        buffer = self.buffer + data if self.buffer else data
        if len(buffer) < self.needed:
            self.buffer = buffer
            return []
        verdict = self.protocol.parse(buffer)
        kind = verdict.__class__
        connection = self.connection
        if kind is int:
            self.buffer = buffer
            self.needed = verdict
            return []
        self.buffer = b""
        if kind is str:
            return self.refuse(f"PROXY protocol: {verdict}")
        consumed, source, destination = verdict
        peer = connection.client
        if not self.protocol.trusted.trusts(None if peer is None else peer[0]):
            return self.refuse(UNTRUSTED)
        if source is not None:
            connection.client_address = source
            connection.local_address = destination
        parser = self.http_parser
        connection.parser = parser
        rest = buffer[consumed:]
        return parser.feed(rest) if rest else []

    def refuse(self, reason: str) -> list[Any]:
        """The connection did not begin with a PROXY header this server believes: it is closed
        without an answer (its peer does not speak HTTP to us yet), and a line logged."""
        connection = self.connection
        connection.state.client_errors.rejected(connection.client, reason)
        connection.close_if_idle()  # idle: nothing of a request was read
        return []


__all__ = ["HEADER_PARSERS", "LATE", "UNTRUSTED", "ProxyHeaderReader", "ProxyProtocol"]
