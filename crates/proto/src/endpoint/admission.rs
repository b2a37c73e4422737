//! Admission: who is calling. An INVITE from where a trunk is trusted — its configured address
//! blocks (any port), or exactly the address and port its host resolves to, or its host's
//! address from any port when the INVITE is for the contact crossbar registered there (a call
//! on the registration, RFC 3261 §10.2) — is the carrier's, taken without a challenge (IP
//! authentication); any other INVITE must answer a digest challenge as an extension (RFC 3261
//! §22.3), or it goes no further. (The port matters for a resolved address so that phones on
//! the carrier's host, or on this one in a test, are still phones.)

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
    /// Only requests whose Request-URI user is this one: the contact crossbar registered at
    /// the carrier (a call that came in on the registration).
    pub contact_user: Option<String>,
}

impl TrustedSource {
    /// Whether a request from `source` for Request-URI user `user` is the trunk's.
    pub fn admits(&self, source: SocketAddr, user: Option<&str>) -> bool {
        if self.port.is_some_and(|port| port != source.port()) {
            return false;
        }
        if self
            .contact_user
            .as_deref()
            .is_some_and(|contact| Some(contact) != user)
        {
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
            contact_user: None,
        }
    }

    impl TrustedSource {
        fn admits_from(&self, source: SocketAddr) -> bool {
            self.admits(source, None)
        }
    }

    fn from(text: &str) -> SocketAddr {
        text.parse().expect("socket address")
    }

    #[test]
    fn a_block_admits_its_addresses_from_any_port() {
        let block = source("203.0.113.0", 24, None);
        assert!(block.admits_from(from("203.0.113.77:5060")));
        assert!(block.admits_from(from("203.0.113.77:40000")));
        assert!(!block.admits_from(from("203.0.114.1:5060")));
        assert!(!block.admits_from(from("[::1]:5060")));
        let v6 = source("2001:db8::", 32, None);
        assert!(v6.admits_from(from("[2001:db8:1::5]:5060")));
        assert!(source("0.0.0.0", 0, None).admits_from(from("192.0.2.1:1")));
    }

    #[test]
    fn a_resolved_address_admits_its_own_port_only() {
        let carrier = source("127.0.0.1", 32, Some(5070));
        assert!(carrier.admits_from(from("127.0.0.1:5070")));
        assert!(
            !carrier.admits_from(from("127.0.0.1:5080")),
            "a phone on the same host"
        );
        assert!(!carrier.admits_from(from("127.0.0.2:5070")));
    }

    #[test]
    fn a_registration_admits_the_carriers_address_from_any_port_for_its_contact_only() {
        let mut registration = source("198.51.100.10", 32, None);
        registration.contact_user = Some("pbx-4420".into());
        assert!(registration.admits(from("198.51.100.10:5080"), Some("pbx-4420")));
        assert!(!registration.admits(from("198.51.100.10:5080"), Some("201")));
        assert!(!registration.admits(from("198.51.100.10:5080"), None));
        assert!(!registration.admits(from("198.51.100.11:5080"), Some("pbx-4420")));
    }
}
