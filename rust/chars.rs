//! Byte classes of the HTTP grammar (RFC 9110 §5.6, RFC 9112 §3 and §7.1), as 256-entry
//! tables built at compile time. Nothing here parses; the scanners look bytes up here.

const fn table(ranges: &[(u8, u8)]) -> [bool; 256] {
    let mut t = [false; 256];
    let mut r = 0;
    while r < ranges.len() {
        let (lo, hi) = ranges[r];
        let mut b = lo as usize;
        while b <= hi as usize {
            t[b] = true;
            b += 1;
        }
        r += 1;
    }
    t
}

/// tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|"
///       / "~" / DIGIT / ALPHA                                              (RFC 9110 §5.6.2)
static TCHAR: [bool; 256] = table(&[
    (b'!', b'!'),
    (b'#', b'\''),
    (b'*', b'+'),
    (b'-', b'.'),
    (b'0', b'9'),
    (b'A', b'Z'),
    (b'^', b'`'),
    (b'a', b'z'),
    (b'|', b'|'),
    (b'~', b'~'),
]);

/// field-vchar / SP / HTAB: HTAB, SP, VCHAR and obs-text (RFC 9110 §5.5). Excludes NUL, the
/// other controls and DEL.
static FIELD_VALUE: [bool; 256] = table(&[(b'\t', b'\t'), (b' ', 0x7E), (0x80, 0xFF)]);

/// qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text                 (RFC 9110 §5.6.4)
static QDTEXT: [bool; 256] = table(&[(b'\t', b'\t'), (b' ', b'!'), (0x23, 0x5B), (0x5D, 0x7E), (0x80, 0xFF)]);

/// reg-name / IPv4address bytes of an authority's host: unreserved / pct-encoded / sub-delims
/// (RFC 3986 §3.2.2).
static REG_NAME: [bool; 256] = table(&[
    (b'!', b'!'),
    (b'$', b'.'),
    (b'0', b'9'),
    (b';', b';'),
    (b'=', b'='),
    (b'A', b'Z'),
    (b'_', b'_'),
    (b'a', b'z'),
    (b'~', b'~'),
]);

#[inline(always)]
pub fn is_tchar(b: u8) -> bool {
    TCHAR[b as usize]
}

#[inline(always)]
pub fn is_field_value(b: u8) -> bool {
    FIELD_VALUE[b as usize]
}

#[inline(always)]
pub fn is_qdtext(b: u8) -> bool {
    QDTEXT[b as usize]
}

/// quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text ): the byte after the backslash.
#[inline(always)]
pub fn is_quoted_pair(b: u8) -> bool {
    FIELD_VALUE[b as usize]
}

#[inline(always)]
pub fn is_reg_name(b: u8) -> bool {
    REG_NAME[b as usize]
}

/// OWS / BWS = *( SP / HTAB )
#[inline(always)]
pub fn is_ows(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Length of the run at the start of `s` of bytes in `lowest..=0x7E` (`lowest` >= 1); with 0x21,
/// the request-target bytes (visible ASCII: no controls, SP, DEL or non-ASCII).
#[inline]
pub fn ascii_run(s: &[u8], lowest: u8) -> usize {
    // Eight bytes at a time: a byte below `lowest` sets its high bit in x - lowest, 0x7F sets
    // it in x + 1, and 0x80.. have it set already. Borrows and carries only run towards later
    // bytes, so they can flag bytes after the first one out of range but never before it: the
    // lowest flag is exact.
    const ONES: u64 = 0x0101_0101_0101_0101;
    let low = u64::from(lowest) * ONES;
    let mut start = 0;
    while let Some(block) = s.get(start..start + 8).and_then(|b| <[u8; 8]>::try_from(b).ok()) {
        let x = u64::from_le_bytes(block);
        let flags = (x.wrapping_sub(low) | x.wrapping_add(ONES) | x) & (0x80 * ONES);
        if flags != 0 {
            return start + (flags.trailing_zeros() / 8) as usize;
        }
        start += 8;
    }
    let rest = &s[start..];
    start + rest.iter().position(|&b| !(lowest..=0x7E).contains(&b)).unwrap_or(rest.len())
}

/// Length of the run of reg-name bytes at the start of `s`. Eight bytes at a time, each block
/// judged without a branch per byte; the block that ends the run is then searched byte by byte.
#[inline]
pub fn reg_name_run(s: &[u8]) -> usize {
    let mut start = 0;
    for block in s.chunks_exact(8) {
        if !block.iter().fold(true, |all, &b| all & is_reg_name(b)) {
            break;
        }
        start += 8;
    }
    let rest = &s[start..];
    start + rest.iter().position(|&b| !is_reg_name(b)).unwrap_or(rest.len())
}

/// `s` with leading and trailing SP / HTAB removed.
pub fn trim_ows(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|&b| !is_ows(b)).unwrap_or(s.len());
    let end = s.iter().rposition(|&b| !is_ows(b)).map_or(start, |i| i + 1);
    &s[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tchar_is_the_rfc_set() {
        let extra = b"!#$%&'*+-.^_`|~";
        for b in 0..=255u8 {
            let want = b.is_ascii_alphanumeric() || extra.contains(&b);
            assert_eq!(is_tchar(b), want, "byte {b:#x}");
        }
    }

    #[test]
    fn qdtext_excludes_quote_and_backslash() {
        assert!(!is_qdtext(b'"'));
        assert!(!is_qdtext(b'\\'));
        assert!(!is_qdtext(0x7F));
        assert!(is_qdtext(b'\t') && is_qdtext(b'a') && is_qdtext(0x80));
    }

    #[test]
    fn field_value_excludes_controls_and_del() {
        for b in 0..=255u8 {
            let want = b == b'\t' || (0x20..0x7F).contains(&b) || b >= 0x80;
            assert_eq!(is_field_value(b), want, "byte {b:#x}");
        }
    }

    #[test]
    fn ascii_run_matches_a_byte_loop() {
        for lowest in [0x20u8, 0x21] {
            for len in 0..20 {
                for at in 0..len {
                    for b in 0..=255u8 {
                        let mut s = vec![b'a'; len];
                        s[at] = b;
                        let want = s.iter().position(|&c| !(lowest..=0x7E).contains(&c)).unwrap_or(len);
                        assert_eq!(ascii_run(&s, lowest), want, "lowest {lowest:#x} len {len} at {at} byte {b:#x}");
                    }
                }
            }
        }
    }

    #[test]
    fn reg_name_run_matches_a_byte_loop() {
        for len in 0..20 {
            for at in 0..len {
                for b in 0..=255u8 {
                    let mut s = vec![b'a'; len];
                    s[at] = b;
                    let want = s.iter().position(|&c| !is_reg_name(c)).unwrap_or(len);
                    assert_eq!(reg_name_run(&s), want, "len {len} at {at} byte {b:#x}");
                }
            }
        }
    }

    #[test]
    fn trim() {
        assert_eq!(trim_ows(b" \t a b \t"), b"a b");
        assert_eq!(trim_ows(b"   "), b"");
        assert_eq!(trim_ows(b""), b"");
    }
}
