//! WebSocket frames (RFC 6455 §5) as a server reads and writes them, in plain Rust: a
//! `FrameReader` that turns received bytes into frames, unmasked, holding partial input across
//! calls; a `MessageReader` on top that reassembles fragmented messages and checks text as
//! UTF-8 as it arrives; and `frame`, which builds a server's (unmasked) frame. Every rule a
//! client can break is a `WsFault` carrying the close code the server answers with (§7.4.1).
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
        let Some(&first) = input.first() else { return Step::Need(1) };
        let fin = first & 0x80 != 0;
        let rsv1 = first & 0x40 != 0;
        let opcode = first & 0x0F;
        if first & 0x30 != 0 || (rsv1 && !self.rsv1_allowed) {
            return Step::Fault(WsFault::ReservedBits);
        }
        if !matches!(opcode, CONTINUATION | TEXT | BINARY | CLOSE | PING | PONG) {
            return Step::Fault(WsFault::ReservedOpcode);
        }
        let control = opcode >= CLOSE;
        if control && (!fin || rsv1) {
            return Step::Fault(if rsv1 { WsFault::ReservedBits } else { WsFault::BadControlFrame });
        }
        let Some(&second) = input.get(1) else { return Step::Need(2) };
        if second & 0x80 == 0 {
            return Step::Fault(WsFault::Unmasked);
        }
        let (length, header) = match second & 0x7F {
            126 => match input.get(2..4) {
                None => return Step::Need(input.len() + 1),
                Some(bytes) => {
                    let length = u64::from(u16::from_be_bytes([bytes[0], bytes[1]]));
                    if length < 126 {
                        return Step::Fault(WsFault::BadLength);
                    }
                    (length, 8)
                }
            },
            127 => match input.get(2..10) {
                None => return Step::Need(input.len() + 1),
                Some(bytes) => {
                    let mut eight = [0u8; 8];
                    eight.copy_from_slice(bytes);
                    let length = u64::from_be_bytes(eight);
                    if length >> 63 != 0 || length <= 0xFFFF {
                        return Step::Fault(WsFault::BadLength);
                    }
                    (length, 14)
                }
            },
            short => (u64::from(short), 6),
        };
        if control && length > 125 {
            return Step::Fault(WsFault::BadControlFrame);
        }
        if length > self.max_frame_size {
            return Step::Fault(WsFault::FrameTooLarge);
        }
        // `length` is at most max_frame_size, which the caller chose to fit in memory.
        let Ok(size) = usize::try_from(length) else { return Step::Fault(WsFault::FrameTooLarge) };
        let Some(masked) = input.get(header..header + size) else { return Step::Need(header + size) };
        let key = &input[header - 4..header];
        let mut payload = masked.to_vec();
        unmask(&mut payload, [key[0], key[1], key[2], key[3]]);
        Step::Frame(Frame { fin, rsv1, opcode, payload }, header + size)
    }
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
            match std::str::from_utf8(&self.buffer[self.checked..]) {
                Ok(_) => self.checked = self.buffer.len(),
                Err(error) => {
                    if error.error_len().is_some() || frame.fin {
                        return Err(WsFault::InvalidUtf8); // broken, or cut off at the end
                    }
                    self.checked += error.valid_up_to(); // an unfinished character: wait
                }
            }
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

/// A close frame's code and reason (RFC 6455 §5.5.1, §7.4).
fn close_frame(payload: &[u8]) -> Result<Received, WsFault> {
    match payload {
        [] => Ok(Received::Close(None, String::new())),
        [_] => Err(WsFault::BadClose),
        [high, low, reason @ ..] => {
            let code = u16::from_be_bytes([*high, *low]);
            if !close_code_allowed(code) {
                return Err(WsFault::BadClose);
            }
            let reason = std::str::from_utf8(reason).map_err(|_| WsFault::InvalidUtf8)?;
            Ok(Received::Close(Some(code), reason.to_owned()))
        }
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
