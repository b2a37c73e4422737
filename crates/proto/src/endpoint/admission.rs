//! Admission: who is calling. An INVITE from where a trunk is trusted — its configured address
//! blocks (any port), or exactly the address and port its host resolves to — is the carrier's,
//! taken without a challenge (IP authentication); any other INVITE must answer a digest
//! challenge as an extension (RFC 3261 §22.3), or it goes no further. (The port matters for a
//! resolved address so that phones on the carrier's host, or on this one in a test, are
//! still phones.)

use std::net::{IpAddr, SocketAddr};

/// Who an admitted INVITE comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Identity {
    /// An extension, by number, that answered the digest challenge.
    Extension(String),
    /// A carrier, by trunk name, recognised by the request's source address.
    Trunk(String),
}

/// Where requests from a trunk come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedSource {
    pub trunk: String,
    pub address: IpAddr,
    /// Leading bits that must match (32 or 128 for one address).
    pub prefix_len: u8,
    /// The source port too, when set.
    pub port: Option<u16>,
}

impl TrustedSource {
    pub fn admits(&self, source: SocketAddr) -> bool {
        if self.port.is_some_and(|port| port != source.port()) {
            return false;
        }
        match (self.address, source.ip()) {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn source(address: &str, prefix_len: u8, port: Option<u16>) -> TrustedSource {
        TrustedSource {
            trunk: "carrier".into(),
            address: address.parse().expect("address"),
            prefix_len,
            port,
        }
    }

    fn from(text: &str) -> SocketAddr {
        text.parse().expect("socket address")
    }

    #[test]
    fn a_block_admits_its_addresses_from_any_port() {
        let block = source("203.0.113.0", 24, None);
        assert!(block.admits(from("203.0.113.77:5060")));
        assert!(block.admits(from("203.0.113.77:40000")));
        assert!(!block.admits(from("203.0.114.1:5060")));
        assert!(!block.admits(from("[::1]:5060")));
        let v6 = source("2001:db8::", 32, None);
        assert!(v6.admits(from("[2001:db8:1::5]:5060")));
        assert!(source("0.0.0.0", 0, None).admits(from("192.0.2.1:1")));
    }

    #[test]
    fn a_resolved_address_admits_its_own_port_only() {
        let carrier = source("127.0.0.1", 32, Some(5070));
        assert!(carrier.admits(from("127.0.0.1:5070")));
        assert!(
            !carrier.admits(from("127.0.0.1:5080")),
            "a phone on the same host"
        );
        assert!(!carrier.admits(from("127.0.0.2:5070")));
    }
}
