//! `[http]`: the dashboard and REST API listener.

use std::net::SocketAddr;

use crate::load::{At, Loader, Section, check_name, unique};
use crate::sip::parse_socket_addr;

pub(crate) const KEYS: &[&str] = &["listen", "tokens"];
pub(crate) const TOKEN_KEYS: &[&str] = &["name", "sha256"];

/// The `[http]` section.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Http {
    /// Where the dashboard/API listens; `None` (key absent): no HTTP server.
    pub listen: Option<SocketAddr>,
    /// Bearer tokens that may change state through the API, stored hashed.
    pub tokens: Vec<ApiToken>,
}

/// `tokens = [{ name = "ops", sha256 = "<hex>" }]`: a named API token, kept as the SHA-256 of
/// the token (tokens are long random strings, so a fast hash is enough; `crossbar token new`
/// prints a token and the line to paste).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    /// Logged with every change the token makes.
    pub name: String,
    pub sha256: [u8; 32],
}

pub(crate) fn parse(ld: &mut Loader<'_>, section: &Section<'_, '_>) -> Http {
    section.reject_unknown_keys(ld, KEYS);
    let mut http = Http::default();
    if let Some(listen) = section.string(ld, "listen") {
        match parse_socket_addr(listen.value) {
            Ok(addr) => http.listen = Some(addr),
            Err(message) => ld.error(&listen.span, &section.key("listen"), message),
        }
    }
    if let Some(tokens) = section.tables(ld, "tokens") {
        let mut names: Vec<At<String>> = Vec::new();
        let mut hashes: Vec<At<[u8; 32]>> = Vec::new();
        for token in &tokens.value {
            let errors_before = ld.error_count();
            token.reject_unknown_keys(ld, TOKEN_KEYS);
            token.require(ld, "name");
            token.require(ld, "sha256");
            let name = token.string(ld, "name").and_then(|name| {
                if let Err(message) = check_name(name.value) {
                    ld.error(&name.span, &token.key("name"), message);
                    return None;
                }
                let at = At {
                    value: name.value.to_owned(),
                    span: name.span,
                };
                unique(ld, &mut names, at.clone(), &token.key("name"), "token name")
                    .then_some(at.value)
            });
            let sha256 = token.string(ld, "sha256").and_then(|hex| {
                let Some(hash) = parse_sha256(hex.value) else {
                    ld.error(
                        &hex.span,
                        &token.key("sha256"),
                        "must be the SHA-256 of the token: 64 hexadecimal digits (`crossbar \
                         token new` prints it)",
                    );
                    return None;
                };
                if let Some(first) = hashes.iter().find(|h| h.value == hash) {
                    let (line, _) = ld.position(first.span.start);
                    ld.error(
                        &hex.span,
                        &token.key("sha256"),
                        format!("the same token as the one at line {line}: give each its own"),
                    );
                    return None;
                }
                hashes.push(At {
                    value: hash,
                    span: hex.span,
                });
                Some(hash)
            });
            if let (Some(name), Some(sha256)) = (name, sha256)
                && ld.error_count() == errors_before
            {
                http.tokens.push(ApiToken { name, sha256 });
            }
        }
    }
    http
}

/// 64 hexadecimal digits (either case) → 32 bytes.
fn parse_sha256(hex: &str) -> Option<[u8; 32]> {
    let bytes = hex.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let digit = |b: u8| char::from(b).to_digit(16).map(|d| d as u8);
    let mut hash = [0u8; 32];
    for (i, pair) in bytes.chunks_exact(2).enumerate() {
        hash[i] = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Some(hash)
}
