//! WebSocket frames (RFC 6455 §5) as a server reads and writes them, in plain Rust: a
//! `FrameReader` that turns received bytes into frames, unmasked, holding partial input across
//! calls; a `MessageReader` on top that reassembles fragmented messages and checks text as
//! UTF-8 as it arrives; `Reader`, which does both in one pass for the Python face
//! (`python_ws`): it unmasks each payload straight into the message it belongs to, holding
//! nothing but an unfinished header, and hands whole messages to a callback as borrowed bytes
//! (permessage-deflate's compressed ones included, RFC 7692, left for the caller to inflate),
//! or, streaming, a message of one frame in pieces as they arrive; and `frame`, which builds a
//! server's (unmasked) frame. Every rule a client can break is a
//! `WsFault` carrying the close code the server answers with (§7.4.1).
//! Nothing here knows of sockets, Python or the handshake.

/// Opcodes (RFC 6455 §5.2, §11.8).
pub const CONTINUATION: u8 = 0x0;
pub const TEXT: u8 = 0x1;
pub const BINARY: u8 = 0x2;
pub const CLOSE: u8 = 0x8;
pub const PING: u8 = 0x9;
pub const PONG: u8 = 0xA;

/// Close codes the server sends for what a client did (RFC 6455 §7.4.1).
pub const PROTOCOL_ERROR: u16 = 1002;
pub const INVALID_PAYLOAD: u16 = 1007;
pub const MESSAGE_TOO_BIG: u16 = 1009;

/// What a client's bytes broke, with the close code it is answered with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WsFault {
    /// A frame from the client without a mask (§5.1).
    Unmasked,
    /// RSV1..3 set with no extension that defines them (§5.2).
    ReservedBits,
    /// An opcode §5.2 reserves (3-7, 11-15).
    ReservedOpcode,
    /// A control frame longer than 125 bytes or fragmented (§5.5).
    BadControlFrame,
    /// A length not in the fewest bytes, or a 64-bit length with its top bit set (§5.2).
    BadLength,
    /// A frame over the limit on one frame's payload.
    FrameTooLarge,
    /// A message over the limit on one message.
    MessageTooLarge,
    /// A continuation with no message to continue, or a new message inside another (§5.4).
    BadFragmentation,
    /// Text (or a close reason) that is not UTF-8 (§8.1).
    InvalidUtf8,
    /// A close payload of one byte, or a close code a client may not send (§7.4).
    BadClose,
}

impl WsFault {
    pub fn close_code(self) -> u16 {
        match self {
            WsFault::FrameTooLarge | WsFault::MessageTooLarge => MESSAGE_TOO_BIG,
            WsFault::InvalidUtf8 => INVALID_PAYLOAD,
            _ => PROTOCOL_ERROR,
        }
    }

    pub fn reason(self) -> &'static str {
        match self {
            WsFault::Unmasked => "client frames must be masked",
            WsFault::ReservedBits => "reserved bits set",
            WsFault::ReservedOpcode => "reserved opcode",
            WsFault::BadControlFrame => "control frames are at most 125 bytes and not fragmented",
            WsFault::BadLength => "invalid payload length",
            WsFault::FrameTooLarge => "frame too large",
            WsFault::MessageTooLarge => "message too large",
            WsFault::BadFragmentation => "invalid fragmentation",
            WsFault::InvalidUtf8 => "invalid UTF-8",
            WsFault::BadClose => "invalid close frame",
        }
    }
}

/// One frame as received: its flags, opcode and payload, unmasked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub fin: bool,
    pub rsv1: bool,
    pub opcode: u8,
    pub payload: Vec<u8>,
}

/// Reads a client's frames out of the bytes of one connection.
#[derive(Debug)]
pub struct FrameReader {
    /// Bytes of a frame not yet complete.
    held: Vec<u8>,
    /// How many bytes `held` must reach before the frame in it is worth reading again: a
    /// frame trickling in costs one look per header byte and one when its payload is all
    /// there, not one per byte (which would make a large frame sent byte by byte quadratic).
    need: usize,
    max_frame_size: u64,
    /// RSV1 may be set on data frames (permessage-deflate, RFC 7692 §6).
    rsv1_allowed: bool,
    /// After a fault nothing more is read.
    failed: bool,
}

/// The outcome of looking at the bytes of one frame.
enum Step {
    Frame(Frame, usize),
    /// Not all there: the frame needs this many bytes in all.
    Need(usize),
    Fault(WsFault),
}

impl FrameReader {
    pub fn new(max_frame_size: u64, rsv1_allowed: bool) -> Self {
        FrameReader { held: Vec::new(), need: 0, max_frame_size, rsv1_allowed, failed: false }
    }

    /// Every frame that `data` completes, in order, then the fault that stopped reading, if
    /// any (after it, further input is ignored).
    pub fn feed(&mut self, data: &[u8]) -> (Vec<Frame>, Option<WsFault>) {
        let mut frames = Vec::new();
        if self.failed {
            return (frames, None);
        }
        if !self.held.is_empty() {
            self.held.extend_from_slice(data);
            if self.held.len() < self.need {
                return (frames, None);
            }
            let held = std::mem::take(&mut self.held);
            let fault = self.read_frames(&held, &mut frames);
            return (frames, fault);
        }
        let fault = self.read_frames(data, &mut frames);
        (frames, fault)
    }

    fn read_frames(&mut self, input: &[u8], frames: &mut Vec<Frame>) -> Option<WsFault> {
        let mut at = 0;
        loop {
            match self.step(&input[at..]) {
                Step::Frame(frame, used) => {
                    frames.push(frame);
                    at += used;
                }
                Step::Need(need) => {
                    self.held = input[at..].to_vec();
                    self.need = need;
                    return None;
                }
                Step::Fault(fault) => {
                    self.failed = true;
                    return Some(fault);
                }
            }
        }
    }

    /// The frame at the start of `input` and the bytes it takes, or how many it needs. Judged
    /// byte by byte, so a fault is found as soon as its byte arrives.
    fn step(&self, input: &[u8]) -> Step {
        let header = match read_header(input, self.max_frame_size, self.rsv1_allowed) {
            HeaderStep::Header(header) => header,
            HeaderStep::Need(need) => return Step::Need(need),
            HeaderStep::Fault(fault) => return Step::Fault(fault),
        };
        let Header { fin, rsv1, opcode, length, size } = header;
        let Some(masked) = input.get(size..size + length) else { return Step::Need(size + length) };
        let mut payload = masked.to_vec();
        unmask(&mut payload, masking_key(input, size));
        Step::Frame(Frame { fin, rsv1, opcode, payload }, size + length)
    }
}

/// The longest frame header: two bytes, eight of length, four of masking key (§5.2).
const MAX_HEADER: usize = 14;

/// A frame's header as far as its payload length: the masking key after it may be still to
/// come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Header {
    fin: bool,
    rsv1: bool,
    opcode: u8,
    /// The payload's length, at most the limit on one frame.
    length: usize,
    /// The header's length, masking key included: 6, 8 or 14.
    size: usize,
}

/// The outcome of looking at the bytes of a frame header.
enum HeaderStep {
    Header(Header),
    /// Not enough to judge: the header needs this many bytes before it can be judged further.
    Need(usize),
    Fault(WsFault),
}

/// The header at the start of `input`, judged as far as its bytes go: each rule is applied as
/// soon as the byte it reads has arrived, in the order of the bytes, and a frame is refused
/// for its length (over `max_frame_size`) before any byte of its payload.
fn read_header(input: &[u8], max_frame_size: u64, rsv1_allowed: bool) -> HeaderStep {
    let Some(&first) = input.first() else { return HeaderStep::Need(1) };
    let fin = first & 0x80 != 0;
    let rsv1 = first & 0x40 != 0;
    let opcode = first & 0x0F;
    if first & 0x30 != 0 || (rsv1 && !rsv1_allowed) {
        return HeaderStep::Fault(WsFault::ReservedBits);
    }
    if !matches!(opcode, CONTINUATION | TEXT | BINARY | CLOSE | PING | PONG) {
        return HeaderStep::Fault(WsFault::ReservedOpcode);
    }
    // RSV1 marks a compressed message on its first frame only: never on a continuation or a
    // control frame (RFC 7692 §6, §6.1).
    if rsv1 && !matches!(opcode, TEXT | BINARY) {
        return HeaderStep::Fault(WsFault::ReservedBits);
    }
    let control = opcode >= CLOSE;
    if control && !fin {
        return HeaderStep::Fault(WsFault::BadControlFrame);
    }
    let Some(&second) = input.get(1) else { return HeaderStep::Need(2) };
    if second & 0x80 == 0 {
        return HeaderStep::Fault(WsFault::Unmasked);
    }
    let (length, size) = match second & 0x7F {
        126 => match input.get(2..4) {
            None => return HeaderStep::Need(4),
            Some(bytes) => {
                let length = u64::from(u16::from_be_bytes([bytes[0], bytes[1]]));
                if length < 126 {
                    return HeaderStep::Fault(WsFault::BadLength);
                }
                (length, 8)
            }
        },
        127 => match input.get(2..10) {
            None => return HeaderStep::Need(10),
            Some(bytes) => {
                let mut eight = [0u8; 8];
                eight.copy_from_slice(bytes);
                let length = u64::from_be_bytes(eight);
                if length >> 63 != 0 || length <= 0xFFFF {
                    return HeaderStep::Fault(WsFault::BadLength);
                }
                (length, MAX_HEADER)
            }
        },
        short => (u64::from(short), 6),
    };
    if control && length > 125 {
        return HeaderStep::Fault(WsFault::BadControlFrame);
    }
    if length > max_frame_size {
        return HeaderStep::Fault(WsFault::FrameTooLarge);
    }
    // `length` is at most max_frame_size, which the caller chose to fit in memory.
    let Ok(length) = usize::try_from(length) else { return HeaderStep::Fault(WsFault::FrameTooLarge) };
    HeaderStep::Header(Header { fin, rsv1, opcode, length, size })
}

/// The masking key of a header of `size` bytes at the start of `input` (which holds them all).
fn masking_key(input: &[u8], size: usize) -> [u8; 4] {
    let mut key = [0u8; 4];
    key.copy_from_slice(&input[size - 4..size]); // size is 6, 8 or 14, and input that long
    key
}

/// XOR `data` with the masking key (RFC 6455 §5.3), eight bytes at a time.
pub fn unmask(data: &mut [u8], mask: [u8; 4]) {
    let wide = u64::from_ne_bytes([mask[0], mask[1], mask[2], mask[3], mask[0], mask[1], mask[2], mask[3]]);
    let mut chunks = data.chunks_exact_mut(8);
    for chunk in &mut chunks {
        let mut eight = [0u8; 8];
        eight.copy_from_slice(chunk);
        chunk.copy_from_slice(&(u64::from_ne_bytes(eight) ^ wide).to_ne_bytes());
    }
    for (byte, key) in chunks.into_remainder().iter_mut().zip(mask.iter().cycle()) {
        *byte ^= key;
    }
}

/// `masked` XOR the masking key into `out`, of the same length (RFC 6455 §5.3): a copy and an
/// unmasking in one pass, eight bytes at a time.
pub fn unmask_into(out: &mut [u8], masked: &[u8], mask: [u8; 4]) {
    let wide = u64::from_ne_bytes([mask[0], mask[1], mask[2], mask[3], mask[0], mask[1], mask[2], mask[3]]);
    let mut outs = out.chunks_exact_mut(8);
    let mut ins = masked.chunks_exact(8);
    for (chunk, masked_chunk) in (&mut outs).zip(&mut ins) {
        let mut eight = [0u8; 8];
        eight.copy_from_slice(masked_chunk);
        chunk.copy_from_slice(&(u64::from_ne_bytes(eight) ^ wide).to_ne_bytes());
    }
    let rest = outs.into_remainder().iter_mut().zip(ins.remainder());
    for ((byte, masked_byte), key) in rest.zip(mask.iter().cycle()) {
        *byte = masked_byte ^ key;
    }
}

/// A server's frame: unmasked (RFC 6455 §5.1), with the fewest length bytes.
pub fn frame(opcode: u8, payload: &[u8], fin: bool, rsv1: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 10);
    out.extend_from_slice(&[u8::from(fin) << 7 | u8::from(rsv1) << 6 | (opcode & 0x0F)]);
    let length = payload.len() as u64;
    if length < 126 {
        out.extend_from_slice(&[length as u8]);
    } else if length <= 0xFFFF {
        out.extend_from_slice(&[126]);
        out.extend_from_slice(&(length as u16).to_be_bytes());
    } else {
        out.extend_from_slice(&[127]);
        out.extend_from_slice(&length.to_be_bytes());
    }
    out.extend_from_slice(payload);
    out
}

/// What a `MessageReader` hands on: a whole data message, or a control frame's payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    Text(String),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    /// A close frame: its code (None for an empty payload) and reason.
    Close(Option<u16>, String),
}

/// Reassembles data messages from frames (RFC 6455 §5.4) and checks them (§5.6, §8.1, §7.4).
/// Text is checked as UTF-8 as its fragments arrive, so a message that can no longer be
/// valid fails at the fragment that shows it, not at its end.
#[derive(Debug)]
pub struct MessageReader {
    max_message_size: u64,
    /// The opcode of the message being reassembled (TEXT or BINARY), or None.
    open: Option<u8>,
    buffer: Vec<u8>,
    /// How much of `buffer` is known to be whole UTF-8 (text only).
    checked: usize,
}

impl MessageReader {
    pub fn new(max_message_size: u64) -> Self {
        MessageReader { max_message_size, open: None, buffer: Vec::new(), checked: 0 }
    }

    /// What `frame` completes, if anything. (Compressed frames, RSV1, are the caller's to
    /// inflate before they come here.)
    pub fn push(&mut self, frame: Frame) -> Result<Option<Received>, WsFault> {
        match frame.opcode {
            PING => return Ok(Some(Received::Ping(frame.payload))),
            PONG => return Ok(Some(Received::Pong(frame.payload))),
            CLOSE => return close_frame(&frame.payload).map(Some),
            CONTINUATION if self.open.is_none() => return Err(WsFault::BadFragmentation),
            TEXT | BINARY if self.open.is_some() => return Err(WsFault::BadFragmentation),
            TEXT | BINARY => self.open = Some(frame.opcode),
            _ => {}
        }
        if (self.buffer.len() + frame.payload.len()) as u64 > self.max_message_size {
            return Err(WsFault::MessageTooLarge);
        }
        self.buffer.extend_from_slice(&frame.payload);
        if self.open == Some(TEXT) {
            check_text(&self.buffer, &mut self.checked, frame.fin)?;
        }
        if !frame.fin {
            return Ok(None);
        }
        let opcode = self.open.take();
        let data = std::mem::take(&mut self.buffer);
        self.checked = 0;
        Ok(Some(if opcode == Some(TEXT) {
            // Checked above, piece by piece.
            Received::Text(String::from_utf8(data).map_err(|_| WsFault::InvalidUtf8)?)
        } else {
            Received::Binary(data)
        }))
    }
}

/// A close frame's code and reason, owned.
fn close_frame(payload: &[u8]) -> Result<Received, WsFault> {
    read_close(payload).map(|(code, reason)| Received::Close(code, reason.to_owned()))
}

/// A close frame's code (None for an empty payload) and reason (RFC 6455 §5.5.1, §7.4): a
/// payload of one byte, or a code a client may not send, is `BadClose`; a reason that is not
/// UTF-8 is `InvalidUtf8`.
fn read_close(payload: &[u8]) -> Result<(Option<u16>, &str), WsFault> {
    match payload {
        [] => Ok((None, "")),
        [_] => Err(WsFault::BadClose),
        [high, low, reason @ ..] => {
            let code = u16::from_be_bytes([*high, *low]);
            if !close_code_allowed(code) {
                return Err(WsFault::BadClose);
            }
            let reason = std::str::from_utf8(reason).map_err(|_| WsFault::InvalidUtf8)?;
            Ok((Some(code), reason))
        }
    }
}

/// Checks the bytes of a text message added since `checked` (how much of `text` is known to
/// be whole UTF-8, moved on here), after a fragment: a byte that no text can continue fails
/// at once, a character cut off by the fragment's end waits for the next one, unless it was
/// the last (`fin`) (RFC 6455 §8.1).
fn check_text(text: &[u8], checked: &mut usize, fin: bool) -> Result<(), WsFault> {
    let Some(unchecked) = text.get(*checked..) else { return Err(WsFault::InvalidUtf8) };
    match std::str::from_utf8(unchecked) {
        Ok(_) => *checked = text.len(),
        Err(error) => {
            if error.error_len().is_some() || fin {
                return Err(WsFault::InvalidUtf8); // broken, or cut off at the end
            }
            *checked += error.valid_up_to(); // an unfinished character: wait
        }
    }
    Ok(())
}

/// What a `Reader` reports, in the order the frames came. Borrows the reader, so it lives only
/// as long as the callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadEvent<'a> {
    /// A whole uncompressed text message. Its bytes are UTF-8: checked fragment by fragment as
    /// they came (and not again here, so the caller can make a string of them without a
    /// second pass).
    Text(&'a [u8]),
    /// A whole uncompressed binary message.
    Binary(&'a [u8]),
    Ping(&'a [u8]),
    Pong(&'a [u8]),
    /// A valid close frame: its code (None for an empty payload) and reason.
    Close(Option<u16>, &'a str),
    /// A whole message whose first frame had RSV1 set (permessage-deflate, RFC 7692 §6): its
    /// opcode (TEXT or BINARY) and its fragments' payloads joined, still compressed and not
    /// checked as UTF-8 (the caller inflates it, checks it, and limits its inflated size).
    Compressed(u8, &'a [u8]),
    /// What the client's bytes broke; always the last event: the reader reads nothing more.
    Fault(WsFault),
    /// Only from a `streaming` reader: a message of one frame that needs no UTF-8 check (a
    /// binary or a compressed one) begins, with its opcode, whether it is compressed, and its
    /// payload's length. Its payload follows in `Part`s (none when it is empty), then `End`:
    /// in place of `Binary` or `Compressed`, with nothing held by the reader.
    Begin {
        opcode: u8,
        compressed: bool,
        length: usize,
    },
    /// The next bytes of that payload, still masked, and the masking key as it stands for the
    /// first of them (`unmask_into` copies them out unmasked).
    Part(&'a [u8], [u8; 4]),
    /// That message is complete.
    End,
}

/// A control frame's payload is at most this long (§5.5).
const MAX_CONTROL: usize = 125;

/// A message buffer larger than this is given back once its message has been handed on, so
/// an idle connection does not keep its largest message's memory.
const KEEP_MESSAGE_CAPACITY: usize = 64 * 1024;

/// Reads a client's messages out of the bytes of one connection, in one pass: frames (as
/// `FrameReader` does), then messages (as `MessageReader` does), with the same rules, plus
/// RSV1 for permessage-deflate. Each payload byte is unmasked once, as it arrives, into the
/// message it belongs to (or the control frame's buffer), or a streaming reader hands it on
/// (`ReadEvent::Part`): no frame is held whole before it is read, so bytes trickling in cost
/// linear time, and only an unfinished header is kept as received.
///
/// The rules are judged in this order: a frame's header byte by byte (`read_header`), then,
/// as soon as its length is known, the message rules (a continuation with nothing to continue
/// or a new message inside another, `BadFragmentation`; a message that would pass
/// `max_message_size`, `MessageTooLarge`, where `MessageReader`, handed whole frames, finds
/// it at the frame's end); text as UTF-8 and close payloads when their frame is complete.
#[derive(Debug)]
pub struct Reader {
    max_frame_size: u64,
    max_message_size: u64,
    /// permessage-deflate was negotiated: RSV1 may mark a message's first frame.
    compression: bool,
    /// The bytes of an unfinished header (`header_len` of them).
    header: [u8; MAX_HEADER],
    header_len: usize,
    /// The frame whose payload is being read, once its header is complete.
    payload: Option<Payload>,
    /// The payload of the control frame being read (`control_len` bytes of it so far).
    control: [u8; MAX_CONTROL],
    control_len: usize,
    /// The opcode of the data message being reassembled (TEXT or BINARY), or None.
    open: Option<u8>,
    /// That message's first frame had RSV1 set.
    compressed: bool,
    /// That message's payload so far, unmasked.
    message: Vec<u8>,
    /// How much of `message` is known to be whole UTF-8 (uncompressed text only).
    checked: usize,
    /// After a fault nothing more is read.
    failed: bool,
    /// Messages of one frame without a UTF-8 check are streamed (`ReadEvent::Begin`).
    streaming: bool,
}

/// The payload still to read of the current frame.
#[derive(Debug, Clone, Copy)]
struct Payload {
    fin: bool,
    opcode: u8,
    /// A message of one frame, streamed in `Part`s rather than kept.
    streamed: bool,
    key: [u8; 4],
    /// Bytes of it read so far (where the masking key stands), and bytes left.
    read: usize,
    left: usize,
}

impl Reader {
    pub fn new(max_frame_size: u64, max_message_size: u64, compression: bool) -> Self {
        Reader {
            max_frame_size,
            max_message_size,
            compression,
            header: [0; MAX_HEADER],
            header_len: 0,
            payload: None,
            control: [0; MAX_CONTROL],
            control_len: 0,
            open: None,
            compressed: false,
            message: Vec::new(),
            checked: 0,
            failed: false,
            streaming: false,
        }
    }

    /// A reader that streams each message of one frame that needs no UTF-8 check (binary, or
    /// compressed) as `Begin`, `Part`s and `End`, for a caller that has somewhere better to put
    /// it than a copy the reader would keep (the Python face writes it into the `bytes` it
    /// hands on). Other messages are reported whole, as by `new`.
    pub fn streaming(max_frame_size: u64, max_message_size: u64, compression: bool) -> Self {
        Reader { streaming: true, ..Reader::new(max_frame_size, max_message_size, compression) }
    }

    /// Reports every message and control frame that `input` completes to `sink`, in order,
    /// then the fault that stopped reading, if any (after it, further input is ignored).
    pub fn feed(&mut self, mut input: &[u8], sink: &mut impl FnMut(ReadEvent<'_>)) {
        if self.failed {
            return;
        }
        loop {
            let mut payload = match self.payload.take() {
                Some(payload) => payload,
                None => match self.start_frame(&mut input) {
                    Ok(Some(payload)) => {
                        if payload.streamed {
                            let (opcode, compressed, length) = (payload.opcode, self.compressed, payload.left);
                            sink(ReadEvent::Begin { opcode, compressed, length });
                        }
                        payload
                    }
                    Ok(None) => return,
                    Err(fault) => return self.fail(fault, sink),
                },
            };
            let (chunk, rest) = input.split_at(payload.left.min(input.len()));
            input = rest;
            // The key as it stands for this chunk's first byte: rotated by the bytes read so far.
            let key = (u32::from_le_bytes(payload.key).rotate_right(8 * (payload.read % 4) as u32)).to_le_bytes();
            if payload.streamed {
                if !chunk.is_empty() {
                    sink(ReadEvent::Part(chunk, key));
                }
            } else if payload.opcode >= CLOSE {
                // At most MAX_CONTROL bytes in all: read_header refused a longer control frame.
                let part = &mut self.control[self.control_len..self.control_len + chunk.len()];
                part.copy_from_slice(chunk);
                unmask(part, key);
                self.control_len += chunk.len();
            } else {
                let start = self.message.len();
                self.message.resize(start + chunk.len(), 0);
                unmask_into(&mut self.message[start..], chunk, key);
            }
            payload.read += chunk.len();
            payload.left -= chunk.len();
            if payload.left > 0 {
                self.payload = Some(payload); // `input` is used up
                return;
            }
            if let Err(fault) = self.end_frame(payload, sink) {
                return self.fail(fault, sink);
            }
        }
    }

    /// The next frame's payload to read, once its header is complete and judged; the bytes it
    /// takes of the header are taken off `input` (and kept while the header is unfinished).
    fn start_frame(&mut self, input: &mut &[u8]) -> Result<Option<Payload>, WsFault> {
        if input.is_empty() {
            return Ok(None);
        }
        let held = self.header_len;
        let (bytes, taken): (&[u8], usize) = if held == 0 {
            (input, 0)
        } else {
            let taken = (MAX_HEADER - held).min(input.len());
            self.header[held..held + taken].copy_from_slice(&input[..taken]);
            (&self.header[..held + taken], taken)
        };
        let header = match read_header(bytes, self.max_frame_size, self.compression) {
            HeaderStep::Header(header) => header,
            HeaderStep::Need(_) => return Ok(self.hold(input, held, taken)),
            HeaderStep::Fault(fault) => return Err(fault),
        };
        self.check_message(&header)?;
        if bytes.len() < header.size {
            return Ok(self.hold(input, held, taken)); // the masking key is still to come
        }
        let key = masking_key(bytes, header.size);
        *input = &input[header.size - held..];
        self.header_len = 0;
        let mut streamed = false;
        if header.opcode >= CLOSE {
            self.control_len = 0;
        } else {
            if header.opcode != CONTINUATION {
                self.open = Some(header.opcode);
                self.compressed = header.rsv1;
                streamed = self.streaming && header.fin && (header.rsv1 || header.opcode == BINARY);
            }
            if !streamed {
                self.message.reserve(header.length);
            }
        }
        let (fin, opcode, left) = (header.fin, header.opcode, header.length);
        Ok(Some(Payload { fin, opcode, streamed, key, read: 0, left }))
    }

    /// Keeps the bytes of an unfinished header: all of `input` (the `held` bytes before it
    /// are kept, and `taken` of it copied after them, already).
    fn hold(&mut self, input: &mut &[u8], held: usize, taken: usize) -> Option<Payload> {
        if held == 0 {
            // Shorter than MAX_HEADER: any longer, and read_header would have judged it whole.
            let length = input.len().min(MAX_HEADER);
            self.header[..length].copy_from_slice(&input[..length]);
            self.header_len = length;
        } else {
            self.header_len = held + taken;
        }
        *input = &[];
        None
    }

    /// The message rules for a data frame whose header announces its length (control frames
    /// may come anywhere).
    fn check_message(&self, header: &Header) -> Result<(), WsFault> {
        if header.opcode >= CLOSE {
            return Ok(());
        }
        if (header.opcode == CONTINUATION) != self.open.is_some() {
            return Err(WsFault::BadFragmentation); // nothing to continue, or a message inside one
        }
        if self.message.len() as u64 + header.length as u64 > self.max_message_size {
            return Err(WsFault::MessageTooLarge);
        }
        Ok(())
    }

    /// Reports what a frame, now read whole, completes: a control frame, or the last fragment
    /// of a message.
    fn end_frame(&mut self, payload: Payload, sink: &mut impl FnMut(ReadEvent<'_>)) -> Result<(), WsFault> {
        if payload.opcode >= CLOSE {
            let body = &self.control[..self.control_len];
            sink(match payload.opcode {
                PING => ReadEvent::Ping(body),
                PONG => ReadEvent::Pong(body),
                _ => {
                    let (code, reason) = read_close(body)?;
                    ReadEvent::Close(code, reason)
                }
            });
            return Ok(());
        }
        let Some(opcode) = self.open else { return Err(WsFault::BadFragmentation) }; // (checked)
        if payload.streamed {
            sink(ReadEvent::End);
            self.open = None;
            self.compressed = false;
            return Ok(());
        }
        if opcode == TEXT && !self.compressed {
            check_text(&self.message, &mut self.checked, payload.fin)?;
        }
        if !payload.fin {
            return Ok(());
        }
        sink(if self.compressed {
            ReadEvent::Compressed(opcode, &self.message)
        } else if opcode == TEXT {
            ReadEvent::Text(&self.message)
        } else {
            ReadEvent::Binary(&self.message)
        });
        self.open = None;
        self.compressed = false;
        self.checked = 0;
        if self.message.capacity() > KEEP_MESSAGE_CAPACITY {
            self.message = Vec::new();
        } else {
            self.message.clear();
        }
        Ok(())
    }

    fn fail(&mut self, fault: WsFault, sink: &mut impl FnMut(ReadEvent<'_>)) {
        self.failed = true;
        sink(ReadEvent::Fault(fault));
    }
}

/// The close codes a peer may send (RFC 6455 §7.4.1, §7.4.2; 1004-1006 and 1015 are never
/// sent; 1012-1014 are registered since, IANA "WebSocket Close Code Number Registry").
pub fn close_code_allowed(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

    /// A client's frame: masked with KEY, length in the fewest bytes (or as given).
    fn client(first: u8, payload: &[u8]) -> Vec<u8> {
        let mut out = frame(first & 0x0F, payload, first & 0x80 != 0, first & 0x40 != 0);
        out[0] = first;
        let header = out.len() - payload.len();
        out[1] |= 0x80;
        let mut masked = payload.to_vec();
        unmask(&mut masked, KEY);
        out.truncate(header);
        out.extend_from_slice(&KEY);
        out.extend_from_slice(&masked);
        out
    }

    fn read(bytes: &[u8]) -> (Vec<Frame>, Option<WsFault>) {
        FrameReader::new(1 << 20, false).feed(bytes)
    }

    /// The same frames and fault however the bytes are split: whole, byte by byte, and at
    /// every single split point.
    fn read_every_way(bytes: &[u8]) -> (Vec<Frame>, Option<WsFault>) {
        let whole = read(bytes);
        let mut reader = FrameReader::new(1 << 20, false);
        let mut frames = Vec::new();
        let mut fault = None;
        for byte in bytes {
            let (more, stopped) = reader.feed(std::slice::from_ref(byte));
            frames.extend(more);
            fault = fault.or(stopped);
        }
        assert_eq!((frames, fault), whole, "byte by byte");
        // Every split point of a short input; for a long one, those near its ends.
        let splits: Vec<usize> = if bytes.len() <= 300 {
            (1..bytes.len()).collect()
        } else {
            (1..40).chain(bytes.len() - 40..bytes.len()).collect()
        };
        for split in splits {
            let mut reader = FrameReader::new(1 << 20, false);
            let (mut frames, first) = reader.feed(&bytes[..split]);
            let (more, second) = reader.feed(&bytes[split..]);
            frames.extend(more);
            assert_eq!((frames, first.or(second)), whole, "split at {split}");
        }
        whole
    }

    // Rows grouped like the Autobahn suite's sections, each with the RFC 6455 section it rests on.

    #[test]
    fn framing_section_1() {
        // §5.2, §5.3: text and binary of each length encoding come through unmasked.
        for size in [0usize, 1, 125, 126, 127, 65535, 65536, 300_000] {
            let payload: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
            let (frames, fault) = read_every_way(&client(0x82, &payload));
            assert_eq!(fault, None);
            assert_eq!(frames, vec![Frame { fin: true, rsv1: false, opcode: BINARY, payload }]);
        }
    }

    #[test]
    fn pings_and_pongs_section_2() {
        // §5.5: control frames up to 125 bytes pass; 126 is a protocol error.
        let (frames, fault) = read_every_way(&client(0x89, &[b'p'; 125]));
        assert_eq!((frames.len(), fault), (1, None));
        assert_eq!(read(&client(0x89, &[b'p'; 126])).1, Some(WsFault::BadControlFrame));
        assert_eq!(read(&client(0x09, b"x")).1, Some(WsFault::BadControlFrame));
        // fragmented
    }

    #[test]
    fn reserved_bits_section_3() {
        // §5.2: RSV1..3 without an extension.
        for first in [0xC1, 0xA1, 0x91] {
            assert_eq!(read(&client(first, b"x")).1, Some(WsFault::ReservedBits), "{first:#x}");
        }
        // RSV1 with permessage-deflate negotiated is the extension's to read, on data frames.
        let (frames, fault) = FrameReader::new(1 << 20, true).feed(&client(0xC1, b"x"));
        assert_eq!((frames[0].rsv1, fault), (true, None));
        assert_eq!(FrameReader::new(1 << 20, true).feed(&client(0xC9, b"x")).1, Some(WsFault::ReservedBits));
        // RFC 7692 §6.1: only on a message's first frame, never on a continuation.
        let bytes = [client(0x41, b"a"), client(0xC0, b"b")].concat();
        assert_eq!(FrameReader::new(1 << 20, true).feed(&bytes).1, Some(WsFault::ReservedBits));
    }

    #[test]
    fn opcodes_section_4() {
        // §5.2: 3-7 and 11-15 are reserved.
        for opcode in [3u8, 4, 5, 6, 7, 11, 12, 13, 14, 15] {
            assert_eq!(read(&client(0x80 | opcode, b"")).1, Some(WsFault::ReservedOpcode), "{opcode}");
        }
        // Frames before the bad one are kept.
        let mut bytes = client(0x81, b"ok");
        bytes.extend(client(0x83, b""));
        assert_eq!(
            read_every_way(&bytes),
            (
                vec![Frame { fin: true, rsv1: false, opcode: TEXT, payload: b"ok".to_vec() }],
                Some(WsFault::ReservedOpcode)
            )
        );
    }

    #[test]
    fn lengths_and_masks() {
        // §5.1: unmasked client frames; §5.2: non-minimal lengths, the 64-bit top bit.
        assert_eq!(read(&[0x81, 0x01, b'x']).1, Some(WsFault::Unmasked));
        assert_eq!(read(&[0x82, 0xFE, 0x00, 0x7D]).1, Some(WsFault::BadLength));
        assert_eq!(read(&[0x82, 0xFF, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF]).1, Some(WsFault::BadLength));
        assert_eq!(read(&[0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0]).1, Some(WsFault::BadLength));
        // A 2^62-byte length is refused at its header, before any payload.
        assert_eq!(read(&[0x82, 0xFF, 0x40, 0, 0, 0, 0, 0, 0, 0]).1, Some(WsFault::FrameTooLarge));
        assert_eq!(WsFault::FrameTooLarge.close_code(), 1009);
    }

    fn messages(frames: Vec<Vec<u8>>, limit: u64) -> (Vec<Received>, Option<WsFault>) {
        let mut reader = FrameReader::new(1 << 20, false);
        let mut assembler = MessageReader::new(limit);
        let mut out = Vec::new();
        for bytes in frames {
            let (frames, fault) = reader.feed(&bytes);
            for frame in frames {
                match assembler.push(frame) {
                    Ok(Some(message)) => out.push(message),
                    Ok(None) => {}
                    Err(fault) => return (out, Some(fault)),
                }
            }
            if fault.is_some() {
                return (out, fault);
            }
        }
        (out, None)
    }

    #[test]
    fn fragmentation_section_5() {
        // §5.4: fragments reassemble, control frames may come between them.
        let (out, fault) = messages(vec![client(0x01, b"Hel"), client(0x89, b"p"), client(0x80, b"lo")], 1 << 20);
        assert_eq!(fault, None);
        assert_eq!(out, vec![Received::Ping(b"p".to_vec()), Received::Text("Hello".into())]);
        // A continuation with nothing to continue; a new message inside one.
        assert_eq!(messages(vec![client(0x80, b"x")], 1 << 20).1, Some(WsFault::BadFragmentation));
        assert_eq!(messages(vec![client(0x01, b"a"), client(0x81, b"b")], 1 << 20).1, Some(WsFault::BadFragmentation));
    }

    #[test]
    fn utf8_section_6() {
        // §8.1: a character split across fragments is fine; invalid text fails at the
        // fragment that shows it (fail fast), and text cut off at the end fails too.
        let euro = "€".as_bytes();
        let (out, fault) =
            messages(vec![client(0x01, &euro[..1]), client(0x00, &euro[1..2]), client(0x80, &euro[2..])], 1 << 20);
        assert_eq!((out, fault), (vec![Received::Text("€".into())], None));
        let (out, fault) = messages(vec![client(0x01, b"ok\xC0"), client(0x80, b"never read")], 1 << 20);
        assert_eq!((out, fault), (vec![], Some(WsFault::InvalidUtf8)));
        assert_eq!(messages(vec![client(0x81, &euro[..2])], 1 << 20).1, Some(WsFault::InvalidUtf8));
        assert_eq!(WsFault::InvalidUtf8.close_code(), 1007);
    }

    #[test]
    fn close_handling_section_7() {
        // §5.5.1, §7.4: empty, code, code and reason; one byte, bad codes, bad reason.
        assert_eq!(messages(vec![client(0x88, b"")], 9).0, vec![Received::Close(None, String::new())]);
        assert_eq!(messages(vec![client(0x88, b"\x03\xe8bye")], 9).0, vec![Received::Close(Some(1000), "bye".into())]);
        assert_eq!(messages(vec![client(0x88, b"\x03")], 9).1, Some(WsFault::BadClose));
        for code in [0u16, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000] {
            let payload = code.to_be_bytes();
            assert_eq!(messages(vec![client(0x88, &payload)], 9).1, Some(WsFault::BadClose), "{code}");
        }
        assert_eq!(messages(vec![client(0x88, b"\x03\xe8\xff")], 9).1, Some(WsFault::InvalidUtf8));
    }

    #[test]
    fn limits_section_9() {
        // A message over the limit is 1009, at the fragment that passes it.
        let (out, fault) = messages(vec![client(0x02, &[0; 6]), client(0x80, &[0; 6])], 10);
        assert_eq!((out, fault), (vec![], Some(WsFault::MessageTooLarge)));
        assert_eq!(FrameReader::new(100, false).feed(&client(0x82, &[0; 101])).1, Some(WsFault::FrameTooLarge));
    }

    /// A `ReadEvent`, owned, to compare.
    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Got {
        Text(String),
        Binary(Vec<u8>),
        Ping(Vec<u8>),
        Pong(Vec<u8>),
        Close(Option<u16>, String),
        Compressed(u8, Vec<u8>),
        Fault(WsFault),
    }

    fn owned(event: ReadEvent<'_>) -> Got {
        match event {
            ReadEvent::Text(text) => Got::Text(String::from_utf8(text.to_vec()).expect("text is UTF-8")),
            ReadEvent::Binary(data) => Got::Binary(data.to_vec()),
            ReadEvent::Ping(data) => Got::Ping(data.to_vec()),
            ReadEvent::Pong(data) => Got::Pong(data.to_vec()),
            ReadEvent::Close(code, reason) => Got::Close(code, reason.to_owned()),
            ReadEvent::Compressed(opcode, data) => Got::Compressed(opcode, data.to_vec()),
            ReadEvent::Fault(fault) => Got::Fault(fault),
            ReadEvent::Begin { .. } | ReadEvent::Part(..) | ReadEvent::End => panic!("streamed: {event:?}"),
        }
    }

    /// What a `Reader` reports for `pieces` fed one after the other; a streaming reader's
    /// messages of one frame put together, so both kinds must report the same.
    fn reader_events(pieces: &[&[u8]], limits: (u64, u64), compression: bool) -> Vec<Got> {
        let plain = events_of(Reader::new(limits.0, limits.1, compression), pieces);
        let streamed = events_of(Reader::streaming(limits.0, limits.1, compression), pieces);
        assert_eq!(plain, streamed, "streaming");
        plain
    }

    fn events_of(mut reader: Reader, pieces: &[&[u8]]) -> Vec<Got> {
        let mut got = Vec::new();
        // The message being streamed: opcode, compressed, length, payload so far.
        let mut streamed: Option<(u8, bool, usize, Vec<u8>)> = None;
        for piece in pieces {
            reader.feed(piece, &mut |event| match event {
                ReadEvent::Begin { opcode, compressed, length } => {
                    assert!(streamed.is_none(), "a message begins inside another");
                    streamed = Some((opcode, compressed, length, Vec::new()));
                }
                ReadEvent::Part(masked, key) => {
                    let (_, _, length, data) = streamed.as_mut().expect("a part of no message");
                    assert!(!masked.is_empty() && data.len() + masked.len() <= *length);
                    let start = data.len();
                    data.resize(start + masked.len(), 0);
                    unmask_into(&mut data[start..], masked, key);
                }
                ReadEvent::End => {
                    let (opcode, compressed, length, data) = streamed.take().expect("the end of no message");
                    assert_eq!(data.len(), length);
                    got.push(if compressed { Got::Compressed(opcode, data) } else { Got::Binary(data) });
                }
                event => got.push(owned(event)),
            });
        }
        got
    }

    /// The same events however the bytes are split: whole, byte by byte, at every split
    /// point (near the ends only, for a long input), and in three pieces.
    fn reader_every_way(bytes: &[u8], limits: (u64, u64), compression: bool) -> Vec<Got> {
        let whole = reader_events(&[bytes], limits, compression);
        let singles: Vec<&[u8]> = bytes.chunks(1).collect();
        assert_eq!(reader_events(&singles, limits, compression), whole, "byte by byte");
        let splits: Vec<usize> = if bytes.len() <= 300 {
            (1..bytes.len()).collect()
        } else {
            (1..40).chain(bytes.len() - 40..bytes.len()).collect()
        };
        for split in splits {
            let (a, b) = bytes.split_at(split);
            assert_eq!(reader_events(&[a, b], limits, compression), whole, "split at {split}");
            let (b, c) = b.split_at(b.len() / 2);
            assert_eq!(reader_events(&[a, b, c], limits, compression), whole, "split at {split} and after");
        }
        whole
    }

    /// `FrameReader` then `MessageReader`, as `Got`s: what `Reader` must agree with where
    /// they apply (no compression, no faults that `Reader` finds sooner).
    fn two_readers(bytes: &[u8], limits: (u64, u64)) -> Vec<Got> {
        let (frames, fault) = FrameReader::new(limits.0, false).feed(bytes);
        let mut assembler = MessageReader::new(limits.1);
        let mut got = Vec::new();
        for frame in frames {
            match assembler.push(frame) {
                Ok(Some(Received::Text(text))) => got.push(Got::Text(text)),
                Ok(Some(Received::Binary(data))) => got.push(Got::Binary(data)),
                Ok(Some(Received::Ping(data))) => got.push(Got::Ping(data)),
                Ok(Some(Received::Pong(data))) => got.push(Got::Pong(data)),
                Ok(Some(Received::Close(code, reason))) => got.push(Got::Close(code, reason)),
                Ok(None) => {}
                Err(fault) => {
                    got.push(Got::Fault(fault));
                    return got;
                }
            }
        }
        got.extend(fault.map(Got::Fault));
        got
    }

    const ROOMY: (u64, u64) = (1 << 20, 1 << 20);

    #[test]
    fn reader_agrees_with_frame_and_message_readers() {
        let euro = "€".as_bytes();
        let long: Vec<u8> = (0..70_000).map(|i| (i % 251) as u8).collect();
        let inputs: Vec<Vec<u8>> = vec![
            client(0x81, b"Hello"),
            client(0x82, &[]),
            client(0x82, &long),
            [client(0x01, b"Hel"), client(0x89, b"p"), client(0x8A, b""), client(0x80, b"lo")].concat(),
            [client(0x01, &euro[..1]), client(0x00, &euro[1..2]), client(0x80, &euro[2..])].concat(),
            [client(0x01, b"ok\xC0"), client(0x80, b"never read")].concat(),
            client(0x81, &euro[..2]),
            [client(0x88, b""), client(0x88, b"\x03\xe8bye"), client(0x88, b"\x0b\xb8")].concat(),
            client(0x88, b"\x03"),
            client(0x88, b"\x03\xe8\xff"),
            [client(0x81, b"ok"), client(0x83, b"")].concat(),
            [client(0x81, b"ok"), vec![0x81, 0x01, b'x']].concat(),
            [client(0x02, b"ab"), client(0x00, b"cd"), client(0x80, b"")].concat(),
        ];
        for bytes in inputs {
            assert_eq!(reader_every_way(&bytes, ROOMY, false), two_readers(&bytes, ROOMY), "{bytes:02x?}");
        }
        // The masking key is followed across pieces at any offset.
        let got = reader_every_way(&client(0x82, &long[..301]), ROOMY, false);
        assert_eq!(got, vec![Got::Binary(long[..301].to_vec())]);
    }

    #[test]
    fn reader_judges_a_frame_by_its_header() {
        // Over the frame limit: refused from the length bytes, before the key or payload.
        let header = &client(0x82, &[0; 200])[..4];
        assert_eq!(reader_events(&[header], (100, 1000), false), vec![Got::Fault(WsFault::FrameTooLarge)]);
        // Over the message limit with the fragments before it: refused at the frame's header.
        let mut bytes = client(0x02, &[1; 60]);
        bytes.extend_from_slice(&client(0x80, &[2; 60])[..2]);
        assert_eq!(reader_every_way(&bytes, (100, 100), false), vec![Got::Fault(WsFault::MessageTooLarge)]);
        // Exactly at the limit is fine.
        let bytes = [client(0x02, &[1; 60]), client(0x80, &[2; 40])].concat();
        let mut whole = vec![1; 60];
        whole.extend_from_slice(&[2; 40]);
        assert_eq!(reader_every_way(&bytes, (100, 100), false), vec![Got::Binary(whole)]);
        // Fragmentation faults come once the length is known: not from a first byte alone.
        assert_eq!(reader_events(&[&[0x80]], ROOMY, false), vec![]);
        assert_eq!(reader_events(&[&[0x80, 0x80]], ROOMY, false), vec![Got::Fault(WsFault::BadFragmentation)]);
        let bytes = [client(0x01, b"a"), client(0x82, b"b")].concat();
        assert_eq!(reader_every_way(&bytes, ROOMY, false), vec![Got::Fault(WsFault::BadFragmentation)]);
        // A frame fault wins over a message fault in the same header.
        assert_eq!(reader_events(&[&[0x80, 0x00]], ROOMY, false), vec![Got::Fault(WsFault::Unmasked)]);
        // After a fault nothing more is read.
        let mut reader = Reader::new(1 << 20, 1 << 20, false);
        let mut got = Vec::new();
        reader.feed(&[0x81, 0x01, b'x'], &mut |event| got.push(owned(event)));
        reader.feed(&client(0x81, b"x"), &mut |event| got.push(owned(event)));
        assert_eq!(got, vec![Got::Fault(WsFault::Unmasked)]);
    }

    #[test]
    fn reader_hands_on_compressed_messages() {
        // RFC 7692 §6: RSV1 on a message's first frame; its fragments joined, unchecked.
        let bytes = [client(0x41, b"\xff\x00"), client(0x89, b"p"), client(0x80, b"\xfe")].concat();
        assert_eq!(
            reader_every_way(&bytes, ROOMY, true),
            vec![Got::Ping(b"p".to_vec()), Got::Compressed(TEXT, b"\xff\x00\xfe".to_vec())]
        );
        assert_eq!(reader_every_way(&client(0xC2, b"z"), ROOMY, true), vec![Got::Compressed(BINARY, b"z".to_vec())]);
        // The message after a compressed one is read as itself.
        let bytes = [client(0xC1, b"\xff"), client(0x81, b"plain")].concat();
        assert_eq!(
            reader_every_way(&bytes, ROOMY, true),
            vec![Got::Compressed(TEXT, b"\xff".to_vec()), Got::Text("plain".into())]
        );
        // §6.1: RSV1 on a continuation or a control frame; RSV1 without the extension.
        let bytes = [client(0x41, b"a"), client(0xC0, b"b")].concat();
        assert_eq!(reader_every_way(&bytes, ROOMY, true), vec![Got::Fault(WsFault::ReservedBits)]);
        assert_eq!(reader_every_way(&client(0xC9, b""), ROOMY, true), vec![Got::Fault(WsFault::ReservedBits)]);
        assert_eq!(reader_every_way(&client(0xC1, b"a"), ROOMY, false), vec![Got::Fault(WsFault::ReservedBits)]);
        // The message limit counts the compressed bytes.
        let bytes = [client(0x42, &[0; 8]), client(0x80, &[0; 3])].concat();
        assert_eq!(reader_every_way(&bytes, (100, 10), true), vec![Got::Fault(WsFault::MessageTooLarge)]);
    }

    #[test]
    fn reader_reads_a_trickle_in_linear_time() {
        // One byte at a time, a 1 MiB frame: each byte is unmasked once into the message.
        let payload: Vec<u8> = (0..1 << 20).map(|i| (i % 253) as u8).collect();
        let bytes = client(0x82, &payload);
        let mut reader = Reader::new(1 << 21, 1 << 21, false);
        let mut got = Vec::new();
        for byte in bytes.chunks(1) {
            reader.feed(byte, &mut |event| got.push(owned(event)));
        }
        assert_eq!(got, vec![Got::Binary(payload)]);
        // A large message's buffer is given back after it; a small one's is kept.
        assert_eq!(reader.message.capacity(), 0);
        reader.feed(&client(0x82, b"small"), &mut |_| {});
        assert!(reader.message.capacity() >= 5);
    }

    #[test]
    fn streaming_reader_keeps_no_copy() {
        // A binary message of one frame is streamed: the reader's buffer stays empty.
        let payload: Vec<u8> = (0..200_000).map(|i| (i % 249) as u8).collect();
        let bytes = client(0x82, &payload);
        let mut reader = Reader::streaming(1 << 20, 1 << 20, false);
        let mut parts = 0;
        for piece in bytes.chunks(65536) {
            reader.feed(piece, &mut |event| parts += usize::from(matches!(event, ReadEvent::Part(..))));
        }
        assert_eq!((parts, reader.message.capacity()), (4, 0));
        // Text, and fragmented messages, are reported whole.
        let mut got = Vec::new();
        let bytes = [client(0x81, b"t"), client(0x02, b"a"), client(0x80, b"b"), client(0x82, b"")].concat();
        reader.feed(&bytes, &mut |event| got.push(format!("{event:?}")));
        let expected = ["Text([116])", "Binary([97, 98])", "Begin { opcode: 2, compressed: false, length: 0 }", "End"];
        assert_eq!(got, expected);
    }

    #[test]
    fn unmask_into_is_unmask() {
        let data: Vec<u8> = (0..70).map(|i| (i * 7) as u8).collect();
        for length in 0..data.len() {
            let mut expected = data[..length].to_vec();
            unmask(&mut expected, KEY);
            let mut out = vec![0; length];
            unmask_into(&mut out, &data[..length], KEY);
            assert_eq!(out, expected, "{length}");
        }
    }

    #[test]
    fn server_frames_are_unmasked_and_minimal() {
        assert_eq!(frame(TEXT, b"hi", true, false), b"\x81\x02hi");
        assert_eq!(&frame(BINARY, &[0; 126], true, false)[..4], b"\x82\x7e\x00\x7e");
        assert_eq!(&frame(BINARY, &[0; 65536], false, true)[..10], b"\x42\x7f\x00\x00\x00\x00\x00\x01\x00\x00");
        let mut data = b"abcdefghijk".to_vec();
        unmask(&mut data, KEY);
        unmask(&mut data, KEY);
        assert_eq!(data, b"abcdefghijk");
    }
}
