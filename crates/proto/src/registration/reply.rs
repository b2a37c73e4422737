//! What a registrar's response says: the expiry it granted (RFC 3261 §10.2.4), the interval
//! it wants (`Min-Expires`, §10.3 step 7), when to come back (`Retry-After`, §20.33), and
//! which digest challenge to answer (§22.2, RFC 8760 §2.4).

use std::time::Duration;

use crossbar_auth::DigestChallenge;
use crossbar_sip::{Contact, HeaderName, Response, Uri};

/// When to refresh a binding granted for `granted` seconds: at half of it, but at least 5 s
/// before it runs out (which only matters for grants under 10 s), and never sooner than 1 s.
///
/// Half, rather than "a few seconds before expiry", leaves the second half of the grant for
/// a failed refresh to be retried with back-off (30 s, 60 s, 120 s...) while the registrar
/// still holds the binding, so a short registrar outage never makes the trunk unreachable.
pub fn refresh_after(granted: u32) -> Duration {
    let granted = Duration::from_secs(u64::from(granted));
    let half = granted / 2;
    let margin = granted.saturating_sub(Duration::from_secs(5));
    half.min(margin).max(Duration::from_secs(1))
}

/// The expiry the registrar granted our contact (§10.2.4): the `expires` parameter of the
/// `Contact` in the 2xx that is ours (compared by §19.1.4), else the `Expires` header,
/// else `None` (the caller falls back to what it asked for).
pub fn granted_expiry(response: &Response, ours: &Uri) -> Option<u32> {
    let listed = match response.headers.contact() {
        Ok(Some(Contact::Addresses(list))) => list,
        _ => Vec::new(),
    };
    listed
        .iter()
        .find(|contact| same_uri(&contact.uri, ours))
        .and_then(|contact| contact.params.value("expires"))
        .and_then(delta_seconds)
        .or_else(|| response.headers.expires())
}

/// `Min-Expires` of a 423 (§20.23).
pub fn min_expires(response: &Response) -> Option<u32> {
    response
        .headers
        .get(&HeaderName::MinExpires)
        .and_then(delta_seconds)
}

/// `Retry-After` (§20.33): its delta-seconds, ignoring a comment and parameters
/// (`120 (maintenance);duration=3600`).
pub fn retry_after(response: &Response) -> Option<Duration> {
    let value = response.headers.get(&HeaderName::RetryAfter)?.trim_start();
    let end = value
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(value.len());
    delta_seconds(&value[..end]).map(|secs| Duration::from_secs(u64::from(secs)))
}

/// The challenge to answer in a 401 (`WWW-Authenticate`) or 407 (`Proxy-Authenticate`):
/// the first one that is `Digest`, uses an algorithm crossbar knows, and offers `qop=auth`
/// or no `qop` at all. RFC 8760 §2.4: the UAC uses the topmost value it supports (servers
/// list their preferred algorithm first).
pub fn usable_challenge(response: &Response) -> Option<DigestChallenge> {
    let header = if response.status == 407 {
        HeaderName::ProxyAuthenticate
    } else {
        HeaderName::WwwAuthenticate
    };
    response
        .headers
        .get_all(&header)
        .filter_map(|value| DigestChallenge::parse(value).ok().flatten())
        .find(|challenge| challenge.qop.is_empty() || challenge.qop.iter().any(|q| q == "auth"))
}

/// `delta-seconds` (§25.1), at most 2^32-1.
fn delta_seconds(value: &str) -> Option<u32> {
    let digits = value.trim();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(digits.parse().unwrap_or(u32::MAX))
}

/// URI equality by RFC 3261 §19.1.4, as far as a registrar's echo of our contact needs it:
/// scheme, user and password exactly; host case-insensitively; the port must be given in
/// both or neither; `user`, `ttl`, `method`, `maddr` and `transport` must match when either
/// has them; any other parameter must match when both have it. URI headers are ignored.
pub fn same_uri(a: &Uri, b: &Uri) -> bool {
    let (Uri::Sip(a), Uri::Sip(b)) = (a, b) else {
        return a.to_string() == b.to_string();
    };
    let host = |uri: &crossbar_sip::SipUri| uri.host.to_string().to_ascii_lowercase();
    if a.secure != b.secure
        || a.user != b.user
        || a.password != b.password
        || host(a) != host(b)
        || a.port != b.port
    {
        return false;
    }
    let value_eq = |x: Option<&str>, y: Option<&str>| match (x, y) {
        (Some(x), Some(y)) => x.eq_ignore_ascii_case(y),
        (x, y) => x == y,
    };
    let significant = ["user", "ttl", "method", "maddr", "transport"];
    let one_way = |x: &crossbar_sip::SipUri, y: &crossbar_sip::SipUri| {
        x.params
            .0
            .iter()
            .all(|(name, value)| match y.params.get(name) {
                Some(other) => value_eq(value.as_deref(), other),
                None => !significant.iter().any(|s| s.eq_ignore_ascii_case(name)),
            })
    };
    one_way(a, b) && one_way(b, a)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crossbar_sip::{HeaderName, Response, Uri};

    use super::*;

    fn uri(text: &str) -> Uri {
        Uri::parse(text).expect("test URI")
    }

    fn response(status: u16, headers: &[(HeaderName, &str)]) -> Response {
        let mut response = Response::new(status);
        for (name, value) in headers {
            response.headers.push(name.clone(), *value);
        }
        response
    }

    #[test]
    fn refresh_at_half_the_grant_but_at_least_five_seconds_before_expiry() {
        assert_eq!(refresh_after(3600), Duration::from_secs(1800));
        assert_eq!(refresh_after(60), Duration::from_secs(30));
        assert_eq!(refresh_after(10), Duration::from_secs(5));
        assert_eq!(refresh_after(8), Duration::from_secs(3));
        assert_eq!(refresh_after(3), Duration::from_secs(1));
    }

    #[test]
    fn the_expiry_of_our_contact_wins_over_the_expires_header() {
        let ours = uri("sip:trunk@192.0.2.1:5060");
        let ok = response(
            200,
            &[
                (HeaderName::Contact, "<sip:other@192.0.2.9>;expires=60"),
                (
                    HeaderName::Contact,
                    "<sip:trunk@192.0.2.1:5060>;expires=1200",
                ),
                (HeaderName::Expires, "3600"),
            ],
        );
        assert_eq!(granted_expiry(&ok, &ours), Some(1200));
        let without_ours = response(
            200,
            &[
                (HeaderName::Contact, "<sip:other@192.0.2.9>;expires=60"),
                (HeaderName::Expires, "900"),
            ],
        );
        assert_eq!(granted_expiry(&without_ours, &ours), Some(900));
        assert_eq!(granted_expiry(&response(200, &[]), &ours), None);
    }

    #[test]
    fn contacts_compare_by_the_rules_of_section_19_1_4() {
        let ours = uri("sip:trunk@192.0.2.1:5060;transport=udp");
        assert!(same_uri(
            &ours,
            &uri("sip:trunk@192.0.2.1:5060;TRANSPORT=UDP")
        ));
        assert!(same_uri(
            &ours,
            &uri("sip:trunk@192.0.2.1:5060;transport=udp;ob")
        ));
        assert!(!same_uri(&ours, &uri("sip:trunk@192.0.2.1:5060")));
        assert!(!same_uri(&ours, &uri("sip:trunk@192.0.2.1;transport=udp")));
        assert!(!same_uri(
            &ours,
            &uri("sip:TRUNK@192.0.2.1:5060;transport=udp")
        ));
        let named = uri("sip:trunk@PBX.example");
        assert!(same_uri(&named, &uri("sip:trunk@pbx.EXAMPLE")));
    }

    #[test]
    fn retry_after_and_min_expires_are_read_as_delta_seconds() {
        let busy = response(
            503,
            &[(HeaderName::RetryAfter, "120 (maintenance);duration=60")],
        );
        assert_eq!(retry_after(&busy), Some(Duration::from_secs(120)));
        let bare = response(503, &[(HeaderName::RetryAfter, " 5")]);
        assert_eq!(retry_after(&bare), Some(Duration::from_secs(5)));
        let garbage = response(503, &[(HeaderName::RetryAfter, "soon")]);
        assert_eq!(retry_after(&garbage), None);
        let brief = response(423, &[(HeaderName::MinExpires, "600")]);
        assert_eq!(min_expires(&brief), Some(600));
    }

    #[test]
    fn the_first_supported_digest_challenge_is_answered() {
        let offered = response(
            401,
            &[
                (HeaderName::WwwAuthenticate, "Basic realm=\"x\""),
                (
                    HeaderName::WwwAuthenticate,
                    "Digest realm=\"x\", nonce=\"1\", algorithm=ROT13",
                ),
                (
                    HeaderName::WwwAuthenticate,
                    "Digest realm=\"x\", nonce=\"2\", qop=\"auth-int\"",
                ),
                (
                    HeaderName::WwwAuthenticate,
                    "Digest realm=\"x\", nonce=\"3\", algorithm=SHA-256, qop=\"auth\"",
                ),
                (
                    HeaderName::WwwAuthenticate,
                    "Digest realm=\"x\", nonce=\"4\", algorithm=MD5",
                ),
            ],
        );
        assert_eq!(
            usable_challenge(&offered).map(|c| c.nonce),
            Some("3".into())
        );
        let proxy = response(
            407,
            &[
                (
                    HeaderName::WwwAuthenticate,
                    "Digest realm=\"x\", nonce=\"w\"",
                ),
                (
                    HeaderName::ProxyAuthenticate,
                    "Digest realm=\"x\", nonce=\"p\"",
                ),
            ],
        );
        assert_eq!(usable_challenge(&proxy).map(|c| c.nonce), Some("p".into()));
        assert_eq!(usable_challenge(&response(401, &[])), None);
    }
}
