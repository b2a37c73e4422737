//! `[[trunk]]`: SIP trunks to carriers — where they are, how crossbar authenticates to them and
//! recognises them, their limits, how numbers are written for them and what they charge.

use std::net::IpAddr;
use std::path::PathBuf;

use crossbar_cdr::Rate;

use crate::extension::Secret;

/// One `[[trunk]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trunk {
    /// Unique; routes and rates name it.
    pub name: String,
    /// `host[:port]`: an IP address or a DNS name. A name without a port is looked up with
    /// SRV first (RFC 3263 §4.2), then A/AAAA on 5060.
    pub host: String,
    pub port: Option<u16>,
    pub transport: TrunkTransport,
    /// Register to the carrier (`register = { username, secret, ... }`).
    pub register: Option<TrunkRegistration>,
    /// Credentials for the carrier's challenges to INVITEs; defaults to `register`'s.
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

/// An address block: `203.0.113.0/24`, `2001:db8::/32`, or one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cidr {
    pub address: IpAddr,
    pub prefix_len: u8,
}

impl Cidr {
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
