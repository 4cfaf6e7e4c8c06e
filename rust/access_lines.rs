//! The lines of the access log's default formats, nginx's "combined" and "common", made in
//! Rust: the twin of the batch function that python/wirespeed/access_log.py compiles from
//! those formats, byte for byte.
//!
//! ```text
//! $remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"
//! ```
//!
//! ("common" ends after `$body_bytes_sent`.) Values from the client are escaped as nginx does
//! (ngx_http_log_escape): `"`, `\`, and bytes below 0x20 or from 0x7f up become `\xHH`
//! (upper-case hex). The request line is a Python `str`: it is encoded as latin-1 first, a
//! character beyond U+00FF becoming `?` (Python's "replace"), then escaped the same way. A
//! missing value is `-`. Reading the entries out of Python objects is `python_access`'s.

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Whether nginx escapes `byte` in a logged value.
fn escaped(byte: u8) -> bool {
    byte == b'"' || byte == b'\\' || !(0x20..0x7f).contains(&byte)
}

/// Appends `byte` as `\xHH`.
fn push_hex(line: &mut Vec<u8>, byte: u8) {
    line.extend_from_slice(&[b'\\', b'x', HEX[usize::from(byte >> 4)], HEX[usize::from(byte & 0x0f)]]);
}

/// Appends a value from the client (a header's bytes) as nginx logs it: the runs of bytes
/// kept as they are copied whole.
pub fn push_escaped(line: &mut Vec<u8>, value: &[u8]) {
    let mut rest = value;
    while let Some(at) = rest.iter().position(|&byte| escaped(byte)) {
        line.extend_from_slice(&rest[..at]);
        push_hex(line, rest[at]);
        rest = &rest[at + 1..];
    }
    line.extend_from_slice(rest);
}

/// Appends text from the client as it is logged: latin-1 ("replace": `?` for a character it
/// cannot encode), then escaped.
pub fn push_escaped_text(line: &mut Vec<u8>, text: &str) {
    if text.is_ascii() {
        return push_escaped(line, text.as_bytes());
    }
    for character in text.chars() {
        let byte = u8::try_from(u32::from(character)).unwrap_or(b'?');
        if escaped(byte) {
            push_hex(line, byte);
        } else {
            line.push(byte);
        }
    }
}

/// Appends `value` in decimal, as Python's `str` of an int writes it.
pub fn push_int(line: &mut Vec<u8>, value: i64) {
    if value < 0 {
        line.push(b'-');
    }
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = value.unsigned_abs();
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    line.extend_from_slice(&digits[at..]);
}

/// A header's value as logged: escaped, or `-` when there is none.
fn push_header(line: &mut Vec<u8>, value: Option<&[u8]>) {
    match value {
        Some(value) => push_escaped(line, value),
        None => line.push(b'-'),
    }
}

/// The request line's parts: method, target, minor version (1 for HTTP/1.1).
pub struct RequestLine<'a> {
    pub method: &'a str,
    pub target: &'a str,
    pub minor: i64,
}

/// What one line says.
pub struct Line<'a> {
    /// The client's address, None for none (`-`).
    pub remote_addr: Option<&'a str>,
    /// The second's `$time_local` text.
    pub time_local: &'a str,
    /// None: an answer to bytes that were not a request (`-`).
    pub request: Option<RequestLine<'a>>,
    pub status: i64,
    pub body_bytes_sent: i64,
    pub referer: Option<&'a [u8]>,
    pub user_agent: Option<&'a [u8]>,
}

/// Appends the line ("common" when `common`, else "combined"), without a newline: UTF-8 (ASCII
/// but for what the address and the time's text hold).
pub fn push_line(line: &mut Vec<u8>, fields: &Line<'_>, common: bool) {
    line.extend_from_slice(fields.remote_addr.unwrap_or("-").as_bytes());
    line.extend_from_slice(b" - - [");
    line.extend_from_slice(fields.time_local.as_bytes());
    line.extend_from_slice(b"] \"");
    match &fields.request {
        Some(request) => {
            push_escaped_text(line, request.method);
            line.push(b' ');
            push_escaped_text(line, request.target);
            line.extend_from_slice(b" HTTP/1.");
            push_int(line, request.minor);
        }
        None => line.push(b'-'),
    }
    line.extend_from_slice(b"\" ");
    push_int(line, fields.status);
    line.push(b' ');
    push_int(line, fields.body_bytes_sent);
    if !common {
        line.extend_from_slice(b" \"");
        push_header(line, fields.referer);
        line.extend_from_slice(b"\" \"");
        push_header(line, fields.user_agent);
        line.push(b'"');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped_text(value: &[u8]) -> String {
        let mut line = Vec::new();
        push_escaped(&mut line, value);
        String::from_utf8(line).unwrap()
    }

    fn text(line: &[u8]) -> &str {
        std::str::from_utf8(line).unwrap()
    }

    #[test]
    fn escapes_as_nginx() {
        assert_eq!(escaped_text(b"curl/8.5.0"), "curl/8.5.0");
        assert_eq!(escaped_text(b"a\"b\\c"), "a\\x22b\\x5Cc");
        assert_eq!(escaped_text(b"\x00\x1f \x7e\x7f\xff"), "\\x00\\x1F ~\\x7F\\xFF");
        assert_eq!(escaped_text(b""), "");
    }

    #[test]
    fn text_is_latin1_with_replacement_then_escaped() {
        let mut line = Vec::new();
        push_escaped_text(&mut line, "/caf\u{e9}?\u{20ac}\t\"");
        assert_eq!(text(&line), "/caf\\xE9??\\x09\\x22");
    }

    #[test]
    fn combined_and_common_lines() {
        let fields = Line {
            remote_addr: Some("127.0.0.1"),
            time_local: "06/Dec/2026:11:07:49 +0000",
            request: Some(RequestLine { method: "GET", target: "/a b\u{7f}", minor: 1 }),
            status: 200,
            body_bytes_sent: 13,
            referer: None,
            user_agent: Some(b"wrk \"x\""),
        };
        let mut line = Vec::new();
        push_line(&mut line, &fields, false);
        assert_eq!(
            text(&line),
            "127.0.0.1 - - [06/Dec/2026:11:07:49 +0000] \"GET /a b\\x7F HTTP/1.1\" 200 13 \"-\" \"wrk \\x22x\\x22\""
        );
        line.clear();
        push_line(&mut line, &fields, true);
        assert_eq!(text(&line), "127.0.0.1 - - [06/Dec/2026:11:07:49 +0000] \"GET /a b\\x7F HTTP/1.1\" 200 13");
    }

    #[test]
    fn integers_as_python_writes_them() {
        for value in [0, 7, 10, 200, 1_000_000_007, -1, -42, i64::MAX, i64::MIN] {
            let mut line = Vec::new();
            push_int(&mut line, value);
            assert_eq!(text(&line), value.to_string());
        }
    }

    #[test]
    fn no_request_and_no_client_are_dashes() {
        let fields = Line {
            remote_addr: None,
            time_local: "t",
            request: None,
            status: 400,
            body_bytes_sent: 0,
            referer: None,
            user_agent: None,
        };
        let mut line = Vec::new();
        push_line(&mut line, &fields, false);
        assert_eq!(text(&line), "- - - [t] \"-\" 400 0 \"-\" \"-\"");
    }
}
