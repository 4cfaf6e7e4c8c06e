//! What the ASGI server mode needs of bytes, in plain Rust: the parts of a scope that come
//! from a request-target (the path, percent-decoded, and the query), and the checks and
//! encoding of the head an app asks for. `python_asgi` hands them to Python; the Python
//! package has the same rules in `wirespeed/asgi/` for when the extension is not built, and
//! tests/test_asgi_native.py holds the two to the same answers.

use std::borrow::Cow;

use crate::chars::is_tchar;

/// A request-target split for a scope: the path, still percent-encoded, and the query.
#[derive(Debug, PartialEq, Eq)]
pub struct TargetParts<'a> {
    pub path: &'a [u8],
    pub query: &'a [u8],
}

/// The path and query of a request-target as the parser reported it. A fragment is the
/// client's and never part of a request (RFC 3986 §3.5): it is dropped. The path of an
/// absolute-form target is what follows its authority (`/` when nothing does); asterisk-form
/// (`*`) and authority-form (`host:port`) are their own path (RFC 9112 §3.2).
pub fn split_target(target: &[u8]) -> TargetParts<'_> {
    let target = match target.iter().position(|&b| b == b'#') {
        Some(end) => &target[..end],
        None => target,
    };
    let (path, query) = match target.iter().position(|&b| b == b'?') {
        Some(mark) => (&target[..mark], &target[mark + 1..]),
        None => (target, &target[target.len()..]),
    };
    TargetParts { path: origin_path(path), query }
}

fn origin_path(path: &[u8]) -> &[u8] {
    if path.first() == Some(&b'/') || path == b"*" {
        return path;
    }
    let Some(scheme_end) = path.windows(3).position(|w| w == b"://") else {
        return path; // authority-form
    };
    let authority = scheme_end + 3;
    let rest = path[authority..]
        .iter()
        .position(|&b| matches!(b, b'/' | b'?' | b'#'))
        .map_or(path.len(), |end| authority + end);
    if rest == path.len() {
        b"/"
    } else {
        &path[rest..]
    }
}

/// `%XX` escapes decoded into their bytes; a `%` not followed by two hex digits stays as it is
/// (what Python's `urllib.parse.unquote` does before it decodes the bytes as UTF-8).
pub fn percent_decode(raw: &[u8]) -> Cow<'_, [u8]> {
    if !raw.contains(&b'%') {
        return Cow::Borrowed(raw);
    }
    // Written by index into a buffer as long as the input (the output is never longer), and
    // cut to length at the end: no Vec::push, whose growth path the parser's code shares.
    let mut out = vec![0u8; raw.len()];
    let (mut i, mut n) = (0, 0);
    while i < raw.len() {
        let mut byte = raw[i];
        i += 1;
        if byte == b'%' {
            if let (Some(high), Some(low)) = (raw.get(i).copied().and_then(hex), raw.get(i + 1).copied().and_then(hex))
            {
                byte = high << 4 | low;
                i += 2;
            }
        }
        out[n] = byte;
        n += 1;
    }
    out.truncate(n);
    Cow::Owned(out)
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// What a header name is to the server.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum NameKind {
    Plain,
    ContentLength,
    TransferEncoding,
    Connection,
}

/// Why an app's head cannot be put on the wire (the message is the Python twin's).
#[derive(Debug, PartialEq, Eq)]
pub enum HeadFault {
    Name(Vec<u8>),
    Value,
    ContentLength(Vec<u8>),
    TwoLengths,
}

impl HeadFault {
    pub fn message(&self) -> String {
        match self {
            HeadFault::Name(name) => format!("invalid header name {}", bytes_repr(name)),
            HeadFault::Value => "a header value holds CR, LF or NUL".to_owned(),
            HeadFault::ContentLength(value) => format!("invalid Content-Length {}", bytes_repr(value)),
            HeadFault::TwoLengths => "two different Content-Length values".to_owned(),
        }
    }
}

/// The kind of a header name, once it is known to be a token (RFC 9110 §5.1).
pub fn name_kind(name: &[u8]) -> Result<NameKind, HeadFault> {
    if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
        return Err(HeadFault::Name(name.to_vec()));
    }
    Ok(if name.eq_ignore_ascii_case(b"content-length") {
        NameKind::ContentLength
    } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
        NameKind::TransferEncoding
    } else if name.eq_ignore_ascii_case(b"connection") {
        NameKind::Connection
    } else {
        NameKind::Plain
    })
}

/// The encoded header lines of an app's head, and what its framing fields said.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct EncodedHead {
    pub lines: Vec<u8>,
    pub length: Option<u64>,
    pub close: bool,
}

impl EncodedHead {
    /// Add one field of the app's head: a plain one becomes a line; Content-Length is kept
    /// as a number, Transfer-Encoding dropped, Connection read for `close`.
    pub fn add(&mut self, name: &[u8], value: &[u8]) -> Result<(), HeadFault> {
        let kind = name_kind(name)?;
        if value.iter().any(|&b| matches!(b, b'\r' | b'\n' | 0)) {
            return Err(HeadFault::Value);
        }
        match kind {
            NameKind::Plain => {
                self.lines.extend_from_slice(name);
                self.lines.extend_from_slice(b": ");
                self.lines.extend_from_slice(value);
                self.lines.extend_from_slice(b"\r\n");
            }
            NameKind::ContentLength => {
                let length = content_length(value)?;
                if self.length.is_some_and(|earlier| earlier != length) {
                    return Err(HeadFault::TwoLengths);
                }
                self.length = Some(length);
            }
            NameKind::Connection => {
                self.close =
                    self.close || value.split(|&b| b == b',').any(|token| trim(token).eq_ignore_ascii_case(b"close"));
            }
            NameKind::TransferEncoding => {}
        }
        Ok(())
    }
}

fn content_length(value: &[u8]) -> Result<u64, HeadFault> {
    let fault = || HeadFault::ContentLength(value.to_vec());
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return Err(fault());
    }
    value.iter().try_fold(0u64, |n, &b| n.checked_mul(10)?.checked_add(u64::from(b - b'0'))).ok_or_else(fault)
}

fn trim(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|&b| b != b' ' && b != b'\t').unwrap_or(s.len());
    let end = s.iter().rposition(|&b| b != b' ' && b != b'\t').map_or(start, |e| e + 1);
    &s[start..end]
}

/// Python's repr of a bytes object, for messages that match the Python twin's.
fn bytes_repr(bytes: &[u8]) -> String {
    let quote = if bytes.contains(&b'\'') && !bytes.contains(&b'"') { "\"" } else { "'" };
    let mut out = format!("b{quote}");
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            _ if [b] == quote.as_bytes() => out.push_str(&format!("\\{quote}")),
            0x20..=0x7E => out.push_str(std::str::from_utf8(&[b]).unwrap_or("?")),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push_str(quote);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_split_into_path_and_query() {
        let cases: &[(&[u8], &[u8], &[u8])] = &[
            (b"/", b"/", b""),
            (b"/a/b?x=1&y", b"/a/b", b"x=1&y"),
            (b"/a?", b"/a", b""),
            (b"/a#frag", b"/a", b""),
            (b"/a?q=1#frag?x", b"/a", b"q=1"),
            (b"http://h.example/p/q?z=1", b"/p/q", b"z=1"),
            (b"http://h.example", b"/", b""),
            (b"http://h.example?x", b"/", b"x"),
            (b"*", b"*", b""),
            (b"h.example:443", b"h.example:443", b""),
        ];
        for &(target, path, query) in cases {
            assert_eq!(split_target(target), TargetParts { path, query }, "{target:?}");
        }
    }

    #[test]
    fn percent_escapes_are_decoded_and_broken_ones_kept() {
        assert_eq!(&*percent_decode(b"/caf%C3%A9/a%2fb"), "/café/a/b".as_bytes());
        assert_eq!(&*percent_decode(b"/%zz/%4/%"), b"/%zz/%4/%");
        assert_eq!(&*percent_decode(b"/%41%4"), b"/A%4");
        assert!(matches!(percent_decode(b"/plain"), Cow::Borrowed(_)));
    }

    #[test]
    fn heads_are_encoded_and_framing_fields_taken_out() {
        let mut head = EncodedHead::default();
        head.add(b"content-type", b"text/plain").unwrap();
        head.add(b"Content-Length", b"13").unwrap();
        head.add(b"transfer-encoding", b"chunked").unwrap();
        head.add(b"connection", b"keep-alive, Close").unwrap();
        head.add(b"content-length", b"13").unwrap();
        assert_eq!(
            head,
            EncodedHead { lines: b"content-type: text/plain\r\n".to_vec(), length: Some(13), close: true }
        );
    }

    #[test]
    fn bad_heads_are_refused() {
        let mut head = EncodedHead::default();
        assert_eq!(head.add(b"x a", b"1"), Err(HeadFault::Name(b"x a".to_vec())));
        assert_eq!(head.add(b"", b"1"), Err(HeadFault::Name(vec![])));
        assert_eq!(head.add(b"x", b"a\r\nb"), Err(HeadFault::Value));
        assert_eq!(head.add(b"x", b"a\0b"), Err(HeadFault::Value));
        assert_eq!(head.add(b"content-length", b"1x"), Err(HeadFault::ContentLength(b"1x".to_vec())));
        assert_eq!(
            head.add(b"content-length", b"99999999999999999999999"),
            Err(HeadFault::ContentLength(b"99999999999999999999999".to_vec()))
        );
        head.add(b"content-length", b"1").unwrap();
        assert_eq!(head.add(b"content-length", b"2"), Err(HeadFault::TwoLengths));
        assert_eq!(HeadFault::Name(b"x'a\r".to_vec()).message(), "invalid header name b\"x'a\\r\"");
    }
}
