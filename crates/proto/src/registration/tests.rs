//! The machine's own rules, with hand-made responses. The flows against crossbar's registrar
//! are in `tests/registration.rs`.

use std::time::{Duration, Instant};

use crossbar_auth::DigestCredentials;
use crossbar_sip::{HeaderName, Request, Response, Uri};

use super::*;

fn uri(text: &str) -> Uri {
    Uri::parse(text).expect("test URI")
}

fn settings() -> RegistrationSettings {
    RegistrationSettings {
        registrar: uri("sip:carrier.example"),
        aor: uri("sip:trunk@carrier.example"),
        contact: uri("sip:trunk@192.0.2.1:5060"),
        username: "trunk".into(),
        secret: "s3cret".into(),
        expires_secs: 3600,
        user_agent: "crossbar-test".into(),
        backoff: Backoff {
            jitter_percent: 0,
            ..Backoff::default()
        },
    }
}

fn secs(start: Instant, s: u64) -> Instant {
    start + Duration::from_secs(s)
}

fn challenge(request: &Request, status: u16, nonce: &str, stale: bool) -> Response {
    let mut response = request.response(status);
    let header = if status == 407 {
        HeaderName::ProxyAuthenticate
    } else {
        HeaderName::WwwAuthenticate
    };
    let stale = if stale { ", stale=true" } else { "" };
    response.headers.push(
        header,
        format!("Digest realm=\"carrier\", nonce=\"{nonce}\", algorithm=MD5, qop=\"auth\"{stale}"),
    );
    response
}

/// The parts of a request's credentials the tests look at.
#[derive(Debug)]
struct Sent {
    username: String,
    nonce: String,
    uri: String,
    nc: Option<u32>,
    cnonce: Option<String>,
}

fn credentials(request: &Request, header: &HeaderName) -> Sent {
    let value = request.headers.get(header).expect("credentials");
    let parsed = DigestCredentials::parse(value)
        .expect("well-formed")
        .expect("digest");
    Sent {
        username: parsed.username.into_owned(),
        nonce: parsed.nonce.into_owned(),
        uri: parsed.uri.into_owned(),
        nc: parsed.nc.map(|nc| nc.value),
        cnonce: parsed.cnonce.map(|c| c.into_owned()),
    }
}

fn changes(registration: &mut Registration) -> Vec<RegistrationState> {
    std::iter::from_fn(|| registration.poll_change())
        .map(|c| c.state)
        .collect()
}

#[test]
fn the_register_carries_everything_but_the_via() {
    let start = Instant::now();
    let mut registration = Registration::new(settings(), 1);
    let request = registration.poll_request(start).expect("first REGISTER");
    assert_eq!(request.method, Method::Register);
    assert_eq!(request.uri.to_string(), "sip:carrier.example");
    let h = &request.headers;
    assert!(!h.contains(&HeaderName::Via));
    assert_eq!(h.get(&HeaderName::MaxForwards), Some("70"));
    assert_eq!(
        h.to().expect("To").uri.to_string(),
        "sip:trunk@carrier.example"
    );
    assert!(h.to().expect("To").tag().is_none());
    assert!(h.from().expect("From").tag().is_some());
    assert_eq!(h.call_id(), Some(registration.call_id()));
    assert_eq!(h.get(&HeaderName::CSeq), Some("1 REGISTER"));
    assert_eq!(
        h.get(&HeaderName::Contact),
        Some("<sip:trunk@192.0.2.1:5060>;expires=3600")
    );
    assert_eq!(h.get(&HeaderName::Expires), Some("3600"));
    assert_eq!(h.get(&HeaderName::Allow), Some(ALLOWED_METHODS));
    assert_eq!(h.get(&HeaderName::UserAgent), Some("crossbar-test"));
    assert!(!h.contains(&HeaderName::Authorization));
    assert_eq!(registration.state(), &RegistrationState::Registering);
    assert!(
        registration.poll_request(start).is_none(),
        "one REGISTER at a time"
    );
}

#[test]
fn debug_output_never_shows_the_secret() {
    let registration = Registration::new(settings(), 1);
    let printed = format!("{registration:?}");
    assert!(!printed.contains("s3cret"), "{printed}");
    assert!(printed.contains("<redacted>"));
}

#[test]
fn the_same_seed_gives_the_same_call_id_and_other_seeds_another() {
    let a = Registration::new(settings(), 9);
    let b = Registration::new(settings(), 9);
    let c = Registration::new(settings(), 10);
    assert_eq!(a.call_id(), b.call_id());
    assert_ne!(a.call_id(), c.call_id());
}

#[test]
fn a_proxy_challenge_is_answered_in_proxy_authorization_with_a_higher_cseq() {
    let start = Instant::now();
    let mut registration = Registration::new(settings(), 1);
    let first = registration.poll_request(start).expect("REGISTER");
    registration.handle_response(start, &challenge(&first, 407, "n1", false));
    let second = registration.poll_request(start).expect("answer");
    assert_eq!(second.headers.get(&HeaderName::CSeq), Some("2 REGISTER"));
    assert!(!second.headers.contains(&HeaderName::Authorization));
    let creds = credentials(&second, &HeaderName::ProxyAuthorization);
    assert_eq!(creds.username, "trunk");
    assert_eq!(creds.nonce, "n1");
    assert_eq!(creds.uri, "sip:carrier.example");
    assert_eq!(second.headers.call_id(), first.headers.call_id());
}

#[test]
fn kept_credentials_count_up_the_nonce_on_each_refresh() {
    let start = Instant::now();
    let mut registration = Registration::new(settings(), 1);
    let first = registration.poll_request(start).expect("REGISTER");
    registration.handle_response(start, &challenge(&first, 401, "n1", false));
    let answer = registration.poll_request(start).expect("answer");
    registration.handle_response(start, &answer.response(200));
    assert_eq!(registration.poll_timeout(), Some(secs(start, 1800)));
    assert!(registration.poll_request(secs(start, 1799)).is_none());
    let refresh = registration
        .poll_request(secs(start, 1800))
        .expect("refresh");
    let (a, b) = (
        credentials(&answer, &HeaderName::Authorization),
        credentials(&refresh, &HeaderName::Authorization),
    );
    assert_eq!(b.nonce, "n1");
    assert_eq!(a.nc, Some(1));
    assert_eq!(b.nc, Some(2));
    assert_ne!(a.cnonce, b.cnonce, "a fresh cnonce per request");
    assert_eq!(refresh.headers.get(&HeaderName::CSeq), Some("3 REGISTER"));
}

#[test]
fn responses_to_other_requests_and_provisionals_are_ignored() {
    let start = Instant::now();
    let mut registration = Registration::new(settings(), 1);
    let first = registration.poll_request(start).expect("REGISTER");
    registration.handle_response(start, &first.response(100));
    let mut other = first.response(200);
    other.headers.set(HeaderName::CSeq, "7 REGISTER");
    registration.handle_response(start, &other);
    let mut foreign = first.response(200);
    foreign.headers.set(HeaderName::CallId, "someone-else");
    registration.handle_response(start, &foreign);
    assert_eq!(registration.state(), &RegistrationState::Registering);
    registration.handle_response(start, &first.response(200));
    assert!(matches!(
        registration.state(),
        RegistrationState::Registered { .. }
    ));
}

#[test]
fn a_challenge_to_fresh_credentials_with_the_same_stale_nonce_is_a_failure() {
    let start = Instant::now();
    let mut registration = Registration::new(settings(), 1);
    let first = registration.poll_request(start).expect("REGISTER");
    registration.handle_response(start, &challenge(&first, 401, "n1", false));
    let answer = registration.poll_request(start).expect("answer");
    registration.handle_response(start, &challenge(&answer, 401, "n1", true));
    let RegistrationState::Failed { status, reason, .. } = registration.state() else {
        panic!("{:?}", registration.state())
    };
    assert_eq!(*status, 401);
    assert!(reason.contains("same nonce"), "{reason}");
}

#[test]
fn stale_challenges_stop_after_a_bounded_number_of_rounds() {
    let start = Instant::now();
    let mut registration = Registration::new(settings(), 1);
    let mut sent = 0;
    let mut nonce = 0;
    while let Some(request) = registration.poll_request(start) {
        sent += 1;
        nonce += 1;
        registration.handle_response(start, &challenge(&request, 401, &nonce.to_string(), true));
    }
    assert_eq!(sent, MAX_ROUNDS);
    assert!(matches!(
        registration.state(),
        RegistrationState::Failed { status: 401, .. }
    ));
}

#[test]
fn a_401_without_a_usable_challenge_fails() {
    let start = Instant::now();
    let mut registration = Registration::new(settings(), 1);
    let first = registration.poll_request(start).expect("REGISTER");
    let mut basic = first.response(401);
    basic
        .headers
        .push(HeaderName::WwwAuthenticate, "Basic realm=\"x\"");
    registration.handle_response(start, &basic);
    assert!(matches!(
        registration.state(),
        RegistrationState::Failed { status: 401, .. }
    ));
}

#[test]
fn a_423_without_a_higher_min_expires_fails_rather_than_loops() {
    let start = Instant::now();
    let mut registration = Registration::new(settings(), 1);
    let first = registration.poll_request(start).expect("REGISTER");
    let mut brief = first.response(423);
    brief.headers.push(HeaderName::MinExpires, "60");
    registration.handle_response(start, &brief);
    assert!(matches!(
        registration.state(),
        RegistrationState::Failed { status: 423, .. }
    ));
}

#[test]
fn an_unreported_outcome_is_taken_as_a_408_after_the_guard() {
    let start = Instant::now();
    let mut registration = Registration::new(settings(), 1);
    registration.poll_request(start).expect("REGISTER");
    assert_eq!(registration.poll_timeout(), Some(start + NO_RESPONSE_GUARD));
    registration.handle_timeout(start + NO_RESPONSE_GUARD);
    assert_eq!(
        registration.state(),
        &RegistrationState::Failed {
            status: 408,
            reason: "Request Timeout (no response reported)".into(),
            retry_at: start + NO_RESPONSE_GUARD + Duration::from_secs(30),
        }
    );
}

#[test]
fn a_binding_whose_refresh_is_unanswered_at_expiry_lapses() {
    let start = Instant::now();
    let mut registration = Registration::new(settings(), 1);
    let first = registration.poll_request(start).expect("REGISTER");
    let mut ok = first.response(200);
    ok.headers.push(HeaderName::Expires, "100");
    registration.handle_response(start, &ok);
    registration
        .poll_request(secs(start, 50))
        .expect("refresh at half");
    assert_eq!(registration.poll_timeout(), Some(secs(start, 100)));
    registration.handle_timeout(secs(start, 100));
    assert_eq!(registration.state(), &RegistrationState::Registering);
    let states = changes(&mut registration);
    assert!(matches!(
        states.as_slice(),
        [
            RegistrationState::Registering,
            RegistrationState::Registered { .. },
            RegistrationState::Registering
        ]
    ));
}

#[test]
fn unregistering_with_nothing_bound_sends_nothing() {
    let start = Instant::now();
    let mut registration = Registration::new(settings(), 1);
    registration.unregister(start);
    assert!(registration.poll_request(start).is_none());
    assert_eq!(registration.state(), &RegistrationState::Unregistered);
    assert_eq!(registration.poll_timeout(), None);
}

#[test]
fn unregister_waits_for_the_outstanding_register_then_removes_its_binding() {
    let start = Instant::now();
    let mut registration = Registration::new(settings(), 1);
    let first = registration.poll_request(start).expect("REGISTER");
    registration.unregister(start);
    assert!(
        registration.poll_request(start).is_none(),
        "not while a REGISTER is out"
    );
    registration.handle_response(start, &first.response(200));
    let bye = registration.poll_request(start).expect("un-REGISTER");
    assert_eq!(bye.headers.get(&HeaderName::Expires), Some("0"));
    assert_eq!(
        bye.headers.get(&HeaderName::Contact),
        Some("<sip:trunk@192.0.2.1:5060>;expires=0")
    );
    assert_eq!(bye.headers.get(&HeaderName::CSeq), Some("2 REGISTER"));
    assert_eq!(registration.state(), &RegistrationState::Unregistering);
    registration.handle_response(start, &bye.response(200));
    assert_eq!(registration.state(), &RegistrationState::Unregistered);
    assert_eq!(registration.poll_timeout(), None);
    assert!(registration.poll_request(secs(start, 10_000)).is_none());
}

#[test]
fn a_lost_answer_may_have_bound_us_so_unregister_still_sends() {
    let start = Instant::now();
    let mut registration = Registration::new(settings(), 1);
    let first = registration.poll_request(start).expect("REGISTER");
    registration.handle_response(secs(start, 32), &first.response(408));
    registration.unregister(secs(start, 40));
    let bye = registration
        .poll_request(secs(start, 40))
        .expect("un-REGISTER");
    assert_eq!(bye.headers.get(&HeaderName::Expires), Some("0"));
    registration.handle_response(secs(start, 72), &bye.response(408));
    assert_eq!(
        registration.state(),
        &RegistrationState::Unregistered,
        "a failed un-REGISTER is not retried"
    );
}

#[test]
fn retry_after_is_honoured_up_to_the_ceiling_without_advancing_the_backoff() {
    let start = Instant::now();
    let mut registration = Registration::new(settings(), 1);
    let mut retry_at = Vec::new();
    let mut now = start;
    for retry_after in [Some("86400"), Some("0"), None, Some("45"), None] {
        let request = registration.poll_request(now).expect("REGISTER");
        let mut busy = request.response(503);
        if let Some(value) = retry_after {
            busy.headers.push(HeaderName::RetryAfter, value);
        }
        registration.handle_response(now, &busy);
        let RegistrationState::Failed { retry_at: at, .. } = registration.state() else {
            panic!("{:?}", registration.state())
        };
        retry_at.push((*at - now).as_secs());
        now = *at;
    }
    assert_eq!(retry_at, [1800, 1, 30, 45, 60]);
}
