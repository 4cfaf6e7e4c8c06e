//! The incremental request parser: bytes in, events out, in plain Rust (no Python here).
//!
//! `Parser::feed` takes each received buffer once and reports every event it completes, in
//! order, to a callback. Events borrow the buffer: nothing is copied on the common path, where
//! a buffer holds whole requests. Only an unfinished head (or a head whose small body is still
//! arriving) is kept, in `pending`, and parsed again from there when more bytes come that could
//! change its verdict: `HeadProgress` (head_progress.rs) follows an unfinished head across
//! feeds and spares the parse when the new bytes cannot, so a head trickling in costs linear
//! time.
//!
//! States: `Head` (waiting for a request head) -> `Body` / `Chunked` (streaming a body) ->
//! `Head` again, or `Stopped` after an error or after a request that does not keep the
//! connection alive. `Stopped` ignores all input. With upgrades on (`set_upgrades`), a request
//! without a body that asks for a WebSocket leads to `Upgraded`: the request is reported as the
//! connection's last, without a body (`body: None`, and no `BodyChunk` follows), and every byte after its head is kept, not parsed, for the protocol it
//! asks for to take with `take_upgraded` (or to be dropped with the parser if it is declined).

use std::mem;

use crate::error::ParseFault;
use crate::framing::{ChunkedDecoder, Decoded, LengthDecoder};
use crate::head::{self, FieldSlots, Framing, Head};
use crate::head_progress::HeadProgress;
use crate::limits::Limits;

/// What a buffer completes. Borrows the buffer, so it lives only as long as the callback.
#[derive(Clone, Copy, Debug)]
pub enum Event<'a> {
    /// A request head. `body` is the whole body when there is none or it has a Content-Length
    /// no larger than `inline_body_size`; `None` when it follows as `BodyChunk`s, as it always
    /// does for a non-empty body the client holds back for `100 Continue` (the answer to the
    /// head decides whether it comes at all). A request that hands the connection over to a
    /// WebSocket (see `set_upgrades`) also has `None`, and nothing follows it.
    Request { head: Head<'a, 'a>, body: Option<&'a [u8]> },
    /// The next piece of the current body (never empty).
    BodyChunk(&'a [u8]),
    /// The current body is complete.
    BodyEnd,
    /// The input is malformed or over a limit; always the last event.
    Error(ParseFault),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Head,
    Body {
        decoder: LengthDecoder,
        keep_alive: bool,
    },
    Chunked {
        decoder: ChunkedDecoder,
        keep_alive: bool,
    },
    Stopped,
    /// After an upgrade request: input is kept in `pending`, unread.
    Upgraded,
}

/// A pending buffer larger than this is given back once it has been used up.
const KEEP_PENDING_CAPACITY: usize = 64 * 1024;

/// One connection's request parser.
#[derive(Debug)]
pub struct Parser {
    limits: Limits,
    state: State,
    /// Unused bytes of earlier buffers: an unfinished head, possibly with part of its body.
    pending: Vec<u8>,
    /// `pending` holds a complete head whose inline body needs this many bytes in all: no
    /// point parsing again before then.
    wait_for: usize,
    /// How far the unfinished head in `pending` has been followed.
    progress: HeadProgress,
    /// Requests reported so far, and how many the connection may carry (0: no limit).
    requests: u64,
    max_requests: u64,
    /// Whether a request that asks for a WebSocket hands the connection over (`Upgraded`).
    upgrades: bool,
}

impl Parser {
    pub fn new(limits: Limits) -> Self {
        Parser {
            limits,
            state: State::Head,
            pending: Vec::new(),
            wait_for: 0,
            progress: HeadProgress::new(),
            requests: 0,
            max_requests: 0,
            upgrades: false,
        }
    }

    /// At most `max_requests` requests on this connection (0: no limit): the last one is
    /// reported as not keep-alive, so the connection ends after its answer and nothing after
    /// it is parsed.
    pub fn set_max_requests(&mut self, max_requests: u64) {
        self.max_requests = max_requests;
    }

    /// Whether a request without a body whose Upgrade field names `websocket` hands the
    /// connection over: it is reported as not keep-alive, and the bytes after its head are
    /// kept for `take_upgraded`. Off, such a request is an ordinary one (RFC 9110 §7.8 lets a
    /// server ignore Upgrade).
    pub fn set_upgrades(&mut self, upgrades: bool) {
        self.upgrades = upgrades;
    }

    /// After an upgrade request: every byte that followed its head, taken once; the parser
    /// then ignores all input. None when the parser has not stopped at an upgrade request.
    pub fn take_upgraded(&mut self) -> Option<Vec<u8>> {
        if self.state != State::Upgraded {
            return None;
        }
        self.state = State::Stopped;
        Some(mem::take(&mut self.pending))
    }

    /// Requests reported so far.
    pub fn requests(&self) -> u64 {
        self.requests
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Whether the parser ignores all further input (after an error, or after a request that
    /// does not keep the connection alive).
    pub fn is_stopped(&self) -> bool {
        self.state == State::Stopped
    }

    /// Whether bytes of a request not yet reported are held: an unfinished head, or a head
    /// waiting for its inline body (the server's header timeout applies to those).
    pub fn holds_partial_request(&self) -> bool {
        self.state == State::Head && !self.pending.is_empty()
    }

    /// Parses `data`, the next bytes of the connection, and calls `sink` with every event it
    /// completes, in order.
    pub fn feed(&mut self, data: &[u8], sink: &mut impl FnMut(Event<'_>)) {
        if self.is_stopped() {
            return;
        }
        if self.pending.is_empty() && self.state != State::Upgraded {
            let used = self.run(data, sink);
            if !self.is_stopped() && used < data.len() {
                self.pending.extend_from_slice(&data[used..]);
            }
            return;
        }
        self.pending.extend_from_slice(data);
        if self.state == State::Upgraded {
            return;
        }
        if self.pending.len() < self.wait_for {
            return;
        }
        // `pending` only ever holds a head (the body decoders take all they are given): when it
        // is unfinished and the new bytes cannot change its verdict, parsing it again would only
        // find it unfinished again.
        if self.wait_for == 0 && self.progress.follow(&self.pending, &self.limits) {
            return;
        }
        let mut pending = mem::take(&mut self.pending);
        let used = self.run(&pending, sink);
        if self.is_stopped() {
            return; // `pending` is dropped: nothing after this point is ever read.
        }
        if self.state == State::Upgraded {
            pending.drain(..used);
            self.pending = pending;
            return;
        }
        if used > 0 {
            self.progress = HeadProgress::new(); // `pending` now starts at the next head
        }
        if used == pending.len() {
            pending.clear();
            if pending.capacity() > KEEP_PENDING_CAPACITY {
                pending = Vec::new();
            }
        } else {
            pending.drain(..used);
        }
        self.pending = pending;
    }

    /// Parses as much of `input` as possible; returns how many bytes it used. `pos` only moves
    /// over bytes seen in `input`, so it stays <= `input.len()` and slicing from it is in bounds.
    fn run(&mut self, input: &[u8], sink: &mut impl FnMut(Event<'_>)) -> usize {
        let mut slots = FieldSlots::new();

        let mut pos = 0;
        loop {
            match self.state {
                State::Stopped => return pos,
                State::Upgraded => return pos,
                State::Head => {
                    match head::skip_empty_lines(&input[pos..]) {
                        Ok(skipped) => pos += skipped,
                        Err(error) => return self.fail(error, pos, sink),
                    }
                    let rest = &input[pos..];
                    if rest.is_empty() || rest == b"\r" {
                        return pos;
                    }
                    let head = match head::parse(rest, &self.limits, &mut slots) {
                        Ok(Some(head)) => head,
                        Ok(None) => return pos,
                        Err(error) => return self.fail(error, pos, sink),
                    };
                    self.wait_for = 0;
                    let body_start = pos + head.len;
                    let mut head = head;
                    if self.max_requests != 0 && self.requests.saturating_add(1) >= self.max_requests {
                        head.keep_alive = false; // the connection's last request
                    }
                    let keep_alive = head.keep_alive;
                    // A client that expects 100 Continue waits for it before sending a body:
                    // the request is reported from its head, whatever the body's size.
                    let inline_limit = if head.expect_continue { 0 } else { self.limits.inline_body_size };
                    if self.upgrades
                        && head.upgrade_websocket
                        && matches!(head.framing, Framing::None | Framing::Length(0))
                    {
                        head.keep_alive = false;
                        self.requests += 1;
                        // Reported without a body (`None`), though no piece of one follows:
                        // the protocol looks for a hand-over only among such requests.
                        sink(Event::Request { head, body: None });
                        self.state = State::Upgraded;
                        return body_start;
                    }
                    match head.framing {
                        Framing::None => {
                            self.requests += 1;
                            sink(Event::Request { head, body: Some(b"") });
                            pos = body_start;
                            self.end_request(keep_alive);
                        }
                        Framing::Length(length) if length <= inline_limit => {
                            let body_end = usize::try_from(length).ok().and_then(|n| body_start.checked_add(n));
                            let Some(body) = body_end.and_then(|end| input.get(body_start..end)) else {
                                // Parse this head again once its body is all here.
                                self.wait_for = body_end.map_or(usize::MAX, |end| end - pos);
                                return pos;
                            };
                            self.requests += 1;
                            sink(Event::Request { head, body: Some(body) });
                            pos = body_start + body.len();
                            self.end_request(keep_alive);
                        }
                        Framing::Length(length) => {
                            self.requests += 1;
                            sink(Event::Request { head, body: None });
                            pos = body_start;
                            self.state = State::Body { decoder: LengthDecoder::new(length), keep_alive };
                        }
                        Framing::Chunked => {
                            self.requests += 1;
                            sink(Event::Request { head, body: None });
                            pos = body_start;
                            // The trailer section shares max_head_size with its head; each
                            // chunk-size line may take max_head_size bytes of its own.
                            let limits = &self.limits;
                            let budget = limits.max_head_size.saturating_sub(head.len);
                            let decoder = ChunkedDecoder::new(limits.max_body_size, budget, limits.max_head_size);
                            self.state = State::Chunked { decoder, keep_alive };
                        }
                    }
                }
                State::Body { ref mut decoder, keep_alive } => match decoder.decode(input, &mut pos) {
                    Decoded::Data(data) => sink(Event::BodyChunk(data)),
                    Decoded::End => {
                        sink(Event::BodyEnd);
                        self.end_request(keep_alive);
                    }
                    Decoded::NeedMore => return pos,
                },
                State::Chunked { ref mut decoder, keep_alive } => match decoder.decode(input, &mut pos) {
                    Ok(Decoded::Data(data)) => sink(Event::BodyChunk(data)),
                    Ok(Decoded::End) => {
                        sink(Event::BodyEnd);
                        self.end_request(keep_alive);
                    }
                    Ok(Decoded::NeedMore) => return pos,
                    Err(error) => return self.fail(error, pos, sink),
                },
            }
        }
    }

    fn end_request(&mut self, keep_alive: bool) {
        self.state = if keep_alive { State::Head } else { State::Stopped };
    }

    fn fail(&mut self, error: ParseFault, pos: usize, sink: &mut impl FnMut(Event<'_>)) -> usize {
        sink(Event::Error(error));
        self.state = State::Stopped;
        pos
    }
}
