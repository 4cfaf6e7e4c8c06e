//! The request line (RFC 9112 §3): method SP request-target SP HTTP-version CRLF.
//!
//! httparse parses request lines fast but cannot tell a 505 from a 400, sees no HTTP/0.9 line,
//! accepts non-ASCII targets and knows no target limit, so this module owns those rules:
//! `scan` is a strict scanner used whenever httparse did not accept a head (to classify the
//! error, or to spot a 414 in an unfinished line), and `check_target_bytes` and
//! `check_target_form` hold the target rules both paths share. `scan` is prefix-stable: it answers "partial" for every proper prefix of a
//! line it would accept or classify differently, so a line split anywhere gives one result.

use crate::chars::{ascii_run, is_reg_name, is_tchar, reg_name_run};
use crate::error::ParseFault;

/// A complete, valid request line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestLine<'a> {
    pub method: &'a [u8],
    pub target: &'a [u8],
    /// Minor version: 1 for HTTP/1.1, 0 for HTTP/1.0.
    pub version: u8,
    /// Bytes of the line including its CRLF.
    pub len: usize,
}

/// Scans the request line at the start of `buf` (leading empty lines already skipped).
///
/// `Ok(None)`: the line is unfinished and nothing is wrong with it so far.
pub fn scan(buf: &[u8], max_target_length: usize) -> Result<Option<RequestLine<'_>>, ParseFault> {
    // method = token (RFC 9110 §9.1), then exactly one SP.
    let m_end = buf.iter().position(|&b| !is_tchar(b)).unwrap_or(buf.len());
    match (buf.get(m_end), buf.get(m_end + 1)) {
        (None, _) | (Some(b'\r'), None) => return Ok(None),
        (Some(b' '), _) if m_end > 0 => {}
        (Some(b' '), _) | (Some(b'\r'), Some(b'\n')) => return Err(ParseFault::InvalidRequestLine),
        (Some(b'\r'), Some(_)) => return Err(ParseFault::BareCr),
        (Some(b'\n'), _) => return Err(ParseFault::BareLf),
        (Some(_), _) => return Err(ParseFault::InvalidMethod),
    }
    let method = &buf[..m_end];

    // request-target: visible ASCII (RFC 9112 §3.2), at most max_target_length bytes (§3: 414).
    // buf[m_end] is the SP, so t_start <= buf.len(); likewise rest[t_len] below for v_start.
    let t_start = m_end + 1;
    let rest = &buf[t_start..];
    let t_len = target_run(rest, max_target_length)?;
    let target = &rest[..t_len];
    match rest.get(t_len) {
        None => return Ok(None),
        Some(b' ') if t_len > 0 => {}
        Some(b' ') => return Err(ParseFault::InvalidRequestLine),
        Some(b'\r') => {
            // "GET /\r\n" is an HTTP/0.9 request: no version at all -> 505.
            return match rest.get(t_len + 1) {
                None => Ok(None),
                Some(b'\n') if t_len > 0 => Err(ParseFault::UnsupportedVersion),
                Some(b'\n') => Err(ParseFault::InvalidRequestLine),
                Some(_) => Err(ParseFault::BareCr),
            };
        }
        Some(b'\n') => return Err(ParseFault::BareLf),
        Some(_) => return Err(ParseFault::InvalidTarget),
    }

    // HTTP-version = "HTTP/" DIGIT "." DIGIT (RFC 9112 §2.3), then CRLF.
    let v_start = t_start + t_len + 1;
    let rest = &buf[v_start..];
    let v_len = rest.iter().position(|&b| b == b'\r' || b == b'\n').unwrap_or(rest.len());
    let slot = &rest[..v_len];
    if !could_be_version(slot) {
        return Err(ParseFault::InvalidVersion);
    }
    match rest.get(v_len) {
        None => return Ok(None),
        Some(b'\n') => return Err(ParseFault::BareLf),
        _ => match rest.get(v_len + 1) {
            None => return Ok(None),
            Some(b'\n') => {}
            Some(_) => return Err(ParseFault::BareCr),
        },
    }
    let version = match slot {
        b"HTTP/1.1" => 1,
        b"HTTP/1.0" => 0,
        _ if slot.len() == VERSION_LEN => return Err(ParseFault::UnsupportedVersion),
        _ => return Err(ParseFault::InvalidVersion),
    };
    check_target_form(method, target)?;
    Ok(Some(RequestLine { method, target, version, len: v_start + v_len + 2 }))
}

const VERSION_LEN: usize = 8;

/// Whether `slot` is "HTTP/" DIGIT "." DIGIT or a prefix of it.
fn could_be_version(slot: &[u8]) -> bool {
    const PATTERN: &[u8; VERSION_LEN] = b"HTTP/0.0";
    slot.len() <= VERSION_LEN
        && slot.iter().zip(PATTERN).all(|(&b, &p)| if p == b'0' { b.is_ascii_digit() } else { b == p })
}

/// Length of the run of target bytes at the start of `s`; 414 once that run is longer than
/// the limit (even when the target is not finished yet).
fn target_run(s: &[u8], max_target_length: usize) -> Result<usize, ParseFault> {
    let run = ascii_run(s, 0x21);
    if run > max_target_length {
        return Err(ParseFault::TargetTooLong);
    }
    Ok(run)
}

/// The target bytes rule, for a target that httparse already accepted (its bytes can still be
/// non-ASCII there), judged exactly as `scan` judges them: 414 first if the run of valid bytes
/// is over the limit, else 400 for any byte outside 0x21..0x7E.
pub fn check_target_bytes(target: &[u8], max_target_length: usize) -> Result<(), ParseFault> {
    if target_run(target, max_target_length)? < target.len() {
        return Err(ParseFault::InvalidTarget);
    }
    Ok(())
}

/// The request-target forms of RFC 9112 §3.2: origin-form, absolute-form ("scheme://..."),
/// authority-form (CONNECT only, and CONNECT only with it), asterisk-form (OPTIONS only).
pub fn check_target_form(method: &[u8], target: &[u8]) -> Result<(), ParseFault> {
    if method == b"CONNECT" {
        // §3.2.3: authority-form = uri-host ":" port
        return if is_authority_form(target) { Ok(()) } else { Err(ParseFault::ConnectNeedsAuthority) };
    }
    match target {
        [b'/', ..] => Ok(()),
        // §3.2.4: asterisk-form = "*", only for a server-wide OPTIONS.
        b"*" if method == b"OPTIONS" => Ok(()),
        b"*" => Err(ParseFault::AsteriskFormNotOptions),
        _ if is_absolute_form(target) => Ok(()),
        _ => Err(ParseFault::InvalidTargetForm),
    }
}

/// §3.2.2 absolute-form, as scheme "://" authority, then the path and query raw:
/// scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) (RFC 3986 §3.1), and the authority,
/// up to the first "/", "?" or "#", is what a Host field may hold (the server takes its Host
/// from it, §3.2.2) with a host that is not empty (RFC 9110 §4.2.1: such a URI is invalid)
/// and no userinfo (RFC 9110 §4.2.4 lets a recipient treat it as an error).
fn is_absolute_form(target: &[u8]) -> bool {
    let Some((&first, rest)) = target.split_first() else { return false };
    if !first.is_ascii_alphabetic() {
        return false;
    }
    let scheme_len = rest
        .iter()
        .position(|&b| !(b.is_ascii_alphanumeric() || b == b'+' || b == b'-' || b == b'.'))
        .unwrap_or(rest.len());
    let Some(after_scheme) = rest[scheme_len..].strip_prefix(b"://") else { return false };
    let authority_len =
        after_scheme.iter().position(|&b| matches!(b, b'/' | b'?' | b'#')).unwrap_or(after_scheme.len());
    let authority = &after_scheme[..authority_len];
    !matches!(authority.first(), None | Some(b':')) && is_host_value(authority)
}

/// uri-host ":" port, where uri-host is an IP-literal ("[" ... "]") or a reg-name / IPv4
/// address (RFC 3986 §3.2.2) and port = *DIGIT (§3.2.3). No userinfo.
fn is_authority_form(target: &[u8]) -> bool {
    let Some(colon) = target.iter().rposition(|&b| b == b':') else { return false };
    let (host, port) = (&target[..colon], &target[colon + 1..]);
    if !port.iter().all(u8::is_ascii_digit) {
        return false;
    }
    match host {
        [b'[', inner @ .., b']'] => {
            !inner.is_empty() && inner.iter().all(|&b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        }
        _ => !host.is_empty() && host.iter().all(|&b| is_reg_name(b)),
    }
}

/// A Host field value (RFC 9112 §3.2, RFC 9110 §7.2): uri-host [ ":" port ], where uri-host is
/// an IP-literal ("[" ... "]") or a reg-name / IPv4 address, which may be empty, and
/// port = *DIGIT. One pass: a reg-name has no ":", so the first byte after its run is the
/// end or the ":" of the port.
pub fn is_host_value(value: &[u8]) -> bool {
    if let [b'[', rest @ ..] = value {
        let Some(end) = rest.iter().position(|&b| b == b']') else { return false };
        let (literal, after) = (&rest[..end], &rest[end + 1..]);
        let port = match after {
            [] => &[][..],
            [b':', port @ ..] => port,
            _ => return false,
        };
        return !literal.is_empty()
            && literal.iter().all(|&b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
            && port.iter().all(u8::is_ascii_digit);
    }
    let host_len = reg_name_run(value);
    match value.get(host_len) {
        None => true,
        Some(b':') => value[host_len + 1..].iter().all(u8::is_ascii_digit),
        Some(_) => false,
    }
}
