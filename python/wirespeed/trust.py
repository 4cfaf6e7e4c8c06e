"""Which peers are trusted to say who the client is: `Config.forwarded_allow_ips`.

Strategy: this module owns the trust list that both ways of learning the client's address from
a proxy share: the proxy headers (X-Forwarded-*, RFC 7239 Forwarded) and the PROXY protocol.
The list is parsed once, when a server starts, into exact addresses and networks; a peer is
looked up as the text of its IP address (as the socket reports it), and the answer for each
address seen is remembered, so a proxy's keep-alive connections cost one dict lookup each.

The list is comma-separated: IP addresses (`127.0.0.1`, `::1`), networks in CIDR notation
(`10.0.0.0/8`, `fd00::/8`), `*` for every peer, and `unix` for peers on a Unix socket (which
have no address; the socket file's mode decides who can connect). An IPv4 peer reported as an
IPv4-mapped IPv6 address (`::ffff:10.1.2.3`, from a dual-stack socket) is judged by its IPv4
address.
"""

from __future__ import annotations

import ipaddress
from typing import Union

IPAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
IPNetwork = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]

# Remembered answers per peer address, at most this many (then the memory starts over), so a
# flood of distinct addresses cannot grow it without bound.
MEMORY_LIMIT = 4096


class TrustedPeers:
    """The parsed trust list. `trusts(host)` says whether a peer is a trusted proxy."""

    __slots__ = ("spec", "trust_all", "trust_unix", "_addresses", "_networks", "_memory")

    def __init__(self, spec: str) -> None:
        self.spec = spec
        self.trust_all = False
        self.trust_unix = False
        self._addresses: set[IPAddress] = set()
        self._networks: list[IPNetwork] = []
        self._memory: dict[str, bool] = {}
        for entry in (part.strip() for part in spec.split(",")):
            if not entry:
                continue
            if entry == "*":
                self.trust_all = True
            elif entry == "unix":
                self.trust_unix = True
            elif "/" in entry:
                try:
                    self._networks.append(ipaddress.ip_network(entry, strict=False))
                except ValueError:
                    raise ValueError(f"forwarded_allow_ips: {entry!r} is not a network (such as 10.0.0.0/8)") from None
            else:
                try:
                    self._addresses.add(ipaddress.ip_address(entry))
                except ValueError:
                    raise ValueError(
                        f"forwarded_allow_ips: {entry!r} is not an IP address, a network, '*' or 'unix'"
                    ) from None

    def trusts(self, host: str | None) -> bool:
        """Whether the peer at `host` (an IP address as text; None for a Unix-socket peer) is
        trusted. Text that is not an IP address is never trusted, unless everything is."""
        if self.trust_all:
            return True
        if host is None:
            return self.trust_unix
        known = self._memory.get(host)
        if known is None:
            known = self._judge(host)
            if len(self._memory) >= MEMORY_LIMIT:
                self._memory.clear()
            self._memory[host] = known
        return known

    def _judge(self, host: str) -> bool:
        try:
            address: IPAddress = ipaddress.ip_address(host.partition("%")[0])  # without a zone (fe80::1%eth0)
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if address in self._addresses:
            return True
        return any(address in network for network in self._networks)

    def __repr__(self) -> str:
        return f"TrustedPeers({self.spec!r})"
