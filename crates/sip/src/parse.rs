//! Parsing SIP messages (RFC 3261 §7, §25). The parser itself is being written (see the
//! crate docs); this file holds the error types every caller matches on.

use crate::header::Headers;
use crate::message::Message;

/// Why bytes are not a well-formed SIP message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}")]
pub struct ParseError {
    pub kind: ParseErrorKind,
    /// The header section, when the message could be split into header lines even though
    /// something else is wrong, so a server can still answer a bad request with 400
    /// (RFC 3261 §8.2, §16.3) using its `Via`, `From`, `To`, `Call-ID` and `CSeq`.
    pub headers: Option<Headers>,
    /// The message was a request (its first line did not start with `SIP/`).
    pub is_request: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseErrorKind {
    #[error("malformed start line: {0}")]
    StartLine(&'static str),
    #[error("unsupported SIP version")]
    Version,
    #[error("malformed header {name}: {reason}")]
    Header { name: String, reason: &'static str },
    #[error("malformed Request-URI: {0}")]
    RequestUri(&'static str),
    #[error("malformed URI: {0}")]
    Uri(&'static str),
    #[error("bad Content-Length: {0}")]
    ContentLength(&'static str),
    #[error("message incomplete")]
    Incomplete,
    #[error("message exceeds limit: {0}")]
    TooLarge(&'static str),
    #[error("missing mandatory header {0}")]
    Missing(&'static str),
    #[error("header {0} must appear once")]
    Duplicate(&'static str),
    #[error("CSeq method does not match the request method")]
    CSeqMismatch,
    #[error("not valid UTF-8")]
    Encoding,
}

impl ParseErrorKind {
    /// The status a server answers a request that failed this way with.
    pub fn status(&self) -> u16 {
        match self {
            ParseErrorKind::Version => 505,
            ParseErrorKind::TooLarge(_) => 513,
            _ => 400,
        }
    }
}

/// Parses one message from one UDP datagram (RFC 3261 §18.3).
pub fn parse_datagram(_datagram: &[u8]) -> Result<Message, ParseError> {
    Err(ParseError {
        kind: ParseErrorKind::Incomplete,
        headers: None,
        is_request: true,
    })
}
