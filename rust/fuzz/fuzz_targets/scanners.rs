//! The scanners under the parser, each against a property or a plain reference:
//! `request_line::scan` is prefix-stable, `FieldLines::scan` gives the same answer whole and
//! byte by byte, and `ascii_run`, `trim_ows`, `parse_content_length` and `FieldName::of` equal
//! naive versions of themselves.
//!
//! Input: one byte choosing the limits (max_target_length = b, max_fields = b % 8), then the
//! bytes to scan.

#![no_main]

use _parser::chars::{ascii_run, trim_ows};
use _parser::field_names::FieldName;
use _parser::fields::{parse_content_length, FieldLines, Scanned};
use _parser::request_line;
use _parser::ParseFault;
use libfuzzer_sys::fuzz_target;

/// Every prefix is scanned for inputs up to this size; longer ones sample prefixes.
const ALL_PREFIXES_MAX: usize = 512;

fn prefix_lengths(len: usize) -> impl Iterator<Item = usize> {
    let step = if len <= ALL_PREFIXES_MAX { 1 } else { len / 64 };
    (0..len).step_by(step).chain([len.saturating_sub(1)])
}

/// A prefix of a line gives "partial" or the whole line's answer.
fn request_line_is_prefix_stable(data: &[u8], max_target_length: usize) {
    let whole = request_line::scan(data, max_target_length);
    if let Ok(Some(line)) = whole {
        assert!(line.len <= data.len() && data[..line.len].ends_with(b"\r\n"), "line length");
        assert!(line.version <= 1 && line.target.len() <= max_target_length);
    }
    for i in prefix_lengths(data.len()) {
        match request_line::scan(&data[..i], max_target_length) {
            Ok(None) => {}
            prefix => assert_eq!(prefix, whole, "prefix of {i} bytes"),
        }
    }
}

/// `FieldLines::scan` fed byte by byte, as one result for the whole input.
fn field_lines_bytewise(data: &[u8], max_fields: usize) -> Result<Scanned, ParseFault> {
    let mut lines = FieldLines::new();
    for (i, b) in data.iter().enumerate() {
        if let Scanned::Done(_) = lines.scan(std::slice::from_ref(b), max_fields)? {
            return Ok(Scanned::Done(i + 1));
        }
    }
    Ok(Scanned::NeedMore)
}

fn field_lines_split(data: &[u8], at: usize, max_fields: usize) -> Result<Scanned, ParseFault> {
    let (a, b) = data.split_at(at.min(data.len()));
    let mut lines = FieldLines::new();
    match lines.scan(a, max_fields)? {
        Scanned::Done(n) => Ok(Scanned::Done(n)),
        Scanned::NeedMore => match lines.scan(b, max_fields)? {
            Scanned::Done(n) => Ok(Scanned::Done(a.len() + n)),
            Scanned::NeedMore => Ok(Scanned::NeedMore),
        },
    }
}

fn content_length_reference(value: &[u8]) -> Option<u64> {
    if value.is_empty() || value.len() > 19 || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(value).ok()?.parse().ok()
}

fuzz_target!(|input: &[u8]| {
    let Some((&config, data)) = input.split_first() else { return };
    let max_target_length = usize::from(config);
    let max_fields = usize::from(config % 8);

    request_line_is_prefix_stable(data, max_target_length);

    let whole = FieldLines::new().scan(data, max_fields);
    if let Ok(Scanned::Done(n)) = whole {
        assert!(n <= data.len() && data[..n].ends_with(b"\r\n"), "field section length");
    }
    assert_eq!(field_lines_bytewise(data, max_fields), whole, "field lines byte by byte");
    assert_eq!(field_lines_split(data, usize::from(config), max_fields), whole, "field lines split");

    for lowest in [0x20, 0x21] {
        let naive = data.iter().position(|b| !(lowest..=0x7E).contains(b)).unwrap_or(data.len());
        assert_eq!(ascii_run(data, lowest), naive, "ascii_run from {lowest:#x}");
    }

    let trimmed = trim_ows(data);
    let start = data.iter().position(|&b| b != b' ' && b != b'\t').unwrap_or(data.len());
    let end = data.iter().rposition(|&b| b != b' ' && b != b'\t').map_or(start, |i| i + 1);
    assert_eq!(trimmed, &data[start..end], "trim_ows");

    let value = &data[..data.len().min(24)];
    assert_eq!(parse_content_length(value).ok(), content_length_reference(value), "Content-Length {value:?}");

    let name = &data[..data.len().min(32)];
    let known = FieldName::KNOWN.iter().copied().find(|k| k.as_bytes().eq_ignore_ascii_case(name));
    let token = !name.is_empty() && name.iter().all(|&b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if token {
        // `of` is only asked about tokens (httparse hands out nothing else).
        assert_eq!(FieldName::of(name), known.unwrap_or(FieldName::Other), "FieldName::of({name:?})");
    } else {
        FieldName::of(name);
    }
});
