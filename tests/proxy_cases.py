"""PROXY protocol headers (HAProxy's proxy-protocol.txt) as a table: each row names its section.

Used by tests/test_proxy_protocol_parse.py (both parsers of the header, the Rust one and the
Python twin, must give each row's verdict) and tests/test_proxy_protocol.py (the hostile rows
sent to a live server, which must close the connection and go on serving others).
A verdict is as `parse_proxy_header` gives it: `int` (more bytes needed, at least that many in
all), `(consumed, source, destination)` or `str` (the reason it is refused).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wirespeed.proxy_protocol import V2_SIGNATURE, crc32c


@dataclass(frozen=True)
class ProxyCase:
    section: str
    name: str
    data: bytes
    verdict: Any

    @property
    def id(self) -> str:
        return f"{self.section} {self.name}"


def v2(version_command: int, family: int, body: bytes) -> bytes:
    """A version 2 header: signature, version and command, family and transport, length, body."""
    return V2_SIGNATURE + bytes([version_command, family]) + len(body).to_bytes(2, "big") + body


def tlv(kind: int, value: bytes) -> bytes:
    return bytes([kind]) + len(value).to_bytes(2, "big") + value


def ipv4_body(source: str, source_port: int, destination: str, destination_port: int) -> bytes:
    return (
        bytes(int(part) for part in source.split("."))
        + bytes(int(part) for part in destination.split("."))
        + source_port.to_bytes(2, "big")
        + destination_port.to_bytes(2, "big")
    )


def with_crc32c(header: bytes) -> bytes:
    """`header` (version 2) with a CRC32C TLV appended and filled in (2.2.3)."""
    header = header + tlv(0x03, b"\x00" * 4)
    header = header[:14] + (len(header) - 16).to_bytes(2, "big") + header[16:]
    return header[:-4] + crc32c(header).to_bytes(4, "big")


INET = ipv4_body("192.0.2.1", 12345, "198.51.100.7", 80)
INET_ENDPOINTS = (("192.0.2.1", 12345), ("198.51.100.7", 80))
INET6 = bytes(15) + b"\x01" + bytes(15) + b"\x01" + (1).to_bytes(2, "big") + (65535).to_bytes(2, "big")


def inet(tlvs: bytes = b"") -> bytes:
    return v2(0x21, 0x11, INET + tlvs)


def _corrupted(header: bytes) -> bytes:
    return header[:-1] + bytes([header[-1] ^ 1])


# Valid headers: (consumed, source, destination).
VALID = [
    ProxyCase("2.1", "TCP4", b"PROXY TCP4 192.0.2.1 10.0.0.1 56324 443\r\n",
              (41, ("192.0.2.1", 56324), ("10.0.0.1", 443))),
    ProxyCase("2.1", "TCP6, normalised (RFC 5952)", b"PROXY TCP6 2001:DB8:0:0:0:0:0:1 ::1 1 65535\r\n",
              (45, ("2001:db8::1", 1), ("::1", 65535))),
    ProxyCase("2.1", "TCP6 with an IPv4 tail (inet_ntop's IPv4-mapped form)",
              b"PROXY TCP6 ::ffff:192.0.2.1 ::1 80 8080\r\n", (41, ("::ffff:c000:201", 80), ("::1", 8080))),
    ProxyCase("2.1", "UNKNOWN", b"PROXY UNKNOWN\r\n", (15, None, None)),
    ProxyCase("2.1", "UNKNOWN, the rest of the line ignored",
              b"PROXY UNKNOWN ffff:f::1 ffff::2 65535 65535\r\n", (45, None, None)),
    ProxyCase("2.1", "107 bytes, the longest line", b"PROXY UNKNOWN " + b"x" * 91 + b"\r\n", (107, None, None)),
    ProxyCase("2.1", "ports 0", b"PROXY TCP4 1.2.3.4 5.6.7.8 0 0\r\n", (32, ("1.2.3.4", 0), ("5.6.7.8", 0))),
    ProxyCase("2.2", "PROXY TCP4", inet(), (28, *INET_ENDPOINTS)),
    ProxyCase("2.2", "PROXY UDP4", v2(0x21, 0x12, INET), (28, *INET_ENDPOINTS)),
    ProxyCase("2.2", "PROXY TCP6", v2(0x21, 0x21, INET6), (52, ("::1", 1), ("::1", 65535))),
    ProxyCase("2.2", "PROXY UNIX stream: no (host, port)", v2(0x21, 0x31, b"/" * 216), (232, None, None)),
    ProxyCase("2.2", "PROXY UNSPEC", v2(0x21, 0x00, b""), (16, None, None)),
    ProxyCase("2.2", "LOCAL (health checks) skips its block", v2(0x20, 0x11, INET), (28, None, None)),
    ProxyCase("2.2", "LOCAL ignores the family", v2(0x20, 0xFF, b""), (16, None, None)),
    ProxyCase("2.2", "unknown TLV types skipped", inet(tlv(0xE0, b"ab") + tlv(0xF8, b"")), (36, *INET_ENDPOINTS)),
    ProxyCase("2.2.1", "ALPN", inet(tlv(0x01, b"h2")), (33, *INET_ENDPOINTS)),
    ProxyCase("2.2.2", "AUTHORITY", inet(tlv(0x02, "bücher.example".encode())), (28 + 3 + 15, *INET_ENDPOINTS)),
    ProxyCase("2.2.3", "CRC32C", with_crc32c(inet()), (35, *INET_ENDPOINTS)),
    ProxyCase("2.2.4", "NOOP", inet(tlv(0x04, b"\x00" * 3)), (34, *INET_ENDPOINTS)),
    ProxyCase("2.2.5", "UNIQUE_ID of 128 bytes", inet(tlv(0x05, b"u" * 128)), (28 + 131, *INET_ENDPOINTS)),
    ProxyCase("2.2.6", "SSL with sub-TLVs", inet(tlv(0x20, b"\x01" + bytes(4) + tlv(0x21, b"TLSv1.3") + tlv(0x22, b"cn"))),
              (28 + 3 + 5 + 10 + 5, *INET_ENDPOINTS)),
    ProxyCase("2.2.7", "NETNS", inet(tlv(0x30, b"ns1")), (34, *INET_ENDPOINTS)),
]

# Headers a receiver must refuse: the reason.
INVALID = [
    ProxyCase("2", "a plain HTTP request", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "no PROXY protocol header"),
    ProxyCase("2", "PUT, refused at its second byte", b"PU", "no PROXY protocol header"),
    ProxyCase("2", "TLS ClientHello", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", "no PROXY protocol header"),
    ProxyCase("2.1", "lowercase proxy", b"proxy TCP4 1.2.3.4 1.2.3.4 1 2\r\n", "no PROXY protocol header"),
    ProxyCase("2.1", "108 bytes without CRLF", b"PROXY UNKNOWN " + b"x" * 92, "v1: line longer than 107 bytes"),
    ProxyCase("2.1", "bare LF", b"PROXY TCP4 1.2.3.4 1.2.3.4 1 2\n", "v1: line not ended by CRLF"),
    ProxyCase("2.1", "CR then not LF", b"PROXY TCP4 1.2.3.4 1.2.3.4 1 2\r\r\n", "v1: line not ended by CRLF"),
    ProxyCase("2.1", "two spaces after PROXY", b"PROXY  TCP4 1.2.3.4 1.2.3.4 1 2\r\n", "v1: unknown protocol"),
    ProxyCase("2.1", "TCP5", b"PROXY TCP5 1.2.3.4 1.2.3.4 1 2\r\n", "v1: unknown protocol"),
    ProxyCase("2.1", "lowercase tcp4", b"PROXY tcp4 1.2.3.4 1.2.3.4 1 2\r\n", "v1: unknown protocol"),
    ProxyCase("2.1", "UNKNOWN glued to more", b"PROXY UNKNOWNX\r\n", "v1: unknown protocol"),
    ProxyCase("2.1", "double space between fields", b"PROXY TCP4 1.2.3.4  1.2.3.4 1 2\r\n",
              "v1: not 5 fields separated by single spaces"),
    ProxyCase("2.1", "trailing space", b"PROXY TCP4 1.2.3.4 1.2.3.4 1 2 \r\n", "v1: not 5 fields separated by single spaces"),
    ProxyCase("2.1", "a port missing", b"PROXY TCP4 1.2.3.4 1.2.3.4 1\r\n", "v1: not 5 fields separated by single spaces"),
    ProxyCase("2.1", "tab for a space", b"PROXY TCP4 1.2.3.4\t1.2.3.4 1 2\r\n", "v1: not 5 fields separated by single spaces"),
    ProxyCase("2.1", "leading zero in an octet", b"PROXY TCP4 010.2.3.4 1.2.3.4 1 2\r\n", "v1: invalid source address"),
    ProxyCase("2.1", "octet 256", b"PROXY TCP4 1.2.3.4 1.2.3.256 1 2\r\n", "v1: invalid destination address"),
    ProxyCase("2.1", "three octets", b"PROXY TCP4 1.2.3 1.2.3.4 1 2\r\n", "v1: invalid source address"),
    ProxyCase("2.1", "a host name", b"PROXY TCP4 localhost 1.2.3.4 1 2\r\n", "v1: invalid source address"),
    ProxyCase("2.1", "IPv6 under TCP4", b"PROXY TCP4 ::1 ::1 1 2\r\n", "v1: invalid source address"),
    ProxyCase("2.1", "IPv4 under TCP6", b"PROXY TCP6 1.2.3.4 ::1 1 2\r\n", "v1: invalid source address"),
    ProxyCase("2.1", "two ::", b"PROXY TCP6 1::2::3 ::1 1 2\r\n", "v1: invalid source address"),
    ProxyCase("2.1", "five hex digits", b"PROXY TCP6 ::12345 ::1 1 2\r\n", "v1: invalid source address"),
    ProxyCase("2.1", "nine groups", b"PROXY TCP6 1:2:3:4:5:6:7:8:9 ::1 1 2\r\n", "v1: invalid source address"),
    ProxyCase("2.1", ":: for no group", b"PROXY TCP6 1:2:3:4:5:6:7:8:: ::1 1 2\r\n", "v1: invalid source address"),
    ProxyCase("2.1", "a zone id", b"PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n", "v1: invalid source address"),
    ProxyCase("2.1", "port 65536", b"PROXY TCP4 1.2.3.4 1.2.3.4 65536 2\r\n", "v1: invalid source port"),
    ProxyCase("2.1", "port with a leading zero", b"PROXY TCP4 1.2.3.4 1.2.3.4 1 080\r\n", "v1: invalid destination port"),
    ProxyCase("2.1", "signed port", b"PROXY TCP4 1.2.3.4 1.2.3.4 +1 2\r\n", "v1: invalid source port"),
    ProxyCase("2.2", "signature off by one byte", b"\r\n\r\n\x00\r\nQUIX\n", "no PROXY protocol header"),
    ProxyCase("2.2", "version 1 in the binary form", v2(0x11, 0x11, INET), "v2: unsupported version"),
    ProxyCase("2.2", "version 3", v2(0x31, 0x11, INET), "v2: unsupported version"),
    ProxyCase("2.2", "command 2", v2(0x22, 0x11, INET), "v2: unknown command"),
    ProxyCase("2.2", "command refused before the length arrives", V2_SIGNATURE + b"\x2f", "v2: unknown command"),
    ProxyCase("2.2", "family 4", v2(0x21, 0x41, INET), "v2: unknown address family or transport"),
    ProxyCase("2.2", "transport 3", v2(0x21, 0x13, INET), "v2: unknown address family or transport"),
    ProxyCase("2.2", "INET with UNSPEC transport", v2(0x21, 0x10, INET), "v2: unknown address family or transport"),
    ProxyCase("2.2", "UNSPEC with STREAM", v2(0x21, 0x01, b""), "v2: unknown address family or transport"),
    ProxyCase("2.2", "length short of INET", v2(0x21, 0x11, INET[:11]), "v2: length shorter than the addresses"),
    ProxyCase("2.2", "length short of INET6", v2(0x21, 0x21, bytes(35)), "v2: length shorter than the addresses"),
    ProxyCase("2.2", "length short of UNIX", v2(0x21, 0x31, bytes(215)), "v2: length shorter than the addresses"),
    ProxyCase("2.2", "TLV header cut short", inet(b"\xe0\x00"), "v2: truncated TLV"),
    ProxyCase("2.2", "TLV value past the end", inet(b"\xe0\x00\x05\x01\x02"), "v2: truncated TLV"),
    ProxyCase("2.2.2", "AUTHORITY not UTF-8", inet(tlv(0x02, b"\xc3\x28")), "v2: AUTHORITY TLV not UTF-8"),
    ProxyCase("2.2.3", "CRC32C mismatch", _corrupted(with_crc32c(inet())), "v2: CRC32C checksum mismatch"),
    ProxyCase("2.2.3", "CRC32C of 3 bytes", inet(tlv(0x03, b"\x00" * 3)), "v2: CRC32C TLV not 4 bytes"),
    ProxyCase("2.2.3", "two CRC32C", with_crc32c(inet(tlv(0x03, b"\x00" * 4))), "v2: more than one CRC32C TLV"),
    ProxyCase("2.2.5", "UNIQUE_ID of 129 bytes", inet(tlv(0x05, b"u" * 129)), "v2: UNIQUE_ID TLV longer than 128 bytes"),
    ProxyCase("2.2.6", "SSL of 4 bytes", inet(tlv(0x20, b"\x01" + bytes(3))), "v2: SSL TLV shorter than 5 bytes"),
    ProxyCase("2.2.6", "SSL sub-TLV cut short", inet(tlv(0x20, b"\x01" + bytes(4) + b"\x21\x00")),
              "v2: truncated SSL sub-TLV"),
]

# Beginnings of headers: how many bytes, at least, before a verdict.
INCOMPLETE = [
    ProxyCase("2", "nothing yet", b"", 1),
    ProxyCase("2.1", "PROXY without its space", b"PROXY", 6),
    ProxyCase("2.1", "no CRLF yet", b"PROXY TCP4 1.2.3.4", 19),
    ProxyCase("2.1", "CR without its LF", b"PROXY UNKNOWN\r", 15),
    ProxyCase("2.2", "part of the signature", V2_SIGNATURE[:5], 16),
    ProxyCase("2.2", "the fixed part, not the block", inet()[:16], 28),
    ProxyCase("2.2", "a large block waits for all of it", v2(0x21, 0x11, INET + tlv(0xE0, bytes(60000)))[:100],
              16 + 12 + 3 + 60000),
]

ALL = VALID + INVALID + INCOMPLETE
