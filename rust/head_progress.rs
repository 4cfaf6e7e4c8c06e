//! How far an unfinished head has come, so that a head trickling in is not parsed again with
//! every byte.
//!
//! Strategy: `head::parse` reads a head from its first byte, and the parser calls it again on
//! the whole pending head with every feed: for a head that arrives a byte at a time that is
//! quadratic work. `HeadProgress` follows the pending head instead, each byte once, across
//! feeds, and vouches for the bytes that cannot change the answer of `head::parse` on an
//! unfinished head (`Ok(None)`). A feed of only such bytes, with the head still within
//! max_head_size, skips `head::parse`; any other byte, or the limit passed, sends the whole
//! head to `head::parse` as before. So every verdict is that of `head::parse`, given at the
//! same byte; only the feeds that could not get one are spared. A head is followed from its
//! third piece on: one in two pieces (a long head in two segments, the common split) is parsed
//! twice as before, which costs less than following it (httparse is faster than the scanners).
//!
//! The bytes vouched for, and why `head::parse` answers `Ok(None)` after them when it did before:
//! - in the method, a tchar; in the target, a byte of 0x21..0x7E while the target is within
//!   max_target_length. The request line then has no LF yet, so httparse cannot complete the
//!   head, and `head::parse` answers what `request_line::scan` does: unfinished.
//! - in the field section, after a valid request line, bytes `FieldLines` takes without a fault
//!   and without ending the section. `head::parse` judges an unfinished field section with
//!   `FieldLines` too; httparse, which reads the same lines with the same byte classes and the
//!   same field count, neither completes nor refuses a section `FieldLines` finds unfinished.
//!
//! Never vouched for: the SP after the method and after the target, the version and the
//! line's CRLF (a few bytes per head), and everything after a CR in the method or the target
//! (a fault follows it whatever comes), after a fault or after the end of the head.

use crate::chars::{ascii_run, is_tchar};
use crate::fields::{FieldLines, Scanned};
use crate::limits::Limits;

/// The part of the head the next byte belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Part {
    /// Not followed yet: a head is followed from its third piece on.
    Unfollowed,
    Method,
    /// In the request-target, after this many of its bytes.
    Target(usize),
    /// The HTTP-version and the CRLF that ends the request line.
    Version,
    /// The field section, as far as `FieldLines` has scanned it.
    Fields(FieldLines),
    /// Nothing more is vouched for in this head.
    Judged,
}

/// What is known of the pending head from the bytes followed so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeadProgress {
    part: Part,
    /// How many bytes of the pending head have been followed.
    followed: usize,
}

impl Default for HeadProgress {
    fn default() -> Self {
        Self::new()
    }
}

impl HeadProgress {
    /// For a head not followed yet.
    pub const fn new() -> Self {
        HeadProgress { part: Part::Unfollowed, followed: 0 }
    }

    /// Follows `head`, the pending head (which starts where it did at the last call since `new`),
    /// from the first byte not yet followed to its end. Whether every one of those bytes is
    /// vouched for and `head` is within max_head_size: if `head::parse` answered `Ok(None)` on
    /// the head without them, it does with them. The first call follows nothing and answers no.
    pub fn follow(&mut self, head: &[u8], limits: &Limits) -> bool {
        if self.part == Part::Unfollowed {
            self.part = Part::Method;
            return false;
        }
        let new = head.get(self.followed..).unwrap_or_default();
        self.followed = head.len();
        let mut vouched = head.len() <= limits.max_head_size;
        let mut i = 0;
        while i < new.len() {
            let rest = &new[i..];
            match self.part {
                Part::Unfollowed | Part::Method => {
                    let run = rest.iter().position(|&b| !is_tchar(b)).unwrap_or(rest.len());
                    if let Some(&b) = rest.get(run) {
                        vouched = false;
                        self.part = if b == b' ' { Part::Target(0) } else { Part::Judged };
                    }
                    i += run + 1;
                }
                Part::Target(before) => {
                    let run = ascii_run(rest, 0x21);
                    let length = before + run;
                    vouched &= length <= limits.max_target_length;
                    self.part = Part::Target(length);
                    if let Some(&b) = rest.get(run) {
                        vouched = false;
                        self.part = if b == b' ' { Part::Version } else { Part::Judged };
                    }
                    i += run + 1;
                }
                Part::Version => {
                    vouched = false;
                    let Some(lf) = rest.iter().position(|&b| b == b'\n') else { break };
                    self.part = Part::Fields(FieldLines::new());
                    i += lf + 1;
                }
                Part::Fields(mut lines) => {
                    self.part = match lines.scan(rest, limits.max_headers) {
                        Ok(Scanned::NeedMore) => Part::Fields(lines),
                        Ok(Scanned::Done(_)) | Err(_) => {
                            vouched = false;
                            Part::Judged
                        }
                    };
                    break;
                }
                Part::Judged => {
                    vouched = false;
                    break;
                }
            }
        }
        vouched
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bytes of `head`, fed one at a time, that `follow` does not vouch for: where the
    /// parser parses the head again.
    fn unvouched(limits: &Limits, head: &[u8]) -> Vec<usize> {
        let mut progress = HeadProgress::new();
        assert!(!progress.follow(b"", limits), "the first call answers no");
        (1..=head.len()).filter(|&end| !progress.follow(&head[..end], limits)).map(|end| end - 1).collect()
    }

    #[test]
    fn a_trickled_head_is_parsed_again_only_at_a_few_bytes() {
        let limits = Limits { max_head_size: 64 * 1024, max_target_length: 64 * 1024, ..Limits::default() };
        // The two SPs of the request line, its version and CRLF, and the LF that ends the head.
        let head = b"GET /abc HTTP/1.1\r\nHost: x\r\nA: b, c\r\n\r\n";
        let want: Vec<usize> = [3, 8].into_iter().chain(9..19).chain([head.len() - 1]).collect();
        assert_eq!(unvouched(&limits, head), want);
        // As many however long the method, target, names and values are.
        let n = 5000;
        let long =
            format!("{} /{} HTTP/1.1\r\n{}: {}\r\n\r\n", "M".repeat(n), "t".repeat(n), "N".repeat(n), "v".repeat(n));
        assert_eq!(unvouched(&limits, long.as_bytes()).len(), want.len());
    }

    #[test]
    fn faults_and_limits_are_not_vouched_for() {
        let limits = Limits { max_head_size: 40, max_target_length: 8, max_headers: 1, ..Limits::default() };
        let cases: &[(&[u8], usize)] = &[
            (b"G(", 1),                                           // not a tchar
            (b"G\r", 1),                                          // CR in the method: a fault follows
            (b"GET /a\x7f", 6),                                   // not a target byte
            (b"GET /12345678", 12),                               // ninth target byte: over max_target_length
            (b"GET / HTTP/1.1\r\nA(", 17),                        // not a tchar in a name
            (b"GET / HTTP/1.1\r\nA: \x01", 19),                   // not a value byte
            (b"GET / HTTP/1.1\r\nA: b\r\nC: d\r\n", 27),          // the second field line: over max_headers
            (b"GET / HTTP/1.1\r\nA: 0123456789012345678901", 40), // byte 41: over max_head_size
        ];
        for &(head, at) in cases {
            let unvouched = unvouched(&limits, head);
            assert_eq!(unvouched.last(), Some(&at), "{:?}: {unvouched:?}", String::from_utf8_lossy(head));
        }
    }

    #[test]
    fn nothing_is_vouched_for_after_a_cr_in_the_request_line() {
        let limits = Limits::default();
        let mut progress = HeadProgress::new();
        assert!(!progress.follow(b"GET", &limits), "the first call answers no");
        assert!(progress.follow(b"GET", &limits));
        assert!(!progress.follow(b"GET /\r", &limits));
        assert!(!progress.follow(b"GET /\rx", &limits));
        // No new bytes (an empty feed) cannot change a verdict.
        assert!(progress.follow(b"GET /\rx", &limits));
    }
}
