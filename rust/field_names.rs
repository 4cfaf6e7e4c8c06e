//! The well-known field names: one byte-sized id per name, found case-insensitively once per
//! field while the head is checked. head.rs uses the ids for the framing fields; python.rs
//! uses them to hand out cached lowercase `bytes` objects instead of building new ones.

macro_rules! field_names {
    ($($variant:ident = $text:literal,)*) => {
        /// A field name this crate recognises, or `Other`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[repr(u8)]
        pub enum FieldName {
            Other = 0,
            $($variant,)*
        }

        impl FieldName {
            /// Every known name, in id order (index = id - 1).
            pub const KNOWN: &'static [FieldName] = &[$(FieldName::$variant,)*];

            /// The lowercase spelling (empty for `Other`).
            pub fn as_bytes(self) -> &'static [u8] {
                match self {
                    FieldName::Other => b"",
                    $(FieldName::$variant => $text,)*
                }
            }
        }
    };
}

field_names! {
    Host = b"host",
    UserAgent = b"user-agent",
    Accept = b"accept",
    AcceptEncoding = b"accept-encoding",
    AcceptLanguage = b"accept-language",
    AcceptCharset = b"accept-charset",
    Connection = b"connection",
    KeepAlive = b"keep-alive",
    ContentLength = b"content-length",
    ContentType = b"content-type",
    TransferEncoding = b"transfer-encoding",
    Cookie = b"cookie",
    Referer = b"referer",
    CacheControl = b"cache-control",
    UpgradeInsecureRequests = b"upgrade-insecure-requests",
    Origin = b"origin",
    Authorization = b"authorization",
    Pragma = b"pragma",
    IfNoneMatch = b"if-none-match",
    IfModifiedSince = b"if-modified-since",
    SecFetchDest = b"sec-fetch-dest",
    SecFetchMode = b"sec-fetch-mode",
    SecFetchSite = b"sec-fetch-site",
    SecFetchUser = b"sec-fetch-user",
    SecChUa = b"sec-ch-ua",
    SecChUaMobile = b"sec-ch-ua-mobile",
    SecChUaPlatform = b"sec-ch-ua-platform",
    Dnt = b"dnt",
    Priority = b"priority",
    Expect = b"expect",
    Range = b"range",
    Upgrade = b"upgrade",
    XForwardedFor = b"x-forwarded-for",
    XRequestId = b"x-request-id",
}

impl FieldName {
    /// The id of `name` (a token, as httparse hands out), compared case-insensitively.
    #[inline]
    pub fn of(name: &[u8]) -> FieldName {
        use FieldName::*;
        // Dispatch on the length, then on one distinguishing byte, then compare once.
        let candidate = match name.len() {
            3 => Dnt,
            4 => Host,
            5 => Range,
            6 => match name[0] | 0x20 {
                b'a' => Accept,
                b'c' => Cookie,
                b'o' => Origin,
                b'p' => Pragma,
                b'e' => Expect,
                _ => return Other,
            },
            7 => match name[0] | 0x20 {
                b'r' => Referer,
                b'u' => Upgrade,
                _ => return Other,
            },
            8 => Priority,
            9 => SecChUa,
            10 => match name[0] | 0x20 {
                b'u' => UserAgent,
                b'c' => Connection,
                b'k' => KeepAlive,
                _ => return Other,
            },
            12 => match name[0] | 0x20 {
                b'c' => ContentType,
                b'x' => XRequestId,
                _ => return Other,
            },
            13 => match name[0] | 0x20 {
                b'c' => CacheControl,
                b'a' => Authorization,
                b'i' => IfNoneMatch,
                _ => return Other,
            },
            14 => match name[0] | 0x20 {
                b'c' => ContentLength,
                b'a' => AcceptCharset,
                b's' => match name[10] | 0x20 {
                    b'd' => SecFetchDest,
                    b'm' => SecFetchMode,
                    b's' => SecFetchSite,
                    b'u' => SecFetchUser,
                    _ => return Other,
                },
                _ => return Other,
            },
            15 => match name[7] | 0x20 {
                b'e' => AcceptEncoding,
                b'l' => AcceptLanguage,
                b'r' => XForwardedFor,
                _ => return Other,
            },
            16 => SecChUaMobile,
            17 => match name[0] | 0x20 {
                b'i' => IfModifiedSince,
                b't' => TransferEncoding,
                _ => return Other,
            },
            18 => SecChUaPlatform,
            25 => UpgradeInsecureRequests,
            _ => return Other,
        };
        if eq_token_lowercase(name, candidate.as_bytes()) {
            candidate
        } else {
            Other
        }
    }
}

/// Whether the token `name` equals `lower` (lowercase letters and "-") ignoring case, for
/// equal lengths of at least 3. `b | 0x20 == c` holds for a token byte `b` exactly when `b` is
/// `c` or its uppercase (the only other byte mapping to "-" is CR, which is no token byte), so
/// the names are compared eight or four bytes at a time.
#[inline]
fn eq_token_lowercase(name: &[u8], lower: &[u8]) -> bool {
    const CASE8: u64 = 0x2020_2020_2020_2020;
    const CASE4: u32 = 0x2020_2020;
    let n = name.len();
    if n != lower.len() {
        return false;
    }
    if n >= 8 {
        let mut i = 0;
        while i + 8 < n {
            if load8(name, i) | CASE8 != load8(lower, i) {
                return false;
            }
            i += 8;
        }
        // The last eight bytes, overlapping the previous block.
        load8(name, n - 8) | CASE8 == load8(lower, n - 8)
    } else if n >= 4 {
        load4(name, 0) | CASE4 == load4(lower, 0) && load4(name, n - 4) | CASE4 == load4(lower, n - 4)
    } else {
        name.iter().zip(lower).all(|(&b, &c)| b | 0x20 == c)
    }
}

#[inline(always)]
fn load8(s: &[u8], at: usize) -> u64 {
    s.get(at..at + 8).and_then(|b| <[u8; 8]>::try_from(b).ok()).map_or(0, u64::from_le_bytes)
}

#[inline(always)]
fn load4(s: &[u8], at: usize) -> u32 {
    s.get(at..at + 4).and_then(|b| <[u8; 4]>::try_from(b).ok()).map_or(0, u32::from_le_bytes)
}

#[cfg(test)]
mod tests {
    use super::FieldName;

    #[test]
    fn every_known_name_is_found_in_any_case() {
        for &known in FieldName::KNOWN {
            let lower = known.as_bytes();
            assert_eq!(FieldName::of(lower), known);
            assert_eq!(FieldName::of(&lower.to_ascii_uppercase()), known);
            let mixed: Vec<u8> =
                lower.iter().enumerate().map(|(i, b)| if i % 2 == 0 { b.to_ascii_uppercase() } else { *b }).collect();
            assert_eq!(FieldName::of(&mixed), known);
        }
    }

    #[test]
    fn ids_follow_the_table() {
        for (i, &known) in FieldName::KNOWN.iter().enumerate() {
            assert_eq!(known as usize, i + 1);
            assert!(known.as_bytes().iter().all(|b| !b.is_ascii_uppercase()));
        }
    }

    #[test]
    fn near_misses_are_other() {
        for name in [&b"hosts"[..], b"hos", b"x-host", b"content-lengt", b"accept-encodinG2", b"", b"te"] {
            assert_eq!(FieldName::of(name), FieldName::Other, "{:?}", name);
        }
        // same length and dispatch byte as a known name, different text
        assert_eq!(FieldName::of(b"hast"), FieldName::Other);
        assert_eq!(FieldName::of(b"sec-fetch-xxxx"), FieldName::Other);
        assert_eq!(FieldName::of(b"accept_encoding"), FieldName::Other);
        // '^' | 0x20 == '~': the final comparison still tells them apart
        assert_eq!(FieldName::of(b"ho^t"), FieldName::Other);
    }
}
