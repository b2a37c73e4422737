//! What the media plane asks of a description. Every query takes the index of a media
//! description (`m=` line, 0-based) and answers `None` / the default for an index out of range.

use std::net::{IpAddr, SocketAddr};

use crate::model::{Connection, Direction, MediaDescription, SessionDescription};

impl SessionDescription {
    /// The connection that applies to media `index`: its own `c=`, else the session-level one
    /// (RFC 8866 §5.7).
    pub fn effective_connection(&self, index: usize) -> Option<&Connection> {
        let media = self.media.get(index)?;
        media.connection.as_ref().or(self.connection.as_ref())
    }

    /// Where to send RTP for media `index` (RFC 3264 §5.1): the effective `c=` address with
    /// the `m=` port.
    ///
    /// `None` for a rejected stream (port 0, RFC 3264 §6), for an address that is not an IP
    /// literal (FQDN), and for the unspecified address (`0.0.0.0`, `::`) — the RFC 2543 hold
    /// form, which names no destination (see [`SessionDescription::is_hold`]).
    pub fn media_destination(&self, index: usize) -> Option<SocketAddr> {
        let media = self.media.get(index)?;
        if media.port == 0 {
            return None;
        }
        let ip = self.effective_connection(index)?.ip()?;
        if ip.is_unspecified() {
            return None;
        }
        Some(SocketAddr::new(ip, media.port))
    }

    /// Where to send RTCP for media `index`: the `a=rtcp` attribute (RFC 3605 §2.1:
    /// `a=rtcp:<port> [IN IP4|IP6 <address>]`) when present, else the RTP port + 1
    /// (RFC 3550 §11). `None` whenever [`SessionDescription::media_destination`] is `None`,
    /// and for a malformed `a=rtcp`.
    ///
    /// `a=rtcp-mux` (RFC 5761) is not considered: whether it is in effect depends on both
    /// offer and answer, which the caller knows.
    pub fn rtcp_destination(&self, index: usize) -> Option<SocketAddr> {
        let rtp = self.media_destination(index)?;
        let media = self.media.get(index)?;
        let Some(rtcp) = media.attribute("rtcp") else {
            let port = rtp.port().checked_add(1)?;
            return Some(SocketAddr::new(rtp.ip(), port));
        };
        let value = rtcp.value.as_deref()?;
        let mut fields = value.split_ascii_whitespace();
        let port = fields.next()?;
        if !port.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let port: u16 = port.parse().ok()?;
        let ip = match (fields.next(), fields.next(), fields.next()) {
            (Some(_net_type), Some(_addr_type), Some(address)) => {
                let ip: IpAddr = address.split('/').next()?.parse().ok()?;
                if ip.is_unspecified() {
                    return None;
                }
                ip
            }
            _ => rtp.ip(),
        };
        Some(SocketAddr::new(ip, port))
    }

    /// The direction of media `index` (RFC 3264 §5.1): its own direction attribute, else the
    /// session-level one, else `sendrecv`. `c=0.0.0.0` is not folded in; see
    /// [`SessionDescription::is_hold`].
    pub fn direction(&self, index: usize) -> Direction {
        self.media
            .get(index)
            .and_then(|media| direction_in(&media.attributes))
            .or_else(|| direction_in(&self.attributes))
            .unwrap_or(Direction::SendRecv)
    }

    /// Whether media `index` is put on hold: `sendonly` or `inactive` (RFC 3264 §8.4), or the
    /// RFC 2543 form, an effective `c=` of `0.0.0.0` (`::` is treated the same).
    pub fn is_hold(&self, index: usize) -> bool {
        if matches!(
            self.direction(index),
            Direction::SendOnly | Direction::Inactive
        ) {
            return true;
        }
        self.effective_connection(index)
            .and_then(Connection::ip)
            .is_some_and(|ip| ip.is_unspecified())
    }

    /// The `a=rtpmap` value for payload type `pt` of media `index` (RFC 8866 §6.6) without
    /// the payload type, e.g. `PCMU/8000` or `opus/48000/2`.
    pub fn rtpmap(&self, index: usize, pt: u8) -> Option<&str> {
        rtpmaps(self.media.get(index)?)
            .find(|&(map_pt, _)| map_pt == pt)
            .map(|(_, encoding)| encoding)
    }

    /// The payload type mapped to `telephone-event` (RFC 4733 §7) in media `index`.
    pub fn telephone_event_pt(&self, index: usize) -> Option<u8> {
        rtpmaps(self.media.get(index)?)
            .find(|(_, encoding)| {
                let name = encoding.split('/').next().unwrap_or_default();
                name.eq_ignore_ascii_case("telephone-event")
            })
            .map(|(pt, _)| pt)
    }
}

/// The first direction attribute in a list.
fn direction_in(attributes: &[crate::model::Attribute]) -> Option<Direction> {
    attributes
        .iter()
        .filter(|a| a.value.is_none())
        .find_map(|a| Direction::from_attribute_name(&a.name))
}

/// `(payload type, encoding)` of every well-formed `a=rtpmap` of a media description.
fn rtpmaps(media: &MediaDescription) -> impl Iterator<Item = (u8, &str)> {
    media
        .attributes
        .iter()
        .filter(|a| a.is("rtpmap"))
        .filter_map(|a| {
            let value = a.value.as_deref()?.trim_start();
            let (pt, encoding) = value.split_once([' ', '\t'])?;
            if !pt.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            Some((pt.parse().ok()?, encoding.trim()))
        })
}
