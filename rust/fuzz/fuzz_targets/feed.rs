//! `Parser::feed` against itself: the same bytes fed whole, in pieces and one byte at a time
//! must give the same events, fed one byte at a time an error must come at the byte that makes
//! it one, and the events must obey the contract of parser.rs.
//!
//! Input: CONFIG_LEN bytes of configuration, then the bytes of the connection.
//!   [0] max_head_size      0xFF: 16 KiB (default), else 8 + 2 * b      (8..=516)
//!   [1] max_headers        0xFF: 100 (default), 0xFE: 200 (heap slots), else b % 16
//!   [2] max_target_length  0xFF: 8 KiB (default), else b
//!   [3] max_body_size      0xFF: 16 MiB (default), 0xFE: u64::MAX, else b
//!   [4] inline_body_size   0xFF: 64 KiB (default), 0xFE: u64::MAX, else b % 64
//!   [5..9] piece lengths, used in turn (0 = an empty feed); all 0: one piece
//! rust/fuzz/seed_corpus.py writes seeds in this format (with CONFIG_LEN and the default bytes
//! below: keep them in step).

#![no_main]

use _parser::field_names::FieldName;
use _parser::head::Framing;
use _parser::{Event, Limits, ParseFault, Parser};
use libfuzzer_sys::fuzz_target;

const CONFIG_LEN: usize = 9;
/// Inputs up to this size are also fed one byte at a time (each byte that could change the
/// verdict of the pending head parses it again).
const BYTEWISE_MAX: usize = 1024;
/// A request that a running parser would answer, fed after the input to a stopped one.
const MORE: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";

fn limits(config: &[u8; CONFIG_LEN]) -> Limits {
    let [head, headers, target, body, inline, ..] = *config;
    Limits {
        max_head_size: if head == 0xFF { 16 * 1024 } else { 8 + 2 * usize::from(head) },
        max_headers: match headers {
            0xFF => 100,
            0xFE => 200,
            n => usize::from(n % 16),
        },
        max_target_length: if target == 0xFF { 8 * 1024 } else { usize::from(target) },
        max_body_size: match body {
            0xFF => 16 * 1024 * 1024,
            0xFE => u64::MAX,
            n => u64::from(n),
        },
        inline_body_size: match inline {
            0xFF => 64 * 1024,
            0xFE => u64::MAX,
            n => u64::from(n % 64),
        },
    }
}

/// An owned event; consecutive body pieces are merged into one `Chunk`.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Ev {
    Req(Req),
    Chunk(Vec<u8>),
    End,
    Err(ParseFault),
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Req {
    method: String,
    target: String,
    version: u8,
    keep_alive: bool,
    expect_continue: bool,
    headers: Vec<(FieldName, Vec<u8>, Vec<u8>)>,
    framing: Framing,
    head_len: usize,
    body: Option<Vec<u8>>,
}

fn owned(event: Event<'_>) -> Ev {
    match event {
        Event::Request { head, body } => {
            assert_eq!(head.fields.len(), head.names.len(), "names parallel to fields");
            Ev::Req(Req {
                method: head.method.to_owned(),
                target: head.target.to_owned(),
                version: head.version,
                keep_alive: head.keep_alive,
                headers: head.iter().map(|(id, name, value)| (id, name.to_vec(), value.to_vec())).collect(),
                framing: head.framing,
                expect_continue: head.expect_continue,
                head_len: head.len,
                body: body.map(<[u8]>::to_vec),
            })
        }
        Event::BodyChunk(data) => {
            assert!(!data.is_empty(), "empty BodyChunk");
            Ev::Chunk(data.to_vec())
        }
        Event::BodyEnd => Ev::End,
        Event::Error(error) => Ev::Err(error),
    }
}

/// What feeding an input gave.
struct Fed {
    /// The events, consecutive body pieces merged.
    events: Vec<Ev>,
    /// Whether the parser ended stopped.
    stopped: bool,
    /// How many bytes had been fed when the error came, with the feed that gave it.
    error_at: Option<usize>,
}

/// Feeds `pieces` to a new parser. Once stopped, no piece may give an event, nor may more
/// bytes after the input.
fn feed<'a>(limits: Limits, pieces: impl Iterator<Item = &'a [u8]>) -> Fed {
    let mut parser = Parser::new(limits);
    let mut events: Vec<Ev> = Vec::new();
    let mut error_at = None;
    let mut total = 0usize;
    for piece in pieces {
        let stopped = parser.is_stopped();
        let mut fed = 0usize;
        total += piece.len();
        parser.feed(piece, &mut |event| {
            fed += 1;
            match (events.last_mut(), owned(event)) {
                (Some(Ev::Chunk(previous)), Ev::Chunk(more)) => previous.extend(more),
                (_, event) => {
                    if matches!(event, Ev::Err(_)) {
                        error_at = Some(total);
                    }
                    events.push(event);
                }
            }
        });
        assert!(!stopped || fed == 0, "{fed} events after the parser stopped");
    }
    let stopped = parser.is_stopped();
    if stopped {
        let mut after = 0usize;
        parser.feed(MORE, &mut |_| after += 1);
        assert_eq!(after, 0, "events from bytes after the parser stopped");
    }
    Fed { events, stopped, error_at }
}

/// `data` cut into pieces of the lengths `lens`, in turn.
fn pieces<'a>(data: &'a [u8], lens: &[u8]) -> Vec<&'a [u8]> {
    if lens.iter().all(|&n| n == 0) {
        return vec![data];
    }
    let mut out = Vec::new();
    let mut rest = data;
    for &n in lens.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (piece, tail) = rest.split_at(usize::from(n).min(rest.len()));
        out.push(piece);
        rest = tail;
    }
    out
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// The body still expected after a `Request` with `body: None`.
struct OpenBody {
    keep_alive: bool,
    /// Content-Length, or None for chunked.
    length: Option<u64>,
    received: u64,
}

/// The contract of the events, whatever the input: a grammar (Request, then its body pieces
/// and BodyEnd when it streams; Error last; nothing after a request that closes) and what a
/// request event promises about its head and body.
fn check_events(limits: &Limits, events: &[Ev], stopped: bool) {
    let mut open: Option<OpenBody> = None;
    let mut closed = false;
    for (i, event) in events.iter().enumerate() {
        assert!(!closed, "event {i} after the connection closed: {events:?}");
        match event {
            Ev::Err(_) => {
                assert_eq!(i, events.len() - 1, "Error is not the last event");
                closed = true;
            }
            Ev::Req(req) => {
                assert!(open.is_none(), "request while a body is open");
                check_request(limits, req);
                match (&req.body, req.framing) {
                    (Some(_), _) => closed = !req.keep_alive,
                    (None, Framing::Length(n)) => {
                        open = Some(OpenBody { keep_alive: req.keep_alive, length: Some(n), received: 0 })
                    }
                    (None, Framing::Chunked) => {
                        open = Some(OpenBody { keep_alive: req.keep_alive, length: None, received: 0 })
                    }
                    (None, Framing::None) => panic!("streamed body without framing"),
                }
            }
            Ev::Chunk(data) => {
                let body = open.as_mut().expect("body piece outside a body");
                body.received += data.len() as u64;
                assert!(body.received <= limits.max_body_size, "body over max_body_size");
                if let Some(n) = body.length {
                    assert!(body.received <= n, "more than Content-Length");
                }
            }
            Ev::End => {
                let body = open.take().expect("BodyEnd outside a body");
                if let Some(n) = body.length {
                    assert_eq!(body.received, n, "Content-Length body of the wrong size");
                }
                closed = !body.keep_alive;
            }
        }
    }
    assert_eq!(stopped, closed, "is_stopped() disagrees with the events: {events:?}");
}

fn check_request(limits: &Limits, req: &Req) {
    assert!(!req.method.is_empty() && req.method.bytes().all(is_tchar), "method {:?}", req.method);
    assert!(!req.target.is_empty() && req.target.bytes().all(|b| (0x21..=0x7E).contains(&b)), "target");
    assert!(req.target.len() <= limits.max_target_length, "target over max_target_length");
    assert!(req.version <= 1, "version");
    assert!(req.version == 1 || !req.expect_continue, "an HTTP/1.0 expectation");
    assert!(req.head_len <= limits.max_head_size, "head over max_head_size");
    assert!(req.headers.len() <= limits.max_headers, "more fields than max_headers");
    let mut hosts = 0;
    for (id, name, value) in &req.headers {
        assert_eq!(*id, FieldName::of(name), "name id of {name:?}");
        assert!(!name.is_empty() && name.iter().all(|&b| is_tchar(b)), "field name {name:?}");
        assert!(value.iter().all(|&b| b == b'\t' || b >= 0x20 && b != 0x7F), "field value {value:?}");
        assert!(!value.first().is_some_and(|&b| b == b' ' || b == b'\t'), "value not trimmed");
        assert!(!value.last().is_some_and(|&b| b == b' ' || b == b'\t'), "value not trimmed");
        hosts += usize::from(*id == FieldName::Host);
    }
    assert!(hosts <= 1, "two Host fields");
    assert!(req.version == 0 || hosts == 1, "HTTP/1.1 without Host");
    match (req.framing, &req.body) {
        (Framing::None, Some(body)) => assert!(body.is_empty(), "body without framing"),
        (Framing::Length(n), Some(body)) => {
            assert!(n <= limits.inline_body_size, "inline body over inline_body_size");
            assert!(n == 0 || !req.expect_continue, "inline body held back for 100 Continue");
            assert_eq!(body.len() as u64, n, "inline body of the wrong size");
        }
        (Framing::Length(n), None) => {
            assert!(n > limits.inline_body_size || (n > 0 && req.expect_continue), "streamed small body")
        }
        (Framing::Chunked, Some(_)) => panic!("inline chunked body"),
        (Framing::Chunked, None) => assert_eq!(req.version, 1, "chunked HTTP/1.0"),
        (Framing::None, None) => panic!("streamed body without framing"),
    }
    if let Framing::Length(n) = req.framing {
        assert!(n <= limits.max_body_size, "Content-Length over max_body_size");
    }
}

fuzz_target!(|input: &[u8]| {
    let Some((config, data)) = input.split_first_chunk::<CONFIG_LEN>() else { return };
    let limits = limits(config);

    let whole = feed(limits, std::iter::once(data));
    check_events(&limits, &whole.events, whole.stopped);

    let split = pieces(data, &config[5..]);
    let fed = feed(limits, split.iter().copied());
    assert_eq!(fed.events, whole.events, "pieces {:?}", split.iter().map(|p| p.len()).collect::<Vec<_>>());
    assert_eq!(fed.stopped, whole.stopped);

    if data.len() <= BYTEWISE_MAX {
        let fed = feed(limits, data.chunks(1));
        assert_eq!(fed.events, whole.events, "byte by byte");
        assert_eq!(fed.stopped, whole.stopped);
        // The error came with byte `at`: the input up to it, fed whole, gives it; without it, not.
        if let Some(at) = fed.error_at {
            let upto = feed(limits, std::iter::once(&data[..at]));
            assert_eq!(upto.events.last(), whole.events.last(), "the input up to the error's byte {at}");
            let before = feed(limits, std::iter::once(&data[..at - 1]));
            assert_eq!(before.error_at, None, "an error before byte {at}, where it came byte by byte");
        }
    }
});
