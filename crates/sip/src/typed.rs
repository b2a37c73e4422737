//! Typed views of the headers crossbar interprets (RFC 3261 §20): `Via`, `From`/`To`/
//! `Contact`/`Route`/`Record-Route` (name-addr), `CSeq`. Parsed on demand from
//! [`crate::Headers`] values; printed with `Display`.

use std::fmt;

use crate::method::Method;
use crate::uri::{Host, Params, Uri};

/// One `Via` value (§20.42): `SIP/2.0/UDP host:port;branch=...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Via {
    /// The protocol name and version, `SIP/2.0` (compared case-insensitively).
    pub protocol: String,
    /// The transport token, upper-cased: `UDP`, `TCP`, `TLS`, `SCTP`, `WS` or any other token.
    pub transport: String,
    pub host: Host,
    pub port: Option<u16>,
    pub params: Params,
}

impl Via {
    pub fn branch(&self) -> Option<&str> {
        self.params.value("branch")
    }

    pub fn received(&self) -> Option<&str> {
        self.params.value("received")
    }

    /// `Some(None)` when the request asked for `rport` (RFC 3581) without a value yet.
    pub fn rport(&self) -> Option<Option<&str>> {
        self.params.get("rport")
    }
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{} {}", self.protocol, self.transport, self.host)?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        write!(f, "{}", self.params)
    }
}

/// A `name-addr` or `addr-spec` with header parameters (§20.10, §20.20, §20.39): the value
/// of `From`, `To`, `Contact`, `Route`, `Record-Route`, `Reply-To`, `P-Asserted-Identity`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameAddr {
    /// The display name, without surrounding quotes and with quoted-pairs kept as received.
    pub display: Option<String>,
    pub uri: Uri,
    /// Header parameters after the URI (`;tag=`, `;expires=`, `;q=`...).
    pub params: Params,
}

impl NameAddr {
    pub fn new(uri: Uri) -> NameAddr {
        NameAddr {
            display: None,
            uri,
            params: Params::new(),
        }
    }

    pub fn tag(&self) -> Option<&str> {
        self.params.value("tag")
    }
}

impl fmt::Display for NameAddr {
    /// Always prints the `<...>` form, so URI parameters and header parameters stay apart.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(display) = &self.display {
            write!(f, "\"{display}\" ")?;
        }
        write!(f, "<{}>{}", self.uri, self.params)
    }
}

/// `CSeq` (§20.16): a 32-bit sequence number and the request method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CSeq {
    pub seq: u32,
    pub method: Method,
}

impl fmt::Display for CSeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.seq, self.method)
    }
}

/// The `Contact` header of a REGISTER or dialog request (§20.10): `*` or a list of addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Contact {
    /// `Contact: *` — every binding (only with `Expires: 0`, §10.2.2).
    Star,
    Addresses(Vec<NameAddr>),
}
