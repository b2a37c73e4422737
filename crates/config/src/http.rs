//! `[http]`: the dashboard and REST API listener.

use std::net::SocketAddr;

use crate::load::{Loader, Section};
use crate::sip::parse_socket_addr;

pub(crate) const KEYS: &[&str] = &["listen"];

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
    http
}
