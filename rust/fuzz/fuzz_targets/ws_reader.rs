//! The WebSocket reader the server uses, `ws_frames::Reader` (`WebSocketReader` in Python):
//! - the same events whether the bytes come whole, one byte at a time, or split at two points
//!   chosen by the input;
//! - a streaming reader (`Reader::streaming`, the one python_ws.rs makes) gives the same
//!   events once each streamed message's pieces are put together, and streams only what its
//!   doc says it does (a binary or compressed message of one frame, in pieces that add up to
//!   the length it announced);
//! - the events obey their contract: text is UTF-8, a close code is one a client may send,
//!   nothing exceeds the limits, a fault is the last event and nothing is read after it;
//! - the events are those of `FrameReader` then `MessageReader` for the same bytes and limits
//!   (RSV1 taken as a compressed message, whose bytes are not text to check), but for the one
//!   documented difference: `Reader` judges a frame's fragmentation and message size as soon
//!   as its length bytes arrive, `MessageReader` once the frame is whole. So where the input
//!   ends inside that frame, `Reader` may report one `BadFragmentation` or `MessageTooLarge`
//!   more; the frame completed (with zero bytes), the two readers must report it too.
//!
//! Input: one byte of settings (bit 0: permessage-deflate, so RSV1 may be set; bits 1-3: the
//! frame limit, bits 4-6: the message limit, each an index into LIMITS; bit 7 unused), two
//! split points (16 bits each, big-endian, modulo the length of the data + 1), then the bytes
//! a client sends. rust/fuzz/seed_corpus.py writes seeds in this format (`ws_reader_seeds`).

#![no_main]

use _parser::ws_frames::{
    close_code_allowed, unmask_into, FrameReader, MessageReader, ReadEvent, Reader, Received, WsFault, BINARY, TEXT,
};
use libfuzzer_sys::fuzz_target;

/// The frame and message limits the settings byte chooses from: none, tiny, around the
/// largest control frame (125) and the 7-bit length, one 64-bit length (65536), roomy.
const LIMITS: [u64; 8] = [0, 1, 7, 125, 126, 1000, 65536, 1 << 20];

/// Zero bytes that complete any frame the limits let through (its masking key and payload):
/// what the input is padded with to show `MessageReader` the frame `Reader` judged early.
static PADDING: [u8; (1 << 20) + 14] = [0; (1 << 20) + 14];

/// A `ReadEvent`, owned, with a streamed message put together.
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

#[derive(Debug, Clone, Copy)]
struct Settings {
    max_frame_size: u64,
    max_message_size: u64,
    compression: bool,
}

impl Settings {
    fn reader(self, streaming: bool) -> Reader {
        let Settings { max_frame_size, max_message_size, compression } = self;
        if streaming {
            Reader::streaming(max_frame_size, max_message_size, compression)
        } else {
            Reader::new(max_frame_size, max_message_size, compression)
        }
    }
}

/// A streamed message so far: opcode, compressed, announced length, payload unmasked.
type Streamed = (u8, bool, usize, Vec<u8>);

/// Every event a reader reports for `pieces`, fed one after the other, checked against the
/// contract as it comes; a streamed message still unfinished at the end is left out (a plain
/// reader has reported nothing of it either).
fn events(settings: Settings, streaming: bool, pieces: &[&[u8]]) -> Vec<Got> {
    let mut reader = settings.reader(streaming);
    let mut got = Vec::new();
    let mut streamed: Option<Streamed> = None;
    for piece in pieces {
        reader.feed(piece, &mut |event| {
            assert!(!matches!(got.last(), Some(Got::Fault(_))), "{event:?} after a fault");
            if let Some(message) = streamed.as_mut() {
                match event {
                    ReadEvent::Part(masked, key) => {
                        let (_, _, length, data) = message;
                        assert!(!masked.is_empty(), "an empty part");
                        assert!(data.len() + masked.len() <= *length, "parts beyond the length announced");
                        let start = data.len();
                        data.resize(start + masked.len(), 0);
                        unmask_into(&mut data[start..], masked, key);
                    }
                    ReadEvent::End => {
                        let Some((opcode, compressed, length, data)) = streamed.take() else { unreachable!() };
                        assert_eq!(data.len(), length, "a streamed message shorter than announced");
                        got.push(if compressed { Got::Compressed(opcode, data) } else { Got::Binary(data) });
                    }
                    // A streamed message is one frame: nothing comes between its pieces.
                    event => panic!("{event:?} inside a streamed message"),
                }
                return;
            }
            let event = match event {
                ReadEvent::Begin { opcode, compressed, length } => {
                    assert!(streaming, "Begin from a reader that does not stream");
                    // Only a message that needs no UTF-8 check is streamed.
                    assert!(opcode == BINARY || (compressed && opcode == TEXT), "streamed opcode {opcode}");
                    assert!(settings.compression || !compressed, "compressed without permessage-deflate");
                    assert!(length as u64 <= settings.max_frame_size.min(settings.max_message_size));
                    streamed = Some((opcode, compressed, length, Vec::new()));
                    return;
                }
                ReadEvent::Part(..) | ReadEvent::End => panic!("{event:?} outside a streamed message"),
                ReadEvent::Text(text) => Got::Text(String::from_utf8(text.to_vec()).expect("text is UTF-8")),
                ReadEvent::Binary(data) => Got::Binary(data.to_vec()),
                ReadEvent::Ping(data) => Got::Ping(data.to_vec()),
                ReadEvent::Pong(data) => Got::Pong(data.to_vec()),
                ReadEvent::Close(code, reason) => {
                    assert!(code.is_none_or(close_code_allowed), "close code {code:?}");
                    assert!(code.is_some() || reason.is_empty(), "a reason without a code");
                    Got::Close(code, reason.to_owned())
                }
                ReadEvent::Compressed(opcode, data) => {
                    assert!(settings.compression, "compressed without permessage-deflate");
                    assert!(opcode == TEXT || opcode == BINARY, "compressed opcode {opcode}");
                    Got::Compressed(opcode, data.to_vec())
                }
                ReadEvent::Fault(fault) => Got::Fault(fault),
            };
            let size = match &event {
                Got::Text(text) => text.len(),
                Got::Binary(data) | Got::Compressed(_, data) => data.len(),
                Got::Ping(data) | Got::Pong(data) => data.len(),
                Got::Close(code, reason) => code.map_or(0, |_| 2 + reason.len()),
                Got::Fault(_) => 0,
            };
            if !matches!(event, Got::Text(_) | Got::Binary(_) | Got::Compressed(..)) {
                assert!(size <= 125, "a control frame of {size} bytes");
            }
            let limit = match event {
                Got::Text(_) | Got::Binary(_) | Got::Compressed(..) => settings.max_message_size,
                _ => settings.max_frame_size,
            };
            assert!(size as u64 <= limit, "{size} bytes over the limit of {limit}");
            got.push(event);
        });
    }
    if let Some(Got::Fault(_)) = got.last() {
        // After a fault nothing more is read.
        for piece in pieces {
            reader.feed(piece, &mut |event| panic!("{event:?} after a fault"));
        }
    }
    got
}

/// `FrameReader` then `MessageReader`, as a server would use them: a message whose first frame
/// has RSV1 set is compressed, so its bytes are reassembled as binary (not checked as text)
/// and reported as compressed with its opcode.
fn two_readers(settings: Settings, pieces: &[&[u8]]) -> Vec<Got> {
    let mut frames = FrameReader::new(settings.max_frame_size, settings.compression);
    let mut messages = MessageReader::new(settings.max_message_size);
    // The opcode of the compressed message being reassembled.
    let mut compressed: Option<u8> = None;
    let mut got = Vec::new();
    for piece in pieces {
        let (complete, fault) = frames.feed(piece);
        for mut frame in complete {
            if frame.rsv1 {
                // FrameReader allows RSV1 on a TEXT or BINARY frame only.
                compressed = Some(frame.opcode);
                frame.opcode = BINARY;
            }
            match messages.push(frame) {
                Ok(Some(Received::Text(text))) => got.push(Got::Text(text)),
                Ok(Some(Received::Binary(data))) => got.push(match compressed.take() {
                    Some(opcode) => Got::Compressed(opcode, data),
                    None => Got::Binary(data),
                }),
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
        if let Some(fault) = fault {
            got.push(Got::Fault(fault));
            return got;
        }
    }
    got
}

fuzz_target!(|input: &[u8]| {
    let [settings, a0, a1, b0, b1, data @ ..] = input else { return };
    let settings = Settings {
        max_frame_size: LIMITS[usize::from((settings >> 1) & 7)],
        max_message_size: LIMITS[usize::from((settings >> 4) & 7)],
        compression: settings & 1 != 0,
    };
    let split = |high: u8, low: u8| usize::from(u16::from_be_bytes([high, low])) % (data.len() + 1);
    let (a, b) = (split(*a0, *a1), split(*b0, *b1));
    let (low, high) = (a.min(b), a.max(b));
    let whole: &[&[u8]] = &[data];
    let bytes: Vec<&[u8]> = data.chunks(1).collect();
    let pieces: &[&[u8]] = &[&data[..low], &data[low..high], &data[high..]];

    let plain = events(settings, false, whole);
    assert_eq!(events(settings, false, &bytes), plain, "byte by byte");
    assert_eq!(events(settings, false, pieces), plain, "split at {low} and {high}");
    assert_eq!(events(settings, true, whole), plain, "streaming");
    assert_eq!(events(settings, true, &bytes), plain, "streaming, byte by byte");
    assert_eq!(events(settings, true, pieces), plain, "streaming, split at {low} and {high}");

    let reference = two_readers(settings, whole);
    if plain != reference {
        // Only a fault judged from a frame's header that MessageReader has not seen whole.
        let Some((Got::Fault(fault), before)) = plain.split_last() else {
            panic!("Reader: {plain:?}\nFrameReader + MessageReader: {reference:?}")
        };
        assert!(
            matches!(fault, WsFault::BadFragmentation | WsFault::MessageTooLarge)
                && before == reference.as_slice()
                && !matches!(reference.last(), Some(Got::Fault(_))),
            "Reader: {plain:?}\nFrameReader + MessageReader: {reference:?}"
        );
        // That frame completed, they agree: the zeros after it start a frame that is refused
        // (unmasked) after MessageReader has judged it.
        let padded = two_readers(settings, &[data, &PADDING]);
        assert_eq!(padded, plain, "with the frame completed");
    }
});
