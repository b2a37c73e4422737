//! Parsing (RFC 8866 §5, §9 grammar), liberal in what it accepts:
//!
//! - lines end in CRLF or a bare LF; trailing spaces, tabs and CRs are dropped;
//! - blank lines are skipped (SIPp bodies end with one);
//! - session-level lines may come in any order before the first `m=`;
//! - a missing `s=` or `t=` is tolerated (printing restores them);
//! - bytes that are not UTF-8 are replaced (U+FFFD) rather than rejected.
//!
//! Rejected: a body not starting with `v=`, no `o=`, a line that is not `<letter>=<value>`,
//! an unknown type letter (RFC 8866 §5 says such a description must be ignored entirely),
//! a once-only line twice in one section, a session-level line inside a media section, and
//! malformed `v=`, `o=`, `c=`, `b=`, `m=` fields.

use crate::error::{SdpError, SdpErrorReason};
use crate::model::{
    Attribute, Bandwidth, Connection, MediaDescription, Origin, SessionDescription, Timing,
};

impl SessionDescription {
    /// Parse an SDP body (RFC 8866 §5). See the module documentation for what is tolerated.
    pub fn parse(bytes: &[u8]) -> Result<SessionDescription, SdpError> {
        Parser::default().run(bytes)
    }
}

type Reason = SdpErrorReason;

#[derive(Default)]
struct Parser {
    seen_version: bool,
    version: u32,
    origin: Option<Origin>,
    session_name: Option<String>,
    info: Option<String>,
    uri: Option<String>,
    emails: Vec<String>,
    phones: Vec<String>,
    connection: Option<Connection>,
    bandwidths: Vec<Bandwidth>,
    times: Vec<Timing>,
    time_zones: Option<String>,
    key: Option<String>,
    attributes: Vec<Attribute>,
    media: Vec<MediaDescription>,
}

/// Sets a once-only field, or reports the duplicate.
fn set_once<T>(slot: &mut Option<T>, value: T, line_type: char) -> Result<(), Reason> {
    if slot.is_some() {
        return Err(Reason::Duplicate(line_type));
    }
    *slot = Some(value);
    Ok(())
}

impl Parser {
    fn run(mut self, bytes: &[u8]) -> Result<SessionDescription, SdpError> {
        let mut last_line = 0;
        for (index, raw) in bytes.split(|&b| b == b'\n').enumerate() {
            let number = index + 1;
            let text = String::from_utf8_lossy(raw);
            let line = text.trim_end_matches([' ', '\t', '\r']);
            if line.is_empty() {
                continue;
            }
            last_line = number;
            self.line(line).map_err(|reason| SdpError {
                line: number,
                reason,
            })?;
        }
        if !self.seen_version {
            return Err(SdpError {
                line: 0,
                reason: Reason::Empty,
            });
        }
        let origin = self.origin.ok_or(SdpError {
            line: last_line,
            reason: Reason::MissingOrigin,
        })?;
        Ok(SessionDescription {
            version: self.version,
            origin,
            session_name: self.session_name.unwrap_or_default(),
            info: self.info,
            uri: self.uri,
            emails: self.emails,
            phones: self.phones,
            connection: self.connection,
            bandwidths: self.bandwidths,
            times: self.times,
            time_zones: self.time_zones,
            key: self.key,
            attributes: self.attributes,
            media: self.media,
        })
    }

    fn line(&mut self, line: &str) -> Result<(), Reason> {
        let (kind, value) = line.split_once('=').ok_or(Reason::Malformed)?;
        let mut letters = kind.chars();
        let line_type = match (letters.next(), letters.next()) {
            (Some(c), None) if c.is_ascii_alphabetic() => c,
            _ => return Err(Reason::Malformed),
        };
        if !self.seen_version {
            if line_type != 'v' {
                return Err(Reason::MissingVersion);
            }
            self.version = number(value.trim(), 'v', "protocol version")?;
            self.seen_version = true;
            return Ok(());
        }
        if line_type == 'm' {
            self.media.push(parse_media(value)?);
            return Ok(());
        }
        if let Some(media) = self.media.last_mut() {
            return media_line(media, line_type, value);
        }
        match line_type {
            'o' => set_once(&mut self.origin, parse_origin(value)?, 'o'),
            's' => set_once(&mut self.session_name, value.to_owned(), 's'),
            'i' => set_once(&mut self.info, value.to_owned(), 'i'),
            'u' => set_once(&mut self.uri, value.to_owned(), 'u'),
            'e' => {
                self.emails.push(value.to_owned());
                Ok(())
            }
            'p' => {
                self.phones.push(value.to_owned());
                Ok(())
            }
            'c' => set_once(&mut self.connection, parse_connection(value)?, 'c'),
            'b' => {
                self.bandwidths.push(parse_bandwidth(value)?);
                Ok(())
            }
            't' => {
                self.times.push(Timing {
                    value: value.to_owned(),
                    repeats: Vec::new(),
                });
                Ok(())
            }
            'r' => {
                let timing = self.times.last_mut().ok_or(Reason::Misplaced('r'))?;
                timing.repeats.push(value.to_owned());
                Ok(())
            }
            'z' => set_once(&mut self.time_zones, value.to_owned(), 'z'),
            'k' => set_once(&mut self.key, value.to_owned(), 'k'),
            'a' => {
                self.attributes.push(parse_attribute(value)?);
                Ok(())
            }
            'v' => Err(Reason::Misplaced('v')),
            other => Err(Reason::UnknownType(other)),
        }
    }
}

/// A line inside a media section (RFC 8866 §5: `i=`, `c=`, `b=`, `k=`, `a=`).
fn media_line(media: &mut MediaDescription, line_type: char, value: &str) -> Result<(), Reason> {
    match line_type {
        'i' => set_once(&mut media.info, value.to_owned(), 'i'),
        'c' => set_once(&mut media.connection, parse_connection(value)?, 'c'),
        'b' => {
            media.bandwidths.push(parse_bandwidth(value)?);
            Ok(())
        }
        'k' => set_once(&mut media.key, value.to_owned(), 'k'),
        'a' => {
            media.attributes.push(parse_attribute(value)?);
            Ok(())
        }
        'v' | 'o' | 's' | 'u' | 'e' | 'p' | 't' | 'r' | 'z' => Err(Reason::Misplaced(line_type)),
        other => Err(Reason::UnknownType(other)),
    }
}

fn bad(line_type: char, field: &'static str) -> Reason {
    Reason::BadField { line_type, field }
}

/// A decimal number made of ASCII digits only (`str::parse` would also take a leading `+`).
fn number<T: std::str::FromStr>(
    text: &str,
    line_type: char,
    field: &'static str,
) -> Result<T, Reason> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad(line_type, field));
    }
    text.parse().map_err(|_| bad(line_type, field))
}

/// `o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>`
/// (RFC 8866 §5.2). Fields are separated by one or more spaces or tabs.
fn parse_origin(value: &str) -> Result<Origin, Reason> {
    let fields: Vec<&str> = value.split_ascii_whitespace().collect();
    let [username, session_id, version, net_type, addr_type, address] = fields[..] else {
        return Err(bad('o', "field count"));
    };
    let session_version = number(version, 'o', "session version")?;
    Ok(Origin {
        username: username.to_owned(),
        session_id: session_id.to_owned(),
        session_version,
        net_type: net_type.to_owned(),
        addr_type: addr_type.to_owned(),
        address: address.to_owned(),
    })
}

/// `c=<nettype> <addrtype> <connection-address>` (RFC 8866 §5.7).
fn parse_connection(value: &str) -> Result<Connection, Reason> {
    let fields: Vec<&str> = value.split_ascii_whitespace().collect();
    let [net_type, addr_type, address] = fields[..] else {
        return Err(bad('c', "field count"));
    };
    Ok(Connection {
        net_type: net_type.to_owned(),
        addr_type: addr_type.to_owned(),
        address: address.to_owned(),
    })
}

/// `b=<bwtype>:<bandwidth>` (RFC 8866 §5.8).
fn parse_bandwidth(value: &str) -> Result<Bandwidth, Reason> {
    let (bwtype, bandwidth) = value.split_once(':').ok_or(bad('b', "separator"))?;
    if bwtype.trim().is_empty() {
        return Err(bad('b', "bandwidth type"));
    }
    let bandwidth = number(bandwidth.trim(), 'b', "bandwidth")?;
    Ok(Bandwidth {
        bwtype: bwtype.trim().to_owned(),
        bandwidth,
    })
}

/// `a=<attribute-name>[:<attribute-value>]` (RFC 8866 §5.13).
fn parse_attribute(value: &str) -> Result<Attribute, Reason> {
    let (name, value) = match value.split_once(':') {
        Some((name, value)) => (name, Some(value.to_owned())),
        None => (value, None),
    };
    if name.is_empty() || name.contains([' ', '\t']) {
        return Err(bad('a', "attribute name"));
    }
    Ok(Attribute {
        name: name.to_owned(),
        value,
    })
}

/// `m=<media> <port>[/<number of ports>] <proto> <fmt> ...` (RFC 8866 §5.14). A media line
/// without formats is tolerated (some rejected streams are sent that way).
fn parse_media(value: &str) -> Result<MediaDescription, Reason> {
    let mut fields = value.split_ascii_whitespace();
    let media = fields.next().ok_or(bad('m', "media type"))?;
    let port_field = fields.next().ok_or(bad('m', "port"))?;
    let proto = fields.next().ok_or(bad('m', "transport protocol"))?;
    let (port, port_count) = match port_field.split_once('/') {
        Some((port, count)) => (port, Some(number(count, 'm', "number of ports")?)),
        None => (port_field, None),
    };
    let port = number(port, 'm', "port")?;
    Ok(MediaDescription {
        media: media.to_owned(),
        port,
        port_count,
        proto: proto.to_owned(),
        formats: fields.map(str::to_owned).collect(),
        info: None,
        connection: None,
        bandwidths: Vec::new(),
        key: None,
        attributes: Vec::new(),
    })
}
