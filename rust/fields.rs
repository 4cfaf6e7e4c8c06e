//! Field lines and the fields that frame a message.
//!
//! `FieldLines` is a byte-at-a-time scanner of a field section (RFC 9112 §5, RFC 9110 §5.5):
//! it validates chunked trailers as they arrive, and names the first fault of a head that
//! httparse refused. The functions below give Content-Length (RFC 9110 §8.6),
//! Transfer-Encoding (RFC 9112 §6.1), Connection (RFC 9112 §9.3) and Expect (RFC 9110 §10.1.1)
//! their meaning.

use crate::chars::{is_field_value, is_tchar, trim_ows};
use crate::error::ParseFault;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LineState {
    /// At the first byte of a field line, or of the blank line that ends the section.
    LineStart,
    Name,
    Value,
    /// After the CR that ends a field line.
    ValueLf,
    /// After the CR of the blank line.
    EndLf,
}

/// An incremental validator of a field section, up to and including its blank line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldLines {
    state: LineState,
    fields: usize,
}

/// What `FieldLines::scan` saw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scanned {
    /// All of the input is part of the section; it is not over yet.
    NeedMore,
    /// The section ended; this many bytes of the input belonged to it.
    Done(usize),
}

impl Default for FieldLines {
    fn default() -> Self {
        Self::new()
    }
}

impl FieldLines {
    pub const fn new() -> Self {
        FieldLines { state: LineState::LineStart, fields: 0 }
    }

    /// Scans on; more than `max_fields` complete field lines -> 431.
    pub fn scan(&mut self, input: &[u8], max_fields: usize) -> Result<Scanned, ParseFault> {
        let mut i = 0;
        while i < input.len() {
            let b = input[i];
            i += 1;
            self.state = match self.state {
                LineState::LineStart => match b {
                    b'\r' => LineState::EndLf,
                    b'\n' => return Err(ParseFault::BareLf),
                    // §5.2: a line starting with whitespace is obs-fold.
                    b' ' | b'\t' => return Err(ParseFault::ObsFold),
                    _ if is_tchar(b) => LineState::Name,
                    _ => return Err(ParseFault::InvalidHeaderName),
                },
                LineState::Name => match b {
                    b':' => LineState::Value,
                    _ if is_tchar(b) => LineState::Name,
                    // §5.1: no whitespace between the field name and the colon.
                    b' ' | b'\t' => return Err(ParseFault::WhitespaceBeforeColon),
                    b'\n' => return Err(ParseFault::BareLf),
                    _ => return Err(ParseFault::InvalidHeaderName),
                },
                LineState::Value => {
                    // The common case: a run of value bytes. i >= 1 here, and i - 1 + run < len,
                    // so after `i += run` input[i - 1] is the byte that ended the run.
                    let run = input[i - 1..].iter().position(|&b| !is_field_value(b));
                    let Some(run) = run else { return Ok(Scanned::NeedMore) };
                    i += run;
                    match input[i - 1] {
                        b'\r' => LineState::ValueLf,
                        b'\n' => return Err(ParseFault::BareLf),
                        _ => return Err(ParseFault::InvalidHeaderValue),
                    }
                }
                LineState::ValueLf => {
                    if b != b'\n' {
                        return Err(ParseFault::BareCr);
                    }
                    self.fields += 1;
                    if self.fields > max_fields {
                        return Err(ParseFault::TooManyHeaders);
                    }
                    LineState::LineStart
                }
                LineState::EndLf => {
                    if b != b'\n' {
                        return Err(ParseFault::BareCr);
                    }
                    return Ok(Scanned::Done(i));
                }
            };
        }
        Ok(Scanned::NeedMore)
    }
}

/// Content-Length = 1*DIGIT (RFC 9110 §8.6): no sign, spaces, lists or hex; at most 19
/// digits, so every accepted value fits in a u64.
pub fn parse_content_length(value: &[u8]) -> Result<u64, ParseFault> {
    if value.is_empty() || value.len() > 19 || !value.iter().all(u8::is_ascii_digit) {
        return Err(ParseFault::InvalidContentLength);
    }
    Ok(value.iter().fold(0u64, |n, &d| n * 10 + u64::from(d - b'0')))
}

/// The transfer codings of every Transfer-Encoding field of a request, in order
/// (RFC 9112 §6.1), reduced to what decides the answer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TransferCodings {
    chunked: u32,
    last_is_chunked: bool,
    other: bool,
}

impl TransferCodings {
    /// Adds one field value: a comma-separated list; an empty element or value -> 400.
    pub fn add(&mut self, value: &[u8]) -> Result<(), ParseFault> {
        for element in value.split(|&b| b == b',') {
            let coding = trim_ows(element);
            if coding.is_empty() {
                return Err(ParseFault::InvalidTransferEncoding);
            }
            self.last_is_chunked = coding.eq_ignore_ascii_case(b"chunked");
            if self.last_is_chunked {
                self.chunked = self.chunked.saturating_add(1);
            } else {
                self.other = true;
            }
        }
        Ok(())
    }

    /// A request body is chunked only when chunked is the final coding, applied once, and
    /// nothing else precedes it (any other coding is not implemented here -> 501).
    pub fn check(self) -> Result<(), ParseFault> {
        if !self.last_is_chunked {
            Err(ParseFault::TransferEncodingNotChunked)
        } else if self.chunked > 1 {
            Err(ParseFault::ChunkedTwice)
        } else if self.other {
            Err(ParseFault::UnsupportedTransferCoding)
        } else {
            Ok(())
        }
    }
}

/// The connection options of the Connection fields (RFC 9112 §9.3), case-insensitive.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ConnectionOptions {
    pub close: bool,
    pub keep_alive: bool,
}

impl ConnectionOptions {
    /// Adds one Connection field value (a comma-separated token list).
    pub fn add(&mut self, value: &[u8]) {
        // The usual values, whole.
        if value.eq_ignore_ascii_case(b"keep-alive") {
            self.keep_alive = true;
            return;
        }
        if value.eq_ignore_ascii_case(b"close") {
            self.close = true;
            return;
        }
        for element in value.split(|&b| b == b',') {
            let option = trim_ows(element);
            if option.eq_ignore_ascii_case(b"close") {
                self.close = true;
            } else if option.eq_ignore_ascii_case(b"keep-alive") {
                self.keep_alive = true;
            }
        }
    }

    /// HTTP/1.1 persists unless "close"; HTTP/1.0 only with "keep-alive" and no "close".
    pub fn keep_alive(self, minor_version: u8) -> bool {
        if minor_version >= 1 {
            !self.close
        } else {
            self.keep_alive && !self.close
        }
    }
}

/// Whether an Upgrade field value (RFC 9110 §7.8: a comma-separated list of protocols)
/// names `websocket`, case-insensitively (RFC 6455 §4.2.1). A protocol with a version
/// (`websocket/13`) is another protocol.
pub fn upgrade_lists_websocket(value: &[u8]) -> bool {
    value.split(|&b| b == b',').any(|element| trim_ows(element).eq_ignore_ascii_case(b"websocket"))
}

/// The expectations of the Expect fields (RFC 9110 §10.1.1): a comma-separated list, compared
/// case-insensitively, whose one defined member is "100-continue" (with no parameters). Empty
/// members are ignored (RFC 9110 §5.6.1.2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Expectations {
    /// "100-continue" was among them.
    pub continue_100: bool,
    /// Some other member was: the server cannot meet it (417).
    pub unsupported: bool,
}

impl Expectations {
    /// Adds one Expect field value.
    pub fn add(&mut self, value: &[u8]) {
        for element in value.split(|&b| b == b',') {
            let member = trim_ows(element);
            if member.eq_ignore_ascii_case(b"100-continue") {
                self.continue_100 = true;
            } else if !member.is_empty() {
                self.unsupported = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ParseFault::*;

    fn scan_all(input: &[u8], max: usize) -> Result<Scanned, ParseFault> {
        FieldLines::new().scan(input, max)
    }

    fn scan_bytewise(input: &[u8], max: usize) -> Result<Scanned, ParseFault> {
        let mut lines = FieldLines::new();
        for (i, b) in input.iter().enumerate() {
            if let Scanned::Done(_) = lines.scan(std::slice::from_ref(b), max)? {
                return Ok(Scanned::Done(i + 1));
            }
        }
        Ok(Scanned::NeedMore)
    }

    #[test]
    fn field_lines_table() {
        // (RFC section, input, result)
        let cases: &[(&str, &[u8], Result<Scanned, ParseFault>)] = &[
            ("9112 §5", b"\r\n", Ok(Scanned::Done(2))),
            ("9112 §5", b"A: b\r\nC:\r\n\r\nrest", Ok(Scanned::Done(12))),
            ("9112 §5", b"A: b\r\nC:", Ok(Scanned::NeedMore)),
            ("9110 §5.5 obs-text", b"A: \x80\xff\t x\r\n\r\n", Ok(Scanned::Done(12))),
            ("9112 §5.2 obs-fold", b"A: b\r\n  c\r\n\r\n", Err(ObsFold)),
            ("9112 §5.1", b"A : b\r\n\r\n", Err(WhitespaceBeforeColon)),
            ("9110 §5.1 empty name", b": b\r\n\r\n", Err(InvalidHeaderName)),
            ("9110 §5.1 no colon", b"Ab\r\n\r\n", Err(InvalidHeaderName)),
            ("9110 §5.1 bad name", b"A(b: c\r\n\r\n", Err(InvalidHeaderName)),
            ("9110 §5.5 NUL", b"A: b\0c\r\n\r\n", Err(InvalidHeaderValue)),
            ("9110 §5.5 DEL", b"A: b\x7fc\r\n\r\n", Err(InvalidHeaderValue)),
            ("9110 §5.5 ctl", b"A: b\x01c\r\n\r\n", Err(InvalidHeaderValue)),
            ("9112 §2.2 bare LF", b"A: b\n\r\n", Err(BareLf)),
            ("9112 §2.2 bare LF end", b"A: b\r\n\n", Err(BareLf)),
            ("9112 §2.2 bare CR", b"A: b\rc\r\n\r\n", Err(BareCr)),
            ("9112 §2.2 bare CR end", b"A: b\r\n\rx", Err(BareCr)),
            ("limit", b"A: 1\r\nB: 2\r\nC: 3\r\n\r\n", Err(TooManyHeaders)),
        ];
        for (section, input, want) in cases {
            assert_eq!(scan_all(input, 2), *want, "{section}: {input:?}");
            assert_eq!(scan_bytewise(input, 2), *want, "{section} bytewise: {input:?}");
        }
    }

    #[test]
    fn content_length() {
        // RFC 9110 §8.6
        assert_eq!(parse_content_length(b"0"), Ok(0));
        assert_eq!(parse_content_length(b"00012"), Ok(12));
        assert_eq!(parse_content_length(b"9999999999999999999"), Ok(9_999_999_999_999_999_999));
        for bad in [&b""[..], b"+1", b"-1", b"1 2", b" 1", b"1,1", b"0x10", b"1a", b"12345678901234567890"] {
            assert_eq!(parse_content_length(bad), Err(InvalidContentLength), "{bad:?}");
        }
    }

    #[test]
    fn transfer_codings() {
        // RFC 9112 §6.1
        let check = |fields: &[&[u8]]| {
            let mut t = TransferCodings::default();
            for f in fields {
                t.add(f)?;
            }
            t.check()
        };
        assert_eq!(check(&[b"chunked"]), Ok(()));
        assert_eq!(check(&[b"ChUnKeD"]), Ok(()));
        assert_eq!(check(&[b" chunked \t"]), Ok(()));
        assert_eq!(check(&[b"gzip, chunked"]), Err(UnsupportedTransferCoding));
        assert_eq!(check(&[b"gzip", b"chunked"]), Err(UnsupportedTransferCoding));
        assert_eq!(check(&[b"identity, chunked"]), Err(UnsupportedTransferCoding));
        assert_eq!(check(&[b"chunked, gzip"]), Err(TransferEncodingNotChunked));
        assert_eq!(check(&[b"gzip"]), Err(TransferEncodingNotChunked));
        assert_eq!(check(&[b"chunked", b"chunked"]), Err(ChunkedTwice));
        assert_eq!(check(&[b"chunked, chunked"]), Err(ChunkedTwice));
        assert_eq!(check(&[b""]), Err(InvalidTransferEncoding));
        assert_eq!(check(&[b"chunked,"]), Err(InvalidTransferEncoding));
        assert_eq!(check(&[b", chunked"]), Err(InvalidTransferEncoding));
        assert_eq!(check(&[b"gzip,,chunked"]), Err(InvalidTransferEncoding));
    }

    #[test]
    fn upgrade_protocols() {
        assert!(upgrade_lists_websocket(b"websocket"));
        assert!(upgrade_lists_websocket(b"WebSocket"));
        assert!(upgrade_lists_websocket(b"h2c, websocket "));
        assert!(!upgrade_lists_websocket(b"websocket/13"));
        assert!(!upgrade_lists_websocket(b"h2c"));
        assert!(!upgrade_lists_websocket(b""));
    }

    #[test]
    fn connection_options() {
        // RFC 9112 §9.3
        let opts = |fields: &[&[u8]]| {
            let mut c = ConnectionOptions::default();
            for f in fields {
                c.add(f);
            }
            c
        };
        assert!(opts(&[]).keep_alive(1));
        assert!(!opts(&[]).keep_alive(0));
        assert!(!opts(&[b"Close"]).keep_alive(1));
        assert!(!opts(&[b"upgrade, close"]).keep_alive(1));
        assert!(opts(&[b"Keep-Alive"]).keep_alive(0));
        assert!(opts(&[b"foo, keep-alive ,"]).keep_alive(0));
        assert!(!opts(&[b"keep-alive", b"close"]).keep_alive(0));
        assert!(opts(&[b"closed"]).keep_alive(1));
    }

    #[test]
    fn expectations() {
        // RFC 9110 §10.1.1, §5.6.1.2
        let expect = |fields: &[&[u8]]| {
            let mut e = Expectations::default();
            for f in fields {
                e.add(f);
            }
            (e.continue_100, e.unsupported)
        };
        assert_eq!(expect(&[]), (false, false));
        assert_eq!(expect(&[b""]), (false, false));
        assert_eq!(expect(&[b" , ,"]), (false, false));
        assert_eq!(expect(&[b"100-continue"]), (true, false));
        assert_eq!(expect(&[b"100-Continue"]), (true, false));
        assert_eq!(expect(&[b", 100-continue ,"]), (true, false));
        assert_eq!(expect(&[b"100-continue", b"100-continue"]), (true, false));
        assert_eq!(expect(&[b"100-continue;a=b"]), (false, true));
        assert_eq!(expect(&[b"100-continue, foo"]), (true, true));
        assert_eq!(expect(&[b"foo", b"100-continue"]), (true, true));
        assert_eq!(expect(&[b"200-ok"]), (false, true));
        assert_eq!(expect(&[b"100-continuex"]), (false, true));
    }
}
