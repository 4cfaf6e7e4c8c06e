//! The whole parser against the shared case table, and the few checks no row can express.
//!
//! The table is tests/parser_cases.json: the rows of tests/parser_cases.py and
//! tests/attack_cases.py, written as data by tests/case_table.py (pytest fails when the file
//! is stale), so `cargo test` runs exactly the rows pytest runs on both Python backends. Each
//! row has its input, its limits, its expected events and the section of tests/RULES.md (the
//! wire rules, by RFC section) it checks. Every row is fed whole, one byte at a time, split in
//! two at every position (every 61st past 2 KiB) and, up to 160 bytes, in three pieces, and a
//! row that ends in an error is fed with a good request after it; fed one byte per feed, every
//! prefix must give what it gives fed whole, so an answer comes at the byte that decides it;
//! and a row that is one complete request gives nothing for any proper prefix. Where a row
//! pins an error's detail phrase, the fault must be the one with that `detail()`; where it
//! pins only the status, the fault of the whole input must have that status, and every other
//! feed the same fault.
//!
//! Below the table: feeding patterns a row cannot describe (body pieces that follow the
//! buffers, a head that trickles in for thousands of feeds, `holds_partial_request`),
//! mutated requests, and what error.rs and request_line.rs promise on their own.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use serde_json::Value;

use crate::error::ParseFault::{self, *};
use crate::field_names::FieldName;
use crate::limits::Limits;
use crate::parser::{Event, Parser};

/// An owned event, with header names lowercased as Python sees them.
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
    headers: Vec<(Vec<u8>, Vec<u8>)>,
    keep_alive: bool,
    body: Option<Vec<u8>>,
}

impl From<Event<'_>> for Ev {
    fn from(event: Event<'_>) -> Ev {
        match event {
            Event::Request { head, body } => {
                for (id, name, _) in head.iter() {
                    assert_eq!(id, FieldName::of(name), "name id of {name:?}");
                }
                Ev::Req(Req {
                    method: head.method.to_owned(),
                    target: head.target.to_owned(),
                    version: head.version,
                    headers: head.iter().map(|(_, n, v)| (n.to_ascii_lowercase(), v.to_vec())).collect(),
                    keep_alive: head.keep_alive,
                    body: body.map(<[u8]>::to_vec),
                })
            }
            Event::BodyChunk(data) => {
                assert!(!data.is_empty(), "empty body chunk");
                Ev::Chunk(data.to_vec())
            }
            Event::BodyEnd => Ev::End,
            Event::Error(e) => Ev::Err(e),
        }
    }
}

fn feed_pieces(limits: Limits, pieces: &[&[u8]]) -> Vec<Ev> {
    let mut parser = Parser::new(limits);
    let mut out = Vec::new();
    for piece in pieces {
        parser.feed(piece, &mut |e| out.push(Ev::from(e)));
    }
    // Nothing may follow an error.
    if let Some(i) = out.iter().position(|e| matches!(e, Ev::Err(_))) {
        assert_eq!(i, out.len() - 1, "events after an error: {out:?}");
        assert!(parser.is_stopped());
    }
    merge_chunks(out)
}

/// Adjacent body pieces joined: where a body is cut depends on the buffers.
fn merge_chunks(events: Vec<Ev>) -> Vec<Ev> {
    let mut out: Vec<Ev> = Vec::new();
    for e in events {
        match (out.last_mut(), e) {
            (Some(Ev::Chunk(prev)), Ev::Chunk(more)) => prev.extend(more),
            (_, e) => out.push(e),
        }
    }
    out
}

const VALID: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";

/// Feeds `input` whole, byte by byte, split at every position (every 61st past 2 KiB) and,
/// up to 160 bytes, in three pieces at every pair of positions; all must give `want`.
fn check_with(limits: Limits, name: &str, input: &[u8], want: &[Ev]) {
    let whole = feed_pieces(limits, &[input]);
    assert_eq!(whole, want, "{name}: whole {:?}", String::from_utf8_lossy(input));
    let bytes: Vec<&[u8]> = input.chunks(1).collect();
    assert_eq!(feed_pieces(limits, &bytes), want, "{name}: byte by byte");
    let step = if input.len() > 2048 { 61 } else { 1 };
    for i in (0..=input.len()).step_by(step) {
        let (a, b) = input.split_at(i);
        assert_eq!(feed_pieces(limits, &[a, b]), want, "{name}: split at {i}");
    }
    if input.len() <= 160 {
        for i in 0..=input.len() {
            for j in i..=input.len() {
                let pieces = [&input[..i], &input[i..j], &input[j..]];
                assert_eq!(feed_pieces(limits, &pieces), want, "{name}: split at {i}, {j}");
            }
        }
    }
    // Whatever follows an error is never read.
    if want.last().is_some_and(|e| matches!(e, Ev::Err(_))) {
        let mut more = input.to_vec();
        more.extend_from_slice(VALID);
        assert_eq!(feed_pieces(limits, &[&more]), want, "{name}: with trailing bytes");
        assert_eq!(feed_pieces(limits, &[input, VALID]), want, "{name}: with a later feed");
    }
}

/// Every proper prefix of a complete request gives no event and no error.
fn check_prefixes(limits: Limits, name: &str, input: &[u8]) {
    for i in 0..input.len() {
        let events = feed_pieces(limits, &[&input[..i]]);
        assert!(events.is_empty(), "{name}: prefix {:?} gave {events:?}", String::from_utf8_lossy(&input[..i]));
    }
}

/// Inputs up to this long are checked after every byte by `check_byte_timing`; longer ones
/// after every 61st byte, the last one, and each byte that gives an event and the one before.
const TIMING_EVERY_BYTE: usize = 8192;

/// Fed one byte per feed, `input` gives after each feed exactly the events its prefix up to
/// there gives fed whole: a fault or a limit is reported at the byte that makes it one.
fn check_byte_timing(limits: Limits, name: &str, input: &[u8]) {
    let stride = if input.len() > TIMING_EVERY_BYTE { 61 } else { 1 };
    let mut parser = Parser::new(limits);
    let mut out = Vec::new();
    let mut before: Vec<Ev> = Vec::new();
    for end in 1..=input.len() {
        parser.feed(&input[end - 1..end], &mut |e| out.push(Ev::from(e)));
        let now = merge_chunks(out.clone());
        let changed = now != before;
        if stride == 1 || end % stride == 0 || end == input.len() || changed {
            assert_eq!(now, feed_pieces(limits, &[&input[..end]]), "{name}: after byte {}", end - 1);
        }
        if stride > 1 && changed && end > 1 {
            assert_eq!(before, feed_pieces(limits, &[&input[..end - 1]]), "{name}: after byte {}", end - 2);
        }
        before = now;
    }
}

// ---------------------------------------------------------------------------------------------
// The shared case table (tests/parser_cases.json)

const TABLE: &str = include_str!("../tests/parser_cases.json");

/// An expected event of a row: an error may pin its status only.
#[derive(Clone, Debug)]
enum Want {
    Ev(Ev),
    Status(u16),
}

struct Row {
    id: String,
    rfc: String,
    limits: Limits,
    open_end: bool,
    raw: Vec<u8>,
    events: Vec<Want>,
}

impl Row {
    /// The events the row expects. An error that pins only its status is the fault the whole
    /// input gives, when that fault has the status (if not, the whole input fails the check).
    fn want(&self) -> Vec<Ev> {
        let whole = feed_pieces(self.limits, &[&self.raw]);
        self.events
            .iter()
            .enumerate()
            .map(|(i, want)| match want {
                Want::Ev(ev) => ev.clone(),
                Want::Status(status) => match whole.get(i) {
                    Some(Ev::Err(fault)) if fault.status() == *status => Ev::Err(*fault),
                    _ => Ev::Err(*ParseFault::ALL.iter().find(|f| f.status() == *status).expect("a status of a fault")),
                },
            })
            .collect()
    }

    /// One complete request with its whole body, and nothing after it: every proper prefix
    /// must give nothing. A keep-alive request that is the row's only event is one; a request
    /// that ends the connection ignores whatever follows it, so it is one only when the input
    /// without its last byte gives no request yet.
    fn is_one_complete_request(&self) -> bool {
        let [Want::Ev(Ev::Req(request))] = &self.events[..] else { return false };
        if self.open_end || request.body.is_none() {
            return false;
        }
        request.keep_alive || {
            let short = feed_pieces(self.limits, &[&self.raw[..self.raw.len() - 1]]);
            !short.iter().any(|e| matches!(e, Ev::Req(_)))
        }
    }

    fn name(&self) -> String {
        format!("{} ({})", self.id, self.rfc)
    }
}

/// Bytes as the table writes them: a string of U+0000..U+00FF, one character per byte, or a
/// list of such strings and [unit, count] runs.
fn bytes_of(value: &Value) -> Vec<u8> {
    fn latin1(s: &str) -> Vec<u8> {
        s.chars().map(|c| u8::try_from(u32::from(c)).expect("a character of U+0000..U+00FF")).collect()
    }
    match value {
        Value::String(s) => latin1(s),
        Value::Array(parts) => parts
            .iter()
            .flat_map(|part| match part {
                Value::String(s) => latin1(s),
                Value::Array(run) => {
                    let count = run[1].as_u64().expect("a run count");
                    latin1(run[0].as_str().expect("a run unit")).repeat(usize::try_from(count).expect("a count"))
                }
                other => panic!("not a part of bytes: {other}"),
            })
            .collect(),
        other => panic!("not bytes: {other}"),
    }
}

fn string_of(value: &Value) -> String {
    String::from_utf8(bytes_of(value)).expect("ASCII")
}

fn limits_of(defaults: Limits, value: &Value) -> Limits {
    let mut limits = defaults;
    for (name, n) in value.as_object().expect("limits") {
        let n = n.as_u64().expect("a limit");
        let size = || usize::try_from(n).expect("a size");
        match name.as_str() {
            "max_head_size" => limits.max_head_size = size(),
            "max_headers" => limits.max_headers = size(),
            "max_target_length" => limits.max_target_length = size(),
            "max_body_size" => limits.max_body_size = n,
            "inline_body_size" => limits.inline_body_size = n,
            other => panic!("{other} is no field of Limits"),
        }
    }
    limits
}

fn event_of(value: &Value) -> Want {
    if value == "end" {
        return Want::Ev(Ev::End);
    }
    if let Some(body) = value.get("body") {
        return Want::Ev(Ev::Chunk(bytes_of(body)));
    }
    if let Some(error) = value.get("error") {
        let status = u16::try_from(error[0].as_u64().expect("a status")).expect("a status");
        let Some(detail) = error[1].as_str() else { return Want::Status(status) };
        let fault = ParseFault::ALL.iter().find(|f| f.detail() == detail);
        let fault = *fault.unwrap_or_else(|| panic!("no fault says {detail:?}"));
        assert_eq!(fault.status(), status, "the status of {detail:?}");
        return Want::Ev(Ev::Err(fault));
    }
    let request = value["request"].as_array().expect("an event");
    Want::Ev(Ev::Req(Req {
        method: request[0].as_str().expect("a method").to_owned(),
        target: string_of(&request[1]),
        version: u8::try_from(request[2].as_u64().expect("a version")).expect("a version"),
        headers: request[3]
            .as_array()
            .expect("fields")
            .iter()
            .map(|field| (bytes_of(&field[0]), bytes_of(&field[1])))
            .collect(),
        keep_alive: request[4].as_bool().expect("keep_alive"),
        body: (!request[5].is_null()).then(|| bytes_of(&request[5])),
    }))
}

struct Table {
    defaults: Limits,
    rows: Vec<Row>,
}

fn table() -> &'static Table {
    static PARSED: OnceLock<Table> = OnceLock::new();
    PARSED.get_or_init(|| {
        let doc: Value = serde_json::from_str(TABLE).expect("tests/parser_cases.json is JSON");
        let zero =
            Limits { max_head_size: 0, max_headers: 0, max_target_length: 0, max_body_size: 0, inline_body_size: 0 };
        let defaults = limits_of(zero, &doc["defaults"]);
        let rows = doc["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .map(|row| Row {
                id: row["id"].as_str().expect("an id").to_owned(),
                rfc: row["rfc"].as_str().expect("a section").to_owned(),
                limits: limits_of(defaults, &row["limits"]),
                open_end: row["open_end"].as_bool().expect("open_end"),
                raw: bytes_of(&row["raw"]),
                events: row["events"].as_array().expect("events").iter().map(event_of).collect(),
            })
            .collect();
        Table { defaults, rows }
    })
}

fn row(id: &str) -> &'static Row {
    table().rows.iter().find(|row| row.id == id).unwrap_or_else(|| panic!("no row {id}"))
}

/// Runs `check` on every row that `select` picks, on as many threads as there are CPUs, and
/// fails with the ids of the rows it fails on (each failure's message is printed as it happens).
fn for_rows(select: impl Fn(&Row) -> bool, check: impl Fn(&Row) + Sync) {
    let rows: Vec<&Row> = table().rows.iter().filter(|row| select(row)).collect();
    let next = AtomicUsize::new(0);
    let failed = Mutex::new(Vec::new());
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                while let Some(row) = rows.get(next.fetch_add(1, Ordering::Relaxed)) {
                    if std::panic::catch_unwind(AssertUnwindSafe(|| check(row))).is_err() {
                        failed.lock().unwrap().push(row.name());
                    }
                }
            });
        }
    });
    let mut failed = failed.into_inner().unwrap();
    failed.sort();
    assert!(failed.is_empty(), "{} rows failed:\n{}", failed.len(), failed.join("\n"));
}

#[test]
fn table_rows_fed_whole_byte_by_byte_and_split() {
    for_rows(|_| true, |row| check_with(row.limits, &row.name(), &row.raw, &row.want()));
}

#[test]
fn table_rows_answer_at_the_byte_that_decides() {
    for_rows(|_| true, |row| check_byte_timing(row.limits, &row.name(), &row.raw));
}

#[test]
fn table_complete_requests_give_nothing_early() {
    for_rows(Row::is_one_complete_request, |row| check_prefixes(row.limits, &row.name(), &row.raw));
}

#[test]
fn table_is_whole() {
    let table = table();
    // The table's defaults are wirespeed.Config's: the Rust defaults must be the same.
    assert_eq!(table.defaults, Limits::default());
    assert!(table.rows.len() > 800, "{} rows", table.rows.len());
    let mut ids: Vec<&str> = table.rows.iter().map(|row| row.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), table.rows.len(), "row ids are unique");
    // Every fault is some row's expected answer, named by its detail phrase.
    for fault in ParseFault::ALL {
        let pinned =
            table.rows.iter().any(|row| row.events.iter().any(|e| matches!(e, Want::Ev(Ev::Err(f)) if *f == fault)));
        assert!(pinned, "no row expects {fault:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Feeding patterns no row describes

#[test]
fn streamed_body_pieces_follow_the_buffers() {
    // RFC 9112 §6.2: the head event comes as soon as the head is complete, before any body
    // byte, and each buffer's body bytes come as they are (the table merges them).
    let limits = Limits { inline_body_size: 4, ..Limits::default() };
    let head = Ev::Req(Req {
        method: "POST".into(),
        target: "/".into(),
        version: 1,
        headers: vec![(b"host".to_vec(), b"x".to_vec()), (b"content-length".to_vec(), b"5".to_vec())],
        keep_alive: true,
        body: None,
    });
    let get = Ev::Req(Req {
        method: "GET".into(),
        target: "/".into(),
        version: 1,
        headers: vec![(b"host".to_vec(), b"x".to_vec())],
        keep_alive: true,
        body: Some(Vec::new()),
    });
    let mut parser = Parser::new(limits);
    let mut out = Vec::new();
    parser.feed(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n", &mut |e| out.push(Ev::from(e)));
    assert_eq!(out, std::slice::from_ref(&head));
    parser.feed(b"ab", &mut |e| out.push(Ev::from(e)));
    parser.feed(b"cdeGET / HTTP/1.1\r\nHost: x\r\n\r\n", &mut |e| out.push(Ev::from(e)));
    assert_eq!(out, [head, Ev::Chunk(b"ab".to_vec()), Ev::Chunk(b"cde".to_vec()), Ev::End, get]);
}

#[test]
fn a_head_waiting_for_100_continue_is_not_held() {
    // RFC 9110 §10.1.1: the head of a request that expects 100 Continue is reported alone,
    // and nothing of it is left pending (the row expect-head-before-its-body has its events).
    let mut parser = Parser::new(Limits::default());
    let mut out = Vec::new();
    parser.feed(b"POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n\r\n", &mut |e| {
        out.push(Ev::from(e))
    });
    assert!(matches!(&out[..], [Ev::Req(r)] if r.body.is_none()), "{out:?}");
    assert!(!parser.holds_partial_request());
}

#[test]
fn trickled_chunk_extension_is_cut_off() {
    // An endless extension, one byte per buffer: refused at the byte that reaches the limit.
    let head = b"POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    let limits = Limits { max_head_size: 1000, ..Limits::default() };
    let mut parser = Parser::new(limits);
    let mut out = Vec::new();
    parser.feed(head, &mut |e| out.push(Ev::from(e)));
    parser.feed(b"1;a=\"", &mut |e| out.push(Ev::from(e)));
    let mut line = 5;
    while !parser.is_stopped() {
        parser.feed(b"x", &mut |e| out.push(Ev::from(e)));
        line += 1;
        assert!(line <= 1000, "not cut off at the limit");
    }
    assert_eq!(line, 1000);
    assert!(matches!(&out[..], [Ev::Req(_), Ev::Err(ChunkExtensionTooLong)]), "{out:?}");
}

#[test]
fn leading_empty_lines_are_not_kept() {
    // A flood of CRLFs is consumed as it comes; nothing is buffered for it.
    let mut parser = Parser::new(Limits::default());
    let mut out = Vec::new();
    for _ in 0..10_000 {
        parser.feed(b"\r\n\r\n\r", &mut |e| out.push(Ev::from(e)));
        parser.feed(b"\n", &mut |e| out.push(Ev::from(e)));
    }
    assert!(out.is_empty());
    parser.feed(VALID, &mut |e| out.push(Ev::from(e)));
    assert!(matches!(&out[..], [Ev::Req(r)] if r.target == "/" && r.keep_alive), "{out:?}");
}

/// Deterministic pseudo-random inputs: mutations of valid requests must never panic, and
/// give the same events however they are split.
#[test]
fn mutated_requests_are_split_invariant() {
    let seeds: &[&[u8]] = &[
        &row("ok-browser-request-rfc9112-3").raw,
        b"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.0\r\n\r\n",
        b"POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3;a=\"b\"\r\nabc\r\n0\r\nT: v\r\n\r\n",
        b"CONNECT a:1 HTTP/1.1\r\nHost: a\r\n\r\nOPTIONS * HTTP/1.1\r\nHost: b\r\n\r\n",
    ];
    let alphabet =
        b"\r\n\r\n \t:;=\"\\/*0aF\x00\x7f\x80GHT1.Host: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 2";
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let limits =
        Limits { max_head_size: 600, max_headers: 9, max_target_length: 70, max_body_size: 20, inline_body_size: 2 };
    // WIRESPEED_MUTATION_ROUNDS raises the count for a longer local run.
    let rounds = std::env::var("WIRESPEED_MUTATION_ROUNDS").ok().and_then(|n| n.parse().ok()).unwrap_or(3000);
    for round in 0..rounds {
        let mut input = if round % 5 == 4 {
            // Now and then a request line, then bytes from the alphabet only.
            let mut input = b"POST / HTTP/1.1\r\n".to_vec();
            input.extend((0..next() % 120).map(|_| alphabet[(next() as usize) % alphabet.len()]));
            input
        } else {
            seeds[round % seeds.len()].to_vec()
        };
        for _ in 0..(1 + next() % 3) {
            let at = (next() as usize) % input.len();
            let byte = alphabet[(next() as usize) % alphabet.len()];
            match next() % 3 {
                0 => input[at] = byte,
                1 => input.insert(at, byte),
                _ => {
                    input.remove(at);
                }
            }
        }
        let want = feed_pieces(limits, &[&input]);
        let at = (next() as usize) % (input.len() + 1);
        let (a, b) = input.split_at(at);
        assert_eq!(feed_pieces(limits, &[a, b]), want, "{:?} split at {at}", String::from_utf8_lossy(&input));
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        assert_eq!(feed_pieces(limits, &bytes), want, "{:?} byte by byte", String::from_utf8_lossy(&input));
    }
}

// ---------------------------------------------------------------------------------------------
// What error.rs and request_line.rs promise on their own

#[test]
fn statuses_and_details() {
    // Every status of the rules is produced by some error, and every detail is short text.
    let all = ParseFault::ALL;
    let mut statuses: Vec<u16> = all.iter().map(|e| e.status()).collect();
    statuses.sort_unstable();
    statuses.dedup();
    assert_eq!(statuses, [400, 413, 414, 417, 431, 501, 505]);
    for e in all {
        assert!(!e.detail().is_empty() && e.detail().len() < 60);
    }
    assert_eq!(ConflictingContentLength.detail(), "conflicting Content-Length");
    assert_eq!(InvalidHeaderValue.detail(), "invalid character in header value");
    assert_eq!(MissingHost.detail(), "missing Host header");
    assert_eq!(TargetTooLong.detail(), "request target too long");
    assert_eq!(ChunkExtensionTooLong.detail(), "chunk extension too long");
    assert_eq!(ChunkExtensionTooLong.status(), 400);
}

#[test]
fn the_rules_name_every_fault() {
    // tests/RULES.md lists every fault with its status and its detail phrase.
    let rules = include_str!("../tests/RULES.md");
    for fault in ParseFault::ALL {
        let entry = format!("| {} | `{}` |", fault.status(), fault.detail());
        assert!(rules.contains(&entry), "RULES.md has no line with {entry:?}");
    }
}

#[test]
fn host_values() {
    use crate::request_line::is_host_value;
    for good in
        [&b""[..], b"a", b"a:", b"a:80", b"example.com:8080", b"10.0.0.1", b"[::1]", b"[::1]:80", b"a%41!$&'()*+,;="]
    {
        assert!(is_host_value(good), "{:?}", String::from_utf8_lossy(good));
    }
    for bad in
        [&b"a b"[..], b"a,\tb", b"a/b", b"u@a", b"a:80x", b"a:1:2", b"[::1", b"[]", b"::1", b"caf\xc3\xa9", b"[::1]x"]
    {
        assert!(!is_host_value(bad), "{:?}", String::from_utf8_lossy(bad));
    }
}

/// With upgrades on, a request that asks for a WebSocket is the connection's last, reported
/// without a body, and the bytes after its head are handed over untouched, however they are
/// split; without upgrades (or with another protocol) it is an ordinary request.
#[test]
fn upgrade_hands_the_rest_over() {
    let handshake: &[u8] = b"GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
    let rest: &[u8] = b"\x81\x85abcdGET / HTTP/1.1\r\nHost: a\r\n\r\n";
    let input = [handshake, rest].concat();
    for cut in 0..=input.len() {
        let mut parser = Parser::new(Limits::default());
        parser.set_upgrades(true);
        let mut requests = Vec::new();
        for piece in [&input[..cut], &input[cut..]] {
            parser.feed(piece, &mut |event| {
                if let Event::Request { head, body } = event {
                    requests.push((head.target.to_owned(), head.keep_alive, body.is_none()));
                }
            });
        }
        assert_eq!(requests, vec![("/ws".to_owned(), false, true)], "cut at {cut}");
        assert_eq!(parser.take_upgraded().as_deref(), Some(rest), "cut at {cut}");
        assert_eq!(parser.take_upgraded(), None);
        assert!(parser.is_stopped());
    }
    for (upgrades, upgrade) in [(false, "websocket"), (true, "h2c"), (true, "websocket/13")] {
        let mut parser = Parser::new(Limits::default());
        parser.set_upgrades(upgrades);
        let input = format!("GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: {upgrade}\r\nConnection: Upgrade\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n");
        let mut targets = Vec::new();
        parser.feed(input.as_bytes(), &mut |event| {
            if let Event::Request { head, .. } = event {
                targets.push(head.target.to_owned());
            }
        });
        assert_eq!(targets, ["/ws", "/2"], "{upgrades} {upgrade}");
        assert_eq!(parser.take_upgraded(), None);
    }
}
