//! The PROXY protocol header (HAProxy's proxy-protocol.txt, versions 1 and 2): the one header
//! a load balancer puts before a connection's first byte to say whom the connection is from.
//!
//! Strategy: `parse(data)` reads the start of a connection, all of what has arrived so far,
//! and gives a `Verdict`: more bytes are needed (and how many at least, in all, so a caller
//! trickled a large header does not parse it again per byte), the header is complete (how many
//! bytes it took, and the source and destination it announces, or none), or it is invalid (a
//! reason). It is strict: whatever the specification forbids is refused, and bytes that can no
//! longer start a header are refused as soon as they arrive, without waiting for more.
//!
//! Version 1 (section 2.1): `PROXY TCP4|TCP6 src dst sport dport\r\n` or `PROXY UNKNOWN...\r\n`,
//! at most 107 bytes, fields separated by exactly one space, IPv4 addresses as four decimal
//! numbers without leading zeros, IPv6 addresses as hexadecimal groups with at most one `::`
//! (and, as inet_ntop writes an IPv4-mapped address, an IPv4 dotted tail), ports 0..65535
//! without leading zeros. After UNKNOWN, anything up to the CRLF is ignored.
//! Version 2 (section 2.2): the 12-byte signature, version 2, command LOCAL or PROXY, one of the
//! seven address family and transport pairs the specification lists, the length, the
//! addresses, then TLVs, each walked and its length checked (2.2.x: a CRC32C TLV is 4 bytes and
//! its checksum is verified; AUTHORITY is UTF-8; UNIQUE_ID at most 128 bytes; SSL at least 5
//! bytes and its sub-TLVs walked too). LOCAL keeps the real endpoints, so its block is skipped
//! unread, as the specification says; so are AF_UNSPEC and AF_UNIX addresses, which are no
//! (host, port) for an HTTP server to report.
//!
//! python/wirespeed/proxy_protocol.py is the pure-Python twin: the same verdicts, reasons
//! included, for the same bytes (tests/test_proxy_protocol_parse.py checks them against each
//! other).

use std::fmt::Write as _;

/// The first 12 bytes of a version 2 header (2.2).
pub const V2_SIGNATURE: [u8; 12] = *b"\r\n\r\n\0\r\nQUIT\n";
/// The longest version 1 line, CRLF included (2.1).
pub const V1_MAX_LENGTH: usize = 107;
const V1_PREFIX: &[u8; 6] = b"PROXY ";
const V2_FIXED: usize = 16;

/// The longest UNIQUE_ID value (2.2.5).
pub const UNIQUE_ID_MAX: usize = 128;
const PP2_TYPE_AUTHORITY: u8 = 0x02;
const PP2_TYPE_CRC32C: u8 = 0x03;
const PP2_TYPE_UNIQUE_ID: u8 = 0x05;
const PP2_TYPE_SSL: u8 = 0x20;

/// One endpoint of the proxied connection: an IP address and a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    V4([u8; 4], u16),
    V6([u8; 16], u16),
}

impl Endpoint {
    /// The address as text: dotted decimal, or RFC 5952 for IPv6 (lowercase, no leading zeros,
    /// the first longest run of two or more zero groups as `::`, never a dotted tail).
    pub fn host(&self) -> String {
        match self {
            Endpoint::V4(octets, _) => format!("{}.{}.{}.{}", octets[0], octets[1], octets[2], octets[3]),
            Endpoint::V6(octets, _) => format_ipv6(octets),
        }
    }

    pub fn port(&self) -> u16 {
        match self {
            Endpoint::V4(_, port) | Endpoint::V6(_, port) => *port,
        }
    }
}

/// What the bytes so far say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Not complete: call again once at least this many bytes (in all) have arrived.
    NeedMore(usize),
    /// A complete header of `consumed` bytes; `addresses` is (source, destination), or None to
    /// keep the connection's own (LOCAL, UNKNOWN, AF_UNSPEC, AF_UNIX).
    Done { consumed: usize, addresses: Option<(Endpoint, Endpoint)> },
    /// Not a valid header.
    Invalid(&'static str),
}

pub const NOT_A_HEADER: &str = "no PROXY protocol header";

/// Reads the PROXY header at the start of `data` (everything the connection has sent so far).
pub fn parse(data: &[u8]) -> Verdict {
    let v1_seen = data.len().min(V1_PREFIX.len());
    let v2_seen = data.len().min(V2_SIGNATURE.len());
    if data.is_empty() {
        Verdict::NeedMore(1)
    } else if data[..v1_seen] == V1_PREFIX[..v1_seen] {
        parse_v1(data)
    } else if data[..v2_seen] == V2_SIGNATURE[..v2_seen] {
        parse_v2(data)
    } else {
        Verdict::Invalid(NOT_A_HEADER)
    }
}

// --- version 1 (2.1) ---------------------------------------------------------------------------

fn parse_v1(data: &[u8]) -> Verdict {
    // The CR of the CRLF can be at index 105 at the latest (a line of 107 bytes).
    let window = &data[..data.len().min(V1_MAX_LENGTH - 1)];
    let Some(end) = window.iter().skip(V1_PREFIX.len()).position(|&byte| byte == b'\r' || byte == b'\n') else {
        if data.len() >= V1_MAX_LENGTH - 1 {
            return Verdict::Invalid("v1: line longer than 107 bytes");
        }
        return Verdict::NeedMore(data.len() + 1);
    };
    let end = end + V1_PREFIX.len();
    if data[end] == b'\n' {
        return Verdict::Invalid("v1: line not ended by CRLF");
    }
    match data.get(end + 1) {
        None => return Verdict::NeedMore(end + 2),
        Some(b'\n') => {}
        Some(_) => return Verdict::Invalid("v1: line not ended by CRLF"),
    }
    let consumed = end + 2;
    let line = &data[V1_PREFIX.len()..end];
    if line == b"UNKNOWN" || line.starts_with(b"UNKNOWN ") {
        return Verdict::Done { consumed, addresses: None }; // the rest of the line is ignored
    }
    let mut fields = line.split(|&byte| byte == b' ');
    let ipv6 = match fields.next() {
        Some(b"TCP4") => false,
        Some(b"TCP6") => true,
        _ => return Verdict::Invalid("v1: unknown protocol"),
    };
    let (Some(source), Some(destination), Some(source_port), Some(destination_port), None) =
        (fields.next(), fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return Verdict::Invalid("v1: not 5 fields separated by single spaces");
    };
    let address =
        |text: &[u8]| if ipv6 { parse_ipv6(text).map(Address::V6) } else { parse_ipv4(text).map(Address::V4) };
    let Some(source) = address(source) else { return Verdict::Invalid("v1: invalid source address") };
    let Some(destination) = address(destination) else { return Verdict::Invalid("v1: invalid destination address") };
    let Some(source_port) = parse_port(source_port) else { return Verdict::Invalid("v1: invalid source port") };
    let Some(destination_port) = parse_port(destination_port) else {
        return Verdict::Invalid("v1: invalid destination port");
    };
    Verdict::Done {
        consumed,
        addresses: Some((source.with_port(source_port), destination.with_port(destination_port))),
    }
}

enum Address {
    V4([u8; 4]),
    V6([u8; 16]),
}

impl Address {
    fn with_port(self, port: u16) -> Endpoint {
        match self {
            Address::V4(octets) => Endpoint::V4(octets, port),
            Address::V6(octets) => Endpoint::V6(octets, port),
        }
    }
}

/// A decimal number of at most `max_digits` digits, without a leading zero, at most `max`.
fn parse_decimal(text: &[u8], max_digits: usize, max: u32) -> Option<u32> {
    if text.is_empty() || text.len() > max_digits || (text.len() > 1 && text[0] == b'0') {
        return None;
    }
    let mut value: u32 = 0;
    for &byte in text {
        if !byte.is_ascii_digit() {
            return None;
        }
        value = value * 10 + u32::from(byte - b'0');
    }
    (value <= max).then_some(value)
}

fn parse_port(text: &[u8]) -> Option<u16> {
    parse_decimal(text, 5, 65535).and_then(|port| u16::try_from(port).ok())
}

/// Four decimal numbers 0..255 without leading zeros, separated by single dots.
pub fn parse_ipv4(text: &[u8]) -> Option<[u8; 4]> {
    let mut octets = [0u8; 4];
    let mut parts = text.split(|&byte| byte == b'.');
    for octet in &mut octets {
        *octet = u8::try_from(parse_decimal(parts.next()?, 3, 255)?).ok()?;
    }
    parts.next().is_none().then_some(octets)
}

/// Groups of 1 to 4 hexadecimal digits separated by colons: eight, or fewer with one `::`
/// standing for at least one zero group; the last two groups may be written as an IPv4 address.
pub fn parse_ipv6(text: &[u8]) -> Option<[u8; 16]> {
    let (head, tail, compressed) = match find_double_colon(text) {
        Some(at) => (&text[..at], &text[at + 2..], true),
        None => (text, &text[..0], false),
    };
    let mut head_groups = [0u16; 8];
    let mut tail_groups = [0u16; 8];
    // The dotted tail belongs to whichever part ends the address.
    let head_count = parse_groups(head, &mut head_groups, !compressed)?;
    let tail_count = parse_groups(tail, &mut tail_groups, true)?;
    let total = head_count + tail_count;
    if (compressed && total > 7) || (!compressed && total != 8) {
        return None;
    }
    let mut groups = [0u16; 8];
    groups[..head_count].copy_from_slice(&head_groups[..head_count]);
    groups[8 - tail_count..].copy_from_slice(&tail_groups[..tail_count]);
    let mut octets = [0u8; 16];
    for (pair, group) in octets.chunks_exact_mut(2).zip(groups) {
        pair.copy_from_slice(&group.to_be_bytes());
    }
    Some(octets)
}

fn find_double_colon(text: &[u8]) -> Option<usize> {
    text.windows(2).position(|pair| pair == b"::")
}

/// The colon-separated groups of `text` (empty text: none) into `groups`; their count, in
/// 16-bit groups. The last may be an IPv4 address (two groups) when `dotted_tail_allowed`.
fn parse_groups(text: &[u8], groups: &mut [u16; 8], dotted_tail_allowed: bool) -> Option<usize> {
    if text.is_empty() {
        return Some(0);
    }
    let mut count = 0;
    let mut parts = text.split(|&byte| byte == b':').peekable();
    while let Some(part) = parts.next() {
        let last = parts.peek().is_none();
        if last && dotted_tail_allowed && part.contains(&b'.') {
            let octets = parse_ipv4(part)?;
            if count + 2 > 8 {
                return None;
            }
            groups[count] = u16::from_be_bytes([octets[0], octets[1]]);
            groups[count + 1] = u16::from_be_bytes([octets[2], octets[3]]);
            count += 2;
            continue;
        }
        if part.is_empty() || part.len() > 4 || !part.iter().all(u8::is_ascii_hexdigit) || count >= 8 {
            return None;
        }
        let mut value: u16 = 0;
        for &digit in part {
            let nibble = (digit as char).to_digit(16)?;
            value = (value << 4) | u16::try_from(nibble).ok()?;
        }
        groups[count] = value;
        count += 1;
    }
    Some(count)
}

/// RFC 5952 text of an IPv6 address.
pub fn format_ipv6(octets: &[u8; 16]) -> String {
    let mut groups = [0u16; 8];
    for (group, pair) in groups.iter_mut().zip(octets.chunks_exact(2)) {
        *group = u16::from_be_bytes([pair[0], pair[1]]);
    }
    // The first longest run of zero groups, if it has two or more.
    let (mut best_start, mut best_len) = (8, 0);
    let mut start = 0;
    while start < 8 {
        if groups[start] != 0 {
            start += 1;
            continue;
        }
        let mut end = start;
        while end < 8 && groups[end] == 0 {
            end += 1;
        }
        if end - start > best_len {
            (best_start, best_len) = (start, end - start);
        }
        start = end;
    }
    if best_len < 2 {
        best_start = 8;
    }
    let mut text = String::with_capacity(39);
    let mut index = 0;
    while index < 8 {
        if index == best_start {
            text.push_str("::");
            index += best_len;
            continue;
        }
        if index > 0 && !text.ends_with(':') {
            text.push(':');
        }
        let _ = write!(text, "{:x}", groups[index]);
        index += 1;
    }
    text
}

// --- version 2 (2.2) ---------------------------------------------------------------------------

fn parse_v2(data: &[u8]) -> Verdict {
    let mut proxy = false;
    if let Some(&version_command) = data.get(12) {
        if version_command >> 4 != 2 {
            return Verdict::Invalid("v2: unsupported version");
        }
        match version_command & 0x0F {
            0 => {}
            1 => proxy = true,
            _ => return Verdict::Invalid("v2: unknown command"),
        }
    }
    let address_length = match data.get(13) {
        Some(_) if !proxy => 0, // LOCAL: the family is ignored with the rest of the block
        Some(0x00) => 0,        // AF_UNSPEC
        Some(0x11 | 0x12) => 12,
        Some(0x21 | 0x22) => 36,
        Some(0x31 | 0x32) => 216,
        Some(_) => return Verdict::Invalid("v2: unknown address family or transport"),
        None => 0,
    };
    if data.len() < V2_FIXED {
        return Verdict::NeedMore(V2_FIXED);
    }
    let block = usize::from(u16::from_be_bytes([data[14], data[15]]));
    if block < address_length {
        return Verdict::Invalid("v2: length shorter than the addresses");
    }
    let consumed = V2_FIXED + block;
    if data.len() < consumed {
        return Verdict::NeedMore(consumed);
    }
    if !proxy {
        return Verdict::Done { consumed, addresses: None };
    }
    let header = &data[..consumed];
    let addresses = &header[V2_FIXED..V2_FIXED + address_length];
    if let Err(reason) = check_tlvs(header, V2_FIXED + address_length) {
        return Verdict::Invalid(reason);
    }
    let endpoints = match data[13] >> 4 {
        1 => {
            let (source, rest) = addresses.split_at(4);
            let (destination, ports) = rest.split_at(4);
            Some((
                Endpoint::V4(four(source), u16::from_be_bytes([ports[0], ports[1]])),
                Endpoint::V4(four(destination), u16::from_be_bytes([ports[2], ports[3]])),
            ))
        }
        2 => {
            let (source, rest) = addresses.split_at(16);
            let (destination, ports) = rest.split_at(16);
            Some((
                Endpoint::V6(sixteen(source), u16::from_be_bytes([ports[0], ports[1]])),
                Endpoint::V6(sixteen(destination), u16::from_be_bytes([ports[2], ports[3]])),
            ))
        }
        _ => None,
    };
    Verdict::Done { consumed, addresses: endpoints }
}

fn four(bytes: &[u8]) -> [u8; 4] {
    let mut out = [0u8; 4];
    out.copy_from_slice(&bytes[..4]);
    out
}

fn sixteen(bytes: &[u8]) -> [u8; 16] {
    let mut out = [0u8; 16];
    out.copy_from_slice(&bytes[..16]);
    out
}

/// The TLVs of `header` from `start` to its end (2.2.1 to 2.2.7).
fn check_tlvs(header: &[u8], start: usize) -> Result<(), &'static str> {
    let mut crc_at: Option<usize> = None;
    let mut position = start;
    while position < header.len() {
        let (kind, value) = next_tlv(header, position).ok_or("v2: truncated TLV")?;
        match kind {
            PP2_TYPE_AUTHORITY if std::str::from_utf8(value).is_err() => return Err("v2: AUTHORITY TLV not UTF-8"),
            PP2_TYPE_CRC32C => {
                if value.len() != 4 {
                    return Err("v2: CRC32C TLV not 4 bytes");
                }
                if crc_at.replace(position + 3).is_some() {
                    return Err("v2: more than one CRC32C TLV");
                }
            }
            PP2_TYPE_UNIQUE_ID if value.len() > UNIQUE_ID_MAX => return Err("v2: UNIQUE_ID TLV longer than 128 bytes"),
            PP2_TYPE_SSL => {
                if value.len() < 5 {
                    return Err("v2: SSL TLV shorter than 5 bytes");
                }
                let mut sub = 5;
                while sub < value.len() {
                    let (_, sub_value) = next_tlv(value, sub).ok_or("v2: truncated SSL sub-TLV")?;
                    sub += 3 + sub_value.len();
                }
            }
            _ => {}
        }
        position += 3 + value.len();
    }
    if let Some(at) = crc_at {
        let expected = u32::from_be_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]]);
        let computed = crc32c(&[&header[..at], &[0; 4], &header[at + 4..]]);
        if computed != expected {
            return Err("v2: CRC32C checksum mismatch");
        }
    }
    Ok(())
}

/// The type and value of the TLV at `position` of `bytes`, or None when it runs past their end.
fn next_tlv(bytes: &[u8], position: usize) -> Option<(u8, &[u8])> {
    let [kind, high, low] = *bytes.get(position..position + 3)? else { return None };
    let length = usize::from(u16::from_be_bytes([high, low]));
    Some((kind, bytes.get(position + 3..position + 3 + length)?))
}

/// CRC-32C (Castagnoli, reflected 0x82F63B78) of the pieces, one after the other.
pub fn crc32c(pieces: &[&[u8]]) -> u32 {
    let mut crc = !0u32;
    for piece in pieces {
        for &byte in *piece {
            crc ^= u32::from(byte);
            for _ in 0..8 {
                crc = if crc & 1 != 0 { (crc >> 1) ^ 0x82F6_3B78 } else { crc >> 1 };
            }
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(a: [u8; 4], port: u16) -> Endpoint {
        Endpoint::V4(a, port)
    }

    /// A version 2 header: the signature, `version_command`, `family`, the length of `body`.
    fn v2(version_command: u8, family: u8, body: &[u8]) -> Vec<u8> {
        let mut out = V2_SIGNATURE.to_vec();
        out.push(version_command);
        out.push(family);
        out.extend_from_slice(&u16::try_from(body.len()).unwrap().to_be_bytes());
        out.extend_from_slice(body);
        out
    }

    const INET: [u8; 12] = [192, 0, 2, 1, 198, 51, 100, 7, 0x30, 0x39, 0, 80];

    fn inet_with(tlvs: &[u8]) -> Vec<u8> {
        let mut body = INET.to_vec();
        body.extend_from_slice(tlvs);
        v2(0x21, 0x11, &body)
    }

    fn with_crc(mut header: Vec<u8>) -> Vec<u8> {
        let at = header.len();
        header.extend_from_slice(&[PP2_TYPE_CRC32C, 0, 4, 0, 0, 0, 0]);
        let length = u16::try_from(header.len() - 16).unwrap().to_be_bytes();
        header[14..16].copy_from_slice(&length);
        let crc = crc32c(&[&header]);
        header[at + 3..at + 7].copy_from_slice(&crc.to_be_bytes());
        header
    }

    fn done(consumed: usize, addresses: Option<(Endpoint, Endpoint)>) -> Verdict {
        Verdict::Done { consumed, addresses }
    }

    #[test]
    fn crc32c_check_value() {
        assert_eq!(crc32c(&[b"123456789"]), 0xE306_9283);
    }

    #[test]
    fn table() {
        let tcp4 = Some((v4([192, 0, 2, 1], 56324), v4([10, 0, 0, 1], 443)));
        let loopback6 = {
            let mut one = [0u8; 16];
            one[15] = 1;
            Some((Endpoint::V6(one, 1), Endpoint::V6(one, 65535)))
        };
        let long_v1 = {
            let mut line = b"PROXY UNKNOWN ".to_vec();
            line.resize(105, b'x');
            line.extend_from_slice(b"\r\n");
            line
        };
        let too_long_v1 = {
            let mut line = b"PROXY UNKNOWN ".to_vec();
            line.resize(106, b'x');
            line
        };
        let ipv6_body = {
            let mut body = vec![0u8; 36];
            body[15] = 1;
            body[31] = 1;
            body[32..36].copy_from_slice(&[0, 1, 0xFF, 0xFF]);
            body
        };
        let unix_body = vec![b'/'; 216];
        let ssl_tlv = [PP2_TYPE_SSL, 0, 13, 1, 0, 0, 0, 0, 0x21, 0, 5, b'T', b'L', b'S', b'v', b'3'];
        let mut corrupt_crc = with_crc(inet_with(&[]));
        let last = corrupt_crc.len() - 1;
        corrupt_crc[last] ^= 1;
        let cases: Vec<(&str, &str, Vec<u8>, Verdict)> = vec![
            // 2.1: version 1
            ("2.1", "TCP4", b"PROXY TCP4 192.0.2.1 10.0.0.1 56324 443\r\nGET".to_vec(), done(41, tcp4)),
            ("2.1", "TCP6", b"PROXY TCP6 ::1 0::1 1 65535\r\n".to_vec(), done(29, loopback6)),
            ("2.1", "UNKNOWN alone", b"PROXY UNKNOWN\r\n".to_vec(), done(15, None)),
            ("2.1", "UNKNOWN, the rest ignored", b"PROXY UNKNOWN ::1 x y z\r\n".to_vec(), done(25, None)),
            ("2.1", "107 bytes at most", long_v1, done(107, None)),
            ("2.1", "108 bytes", too_long_v1, Verdict::Invalid("v1: line longer than 107 bytes")),
            ("2.1", "partial", b"PROXY TCP4 1.2.3.4".to_vec(), Verdict::NeedMore(19)),
            ("2.1", "CR without LF yet", b"PROXY UNKNOWN\r".to_vec(), Verdict::NeedMore(15)),
            ("2.1", "bare LF", b"PROXY UNKNOWN\n".to_vec(), Verdict::Invalid("v1: line not ended by CRLF")),
            ("2.1", "CR then not LF", b"PROXY UNKNOWN\rx".to_vec(), Verdict::Invalid("v1: line not ended by CRLF")),
            ("2.1", "lowercase proxy", b"proxy TCP4".to_vec(), Verdict::Invalid(NOT_A_HEADER)),
            (
                "2.1",
                "two spaces after PROXY",
                b"PROXY  TCP4 1.2.3.4 1.2.3.4 1 2\r\n".to_vec(),
                Verdict::Invalid("v1: unknown protocol"),
            ),
            ("2.1", "TCP5", b"PROXY TCP5 1.2.3.4 1.2.3.4 1 2\r\n".to_vec(), Verdict::Invalid("v1: unknown protocol")),
            ("2.1", "UNKNOWNX", b"PROXY UNKNOWNX\r\n".to_vec(), Verdict::Invalid("v1: unknown protocol")),
            (
                "2.1",
                "double space",
                b"PROXY TCP4 1.2.3.4  1.2.3.4 1 2\r\n".to_vec(),
                Verdict::Invalid("v1: not 5 fields separated by single spaces"),
            ),
            (
                "2.1",
                "trailing space",
                b"PROXY TCP4 1.2.3.4 1.2.3.4 1 2 \r\n".to_vec(),
                Verdict::Invalid("v1: not 5 fields separated by single spaces"),
            ),
            (
                "2.1",
                "missing port",
                b"PROXY TCP4 1.2.3.4 1.2.3.4 1\r\n".to_vec(),
                Verdict::Invalid("v1: not 5 fields separated by single spaces"),
            ),
            (
                "2.1",
                "tab",
                b"PROXY TCP4 1.2.3.4\t1.2.3.4 1 2\r\n".to_vec(),
                Verdict::Invalid("v1: not 5 fields separated by single spaces"),
            ),
            (
                "2.1",
                "leading zero in an octet",
                b"PROXY TCP4 01.2.3.4 1.2.3.4 1 2\r\n".to_vec(),
                Verdict::Invalid("v1: invalid source address"),
            ),
            (
                "2.1",
                "octet over 255",
                b"PROXY TCP4 1.2.3.4 1.2.3.256 1 2\r\n".to_vec(),
                Verdict::Invalid("v1: invalid destination address"),
            ),
            (
                "2.1",
                "three octets",
                b"PROXY TCP4 1.2.3 1.2.3.4 1 2\r\n".to_vec(),
                Verdict::Invalid("v1: invalid source address"),
            ),
            (
                "2.1",
                "IPv6 under TCP4",
                b"PROXY TCP4 ::1 ::1 1 2\r\n".to_vec(),
                Verdict::Invalid("v1: invalid source address"),
            ),
            (
                "2.1",
                "IPv4 under TCP6",
                b"PROXY TCP6 1.2.3.4 ::1 1 2\r\n".to_vec(),
                Verdict::Invalid("v1: invalid source address"),
            ),
            (
                "2.1",
                "two ::",
                b"PROXY TCP6 1::2::3 ::1 1 2\r\n".to_vec(),
                Verdict::Invalid("v1: invalid source address"),
            ),
            (
                "2.1",
                "five hex digits",
                b"PROXY TCP6 ::12345 ::1 1 2\r\n".to_vec(),
                Verdict::Invalid("v1: invalid source address"),
            ),
            (
                "2.1",
                "nine groups",
                b"PROXY TCP6 1:2:3:4:5:6:7:8:9 ::1 1 2\r\n".to_vec(),
                Verdict::Invalid("v1: invalid source address"),
            ),
            (
                "2.1",
                "zone id",
                b"PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n".to_vec(),
                Verdict::Invalid("v1: invalid source address"),
            ),
            (
                "2.1",
                "port 65536",
                b"PROXY TCP4 1.2.3.4 1.2.3.4 65536 2\r\n".to_vec(),
                Verdict::Invalid("v1: invalid source port"),
            ),
            (
                "2.1",
                "port with leading zero",
                b"PROXY TCP4 1.2.3.4 1.2.3.4 1 080\r\n".to_vec(),
                Verdict::Invalid("v1: invalid destination port"),
            ),
            (
                "2.1",
                "signed port",
                b"PROXY TCP4 1.2.3.4 1.2.3.4 +1 2\r\n".to_vec(),
                Verdict::Invalid("v1: invalid source port"),
            ),
            (
                "2.1",
                "port 0",
                b"PROXY TCP4 1.2.3.4 1.2.3.4 0 0\r\n".to_vec(),
                done(32, Some((v4([1, 2, 3, 4], 0), v4([1, 2, 3, 4], 0)))),
            ),
            ("2", "an HTTP request", b"GET / HTTP/1.1\r\n\r\n".to_vec(), Verdict::Invalid(NOT_A_HEADER)),
            ("2", "PUT, not PROXY", b"PU".to_vec(), Verdict::Invalid(NOT_A_HEADER)),
            ("2", "nothing yet", b"".to_vec(), Verdict::NeedMore(1)),
            // 2.2: version 2
            ("2.2", "TCP4", inet_with(&[]), done(28, Some((v4([192, 0, 2, 1], 12345), v4([198, 51, 100, 7], 80))))),
            (
                "2.2",
                "UDP4",
                v2(0x21, 0x12, &INET),
                done(28, Some((v4([192, 0, 2, 1], 12345), v4([198, 51, 100, 7], 80)))),
            ),
            ("2.2", "TCP6", v2(0x21, 0x21, &ipv6_body), done(52, loopback6_ports(1, 65535))),
            ("2.2", "UNIX stream: no (host, port)", v2(0x21, 0x31, &unix_body), done(232, None)),
            ("2.2", "UNSPEC", v2(0x21, 0x00, b""), done(16, None)),
            ("2.2", "LOCAL skips its block", v2(0x20, 0x11, &INET), done(28, None)),
            ("2.2", "LOCAL ignores the family", v2(0x20, 0xFF, b""), done(16, None)),
            ("2.2", "partial signature", V2_SIGNATURE[..5].to_vec(), Verdict::NeedMore(16)),
            ("2.2", "partial block", inet_with(&[])[..20].to_vec(), Verdict::NeedMore(28)),
            ("2.2", "bad signature", b"\r\n\r\n\0\r\nQUIX\n".to_vec(), Verdict::Invalid(NOT_A_HEADER)),
            ("2.2", "version 1 in binary", v2(0x11, 0x11, &INET), Verdict::Invalid("v2: unsupported version")),
            ("2.2", "version 3", v2(0x31, 0x11, &INET), Verdict::Invalid("v2: unsupported version")),
            ("2.2", "command 2", v2(0x22, 0x11, &INET), Verdict::Invalid("v2: unknown command")),
            (
                "2.2",
                "command checked before the rest",
                vec_with(&V2_SIGNATURE, &[0x2F]),
                Verdict::Invalid("v2: unknown command"),
            ),
            ("2.2", "family 4", v2(0x21, 0x41, &INET), Verdict::Invalid("v2: unknown address family or transport")),
            ("2.2", "transport 3", v2(0x21, 0x13, &INET), Verdict::Invalid("v2: unknown address family or transport")),
            (
                "2.2",
                "INET with UNSPEC transport",
                v2(0x21, 0x10, &INET),
                Verdict::Invalid("v2: unknown address family or transport"),
            ),
            (
                "2.2",
                "UNSPEC with STREAM",
                v2(0x21, 0x01, b""),
                Verdict::Invalid("v2: unknown address family or transport"),
            ),
            (
                "2.2",
                "length short of INET",
                v2(0x21, 0x11, &INET[..11]),
                Verdict::Invalid("v2: length shorter than the addresses"),
            ),
            (
                "2.2",
                "length short of INET6",
                v2(0x21, 0x21, &[0; 35]),
                Verdict::Invalid("v2: length shorter than the addresses"),
            ),
            ("2.2", "TLV header cut", inet_with(&[0xE0, 0]), Verdict::Invalid("v2: truncated TLV")),
            ("2.2", "TLV value past the end", inet_with(&[0xE0, 0, 5, 1, 2]), Verdict::Invalid("v2: truncated TLV")),
            (
                "2.2",
                "unknown TLVs skipped",
                inet_with(&[0xE0, 0, 2, 1, 2, 0xF8, 0, 0]),
                done(36, Some((v4([192, 0, 2, 1], 12345), v4([198, 51, 100, 7], 80)))),
            ),
            ("2.2.1", "ALPN", inet_with(&[0x01, 0, 2, b'h', b'2']), done(33, inet_endpoints())),
            ("2.2.2", "AUTHORITY", inet_with(&[0x02, 0, 3, b'a', b'.', b'b']), done(34, inet_endpoints())),
            (
                "2.2.2",
                "AUTHORITY not UTF-8",
                inet_with(&[0x02, 0, 2, 0xC3, 0x28]),
                Verdict::Invalid("v2: AUTHORITY TLV not UTF-8"),
            ),
            ("2.2.3", "CRC32C", with_crc(inet_with(&[])), done(35, inet_endpoints())),
            ("2.2.3", "CRC32C mismatch", corrupt_crc, Verdict::Invalid("v2: CRC32C checksum mismatch")),
            (
                "2.2.3",
                "CRC32C of 3 bytes",
                inet_with(&[0x03, 0, 3, 0, 0, 0]),
                Verdict::Invalid("v2: CRC32C TLV not 4 bytes"),
            ),
            (
                "2.2.3",
                "two CRC32C",
                with_crc(inet_with(&[0x03, 0, 4, 0, 0, 0, 0])),
                Verdict::Invalid("v2: more than one CRC32C TLV"),
            ),
            ("2.2.4", "NOOP", inet_with(&[0x04, 0, 3, 0, 0, 0]), done(34, inet_endpoints())),
            ("2.2.5", "UNIQUE_ID of 128 bytes", inet_with(&tlv(0x05, &[7; 128])), done(28 + 131, inet_endpoints())),
            (
                "2.2.5",
                "UNIQUE_ID of 129 bytes",
                inet_with(&tlv(0x05, &[7; 129])),
                Verdict::Invalid("v2: UNIQUE_ID TLV longer than 128 bytes"),
            ),
            ("2.2.6", "SSL with a sub-TLV", inet_with(&ssl_tlv), done(28 + ssl_tlv.len(), inet_endpoints())),
            (
                "2.2.6",
                "SSL of 4 bytes",
                inet_with(&[0x20, 0, 4, 1, 0, 0, 0]),
                Verdict::Invalid("v2: SSL TLV shorter than 5 bytes"),
            ),
            (
                "2.2.6",
                "SSL sub-TLV cut",
                inet_with(&[0x20, 0, 7, 1, 0, 0, 0, 0, 0x21, 0]),
                Verdict::Invalid("v2: truncated SSL sub-TLV"),
            ),
            ("2.2.7", "NETNS", inet_with(&[0x30, 0, 3, b'n', b's', b'1']), done(34, inet_endpoints())),
        ];
        for (section, name, input, expected) in cases {
            assert_eq!(parse(&input), expected, "{section} {name}: {input:?}");
            // Incremental: every shorter prefix needs more (and says how much, no more than
            // the whole) or is refused for the same reason.
            if let Verdict::Done { consumed, .. } = expected {
                for cut in 0..consumed {
                    match parse(&input[..cut]) {
                        Verdict::NeedMore(at_least) => {
                            assert!(at_least > cut && at_least <= consumed, "{section} {name} at {cut}")
                        }
                        other => panic!("{section} {name}: prefix of {cut} bytes gave {other:?}"),
                    }
                }
            }
        }
    }

    fn loopback6_ports(source: u16, destination: u16) -> Option<(Endpoint, Endpoint)> {
        let mut one = [0u8; 16];
        one[15] = 1;
        Some((Endpoint::V6(one, source), Endpoint::V6(one, destination)))
    }

    fn inet_endpoints() -> Option<(Endpoint, Endpoint)> {
        Some((v4([192, 0, 2, 1], 12345), v4([198, 51, 100, 7], 80)))
    }

    fn tlv(kind: u8, value: &[u8]) -> Vec<u8> {
        let mut out = vec![kind];
        out.extend_from_slice(&u16::try_from(value.len()).unwrap().to_be_bytes());
        out.extend_from_slice(value);
        out
    }

    fn vec_with(first: &[u8], second: &[u8]) -> Vec<u8> {
        [first, second].concat()
    }

    #[test]
    fn ipv6_text() {
        let cases: [(&str, Option<&str>); 14] = [
            ("::", Some("::")),
            ("::1", Some("::1")),
            ("1::", Some("1::")),
            ("2001:DB8::0:1", Some("2001:db8::1")),
            ("2001:db8:0:0:1:0:0:1", Some("2001:db8::1:0:0:1")),
            ("2001:0db8:0:1:1:1:1:1", Some("2001:db8:0:1:1:1:1:1")),
            ("1:2:3:4:5:6:7::", Some("1:2:3:4:5:6:7:0")),
            ("::ffff:192.0.2.1", Some("::ffff:c000:201")),
            ("1:2:3:4:5:6:1.2.3.4", Some("1:2:3:4:5:6:102:304")),
            ("1:2:3:4:5:6:7:8::", None),
            ("1:2:3:4:5:6:7:1.2.3.4", None),
            ("::1.2.3.4:1", None),
            (":1::", None),
            ("1:::2", None),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_ipv6(text.as_bytes()).map(|octets| format_ipv6(&octets)).as_deref(), expected, "{text}");
        }
    }
}
