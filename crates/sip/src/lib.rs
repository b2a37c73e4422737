//! The SIP message model (RFC 3261 §7, §20, §25): requests, responses, URIs and the typed
//! headers a PBX interprets. Every other header is kept as text and relayed verbatim.
//!
//! Pure: no sockets, no clocks. `parse` turns bytes into [`Message`]s (one datagram, or a
//! TCP stream through [`framing::StreamFramer`]); `Display`/[`Message::encode`] print them.

pub mod framing;
pub mod header;
pub mod message;
pub mod method;
pub mod parse;
pub mod status;
pub mod typed;
pub mod uri;

pub use bytes::Bytes;
pub use framing::{Frame, FrameError, StreamFramer};
pub use header::{Header, HeaderName, Headers};
pub use message::{Message, Request, Response};
pub use method::Method;
pub use parse::{Limits, ParseError, ParseErrorKind, parse_datagram, parse_datagram_with};
pub use typed::{CSeq, Contact, NameAddr, Via};
pub use uri::{Host, Params, SipUri, TelUri, Uri};
