//! Admission: who is calling. An INVITE from an address a trunk is trusted at (its
//! configured blocks, the addresses its host resolves to) is the carrier's, taken without a
//! challenge (IP authentication); any other INVITE must answer a digest challenge as an
//! extension (RFC 3261 §22.3), or it goes no further.

use std::net::IpAddr;

/// Who an admitted INVITE comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Identity {
    /// An extension, by number, that answered the digest challenge.
    Extension(String),
    /// A carrier, by trunk name, recognised by the request's source address.
    Trunk(String),
}

/// An address block requests from a trunk come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedSource {
    pub trunk: String,
    pub address: IpAddr,
    /// Leading bits that must match (32 or 128 for one address).
    pub prefix_len: u8,
}

impl TrustedSource {
    pub fn admits(&self, ip: IpAddr) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn source(address: &str, prefix_len: u8) -> TrustedSource {
        TrustedSource {
            trunk: "carrier".into(),
            address: address.parse().expect("address"),
            prefix_len,
        }
    }

    #[test]
    fn a_block_admits_its_addresses_only() {
        let block = source("203.0.113.0", 24);
        assert!(block.admits("203.0.113.77".parse().expect("ip")));
        assert!(!block.admits("203.0.114.1".parse().expect("ip")));
        assert!(!block.admits("::1".parse().expect("ip")));
        let one = source("198.51.100.7", 32);
        assert!(one.admits("198.51.100.7".parse().expect("ip")));
        assert!(!one.admits("198.51.100.8".parse().expect("ip")));
        let v6 = source("2001:db8::", 32);
        assert!(v6.admits("2001:db8:1::5".parse().expect("ip")));
        assert!(source("0.0.0.0", 0).admits("192.0.2.1".parse().expect("ip")));
    }
}
