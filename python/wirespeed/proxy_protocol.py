"""The PROXY protocol header (HAProxy's proxy-protocol.txt, versions 1 and 2), in pure Python.

Strategy: this module is the twin of rust/proxy_protocol.rs, for the httptools backend:
`parse_proxy_header(data)` gives the same verdict as `wirespeed._parser.parse_proxy_header` on
the same bytes (the reasons included; tests/test_proxy_protocol_parse.py checks them against
each other), following the same steps in the same order. `data` is everything the connection
has sent so far; the verdict is one of

* `int`: the header is not complete; call again once at least this many bytes (in all) have
  arrived (so a large header trickled in is not parsed again per byte);
* `(consumed, source, destination)`: a complete header of `consumed` bytes; `source` and
  `destination` are `(host, port)` (IPv4 dotted decimal, IPv6 in RFC 5952 form), or both None
  to keep the connection's own addresses (LOCAL, UNKNOWN, AF_UNSPEC, AF_UNIX);
* `str`: not a valid header, and why.

The rules (see the Rust module for the full list): version 1 (section 2.1) is one line of at
most 107 bytes ending in CRLF, fields separated by single spaces, addresses and ports without
leading zeros; version 2 (section 2.2) has its signature, version 2, command LOCAL or PROXY,
one of the seven listed family/transport pairs, a length that holds the addresses, and TLVs
that are walked and length-checked (2.2.1-2.2.7: CRC32C verified, AUTHORITY UTF-8, UNIQUE_ID
at most 128 bytes, SSL sub-TLVs walked). Bytes that cannot start a header are refused at once.
"""

from __future__ import annotations

Endpoint = tuple[str, int]
Verdict = int | tuple[int, Endpoint | None, Endpoint | None] | str

V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"
V1_MAX_LENGTH = 107
V1_PREFIX = b"PROXY "
V2_FIXED = 16
UNIQUE_ID_MAX = 128
NOT_A_HEADER = "no PROXY protocol header"

PP2_TYPE_AUTHORITY = 0x02
PP2_TYPE_CRC32C = 0x03
PP2_TYPE_UNIQUE_ID = 0x05
PP2_TYPE_SSL = 0x20

# Address block length per (family, transport) byte of a PROXY command (2.2).
ADDRESS_LENGTHS = {0x00: 0, 0x11: 12, 0x12: 12, 0x21: 36, 0x22: 36, 0x31: 216, 0x32: 216}

DIGITS = frozenset(b"0123456789")
HEX_DIGITS = frozenset(b"0123456789abcdefABCDEF")


def parse_proxy_header(data: bytes) -> Verdict:
    """The verdict on the PROXY header at the start of `data` (see the module docstring)."""
    if not data:
        return 1
    if data[: len(V1_PREFIX)] == V1_PREFIX[: len(data)]:
        return _parse_v1(data)
    if data[: len(V2_SIGNATURE)] == V2_SIGNATURE[: len(data)]:
        return _parse_v2(data)
    return NOT_A_HEADER


# -- version 1 (2.1)


def _parse_v1(data: bytes) -> Verdict:
    window = data[: V1_MAX_LENGTH - 1]  # the CR can be at index 105 at the latest
    cr = window.find(b"\r", len(V1_PREFIX))
    lf = window.find(b"\n", len(V1_PREFIX))
    ends = [index for index in (cr, lf) if index >= 0]
    if not ends:
        if len(data) >= V1_MAX_LENGTH - 1:
            return "v1: line longer than 107 bytes"
        return len(data) + 1
    end = min(ends)
    if data[end] == 0x0A:
        return "v1: line not ended by CRLF"
    if len(data) == end + 1:
        return end + 2
    if data[end + 1] != 0x0A:
        return "v1: line not ended by CRLF"
    consumed = end + 2
    line = data[len(V1_PREFIX) : end]
    if line == b"UNKNOWN" or line.startswith(b"UNKNOWN "):
        return (consumed, None, None)  # the rest of the line is ignored
    fields = line.split(b" ")
    if fields[0] == b"TCP4":
        parse_address = _ipv4_text
    elif fields[0] == b"TCP6":
        parse_address = _ipv6_text
    else:
        return "v1: unknown protocol"
    if len(fields) != 5:
        return "v1: not 5 fields separated by single spaces"
    source = parse_address(fields[1])
    if source is None:
        return "v1: invalid source address"
    destination = parse_address(fields[2])
    if destination is None:
        return "v1: invalid destination address"
    source_port = _decimal(fields[3], 5, 65535)
    if source_port is None:
        return "v1: invalid source port"
    destination_port = _decimal(fields[4], 5, 65535)
    if destination_port is None:
        return "v1: invalid destination port"
    return (consumed, (source, source_port), (destination, destination_port))


def _decimal(text: bytes, max_digits: int, maximum: int) -> int | None:
    """A decimal number of at most `max_digits` digits, without a leading zero, at most `maximum`."""
    if not text or len(text) > max_digits or (len(text) > 1 and text[0] == 0x30):
        return None
    if not all(byte in DIGITS for byte in text):
        return None
    value = int(text)
    return value if value <= maximum else None


def _ipv4(text: bytes) -> bytes | None:
    parts = text.split(b".")
    if len(parts) != 4:
        return None
    octets = [_decimal(part, 3, 255) for part in parts]
    if None in octets:
        return None
    return bytes(octets)  # type: ignore[arg-type]


def _ipv4_text(text: bytes) -> str | None:
    octets = _ipv4(text)
    return None if octets is None else ".".join(str(octet) for octet in octets)


def _ipv6_text(text: bytes) -> str | None:
    octets = parse_ipv6(text)
    return None if octets is None else format_ipv6(octets)


def parse_ipv6(text: bytes) -> bytes | None:
    """Groups of 1 to 4 hexadecimal digits separated by colons: eight, or fewer with one `::`
    standing for at least one zero group; the last two may be written as an IPv4 address."""
    at = text.find(b"::")
    compressed = at >= 0
    if compressed:
        head, tail = text[:at], text[at + 2 :]
    else:
        head, tail = text, b""
    head_groups = _groups(head, dotted_tail_allowed=not compressed)
    tail_groups = _groups(tail, dotted_tail_allowed=True)
    if head_groups is None or tail_groups is None:
        return None
    total = len(head_groups) + len(tail_groups)
    if (compressed and total > 7) or (not compressed and total != 8):
        return None
    groups = head_groups + [0] * (8 - total) + tail_groups
    return b"".join(group.to_bytes(2, "big") for group in groups)


def _groups(text: bytes, dotted_tail_allowed: bool) -> list[int] | None:
    if not text:
        return []
    groups: list[int] = []
    parts = text.split(b":")
    for index, part in enumerate(parts):
        if index == len(parts) - 1 and dotted_tail_allowed and b"." in part:
            octets = _ipv4(part)
            if octets is None or len(groups) + 2 > 8:
                return None
            groups += [int.from_bytes(octets[:2], "big"), int.from_bytes(octets[2:], "big")]
            continue
        if not part or len(part) > 4 or not all(byte in HEX_DIGITS for byte in part) or len(groups) >= 8:
            return None
        groups.append(int(part, 16))
    return groups


def format_ipv6(octets: bytes) -> str:
    """RFC 5952 text: lowercase, no leading zeros, the first longest run of two or more zero
    groups as `::`, never a dotted tail."""
    groups = [int.from_bytes(octets[index : index + 2], "big") for index in range(0, 16, 2)]
    best_start, best_length = 8, 0
    start = 0
    while start < 8:
        if groups[start]:
            start += 1
            continue
        end = start
        while end < 8 and groups[end] == 0:
            end += 1
        if end - start > best_length:
            best_start, best_length = start, end - start
        start = end
    if best_length < 2:
        return ":".join(f"{group:x}" for group in groups)
    head = ":".join(f"{group:x}" for group in groups[:best_start])
    tail = ":".join(f"{group:x}" for group in groups[best_start + best_length :])
    return f"{head}::{tail}"


# -- version 2 (2.2)


def _parse_v2(data: bytes) -> Verdict:
    proxy = False
    if len(data) > 12:
        version_command = data[12]
        if version_command >> 4 != 2:
            return "v2: unsupported version"
        command = version_command & 0x0F
        if command == 1:
            proxy = True
        elif command != 0:
            return "v2: unknown command"
    address_length = 0
    if len(data) > 13 and proxy:  # LOCAL: the family is ignored with the rest of the block
        known = ADDRESS_LENGTHS.get(data[13])
        if known is None:
            return "v2: unknown address family or transport"
        address_length = known
    if len(data) < V2_FIXED:
        return V2_FIXED
    block = int.from_bytes(data[14:16], "big")
    if block < address_length:
        return "v2: length shorter than the addresses"
    consumed = V2_FIXED + block
    if len(data) < consumed:
        return consumed
    if not proxy:
        return (consumed, None, None)
    header = data[:consumed]
    problem = _check_tlvs(header, V2_FIXED + address_length)
    if problem is not None:
        return problem
    family = data[13] >> 4
    addresses = header[V2_FIXED : V2_FIXED + address_length]
    if family == 1:
        return (
            consumed,
            (".".join(str(octet) for octet in addresses[0:4]), int.from_bytes(addresses[8:10], "big")),
            (".".join(str(octet) for octet in addresses[4:8]), int.from_bytes(addresses[10:12], "big")),
        )
    if family == 2:
        return (
            consumed,
            (format_ipv6(addresses[0:16]), int.from_bytes(addresses[32:34], "big")),
            (format_ipv6(addresses[16:32]), int.from_bytes(addresses[34:36], "big")),
        )
    return (consumed, None, None)


def _next_tlv(data: bytes, position: int) -> tuple[int, bytes] | None:
    """The type and value of the TLV at `position`, or None when it runs past the end."""
    if position + 3 > len(data):
        return None
    length = int.from_bytes(data[position + 1 : position + 3], "big")
    if position + 3 + length > len(data):
        return None
    return data[position], data[position + 3 : position + 3 + length]


def _check_tlvs(header: bytes, start: int) -> str | None:
    """The TLVs of `header` from `start` on (2.2.1 to 2.2.7): None when they are valid."""
    crc_at: int | None = None
    position = start
    while position < len(header):
        tlv = _next_tlv(header, position)
        if tlv is None:
            return "v2: truncated TLV"
        kind, value = tlv
        if kind == PP2_TYPE_AUTHORITY:
            try:
                value.decode("utf-8")
            except UnicodeDecodeError:
                return "v2: AUTHORITY TLV not UTF-8"
        elif kind == PP2_TYPE_CRC32C:
            if len(value) != 4:
                return "v2: CRC32C TLV not 4 bytes"
            if crc_at is not None:
                return "v2: more than one CRC32C TLV"
            crc_at = position + 3
        elif kind == PP2_TYPE_UNIQUE_ID and len(value) > UNIQUE_ID_MAX:
            return "v2: UNIQUE_ID TLV longer than 128 bytes"
        elif kind == PP2_TYPE_SSL:
            if len(value) < 5:
                return "v2: SSL TLV shorter than 5 bytes"
            sub = 5
            while sub < len(value):
                sub_tlv = _next_tlv(value, sub)
                if sub_tlv is None:
                    return "v2: truncated SSL sub-TLV"
                sub += 3 + len(sub_tlv[1])
        position += 3 + len(value)
    if crc_at is not None:
        expected = int.from_bytes(header[crc_at : crc_at + 4], "big")
        if crc32c(header[:crc_at] + b"\x00\x00\x00\x00" + header[crc_at + 4 :]) != expected:
            return "v2: CRC32C checksum mismatch"
    return None


def _crc32c_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return table


CRC32C_TABLE = _crc32c_table()


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli) of `data`."""
    crc = 0xFFFFFFFF
    table = CRC32C_TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


__all__ = ["NOT_A_HEADER", "V2_SIGNATURE", "Endpoint", "Verdict", "crc32c", "format_ipv6", "parse_proxy_header"]
