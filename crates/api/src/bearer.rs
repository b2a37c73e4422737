//! Write access: every request that may change state (any method but `GET`, `HEAD` and
//! `OPTIONS`) must carry `Authorization: Bearer <token>` (RFC 6750 §2.1) with a token of
//! `[http] tokens`.
//!
//! Tokens are configured by name and SHA-256 ([`ApiToken`]; `crossbar token new NAME` makes
//! one). The presented token is hashed and compared in constant time with every configured
//! hash. A request without a token, or with one that is not configured, is answered
//! `401 Unauthorized` with `WWW-Authenticate: Bearer realm="crossbar"` (RFC 6750 §3; with
//! `error="invalid_token"` when a token was presented, §3.1) and a JSON error, before any
//! handler runs: nothing changes. An accepted request carries the token's name to its
//! handler as an [`Operator`], which logs it with what it did.
//!
//! Reads stay open.

use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use crossbar_config::ApiToken;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::{Api, ApiError};

/// The SHA-256 of `token`, as `[http] tokens` keeps it (`sha256 = "<hex>"`).
pub fn token_sha256(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Who made an accepted change: the name of the token it carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    /// The token's name in `[http] tokens`.
    pub token: String,
}

impl Operator {
    /// How the store records this operator as the author of a change: `token:NAME`.
    pub fn author(&self) -> String {
        format!("token:{}", self.token)
    }
}

/// The name of the configured token whose hash is the hash of `presented`, if any. Every
/// configured hash is compared, each in constant time, whichever matches.
fn identify<'t>(tokens: &'t [ApiToken], presented: &str) -> Option<&'t str> {
    let hash = token_sha256(presented);
    let mut found = None;
    for token in tokens {
        let matches: bool = token.sha256.ct_eq(&hash).into();
        if matches && found.is_none() {
            found = Some(token.name.as_str());
        }
    }
    found
}

/// What the `Authorization` header holds.
enum Presented<'h> {
    /// No header, or another scheme than Bearer.
    Nothing,
    /// A bearer token (maybe empty or unreadable: then it matches no configured token).
    Token(&'h str),
}

/// The bearer token of `headers` (RFC 6750 §2.1: `Bearer` followed by the token; the scheme
/// is case-insensitive, RFC 9110 §11.1).
fn presented(headers: &HeaderMap) -> Presented<'_> {
    let Some(value) = headers.get(AUTHORIZATION) else {
        return Presented::Nothing;
    };
    let bytes = value.as_bytes();
    let scheme = b"bearer ";
    if bytes.len() < scheme.len() || !bytes[..scheme.len()].eq_ignore_ascii_case(scheme) {
        return Presented::Nothing;
    }
    // A token that is not visible ASCII is a token no configuration holds.
    let token = std::str::from_utf8(&bytes[scheme.len()..]).unwrap_or_default();
    Presented::Token(token.trim())
}

/// Whether a request with this method only reads (RFC 9110 §9.2.1 safe methods).
fn reads_only(method: &Method) -> bool {
    *method == Method::GET || *method == Method::HEAD || *method == Method::OPTIONS
}

/// The 401 answer (RFC 6750 §3): the challenge, and a JSON error saying what to send.
fn unauthorized(challenge: &'static str, message: &str) -> Response {
    let mut response = ApiError {
        status: StatusCode::UNAUTHORIZED,
        message: message.to_owned(),
    }
    .into_response();
    response
        .headers_mut()
        .insert(WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
    response
}

/// The middleware in front of every route: lets reads through, and changes only with a
/// configured bearer token, handing the handler an [`Operator`].
pub(crate) async fn require_token_for_changes(
    State(api): State<Api>,
    mut request: Request,
    next: Next,
) -> Response {
    if reads_only(request.method()) {
        return next.run(request).await;
    }
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let name = match presented(request.headers()) {
        Presented::Nothing => {
            tracing::info!(%method, path, "API change refused: no bearer token");
            return unauthorized(
                r#"Bearer realm="crossbar""#,
                "this request changes state: send `Authorization: Bearer <token>` with a token \
                 of [http] tokens (`crossbar token new NAME` makes one)",
            );
        }
        Presented::Token(token) => identify(&api.tokens, token).map(str::to_owned),
    };
    let Some(name) = name else {
        tracing::info!(%method, path, "API change refused: unknown bearer token");
        return unauthorized(
            r#"Bearer realm="crossbar", error="invalid_token""#,
            "the bearer token is not one of [http] tokens",
        );
    };
    tracing::debug!(token = %name, %method, path, "API change accepted");
    request.extensions_mut().insert(Operator { token: name });
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(name: &str, secret: &str) -> ApiToken {
        ApiToken {
            name: name.into(),
            sha256: token_sha256(secret),
        }
    }

    #[test]
    fn the_hash_is_sha256_of_the_token_text() {
        // SHA-256("abc"), FIPS 180-2 appendix B.1.
        let expected = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        let hex: String = token_sha256("abc")
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(hex, expected);
    }

    #[test]
    fn a_token_is_identified_by_the_hash_of_its_text() {
        let tokens = [token("ops", "s3cret-ops"), token("noc", "s3cret-noc")];
        assert_eq!(identify(&tokens, "s3cret-noc"), Some("noc"));
        assert_eq!(identify(&tokens, "s3cret-ops"), Some("ops"));
        assert_eq!(identify(&tokens, "s3cret-op"), None);
        assert_eq!(identify(&tokens, ""), None);
        assert_eq!(identify(&[], "s3cret-ops"), None);
    }

    #[test]
    fn the_bearer_scheme_is_case_insensitive_and_other_schemes_present_nothing() {
        let with = |value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(AUTHORIZATION, HeaderValue::from_static(value));
            match presented(&headers) {
                Presented::Nothing => None,
                Presented::Token(token) => Some(token.to_owned()),
            }
        };
        assert_eq!(with("Bearer abc"), Some("abc".into()));
        assert_eq!(with("bearer  abc "), Some("abc".into()));
        assert_eq!(with("BEARER abc"), Some("abc".into()));
        assert_eq!(with("Bearer "), Some(String::new()));
        assert_eq!(with("Basic YWxhZGRpbjpvcGVuc2VzYW1l"), None);
        assert_eq!(with("Bearer"), None);
        assert!(matches!(presented(&HeaderMap::new()), Presented::Nothing));
    }
}
