//! `[auth]`: SIP digest authentication offered to phones (RFC 3261 §22, RFC 7616, RFC 8760).

use std::fmt;

use crate::load::{Loader, Section};

pub(crate) const KEYS: &[&str] = &["algorithms", "nonce_lifetime_secs", "min_secret_length"];

/// A digest algorithm crossbar can challenge with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DigestAlgorithm {
    Md5,
    Sha256,
    Sha512_256,
}

impl DigestAlgorithm {
    pub const ALL: [DigestAlgorithm; 3] = [
        DigestAlgorithm::Md5,
        DigestAlgorithm::Sha256,
        DigestAlgorithm::Sha512_256,
    ];

    /// The `algorithm=` token of the challenge (RFC 7616 §3.3, RFC 8760 §2).
    pub fn as_str(&self) -> &'static str {
        match self {
            DigestAlgorithm::Md5 => "MD5",
            DigestAlgorithm::Sha256 => "SHA-256",
            DigestAlgorithm::Sha512_256 => "SHA-512-256",
        }
    }

    /// Parses the token, ignoring ASCII case.
    pub fn parse(token: &str) -> Option<DigestAlgorithm> {
        Self::ALL
            .into_iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(token))
    }
}

impl fmt::Display for DigestAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `[auth]` section, with defaults resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Auth {
    /// Algorithms offered, most preferred first (one challenge each, RFC 8760 §2.4).
    /// Never empty, no duplicates. Default `[MD5]`: most phones only do MD5, and some
    /// (baresip 1.0, SIPp 3.6) refuse a 401 outright when any of its challenges names an
    /// algorithm they do not know, so offering SHA-256 is an opt-in for sites whose phones
    /// all handle RFC 8760.
    pub algorithms: Vec<DigestAlgorithm>,
    /// How long a nonce is accepted after it was issued. Default 300.
    pub nonce_lifetime_secs: u32,
    /// Shortest extension secret accepted. Default [`crate::MIN_SECRET_LEN`] (8); lowering
    /// it is for lab set-ups such as SIPp's `users.csv`, never for a PBX on a network.
    pub min_secret_length: u32,
}

impl Default for Auth {
    fn default() -> Self {
        Auth {
            algorithms: vec![DigestAlgorithm::Md5],
            nonce_lifetime_secs: 300,
            min_secret_length: crate::MIN_SECRET_LEN as u32,
        }
    }
}

pub(crate) fn parse(ld: &mut Loader<'_>, section: &Section<'_, '_>) -> Auth {
    section.reject_unknown_keys(ld, KEYS);
    let mut auth = Auth::default();
    if let Some(list) = section.string_array(ld, "algorithms") {
        let key = section.key("algorithms");
        let mut algorithms = Vec::with_capacity(list.value.len());
        for item in &list.value {
            match DigestAlgorithm::parse(item.value) {
                Some(a) if algorithms.contains(&a) => {
                    ld.error(&item.span, &key, format!("`{a}` is listed twice"));
                }
                Some(a) => algorithms.push(a),
                None => {
                    let known: Vec<&str> =
                        DigestAlgorithm::ALL.iter().map(|a| a.as_str()).collect();
                    ld.error(
                        &item.span,
                        &key,
                        format!(
                            "unknown digest algorithm `{}`, expected one of: {}",
                            item.value,
                            known.join(", ")
                        ),
                    );
                }
            }
        }
        if list.value.is_empty() {
            ld.error(
                &list.span,
                &key,
                "must offer at least one digest algorithm (e.g. [\"SHA-256\", \"MD5\"])",
            );
        }
        auth.algorithms = algorithms;
    }
    if let Some(lifetime) = section.u32_at_least(ld, "nonce_lifetime_secs", 1) {
        auth.nonce_lifetime_secs = lifetime.value;
    }
    if let Some(length) = section.u32_at_least(ld, "min_secret_length", 1) {
        auth.min_secret_length = length.value;
    }
    auth
}
