//! Digest algorithms and the request-digest computation (RFC 7616 §3.4.1–§3.4.3, RFC 2617 §3.2.2).

use std::fmt;

use md5::Md5;
use sha2::{Digest, Sha256, Sha512_256};

/// A digest algorithm token as registered in the IANA "HTTP Digest Algorithm Values" registry
/// (RFC 7616 §3.3, §6.1; RFC 8760 §2.1 for SIP).
///
/// The `-sess` variants compute HA1 once per (nonce, cnonce) pair (RFC 7616 §3.4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// `MD5` — what nearly every SIP phone implements (RFC 3261 §22.4).
    Md5,
    /// `MD5-sess`.
    Md5Sess,
    /// `SHA-256` (RFC 7616, RFC 8760).
    Sha256,
    /// `SHA-256-sess`.
    Sha256Sess,
    /// `SHA-512-256` (SHA-512/256, FIPS 180-4).
    Sha512_256,
    /// `SHA-512-256-sess`.
    Sha512_256Sess,
}

impl Algorithm {
    /// Every algorithm this crate implements.
    pub const ALL: [Algorithm; 6] = [
        Algorithm::Md5,
        Algorithm::Md5Sess,
        Algorithm::Sha256,
        Algorithm::Sha256Sess,
        Algorithm::Sha512_256,
        Algorithm::Sha512_256Sess,
    ];

    /// The token as written in `algorithm=` (RFC 7616 §3.3).
    pub fn token(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Md5Sess => "MD5-sess",
            Algorithm::Sha256 => "SHA-256",
            Algorithm::Sha256Sess => "SHA-256-sess",
            Algorithm::Sha512_256 => "SHA-512-256",
            Algorithm::Sha512_256Sess => "SHA-512-256-sess",
        }
    }

    /// Parses an `algorithm=` token; tokens compare case-insensitively (RFC 7616 §3.3).
    pub fn from_token(token: &str) -> Option<Algorithm> {
        Algorithm::ALL
            .into_iter()
            .find(|a| a.token().eq_ignore_ascii_case(token))
    }

    /// The underlying hash function.
    pub fn hash(self) -> HashAlgorithm {
        match self {
            Algorithm::Md5 | Algorithm::Md5Sess => HashAlgorithm::Md5,
            Algorithm::Sha256 | Algorithm::Sha256Sess => HashAlgorithm::Sha256,
            Algorithm::Sha512_256 | Algorithm::Sha512_256Sess => HashAlgorithm::Sha512_256,
        }
    }

    /// Whether this is a `-sess` variant (RFC 7616 §3.4.2).
    pub fn is_session(self) -> bool {
        matches!(
            self,
            Algorithm::Md5Sess | Algorithm::Sha256Sess | Algorithm::Sha512_256Sess
        )
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.token())
    }
}

/// The hash function behind an [`Algorithm`]; a stored HA1 is per hash function (the `-sess`
/// variants derive their session HA1 from the same stored value).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashAlgorithm {
    /// MD5 (32 hex digits).
    Md5,
    /// SHA-256 (64 hex digits).
    Sha256,
    /// SHA-512/256 (64 hex digits).
    Sha512_256,
}

impl HashAlgorithm {
    /// Length of this hash's output in lowercase hex digits.
    pub fn hex_len(self) -> usize {
        match self {
            HashAlgorithm::Md5 => 32,
            HashAlgorithm::Sha256 | HashAlgorithm::Sha512_256 => 64,
        }
    }

    /// `H(parts[0] ":" parts[1] ":" ...)` as lowercase hex (the `H`/`KD` of RFC 7616 §3.4.1).
    pub(crate) fn hex_of_joined(self, parts: &[&str]) -> String {
        match self {
            HashAlgorithm::Md5 => hex_of_joined_with::<Md5>(parts),
            HashAlgorithm::Sha256 => hex_of_joined_with::<Sha256>(parts),
            HashAlgorithm::Sha512_256 => hex_of_joined_with::<Sha512_256>(parts),
        }
    }
}

fn hex_of_joined_with<D: Digest>(parts: &[&str]) -> String {
    let mut hasher = D::new();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            hasher.update(b":");
        }
        hasher.update(part.as_bytes());
    }
    lower_hex(&hasher.finalize())
}

/// Lowercase hex encoding, as every digest value on the wire uses (RFC 7616 §3.4.1).
pub(crate) fn lower_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// `HA1 = H(username ":" realm ":" password)` (RFC 7616 §3.4.2, RFC 2617 §3.2.2.2), lowercase hex.
///
/// This is the value to store instead of a plain secret. For a `-sess` algorithm it is still the
/// stored value: the session HA1 is derived from it per nonce/cnonce at verification time, so
/// `ha1(Algorithm::Md5Sess, ..) == ha1(Algorithm::Md5, ..)`.
pub fn ha1(algorithm: Algorithm, username: &str, realm: &str, password: &str) -> String {
    algorithm.hash().hex_of_joined(&[username, realm, password])
}

/// The values a request digest covers, as the client sent them (RFC 7616 §3.4.1).
///
/// The strings are used verbatim: `nc` is the literal 8-hex-digit value, `uri` the
/// `uri` parameter (not the Request-URI, see [`crate::Authenticator::verify`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DigestInput<'a> {
    /// The algorithm the client used.
    pub algorithm: Algorithm,
    /// The server nonce.
    pub nonce: &'a str,
    /// The `uri` parameter.
    pub uri: &'a str,
    /// `qop`, `nc` and `cnonce`; `None` for an RFC 2069-style response without `qop`.
    pub qop: Option<QopInput<'a>>,
}

/// The `qop`-related parameters of a digest (RFC 2617 §3.2.2, RFC 7616 §3.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QopInput<'a> {
    /// The `qop` value (only `auth` is verified by this crate).
    pub qop: &'a str,
    /// The literal `nc` value, e.g. `00000001`.
    pub nc: &'a str,
    /// The client nonce.
    pub cnonce: &'a str,
}

impl DigestInput<'_> {
    /// The HA1 used in the digest: the stored HA1 itself, or for a `-sess` algorithm
    /// `H(HA1 ":" nonce ":" cnonce)` (RFC 7616 §3.4.2). `stored_ha1` must be lowercase hex.
    ///
    /// A `-sess` response without `qop` has no cnonce; RFC 2617 §3.2.2.2 then uses an empty one.
    pub fn effective_ha1(&self, stored_ha1: &str) -> String {
        if self.algorithm.is_session() {
            let cnonce = self.qop.map_or("", |q| q.cnonce);
            self.algorithm
                .hash()
                .hex_of_joined(&[stored_ha1, self.nonce, cnonce])
        } else {
            stored_ha1.to_owned()
        }
    }

    /// The `response` value a client computes for `method` (RFC 7616 §3.4.1; RFC 2617 §3.2.2.1
    /// for the form without `qop`), lowercase hex.
    pub fn response(&self, stored_ha1: &str, method: &str) -> String {
        let effective = self.effective_ha1(stored_ha1);
        self.response_with_effective_ha1(&effective, method)
    }

    /// The `rspauth` value of `Authentication-Info`: the response computed with an empty method,
    /// i.e. `A2 = ":" uri` (RFC 7616 §3.5, RFC 2617 §3.2.3).
    pub fn rspauth(&self, stored_ha1: &str) -> String {
        self.response(stored_ha1, "")
    }

    pub(crate) fn response_with_effective_ha1(&self, effective_ha1: &str, method: &str) -> String {
        let hash = self.algorithm.hash();
        let ha2 = hash.hex_of_joined(&[method, self.uri]);
        match self.qop {
            Some(q) => {
                hash.hex_of_joined(&[effective_ha1, self.nonce, q.nc, q.cnonce, q.qop, &ha2])
            }
            None => hash.hex_of_joined(&[effective_ha1, self.nonce, &ha2]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NONCE: &str = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
    const CNONCE: &str = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";

    fn rfc7616_input(algorithm: Algorithm) -> DigestInput<'static> {
        DigestInput {
            algorithm,
            nonce: NONCE,
            uri: "/dir/index.html",
            qop: Some(QopInput {
                qop: "auth",
                nc: "00000001",
                cnonce: CNONCE,
            }),
        }
    }

    fn rfc7616_response(algorithm: Algorithm) -> String {
        let stored = ha1(
            algorithm,
            "Mufasa",
            "http-auth@example.org",
            "Circle of Life",
        );
        rfc7616_input(algorithm).response(&stored, "GET")
    }

    #[test]
    fn rfc7616_section_3_9_1_md5_response() {
        assert_eq!(
            rfc7616_response(Algorithm::Md5),
            "8ca523f5e9506fed4657c9700eebdbec"
        );
    }

    #[test]
    fn rfc7616_section_3_9_1_sha256_response() {
        assert_eq!(
            rfc7616_response(Algorithm::Sha256),
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
        );
    }

    #[test]
    fn sess_and_sha512_256_variants_match_independent_computation() {
        // Computed independently with Python's hashlib over the RFC 7616 §3.9.1 inputs.
        let expected = [
            (Algorithm::Md5Sess, "e783283f46242139c486a698fec7211d"),
            (
                Algorithm::Sha256Sess,
                "2fd51b3a77ad75bad6afad6003e818d767133c46d9e2749e7f5232ae1ea3efd7",
            ),
            (
                Algorithm::Sha512_256,
                "430d05014cecc49cab6fbe03176d41a1da86cbfe24a16580e22aaad928d960d0",
            ),
            (
                Algorithm::Sha512_256Sess,
                "3f2a34f923c38b0fb26dce2fdfc2ce326c23cecf86fbb1444f3e51fbbc2cb92e",
            ),
        ];
        for (algorithm, response) in expected {
            assert_eq!(rfc7616_response(algorithm), response, "{algorithm}");
        }
    }

    #[test]
    fn rfc2617_section_3_5_md5_response() {
        let stored = ha1(
            Algorithm::Md5,
            "Mufasa",
            "testrealm@host.com",
            "Circle Of Life",
        );
        let input = DigestInput {
            algorithm: Algorithm::Md5,
            nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093",
            uri: "/dir/index.html",
            qop: Some(QopInput {
                qop: "auth",
                nc: "00000001",
                cnonce: "0a4f113b",
            }),
        };
        assert_eq!(
            input.response(&stored, "GET"),
            "6629fae49393a05397450978507c4ef1"
        );
    }

    #[test]
    fn rspauth_uses_an_empty_method() {
        let stored = ha1(
            Algorithm::Md5,
            "Mufasa",
            "http-auth@example.org",
            "Circle of Life",
        );
        assert_eq!(stored, "3d78807defe7de2157e2b0b6573a855f");
        assert_eq!(
            rfc7616_input(Algorithm::Md5).rspauth(&stored),
            "9b712497bc9f91499fbcca1dfc5f09a5"
        );
    }

    #[test]
    fn algorithm_tokens_parse_case_insensitively_and_round_trip() {
        for a in Algorithm::ALL {
            assert_eq!(Algorithm::from_token(a.token()), Some(a));
            assert_eq!(
                Algorithm::from_token(&a.token().to_ascii_lowercase()),
                Some(a)
            );
        }
        assert_eq!(Algorithm::from_token("sha-256"), Some(Algorithm::Sha256));
        assert_eq!(Algorithm::from_token("SHA256"), None);
        assert_eq!(Algorithm::from_token("AKAv1-MD5"), None);
    }
}
