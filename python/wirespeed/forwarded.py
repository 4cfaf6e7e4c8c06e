"""What a trusted proxy says about the client: X-Forwarded-For/-Proto/-Host and RFC 7239 Forwarded.

Strategy: this module owns the reading of the proxy headers (`Config.proxy_headers`). It is
called only for a request whose TCP peer the trust list (trust.py, `Config.forwarded_allow_ips`)
trusts, and only when something asks for the client, the scheme or the host of that request
(`Request.client`, `.scheme`, `.host`, and the ASGI scope), so a server with the switch off,
or an app that never asks, pays nothing. It reads header values and a trust list; it knows
nothing of connections, and it never changes the headers: the app still sees them as they came.

The rules:

* `Forwarded` wins. When a request has a Forwarded field, only it is read, and the
  X-Forwarded-* fields are left alone (a proxy that sets Forwarded says all it has to say
  there). Without one, X-Forwarded-For, X-Forwarded-Proto and X-Forwarded-Host are read.
  Whichever is read must be set (or cleared) by the proxy, since a client can send either.
* The chain is walked from the right. Each proxy appends the address it received the request
  from, so the rightmost entries are the nearest proxies. Entries that are themselves trusted
  proxies are skipped; the first untrusted one is the client. When every entry is trusted, the
  leftmost is the client. A node given as `unknown` or as an obfuscated identifier (`_hidden`,
  RFC 7239 §6.3) is not an address anyone can trust, so the walk stops there and the client is
  that name, as the proxy wrote it (apps that need an address check it with `ipaddress`).
  The port is the node's when it has a numeric one, else 0.
* The scheme and the host are those of the hop chosen: with Forwarded, the `proto=` and `host=`
  of the element whose `for=` named the client (of the last element when no element has a
  `for=`); with X-Forwarded-Proto / X-Forwarded-Host, the entry at the client's position when
  they have as many entries as X-Forwarded-For, else their last entry. Schemes are `http` and
  `https` (`ws` and `wss` are taken as `http` and `https`), in any case; the ASGI scope of a
  WebSocket makes them `ws` and `wss` again.
* A malformed field is ignored as a whole, as if it had not been sent: a Forwarded field that
  breaks the RFC 7239 §4 syntax, repeats a parameter in one element, names a node that is not
  an IPv4 address, a bracketed IPv6 address, `unknown` or an obfuscated identifier (with an
  optional port or obfuscated port, §6), gives another scheme than the four, or a host that is
  not a host[:port]; an X-Forwarded-For entry that is not an IP address (optionally with a
  port; `unknown` is accepted); an X-Forwarded-Proto or -Host entry likewise. More than
  MAX_HOPS entries is malformed too. A malformed Forwarded field is not replaced by the
  X-Forwarded-* fields. The request is served all the same, with the connection's own values.
* `by=` is checked like `for=` and otherwise unused; other parameters (§5.5) are ignored.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import NamedTuple

from .trust import TrustedPeers

# Entries in one chain at most (elements of Forwarded, entries of X-Forwarded-For): real chains
# have a handful; a longer one is treated as malformed, so no request can make the walk long.
MAX_HOPS = 64
# Bytes in one host name at most (RFC 1035 §2.3.4 allows 255 for a whole domain name).
MAX_HOST_LENGTH = 255

# The scheme each accepted proto names, for HTTP (a WebSocket scope maps it to ws/wss).
SCHEMES = {"http": "http", "https": "https", "ws": "http", "wss": "https"}

_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
# A quoted-string's inside (RFC 9110 §5.6.4): qdtext and quoted-pairs.
_QUOTED_TEXT = r"(?:[\t \x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t \x21-\x7e\x80-\xff])*"
# One forwarded-pair, possibly empty (RFC 7239 §4 allows "a;;b" and the #rule empty list
# elements), with the separator that ends it: ";" (next pair), "," (next element) or the end.
# Optional whitespace is allowed around the separators, never around "=".
_PAIR = re.compile(rf'[ \t]*(?:({_TOKEN})=(?:({_TOKEN})|"({_QUOTED_TEXT})"))?[ \t]*([;,]|\Z)')
_QUOTED_PAIR = re.compile(r"\\(.)", re.DOTALL)
# RFC 7239 §6: node = nodename [ ":" node-port ]; obfnode and obfport share one syntax (§6.3).
_OBFUSCATED = re.compile(r"_[A-Za-z0-9._-]+\Z")
_PORT = re.compile(r"[0-9]{1,5}\Z")
# A host in the sense of the Host field (RFC 9110 §7.2): a reg-name of letters, digits, ".",
# "-" and "_" (no userinfo, path or other delimiters), or an IP literal; then an optional port.
_REG_NAME = re.compile(r"[A-Za-z0-9._-]+\Z")


@dataclass(frozen=True, slots=True)
class ProxyInfo:
    """What the proxy headers of one request say; None where they say nothing."""

    client: tuple[str, int] | None = None
    scheme: str | None = None  # "http" or "https"
    host: str | None = None  # host[:port], as the client asked for it


def proxy_info(raw_headers: Iterable[tuple[bytes, bytes]], trust: TrustedPeers) -> ProxyInfo | None:
    """What the proxy headers among `raw_headers` say, walking the chain past the proxies
    `trust` trusts; None when there are none, or none that is well formed. The caller has
    already checked that the request's TCP peer is trusted."""
    forwarded: list[bytes] = []
    x_for: list[bytes] = []
    x_proto: list[bytes] = []
    x_host: list[bytes] = []
    for name, value in raw_headers:
        if name == b"forwarded":
            forwarded.append(value)
        elif name[:12] == b"x-forwarded-":
            if name == b"x-forwarded-for":
                x_for.append(value)
            elif name == b"x-forwarded-proto":
                x_proto.append(value)
            elif name == b"x-forwarded-host":
                x_host.append(value)
    if forwarded:
        return from_forwarded(_joined(forwarded), trust)
    if x_for or x_proto or x_host:
        return from_x_forwarded(_joined(x_for), _joined(x_proto), _joined(x_host), trust)
    return None


def _joined(values: list[bytes]) -> str | None:
    """Several field lines of one name as one list (RFC 9110 §5.3), as text."""
    if not values:
        return None
    return b",".join(values).decode("latin-1")


# -- Forwarded (RFC 7239)
def parse_forwarded(value: str) -> list[dict[str, str]] | None:
    """The elements of a Forwarded value, each a dict of its parameters (names lower-cased,
    quoted strings unquoted), or None when it breaks the §4 syntax, repeats a parameter in an
    element (§4: each parameter at most once), or has more than MAX_HOPS elements. Values are
    not checked here (see `check_element`)."""
    elements: list[dict[str, str]] = []
    element: dict[str, str] = {}
    position = 0
    while True:
        match = _PAIR.match(value, position)
        if match is None:
            return None
        name, token, quoted, separator = match.groups()
        if name is not None:
            name = name.lower()
            if name in element:
                return None
            element[name] = token if token is not None else _QUOTED_PAIR.sub(r"\1", quoted)
        if separator != ";":  # "," or the end: the element is complete
            if element:
                elements.append(element)
                if len(elements) > MAX_HOPS:
                    return None
                element = {}
            if not separator:
                return elements
        position = match.end()


def parse_node(node: str) -> tuple[str, int] | None:
    """A node of §6 as (name, port): an IPv4 address, an IPv6 address (written in brackets,
    returned without them), "unknown" or an obfuscated identifier; the port is the node-port
    when it is numeric, 0 when it is obfuscated or absent. None when it is none of these."""
    port_text = ""
    if node.startswith("["):
        end = node.find("]")
        if end < 0:
            return None
        name = _ip(node[1:end], ipaddress.IPv6Address)
        rest = node[end + 1 :]
        if rest:
            if rest[0] != ":":
                return None
            port_text = rest[1:]
            if not port_text:
                return None
    else:
        name_text, colon, port_text = node.partition(":")
        if colon and not port_text:
            return None
        if name_text == "unknown" or _OBFUSCATED.match(name_text):
            name = name_text
        else:
            name = _ip(name_text, ipaddress.IPv4Address)
    if name is None:
        return None
    if not port_text:
        return name, 0
    if _PORT.match(port_text):
        port = int(port_text)
        return (name, port) if port <= 65535 else None
    return (name, 0) if _OBFUSCATED.match(port_text) else None


def _ip(text: str, kind: type[ipaddress.IPv4Address | ipaddress.IPv6Address]) -> str | None:
    """`text` as the normal text of an address of `kind`, or None when it is not one (zones,
    leading zeros and other spellings `ipaddress` refuses are refused)."""
    if not text or "%" in text:
        return None
    try:
        return str(kind(text))
    except ValueError:
        return None


def parse_scheme(value: str) -> str | None:
    """ "http" or "https" for an accepted proto (any case; ws and wss too), else None."""
    return SCHEMES.get(value.lower())


def parse_host(value: str) -> str | None:
    """`value` when it is a host[:port] (a reg-name, an IPv4 address or a bracketed IPv6
    address, RFC 9110 §7.2), else None."""
    if not value or len(value) > MAX_HOST_LENGTH:
        return None
    if value.startswith("["):
        end = value.find("]")
        if end < 0 or _ip(value[1:end], ipaddress.IPv6Address) is None:
            return None
        rest = value[end + 1 :]
    else:
        name, colon, port = value.partition(":")
        if not _REG_NAME.match(name):
            return None
        rest = colon + port
    if rest and (rest[0] != ":" or not _PORT.match(rest[1:]) or int(rest[1:]) > 65535):
        return None
    return value


class Element(NamedTuple):
    """The parameters of one Forwarded element that this server reads, checked."""

    node: tuple[str, int] | None  # for=
    scheme: str | None  # proto=, as "http" or "https"
    host: str | None  # host=


def check_element(element: dict[str, str]) -> Element | None:
    """The checked "for", "proto" and "host" of one element; None when one of them (or "by")
    is malformed."""
    node = None
    for name in ("for", "by"):
        text = element.get(name)
        if text is not None:
            parsed = parse_node(text)
            if parsed is None:
                return None
            if name == "for":
                node = parsed
    scheme = proto = element.get("proto")
    if proto is not None:
        scheme = parse_scheme(proto)
        if scheme is None:
            return None
    host = element.get("host")
    if host is not None and parse_host(host) is None:
        return None
    return Element(node, scheme, host)


def from_forwarded(value: str | None, trust: TrustedPeers) -> ProxyInfo | None:
    """What a Forwarded value says (see the module's rules), or None when it is malformed or
    says nothing this server reads."""
    if value is None:
        return None
    parsed = parse_forwarded(value)
    if not parsed:
        return None
    elements = []
    for element in parsed:
        checked = check_element(element)
        if checked is None:
            return None
        elements.append(checked)
    hops = [(element.node, element) for element in elements if element.node is not None]
    chosen = hops[_choose([node[0] for node, _ in hops], trust)][1] if hops else elements[-1]
    if chosen.node is None and chosen.scheme is None and chosen.host is None:
        return None
    return ProxyInfo(chosen.node, chosen.scheme, chosen.host)


def _choose(chain: list[str], trust: TrustedPeers) -> int:
    """The position of the client in `chain` (node names, nearest proxy last): the rightmost
    entry that is not a trusted proxy, or the leftmost when all of them are."""
    for index in range(len(chain) - 1, -1, -1):
        if not trust.trusts(chain[index]):
            return index
    return 0


# -- X-Forwarded-*
def _entries(value: str | None) -> list[str] | None:
    """The non-empty comma-separated entries of a field value, stripped; None when there are
    none or more than MAX_HOPS."""
    if value is None:
        return None
    entries = [entry for entry in (part.strip(" \t") for part in value.split(",")) if entry]
    if not entries or len(entries) > MAX_HOPS:
        return None
    return entries


def parse_x_forwarded_for_entry(entry: str) -> tuple[str, int] | None:
    """One X-Forwarded-For entry as (address, port): an IPv4 address, an IPv6 address (bare, or
    in brackets to carry a port), either with ":port", or "unknown"; None otherwise."""
    if entry == "unknown":
        return entry, 0
    if entry.startswith("["):
        return _with_port(entry)
    if entry.count(":") > 1:  # a bare IPv6 address
        address = _ip(entry, ipaddress.IPv6Address)
        return None if address is None else (address, 0)
    return _with_port(entry)


def _with_port(entry: str) -> tuple[str, int] | None:
    """An IPv4 address or bracketed IPv6 address with an optional numeric port."""
    node = parse_node(entry)
    if node is None or node[0] == "unknown" or node[0].startswith("_"):
        return None
    return node


def from_x_forwarded(
    for_value: str | None,
    proto_value: str | None,
    host_value: str | None,
    trust: TrustedPeers,
) -> ProxyInfo | None:
    """What X-Forwarded-For, X-Forwarded-Proto and X-Forwarded-Host say (see the module's
    rules); each malformed field is ignored on its own."""
    chain: list[tuple[str, int]] | None = None
    entries = _entries(for_value)
    if entries is not None:
        nodes = [parse_x_forwarded_for_entry(entry) for entry in entries]
        chain = [node for node in nodes if node is not None]
        if len(chain) < len(nodes):  # an entry is malformed: the field is ignored
            chain = None
    client = None
    position = -1
    if chain is not None:
        chosen = _choose([node[0] for node in chain], trust)
        client = chain[chosen]
        position = chosen - len(chain)  # counted from the right, as the proxies appended
    scheme = _pick(_entries(proto_value), chain, position, parse_scheme)
    host = _pick(_entries(host_value), chain, position, parse_host)
    if client is None and scheme is None and host is None:
        return None
    return ProxyInfo(client, scheme, host)


def _pick(
    entries: list[str] | None,
    chain: list[tuple[str, int]] | None,
    position: int,
    check: Callable[[str], str | None],
) -> str | None:
    """The entry of X-Forwarded-Proto or -Host for the client: the one at its position when
    there are as many entries as in X-Forwarded-For, else the last; None when any entry is
    malformed (the field is ignored as a whole)."""
    if entries is None:
        return None
    values = [check(entry) for entry in entries]
    if any(value is None for value in values):
        return None
    if chain is not None and len(values) == len(chain):
        return values[position]
    return values[-1]


__all__ = [
    "MAX_HOPS",
    "Element",
    "ProxyInfo",
    "check_element",
    "from_forwarded",
    "from_x_forwarded",
    "parse_forwarded",
    "parse_host",
    "parse_node",
    "parse_scheme",
    "parse_x_forwarded_for_entry",
    "proxy_info",
]
