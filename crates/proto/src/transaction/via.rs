//! The server transport's `Via` rules: stamping `received`/`rport` on arrival (RFC 3261
//! §18.2.1, RFC 3581 §4) and choosing where a response goes (§18.2.2, RFC 3581 §4).

use std::net::{IpAddr, SocketAddr};

use crossbar_sip::{HeaderName, Headers, Host, ParseError, Via};

use super::peer::Peer;

/// Stamps the top `Via` of a request that arrived from `source` and returns it:
///
/// - `rport` without a value (the client asks for symmetric response routing) gets the
///   source port, and `received` is then always added (RFC 3581 §4);
/// - otherwise `received` is added when the sent-by host is a name or an address other
///   than the source's (§18.2.1).
pub(crate) fn stamp_received(headers: &mut Headers, source: Peer) -> Result<Via, ParseError> {
    let mut top = headers.top_via()?;
    let source_ip = source.addr.ip().to_canonical();
    let wants_rport = matches!(top.rport(), Some(None));
    let same_host = host_ip(&top.host) == Some(source_ip);
    if !wants_rport && same_host {
        return Ok(top);
    }
    if wants_rport {
        top.params
            .set("rport", Some(source.addr.port().to_string()));
    }
    top.params.set("received", Some(source_ip.to_string()));
    replace_top_via(headers, &top)?;
    Ok(top)
}

/// Rewrites the first value of the first `Via` line as `top`, keeping the other values.
pub(crate) fn replace_top_via(headers: &mut Headers, top: &Via) -> Result<(), ParseError> {
    let Some(line) = headers.0.iter_mut().find(|h| h.name == HeaderName::Via) else {
        return Ok(());
    };
    let mut values = Via::parse_list(&line.value)?;
    let Some(first) = values.first_mut() else {
        return Ok(());
    };
    *first = top.clone();
    line.value = values
        .iter()
        .map(Via::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    Ok(())
}

/// Where the responses to a request that arrived from `source` with top `Via` `via`
/// (already stamped) go (§18.2.2):
///
/// - reliable transports: back over the connection the request came on (`source`);
/// - a `maddr` address: there, at the sent-by port (or 5060);
/// - `received` and `rport` (RFC 3581 §4): the `received` address at the `rport` port;
/// - `received`: that address at the sent-by port (or 5060);
/// - otherwise the sent-by address (an IP: stamping adds `received` for any host name).
pub(crate) fn response_destination(via: &Via, source: Peer) -> Peer {
    if source.is_reliable() {
        return source;
    }
    let sent_by_port = via.port.unwrap_or(5060);
    let to = |ip: IpAddr, port: u16| Peer::new(source.transport, SocketAddr::new(ip, port));
    if let Some(maddr) = via.params.value("maddr").and_then(parse_ip) {
        return to(maddr, sent_by_port);
    }
    if let Some(received) = via.received().and_then(parse_ip) {
        let rport = via
            .rport()
            .flatten()
            .and_then(|p| p.parse::<u16>().ok())
            .filter(|p| *p != 0);
        return to(received, rport.unwrap_or(sent_by_port));
    }
    match host_ip(&via.host) {
        Some(ip) => to(ip, sent_by_port),
        // A host name without `received` cannot come from `stamp_received`; resolving it
        // (RFC 3263 §5) is not this layer's job, so answer where the request came from.
        None => to(source.addr.ip(), sent_by_port),
    }
}

fn host_ip(host: &Host) -> Option<IpAddr> {
    match host {
        Host::V4(ip) => Some(IpAddr::V4(*ip)),
        Host::V6(ip) => Some(IpAddr::V6(*ip).to_canonical()),
        Host::Name(_) => None,
    }
}

/// An IP address as written in `received` or `maddr` (IPv6 with or without brackets).
fn parse_ip(text: &str) -> Option<IpAddr> {
    let bare = text
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or(text);
    bare.parse::<IpAddr>().ok().map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossbar_sip::Params;

    fn via(host: Host, port: Option<u16>, params: &[(&str, Option<&str>)]) -> Via {
        Via {
            protocol: "SIP/2.0".to_owned(),
            transport: "UDP".to_owned(),
            host,
            port,
            params: Params(
                params
                    .iter()
                    .map(|(n, v)| ((*n).to_owned(), v.map(str::to_owned)))
                    .collect(),
            ),
        }
    }

    fn udp(addr: &str) -> Peer {
        Peer::udp(addr.parse().expect("test addresses are literals"))
    }

    #[test]
    fn response_goes_to_received_and_rport() {
        let v = via(
            Host::Name("pc.example.com".into()),
            Some(5070),
            &[("received", Some("198.51.100.7")), ("rport", Some("40000"))],
        );
        assert_eq!(
            response_destination(&v, udp("198.51.100.7:40000")),
            udp("198.51.100.7:40000")
        );
    }

    #[test]
    fn response_without_rport_goes_to_received_at_sent_by_port() {
        let v = via(
            Host::Name("pc.example.com".into()),
            Some(5070),
            &[("received", Some("198.51.100.7"))],
        );
        assert_eq!(
            response_destination(&v, udp("198.51.100.7:40000")),
            udp("198.51.100.7:5070")
        );
    }

    #[test]
    fn response_to_ip_sent_by_without_port_uses_5060() {
        let v = via(Host::V4("192.0.2.1".parse().expect("literal")), None, &[]);
        assert_eq!(
            response_destination(&v, udp("192.0.2.1:33000")),
            udp("192.0.2.1:5060")
        );
    }

    #[test]
    fn response_honours_maddr() {
        let v = via(
            Host::V4("192.0.2.1".parse().expect("literal")),
            Some(5062),
            &[
                ("maddr", Some("239.255.255.1")),
                ("received", Some("192.0.2.9")),
            ],
        );
        assert_eq!(
            response_destination(&v, udp("192.0.2.9:5062")),
            udp("239.255.255.1:5062")
        );
    }

    #[test]
    fn response_over_tcp_goes_back_to_the_connection() {
        let source = Peer::tcp("192.0.2.1:49152".parse().expect("literal"));
        let v = via(
            Host::V4("192.0.2.1".parse().expect("literal")),
            Some(5060),
            &[],
        );
        assert_eq!(response_destination(&v, source), source);
    }

    #[test]
    fn received_ipv6_with_brackets_is_accepted() {
        assert_eq!(
            parse_ip("[2001:db8::9]"),
            Some("2001:db8::9".parse().expect("literal"))
        );
    }
}
