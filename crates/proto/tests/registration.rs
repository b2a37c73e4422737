//! A trunk registering to a carrier (RFC 3261 §10.2) on a virtual clock: the carrier is
//! crossbar's own registrar (digest per RFC 7616, 423, expiry) or a script, over real client
//! transactions (Timer F included).

mod wire;

use std::time::Duration;

use crossbar_auth::DigestCredentials;
use crossbar_proto::registrar::RegistrarSettings;
use crossbar_proto::registration::{
    Backoff, Registration, RegistrationSettings, RegistrationState,
};
use crossbar_sip::{HeaderName, Request};

use wire::{Carrier, CarrierAuth, Wire, answer, crossbar_carrier, trunk_account, uri};

const SECRET: &str = "trunk-secret";

fn s(secs: u64) -> Duration {
    Duration::from_secs(secs)
}

fn settings() -> RegistrationSettings {
    RegistrationSettings {
        registrar: uri("sip:carrier.example"),
        aor: uri("sip:trunk@carrier.example"),
        contact: uri("sip:trunk@192.0.2.1:5060"),
        username: "trunk".into(),
        secret: SECRET.into(),
        expires_secs: 3600,
        user_agent: "crossbar-test".into(),
        backoff: Backoff {
            jitter_percent: 0,
            ..Backoff::default()
        },
    }
}

/// A wire to crossbar's registrar with `secret` for the trunk, and a registration.
fn lab(secret: &str, registrar: RegistrarSettings, auth: &CarrierAuth) -> (Wire, Registration) {
    let carrier = crossbar_carrier(wire::wall_at_start(), secret, registrar, auth);
    let wire = Wire::new(carrier);
    (wire, Registration::new(settings(), 42))
}

/// Every state change so far, with its instant from the start.
fn changes(wire: &Wire, registration: &mut Registration) -> Vec<(Duration, RegistrationState)> {
    std::iter::from_fn(|| registration.poll_change())
        .map(|c| (c.at - wire.start(), c.state))
        .collect()
}

/// The instants (from the start) the registration failed and planned its retries for.
fn retries(wire: &Wire, changes: &[(Duration, RegistrationState)]) -> Vec<(u64, u16, u64)> {
    changes
        .iter()
        .filter_map(|(at, state)| match state {
            RegistrationState::Failed {
                status, retry_at, ..
            } => Some((at.as_secs(), *status, (*retry_at - wire.start()).as_secs())),
            _ => None,
        })
        .collect()
}

/// The digest nonce and nonce count a request's `Authorization` carries.
fn digest(request: &Request) -> Option<(String, u32)> {
    let value = request.headers.get(&HeaderName::Authorization)?;
    let parsed = DigestCredentials::parse(value).ok()??;
    Some((parsed.nonce.into_owned(), parsed.nc?.value))
}

fn is_stale_challenge(wire: &Wire, index: usize) -> bool {
    let (_, response) = &wire.answered[index];
    assert_eq!(response.status, 401);
    response
        .headers
        .get_all(&HeaderName::WwwAuthenticate)
        .all(|c| c.contains("stale=true"))
}

#[test]
fn registers_with_digest_and_refreshes_so_the_binding_never_lapses_for_hours() {
    let (mut wire, mut registration) = lab(
        SECRET,
        RegistrarSettings::default(),
        &CarrierAuth::default(),
    );
    wire.run_until(&mut registration, wire.start());
    assert_eq!(
        wire.sent.len(),
        2,
        "REGISTER, 401, REGISTER with credentials"
    );
    assert_eq!(digest(&wire.sent[0].1), None);
    assert!(digest(&wire.sent[1].1).is_some());
    assert_eq!(
        registration.state(),
        &RegistrationState::Registered {
            since: wire.start(),
            expires_at: wire.at(s(3600)),
        }
    );
    assert_eq!(wire.carrier_bindings(), ["sip:trunk@192.0.2.1:5060"]);

    // Six hours, checked every 10 s: the carrier always holds the binding.
    for _ in 0..(6 * 360) {
        wire.run_for(&mut registration, s(10));
        assert_eq!(
            wire.carrier_bindings().len(),
            1,
            "bound at {:?}",
            wire.elapsed()
        );
        assert!(matches!(
            registration.state(),
            RegistrationState::Registered { since, .. } if *since == wire.start()
        ));
    }
    // A refresh every 1800 s; crossbar's nonces live 300 s, so each refresh's kept
    // credentials are answered stale=true and the new nonce is answered at once.
    let expected: Vec<Duration> = (0..=12).flat_map(|n| [s(n * 1800); 2]).collect();
    assert_eq!(wire.sent_at(), expected);
    for refresh in 1..=12 {
        let (kept, renewed) = (refresh * 2, refresh * 2 + 1);
        assert_eq!(
            digest(&wire.sent[kept].1).map(|(_, nc)| nc),
            Some(2),
            "the kept nonce, counted up"
        );
        assert!(is_stale_challenge(&wire, kept));
        assert_eq!(digest(&wire.sent[renewed].1).map(|(_, nc)| nc), Some(1));
    }
    // One Call-ID, CSeq counting up by one (§10.2.4).
    let call_ids: Vec<_> = wire
        .sent
        .iter()
        .map(|(_, r)| r.headers.call_id().expect("Call-ID").to_owned())
        .collect();
    assert!(call_ids.iter().all(|id| *id == call_ids[0]));
    let cseqs: Vec<u32> = wire
        .sent
        .iter()
        .map(|(_, r)| r.headers.cseq().expect("CSeq").seq)
        .collect();
    assert_eq!(cseqs, (1..=26).collect::<Vec<_>>());
    let states = changes(&wire, &mut registration);
    assert!(
        states
            .iter()
            .all(|(_, s)| !matches!(s, RegistrationState::Failed { .. })),
        "{states:?}"
    );
    assert_eq!(
        states.len(),
        2 + 12,
        "Registering, Registered, then one per refresh"
    );
}

#[test]
fn a_kept_challenge_refreshes_in_one_request_while_its_nonce_lives() {
    let auth = CarrierAuth {
        nonce_lifetime: s(7200),
        ..CarrierAuth::default()
    };
    let (mut wire, mut registration) = lab(SECRET, RegistrarSettings::default(), &auth);
    wire.run_until(&mut registration, wire.at(s(1800)));
    assert_eq!(wire.sent_at(), [s(0), s(0), s(1800)]);
    let (first, refresh) = (
        digest(&wire.sent[1].1).expect("credentials"),
        digest(&wire.sent[2].1).expect("credentials"),
    );
    assert_eq!(refresh.0, first.0, "the same nonce");
    assert_eq!((first.1, refresh.1), (1, 2), "nc counted up");
    assert_eq!(wire.statuses().last(), Some(&(s(1800), 200)));
    assert!(matches!(
        registration.state(),
        RegistrationState::Registered { expires_at, .. } if *expires_at == wire.at(s(5400))
    ));
}

#[test]
fn the_registrars_shorter_grant_in_our_contact_is_what_is_refreshed() {
    let registrar = RegistrarSettings {
        max_expires: 1200,
        ..RegistrarSettings::default()
    };
    let (mut wire, mut registration) = lab(SECRET, registrar, &CarrierAuth::default());
    wire.run_until(&mut registration, wire.start());
    assert!(matches!(
        registration.state(),
        RegistrationState::Registered { expires_at, .. } if *expires_at == wire.at(s(1200))
    ));
    assert_eq!(registration.poll_timeout(), Some(wire.at(s(600))));
}

#[test]
fn a_carrier_restart_that_lost_the_binding_is_healed_at_the_next_refresh() {
    // Nonces outlive the restart, so the kept one is refused only for being from the
    // previous run (stale=true), not for age.
    let auth = CarrierAuth {
        nonce_lifetime: s(7200),
        ..CarrierAuth::default()
    };
    let (mut wire, mut registration) = lab(SECRET, RegistrarSettings::default(), &auth);
    wire.run_until(&mut registration, wire.at(s(600)));
    wire.carrier = crossbar_carrier(wire.wall(), SECRET, RegistrarSettings::default(), &auth);
    assert!(wire.carrier_bindings().is_empty(), "the restart lost it");

    wire.run_until(&mut registration, wire.at(s(1800)));
    assert_eq!(wire.sent_at(), [s(0), s(0), s(1800), s(1800)]);
    assert!(is_stale_challenge(&wire, 2));
    assert_eq!(wire.carrier_bindings(), ["sip:trunk@192.0.2.1:5060"]);
    let states = changes(&wire, &mut registration);
    assert!(
        states.iter().all(|(_, s)| matches!(
            s,
            RegistrationState::Registering | RegistrationState::Registered { .. }
        )),
        "{states:?}"
    );
}

#[test]
fn a_new_nonce_key_at_the_carrier_is_a_new_challenge_round_not_a_failure() {
    let (mut wire, mut registration) = lab(
        SECRET,
        RegistrarSettings::default(),
        &CarrierAuth::default(),
    );
    wire.run_until(&mut registration, wire.at(s(600)));
    let rekeyed = CarrierAuth {
        key_seed: 99,
        ..CarrierAuth::default()
    };
    wire.carrier = crossbar_carrier(wire.wall(), SECRET, RegistrarSettings::default(), &rekeyed);

    wire.run_until(&mut registration, wire.at(s(1800)));
    assert_eq!(wire.sent_at(), [s(0), s(0), s(1800), s(1800)]);
    assert!(
        !is_stale_challenge(&wire, 2),
        "a nonce of another key is refused outright"
    );
    assert_eq!(wire.statuses().last(), Some(&(s(1800), 200)));
    assert!(matches!(
        registration.state(),
        RegistrationState::Registered { since, expires_at }
            if *since == wire.start() && *expires_at == wire.at(s(5400))
    ));
    let states = changes(&wire, &mut registration);
    assert!(retries(&wire, &states).is_empty(), "{states:?}");
}

#[test]
fn a_wrong_password_fails_without_a_loop_and_backs_off_doubling_to_thirty_minutes() {
    let (mut wire, mut registration) = lab(
        "not-the-secret",
        RegistrarSettings::default(),
        &CarrierAuth::default(),
    );
    wire.run_until(&mut registration, wire.at(s(7000)));
    // Each attempt: REGISTER → 401 → answer → 401 again (not stale): failed, no third try.
    let attempts = [0, 30, 90, 210, 450, 930, 1890, 3690, 5490];
    let expected: Vec<Duration> = attempts.iter().flat_map(|&t| [s(t); 2]).collect();
    assert_eq!(wire.sent_at(), expected);
    let states = changes(&wire, &mut registration);
    let failed = retries(&wire, &states);
    let next: Vec<u64> = attempts[1..].iter().copied().chain([7290]).collect();
    assert_eq!(
        failed,
        attempts
            .iter()
            .zip(next)
            .map(|(&at, retry)| (at, 401, retry))
            .collect::<Vec<_>>()
    );
    let RegistrationState::Failed { reason, .. } = registration.state() else {
        panic!("{:?}", registration.state())
    };
    assert!(reason.contains("credentials rejected"), "{reason}");

    // The carrier's account is fixed: the next retry registers and the back-off resets.
    wire.endpoint().set_accounts(vec![trunk_account(SECRET)]);
    wire.run_until(&mut registration, wire.at(s(7290)));
    assert!(matches!(
        registration.state(),
        RegistrationState::Registered { since, .. } if *since == wire.at(s(7290))
    ));
    wire.endpoint()
        .set_accounts(vec![trunk_account("changed-again")]);
    wire.run_until(&mut registration, wire.at(s(7290 + 1800)));
    let states = changes(&wire, &mut registration);
    assert_eq!(
        retries(&wire, &states),
        [(9090, 401, 9120)],
        "30 s again after a success"
    );
}

#[test]
fn too_brief_an_expiry_is_raised_to_min_expires_at_once_and_kept() {
    let registrar = RegistrarSettings {
        min_expires: 600,
        ..RegistrarSettings::default()
    };
    let (mut wire, _) = lab(SECRET, registrar, &CarrierAuth::default());
    let mut registration = Registration::new(
        RegistrationSettings {
            expires_secs: 300,
            ..settings()
        },
        42,
    );
    wire.run_until(&mut registration, wire.start());
    let statuses: Vec<u16> = wire.statuses().iter().map(|(_, s)| *s).collect();
    assert_eq!(statuses, [401, 423, 200]);
    let expires: Vec<&str> = wire
        .sent
        .iter()
        .map(|(_, r)| r.headers.get(&HeaderName::Expires).expect("Expires"))
        .collect();
    assert_eq!(expires, ["300", "300", "600"]);
    assert_eq!(
        wire.sent[2].1.headers.get(&HeaderName::Contact),
        Some("<sip:trunk@192.0.2.1:5060>;expires=600")
    );
    assert!(matches!(
        registration.state(),
        RegistrationState::Registered { expires_at, .. } if *expires_at == wire.at(s(600))
    ));
    // The refresh, at half of 600 s, asks for 600 s straight away.
    wire.run_until(&mut registration, wire.at(s(300)));
    let refresh = &wire.sent[3];
    assert_eq!(refresh.0, s(300));
    assert_eq!(refresh.1.headers.get(&HeaderName::Expires), Some("600"));
}

#[test]
fn a_503_with_retry_after_is_retried_when_the_carrier_says() {
    let mut calls = 0;
    let script = move |request: &Request| {
        calls += 1;
        let mut response = answer(request, if calls <= 2 { 503 } else { 200 });
        match calls {
            1 => response.headers.push(HeaderName::RetryAfter, "120"),
            2 => {}
            _ => response.headers.push(
                HeaderName::Contact,
                "<sip:trunk@192.0.2.1:5060>;expires=900",
            ),
        }
        Some(response)
    };
    let mut wire = Wire::new(Carrier::Scripted(Box::new(script)));
    let mut registration = Registration::new(settings(), 42);
    wire.run_until(&mut registration, wire.at(s(200)));
    // 503 Retry-After: 120 → at 120; 503 without → the back-off's first 30 s → at 150.
    assert_eq!(wire.sent_at(), [s(0), s(120), s(150)]);
    let states = changes(&wire, &mut registration);
    assert_eq!(retries(&wire, &states), [(0, 503, 120), (120, 503, 150)]);
    assert!(matches!(
        registration.state(),
        RegistrationState::Registered { since, expires_at }
            if *since == wire.at(s(150)) && *expires_at == wire.at(s(1050))
    ));
    assert_eq!(registration.poll_timeout(), Some(wire.at(s(150 + 450))));
}

#[test]
fn an_unreachable_registrar_times_out_with_timer_f_and_is_retried_with_backoff() {
    let (mut wire, mut registration) = lab(
        SECRET,
        RegistrarSettings::default(),
        &CarrierAuth::default(),
    );
    wire.reachable = false;
    wire.run_until(&mut registration, wire.at(s(100)));
    wire.reachable = true;
    wire.run_until(&mut registration, wire.at(s(200)));
    assert_eq!(wire.sent_at(), [s(0), s(62), s(154), s(154)]);
    assert_eq!(
        wire.statuses(),
        [(s(32), 408), (s(94), 408), (s(154), 401), (s(154), 200)]
    );
    let states = changes(&wire, &mut registration);
    assert_eq!(retries(&wire, &states), [(32, 408, 62), (94, 408, 154)]);
    assert!(matches!(
        registration.state(),
        RegistrationState::Registered { since, .. } if *since == wire.at(s(154))
    ));
}

#[test]
fn unregister_removes_the_binding_at_the_carrier_and_stops() {
    let (mut wire, mut registration) = lab(
        SECRET,
        RegistrarSettings::default(),
        &CarrierAuth::default(),
    );
    wire.run_until(&mut registration, wire.at(s(60)));
    assert_eq!(wire.carrier_bindings().len(), 1);
    registration.unregister(wire.now);
    wire.run_until(&mut registration, wire.at(s(60)));
    let bye = &wire.sent[2].1;
    assert_eq!(bye.headers.get(&HeaderName::Expires), Some("0"));
    assert_eq!(digest(bye).map(|(_, nc)| nc), Some(2), "the kept challenge");
    assert_eq!(wire.statuses().last(), Some(&(s(60), 200)));
    assert!(wire.carrier_bindings().is_empty());
    assert_eq!(registration.state(), &RegistrationState::Unregistered);
    assert_eq!(registration.poll_timeout(), None);
    wire.run_until(&mut registration, wire.at(s(4 * 3600)));
    assert_eq!(wire.sent.len(), 3, "nothing more is sent");
    let states: Vec<RegistrationState> = changes(&wire, &mut registration)
        .into_iter()
        .map(|(_, s)| s)
        .collect();
    assert!(matches!(
        states.as_slice(),
        [
            RegistrationState::Registering,
            RegistrationState::Registered { .. },
            RegistrationState::Unregistering,
            RegistrationState::Unregistered
        ]
    ));
}

#[test]
fn backoff_jitter_comes_from_the_seed_and_only_shortens_the_wait() {
    let schedule = |seed| {
        let mut wire = Wire::new(wire::always(403));
        let mut registration = Registration::new(
            RegistrationSettings {
                backoff: Backoff::default(),
                ..settings()
            },
            seed,
        );
        wire.run_until(&mut registration, wire.at(s(4000)));
        wire.sent
            .iter()
            .map(|(at, _)| at.as_millis())
            .collect::<Vec<_>>()
    };
    let (a, b, c) = (schedule(1), schedule(1), schedule(2));
    assert_eq!(a, b, "one seed, one schedule");
    assert_ne!(a, c);
    for waits in [&a, &c] {
        let nominal = [30_000u128, 60_000, 120_000, 240_000, 480_000, 960_000];
        for (gap, nominal) in waits.windows(2).map(|w| w[1] - w[0]).zip(nominal) {
            assert!(
                gap <= nominal && gap >= nominal * 9 / 10,
                "{gap} ms for {nominal}"
            );
        }
    }
}
