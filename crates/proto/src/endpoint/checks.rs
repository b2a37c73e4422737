//! The checks a UAS makes on every request before acting on it (RFC 3261 §8.2.1–§8.2.3),
//! and the answer to OPTIONS (§11.2).

use crossbar_sip::{HeaderName, Method, Request, Response, Uri};

use super::ALLOWED_METHODS;

/// Body types crossbar understands (RFC 3261 §8.2.3).
const ACCEPTED_BODIES: &str = "application/sdp";

/// `Some(response)` when the request must be refused before any processing:
/// 405/501 for methods crossbar does not implement (§8.2.1), 416 for a Request-URI scheme
/// it cannot route (§8.2.2.1), 420 for an unsupported `Require` (§8.2.2.3), 415 for a body
/// it cannot read and 406 when the caller accepts no body it could send (§8.2.3).
pub fn reject(request: &Request) -> Option<Response> {
    match &request.method {
        Method::Invite
        | Method::Ack
        | Method::Cancel
        | Method::Bye
        | Method::Options
        | Method::Register
        // Inside a call only (outside one they get 481): RFC 3311 and RFC 6086.
        | Method::Update
        | Method::Info => {}
        Method::Extension(_) => return Some(request.response(501)),
        _ => return Some(request.response(405)),
    }
    if let Uri::Other { .. } = request.uri {
        return Some(request.response(416));
    }
    if let Some(response) = unsupported_extensions(request) {
        return Some(response);
    }
    if request.method == Method::Invite {
        return body_not_understood(request).or_else(|| nothing_acceptable(request));
    }
    None
}

/// 200 to OPTIONS with what crossbar can do (§11.2).
pub fn options_response(request: &Request) -> Response {
    let mut response = request.response(200);
    response.headers.push(HeaderName::Allow, ALLOWED_METHODS);
    response.headers.push(HeaderName::Accept, ACCEPTED_BODIES);
    response
        .headers
        .push(HeaderName::AcceptEncoding, "identity");
    response.headers.push(HeaderName::AcceptLanguage, "en");
    response.headers.push(HeaderName::Supported, "");
    response
}

/// §8.2.2.3: every option tag in `Require` must be supported; crossbar supports none yet.
/// (`Proxy-Require` is for proxies; a UAS ignores it.)
fn unsupported_extensions(request: &Request) -> Option<Response> {
    if matches!(request.method, Method::Ack | Method::Cancel) {
        return None;
    }
    let unknown: Vec<&str> = request.headers.tokens(&HeaderName::Require).collect();
    if unknown.is_empty() {
        return None;
    }
    let mut response = request.response(420);
    response
        .headers
        .push(HeaderName::Unsupported, unknown.join(", "));
    Some(response)
}

/// §8.2.3: a body of a type crossbar does not understand gets 415 with `Accept`.
fn body_not_understood(request: &Request) -> Option<Response> {
    if request.body.is_empty() {
        return None;
    }
    let understood = request.headers.content_type().is_some_and(|value| {
        let media = value.split(';').next().unwrap_or_default().trim();
        media.eq_ignore_ascii_case("application/sdp")
    });
    if understood {
        return None;
    }
    let mut response = request.response(415);
    response.headers.push(HeaderName::Accept, ACCEPTED_BODIES);
    Some(response)
}

/// §8.2.3 and §21.4.7: an INVITE whose `Accept` rules out SDP cannot be answered with a
/// session description: 406 (RFC 4475 §3.3.15).
fn nothing_acceptable(request: &Request) -> Option<Response> {
    if !request.headers.contains(&HeaderName::Accept) {
        return None;
    }
    let mut accepted = request.headers.tokens(&HeaderName::Accept).map(|range| {
        range
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
    });
    let sdp_ok = accepted.any(|r| r == "application/sdp" || r == "application/*" || r == "*/*");
    if sdp_ok {
        return None;
    }
    let mut response = request.response(406);
    response.headers.push(
        HeaderName::Warning,
        "399 crossbar \"only application/sdp bodies can be sent\"",
    );
    Some(response)
}
