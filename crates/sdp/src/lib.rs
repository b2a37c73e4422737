//! crossbar-sdp: SDP (RFC 8866, which obsoletes RFC 4566) model and the offer/answer rewriting
//! a media-relaying B2BUA does (RFC 3264), pure.
//!
//! - [`SessionDescription::parse`] reads a body liberally (LF-only line ends, trailing
//!   whitespace, blank lines and session-level lines out of order are accepted) and rejects
//!   garbage with a typed [`SdpError`] carrying the 1-based line number.
//! - [`SessionDescription`]'s `Display` / [`SessionDescription::to_bytes`] print CRLF lines in
//!   the order of RFC 8866 §5.
//! - Queries ([`SessionDescription::media_destination`], [`SessionDescription::direction`],
//!   [`SessionDescription::rtpmap`]...) answer what the media plane needs.
//! - [`relay_rewrite`] turns a peer's offer or answer into the one crossbar sends the other
//!   leg: relay address and ports, crossbar's own `o=` line, ICE removed, codecs untouched.
//!
//! No code path panics on peer input.

pub mod endpoint;
mod error;
mod model;
mod parse;
mod print;
mod query;
mod relay;

pub use error::{SdpError, SdpErrorReason};
pub use model::{
    Attribute, Bandwidth, Connection, Direction, MediaDescription, Origin, SessionDescription,
    Timing,
};
pub use relay::{OriginState, relay_rewrite};
