//! The rewriting a media-relaying B2BUA does to an offer or answer before passing it to the
//! other leg (RFC 3264): addresses and ports become the relay's, the `o=` line becomes
//! crossbar's own for that leg, and codec negotiation (formats, `rtpmap`, `fmtp`, `ptime`,
//! telephone-event, direction and every other attribute) passes through untouched.

use std::net::IpAddr;

use crate::model::{Attribute, Connection, Direction, Origin, SessionDescription, addr_type_of};

/// The `o=` username crossbar uses (RFC 8866 §5.2).
const ORIGIN_USERNAME: &str = "crossbar";

/// ICE attributes (RFC 8839 §5) removed by [`relay_rewrite`]: the relay replaces the
/// addresses, so the peer's candidates and credentials must not reach the other leg.
const ICE_ATTRIBUTES: [&str; 9] = [
    "candidate",
    "remote-candidates",
    "end-of-candidates",
    "ice-ufrag",
    "ice-pwd",
    "ice-options",
    "ice-lite",
    "ice-mismatch",
    "ice-pacing",
];

/// crossbar's `o=` line for one leg (RFC 8866 §5.2, RFC 3264 §5 and §8).
///
/// Create one per leg with [`OriginState::new`] and pass it to every [`relay_rewrite`] for
/// that leg: the session id stays fixed and the version increments only when the body
/// changes (RFC 3264 §8: "If the session description is unchanged, the version MUST remain
/// the same" — a re-INVITE refresh must not look like a new offer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginState {
    /// `<sess-id>`. RFC 3264 §5 asks for a value representable as a signed 64-bit integer.
    pub session_id: u64,
    /// `<sess-version>` of the last body produced (the next one if none yet).
    pub version: u64,
    /// `<unicast-address>`; `IP4` / `IP6` follows its family.
    pub address: IpAddr,
    /// The last body produced, printed with version 0, to detect a change.
    last_body: Option<Vec<u8>>,
}

impl OriginState {
    /// A fresh leg: the first body gets version 1.
    pub fn new(session_id: u64, address: IpAddr) -> OriginState {
        OriginState {
            session_id,
            version: 1,
            address,
            last_body: None,
        }
    }

    /// Puts this leg's `o=` line on `sdp`, its version incremented iff the body differs from
    /// the last one stamped (RFC 3264 §8).
    pub fn stamp(&mut self, sdp: &mut SessionDescription) {
        sdp.origin = self.origin();
        sdp.origin.session_version = 0;
        let body = sdp.to_bytes();
        match &self.last_body {
            Some(last) if *last != body => self.version = self.version.wrapping_add(1),
            _ => {}
        }
        self.last_body = Some(body);
        sdp.origin.session_version = self.version;
    }

    /// The `o=` line for the current version.
    pub fn origin(&self) -> Origin {
        Origin {
            username: ORIGIN_USERNAME.to_owned(),
            session_id: self.session_id.to_string(),
            session_version: self.version,
            net_type: "IN".to_owned(),
            addr_type: addr_type_of(self.address).to_owned(),
            address: self.address.to_string(),
        }
    }
}

/// Rewrite a peer's offer or answer into the one sent to the other leg (RFC 3264).
///
/// `ports[i]` is the relay's RTP port for media description `i` (the `m=` line index; entries
/// for rejected streams are ignored). For every media description:
///
/// - port 0 (rejected, RFC 3264 §6) stays 0; otherwise the port becomes `ports[i]` and any
///   `/<number of ports>` suffix is dropped (the relay gives each stream one port pair). A
///   missing `ports[i]` (a caller bug) disables the stream with port 0 rather than leaking the
///   peer's port;
/// - a media-level `c=` becomes `IN IP4|IP6 <relay>`; an active stream without any `c=`
///   gets one;
/// - `a=rtcp` (RFC 3605) becomes `a=rtcp:<ports[i]+1> IN IP4|IP6 <relay>`;
/// - ICE attributes (`candidate`, `ice-ufrag`, `ice-pwd`, `ice-options`, `end-of-candidates`,
///   `remote-candidates`, `ice-lite`, `ice-mismatch`, `ice-pacing`) are removed;
/// - RFC 2543 hold (an effective `c=0.0.0.0`, RFC 3264 §8.4) cannot survive the address
///   rewrite, so it is carried as a direction instead: the direction loses "receive"
///   (`sendrecv` → `a=sendonly`, `recvonly` → `a=inactive`) and the far side still sees hold;
/// - everything else (formats, `rtpmap`, `fmtp`, `ptime`, direction, `rtcp-mux`, crypto...)
///   is kept as is.
///
/// The session-level `c=` becomes the relay's; session-level ICE attributes are removed. The
/// `o=` line is `origin`'s, whose version is incremented iff the rewritten body differs from
/// the last one this `origin` produced (RFC 3264 §8).
pub fn relay_rewrite(
    sdp: &SessionDescription,
    relay: IpAddr,
    ports: &[u16],
    origin: &mut OriginState,
) -> SessionDescription {
    let relay_connection = Connection::from_ip(relay);
    let mut out = sdp.clone();
    out.attributes.retain(|a| !is_ice(a));
    if out.connection.is_some() {
        out.connection = Some(relay_connection.clone());
    }
    let has_session_connection = out.connection.is_some();
    for (index, media) in out.media.iter_mut().enumerate() {
        media.attributes.retain(|a| !is_ice(a));
        if media.connection.is_some() {
            media.connection = Some(relay_connection.clone());
        }
        if media.port == 0 {
            continue;
        }
        media.port = ports.get(index).copied().unwrap_or(0);
        media.port_count = None;
        if media.port == 0 {
            continue;
        }
        if media.connection.is_none() && !has_session_connection {
            media.connection = Some(relay_connection.clone());
        }
        match media.port.checked_add(1) {
            Some(rtcp_port) => {
                let value = format!("{rtcp_port} {relay_connection}");
                for attribute in media.attributes.iter_mut().filter(|a| a.is("rtcp")) {
                    attribute.value = Some(value.clone());
                }
            }
            None => media.attributes.retain(|a| !a.is("rtcp")),
        }
        let zero_hold = sdp
            .effective_connection(index)
            .and_then(Connection::ip)
            .is_some_and(|ip| ip.is_unspecified());
        if zero_hold {
            let direction = sdp.direction(index).without_receive();
            media.attributes.retain(|a| !is_direction(a));
            media
                .attributes
                .push(Attribute::property(direction.as_str()));
        }
    }

    origin.stamp(&mut out);
    out
}

fn is_ice(attribute: &Attribute) -> bool {
    ICE_ATTRIBUTES.iter().any(|name| attribute.is(name))
}

fn is_direction(attribute: &Attribute) -> bool {
    attribute.value.is_none() && Direction::from_attribute_name(&attribute.name).is_some()
}
