//! The request head: request line, header fields and blank line (RFC 9112 §2-§6).
//!
//! httparse does the fast pass over a head. It is not strict enough on its own, so this module
//! adds what the rules need on top of it: bare LF detection, the target rules (non-ASCII, 414,
//! forms), Host, Content-Length, Transfer-Encoding, Connection and Expect. When httparse reports an
//! error or an unfinished head, our own scanners (request_line.rs, fields.rs) name the fault or
//! spot a limit that is already exceeded, in the order the bytes arrive, so a head gives the
//! same answer however it is split across buffers.

use std::mem::MaybeUninit;

use crate::error::ParseFault;
use crate::field_names::FieldName;
use crate::fields::{
    parse_content_length, upgrade_lists_websocket, ConnectionOptions, Expectations, FieldLines, TransferCodings,
};
use crate::limits::Limits;
use crate::request_line;

pub use httparse::Header;

/// How the body of a request is delimited (RFC 9112 §6.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// Neither Content-Length nor Transfer-Encoding: no body.
    None,
    Length(u64),
    Chunked,
}

/// A complete, valid request head. Borrows the input (`'b`) and the field array (`'h`).
#[derive(Clone, Copy, Debug)]
pub struct Head<'h, 'b> {
    pub method: &'b str,
    /// The raw request-target; checked to be visible ASCII.
    pub target: &'b str,
    /// Minor version: 1 for HTTP/1.1, 0 for HTTP/1.0.
    pub version: u8,
    pub keep_alive: bool,
    /// An HTTP/1.1 request that expects `100 Continue` before it sends its body
    /// (RFC 9110 §10.1.1; HTTP/1.0 expectations are ignored).
    pub expect_continue: bool,
    /// An Upgrade field names `websocket`: the request asks to open a WebSocket (RFC 6455
    /// §4.2.1), whether or not it asks correctly (that is judged above the parser).
    pub upgrade_websocket: bool,
    /// The fields in order, names as sent, values trimmed.
    pub fields: &'h [Header<'b>],
    /// The id of each field's name, parallel to `fields`.
    pub names: &'h [FieldName],
    pub framing: Framing,
    /// Bytes from the first byte of the request line through the blank line.
    pub len: usize,
    /// Those bytes.
    pub bytes: &'b [u8],
}

impl<'h, 'b> Head<'h, 'b> {
    /// (name id, name as sent, value) for each field, in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (FieldName, &'b [u8], &'b [u8])> + 'h {
        self.names.iter().zip(self.fields).map(|(&id, f)| (id, f.name.as_bytes(), f.value))
    }
}

/// Empty lines (CRLF) allowed before a request line (RFC 9112 §2.2).
///
/// Returns how many bytes they take; a lone CR at the end is left for the next buffer.
pub fn skip_empty_lines(buf: &[u8]) -> Result<usize, ParseFault> {
    let mut i = 0;
    loop {
        match (buf.get(i), buf.get(i + 1)) {
            (Some(b'\r'), Some(b'\n')) => i += 2,
            (Some(b'\r'), Some(_)) => return Err(ParseFault::BareCr),
            (Some(b'\n'), _) => return Err(ParseFault::BareLf),
            _ => return Ok(i),
        }
    }
}

/// Field arrays up to this size live on the stack; larger `max_headers` use the heap.
const STACK_FIELDS: usize = 128;

/// Room for the fields of a head, made once per buffer and reused for each head in it.
pub struct FieldSlots<'b> {
    stack: [MaybeUninit<Header<'b>>; STACK_FIELDS],
    heap: Vec<MaybeUninit<Header<'b>>>,
    names: [FieldName; STACK_FIELDS],
    heap_names: Vec<FieldName>,
}

impl<'b> FieldSlots<'b> {
    /// Empty slots; `split` makes room. (Nothing else happens here, so that the compiler builds
    /// the 4 KiB of slots in place instead of copying them out of a function.)
    #[inline(always)]
    pub fn new() -> Self {
        FieldSlots {
            stack: [const { MaybeUninit::uninit() }; STACK_FIELDS],
            heap: Vec::new(),
            names: [FieldName::Other; STACK_FIELDS],
            heap_names: Vec::new(),
        }
    }

    /// The field and name-id slots for `max_headers` fields: on the stack up to STACK_FIELDS,
    /// else on the heap.
    fn split(&mut self, max_headers: usize) -> (&mut [MaybeUninit<Header<'b>>], &mut [FieldName]) {
        if max_headers <= STACK_FIELDS {
            return (&mut self.stack[..max_headers], &mut self.names[..max_headers]);
        }
        if self.heap.len() < max_headers {
            self.heap.resize_with(max_headers, MaybeUninit::uninit);
            self.heap_names.resize(max_headers, FieldName::Other);
        }
        (&mut self.heap[..max_headers], &mut self.heap_names[..max_headers])
    }
}

impl Default for FieldSlots<'_> {
    fn default() -> Self {
        Self::new()
    }
}

/// Parses the head at the start of `buf`, which starts at the request line.
///
/// `Ok(None)`: the head is unfinished and within its limits so far.
pub fn parse<'h, 'b>(
    buf: &'b [u8],
    limits: &Limits,
    slots: &'h mut FieldSlots<'b>,
) -> Result<Option<Head<'h, 'b>>, ParseFault> {
    // Nothing past max_head_size is ever looked at, so the answer cannot depend on bytes
    // beyond the limit, nor on where the input was split.
    let over_limit = buf.len() > limits.max_head_size;
    let capped = if over_limit { &buf[..limits.max_head_size] } else { buf };
    let (fields, names) = slots.split(limits.max_headers);
    let mut request = httparse::Request::new(&mut []);
    match request.parse_with_uninit_headers(capped, fields) {
        Ok(httparse::Status::Complete(len)) => {
            let method = request.method.unwrap_or_default();
            let target = request.path.unwrap_or_default();
            let version = request.version.unwrap_or_default();
            let fields: &'h [Header<'b>] = request.headers;
            // httparse's Complete(len) counts bytes of `capped`, so the slice is in bounds.
            check_head(&capped[..len], method, target, version, fields, names, limits)
        }
        Ok(httparse::Status::Partial) => unfinished(capped, over_limit, limits),
        Err(error) => match request_line::scan(capped, limits.max_target_length)? {
            Some(line) => Err(classify(&capped[line.len..], error, limits)),
            // httparse gave up early on a line our scanner wants to see whole ("HTTP/2" may
            // still become "HTTP/2.0", a 505).
            None if over_limit => Err(ParseFault::HeadTooLarge),
            None => Ok(None),
        },
    }
}

/// An unfinished head that httparse accepted so far: its first fault in byte order, else 431
/// once it is over the limit. httparse ends a field line at a bare LF as well as at a CRLF, so
/// the fields it took are scanned again here: a bare LF is a 400 as soon as it has arrived,
/// not only once a later line end lets httparse complete the head.
fn unfinished<'h, 'b>(capped: &[u8], over_limit: bool, limits: &Limits) -> Result<Option<Head<'h, 'b>>, ParseFault> {
    // 414 as soon as the target is too long, and any fault in the request line.
    if let Some(line) = request_line::scan(capped, limits.max_target_length)? {
        FieldLines::new().scan(&capped[line.len..], limits.max_headers)?;
    }
    if over_limit {
        return Err(ParseFault::HeadTooLarge);
    }
    Ok(None)
}

/// The first fault in the field section of a head that httparse refused, whose request line
/// is valid.
fn classify(field_section: &[u8], error: httparse::Error, limits: &Limits) -> ParseFault {
    if let Err(fault) = FieldLines::new().scan(field_section, limits.max_headers) {
        return fault;
    }
    // Not reached: our scanners reject everything httparse does. Kept as a safe answer.
    match error {
        httparse::Error::TooManyHeaders => ParseFault::TooManyHeaders,
        httparse::Error::HeaderName => ParseFault::InvalidHeaderName,
        httparse::Error::HeaderValue => ParseFault::InvalidHeaderValue,
        httparse::Error::NewLine => ParseFault::BareCr,
        _ => ParseFault::InvalidRequestLine,
    }
}

/// The rules httparse does not check, on a head it accepted, in the order `request_line::scan`
/// and `FieldLines` would meet them.
fn check_head<'h, 'b>(
    head: &'b [u8],
    method: &'b str,
    target: &'b str,
    version: u8,
    fields: &'h [Header<'b>],
    names: &'h mut [FieldName],
    limits: &Limits,
) -> Result<Option<Head<'h, 'b>>, ParseFault> {
    // httparse ends every line at an LF, with or without a CR before it (RFC 9112 §2.2 lets a
    // server accept that; we do not). Every line but the first starts right after an LF, so
    // checking the two bytes before each line start finds every bare LF.
    let blank_start = if head.ends_with(b"\r\n") { head.len() - 2 } else { head.len().saturating_sub(1) };
    let first_line_end = fields.first().map_or(blank_start, |f| offset(head, f.name.as_bytes()));
    // Request line (RFC 9112 §3): target bytes and length, its CRLF, then the target's form.
    request_line::check_target_bytes(target.as_bytes(), limits.max_target_length)?;
    crlf_before(head, first_line_end)?;
    request_line::check_target_form(method.as_bytes(), target.as_bytes())?;
    // Field lines and the blank line.
    for field in fields.iter().skip(1) {
        crlf_before(head, offset(head, field.name.as_bytes()))?;
    }
    if !fields.is_empty() {
        crlf_before(head, blank_start)?;
    }
    if blank_start + 2 != head.len() {
        return Err(ParseFault::BareLf);
    }

    // Fields with a meaning for the parser (RFC 9112 §3.2, §6, §9.3, RFC 9110 §10.1.1).
    let mut hosts = 0u32;
    let mut content_length: Option<u64> = None;
    let mut codings: Option<TransferCodings> = None;
    let mut connection = ConnectionOptions::default();
    let mut expectations = Expectations::default();
    let mut upgrade_websocket = false;
    for (field, id) in fields.iter().zip(names.iter_mut()) {
        *id = FieldName::of(field.name.as_bytes());
        match *id {
            FieldName::Host => {
                hosts += 1;
                if hosts > 1 {
                    return Err(ParseFault::DuplicateHost);
                }
                if !request_line::is_host_value(field.value) {
                    return Err(ParseFault::InvalidHost);
                }
            }
            FieldName::ContentLength => {
                // More than one Content-Length field, even with equal values, is refused.
                if content_length.is_some() {
                    return Err(ParseFault::ConflictingContentLength);
                }
                content_length = Some(parse_content_length(field.value)?);
            }
            FieldName::TransferEncoding => codings.get_or_insert_with(Default::default).add(field.value)?,
            FieldName::Connection => connection.add(field.value),
            FieldName::Expect => expectations.add(field.value),
            FieldName::Upgrade => upgrade_websocket |= upgrade_lists_websocket(field.value),
            _ => {}
        }
    }
    if version == 1 && hosts == 0 {
        return Err(ParseFault::MissingHost);
    }
    let framing = match (content_length, codings) {
        (Some(_), Some(_)) => return Err(ParseFault::ContentLengthAndTransferEncoding),
        (None, Some(_)) if version == 0 => return Err(ParseFault::TransferEncodingInHttp10),
        (None, Some(codings)) => {
            codings.check()?;
            Framing::Chunked
        }
        (Some(n), None) if n > limits.max_body_size => return Err(ParseFault::BodyTooLarge),
        (Some(n), None) => Framing::Length(n),
        (None, None) => Framing::None,
    };
    // RFC 9110 §10.1.1: only 100-continue can be met (417 otherwise, judged once the body
    // size is known to be acceptable); an HTTP/1.0 server ignores expectations.
    if version == 1 && expectations.unsupported {
        return Err(ParseFault::UnsupportedExpectation);
    }
    Ok(Some(Head {
        method,
        target,
        version,
        keep_alive: connection.keep_alive(version),
        expect_continue: version == 1 && expectations.continue_100,
        upgrade_websocket,
        fields,
        // httparse's `fields` is a prefix of the slots, which are as many as `names`.
        names: &names[..fields.len()],
        framing,
        len: head.len(),
        bytes: head,
    }))
}

/// Offset of `part` (a subslice of `whole`) in `whole`.
fn offset(whole: &[u8], part: &[u8]) -> usize {
    (part.as_ptr() as usize).wrapping_sub(whole.as_ptr() as usize)
}

/// The line starting at `start` must follow a CRLF.
fn crlf_before(head: &[u8], start: usize) -> Result<(), ParseFault> {
    match start.checked_sub(2).and_then(|i| head.get(i..start)) {
        Some(b"\r\n") => Ok(()),
        _ => Err(ParseFault::BareLf),
    }
}
