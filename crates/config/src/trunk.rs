//! `[[trunk]]`: SIP trunks to carriers — where they are, how crossbar authenticates to them and
//! recognises them, their limits, how numbers are written for them and what they charge.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::str::FromStr;

use crossbar_cdr::Rate;
use toml::Spanned;
use toml::de::DeValue;

use crate::destination::References;
use crate::extension::Secret;
use crate::inbound::DidSource;
use crate::load::{At, Loader, Section, closest, table_array, unique};
use crate::number::{check_dial_code, check_e164};
use crate::rate;
use crate::sip::{Sip, is_host, parse_socket_addr};

pub(crate) const KEYS: &[&str] = &[
    "name",
    "address",
    "transport",
    "listen",
    "register",
    "auth",
    "inbound_addresses",
    "options_interval_secs",
    "max_calls",
    "max_cps",
    "number_format",
    "strip",
    "prepend",
    "from_domain",
    "asserted_identity",
    "caller_id",
    "rates",
    "did_from",
    "default_destination",
];

pub(crate) const REGISTER_KEYS: &[&str] = &["username", "secret", "domain", "expires"];
pub(crate) const AUTH_KEYS: &[&str] = &["username", "secret"];

/// `options_interval_secs` when not set.
pub const DEFAULT_OPTIONS_INTERVAL_SECS: u32 = 30;
/// `register.expires` when not set.
pub const DEFAULT_REGISTER_EXPIRES_SECS: u32 = 3600;
/// Shortest `register.expires` accepted: registering more often only loads the carrier.
pub const MIN_REGISTER_EXPIRES_SECS: u32 = 60;

/// One `[[trunk]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trunk {
    /// Unique; routes and rates name it.
    pub name: String,
    /// `host[:port]`: an IP address or a DNS name. A name without a port is looked up with
    /// SRV first (RFC 3263 §4.2), then A/AAAA on 5060. An IPv6 address is written
    /// `[2001:db8::1]:5060` in the file and kept here without brackets.
    pub host: String,
    pub port: Option<u16>,
    pub transport: TrunkTransport,
    /// The listen address (one of `[sip] listen_udp`, or `listen_tcp` for a TCP trunk) the
    /// trunk's traffic leaves from, advertised in its `Via` and `Contact`; default: the
    /// first listen address of the transport's family, like every other request.
    pub listen: Option<SocketAddr>,
    /// Register to the carrier (`register = { username, secret, ... }`).
    pub register: Option<TrunkRegistration>,
    /// Credentials for the carrier's challenges to INVITEs; defaults to `register`'s (the
    /// default is resolved here: it is `None` only when neither is given).
    pub auth: Option<TrunkCredentials>,
    /// Requests from these addresses are the carrier's (IP authentication); the trunk's own
    /// resolved addresses are always included.
    pub inbound_addresses: Vec<Cidr>,
    /// Seconds between OPTIONS health checks; 0 disables them (the trunk is then always up).
    pub options_interval_secs: u32,
    /// Concurrent calls through the trunk; over it, routing skips the trunk.
    pub max_calls: Option<u32>,
    /// New calls per second through the trunk.
    pub max_cps: Option<u32>,
    /// How the dialled number is written in the Request-URI and `To`.
    pub number_format: NumberFormat,
    /// Leading characters removed after formatting, then `prepend` added (a tech prefix).
    pub strip: u32,
    pub prepend: String,
    /// Host of `From` (and `P-Asserted-Identity`); default: the trunk's host.
    pub from_domain: Option<String>,
    /// Send the caller ID in `P-Asserted-Identity` (RFC 3325) as well as in `From`: only for
    /// carriers that trust crossbar.
    pub asserted_identity: bool,
    /// The caller ID when neither the extension nor the route sets one (E.164).
    pub caller_id: Option<String>,
    /// The rate deck file (`rates = "rates/carrier-a.csv"`), resolved against the
    /// configuration file's directory.
    pub rates_file: Option<PathBuf>,
    /// Where its INVITEs carry the number called (the DID).
    pub did_from: crate::DidSource,
    /// Where a call to a DID no inbound route takes goes; `None`: 404, recorded `failed`.
    pub default_destination: Option<crate::Destination>,
    /// Every rate of the trunk: the deck's rows, then `[[rate]]` entries naming the trunk (a
    /// later row for the same prefix replaces an earlier one).
    pub rates: Vec<RateRow>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrunkTransport {
    Udp,
    Tcp,
}

impl TrunkTransport {
    pub const ALL: [TrunkTransport; 2] = [TrunkTransport::Udp, TrunkTransport::Tcp];

    pub fn as_str(self) -> &'static str {
        match self {
            TrunkTransport::Udp => "udp",
            TrunkTransport::Tcp => "tcp",
        }
    }
}

/// How a trunk wants numbers written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NumberFormat {
    /// `+441632960001` (the default).
    E164,
    /// National form for numbers of the site's country (`01632960001`), international
    /// form with the site's international prefix for the others.
    National,
    /// International prefix and country code, no `+` (`00441632960001`; `011...` from the US).
    International,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrunkRegistration {
    pub username: String,
    pub secret: Secret,
    /// The registrar's domain in the Request-URI and the AOR; default: the trunk's host.
    pub domain: Option<String>,
    /// Expiry asked for, in seconds (default 3600); refreshed before it runs out.
    pub expires_secs: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrunkCredentials {
    pub username: String,
    pub secret: Secret,
}

impl NumberFormat {
    pub const ALL: [NumberFormat; 3] = [
        NumberFormat::E164,
        NumberFormat::National,
        NumberFormat::International,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NumberFormat::E164 => "e164",
            NumberFormat::National => "national",
            NumberFormat::International => "international",
        }
    }
}

/// An address block: `203.0.113.0/24`, `2001:db8::/32`, or one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cidr {
    pub address: IpAddr,
    pub prefix_len: u8,
}

/// Why a text is not an address block.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CidrError {
    #[error(
        "`{0}` is not an IP address or address block (e.g. 203.0.113.0/24, 198.51.100.7, \
         2001:db8::/32)"
    )]
    Invalid(String),
    #[error("`{text}`: the prefix length must be at most {max}")]
    PrefixTooLong { text: String, max: u8 },
    /// `203.0.113.7/24`: bits beyond the prefix are set, so it is unclear whether the block
    /// or the one address was meant.
    #[error(
        "`{text}` has bits set after the /{prefix_len} prefix: write `{corrected}` for the \
         block, or `{address}` for the one address"
    )]
    HostBits {
        text: String,
        prefix_len: u8,
        corrected: Cidr,
        address: IpAddr,
    },
}

impl FromStr for Cidr {
    type Err = CidrError;

    /// `203.0.113.0/24`, `2001:db8::/32`, or one address (`198.51.100.7` is a /32).
    fn from_str(text: &str) -> Result<Cidr, CidrError> {
        let invalid = || CidrError::Invalid(text.to_owned());
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let address: IpAddr = address.parse().map_err(|_| invalid())?;
        let max: u8 = if address.is_ipv4() { 32 } else { 128 };
        let prefix_len = match prefix {
            None => max,
            Some(p) if !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()) => {
                let len: u8 = p.parse().map_err(|_| invalid())?;
                if len > max {
                    return Err(CidrError::PrefixTooLong {
                        text: text.to_owned(),
                        max,
                    });
                }
                len
            }
            Some(_) => return Err(invalid()),
        };
        let cidr = Cidr {
            address,
            prefix_len,
        };
        let network = cidr.network();
        if network != address {
            return Err(CidrError::HostBits {
                text: text.to_owned(),
                prefix_len,
                corrected: Cidr {
                    address: network,
                    prefix_len,
                },
                address,
            });
        }
        Ok(cidr)
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix_len)
    }
}

impl Cidr {
    /// The address with every bit after the prefix cleared.
    pub fn network(&self) -> IpAddr {
        match self.address {
            IpAddr::V4(ip) => {
                let bits = u32::from(self.prefix_len.min(32));
                let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
                IpAddr::V4((u32::from(ip) & mask).into())
            }
            IpAddr::V6(ip) => {
                let bits = u32::from(self.prefix_len.min(128));
                let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
                IpAddr::V6((u128::from(ip) & mask).into())
            }
        }
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.address, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let bits = u32::from(self.prefix_len.min(32));
                let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let bits = u32::from(self.prefix_len.min(128));
                let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// One rate: calls to numbers starting with `prefix` (E.164 digits without `+`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateRow {
    pub prefix: String,
    pub rate: Rate,
}

/// Every `[[trunk]]`, and what routes, rates and `[site]` need to check their references.
pub(crate) struct Trunks {
    pub trunks: Vec<Trunk>,
    /// Names of every trunk whose name is valid, even those with other problems.
    pub names: Vec<String>,
    /// Names of the trunks with a rate deck (`rates = ...`), loaded or not.
    pub with_deck: Vec<String>,
    /// Where the first `[[trunk]]` starts.
    pub first: Option<At<()>>,
}

pub(crate) fn parse_all(
    ld: &mut Loader<'_>,
    value: &Spanned<DeValue<'_>>,
    sip: &Sip,
    references: &mut References,
) -> Trunks {
    let mut trunks = Vec::new();
    let mut seen: Vec<At<String>> = Vec::new();
    let mut with_deck = Vec::new();
    let sections = table_array(ld, "trunk", value);
    let first = sections.first().map(|s| At {
        value: (),
        span: s.header.clone(),
    });
    for section in sections {
        let errors_before = ld.error_count();
        let name = section.name(ld);
        if let Some(name) = &name {
            unique(
                ld,
                &mut seen,
                name.clone(),
                &section.key("name"),
                "trunk name",
            );
            if section.value("rates").is_some() {
                with_deck.push(name.value.clone());
            }
        }
        let trunk = parse_one(ld, &section, sip, references);
        if let (Some(name), Some(mut trunk)) = (name, trunk)
            && ld.error_count() == errors_before
        {
            trunk.name = name.value;
            trunks.push(trunk);
        }
    }
    Trunks {
        trunks,
        names: seen.into_iter().map(|s| s.value).collect(),
        with_deck,
        first,
    }
}

/// The trunk without its name (filled in by the caller), if every key is valid.
fn parse_one(
    ld: &mut Loader<'_>,
    section: &Section<'_, '_>,
    sip: &Sip,
    references: &mut References,
) -> Option<Trunk> {
    let errors_before = ld.error_count();
    section.reject_unknown_keys(ld, KEYS);

    section.require(ld, "address");
    let address = section
        .string(ld, "address")
        .and_then(|a| match parse_address(a.value) {
            Ok(address) => Some(address),
            Err(message) => {
                ld.error(&a.span, &section.key("address"), message);
                None
            }
        });
    let transport = section
        .choice(
            ld,
            "transport",
            "transport",
            &TrunkTransport::ALL.map(|t| (t.as_str(), t)),
        )
        .map_or(TrunkTransport::Udp, |t| t.value);
    let listen = section.string(ld, "listen").and_then(|l| {
        let listeners = match transport {
            TrunkTransport::Udp => (&sip.listen_udp, "listen_udp"),
            TrunkTransport::Tcp => (&sip.listen_tcp, "listen_tcp"),
        };
        match parse_socket_addr(l.value) {
            Ok(addr) if listeners.0.contains(&addr) => Some(addr),
            Ok(addr) => {
                let known: Vec<String> = listeners.0.iter().map(ToString::to_string).collect();
                ld.error(
                    &l.span,
                    &section.key("listen"),
                    format!(
                        "`{addr}` is not one of [sip] {}: {}",
                        listeners.1,
                        if known.is_empty() {
                            "none is set".to_owned()
                        } else {
                            known.join(", ")
                        }
                    ),
                );
                None
            }
            Err(message) => {
                ld.error(&l.span, &section.key("listen"), message);
                None
            }
        }
    });

    let register = section.table(ld, "register").and_then(|register| {
        let errors_before = ld.error_count();
        register.reject_unknown_keys(ld, REGISTER_KEYS);
        let credentials = credentials(ld, &register);
        let domain = host_name(ld, &register, "domain");
        let expires_secs = register
            .u32_at_least(ld, "expires", MIN_REGISTER_EXPIRES_SECS)
            .map_or(DEFAULT_REGISTER_EXPIRES_SECS, |e| e.value);
        let credentials = credentials.filter(|_| ld.error_count() == errors_before)?;
        Some(TrunkRegistration {
            username: credentials.username,
            secret: credentials.secret,
            domain,
            expires_secs,
        })
    });
    let auth = section.table(ld, "auth").and_then(|auth| {
        auth.reject_unknown_keys(ld, AUTH_KEYS);
        credentials(ld, &auth)
    });
    let auth = auth.or_else(|| {
        register.as_ref().map(|r| TrunkCredentials {
            username: r.username.clone(),
            secret: r.secret.clone(),
        })
    });

    let mut inbound_addresses: Vec<Cidr> = Vec::new();
    if let Some(list) = section.string_array(ld, "inbound_addresses") {
        let key = section.key("inbound_addresses");
        for item in &list.value {
            match item.value.parse::<Cidr>() {
                Ok(cidr) if inbound_addresses.contains(&cidr) => {
                    ld.error(
                        &item.span,
                        &key,
                        format!("`{}` is listed twice", item.value),
                    );
                }
                Ok(cidr) => inbound_addresses.push(cidr),
                Err(e) => ld.error(&item.span, &key, e.to_string()),
            }
        }
    }

    let options_interval_secs = section
        .u32_at_least(ld, "options_interval_secs", 0)
        .map_or(DEFAULT_OPTIONS_INTERVAL_SECS, |i| i.value);
    let limit = |ld: &mut Loader<'_>, key: &str| {
        let at = section.u32_at_least(ld, key, 0)?;
        if at.value == 0 {
            ld.error(
                &at.span,
                &section.key(key),
                "must be at least 1, found 0 (leave the key out for no limit)",
            );
            return None;
        }
        Some(at.value)
    };
    let max_calls = limit(ld, "max_calls");
    let max_cps = limit(ld, "max_cps");
    let number_format = section
        .choice(
            ld,
            "number_format",
            "number format",
            &NumberFormat::ALL.map(|f| (f.as_str(), f)),
        )
        .map_or(NumberFormat::E164, |f| f.value);
    let strip = section.u32_at_least(ld, "strip", 0).map_or(0, |s| s.value);
    let prepend = match section.string(ld, "prepend") {
        Some(p) if p.value.is_empty() => String::new(),
        Some(p) => {
            let digits = p.value.strip_prefix('+').unwrap_or(p.value);
            if let Err(message) = check_dial_code(digits, false) {
                ld.error(&p.span, &section.key("prepend"), message);
            }
            p.value.to_owned()
        }
        None => String::new(),
    };
    let from_domain = host_name(ld, section, "from_domain");
    let asserted_identity = section
        .boolean(ld, "asserted_identity")
        .is_some_and(|b| b.value);
    let caller_id = section.string(ld, "caller_id").map(|c| {
        if let Err(message) = check_e164(c.value) {
            ld.error(&c.span, &section.key("caller_id"), message);
        }
        c.value.to_owned()
    });
    let (rates_file, rates) = match section.string(ld, "rates") {
        Some(file) => match rate::load_deck(ld, file.value) {
            Ok((path, rows)) => (Some(path), rows),
            Err(message) => {
                ld.error(&file.span, &section.key("rates"), message);
                (None, Vec::new())
            }
        },
        None => (None, Vec::new()),
    };

    let did_from = section
        .string(ld, "did_from")
        .and_then(|source| match parse_did_source(source.value) {
            Ok(did_from) => Some(did_from),
            Err(message) => {
                ld.error(&source.span, &section.key("did_from"), message);
                None
            }
        })
        .unwrap_or_default();
    let default_destination = references.read(ld, section, "default_destination", None);

    let (host, port) = address?;
    (ld.error_count() == errors_before).then(|| Trunk {
        name: String::new(),
        host,
        port,
        transport,
        listen,
        register,
        auth,
        inbound_addresses,
        options_interval_secs,
        max_calls,
        max_cps,
        number_format,
        strip,
        prepend,
        from_domain,
        asserted_identity,
        caller_id,
        did_from,
        default_destination,
        rates_file,
        rates,
    })
}

/// `request_uri`, `to`, or `header:NAME` with NAME a header field name (RFC 3261 §25.1
/// `token`, e.g. `header:P-Called-Party-ID`, RFC 3455 §4.2).
fn parse_did_source(text: &str) -> Result<DidSource, String> {
    const FORMS: &str = "request_uri, to, header:NAME (e.g. header:P-Called-Party-ID)";
    match text {
        "request_uri" => return Ok(DidSource::RequestUri),
        "to" => return Ok(DidSource::To),
        _ => {}
    }
    if let Some(name) = text.strip_prefix("header:") {
        let token = |c: char| c.is_ascii_alphanumeric() || "-.!%*_+`'~".contains(c);
        return match name.chars().find(|c| !token(*c)) {
            _ if name.is_empty() => Err(format!(
                "`{text}` names no header: write header:NAME (e.g. header:P-Called-Party-ID)"
            )),
            Some(bad) => Err(format!(
                "`{name}` is not a header name: it contains `{bad}` (a header name is letters, \
                 digits and -.!%*_+`'~, RFC 3261 §25.1)"
            )),
            None => Ok(DidSource::Header(name.to_owned())),
        };
    }
    let mut message = format!("unknown DID source `{text}`, expected one of: {FORMS}");
    let candidates = ["request_uri", "to", "header:"];
    if let Some(close) = closest(text, &candidates) {
        message.push_str(&format!(" (did you mean `{close}`?)"));
    } else if text.contains(':') || text.starts_with(|c: char| c.is_ascii_uppercase()) {
        message.push_str(&format!(
            " (did you mean `header:{}`?)",
            text.rsplit(':').next().unwrap_or(text)
        ));
    }
    Err(message)
}

/// `username` and `secret`, both required and non-empty.
fn credentials(ld: &mut Loader<'_>, section: &Section<'_, '_>) -> Option<TrunkCredentials> {
    section.require(ld, "username");
    section.require(ld, "secret");
    let mut text = |key: &str, what: &str| {
        let at = section.string(ld, key)?;
        if at.value.is_empty() {
            ld.error(&at.span, &section.key(key), "must not be empty");
            None
        } else if at.value.chars().any(char::is_control) {
            ld.error(
                &at.span,
                &section.key(key),
                format!("must not contain control characters (it is sent in the {what})"),
            );
            None
        } else {
            Some(at.value.to_owned())
        }
    };
    let username = text("username", "digest response");
    let secret = text("secret", "digest response");
    Some(TrunkCredentials {
        username: username?,
        secret: Secret::new(secret?),
    })
}

/// An optional host name or IP address.
fn host_name(ld: &mut Loader<'_>, section: &Section<'_, '_>, key: &str) -> Option<String> {
    let host = section.string(ld, key)?;
    if !is_host(host.value) {
        ld.error(
            &host.span,
            &section.key(key),
            format!(
                "`{}` is not a host name or IP address (e.g. sip.carrier.example)",
                host.value
            ),
        );
    }
    Some(host.value.to_owned())
}

/// `host[:port]`, `[v6]:port`: the host (IPv6 without brackets) and the port if given.
pub(crate) fn parse_address(text: &str) -> Result<(String, Option<u16>), String> {
    const EXAMPLE: &str = "e.g. sip.carrier.example, 203.0.113.5:5060 or [2001:db8::5]:5060";
    if text.trim().is_empty() {
        return Err(format!("must not be empty ({EXAMPLE})"));
    }
    for scheme in ["sip:", "sips:"] {
        if text.starts_with(scheme)
            && !text[scheme.len()..].starts_with(|c: char| c.is_ascii_digit())
        {
            return Err(format!(
                "`{text}`: write the address without `{scheme}` ({EXAMPLE})"
            ));
        }
    }
    let port = |port: &str| -> Result<u16, String> {
        match port.parse::<u16>() {
            Ok(p) if p > 0 && port.bytes().all(|b| b.is_ascii_digit()) => Ok(p),
            _ => Err(format!(
                "`{text}` has a bad port `{port}`: expected a number from 1 to 65535"
            )),
        }
    };
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let (inside, after) = rest
            .split_once(']')
            .ok_or_else(|| format!("`{text}`: `]` is missing after the IPv6 address"))?;
        if inside.parse::<Ipv6Addr>().is_err() {
            return Err(format!("`{text}`: `{inside}` is not an IPv6 address"));
        }
        let port = match after {
            "" => None,
            _ => match after.strip_prefix(':') {
                Some(p) => Some(port(p)?),
                None => return Err(format!("`{text}`: expected `:port` after `]`")),
            },
        };
        (inside, port)
    } else if text.matches(':').count() > 1 {
        return Err(if text.parse::<Ipv6Addr>().is_ok() {
            format!("`{text}`: write an IPv6 address in brackets, e.g. [{text}]:5060")
        } else {
            format!("`{text}` is not host[:port] ({EXAMPLE})")
        });
    } else {
        match text.split_once(':') {
            Some((host, p)) => (host, Some(port(p)?)),
            None => (text, None),
        }
    };
    if host.is_empty() {
        return Err(format!("`{text}` has no host ({EXAMPLE})"));
    }
    if !is_host(host) {
        return Err(format!(
            "`{host}` is not a host name or IP address ({EXAMPLE})"
        ));
    }
    Ok((host.to_owned(), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_host_and_optional_port() {
        let ok = |text: &str| parse_address(text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            ok("sip.carrier.example"),
            ("sip.carrier.example".to_owned(), None)
        );
        assert_eq!(ok("127.0.0.1:5070"), ("127.0.0.1".to_owned(), Some(5070)));
        assert_eq!(ok("[::1]:5060"), ("::1".to_owned(), Some(5060)));
        assert_eq!(ok("[2001:db8::5]"), ("2001:db8::5".to_owned(), None));
        for (bad, problem) in [
            ("", "must not be empty"),
            ("carrier.example:0", "bad port `0`"),
            ("carrier.example:70000", "bad port `70000`"),
            ("carrier.example:", "bad port ``"),
            (":5060", "has no host"),
            ("::1", "in brackets"),
            ("[::1", "`]` is missing"),
            ("[::1]5060", "expected `:port`"),
            ("sip:carrier.example", "without `sip:`"),
            ("carrier_a.example", "not a host name"),
        ] {
            let error = parse_address(bad).expect_err(bad);
            assert!(error.contains(problem), "{bad}: {error}");
        }
    }

    #[test]
    fn blocks_with_bits_after_the_prefix_are_corrected() {
        let cidr: Cidr = "203.0.113.0/24".parse().unwrap();
        assert!(cidr.contains("203.0.113.77".parse().unwrap()));
        assert!(!cidr.contains("203.0.114.1".parse().unwrap()));
        let one: Cidr = "198.51.100.7".parse().unwrap();
        assert_eq!(one.prefix_len, 32);
        let v6: Cidr = "2001:db8::/32".parse().unwrap();
        assert_eq!(v6.to_string(), "2001:db8::/32");
        let error = "203.0.113.7/24".parse::<Cidr>().unwrap_err();
        assert_eq!(
            error.to_string(),
            "`203.0.113.7/24` has bits set after the /24 prefix: write `203.0.113.0/24` for the \
             block, or `203.0.113.7` for the one address"
        );
        assert!(matches!(
            "10.0.0.0/33".parse::<Cidr>(),
            Err(CidrError::PrefixTooLong { max: 32, .. })
        ));
        for bad in ["10.0.0.0/", "10.0.0/8", "10.0.0.0/+8", "host.example/24"] {
            assert!(
                matches!(bad.parse::<Cidr>(), Err(CidrError::Invalid(_))),
                "{bad}"
            );
        }
    }
}
