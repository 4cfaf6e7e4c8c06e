//! The WebSocket frame reader: the same frames, fault and messages whether the bytes come
//! whole, byte by byte, or split at two points chosen by the input; and every frame read, built
//! again as a client would send it, reads back as itself.
//!
//! Input: one byte of settings (bit 0: RSV1 allowed; bits 1-3: the frame and message limit,
//! 2^(7 + 2n) bytes), two bytes of split points, then the bytes a client sends.

#![no_main]

use _parser::ws_frames::{frame, unmask, Frame, FrameReader, MessageReader, Received, WsFault};
use libfuzzer_sys::fuzz_target;

type Outcome = (Vec<Frame>, Option<WsFault>);

fn read(pieces: &[&[u8]], limit: u64, rsv1: bool) -> Outcome {
    let mut reader = FrameReader::new(limit, rsv1);
    let mut frames = Vec::new();
    let mut fault = None;
    for piece in pieces {
        let (more, stopped) = reader.feed(piece);
        frames.extend(more);
        fault = fault.or(stopped);
    }
    (frames, fault)
}

fn messages(frames: &[Frame], limit: u64) -> (Vec<Received>, Option<WsFault>) {
    let mut reader = MessageReader::new(limit);
    let mut out = Vec::new();
    for frame in frames {
        match reader.push(frame.clone()) {
            Ok(Some(message)) => out.push(message),
            Ok(None) => {}
            Err(fault) => return (out, Some(fault)),
        }
    }
    (out, None)
}

/// `frame` as a client sends it: masked with a fixed key.
fn masked(frame_read: &Frame) -> Vec<u8> {
    const KEY: [u8; 4] = [1, 2, 3, 4];
    let built = frame(frame_read.opcode, &frame_read.payload, frame_read.fin, frame_read.rsv1);
    let header = built.len() - frame_read.payload.len();
    let mut out = built[..header].to_vec();
    out[1] |= 0x80;
    out.extend_from_slice(&KEY);
    let mut payload = frame_read.payload.clone();
    unmask(&mut payload, KEY);
    out.extend_from_slice(&payload);
    out
}

fuzz_target!(|input: &[u8]| {
    let [settings, first, second, data @ ..] = input else { return };
    let rsv1 = settings & 1 != 0;
    let limit = 1u64 << (7 + 2 * u32::from((settings >> 1) & 7));
    let whole = read(&[data], limit, rsv1);
    let bytes: Vec<&[u8]> = data.chunks(1).collect();
    assert_eq!(read(&bytes, limit, rsv1), whole, "byte by byte");
    let (a, b) = (usize::from(*first).min(data.len()), usize::from(*second).min(data.len()));
    let (low, high) = (a.min(b), a.max(b));
    assert_eq!(read(&[&data[..low], &data[low..high], &data[high..]], limit, rsv1), whole, "split");
    for frame_read in &whole.0 {
        let again = read(&[&masked(frame_read)], limit, rsv1);
        assert_eq!(again, (vec![frame_read.clone()], None), "round trip");
    }
    // The message layer takes any frames without panicking, and gives text only as UTF-8.
    let (out, _) = messages(&whole.0, limit);
    for message in out {
        if let Received::Text(text) = message {
            assert!(std::str::from_utf8(text.as_bytes()).is_ok());
        }
    }
});
