//! `[sip]`: where crossbar listens for SIP and how it names itself.

use std::net::{IpAddr, SocketAddr};

use crate::load::{At, Loader, Section};

pub(crate) const KEYS: &[&str] = &[
    "listen_udp",
    "listen_tcp",
    "domain",
    "realm",
    "user_agent",
    "tcp_incomplete_timeout_secs",
];

/// The default SIP listen address for UDP (and TCP, unless `listen_tcp` is given).
pub const DEFAULT_LISTEN: SocketAddr =
    SocketAddr::new(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), 5060);
/// Digest realm used when neither `realm` nor `domain` is set.
pub const DEFAULT_REALM: &str = "crossbar";
/// `Server`/`User-Agent` header value used when `user_agent` is not set.
pub const DEFAULT_USER_AGENT: &str = "crossbar";
/// Seconds a partly received message may wait on a TCP connection for the rest, when
/// `tcp_incomplete_timeout_secs` is not set.
const DEFAULT_TCP_INCOMPLETE_TIMEOUT_SECS: u32 = 30;

/// The `[sip]` section, with defaults resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sip {
    /// UDP listen addresses; default `["0.0.0.0:5060"]`; may be empty (no UDP).
    pub listen_udp: Vec<SocketAddr>,
    /// TCP listen addresses; default: the same as `listen_udp`; `[]` disables TCP.
    pub listen_tcp: Vec<SocketAddr>,
    /// The SIP domain this PBX is authoritative for (host part of its users' AORs), if set.
    pub domain: Option<String>,
    /// Digest authentication realm (RFC 3261 §22.1): `realm`, else `domain`, else `"crossbar"`.
    pub realm: String,
    /// Value of the `Server` and `User-Agent` headers crossbar sends.
    pub user_agent: String,
    /// How long a TCP connection may hold a partly received message before crossbar closes
    /// it (RFC 4475 §3.1.2.2: a `Content-Length` larger than what arrives). Default 30, at
    /// least 1.
    pub tcp_incomplete_timeout_secs: u32,
}

impl Default for Sip {
    fn default() -> Self {
        Sip {
            listen_udp: vec![DEFAULT_LISTEN],
            listen_tcp: vec![DEFAULT_LISTEN],
            domain: None,
            realm: DEFAULT_REALM.to_owned(),
            user_agent: DEFAULT_USER_AGENT.to_owned(),
            tcp_incomplete_timeout_secs: DEFAULT_TCP_INCOMPLETE_TIMEOUT_SECS,
        }
    }
}

pub(crate) fn parse(ld: &mut Loader<'_>, section: &Section<'_, '_>) -> Sip {
    section.reject_unknown_keys(ld, KEYS);
    let mut sip = Sip::default();

    let errors_before = ld.error_count();
    let udp = listen_list(ld, section, "listen_udp");
    let tcp = listen_list(ld, section, "listen_tcp");
    if let Some(udp) = &udp {
        sip.listen_udp = udp.value.clone();
    }
    sip.listen_tcp = match &tcp {
        Some(tcp) => tcp.value.clone(),
        None => sip.listen_udp.clone(),
    };
    // Only when both lists are valid: a list emptied by a bad entry is already reported.
    if ld.error_count() == errors_before && sip.listen_udp.is_empty() && sip.listen_tcp.is_empty() {
        let span = tcp
            .as_ref()
            .or(udp.as_ref())
            .map_or(section.header.clone(), |list| list.span.clone());
        ld.error(
            &span,
            &section.key(if tcp.is_some() { "listen_tcp" } else { "listen_udp" }),
            "crossbar must listen on at least one address: listen_udp and listen_tcp are both empty",
        );
    }

    if let Some(domain) = section.string(ld, "domain") {
        if is_host(domain.value) {
            sip.domain = Some(domain.value.to_owned());
        } else {
            ld.error(
                &domain.span,
                &section.key("domain"),
                format!(
                    "`{}` is not a host name or IP address (e.g. pbx.example.com)",
                    domain.value
                ),
            );
        }
    }

    sip.realm = match section.string(ld, "realm") {
        Some(realm) => {
            if realm.value.is_empty() {
                ld.error(&realm.span, &section.key("realm"), "must not be empty");
            } else if realm
                .value
                .chars()
                .any(|c| c.is_control() || c == '"' || c == '\\')
            {
                ld.error(
                    &realm.span,
                    &section.key("realm"),
                    "must not contain quotes, backslashes or control characters (it is sent as a quoted string)",
                );
            }
            realm.value.to_owned()
        }
        None => sip
            .domain
            .clone()
            .unwrap_or_else(|| DEFAULT_REALM.to_owned()),
    };

    if let Some(user_agent) = section.string(ld, "user_agent") {
        if user_agent.value.trim().is_empty() {
            ld.error(
                &user_agent.span,
                &section.key("user_agent"),
                "must not be empty",
            );
        } else if user_agent.value.chars().any(char::is_control) {
            ld.error(
                &user_agent.span,
                &section.key("user_agent"),
                "must not contain control characters (it is sent as a header value)",
            );
        }
        sip.user_agent = user_agent.value.to_owned();
    }

    if let Some(timeout) = section.u32_at_least(ld, "tcp_incomplete_timeout_secs", 1) {
        sip.tcp_incomplete_timeout_secs = timeout.value;
    }
    sip
}

/// A list of socket addresses; each bad or repeated entry is reported at its own position.
fn listen_list(
    ld: &mut Loader<'_>,
    section: &Section<'_, '_>,
    key: &str,
) -> Option<At<Vec<SocketAddr>>> {
    let list = section.string_array(ld, key)?;
    let mut addrs: Vec<SocketAddr> = Vec::with_capacity(list.value.len());
    for item in &list.value {
        match parse_socket_addr(item.value) {
            Ok(addr) if addrs.contains(&addr) => ld.error(
                &item.span,
                &section.key(key),
                format!("`{addr}` is listed twice"),
            ),
            Ok(addr) => addrs.push(addr),
            Err(message) => ld.error(&item.span, &section.key(key), message),
        }
    }
    Some(At {
        value: addrs,
        span: list.span,
    })
}

/// Parses `IP:port` (`[v6]:port` for IPv6), with a message fit for a configuration error.
pub(crate) fn parse_socket_addr(text: &str) -> Result<SocketAddr, String> {
    text.parse::<SocketAddr>().map_err(|_| {
        format!(
            "`{text}` is not a socket address: expected IP:port, e.g. 0.0.0.0:5060 or [::]:5060 \
             (host names are not accepted here)"
        )
    })
}

/// A DNS host name (RFC 1123 labels) or an IP address.
pub(crate) fn is_host(text: &str) -> bool {
    if text.parse::<IpAddr>().is_ok() {
        return true;
    }
    let name = text.strip_suffix('.').unwrap_or(text);
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}
