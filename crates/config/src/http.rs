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
