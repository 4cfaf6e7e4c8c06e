//! The five parsing limits, read once from the Python `Config` (see python/wirespeed/config.py,
//! which owns their names and defaults). Plain data: the parser only compares against them.

/// Every limit the request parser enforces. The defaults match `wirespeed.config.Config`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Request line + header fields + blank line, in bytes; also the budget of a chunked
    /// body's trailer section (which shares it with its head) -> 431. Each chunk-size line
    /// (size, extensions and CRLF) may be this long as well -> 400.
    pub max_head_size: usize,
    /// Number of header fields -> 431.
    pub max_headers: usize,
    /// Request-target bytes -> 414.
    pub max_target_length: usize,
    /// Decoded body bytes -> 413.
    pub max_body_size: u64,
    /// Bodies with a Content-Length up to this size arrive whole with their request.
    pub inline_body_size: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            // h11 and uvicorn cap a head at 16 KiB; nginx reads heads in 8 KiB lines.
            max_head_size: 16 * 1024,
            max_headers: 100,
            max_target_length: 8 * 1024,
            max_body_size: 16 * 1024 * 1024,
            inline_body_size: 64 * 1024,
        }
    }
}
