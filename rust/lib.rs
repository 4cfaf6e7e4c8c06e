//! wirespeed's HTTP/1.1 request parser, as the Python extension module `wirespeed._parser`.
//!
//! The parsing is plain Rust, testable with `cargo test`: `parser` (the incremental state
//! machine) drives `head` (request heads, on top of httparse), `request_line` and `fields`
//! (our strict scanners), `head_progress` (which spares parsing a trickling head again),
//! `framing` (bodies) and `error` (what is rejected, with its status).
//! `ws_frames` reads and writes WebSocket frames (RFC 6455) and reassembles their messages.
//! `proxy_protocol` reads the PROXY protocol header (versions 1 and 2) a load balancer may put
//! before a connection's first request.
//! `access_lines` makes the access log's lines of its default formats ("combined", "common").
//! `asgi` holds what the ASGI server mode needs of bytes (a target split for a scope, the checks
//! of an app's response head).
//! `python`, `python_access`, `python_asgi`, `python_proxy` and `python_ws` are the only modules that touch Python; they are
//! built with the `python` feature (on by default), so a pure-Rust user takes
//! `default-features = false`.

// Tests may unwrap, expect and panic; the library may not (Cargo.toml [lints.clippy]). The
// library is also linted without cfg(test), where this does not apply.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod access_lines;
pub mod asgi;
pub mod chars;
pub mod error;
pub mod field_names;
pub mod fields;
pub mod framing;
pub mod head;
pub mod head_progress;
pub mod limits;
pub mod parser;
pub mod proxy_protocol;
#[cfg(feature = "python")]
mod python;
#[cfg(feature = "python")]
mod python_access;
#[cfg(feature = "python")]
mod python_asgi;
#[cfg(feature = "python")]
mod python_proxy;
#[cfg(feature = "python")]
mod python_ws;
pub mod request_line;
pub mod ws_frames;

#[cfg(test)]
mod tests;

pub use error::ParseFault;
pub use limits::Limits;
pub use parser::{Event, Parser};

#[cfg(feature = "python")]
use pyo3::prelude::*;

/// The extension module: `RequestParser`, `RawHeaders` (the header fields of its requests,
/// registered as a `collections.abc.Sequence`), the ASGI mode's `asgi_scope` and
/// `read_start`, `parse_proxy_header`, the access log's `access_sink` and `recording`, and `WebSocketReader`.
#[cfg(feature = "python")]
#[pymodule]
fn _parser(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<python::RequestParser>()?;
    python_asgi::add_functions(module)?;
    python_proxy::add_function(module)?;
    python_access::add_functions(module)?;
    let raw_headers = python::raw_headers_type(module.py())?;
    module.add("RawHeaders", raw_headers)?;
    module.add("WebSocketReader", python_ws::reader_type(module.py())?)?;
    let sequence = module.py().import("collections.abc")?.getattr("Sequence")?;
    sequence.call_method1("register", (raw_headers,))?;
    Ok(())
}
