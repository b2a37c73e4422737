//! `[media]`: where crossbar relays RTP/RTCP for the calls it bridges.

use std::net::IpAddr;

use crate::load::{At, Loader, Section};
use crate::sip::Sip;

pub(crate) const KEYS: &[&str] = &[
    "address",
    "port_min",
    "port_max",
    "rtp_timeout_secs",
    "pacer_priority",
];

/// Lowest port the range may start at: ports below 1024 are privileged.
pub const MIN_MEDIA_PORT: u16 = 1024;
/// `port_min` when not set.
pub const DEFAULT_PORT_MIN: u16 = 10_000;
/// `port_max` when not set.
pub const DEFAULT_PORT_MAX: u16 = 20_000;
/// `rtp_timeout_secs` when not set.
pub const DEFAULT_RTP_TIMEOUT_SECS: u32 = 30;
/// `pacer_priority` when not set.
pub const DEFAULT_PACER_PRIORITY: u8 = 20;
/// The highest `SCHED_FIFO` priority (sched(7)).
pub const MAX_PACER_PRIORITY: u8 = 99;

/// The `[media]` section, with defaults resolved.
///
/// Invariant (checked at load): `1024 <= port_min < port_max <= 65535`, `port_min` even.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Media {
    /// The IP the relay binds its ports on and that crossbar advertises in SDP (`c=`), so it
    /// must be an address the phones can send to. Resolved as: `address` if set (never the
    /// unspecified address — it cannot be put in SDP); else the IP of the first `[sip]`
    /// `listen_udp` (then `listen_tcp`) address that is not unspecified; else `None`: crossbar
    /// listens on 0.0.0.0 or `[::]` and cannot know which of the host's addresses the phones
    /// reach, so it has no address to advertise (the relay then binds the unspecified address,
    /// and whoever writes SDP must refuse to relay or find an address of its own).
    pub address: Option<IpAddr>,
    /// First port of the RTP/RTCP range; even (RTP ports are even, RTCP is RTP + 1,
    /// RFC 3550 §11). Default 10000.
    pub port_min: u16,
    /// Last port of the range; the last pair is the highest even port whose RTCP port is at
    /// most this. Default 20000.
    pub port_max: u16,
    /// A call whose media has been silent in both directions this long (and is not on hold)
    /// is ended with "media timeout". Default 30, at least 1.
    pub rtp_timeout_secs: u32,
    /// The `SCHED_FIFO` priority (1–99) of the thread that paces crossbar's own media —
    /// prompts, music on hold, announcements — so its frames leave on time however busy the
    /// other threads are; 0 leaves it to the normal scheduler. Taking a real-time priority
    /// needs root, `CAP_SYS_NICE` or an `RLIMIT_RTPRIO` (systemd `LimitRTPRIO=`) at least
    /// this high; refused, the pacer runs at normal priority and the start says so.
    /// Default 20.
    pub pacer_priority: u8,
}

impl Media {
    /// The resolved defaults for a `[sip]` section.
    pub fn defaults_for(sip: &Sip) -> Media {
        Media {
            address: address_from_sip(sip),
            port_min: DEFAULT_PORT_MIN,
            port_max: DEFAULT_PORT_MAX,
            rtp_timeout_secs: DEFAULT_RTP_TIMEOUT_SECS,
            pacer_priority: DEFAULT_PACER_PRIORITY,
        }
    }

    /// How many relay sides (one RTP/RTCP pair each) the range holds; a call uses two.
    pub fn port_pairs(&self) -> usize {
        let first = u32::from(self.port_min);
        let last = u32::from(self.port_max);
        if last <= first {
            0
        } else {
            (last - first).div_ceil(2) as usize
        }
    }
}

fn address_from_sip(sip: &Sip) -> Option<IpAddr> {
    sip.listen_udp
        .iter()
        .chain(&sip.listen_tcp)
        .map(|addr| addr.ip())
        .find(|ip| !ip.is_unspecified())
}

pub(crate) fn parse(ld: &mut Loader<'_>, section: &Section<'_, '_>, sip: &Sip) -> Media {
    section.reject_unknown_keys(ld, KEYS);
    let mut media = Media::defaults_for(sip);

    if let Some(address) = section.string(ld, "address") {
        let key = section.key("address");
        match address.value.parse::<IpAddr>() {
            Ok(ip) if ip.is_unspecified() => ld.error(
                &address.span,
                &key,
                format!(
                    "`{ip}` cannot be advertised in SDP: give the IP address of this host that \
                     the phones send media to (e.g. 192.0.2.10)"
                ),
            ),
            Ok(ip) if ip.is_multicast() => ld.error(
                &address.span,
                &key,
                format!("`{ip}` is a multicast address: give a unicast IP address of this host"),
            ),
            Ok(ip) => media.address = Some(ip),
            Err(_) => ld.error(
                &address.span,
                &key,
                format!(
                    "`{}` is not an IP address: expected e.g. 192.0.2.10 or 2001:db8::10 \
                     (host names are not accepted here)",
                    address.value
                ),
            ),
        }
    }

    let errors_before = ld.error_count();
    let min = port(ld, section, "port_min");
    let max = port(ld, section, "port_max");
    if let Some(min) = &min {
        if min.value.is_multiple_of(2) {
            media.port_min = min.value;
        } else {
            ld.error(
                &min.span,
                &section.key("port_min"),
                format!(
                    "must be even (RTP uses even ports, RTCP the odd port above, RFC 3550 §11), \
                     found {}",
                    min.value
                ),
            );
        }
    }
    if let Some(max) = &max {
        media.port_max = max.value;
    }
    // Compare only values that are themselves valid, so one typo gives one error.
    if ld.error_count() == errors_before && media.port_min >= media.port_max {
        let describe = |name: &str, value: u16, given: bool| {
            if given {
                format!("{name} ({value})")
            } else {
                format!("{name} ({value}, the default)")
            }
        };
        // Report at whichever of the two was written (the later one if both).
        let (span, key) = match (&min, &max) {
            (Some(min), Some(max)) if min.span.start > max.span.start => (&min.span, "port_min"),
            (_, Some(max)) => (&max.span, "port_max"),
            (Some(min), None) => (&min.span, "port_min"),
            (None, None) => (&section.header, "port_min"),
        };
        ld.error(
            span,
            &section.key(key),
            format!(
                "{} must be less than {}: the range needs at least one RTP/RTCP port pair",
                describe("port_min", media.port_min, min.is_some()),
                describe("port_max", media.port_max, max.is_some()),
            ),
        );
    }

    if let Some(timeout) = section.u32_at_least(ld, "rtp_timeout_secs", 1) {
        media.rtp_timeout_secs = timeout.value;
    }
    if let Some(priority) = section.u32_at_least(ld, "pacer_priority", 0) {
        match u8::try_from(priority.value) {
            Ok(value) if value <= MAX_PACER_PRIORITY => media.pacer_priority = value,
            _ => ld.error(
                &priority.span,
                &section.key("pacer_priority"),
                format!(
                    "must be at most {MAX_PACER_PRIORITY} (a SCHED_FIFO priority is 1-99), or 0 \
                     for the normal scheduler; found {}",
                    priority.value
                ),
            ),
        }
    }
    media
}

/// A UDP port the relay may use: `1024..=65535`.
fn port(ld: &mut Loader<'_>, section: &Section<'_, '_>, key: &str) -> Option<At<u16>> {
    let at = section.u32_at_least(ld, key, u32::from(MIN_MEDIA_PORT))?;
    match u16::try_from(at.value) {
        Ok(value) => Some(At {
            value,
            span: at.span,
        }),
        Err(_) => {
            ld.error(
                &at.span,
                &section.key(key),
                format!("must be at most 65535 (a UDP port), found {}", at.value),
            );
            None
        }
    }
}
