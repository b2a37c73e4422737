//! The SDP data model (RFC 8866 §5). Every field is kept as the peer sent it, except that
//! trailing whitespace is dropped from each line.

use std::net::IpAddr;

/// One SDP session description (RFC 8866 §5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDescription {
    /// `v=` (RFC 8866 §5.1), always 0 in practice.
    pub version: u32,
    /// `o=` (RFC 8866 §5.2).
    pub origin: Origin,
    /// `s=` (RFC 8866 §5.3). A missing or empty `s=` parses as `""`, which prints as `s=-`.
    pub session_name: String,
    /// `i=` at session level (RFC 8866 §5.4).
    pub info: Option<String>,
    /// `u=` (RFC 8866 §5.5).
    pub uri: Option<String>,
    /// `e=` lines (RFC 8866 §5.6).
    pub emails: Vec<String>,
    /// `p=` lines (RFC 8866 §5.6).
    pub phones: Vec<String>,
    /// Session-level `c=` (RFC 8866 §5.7), the default for media without their own.
    pub connection: Option<Connection>,
    /// Session-level `b=` lines (RFC 8866 §5.8).
    pub bandwidths: Vec<Bandwidth>,
    /// `t=` lines with their `r=` lines (RFC 8866 §5.9, §5.10), kept raw. When empty, `t=0 0`
    /// is printed, since the line is mandatory.
    pub times: Vec<Timing>,
    /// `z=` (RFC 8866 §5.11), raw.
    pub time_zones: Option<String>,
    /// Session-level `k=` (RFC 4566 §5.12; obsolete in RFC 8866 but still parsed), raw.
    pub key: Option<String>,
    /// Session-level `a=` lines (RFC 8866 §5.13), in order.
    pub attributes: Vec<Attribute>,
    /// Media descriptions (RFC 8866 §5.14), in order.
    pub media: Vec<MediaDescription>,
}

/// The `o=` line (RFC 8866 §5.2):
/// `o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub username: String,
    /// Kept as text: only its identity matters and peers use all sorts of values.
    pub session_id: String,
    /// RFC 3264 §5: representable as a 64-bit integer.
    pub session_version: u64,
    pub net_type: String,
    pub addr_type: String,
    pub address: String,
}

/// A `t=` line and the `r=` lines that follow it (RFC 8866 §5.9, §5.10), kept raw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timing {
    /// The value of `t=`, e.g. `0 0`.
    pub value: String,
    /// The values of the `r=` lines.
    pub repeats: Vec<String>,
}

/// A `c=` line (RFC 8866 §5.7): `c=<nettype> <addrtype> <connection-address>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// `IN`.
    pub net_type: String,
    /// `IP4` or `IP6`.
    pub addr_type: String,
    /// The address as sent, multicast `/ttl` and `/count` suffixes included.
    pub address: String,
}

impl Connection {
    /// `IN IP4 <ip>` or `IN IP6 <ip>`, as the address family says.
    pub fn from_ip(ip: IpAddr) -> Connection {
        Connection {
            net_type: "IN".to_owned(),
            addr_type: addr_type_of(ip).to_owned(),
            address: ip.to_string(),
        }
    }

    /// The address as an IP address (multicast suffixes ignored); `None` for an FQDN or
    /// anything else that is not a literal address.
    pub fn ip(&self) -> Option<IpAddr> {
        let literal = self.address.split('/').next().unwrap_or_default();
        literal.parse().ok()
    }
}

/// `IP4` or `IP6` (RFC 8866 §5.7) for an address.
pub(crate) fn addr_type_of(ip: IpAddr) -> &'static str {
    match ip {
        IpAddr::V4(_) => "IP4",
        IpAddr::V6(_) => "IP6",
    }
}

/// A `b=` line (RFC 8866 §5.8): `b=<bwtype>:<bandwidth>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bandwidth {
    /// `AS`, `CT`, `TIAS`...
    pub bwtype: String,
    pub bandwidth: u64,
}

/// An `a=` line (RFC 8866 §5.13): `a=<name>` or `a=<name>:<value>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    pub name: String,
    /// Everything after the first `:`; `None` for a property attribute such as `a=sendrecv`.
    pub value: Option<String>,
}

impl Attribute {
    /// A property attribute (`a=<name>`).
    pub fn property(name: impl Into<String>) -> Attribute {
        Attribute {
            name: name.into(),
            value: None,
        }
    }

    /// A value attribute (`a=<name>:<value>`).
    pub fn with_value(name: impl Into<String>, value: impl Into<String>) -> Attribute {
        Attribute {
            name: name.into(),
            value: Some(value.into()),
        }
    }

    /// Attribute names are compared ASCII case-insensitively, to be liberal.
    pub(crate) fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }
}

/// One media description (RFC 8866 §5.14): the `m=` line and the lines up to the next one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaDescription {
    /// `audio`, `video`, `application`...
    pub media: String,
    /// 0 marks a rejected or disabled stream (RFC 3264 §6).
    pub port: u16,
    /// The `/<number of ports>` suffix.
    pub port_count: Option<u16>,
    /// `RTP/AVP`, `RTP/SAVP`, `UDP/TLS/RTP/SAVPF`...
    pub proto: String,
    /// The formats (RTP payload types for RTP protocols), as text, in order.
    pub formats: Vec<String>,
    /// Media-level `i=`.
    pub info: Option<String>,
    /// Media-level `c=`. Only one is kept: a second `c=` (multicast layering) is rejected.
    pub connection: Option<Connection>,
    /// Media-level `b=` lines.
    pub bandwidths: Vec<Bandwidth>,
    /// Media-level `k=`, raw.
    pub key: Option<String>,
    /// Media-level `a=` lines, in order.
    pub attributes: Vec<Attribute>,
}

impl MediaDescription {
    /// The first attribute with this name (ASCII case-insensitive).
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.is(name))
    }
}

impl SessionDescription {
    /// The first session-level attribute with this name (ASCII case-insensitive).
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.is(name))
    }
}

/// The direction of a stream (RFC 3264 §5.1, §6.1; RFC 8866 §6.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

impl Direction {
    /// The attribute name (`sendrecv`...).
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    /// The direction an attribute name denotes, ASCII case-insensitive.
    pub fn from_attribute_name(name: &str) -> Option<Direction> {
        [
            Direction::SendRecv,
            Direction::SendOnly,
            Direction::RecvOnly,
            Direction::Inactive,
        ]
        .into_iter()
        .find(|d| d.as_str().eq_ignore_ascii_case(name))
    }

    /// The direction with receiving removed: what a stream becomes when its owner will not
    /// receive media (RFC 2543 hold, `c=0.0.0.0`; RFC 3264 §8.4).
    pub fn without_receive(self) -> Direction {
        match self {
            Direction::SendRecv | Direction::SendOnly => Direction::SendOnly,
            Direction::RecvOnly | Direction::Inactive => Direction::Inactive,
        }
    }
}

impl std::fmt::Display for Direction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
