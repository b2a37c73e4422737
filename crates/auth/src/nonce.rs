//! Stateless, unforgeable nonces (RFC 7616 §3.3 and §5.4–§5.5 on nonce construction).
//!
//! Layout before base64url (no padding) — 40 bytes, 54 characters on the wire:
//!
//! ```text
//! issued (u64 BE, wall-clock seconds) | instance (8) | sequence (u64 BE) | tag (16)
//! tag = HMAC-SHA256(server key, "crossbar-auth nonce v1" | realm | issued | instance | sequence)[..16]
//! ```
//!
//! `instance` identifies the process that minted the nonce (random per start), so that nonces
//! minted before a restart — whose nonce-count history is lost — can be told apart and
//! re-challenged with `stale=true`. `sequence` counts the nonces this instance minted: together
//! with `instance` it makes every nonce unique (RFC 7616 §3.3), and it orders them exactly, which
//! the nonce-count table uses when it has to forget. The 128-bit tag makes the nonce unforgeable
//! — and unpredictable — without the key, and binds it to the realm.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

const DOMAIN_NONCE: &[u8] = b"crossbar-auth nonce v1";
const DOMAIN_OPAQUE: &[u8] = b"crossbar-auth opaque v1";
const DOMAIN_SEED: &[u8] = b"crossbar-auth test seed v1";

pub(crate) const TAG_LEN: usize = 16;
const BODY_LEN: usize = 8 + 8 + 8;
const RAW_LEN: usize = BODY_LEN + TAG_LEN;
/// base64url without padding of [`RAW_LEN`] bytes.
const ENCODED_LEN: usize = (RAW_LEN * 4).div_ceil(3);

/// The secret that makes nonces unforgeable: 32 random bytes.
///
/// Generate it once (from the OS CSPRNG) and persist it, so that nonces handed out before a
/// restart are still recognised as ours (they are then re-challenged with `stale=true`, which
/// phones answer silently, instead of looking forged). Share it between cluster nodes only
/// together with [`crate::Config::accept_nonces_from_other_instances`].
#[derive(Clone)]
pub struct ServerKey([u8; 32]);

impl ServerKey {
    /// Wraps 32 secret random bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        ServerKey(bytes)
    }

    /// A key derived from a small seed — deterministic, for tests and simulations only.
    pub fn from_seed(seed: u64) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(DOMAIN_SEED);
        hasher.update(seed.to_be_bytes());
        ServerKey(hasher.finalize().into())
    }

    /// The key bytes (to persist it).
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ServerKey(<redacted>)")
    }
}

/// What an authentic nonce says about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NonceClaims {
    pub issued: u64,
    pub instance: [u8; 8],
    pub sequence: u64,
    /// Unique per nonce; the replay table's key.
    pub tag: [u8; TAG_LEN],
}

/// Mints and opens nonces for one realm.
#[derive(Clone)]
pub(crate) struct NonceSeal {
    /// HMAC keyed once; cloned per use (saves re-deriving the inner/outer pads).
    mac: Hmac<Sha256>,
    realm: String,
    opaque: String,
}

impl NonceSeal {
    pub fn new(key: &ServerKey, realm: &str) -> Self {
        let mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&key.0)
            .expect("invariant: HMAC accepts keys of any length");
        let mut opaque_mac = mac.clone();
        opaque_mac.update(DOMAIN_OPAQUE);
        opaque_mac.update(realm.as_bytes());
        let opaque = URL_SAFE_NO_PAD.encode(&opaque_mac.finalize().into_bytes()[..12]);
        NonceSeal {
            mac,
            realm: realm.to_owned(),
            opaque,
        }
    }

    /// The `opaque` value: stable for (key, realm), so it survives restarts too.
    pub fn opaque(&self) -> &str {
        &self.opaque
    }

    fn tag(&self, body: &[u8; BODY_LEN]) -> [u8; TAG_LEN] {
        let mut mac = self.mac.clone();
        mac.update(DOMAIN_NONCE);
        mac.update(&(self.realm.len() as u64).to_be_bytes());
        mac.update(self.realm.as_bytes());
        mac.update(body);
        let full = mac.finalize().into_bytes();
        let mut tag = [0u8; TAG_LEN];
        tag.copy_from_slice(&full[..TAG_LEN]);
        tag
    }

    pub fn mint(&self, issued: u64, instance: [u8; 8], sequence: u64) -> String {
        let mut raw = [0u8; RAW_LEN];
        raw[..8].copy_from_slice(&issued.to_be_bytes());
        raw[8..16].copy_from_slice(&instance);
        raw[16..BODY_LEN].copy_from_slice(&sequence.to_be_bytes());
        let mut body = [0u8; BODY_LEN];
        body.copy_from_slice(&raw[..BODY_LEN]);
        raw[BODY_LEN..].copy_from_slice(&self.tag(&body));
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// `None` unless the nonce was minted with this key for this realm.
    pub fn open(&self, nonce: &str) -> Option<NonceClaims> {
        if nonce.len() != ENCODED_LEN {
            return None;
        }
        let mut raw = [0u8; RAW_LEN];
        let written = URL_SAFE_NO_PAD.decode_slice(nonce, &mut raw).ok()?;
        if written != RAW_LEN {
            return None;
        }
        let mut body = [0u8; BODY_LEN];
        body.copy_from_slice(&raw[..BODY_LEN]);
        let mut tag = [0u8; TAG_LEN];
        tag.copy_from_slice(&raw[BODY_LEN..]);
        if !bool::from(self.tag(&body).ct_eq(&tag)) {
            return None;
        }
        let mut issued = [0u8; 8];
        issued.copy_from_slice(&body[..8]);
        let mut instance = [0u8; 8];
        instance.copy_from_slice(&body[8..16]);
        let mut sequence = [0u8; 8];
        sequence.copy_from_slice(&body[16..BODY_LEN]);
        Some(NonceClaims {
            issued: u64::from_be_bytes(issued),
            instance,
            sequence: u64::from_be_bytes(sequence),
            tag,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_nonces_open_with_the_same_key_and_realm_only() {
        let seal = NonceSeal::new(&ServerKey::from_seed(1), "example.com");
        let nonce = seal.mint(1_700_000_000, [1; 8], 2);
        assert_eq!(nonce.len(), ENCODED_LEN);
        let claims = seal.open(&nonce).expect("authentic nonce opens");
        assert_eq!(claims.issued, 1_700_000_000);
        assert_eq!(claims.instance, [1; 8]);
        assert_eq!(claims.sequence, 2);
        assert_ne!(seal.mint(1_700_000_000, [1; 8], 3), nonce);

        let other_key = NonceSeal::new(&ServerKey::from_seed(2), "example.com");
        assert_eq!(other_key.open(&nonce), None);
        let other_realm = NonceSeal::new(&ServerKey::from_seed(1), "example.org");
        assert_eq!(other_realm.open(&nonce), None);
    }

    #[test]
    fn any_altered_character_is_refused() {
        let seal = NonceSeal::new(&ServerKey::from_seed(1), "example.com");
        let nonce = seal.mint(1_700_000_000, [1; 8], 2);
        for i in 0..nonce.len() {
            let mut bytes = nonce.clone().into_bytes();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let altered = String::from_utf8(bytes).expect("ASCII stays UTF-8");
            assert_eq!(seal.open(&altered), None, "position {i}");
        }
    }

    #[test]
    fn garbage_is_refused_without_panicking() {
        let seal = NonceSeal::new(&ServerKey::from_seed(1), "example.com");
        for garbage in [
            "",
            "x",
            "dcd98b7102dd2f0e8b11d0f600bfb0c093",
            &"é".repeat(27),
            &"=".repeat(ENCODED_LEN),
            &"A".repeat(ENCODED_LEN),
        ] {
            assert_eq!(seal.open(garbage), None, "{garbage:?}");
        }
    }

    #[test]
    fn opaque_is_stable_per_key_and_realm() {
        let a = NonceSeal::new(&ServerKey::from_seed(1), "example.com");
        let b = NonceSeal::new(&ServerKey::from_seed(1), "example.com");
        let c = NonceSeal::new(&ServerKey::from_seed(1), "example.org");
        assert_eq!(a.opaque(), b.opaque());
        assert_ne!(a.opaque(), c.opaque());
        assert_eq!(
            format!("{:?}", ServerKey::from_seed(1)),
            "ServerKey(<redacted>)"
        );
    }
}
