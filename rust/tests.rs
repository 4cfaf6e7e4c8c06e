//! Table-driven tests of the whole parser against /tmp/spec/rules.md (the wire rules), with
//! the RFC section on every row. Every case is fed whole, one byte at a time, and split in two
//! at every position (three pieces for short ones), and must give the same events each time.

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

fn req(method: &str, target: &str, version: u8, headers: &[(&str, &str)], keep_alive: bool, body: Option<&[u8]>) -> Ev {
    Ev::Req(Req {
        method: method.into(),
        target: target.into(),
        version,
        headers: headers.iter().map(|(n, v)| (n.as_bytes().to_vec(), v.as_bytes().to_vec())).collect(),
        keep_alive,
        body: body.map(<[u8]>::to_vec),
    })
}

/// GET `target` HTTP/1.1 with Host: x, keep-alive, no body.
fn get(target: &str) -> Ev {
    req("GET", target, 1, &[("host", "x")], true, Some(b""))
}

fn chunk(data: &[u8]) -> Ev {
    Ev::Chunk(data.to_vec())
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

/// Feeds `input` whole, byte by byte and split at every position; all must give `want`.
fn check_with(limits: Limits, section: &str, input: &[u8], want: &[Ev]) {
    let whole = feed_pieces(limits, &[input]);
    assert_eq!(whole, want, "{section}: whole {:?}", String::from_utf8_lossy(input));
    let bytes: Vec<&[u8]> = input.chunks(1).collect();
    assert_eq!(feed_pieces(limits, &bytes), want, "{section}: byte by byte");
    let step = if input.len() > 2048 { 61 } else { 1 };
    for i in (0..=input.len()).step_by(step) {
        let (a, b) = input.split_at(i);
        assert_eq!(feed_pieces(limits, &[a, b]), want, "{section}: split at {i}");
    }
    if input.len() <= 160 {
        for i in 0..=input.len() {
            for j in i..=input.len() {
                let pieces = [&input[..i], &input[i..j], &input[j..]];
                assert_eq!(feed_pieces(limits, &pieces), want, "{section}: split at {i}, {j}");
            }
        }
    }
    // Whatever follows an error or a closing request is never read.
    if want.last().is_some_and(|e| matches!(e, Ev::Err(_))) {
        let mut more = input.to_vec();
        more.extend_from_slice(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(feed_pieces(limits, &[&more]), want, "{section}: with trailing bytes");
        assert_eq!(feed_pieces(limits, &[input, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"]), want);
    }
}

fn check(section: &str, input: &[u8], want: &[Ev]) {
    check_with(Limits::default(), section, input, want)
}

fn check_error(section: &str, input: &[u8], error: ParseFault) {
    check(section, input, &[Ev::Err(error)])
}

/// Every proper prefix of a complete request gives no event and no error.
fn check_prefixes(limits: Limits, input: &[u8]) {
    for i in 0..input.len() {
        let events = feed_pieces(limits, &[&input[..i]]);
        assert!(events.is_empty(), "prefix {:?} gave {events:?}", String::from_utf8_lossy(&input[..i]));
    }
}

// ---------------------------------------------------------------------------------------------
// Valid requests

#[test]
fn valid_requests() {
    let cases: &[(&str, &[u8], Ev)] = &[
        ("9112 §3", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", get("/")),
        ("9112 §3 query", b"GET /a?b=1&c=%20 HTTP/1.1\r\nHost: x\r\n\r\n", get("/a?b=1&c=%20")),
        ("9112 §2.2 leading CRLF", b"\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", get("/")),
        (
            "9110 §9.1 any token",
            b"M-SEARCH~! /x HTTP/1.1\r\nHost: x\r\n\r\n",
            req("M-SEARCH~!", "/x", 1, &[("host", "x")], true, Some(b"")),
        ),
        (
            "9110 §9.1 case-sensitive",
            b"get / HTTP/1.1\r\nHost: x\r\n\r\n",
            req("get", "/", 1, &[("host", "x")], true, Some(b"")),
        ),
        ("9112 §2.3 HTTP/1.0", b"GET / HTTP/1.0\r\n\r\n", req("GET", "/", 0, &[], false, Some(b""))),
        (
            "9112 §3.2.2 absolute-form",
            b"GET http://example.com:8080/a?b HTTP/1.1\r\nHost: x\r\n\r\n",
            get("http://example.com:8080/a?b"),
        ),
        ("9112 §3.2.2 scheme chars", b"GET svn+ssh.v-2://h/ HTTP/1.1\r\nHost: x\r\n\r\n", get("svn+ssh.v-2://h/")),
        (
            "9112 §3.2.4 asterisk-form",
            b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
            req("OPTIONS", "*", 1, &[("host", "x")], true, Some(b"")),
        ),
        (
            "9112 §3.2.3 authority-form",
            b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
            req("CONNECT", "example.com:443", 1, &[("host", "example.com:443")], true, Some(b"")),
        ),
        (
            "9112 §3.2.3 IP literal",
            b"CONNECT [::1]:8443 HTTP/1.1\r\nHost: x\r\n\r\n",
            req("CONNECT", "[::1]:8443", 1, &[("host", "x")], true, Some(b"")),
        ),
        (
            "9112 §3.2 visible ASCII",
            b"GET /!\"#$%&'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~ HTTP/1.1\r\nHost: x\r\n\r\n",
            get("/!\"#$%&'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~"),
        ),
        (
            "9112 §5 names lowercased, order and duplicates kept",
            b"GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\nACCEPT: */*\r\nx-a: 2\r\nSet-Thing: 3\r\n\r\n",
            req(
                "GET",
                "/",
                1,
                &[("host", "x"), ("x-a", "1"), ("accept", "*/*"), ("x-a", "2"), ("set-thing", "3")],
                true,
                Some(b""),
            ),
        ),
        (
            "9110 §5.5 values trimmed",
            b"GET / HTTP/1.1\r\nHost:x\r\nA: \t a \t b \t\r\nB:\r\nC:   \r\n\r\n",
            req("GET", "/", 1, &[("host", "x"), ("a", "a \t b"), ("b", ""), ("c", "")], true, Some(b"")),
        ),
        (
            "9110 §5.5 obs-text",
            b"GET / HTTP/1.1\r\nHost: x\r\nA: caf\xc3\xa9 \x80\xff\r\n\r\n",
            Ev::Req(Req {
                method: "GET".into(),
                target: "/".into(),
                version: 1,
                headers: vec![(b"host".to_vec(), b"x".to_vec()), (b"a".to_vec(), b"caf\xc3\xa9 \x80\xff".to_vec())],
                keep_alive: true,
                body: Some(Vec::new()),
            }),
        ),
        (
            "9112 §5 token name chars",
            b"GET / HTTP/1.1\r\nHost: x\r\n!#$%&'*+-.^_`|~09Az: v\r\n\r\n",
            req("GET", "/", 1, &[("host", "x"), ("!#$%&'*+-.^_`|~09az", "v")], true, Some(b"")),
        ),
        (
            "9112 §3.2 HTTP/1.0 needs no Host",
            b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
            req("GET", "/", 0, &[("connection", "keep-alive")], true, Some(b"")),
        ),
        (
            "9112 §6.2 Content-Length inline",
            b"POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
            req("POST", "/p", 1, &[("host", "x"), ("content-length", "5")], true, Some(b"hello")),
        ),
        (
            "9112 §6.2 Content-Length 0",
            b"POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
            req("POST", "/p", 1, &[("host", "x"), ("content-length", "0")], true, Some(b"")),
        ),
        (
            "9112 §6.2 leading zeros",
            b"POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 0002\r\n\r\nhi",
            req("POST", "/p", 1, &[("host", "x"), ("content-length", "0002")], true, Some(b"hi")),
        ),
    ];
    for (section, input, want) in cases {
        check(section, input, std::slice::from_ref(want));
        check_prefixes(Limits::default(), input);
    }
}

// ---------------------------------------------------------------------------------------------
// Request line (RFC 9112 §3)

#[test]
fn request_line_errors() {
    let cases: &[(&str, &[u8], ParseFault)] = &[
        ("9110 §9.1 method not a token", b"GE(T / HTTP/1.1\r\nHost: x\r\n\r\n", InvalidMethod),
        ("9110 §9.1 method non-ASCII", b"G\xc3\x89T / HTTP/1.1\r\nHost: x\r\n\r\n", InvalidMethod),
        ("9110 §9.1 method NUL", b"G\0T / HTTP/1.1\r\nHost: x\r\n\r\n", InvalidMethod),
        ("9112 §3 HTAB separator", b"GET\t/ HTTP/1.1\r\nHost: x\r\n\r\n", InvalidMethod),
        ("9112 §3 leading SP", b" GET / HTTP/1.1\r\nHost: x\r\n\r\n", InvalidRequestLine),
        ("9112 §3 two SP after method", b"GET  / HTTP/1.1\r\nHost: x\r\n\r\n", InvalidRequestLine),
        ("9112 §3 two SP after target", b"GET /  HTTP/1.1\r\nHost: x\r\n\r\n", InvalidVersion),
        ("9112 §3 SP after version", b"GET / HTTP/1.1 \r\nHost: x\r\n\r\n", InvalidVersion),
        ("9112 §3 no target", b"GET\r\nHost: x\r\n\r\n", InvalidRequestLine),
        ("9112 §3 empty target", b"GET \r\nHost: x\r\n\r\n", InvalidRequestLine),
        ("9112 §3 empty version", b"GET / \r\nHost: x\r\n\r\n", InvalidVersion),
        ("9112 §3.2 target control", b"GET /a\x01b HTTP/1.1\r\nHost: x\r\n\r\n", InvalidTarget),
        ("9112 §3.2 target NUL", b"GET /a\0b HTTP/1.1\r\nHost: x\r\n\r\n", InvalidTarget),
        ("9112 §3.2 target DEL", b"GET /a\x7fb HTTP/1.1\r\nHost: x\r\n\r\n", InvalidTarget),
        ("9112 §3.2 target HTAB", b"GET /a\tb HTTP/1.1\r\nHost: x\r\n\r\n", InvalidTarget),
        ("9112 §3.2 target UTF-8", b"GET /caf\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n", InvalidTarget),
        ("9112 §3.2 target not UTF-8", b"GET /\xff HTTP/1.1\r\nHost: x\r\n\r\n", InvalidTarget),
        ("9112 §3.2 target relative", b"GET a/b HTTP/1.1\r\nHost: x\r\n\r\n", InvalidTargetForm),
        ("9112 §3.2 target query only", b"GET ?a HTTP/1.1\r\nHost: x\r\n\r\n", InvalidTargetForm),
        ("9112 §3.2.2 scheme starts with digit", b"GET 1http://x/ HTTP/1.1\r\nHost: x\r\n\r\n", InvalidTargetForm),
        ("9112 §3.2.2 scheme without //", b"GET http:x HTTP/1.1\r\nHost: x\r\n\r\n", InvalidTargetForm),
        ("9110 §4.2.1 absolute-form empty host", b"GET http:///x HTTP/1.1\r\nHost: x\r\n\r\n", InvalidTargetForm),
        ("9110 §4.2.1 absolute-form port only", b"GET http://:80/x HTTP/1.1\r\nHost: x\r\n\r\n", InvalidTargetForm),
        ("9110 §4.2.4 absolute-form userinfo", b"GET http://u@x/ HTTP/1.1\r\nHost: x\r\n\r\n", InvalidTargetForm),
        ("9112 §3.2.2 absolute-form bad port", b"GET http://x:8a/ HTTP/1.1\r\nHost: x\r\n\r\n", InvalidTargetForm),
        ("9112 §3.2.2 absolute-form bad host", b"GET http://x^y/ HTTP/1.1\r\nHost: x\r\n\r\n", InvalidTargetForm),
        (
            "9112 §3.2.3 authority-form without CONNECT",
            b"GET example.com:80 HTTP/1.1\r\nHost: x\r\n\r\n",
            InvalidTargetForm,
        ),
        ("9112 §3.2.3 CONNECT origin-form", b"CONNECT / HTTP/1.1\r\nHost: x\r\n\r\n", ConnectNeedsAuthority),
        (
            "9112 §3.2.3 CONNECT absolute-form",
            b"CONNECT http://x:1/ HTTP/1.1\r\nHost: x\r\n\r\n",
            ConnectNeedsAuthority,
        ),
        ("9112 §3.2.3 CONNECT no port", b"CONNECT example.com HTTP/1.1\r\nHost: x\r\n\r\n", ConnectNeedsAuthority),
        ("9112 §3.2.3 CONNECT bad port", b"CONNECT example.com:4a HTTP/1.1\r\nHost: x\r\n\r\n", ConnectNeedsAuthority),
        ("9112 §3.2.3 CONNECT userinfo", b"CONNECT u@example.com:1 HTTP/1.1\r\nHost: x\r\n\r\n", ConnectNeedsAuthority),
        ("9112 §3.2.3 CONNECT *", b"CONNECT * HTTP/1.1\r\nHost: x\r\n\r\n", ConnectNeedsAuthority),
        ("9112 §3.2.4 asterisk with GET", b"GET * HTTP/1.1\r\nHost: x\r\n\r\n", AsteriskFormNotOptions),
        ("9112 §3.2.4 asterisk prefix", b"OPTIONS *x HTTP/1.1\r\nHost: x\r\n\r\n", InvalidTargetForm),
        ("9112 §2.3 HTTP/2.0", b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", UnsupportedVersion),
        ("9112 §2.3 HTTP/1.2", b"GET / HTTP/1.2\r\nHost: x\r\n\r\n", UnsupportedVersion),
        ("9112 §2.3 HTTP/0.9", b"GET / HTTP/0.9\r\nHost: x\r\n\r\n", UnsupportedVersion),
        ("9112 §2.3 HTTP/3.7", b"GET / HTTP/3.7\r\n\r\n", UnsupportedVersion),
        ("9112 §2.3 no version (HTTP/0.9 style)", b"GET /\r\n", UnsupportedVersion),
        ("9112 §2.3 no version, more lines", b"GET /index.html\r\nHost: x\r\n\r\n", UnsupportedVersion),
        ("9112 §2.3 lowercase", b"GET / http/1.1\r\nHost: x\r\n\r\n", InvalidVersion),
        ("9112 §2.3 two digits", b"GET / HTTP/11.1\r\nHost: x\r\n\r\n", InvalidVersion),
        ("9112 §2.3 short", b"GET / HTTP/1\r\nHost: x\r\n\r\n", InvalidVersion),
        ("9112 §2.3 long", b"GET / HTTP/1.10\r\nHost: x\r\n\r\n", InvalidVersion),
        ("9112 §2.3 garbage", b"GET / XYZ\r\nHost: x\r\n\r\n", InvalidVersion),
        ("9112 §2.3 extra word", b"GET / HTTP/1.1 x\r\nHost: x\r\n\r\n", InvalidVersion),
    ];
    for (section, input, error) in cases {
        check_error(section, input, *error);
    }
}

#[test]
fn target_length_414() {
    // RFC 9112 §3: 414 for a target over max_target_length (8192), even before the line ends.
    let max = Limits::default().max_target_length;
    let fits = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(max - 1));
    check("9112 §3 target at the limit", fits.as_bytes(), &[get(&format!("/{}", "a".repeat(max - 1)))]);
    let long = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(max));
    check_error("9112 §3 target over the limit", long.as_bytes(), TargetTooLong);
    let unfinished = format!("GET /{}", "a".repeat(max));
    check_error("9112 §3 unfinished target over the limit", unfinished.as_bytes(), TargetTooLong);
    let unfinished_at_limit = format!("GET /{}", "a".repeat(max - 1));
    check("9112 §3 unfinished target at the limit", unfinished_at_limit.as_bytes(), &[]);
    // 414 is checked before 431: a head that is too large with a target that is too long.
    let limits = Limits { max_target_length: 10, max_head_size: 40, ..Limits::default() };
    let both = format!("GET /{} HTTP/1.1\r\nHost: x\r\nA: {}\r\n\r\n", "b".repeat(10), "c".repeat(40));
    check_with(limits, "414 before 431", both.as_bytes(), &[Ev::Err(TargetTooLong)]);
    check_with(limits, "414 before 431, unfinished", &both.as_bytes()[..30], &[Ev::Err(TargetTooLong)]);
    // A bad byte before the limit is a 400, after it the 414 wins.
    check_with(limits, "400 before the limit", b"GET /aaa\x01aaaaaaaaaaaaa HTTP/1.1\r\n", &[Ev::Err(InvalidTarget)]);
    check_with(limits, "414 after the limit", b"GET /aaaaaaaaaaaaaa\x01a HTTP/1.1\r\n", &[Ev::Err(TargetTooLong)]);
    check_with(limits, "absolute-form over the limit", b"GET http://a.b/c HTTP/1.1\r\n", &[Ev::Err(TargetTooLong)]);
}

// ---------------------------------------------------------------------------------------------
// Line endings (RFC 9112 §2.2)

#[test]
fn line_endings() {
    let cases: &[(&str, &[u8], ParseFault)] = &[
        ("9112 §2.2 bare LF after request line", b"GET / HTTP/1.1\nHost: x\r\n\r\n", BareLf),
        ("9112 §2.2 bare LF after field", b"GET / HTTP/1.1\r\nHost: x\nA: b\r\n\r\n", BareLf),
        ("9112 §2.2 bare LF after last field", b"GET / HTTP/1.1\r\nHost: x\n\r\n", BareLf),
        ("9112 §2.2 bare LF blank line", b"GET / HTTP/1.1\r\nHost: x\r\n\n", BareLf),
        ("9112 §2.2 bare LF blank line, HTTP/1.0", b"GET / HTTP/1.0\r\n\n", BareLf),
        ("9112 §2.2 only bare LFs", b"GET / HTTP/1.1\nHost: x\n\n", BareLf),
        ("9112 §2.2 bare LF, no headers", b"GET / HTTP/1.0\n\r\n", BareLf),
        ("9112 §2.2 leading bare LF", b"\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", BareLf),
        ("9112 §2.2 leading CR LF LF", b"\r\n\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", BareLf),
        ("9112 §2.2 bare LF in method", b"GET\n/ HTTP/1.1\r\nHost: x\r\n\r\n", BareLf),
        ("9112 §2.2 bare LF after target", b"GET /\nHost: x\r\n\r\n", BareLf),
        ("9112 §2.2 bare LF before a bad target form", b"GET x HTTP/1.1\nHost: x\r\n\r\n", BareLf),
        ("9112 §2.2 bare LF then bad value", b"GET / HTTP/1.1\r\nHost: x\nA: \x01\r\n\r\n", BareLf),
        // A bare LF is a 400 as soon as it has arrived, not once a later line end does.
        ("9112 §2.2 bare LF ends a field, next line unfinished", b"GET / HTTP/1.1\r\nHost: x\r\nX:\nY", BareLf),
        ("9112 §2.2 bare LF after Host, next line unfinished", b"GET / HTTP/1.1\r\nHost: x\nA", BareLf),
        ("9112 §2.2 bare LF is the last byte", b"GET / HTTP/1.1\r\nHost: x\r\nX: b\n", BareLf),
        ("9112 §2.2 bare LF after a name", b"GET / HTTP/1.1\r\nHost: x\r\nX\n", BareLf),
        ("9112 §2.2 bare CR in request line", b"GET / HTTP/1.1\rHost: x\r\n\r\n", BareCr),
        ("9112 §2.2 bare CR after method", b"GET\r/ HTTP/1.1\r\nHost: x\r\n\r\n", BareCr),
        ("9112 §2.2 bare CR after target", b"GET /\rx HTTP/1.1\r\nHost: x\r\n\r\n", BareCr),
        ("9112 §2.2 bare CR in value", b"GET / HTTP/1.1\r\nHost: x\ry\r\n\r\n", BareCr),
        ("9112 §2.2 bare CR at line start", b"GET / HTTP/1.1\r\nHost: x\r\n\rA: b\r\n\r\n", BareCr),
        ("9112 §2.2 leading bare CR", b"\rGET / HTTP/1.1\r\nHost: x\r\n\r\n", BareCr),
        ("9112 §2.2 CR CR LF", b"GET / HTTP/1.1\r\nHost: x\r\r\n\r\n", BareCr),
    ];
    for (section, input, error) in cases {
        check_error(section, input, *error);
    }
}

// ---------------------------------------------------------------------------------------------
// Header fields (RFC 9112 §5, RFC 9110 §5.5)

#[test]
fn field_errors() {
    let cases: &[(&str, &[u8], ParseFault)] = &[
        ("9112 §5.2 obs-fold", b"GET / HTTP/1.1\r\nHost: x\r\nA: b\r\n  c\r\n\r\n", ObsFold),
        ("9112 §5.2 obs-fold HTAB", b"GET / HTTP/1.1\r\nHost: x\r\nA: b\r\n\tc\r\n\r\n", ObsFold),
        ("9112 §5.2 whitespace before first field", b"GET / HTTP/1.1\r\n Host: x\r\n\r\n", ObsFold),
        ("9112 §5.1 SP before colon", b"GET / HTTP/1.1\r\nHost : x\r\n\r\n", WhitespaceBeforeColon),
        ("9112 §5.1 HTAB before colon", b"GET / HTTP/1.1\r\nHost\t: x\r\n\r\n", WhitespaceBeforeColon),
        ("9110 §5.1 empty name", b"GET / HTTP/1.1\r\nHost: x\r\n: v\r\n\r\n", InvalidHeaderName),
        ("9110 §5.1 no colon", b"GET / HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n", InvalidHeaderName),
        ("9110 §5.1 name not a token", b"GET / HTTP/1.1\r\nHost: x\r\nA(b): v\r\n\r\n", InvalidHeaderName),
        ("9110 §5.1 name non-ASCII", b"GET / HTTP/1.1\r\nHost: x\r\nN\xc3\xa4me: v\r\n\r\n", InvalidHeaderName),
        ("9110 §5.1 name NUL", b"GET / HTTP/1.1\r\nHost: x\r\nA\0: v\r\n\r\n", InvalidHeaderName),
        ("9110 §5.5 value NUL", b"GET / HTTP/1.1\r\nHost: x\r\nA: b\0c\r\n\r\n", InvalidHeaderValue),
        ("9110 §5.5 value control", b"GET / HTTP/1.1\r\nHost: x\r\nA: b\x01c\r\n\r\n", InvalidHeaderValue),
        ("9110 §5.5 value 0x1f", b"GET / HTTP/1.1\r\nHost: x\r\nA: b\x1f\r\n\r\n", InvalidHeaderValue),
        ("9110 §5.5 value DEL", b"GET / HTTP/1.1\r\nHost: x\r\nA: b\x7fc\r\n\r\n", InvalidHeaderValue),
        ("9110 §5.5 value VT", b"GET / HTTP/1.1\r\nHost: \x0bx\r\n\r\n", InvalidHeaderValue),
        (
            "9110 §5.5 value long then ctl",
            b"GET / HTTP/1.1\r\nHost: x\r\nA: 0123456789012345678901234567890123456789\x08\r\n\r\n",
            InvalidHeaderValue,
        ),
        ("9112 §3.2 missing Host", b"GET / HTTP/1.1\r\nA: b\r\n\r\n", MissingHost),
        ("9112 §3.2 missing Host, no fields", b"GET / HTTP/1.1\r\n\r\n", MissingHost),
        ("9112 §3.2 two Host", b"GET / HTTP/1.1\r\nHost: x\r\nHOST: x\r\n\r\n", DuplicateHost),
        ("9112 §3.2 two Host, HTTP/1.0", b"GET / HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n", DuplicateHost),
    ];
    for (section, input, error) in cases {
        check_error(section, input, *error);
    }
}

fn head_with_fields(n: usize) -> Vec<u8> {
    let mut head = b"GET / HTTP/1.1\r\nHost: x\r\n".to_vec();
    for i in 1..n {
        head.extend_from_slice(format!("X-{i}: {i}\r\n").as_bytes());
    }
    head.extend_from_slice(b"\r\n");
    head
}

#[test]
fn field_count_431() {
    // 100 fields by default; one more -> 431.
    let limits = Limits::default();
    let ok = head_with_fields(100);
    let events = feed_pieces(limits, &[&ok]);
    assert!(matches!(&events[..], [Ev::Req(r)] if r.headers.len() == 100), "{events:?}");
    check("too many fields", &head_with_fields(101), &[Ev::Err(TooManyHeaders)]);
    // A small limit, and one over the stack array size (heap path).
    let three = Limits { max_headers: 3, ..limits };
    check_with(three, "3 fields", &head_with_fields(3), &feed_pieces(three, &[&head_with_fields(3)]));
    check_with(three, "4 fields", &head_with_fields(4), &[Ev::Err(TooManyHeaders)]);
    let many = Limits { max_headers: 300, max_head_size: 64 * 1024, ..limits };
    let events = feed_pieces(many, &[&head_with_fields(300)]);
    assert!(matches!(&events[..], [Ev::Req(r)] if r.headers.len() == 300));
    assert_eq!(feed_pieces(many, &[&head_with_fields(301)]), [Ev::Err(TooManyHeaders)]);
}

#[test]
fn head_size_431() {
    // RFC 9110 §15.5.20 (431): the head from the request line through the blank line.
    let head = b"GET / HTTP/1.1\r\nHost: x\r\nA: 0123456789\r\n\r\n";
    let exact = Limits { max_head_size: head.len(), ..Limits::default() };
    let want = [req("GET", "/", 1, &[("host", "x"), ("a", "0123456789")], true, Some(b""))];
    check_with(exact, "head at the limit", head, &want);
    // Leading empty lines do not count.
    let mut leading = b"\r\n\r\n".to_vec();
    leading.extend_from_slice(head);
    check_with(exact, "leading CRLF not counted", &leading, &want);
    let under = Limits { max_head_size: head.len() - 1, ..Limits::default() };
    check_with(under, "head over the limit", head, &[Ev::Err(HeadTooLarge)]);
    check_with(under, "unfinished head at the limit", &head[..head.len() - 1], &[]);
    // Unfinished but already over the limit.
    let less = Limits { max_head_size: head.len() - 2, ..Limits::default() };
    check_with(less, "unfinished head over the limit", &head[..head.len() - 1], &[Ev::Err(HeadTooLarge)]);
    // Bytes past the limit are never looked at: a bad byte there is still a 431.
    let mut bad = head[..head.len() - 1].to_vec();
    bad.extend_from_slice(b"\x01\r\n\r\n");
    check_with(under, "bad byte past the limit", &bad, &[Ev::Err(HeadTooLarge)]);
    // RFC 9112 §2.2 before §5: the first fault in byte order wins. The bare LF is byte 46 of
    // the head: within a limit of 48 or 46 it is the answer, past a limit of 45 the 431 is.
    let bare_lf = b"POST /up HTTP/1.1\r\nHost: a\r\nContent.L0ength: \nhello";
    for (max_head_size, error) in [(48, BareLf), (46, BareLf), (45, HeadTooLarge)] {
        let limits = Limits { max_head_size, ..Limits::default() };
        check_with(limits, &format!("bare LF, limit {max_head_size}"), bare_lf, &[Ev::Err(error)]);
    }
    // The default limit.
    let big = format!("GET / HTTP/1.1\r\nHost: x\r\nA: {}\r\n\r\n", "v".repeat(16 * 1024));
    check("16 KiB default", big.as_bytes(), &[Ev::Err(HeadTooLarge)]);
}

// ---------------------------------------------------------------------------------------------
// Heads trickling in (parser.rs, head_progress.rs): feeds that cannot change an unfinished head's
// verdict skip parsing it again, and every verdict still comes at the byte that decides it.

/// Fed one byte per feed, `input` gives after each feed exactly the events its prefix up to
/// there gives fed whole: a fault or a limit is reported at the byte that makes it one.
fn check_byte_timing(limits: Limits, section: &str, input: &[u8]) {
    let mut parser = Parser::new(limits);
    let mut out = Vec::new();
    for end in 1..=input.len() {
        parser.feed(&input[end - 1..end], &mut |e| out.push(Ev::from(e)));
        let whole = feed_pieces(limits, &[&input[..end]]);
        assert_eq!(merge_chunks(out.clone()), whole, "{section}: after byte {}", end - 1);
    }
}

/// `prefix`, then `run` repeated `times`, then `tail`.
fn long(prefix: &str, run: &str, times: usize, tail: &[u8]) -> Vec<u8> {
    [prefix.as_bytes(), run.repeat(times).as_bytes(), tail].concat()
}

#[test]
fn trickled_heads() {
    const FIELDS: &str = "GET / HTTP/1.1\r\nHost: x\r\n";
    let limits = Limits::default();
    let n = 1500;
    let value_start = format!("{FIELDS}A: ");
    // (RFC section, input, events): a long run of bytes that cannot be a fault where they are,
    // then the byte that decides.
    let rows: Vec<(&str, Vec<u8>, Vec<Ev>)> = vec![
        ("9110 §9.1 method, then not a token", long("", "M", n, b"(/ HTTP/1.1\r\n"), vec![Ev::Err(InvalidMethod)]),
        ("9110 §9.1 method, then DEL", long("", "M", n, b"\x7f"), vec![Ev::Err(InvalidMethod)]),
        ("9112 §3 method, then CRLF", long("", "M", n, b"\r\n"), vec![Ev::Err(InvalidRequestLine)]),
        ("9112 §2.2 method, then bare CR", long("", "M", n, b"\rx"), vec![Ev::Err(BareCr)]),
        ("9112 §2.2 method, then bare LF", long("", "M", n, b"\n"), vec![Ev::Err(BareLf)]),
        ("9112 §3 method, then two SP", long("", "M", n, b"  "), vec![Ev::Err(InvalidRequestLine)]),
        ("9112 §3.2 target, then control", long("GET /", "a", n, b"\x01"), vec![Ev::Err(InvalidTarget)]),
        ("9112 §3.2 target, then non-ASCII", long("GET /", "a", n, b"\xc3\xa9"), vec![Ev::Err(InvalidTarget)]),
        ("9112 §3.2 target, then HTAB", long("GET /", "a", n, b"\t"), vec![Ev::Err(InvalidTarget)]),
        ("9112 §2.3 target, then CRLF", long("GET /", "a", n, b"\r\n"), vec![Ev::Err(UnsupportedVersion)]),
        ("9112 §2.2 target, then bare CR", long("GET /", "a", n, b"\rx"), vec![Ev::Err(BareCr)]),
        ("9112 §2.2 target, then bare LF", long("GET /", "a", n, b"\n"), vec![Ev::Err(BareLf)]),
        ("9112 §2.3 target, then bad version", long("GET /", "a", n, b" HTTP/1.1x"), vec![Ev::Err(InvalidVersion)]),
        ("9112 §3.2 target, then bad form", long("GET ", "a", n, b" HTTP/1.1\r\n"), vec![Ev::Err(InvalidTargetForm)]),
        ("9110 §5.1 name, then not a token", long(FIELDS, "N", n, b"(: v"), vec![Ev::Err(InvalidHeaderName)]),
        ("9112 §5.1 name, then SP", long(FIELDS, "N", n, b" : v"), vec![Ev::Err(WhitespaceBeforeColon)]),
        ("9112 §5.1 name, then HTAB", long(FIELDS, "N", n, b"\t: v"), vec![Ev::Err(WhitespaceBeforeColon)]),
        ("9110 §5.1 name, then CRLF", long(FIELDS, "N", n, b"\r\n"), vec![Ev::Err(InvalidHeaderName)]),
        ("9112 §2.2 name, then bare LF", long(FIELDS, "N", n, b"\n"), vec![Ev::Err(BareLf)]),
        ("9110 §5.5 value, then NUL", long(&value_start, "v", n, b"\0"), vec![Ev::Err(InvalidHeaderValue)]),
        ("9110 §5.5 value, then DEL", long(&value_start, "v", n, b"\x7f"), vec![Ev::Err(InvalidHeaderValue)]),
        ("9110 §5.5 value, then VT", long(&value_start, "\t v", n, b"\x0b"), vec![Ev::Err(InvalidHeaderValue)]),
        ("9112 §2.2 value, then bare CR", long(&value_start, "v", n, b"\rx"), vec![Ev::Err(BareCr)]),
        ("9112 §2.2 value, then CR CR", long(&value_start, "v", n, b"\r\r\n"), vec![Ev::Err(BareCr)]),
        ("9112 §2.2 value, then bare LF", long(&value_start, "v", n, b"\n"), vec![Ev::Err(BareLf)]),
        ("9112 §5.2 value, then obs-fold", long(&value_start, "v", n, b"\r\n c\r\n\r\n"), vec![Ev::Err(ObsFold)]),
        ("9112 §5.2 value, then obs-fold HTAB", long(&value_start, "v", n, b"\r\n\tc"), vec![Ev::Err(ObsFold)]),
        ("9112 §2.2 lines, then bare CR", long(FIELDS, "A: v\r\n", 90, b"\rx"), vec![Ev::Err(BareCr)]),
        ("9112 §2.2 lines, then bare LF", long(FIELDS, "A: v\r\n", 90, b"\n"), vec![Ev::Err(BareLf)]),
        ("9110 §5.1 lines, then a colon", long(FIELDS, "A: v\r\n", 90, b": v"), vec![Ev::Err(InvalidHeaderName)]),
        (
            "9112 §3.2 value, then blank line",
            long(&value_start, "v", n, b"\r\nHost: y\r\n\r\n"),
            vec![Ev::Err(DuplicateHost)],
        ),
        (
            "9110 §8.6 value, then blank line",
            long(&format!("{FIELDS}Content-Length: "), "1", n, b"\r\n\r\n"),
            vec![Ev::Err(InvalidContentLength)],
        ),
    ];
    for (section, input, want) in &rows {
        check_with(limits, section, input, want);
        check_byte_timing(limits, section, input);
    }

    // Valid heads: a colon ends a name (the rest is value, colons and all), a space in a value
    // is value; CR arrives at the end of a feed in every split above and here.
    let value = format!("a:b c{}", "v:".repeat(n));
    let colon_head = format!("{FIELDS}Na:{value}\r\n\r\n");
    let want = [req("GET", "/", 1, &[("host", "x"), ("na", &value)], true, Some(b""))];
    check_with(limits, "9112 §5.1 colon in a value", colon_head.as_bytes(), &want);
    check_byte_timing(limits, "9112 §5.1 colon in a value", colon_head.as_bytes());
    let name = "N".repeat(n);
    let long_name = format!("{FIELDS}{name}:\r\n\r\n");
    let want = [req("GET", "/", 1, &[("host", "x"), (&name.to_ascii_lowercase(), "")], true, Some(b""))];
    check_with(limits, "9110 §5.1 long name, empty value", long_name.as_bytes(), &want);
    // Two trickled heads in a row, and a head after an inline body: each is followed from its start.
    let target = format!("/{}", "t".repeat(n));
    let two = format!("GET {target} HTTP/1.1\r\nHost: x\r\n\r\nGET {target} HTTP/1.1\r\nHost: x\r\n\r\n");
    check_with(limits, "9112 §9.3.2 pipelined long heads", two.as_bytes(), &[get(&target), get(&target)]);
    check_byte_timing(limits, "9112 §9.3.2 pipelined long heads", two.as_bytes());
    let body_then_bad = format!("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nabGET {target}\x01");
    let post = req("POST", "/", 1, &[("host", "x"), ("content-length", "2")], true, Some(b"ab"));
    check_with(limits, "9112 §6.3 head after a body", body_then_bad.as_bytes(), &[post, Ev::Err(InvalidTarget)]);
    check_byte_timing(limits, "9112 §6.3 head after a body", body_then_bad.as_bytes());
}

#[test]
fn trickled_heads_meet_their_limits() {
    // A run of bytes that is valid where it is still passes a limit at the byte that passes it.
    let n = 1500;
    let head = Limits { max_head_size: 1000, ..Limits::default() };
    let target = Limits { max_target_length: 1000, ..Limits::default() };
    let lines = Limits { max_headers: n, ..head };
    let fields = Limits { max_headers: 5, ..Limits::default() };
    let rows: &[(&str, Limits, Vec<u8>, ParseFault)] = &[
        ("9110 §15.5.20 431 in the method", head, long("", "M", n, b""), HeadTooLarge),
        ("9110 §15.5.20 431 in the target", head, long("GET /", "a", n, b""), HeadTooLarge),
        ("9110 §15.5.20 431 in a name", head, long("GET / HTTP/1.1\r\n", "N", n, b""), HeadTooLarge),
        ("9110 §15.5.20 431 in a value", head, long("GET / HTTP/1.1\r\nA: ", "v", n, b""), HeadTooLarge),
        ("9110 §15.5.20 431 in field lines", lines, long("GET / HTTP/1.1\r\n", "A: v\r\n", n / 5, b""), HeadTooLarge),
        ("9110 §15.5.20 431 before a bad byte", head, long("GET / HTTP/1.1\r\nA: ", "v", n, b"\0"), HeadTooLarge),
        ("9112 §3 414 in the target", target, long("GET /", "a", n, b""), TargetTooLong),
        ("9112 §3 414 before a bad byte", target, long("GET /", "a", n, b"\x01"), TargetTooLong),
        ("9110 §15.5.20 431 field count", fields, long("GET / HTTP/1.1\r\n", "A: v\r\n", 8, b""), TooManyHeaders),
    ];
    for (section, limits, input, error) in rows {
        check_with(*limits, section, input, &[Ev::Err(*error)]);
        check_byte_timing(*limits, section, input);
    }
}

// ---------------------------------------------------------------------------------------------
// Body framing (RFC 9112 §6)

#[test]
fn framing_errors() {
    let cases: &[(&str, &[u8], ParseFault)] = &[
        (
            "9112 §6.1 CL and TE",
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
            ContentLengthAndTransferEncoding,
        ),
        (
            "9112 §6.1 TE and CL",
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
            ContentLengthAndTransferEncoding,
        ),
        ("9110 §8.6 CL sign", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +3\r\n\r\nabc", InvalidContentLength),
        ("9110 §8.6 CL negative", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -3\r\n\r\n", InvalidContentLength),
        (
            "9110 §8.6 CL inner space",
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1 2\r\n\r\n",
            InvalidContentLength,
        ),
        ("9110 §8.6 CL list", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 3\r\n\r\nabc", InvalidContentLength),
        ("9110 §8.6 CL hex", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0x3\r\n\r\nabc", InvalidContentLength),
        ("9110 §8.6 CL empty", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n\r\n", InvalidContentLength),
        (
            "9110 §8.6 CL 20 digits",
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 00000000000000000001\r\n\r\n",
            InvalidContentLength,
        ),
        (
            "9110 §8.6 CL overflow",
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n",
            InvalidContentLength,
        ),
        (
            "9112 §6.3 two CL equal",
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
            ConflictingContentLength,
        ),
        (
            "9112 §6.3 two CL differ",
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\ncontent-length: 4\r\n\r\nabcd",
            ConflictingContentLength,
        ),
        (
            "9110 §15.5.14 CL over max_body_size",
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 16777217\r\n\r\n",
            BodyTooLarge,
        ),
        (
            "9112 §6.1 TE not chunked",
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
            TransferEncodingNotChunked,
        ),
        (
            "9112 §6.1 chunked not last",
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
            TransferEncodingNotChunked,
        ),
        (
            "9112 §6.1 chunked twice",
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
            ChunkedTwice,
        ),
        (
            "9112 §6.1 chunked twice in two fields",
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
            ChunkedTwice,
        ),
        (
            "9112 §6.1 gzip before chunked",
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
            UnsupportedTransferCoding,
        ),
        (
            "9112 §6.1 identity before chunked",
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\nTransfer-Encoding: chunked\r\n\r\n",
            UnsupportedTransferCoding,
        ),
        ("9112 §6.1 empty TE", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n\r\n", InvalidTransferEncoding),
        (
            "9112 §6.1 empty TE element",
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, , chunked\r\n\r\n",
            InvalidTransferEncoding,
        ),
        (
            "9112 §6.1 trailing comma",
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked,\r\n\r\n",
            InvalidTransferEncoding,
        ),
        (
            "9112 §6.1 TE in HTTP/1.0",
            b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
            TransferEncodingInHttp10,
        ),
    ];
    for (section, input, error) in cases {
        check_error(section, input, *error);
    }
}

#[test]
fn content_length_bodies() {
    // RFC 9112 §6.2: inline up to inline_body_size, streamed above it.
    let limits = Limits { inline_body_size: 4, ..Limits::default() };
    let head = |n: usize| req("POST", "/", 1, &[("host", "x"), ("content-length", &n.to_string())], true, None);
    let inline = |n: usize, body: &[u8]| {
        req("POST", "/", 1, &[("host", "x"), ("content-length", &n.to_string())], true, Some(body))
    };
    check_with(
        limits,
        "inline at the limit",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nabcd",
        &[inline(4, b"abcd")],
    );
    check_prefixes(limits, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nabcd");
    check_with(
        limits,
        "streamed",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nabcde",
        &[head(5), chunk(b"abcde"), Ev::End],
    );
    // With inline_body_size 0 even a 1-byte body streams; an empty one is still inline.
    let zero = Limits { inline_body_size: 0, ..Limits::default() };
    check_with(
        zero,
        "inline 0, CL 1",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\na",
        &[head(1), chunk(b"a"), Ev::End],
    );
    check_with(zero, "inline 0, CL 0", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", &[inline(0, b"")]);
    // The head event comes as soon as the head is complete, before any body byte.
    let mut parser = Parser::new(limits);
    let mut out = Vec::new();
    parser.feed(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n", &mut |e| out.push(Ev::from(e)));
    assert_eq!(out, [head(5)]);
    parser.feed(b"ab", &mut |e| out.push(Ev::from(e)));
    parser.feed(b"cdeGET / HTTP/1.1\r\nHost: x\r\n\r\n", &mut |e| out.push(Ev::from(e)));
    assert_eq!(out, [head(5), chunk(b"ab"), chunk(b"cde"), Ev::End, get("/")]);
    // Body at max_body_size is fine.
    let small = Limits { max_body_size: 3, ..Limits::default() };
    check_with(
        small,
        "CL at max_body_size",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc",
        &[inline(3, b"abc")],
    );
    check_with(
        small,
        "CL over max_body_size",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nabcd",
        &[Ev::Err(BodyTooLarge)],
    );
    // A default-size inline body (64 KiB) arriving in many pieces.
    let body = vec![b'z'; 64 * 1024];
    let mut input = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 65536\r\n\r\n".to_vec();
    input.extend_from_slice(&body);
    let pieces: Vec<&[u8]> = input.chunks(1000).collect();
    assert_eq!(feed_pieces(Limits::default(), &pieces), [inline(65536, &body)]);
    input.push(b'G');
    let pieces: Vec<&[u8]> = input.chunks(777).collect();
    assert_eq!(feed_pieces(Limits::default(), &pieces), [inline(65536, &body)]);
}

#[test]
fn expect_continue() {
    // RFC 9110 §10.1.1: a request that expects 100 Continue is reported from its head, its
    // body (if any) following as chunks, whatever its size and however the bytes are split.
    let expect = |value: &str, n: usize| {
        let fields = [("host", "x"), ("expect", value), ("content-length", &n.to_string())];
        req("POST", "/", 1, &fields, true, None)
    };
    check(
        "small body",
        b"POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc",
        &[expect("100-continue", 3), chunk(b"abc"), Ev::End],
    );
    let mut parser = Parser::new(Limits::default());
    let mut out = Vec::new();
    parser.feed(b"POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n\r\n", &mut |e| {
        out.push(Ev::from(e))
    });
    assert_eq!(out, [expect("100-Continue", 3)]);
    assert!(!parser.holds_partial_request());
    check(
        "list",
        b"POST / HTTP/1.1\r\nHost: x\r\nExpect: ,100-continue\r\nContent-Length: 1\r\n\r\na",
        &[expect(",100-continue", 1), chunk(b"a"), Ev::End],
    );
    // No content: nothing to wait for.
    check(
        "empty body",
        b"POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\n",
        &[req("POST", "/", 1, &[("host", "x"), ("expect", "100-continue"), ("content-length", "0")], true, Some(b""))],
    );
    // An empty Expect holds no expectation.
    check(
        "empty value",
        b"POST / HTTP/1.1\r\nHost: x\r\nExpect:\r\nContent-Length: 1\r\n\r\na",
        &[req("POST", "/", 1, &[("host", "x"), ("expect", ""), ("content-length", "1")], true, Some(b"a"))],
    );
    // Any other expectation is a 417, after the framing faults and the body size.
    for value in ["foo", "100-continue;a=b", "100-continue, foo", "100-continuex"] {
        let input = format!("POST / HTTP/1.1\r\nHost: x\r\nExpect: {value}\r\nContent-Length: 1\r\n\r\na");
        check_error(value, input.as_bytes(), UnsupportedExpectation);
    }
    check_error(
        "413 before 417",
        b"POST / HTTP/1.1\r\nHost: x\r\nExpect: foo\r\nContent-Length: 99999999999\r\n\r\n",
        BodyTooLarge,
    );
    check_error("400 before 417", b"POST / HTTP/1.1\r\nExpect: foo\r\n\r\n", MissingHost);
    // HTTP/1.0 ignores expectations: the body is inline as usual.
    check(
        "HTTP/1.0",
        b"POST / HTTP/1.0\r\nExpect: foo\r\nContent-Length: 1\r\n\r\na",
        &[req("POST", "/", 0, &[("expect", "foo"), ("content-length", "1")], false, Some(b"a"))],
    );
}

// ---------------------------------------------------------------------------------------------
// Chunked transfer coding (RFC 9112 §7.1)

const CHUNKED_HEAD: &[u8] = b"POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";

fn chunked_head() -> Ev {
    req("POST", "/c", 1, &[("host", "x"), ("transfer-encoding", "chunked")], true, None)
}

fn chunked(body: &[u8]) -> Vec<u8> {
    [CHUNKED_HEAD, body].concat()
}

#[test]
fn chunked_bodies() {
    let cases: &[(&str, &[u8], &[u8])] = &[
        ("9112 §7.1 one chunk", b"5\r\nhello\r\n0\r\n\r\n", b"hello"),
        ("9112 §7.1 two chunks", b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", b"hello world"),
        (
            "9112 §7.1 hex sizes",
            b"A\r\n0123456789\r\n1a\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n\r\n",
            b"0123456789abcdefghijklmnopqrstuvwxyz",
        ),
        ("9112 §7.1 16 hex digits", b"0000000000000003\r\nabc\r\n0000000000000000\r\n\r\n", b"abc"),
        ("9112 §7.1.1 extensions", b"3;a\r\nabc\r\n3;a=b;c=\"d e\";f\r\ndef\r\n0;last\r\n\r\n", b"abcdef"),
        ("9112 §7.1.1 BWS around ; and =", b"3 ;\ta = b ; c=d\r\nabc\r\n0 ; x\r\n\r\n", b"abc"),
        ("9112 §7.1.1 quoted-pair", b"3;a=\"x\\\"y\\\\\"\r\nabc\r\n0\r\n\r\n", b"abc"),
        ("9112 §7.1.1 quoted obs-text", b"3;a=\"\x80\xff\t;=\"\r\nabc\r\n0\r\n\r\n", b"abc"),
        ("9112 §7.1.2 trailers dropped", b"3\r\nabc\r\n0\r\nExpires: never\r\nX-Sum: 1\r\n\r\n", b"abc"),
        ("9112 §7.1 empty body", b"0\r\n\r\n", b""),
        ("9112 §7.1 data with CRLF inside", b"4\r\n\r\n\r\n\r\n0\r\n\r\n", b"\r\n\r\n"),
    ];
    for (section, body, decoded) in cases {
        let mut want = vec![chunked_head()];
        if !decoded.is_empty() {
            want.push(chunk(decoded));
        }
        want.push(Ev::End);
        check(section, &chunked(body), &want);
    }
    // Pipelined after a chunked body.
    let mut input = chunked(b"1\r\na\r\n0\r\n\r\n");
    input.extend_from_slice(b"GET /next HTTP/1.1\r\nHost: x\r\n\r\n");
    check("9112 §9.3.2 after chunked", &input, &[chunked_head(), chunk(b"a"), Ev::End, get("/next")]);
    // Every proper prefix: no error, and no body end.
    let full = chunked(b"5;e=\"v\"\r\nhello\r\n0\r\nT: v\r\n\r\n");
    for i in 0..full.len() {
        let events = feed_pieces(Limits::default(), &[&full[..i]]);
        assert!(!events.iter().any(|e| matches!(e, Ev::Err(_) | Ev::End)), "prefix {i}: {events:?}");
    }
}

#[test]
fn chunked_errors() {
    let cases: &[(&str, &[u8], ParseFault)] = &[
        ("9112 §7.1 no size", b"\r\nabc\r\n0\r\n\r\n", InvalidChunkSize),
        ("9112 §7.1 size not hex", b"g\r\nabc\r\n0\r\n\r\n", InvalidChunkSize),
        ("9112 §7.1 size with sign", b"+3\r\nabc\r\n0\r\n\r\n", InvalidChunkSize),
        ("9112 §7.1 size 0x", b"0x3\r\nabc\r\n0\r\n\r\n", InvalidChunkSize),
        ("9112 §7.1 size 17 digits", b"00000000000000003\r\nabc\r\n0\r\n\r\n", InvalidChunkSize),
        ("9112 §7.1 size overflow", b"fffffffffffffffff\r\n", InvalidChunkSize),
        ("9112 §7.1 leading space", b" 3\r\nabc\r\n0\r\n\r\n", InvalidChunkSize),
        ("9112 §7.1 bare LF in size line", b"3\nabc\r\n0\r\n\r\n", BareLf),
        ("9112 §7.1 bare LF after ext", b"3;a=b\nabc\r\n0\r\n\r\n", BareLf),
        ("9112 §7.1 bare CR in size line", b"3\rabc\r\n0\r\n\r\n", BareCr),
        ("9112 §7.1.1 empty ext", b"3;\r\nabc\r\n0\r\n\r\n", InvalidChunkExtension),
        ("9112 §7.1.1 no ext name", b"3;=b\r\nabc\r\n0\r\n\r\n", InvalidChunkExtension),
        ("9112 §7.1.1 no ext value", b"3;a=\r\nabc\r\n0\r\n\r\n", InvalidChunkExtension),
        ("9112 §7.1.1 trailing BWS", b"3 \r\nabc\r\n0\r\n\r\n", InvalidChunkExtension),
        ("9112 §7.1.1 BWS after value", b"3;a=b \r\nabc\r\n0\r\n\r\n", InvalidChunkExtension),
        ("9112 §7.1.1 bad ext char", b"3;a@b\r\nabc\r\n0\r\n\r\n", InvalidChunkExtension),
        ("9112 §7.1.1 unterminated quote", b"3;a=\"bc\r\nabc\r\n0\r\n\r\n", InvalidChunkExtension),
        ("9112 §7.1.1 text after quote", b"3;a=\"b\"c\r\nabc\r\n0\r\n\r\n", InvalidChunkExtension),
        ("9112 §7.1.1 ctl in quote", b"3;a=\"\x01\"\r\nabc\r\n0\r\n\r\n", InvalidChunkExtension),
        ("9112 §7.1.1 ctl in quoted-pair", b"3;a=\"\\\x01\"\r\nabc\r\n0\r\n\r\n", InvalidChunkExtension),
        ("9112 §7.1 missing CRLF after data", b"3\r\nabcd\r\n0\r\n\r\n", MissingChunkCrlf),
        ("9112 §7.1 LF only after data", b"3\r\nabc\n0\r\n\r\n", MissingChunkCrlf),
        ("9112 §7.1 CR only after data", b"3\r\nabc\r0\r\n\r\n", MissingChunkCrlf),
        ("9112 §7.1.2 trailer obs-fold", b"0\r\nA: b\r\n c\r\n\r\n", ObsFold),
        ("9112 §7.1.2 trailer bad name", b"0\r\nA(b: c\r\n\r\n", InvalidHeaderName),
        ("9112 §7.1.2 trailer space before colon", b"0\r\nA : c\r\n\r\n", WhitespaceBeforeColon),
        ("9112 §7.1.2 trailer NUL", b"0\r\nA: \0\r\n\r\n", InvalidHeaderValue),
        ("9112 §7.1.2 trailer bare LF", b"0\r\nA: b\n\r\n", BareLf),
        ("9112 §7.1.2 trailer bare LF, next line unfinished", b"0\r\nA: b\nC", BareLf),
        ("9112 §7.1.2 trailer end bare LF", b"0\r\n\n", BareLf),
        ("9112 §7.1.2 trailer bare CR", b"0\r\n\rx", BareCr),
    ];
    for (section, body, error) in cases {
        let input = chunked(body);
        let parser_events = feed_pieces(Limits::default(), &[&input]);
        // The head (and any data before the fault) comes first, the error last.
        assert_eq!(parser_events.first(), Some(&chunked_head()), "{section}");
        assert_eq!(parser_events.last(), Some(&Ev::Err(*error)), "{section}");
        check(section, &input, &parser_events);
    }
}

#[test]
fn chunked_limits() {
    // RFC 9110 §15.5.14: decoded size over max_body_size -> 413, when the size is read.
    let limits = Limits { max_body_size: 5, ..Limits::default() };
    check_with(
        limits,
        "at max_body_size",
        &chunked(b"2\r\nab\r\n3\r\ncde\r\n0\r\n\r\n"),
        &[chunked_head(), chunk(b"abcde"), Ev::End],
    );
    check_with(
        limits,
        "over max_body_size",
        &chunked(b"2\r\nab\r\n4\r\ncdef\r\n0\r\n\r\n"),
        &[chunked_head(), chunk(b"ab"), Ev::Err(BodyTooLarge)],
    );
    check_with(
        limits,
        "one chunk over",
        &chunked(b"6;x\r\nabcdef\r\n0\r\n\r\n"),
        &[chunked_head(), Ev::Err(BodyTooLarge)],
    );
    check(
        "16 hex digits over the default",
        &chunked(b"ffffffffffffffff\r\n"),
        &[chunked_head(), Ev::Err(BodyTooLarge)],
    );
    // The trailer section shares max_head_size with the head.
    let trailers = b"0\r\nA: 123\r\n\r\n"; // the trailer section is "A: 123\r\n\r\n", 10 bytes
    let exact = Limits { max_head_size: CHUNKED_HEAD.len() + 10, ..Limits::default() };
    check_with(exact, "trailers at the limit", &chunked(trailers), &[chunked_head(), Ev::End]);
    let under = Limits { max_head_size: CHUNKED_HEAD.len() + 9, ..Limits::default() };
    check_with(under, "trailers over the limit", &chunked(trailers), &[chunked_head(), Ev::Err(TrailersTooLarge)]);
    check_with(under, "unfinished trailers at the limit", &chunked(b"0\r\nA: 123\r\n\r"), &[chunked_head()]);
    let less = Limits { max_head_size: CHUNKED_HEAD.len() + 8, ..Limits::default() };
    check_with(
        less,
        "unfinished trailers over the limit",
        &chunked(b"0\r\nA: 123\r\n\r"),
        &[chunked_head(), Ev::Err(TrailersTooLarge)],
    );
    let no_room = Limits { max_head_size: CHUNKED_HEAD.len() + 1, ..Limits::default() };
    check_with(
        no_room,
        "no room for the blank line",
        &chunked(b"0\r\n\r\n"),
        &[chunked_head(), Ev::Err(TrailersTooLarge)],
    );
}

#[test]
fn chunk_line_limit() {
    // RFC 9112 §7.1.1: "A server ought to limit the total length of chunk extensions received
    // in a request". A chunk-size line, CRLF included, may take max_head_size bytes; once that
    // many bytes of it are in without its CRLF -> 400, faults in those bytes first.
    let limits = Limits { max_head_size: 64, ..Limits::default() };
    let v = |n: usize| "v".repeat(n);
    let line = |ext: &str, end: &str| chunked(format!("5;a={ext}{end}").as_bytes());
    let rows: &[(&str, Vec<u8>, &[Ev])] = &[
        (
            "9112 §7.1.1 line at the limit",
            line(&v(58), "\r\nhello\r\n0\r\n\r\n"),
            &[chunked_head(), chunk(b"hello"), Ev::End],
        ),
        (
            "9112 §7.1.1 line one over",
            line(&v(59), "\r\nhello\r\n0\r\n\r\n"),
            &[chunked_head(), Ev::Err(ChunkExtensionTooLong)],
        ),
        ("9112 §7.1.1 unfinished, one byte short", line(&v(59), ""), &[chunked_head()]),
        ("9112 §7.1.1 unfinished at the limit", line(&v(60), ""), &[chunked_head(), Ev::Err(ChunkExtensionTooLong)]),
        ("9112 §7.1.1 CR at the limit", line(&v(59), "\r"), &[chunked_head(), Ev::Err(ChunkExtensionTooLong)]),
        (
            "9112 §7.1.1 CR at the limit, then LF",
            line(&v(59), "\r\n"),
            &[chunked_head(), Ev::Err(ChunkExtensionTooLong)],
        ),
        ("9112 §2.2 bare LF at the limit", line(&v(59), "\nhello"), &[chunked_head(), Ev::Err(BareLf)]),
        ("9112 §7.1.1 bad byte at the limit", line(&v(59), "@"), &[chunked_head(), Ev::Err(InvalidChunkExtension)]),
        ("9112 §7.1.1 bad byte past the limit", line(&v(60), "@"), &[chunked_head(), Ev::Err(ChunkExtensionTooLong)]),
        (
            "9112 §7.1.1 quoted-string over the limit",
            chunked(format!("5;a=\"{}", "x\\\"".repeat(40)).as_bytes()),
            &[chunked_head(), Ev::Err(ChunkExtensionTooLong)],
        ),
        (
            "9112 §7.1.1 many extensions over the limit",
            chunked(format!("5{}", " ; a".repeat(20)).as_bytes()),
            &[chunked_head(), Ev::Err(ChunkExtensionTooLong)],
        ),
        (
            "9112 §7.1.1 last-chunk line over the limit",
            chunked(format!("5\r\nhello\r\n0;a={}", v(100)).as_bytes()),
            &[chunked_head(), chunk(b"hello"), Ev::Err(ChunkExtensionTooLong)],
        ),
        (
            "9112 §7.1.1 every line has its own limit",
            chunked(format!("5;a={}\r\nhello\r\n0;b={}\r\n\r\n", v(58), v(58)).as_bytes()),
            &[chunked_head(), chunk(b"hello"), Ev::End],
        ),
        (
            "9112 §7.1 long size line of zeros",
            chunked(format!("{}\r\n", "0".repeat(17)).as_bytes()),
            &[chunked_head(), Ev::Err(InvalidChunkSize)],
        ),
    ];
    for (section, input, want) in rows {
        check_with(limits, section, input, want);
    }
    // RFC 9110 §15.5.14: the size is judged when its digits end, before the limit is reached.
    let small_body = Limits { max_body_size: 8, ..limits };
    let big_size = chunked(format!("ff;a={}", v(100)).as_bytes());
    check_with(small_body, "9112 §7.1.1 413 before the limit", &big_size, &[chunked_head(), Ev::Err(BodyTooLarge)]);
    // The default limit, 16 KiB.
    let max = Limits::default().max_head_size;
    let fits = chunked(format!("1;a={}\r\nx\r\n0\r\n\r\n", v(max - 6)).as_bytes());
    check("9112 §7.1.1 default limit, at it", &fits, &[chunked_head(), chunk(b"x"), Ev::End]);
    let over = chunked(format!("1;a={}\r\nx\r\n0\r\n\r\n", v(max - 5)).as_bytes());
    check("9112 §7.1.1 default limit, over", &over, &[chunked_head(), Ev::Err(ChunkExtensionTooLong)]);
}

#[test]
fn trickled_chunk_extension_is_cut_off() {
    // An endless extension, one byte per buffer: refused at the byte that reaches the limit.
    let limits = Limits { max_head_size: 1000, ..Limits::default() };
    let mut parser = Parser::new(limits);
    let mut out = Vec::new();
    parser.feed(CHUNKED_HEAD, &mut |e| out.push(Ev::from(e)));
    parser.feed(b"1;a=\"", &mut |e| out.push(Ev::from(e)));
    let mut line = 5;
    while !parser.is_stopped() {
        parser.feed(b"x", &mut |e| out.push(Ev::from(e)));
        line += 1;
        assert!(line <= 1000, "not cut off at the limit");
    }
    assert_eq!(line, 1000);
    assert_eq!(out, [chunked_head(), Ev::Err(ChunkExtensionTooLong)]);
}

// ---------------------------------------------------------------------------------------------
// Keep-alive (RFC 9112 §9.3) and pipelining (§9.3.2)

#[test]
fn keep_alive() {
    let cases: &[(&str, &[u8], bool)] = &[
        ("9112 §9.3 HTTP/1.1 default", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", true),
        ("9112 §9.3 HTTP/1.1 close", b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", false),
        (
            "9112 §9.3 HTTP/1.1 CLOSE in a list",
            b"GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade ,CLOSE\r\n\r\n",
            false,
        ),
        (
            "9112 §9.3 HTTP/1.1 close in a second field",
            b"GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n",
            false,
        ),
        ("9112 §9.3 HTTP/1.1 keep-alive", b"GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n", true),
        ("9112 §9.3 not a token match", b"GET / HTTP/1.1\r\nHost: x\r\nConnection: closed\r\n\r\n", true),
        ("9112 §9.3 HTTP/1.0 default", b"GET / HTTP/1.0\r\n\r\n", false),
        ("9112 §9.3 HTTP/1.0 keep-alive", b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", true),
        ("9112 §9.3 HTTP/1.0 keep-alive, close", b"GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", false),
        ("9112 §9.3 HTTP/1.0 two fields", b"GET / HTTP/1.0\r\nConnection: x\r\nConnection: keep-alive\r\n\r\n", true),
    ];
    for (section, input, keep_alive) in cases {
        let events = feed_pieces(Limits::default(), &[input]);
        let [Ev::Req(r)] = &events[..] else { panic!("{section}: {events:?}") };
        assert_eq!(r.keep_alive, *keep_alive, "{section}");
        check(section, input, &events);
    }
}

#[test]
fn pipelining() {
    // RFC 9112 §9.3.2: every complete request in one buffer.
    let three =
        b"GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\nGET /3 HTTP/1.1\r\nHost: x\r\n\r\n";
    check("9112 §9.3.2 three", three, &[get("/1"), get("/2"), get("/3")]);
    let mixed = b"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\nGET /c HTTP";
    check(
        "9112 §9.3.2 with a body, CRLF between, unfinished last",
        mixed,
        &[req("POST", "/a", 1, &[("host", "x"), ("content-length", "2")], true, Some(b"hi")), get("/b")],
    );
    // Stop after a request that closes the connection.
    let closing = b"GET /1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n";
    check(
        "9112 §9.6 stop after close",
        closing,
        &[req("GET", "/1", 1, &[("host", "x"), ("connection", "close")], false, Some(b""))],
    );
    let http10 = b"GET /1 HTTP/1.0\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n";
    check("9112 §9.3 stop after HTTP/1.0", http10, &[req("GET", "/1", 0, &[], false, Some(b""))]);
    let garbage = b"GET /1 HTTP/1.0\r\n\r\n\x00\x01garbage";
    check("9112 §9.6 garbage after close", garbage, &[req("GET", "/1", 0, &[], false, Some(b""))]);
    // ... but only after its body.
    let limits = Limits { inline_body_size: 0, ..Limits::default() };
    let streamed =
        b"POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\n\r\n";
    check_with(
        limits,
        "stop after a streamed body",
        streamed,
        &[
            req("POST", "/", 1, &[("host", "x"), ("connection", "close"), ("content-length", "3")], false, None),
            chunk(b"abc"),
            Ev::End,
        ],
    );
    let mut chunked_close =
        b"POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    chunked_close.extend_from_slice(b"1\r\na\r\n0\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n");
    check(
        "stop after a chunked body",
        &chunked_close,
        &[
            req(
                "POST",
                "/",
                1,
                &[("host", "x"), ("connection", "close"), ("transfer-encoding", "chunked")],
                false,
                None,
            ),
            chunk(b"a"),
            Ev::End,
        ],
    );
    // Requests before an error are reported, nothing after it.
    let then_error =
        b"GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/9.9\r\nHost: x\r\n\r\nGET /3 HTTP/1.1\r\nHost: x\r\n\r\n";
    check("error after a request", then_error, &[get("/1"), Ev::Err(UnsupportedVersion)]);
}

#[test]
fn stopped_parser_ignores_input() {
    let mut parser = Parser::new(Limits::default());
    let mut out = Vec::new();
    parser.feed(b"GET / HTTP/1.1\r\nHost: x\r\nA\0: b\r\n\r\n", &mut |e| out.push(Ev::from(e)));
    assert_eq!(out, [Ev::Err(InvalidHeaderName)]);
    parser.feed(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", &mut |e| out.push(Ev::from(e)));
    assert_eq!(out.len(), 1);
    assert!(parser.is_stopped());
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
    parser.feed(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", &mut |e| out.push(Ev::from(e)));
    assert_eq!(out, [get("/")]);
}

/// A browser-like request, as used by the benchmark.
pub(crate) const BROWSER_REQUEST: &[u8] =
    b"GET /wp-content/uploads/2010/03/hello-kitty-darth-vader-pink.jpg HTTP/1.1\r\n\
Host: www.kittyhell.com\r\n\
User-Agent: Mozilla/5.0 (Macintosh; U; Intel Mac OS X 10_6_8; ja-JP-mac; rv:1.9.2.3) Gecko/20100401 Firefox/3.6.3\r\n\
Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n\
Accept-Language: ja,en-us;q=0.7,en;q=0.3\r\n\
Accept-Encoding: gzip,deflate\r\n\
Accept-Charset: Shift_JIS,utf-8;q=0.7,*;q=0.7\r\n\
Cookie: wp_ozh_wsa_visits=2; wp_ozh_wsa_visit_lasttime=xxxxxxxxxx\r\n\
Connection: keep-alive\r\n\r\n";

#[test]
fn browser_request() {
    let events = feed_pieces(Limits::default(), &[BROWSER_REQUEST]);
    let [Ev::Req(r)] = &events[..] else { panic!("{events:?}") };
    assert_eq!(r.headers.len(), 8);
    assert!(r.keep_alive);
    check("browser request", BROWSER_REQUEST, &events);
    check_prefixes(Limits::default(), BROWSER_REQUEST);
}

/// Deterministic pseudo-random inputs: mutations of valid requests must never panic, and
/// give the same events however they are split.
#[test]
fn mutated_requests_are_split_invariant() {
    let seeds: &[&[u8]] = &[
        BROWSER_REQUEST,
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
