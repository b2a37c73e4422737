//! Answering a digest challenge (RFC 3261 §22.2–22.3, RFC 7616 §3.4) — the one path every
//! test takes, through the client side of `crossbar-auth` ([`DigestChallenge`]).

use crossbar_auth::{Answer, DigestChallenge};
use crossbar_sip::{HeaderName, Request, Response};

/// The client nonce every answer uses: runs are deterministic.
pub const CNONCE: &str = "0a4f113b";

/// The header answering `challenge` (a 401's `WWW-Authenticate` or a 407's
/// `Proxy-Authenticate`) and its value, for a request with `method` and Request-URI `uri`,
/// as `username` with `password`. The first challenge value that parses is answered (a
/// server lists its preferred algorithm first), with `qop=auth` when offered and nonce
/// count 1 — a fresh challenge is answered once.
///
/// # Panics
/// When `challenge` is not a 401 or 407 with a `Digest` challenge.
pub fn credentials(
    challenge: &Response,
    method: &str,
    uri: &str,
    username: &str,
    password: &str,
) -> (HeaderName, String) {
    let (asked, answered) = match challenge.status {
        401 => (HeaderName::WwwAuthenticate, HeaderName::Authorization),
        407 => (
            HeaderName::ProxyAuthenticate,
            HeaderName::ProxyAuthorization,
        ),
        status => panic!("a {status} is no challenge:\n{challenge}"),
    };
    let parsed = challenge
        .headers
        .get_all(&asked)
        .find_map(|value| DigestChallenge::parse(value).ok().flatten())
        .unwrap_or_else(|| panic!("no Digest challenge in:\n{challenge}"));
    let value = parsed.authorization(&Answer {
        method,
        uri,
        username,
        password,
        cnonce: CNONCE,
        nonce_count: 1,
    });
    (answered, value)
}

/// `request` with the credentials answering `challenge` added (see [`credentials`]).
pub fn authorize(request: &mut Request, challenge: &Response, username: &str, password: &str) {
    let (name, value) = credentials(
        challenge,
        request.method.as_str(),
        &request.uri.to_string(),
        username,
        password,
    );
    request.headers.push(name, value);
}

/// The header line (`Name: value\r\n`) answering `challenge`, for SIP written as text.
pub fn credentials_line(
    challenge: &Response,
    method: &str,
    uri: &str,
    username: &str,
    password: &str,
) -> String {
    let (name, value) = credentials(challenge, method, uri, username, password);
    format!("{}: {value}\r\n", name.as_str())
}
