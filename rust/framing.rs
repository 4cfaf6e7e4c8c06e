//! Message bodies after the head: a Content-Length body (RFC 9112 §6.2) and the chunked
//! transfer coding (RFC 9112 §7.1), as decoders that hand out slices of the input.
//!
//! Both keep their whole state in a few integers, so a body split anywhere across buffers
//! needs no buffering: framing bytes are read one at a time by a state machine, data bytes are
//! sliced straight out of the input.

use crate::chars::{is_ows, is_qdtext, is_quoted_pair, is_tchar};
use crate::error::ParseFault;
use crate::fields::{FieldLines, Scanned};

/// The next piece of a body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decoded<'a> {
    /// Body bytes (never empty).
    Data(&'a [u8]),
    /// The body is complete.
    End,
    /// All of the input is used; the body goes on in the next buffer.
    NeedMore,
}

/// A body of exactly Content-Length bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LengthDecoder {
    remaining: u64,
}

impl LengthDecoder {
    pub fn new(length: u64) -> Self {
        LengthDecoder { remaining: length }
    }

    pub fn decode<'a>(&mut self, input: &'a [u8], pos: &mut usize) -> Decoded<'a> {
        if self.remaining == 0 {
            return Decoded::End;
        }
        let available = input.len().saturating_sub(*pos);
        if available == 0 {
            return Decoded::NeedMore;
        }
        let take = clamp(self.remaining, available);
        let data = &input[*pos..*pos + take];
        *pos += take;
        self.remaining -= take as u64;
        Decoded::Data(data)
    }
}

/// min(`wanted`, `available`) as a usize.
fn clamp(wanted: u64, available: usize) -> usize {
    usize::try_from(wanted).map_or(available, |w| w.min(available))
}

/// Where the chunked decoder is. The chunk-ext states follow
/// chunk-ext = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] ), ext-val = token / quoted-string
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// In chunk-size = 1*HEXDIG.
    Size,
    /// BWS, before a ";" (after the size or after an extension).
    BeforeSemicolon,
    /// After ";", BWS before ext-name.
    BeforeExtName,
    ExtName,
    /// BWS after ext-name, before "=" or the next ";".
    AfterExtName,
    /// After "=", BWS before ext-val.
    BeforeExtValue,
    ExtToken,
    ExtQuoted,
    /// After a backslash inside a quoted-string.
    ExtQuotedPair,
    /// After the closing DQUOTE of a quoted-string.
    AfterExtQuoted,
    /// After the CR of the chunk-size line.
    SizeLf,
    Data,
    DataCr,
    DataLf,
    Trailers,
    Done,
}

impl State {
    /// Whether the decoder is inside a chunk-size line, before the LF that ends it.
    fn in_size_line(self) -> bool {
        !matches!(self, State::Data | State::DataCr | State::DataLf | State::Trailers | State::Done)
    }
}

/// A chunked body: chunks, the last chunk, then the trailer section, which is validated like a
/// header section and dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkedDecoder {
    state: State,
    /// The chunk-size being read, then the bytes of chunk-data still to come.
    size: u64,
    digits: u8,
    /// Decoded bytes so far, including the chunk being read.
    total: u64,
    max_body_size: u64,
    trailers: FieldLines,
    /// Trailer bytes still allowed (what the head left of max_head_size).
    trailer_budget: usize,
    /// Bytes of the current chunk-size line so far (chunk-size, chunk-ext, CR).
    line_len: usize,
    /// A chunk-size line, CRLF included, of at most this many bytes (max_head_size).
    max_line: usize,
}

/// chunk-size has at most 16 hex digits, so it always fits in a u64.
const MAX_SIZE_DIGITS: u8 = 16;

impl ChunkedDecoder {
    pub fn new(max_body_size: u64, trailer_budget: usize, max_line: usize) -> Self {
        ChunkedDecoder {
            state: State::Size,
            size: 0,
            digits: 0,
            total: 0,
            max_body_size,
            trailers: FieldLines::new(),
            trailer_budget,
            line_len: 0,
            max_line,
        }
    }

    pub fn decode<'a>(&mut self, input: &'a [u8], pos: &mut usize) -> Result<Decoded<'a>, ParseFault> {
        while *pos < input.len() {
            match self.state {
                State::Data => {
                    let take = clamp(self.size, input.len() - *pos);
                    let data = &input[*pos..*pos + take];
                    *pos += take;
                    self.size -= take as u64;
                    if self.size == 0 {
                        self.state = State::DataCr;
                    }
                    return Ok(Decoded::Data(data));
                }
                State::Trailers => {
                    let rest = &input[*pos..];
                    let allowed = rest.len().min(self.trailer_budget);
                    match self.trailers.scan(&rest[..allowed], usize::MAX)? {
                        Scanned::Done(used) => {
                            *pos += used;
                            self.state = State::Done;
                            return Ok(Decoded::End);
                        }
                        Scanned::NeedMore if allowed < rest.len() => {
                            return Err(ParseFault::TrailersTooLarge);
                        }
                        Scanned::NeedMore => {
                            *pos += allowed;
                            self.trailer_budget -= allowed;
                        }
                    }
                }
                State::Done => return Ok(Decoded::End),
                _ => {
                    let b = input[*pos];
                    *pos += 1;
                    let in_line = self.state.in_size_line();
                    self.state = self.step(b)?;
                    // RFC 9112 §7.1.1: the extensions of a chunk are limited. The line may take
                    // max_line bytes with its CRLF; a byte of it is judged first, then the limit,
                    // so a trickled endless extension is refused after max_line bytes.
                    if in_line && self.state.in_size_line() {
                        self.line_len += 1;
                        if self.line_len >= self.max_line {
                            return Err(ParseFault::ChunkExtensionTooLong);
                        }
                    }
                }
            }
        }
        Ok(if self.state == State::Done { Decoded::End } else { Decoded::NeedMore })
    }

    /// One byte of a chunk-size line or of the CRLF after chunk-data.
    fn step(&mut self, b: u8) -> Result<State, ParseFault> {
        use ParseFault::{BareLf, InvalidChunkExtension as BadExt, InvalidChunkSize, MissingChunkCrlf};
        Ok(match self.state {
            State::Size => {
                if let Some(digit) = (b as char).to_digit(16) {
                    if self.digits == MAX_SIZE_DIGITS {
                        return Err(InvalidChunkSize);
                    }
                    self.digits += 1;
                    self.size = (self.size << 4) | u64::from(digit);
                    return Ok(State::Size);
                }
                if self.digits == 0 {
                    return Err(InvalidChunkSize);
                }
                self.total = self.total.saturating_add(self.size);
                if self.total > self.max_body_size {
                    return Err(ParseFault::BodyTooLarge);
                }
                match b {
                    b';' => State::BeforeExtName,
                    b'\r' => State::SizeLf,
                    b'\n' => return Err(BareLf),
                    _ if is_ows(b) => State::BeforeSemicolon,
                    _ => return Err(InvalidChunkSize),
                }
            }
            State::BeforeSemicolon => match b {
                b';' => State::BeforeExtName,
                _ if is_ows(b) => State::BeforeSemicolon,
                _ => return Err(BadExt),
            },
            State::BeforeExtName => match b {
                _ if is_ows(b) => State::BeforeExtName,
                _ if is_tchar(b) => State::ExtName,
                _ => return Err(BadExt),
            },
            State::ExtName => match b {
                b'=' => State::BeforeExtValue,
                b';' => State::BeforeExtName,
                b'\r' => State::SizeLf,
                b'\n' => return Err(BareLf),
                _ if is_tchar(b) => State::ExtName,
                _ if is_ows(b) => State::AfterExtName,
                _ => return Err(BadExt),
            },
            State::AfterExtName => match b {
                b'=' => State::BeforeExtValue,
                b';' => State::BeforeExtName,
                _ if is_ows(b) => State::AfterExtName,
                _ => return Err(BadExt),
            },
            State::BeforeExtValue => match b {
                b'"' => State::ExtQuoted,
                _ if is_ows(b) => State::BeforeExtValue,
                _ if is_tchar(b) => State::ExtToken,
                _ => return Err(BadExt),
            },
            State::ExtToken => match b {
                b';' => State::BeforeExtName,
                b'\r' => State::SizeLf,
                b'\n' => return Err(BareLf),
                _ if is_tchar(b) => State::ExtToken,
                _ if is_ows(b) => State::BeforeSemicolon,
                _ => return Err(BadExt),
            },
            State::ExtQuoted => match b {
                b'"' => State::AfterExtQuoted,
                b'\\' => State::ExtQuotedPair,
                _ if is_qdtext(b) => State::ExtQuoted,
                _ => return Err(BadExt),
            },
            State::AfterExtQuoted => match b {
                b';' => State::BeforeExtName,
                b'\r' => State::SizeLf,
                b'\n' => return Err(BareLf),
                _ if is_ows(b) => State::BeforeSemicolon,
                _ => return Err(BadExt),
            },
            State::ExtQuotedPair => match b {
                _ if is_quoted_pair(b) => State::ExtQuoted,
                _ => return Err(BadExt),
            },
            State::SizeLf => {
                if b != b'\n' {
                    return Err(ParseFault::BareCr);
                }
                let size = std::mem::take(&mut self.size);
                self.digits = 0;
                self.line_len = 0;
                if size == 0 {
                    State::Trailers
                } else {
                    self.size = size;
                    State::Data
                }
            }
            State::DataCr if b == b'\r' => State::DataLf,
            State::DataLf if b == b'\n' => State::Size,
            State::DataCr | State::DataLf => return Err(MissingChunkCrlf),
            // Handled by `decode` without stepping.
            State::Data | State::Trailers | State::Done => self.state,
        })
    }
}
