//! Every way a request can be rejected, as one flat `Copy` enum, `ParseFault`: the same name,
//! kinds and order as `wirespeed.errors.ParseFault` on the Python side. Each kind knows the
//! status it is answered with and a short detail phrase; python.rs turns them into
//! `wirespeed.errors.parse_error(status, detail)`, the only mapping to Python exceptions.

/// A malformed or over-limit request. Always the last event of a parser.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ParseFault {
    // Line endings (RFC 9112 §2.2).
    BareLf,
    BareCr,
    // Request line (RFC 9112 §3).
    InvalidMethod,
    InvalidRequestLine,
    InvalidTarget,
    InvalidTargetForm,
    AsteriskFormNotOptions,
    ConnectNeedsAuthority,
    TargetTooLong,
    InvalidVersion,
    UnsupportedVersion,
    // Header fields (RFC 9112 §5, RFC 9110 §5.5).
    InvalidHeaderName,
    WhitespaceBeforeColon,
    ObsFold,
    InvalidHeaderValue,
    TooManyHeaders,
    HeadTooLarge,
    // Host (RFC 9112 §3.2).
    MissingHost,
    DuplicateHost,
    InvalidHost,
    // Body framing (RFC 9112 §6).
    ContentLengthAndTransferEncoding,
    InvalidContentLength,
    ConflictingContentLength,
    BodyTooLarge,
    InvalidTransferEncoding,
    TransferEncodingNotChunked,
    ChunkedTwice,
    TransferEncodingInHttp10,
    UnsupportedTransferCoding,
    // Expectations (RFC 9110 §10.1.1).
    UnsupportedExpectation,
    // Chunked coding (RFC 9112 §7.1).
    InvalidChunkSize,
    InvalidChunkExtension,
    ChunkExtensionTooLong,
    MissingChunkCrlf,
    TrailersTooLarge,
}

impl ParseFault {
    /// Every kind, in declaration order.
    pub const ALL: [ParseFault; 35] = [
        ParseFault::BareLf,
        ParseFault::BareCr,
        ParseFault::InvalidMethod,
        ParseFault::InvalidRequestLine,
        ParseFault::InvalidTarget,
        ParseFault::InvalidTargetForm,
        ParseFault::AsteriskFormNotOptions,
        ParseFault::ConnectNeedsAuthority,
        ParseFault::TargetTooLong,
        ParseFault::InvalidVersion,
        ParseFault::UnsupportedVersion,
        ParseFault::InvalidHeaderName,
        ParseFault::WhitespaceBeforeColon,
        ParseFault::ObsFold,
        ParseFault::InvalidHeaderValue,
        ParseFault::TooManyHeaders,
        ParseFault::HeadTooLarge,
        ParseFault::MissingHost,
        ParseFault::DuplicateHost,
        ParseFault::InvalidHost,
        ParseFault::ContentLengthAndTransferEncoding,
        ParseFault::InvalidContentLength,
        ParseFault::ConflictingContentLength,
        ParseFault::BodyTooLarge,
        ParseFault::InvalidTransferEncoding,
        ParseFault::TransferEncodingNotChunked,
        ParseFault::ChunkedTwice,
        ParseFault::TransferEncodingInHttp10,
        ParseFault::UnsupportedTransferCoding,
        ParseFault::UnsupportedExpectation,
        ParseFault::InvalidChunkSize,
        ParseFault::InvalidChunkExtension,
        ParseFault::ChunkExtensionTooLong,
        ParseFault::MissingChunkCrlf,
        ParseFault::TrailersTooLarge,
    ];

    /// The HTTP status to answer with.
    pub fn status(self) -> u16 {
        use ParseFault::*;
        match self {
            TargetTooLong => 414,
            TooManyHeaders | HeadTooLarge | TrailersTooLarge => 431,
            BodyTooLarge => 413,
            UnsupportedExpectation => 417,
            UnsupportedTransferCoding => 501,
            UnsupportedVersion => 505,
            _ => 400,
        }
    }

    /// A short phrase naming the problem; it ends up in the response body.
    pub fn detail(self) -> &'static str {
        use ParseFault::*;
        match self {
            BareLf => "bare LF line ending",
            BareCr => "bare CR without LF",
            InvalidMethod => "invalid method",
            InvalidRequestLine => "invalid request line",
            InvalidTarget => "invalid character in request target",
            InvalidTargetForm => "invalid request target",
            AsteriskFormNotOptions => "asterisk-form target is only allowed with OPTIONS",
            ConnectNeedsAuthority => "CONNECT needs an authority-form target",
            TargetTooLong => "request target too long",
            InvalidVersion => "invalid HTTP version",
            UnsupportedVersion => "unsupported HTTP version",
            InvalidHeaderName => "invalid character in header name",
            WhitespaceBeforeColon => "whitespace between header name and colon",
            ObsFold => "obsolete line folding in header",
            InvalidHeaderValue => "invalid character in header value",
            TooManyHeaders => "too many header fields",
            HeadTooLarge => "request head too large",
            MissingHost => "missing Host header",
            DuplicateHost => "duplicate Host header",
            InvalidHost => "invalid Host header",
            ContentLengthAndTransferEncoding => "both Content-Length and Transfer-Encoding",
            InvalidContentLength => "invalid Content-Length",
            ConflictingContentLength => "conflicting Content-Length",
            BodyTooLarge => "request body too large",
            InvalidTransferEncoding => "invalid Transfer-Encoding",
            TransferEncodingNotChunked => "final transfer coding is not chunked",
            ChunkedTwice => "chunked applied more than once",
            TransferEncodingInHttp10 => "Transfer-Encoding in an HTTP/1.0 request",
            UnsupportedTransferCoding => "unsupported transfer coding",
            UnsupportedExpectation => "unsupported expectation",
            InvalidChunkSize => "invalid chunk size",
            InvalidChunkExtension => "invalid chunk extension",
            ChunkExtensionTooLong => "chunk extension too long",
            MissingChunkCrlf => "missing CRLF after chunk data",
            TrailersTooLarge => "trailer section too large",
        }
    }
}

impl std::fmt::Display for ParseFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status(), self.detail())
    }
}

impl std::error::Error for ParseFault {}
