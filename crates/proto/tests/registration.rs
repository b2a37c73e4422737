//! A trunk registering to a carrier (RFC 3261 §10.2) on a virtual clock: the carrier is
//! crossbar's own registrar (digest per RFC 7616, 423, expiry) or a script, over real client
//! transactions (Timer F included).

use std::time::{Duration, SystemTime};

use crossbar_auth::{Algorithm, Authenticator, DigestCredentials, ServerKey};
use crossbar_proto::endpoint::{Account, Endpoint, EndpointSettings};
use crossbar_proto::registrar::RegistrarSettings;
use crossbar_proto::registration::{
    Backoff, Registration, RegistrationSettings, RegistrationState,
};
use crossbar_proto::transaction::{Timers, Transactions};
use crossbar_sip::{HeaderName, Method, Request, Uri};
use crossbar_testkit::machines::UacMachine;
use crossbar_testkit::{Carrier, Clock, Lab, peer, status, tagged_response};

/// crossbar's SIP address, in its `Via` and contacts.
const CROSSBAR: &str = "192.0.2.1:5060";
/// The carrier's.
const CARRIER: &str = "198.51.100.7:5060";
/// The carrier's realm and domain.
const REALM: &str = "carrier.example";
const SECRET: &str = "trunk-secret";

fn s(secs: u64) -> Duration {
    Duration::from_secs(secs)
}

fn uri(text: &str) -> Uri {
    Uri::parse(text).expect("test URI")
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

/// How the carrier's registrar authenticates: its nonce key and this run's instance.
struct CarrierAuth {
    key_seed: u64,
    /// How long its nonces live (crossbar's default is 300 s).
    nonce_lifetime: Duration,
}

impl Default for CarrierAuth {
    fn default() -> CarrierAuth {
        CarrierAuth {
            key_seed: 7,
            nonce_lifetime: Duration::from_secs(300),
        }
    }
}

/// crossbar's endpoint as the carrier's registrar: account `trunk` (extension 9000) with
/// `secret`, started at `wall` (a restart is a new one, later).
fn crossbar_carrier(
    wall: SystemTime,
    secret: &str,
    registrar: RegistrarSettings,
    auth: &CarrierAuth,
) -> Carrier {
    let mut config = crossbar_auth::Config::new(REALM);
    config.algorithms = vec![Algorithm::Sha256, Algorithm::Md5];
    config.nonce_lifetime = auth.nonce_lifetime;
    let authenticator =
        Authenticator::new(config, &ServerKey::from_seed(auth.key_seed), [3; 32], wall)
            .expect("valid auth config");
    let settings = EndpointSettings {
        server_name: "carrier".into(),
        registrar,
        timers: Timers::default(),
    };
    let accounts = vec![trunk_account(secret)];
    Carrier::new(CARRIER).with_registrar(Endpoint::new(settings, authenticator, accounts, 11))
}

/// The carrier's account for crossbar's trunk.
fn trunk_account(secret: &str) -> Account {
    Account {
        number: "9000".into(),
        username: "trunk".into(),
        secret: secret.into(),
        max_contacts: None,
    }
}

type RegistrationLab = Lab<UacMachine<Registration>>;

/// `registration` sending through client transactions to `carrier`.
fn lab_with(carrier: Carrier, registration: Registration) -> RegistrationLab {
    let transactions = Transactions::new(Timers::default(), 5);
    let machine = UacMachine::new(registration, transactions, peer(CROSSBAR), peer(CARRIER));
    let mut lab = Lab::new(machine);
    lab.attach(carrier);
    lab
}

/// A registration to crossbar's registrar with `secret` for the trunk, started with the lab.
fn lab(secret: &str, registrar: RegistrarSettings, auth: &CarrierAuth) -> RegistrationLab {
    let carrier = crossbar_carrier(Clock::new().wall(), secret, registrar, auth);
    lab_with(carrier, Registration::new(settings(), 42))
}

/// A carrier answering every REGISTER with `status`.
fn always(status_code: u16) -> Carrier {
    Carrier::new(CARRIER).with_answer(Method::Register, status(status_code))
}

/// The live bindings the carrier holds for crossbar's trunk.
fn carrier_bindings(lab: &mut RegistrationLab) -> Vec<String> {
    let now_unix = lab.clock.unix();
    lab.carrier_mut(peer(CARRIER))
        .endpoint()
        .registrar()
        .contacts("9000", now_unix)
        .into_iter()
        .map(|b| b.contact.clone())
        .collect()
}

/// Every state change so far, with its instant from the start.
fn changes(lab: &mut RegistrationLab) -> Vec<(Duration, RegistrationState)> {
    let start = lab.clock.start();
    std::iter::from_fn(|| lab.machine.uac.poll_change())
        .map(|c| (c.at - start, c.state))
        .collect()
}

/// The instants (from the start) the registration failed and planned its retries for.
fn retries(
    lab: &RegistrationLab,
    changes: &[(Duration, RegistrationState)],
) -> Vec<(u64, u16, u64)> {
    changes
        .iter()
        .filter_map(|(at, state)| match state {
            RegistrationState::Failed {
                status, retry_at, ..
            } => Some((
                at.as_secs(),
                *status,
                (*retry_at - lab.clock.start()).as_secs(),
            )),
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

fn is_stale_challenge(lab: &RegistrationLab, index: usize) -> bool {
    let (_, response) = &lab.machine.answered[index];
    assert_eq!(response.status, 401);
    response
        .headers
        .get_all(&HeaderName::WwwAuthenticate)
        .all(|c| c.contains("stale=true"))
}

#[test]
fn registers_with_digest_and_refreshes_so_the_binding_never_lapses_for_hours() {
    let mut lab = lab(
        SECRET,
        RegistrarSettings::default(),
        &CarrierAuth::default(),
    );
    lab.run_until(lab.clock.start());
    assert_eq!(
        lab.machine.sent.len(),
        2,
        "REGISTER, 401, REGISTER with credentials"
    );
    assert_eq!(digest(&lab.machine.sent[0].1), None);
    assert!(digest(&lab.machine.sent[1].1).is_some());
    assert_eq!(
        lab.machine.uac.state(),
        &RegistrationState::Registered {
            since: lab.clock.start(),
            expires_at: lab.clock.at(s(3600)),
        }
    );
    assert_eq!(carrier_bindings(&mut lab), ["sip:trunk@192.0.2.1:5060"]);

    // Six hours, checked every 10 s: the carrier always holds the binding.
    for _ in 0..(6 * 360) {
        lab.run_for(s(10));
        assert_eq!(
            carrier_bindings(&mut lab).len(),
            1,
            "bound at {:?}",
            lab.clock.elapsed()
        );
        assert!(matches!(
            lab.machine.uac.state(),
            RegistrationState::Registered { since, .. } if *since == lab.clock.start()
        ));
    }
    // A refresh every 1800 s; crossbar's nonces live 300 s, so each refresh's kept
    // credentials are answered stale=true and the new nonce is answered at once.
    let expected: Vec<Duration> = (0..=12).flat_map(|n| [s(n * 1800); 2]).collect();
    assert_eq!(lab.machine.sent_at(), expected);
    for refresh in 1..=12 {
        let (kept, renewed) = (refresh * 2, refresh * 2 + 1);
        assert_eq!(
            digest(&lab.machine.sent[kept].1).map(|(_, nc)| nc),
            Some(2),
            "the kept nonce, counted up"
        );
        assert!(is_stale_challenge(&lab, kept));
        assert_eq!(
            digest(&lab.machine.sent[renewed].1).map(|(_, nc)| nc),
            Some(1)
        );
    }
    // One Call-ID, CSeq counting up by one (§10.2.4).
    let call_ids: Vec<_> = lab
        .machine
        .sent
        .iter()
        .map(|(_, r)| r.headers.call_id().expect("Call-ID").to_owned())
        .collect();
    assert!(call_ids.iter().all(|id| *id == call_ids[0]));
    let cseqs: Vec<u32> = lab
        .machine
        .sent
        .iter()
        .map(|(_, r)| r.headers.cseq().expect("CSeq").seq)
        .collect();
    assert_eq!(cseqs, (1..=26).collect::<Vec<_>>());
    let states = changes(&mut lab);
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
    let mut lab = lab(SECRET, RegistrarSettings::default(), &auth);
    lab.run_until(lab.clock.at(s(1800)));
    assert_eq!(lab.machine.sent_at(), [s(0), s(0), s(1800)]);
    let (first, refresh) = (
        digest(&lab.machine.sent[1].1).expect("credentials"),
        digest(&lab.machine.sent[2].1).expect("credentials"),
    );
    assert_eq!(refresh.0, first.0, "the same nonce");
    assert_eq!((first.1, refresh.1), (1, 2), "nc counted up");
    assert_eq!(lab.machine.statuses().last(), Some(&(s(1800), 200)));
    assert!(matches!(
        lab.machine.uac.state(),
        RegistrationState::Registered { expires_at, .. } if *expires_at == lab.clock.at(s(5400))
    ));
}

#[test]
fn the_registrars_shorter_grant_in_our_contact_is_what_is_refreshed() {
    let registrar = RegistrarSettings {
        max_expires: 1200,
        ..RegistrarSettings::default()
    };
    let mut lab = lab(SECRET, registrar, &CarrierAuth::default());
    lab.run_until(lab.clock.start());
    assert!(matches!(
        lab.machine.uac.state(),
        RegistrationState::Registered { expires_at, .. } if *expires_at == lab.clock.at(s(1200))
    ));
    assert_eq!(lab.machine.uac.poll_timeout(), Some(lab.clock.at(s(600))));
}

#[test]
fn a_carrier_restart_that_lost_the_binding_is_healed_at_the_next_refresh() {
    // Nonces outlive the restart, so the kept one is refused only for being from the
    // previous run (stale=true), not for age.
    let auth = CarrierAuth {
        nonce_lifetime: s(7200),
        ..CarrierAuth::default()
    };
    let mut lab = lab(SECRET, RegistrarSettings::default(), &auth);
    lab.run_until(lab.clock.at(s(600)));
    let wall = lab.clock.wall();
    lab.attach(crossbar_carrier(
        wall,
        SECRET,
        RegistrarSettings::default(),
        &auth,
    ));
    assert!(carrier_bindings(&mut lab).is_empty(), "the restart lost it");

    lab.run_until(lab.clock.at(s(1800)));
    assert_eq!(lab.machine.sent_at(), [s(0), s(0), s(1800), s(1800)]);
    assert!(is_stale_challenge(&lab, 2));
    assert_eq!(carrier_bindings(&mut lab), ["sip:trunk@192.0.2.1:5060"]);
    let states = changes(&mut lab);
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
    let mut lab = lab(
        SECRET,
        RegistrarSettings::default(),
        &CarrierAuth::default(),
    );
    lab.run_until(lab.clock.at(s(600)));
    let rekeyed = CarrierAuth {
        key_seed: 99,
        ..CarrierAuth::default()
    };
    let wall = lab.clock.wall();
    lab.attach(crossbar_carrier(
        wall,
        SECRET,
        RegistrarSettings::default(),
        &rekeyed,
    ));

    lab.run_until(lab.clock.at(s(1800)));
    assert_eq!(lab.machine.sent_at(), [s(0), s(0), s(1800), s(1800)]);
    assert!(
        !is_stale_challenge(&lab, 2),
        "a nonce of another key is refused outright"
    );
    assert_eq!(lab.machine.statuses().last(), Some(&(s(1800), 200)));
    assert!(matches!(
        lab.machine.uac.state(),
        RegistrationState::Registered { since, expires_at }
            if *since == lab.clock.start() && *expires_at == lab.clock.at(s(5400))
    ));
    let states = changes(&mut lab);
    assert!(retries(&lab, &states).is_empty(), "{states:?}");
}

#[test]
fn a_wrong_password_fails_without_a_loop_and_backs_off_doubling_to_thirty_minutes() {
    let mut lab = lab(
        "not-the-secret",
        RegistrarSettings::default(),
        &CarrierAuth::default(),
    );
    lab.run_until(lab.clock.at(s(7000)));
    // Each attempt: REGISTER → 401 → answer → 401 again (not stale): failed, no third try.
    let attempts = [0, 30, 90, 210, 450, 930, 1890, 3690, 5490];
    let expected: Vec<Duration> = attempts.iter().flat_map(|&t| [s(t); 2]).collect();
    assert_eq!(lab.machine.sent_at(), expected);
    let states = changes(&mut lab);
    let failed = retries(&lab, &states);
    let next: Vec<u64> = attempts[1..].iter().copied().chain([7290]).collect();
    assert_eq!(
        failed,
        attempts
            .iter()
            .zip(next)
            .map(|(&at, retry)| (at, 401, retry))
            .collect::<Vec<_>>()
    );
    let RegistrationState::Failed { reason, .. } = lab.machine.uac.state() else {
        panic!("{:?}", lab.machine.uac.state())
    };
    assert!(reason.contains("credentials rejected"), "{reason}");

    // The carrier's account is fixed: the next retry registers and the back-off resets.
    lab.carrier_mut(peer(CARRIER))
        .endpoint()
        .set_accounts(vec![trunk_account(SECRET)]);
    lab.run_until(lab.clock.at(s(7290)));
    assert!(matches!(
        lab.machine.uac.state(),
        RegistrationState::Registered { since, .. } if *since == lab.clock.at(s(7290))
    ));
    lab.carrier_mut(peer(CARRIER))
        .endpoint()
        .set_accounts(vec![trunk_account("changed-again")]);
    lab.run_until(lab.clock.at(s(7290 + 1800)));
    let states = changes(&mut lab);
    assert_eq!(
        retries(&lab, &states),
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
    let mut lab = lab(SECRET, registrar, &CarrierAuth::default());
    lab.machine.uac = Registration::new(
        RegistrationSettings {
            expires_secs: 300,
            ..settings()
        },
        42,
    );
    lab.run_until(lab.clock.start());
    let statuses: Vec<u16> = lab.machine.statuses().iter().map(|(_, s)| *s).collect();
    assert_eq!(statuses, [401, 423, 200]);
    let expires: Vec<&str> = lab
        .machine
        .sent
        .iter()
        .map(|(_, r)| r.headers.get(&HeaderName::Expires).expect("Expires"))
        .collect();
    assert_eq!(expires, ["300", "300", "600"]);
    assert_eq!(
        lab.machine.sent[2].1.headers.get(&HeaderName::Contact),
        Some("<sip:trunk@192.0.2.1:5060>;expires=600")
    );
    assert!(matches!(
        lab.machine.uac.state(),
        RegistrationState::Registered { expires_at, .. } if *expires_at == lab.clock.at(s(600))
    ));
    // The refresh, at half of 600 s, asks for 600 s straight away.
    lab.run_until(lab.clock.at(s(300)));
    let refresh = &lab.machine.sent[3];
    assert_eq!(refresh.0, s(300));
    assert_eq!(refresh.1.headers.get(&HeaderName::Expires), Some("600"));
}

#[test]
fn a_503_with_retry_after_is_retried_when_the_carrier_says() {
    let mut calls = 0;
    let script = move |request: &Request| {
        calls += 1;
        let mut response = tagged_response(request, if calls <= 2 { 503 } else { 200 });
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
    let carrier = Carrier::new(CARRIER).with_answer(Method::Register, Box::new(script));
    let mut lab = lab_with(carrier, Registration::new(settings(), 42));
    lab.run_until(lab.clock.at(s(200)));
    // 503 Retry-After: 120 → at 120; 503 without → the back-off's first 30 s → at 150.
    assert_eq!(lab.machine.sent_at(), [s(0), s(120), s(150)]);
    let states = changes(&mut lab);
    assert_eq!(retries(&lab, &states), [(0, 503, 120), (120, 503, 150)]);
    assert!(matches!(
        lab.machine.uac.state(),
        RegistrationState::Registered { since, expires_at }
            if *since == lab.clock.at(s(150)) && *expires_at == lab.clock.at(s(1050))
    ));
    assert_eq!(
        lab.machine.uac.poll_timeout(),
        Some(lab.clock.at(s(150 + 450)))
    );
}

#[test]
fn an_unreachable_registrar_times_out_with_timer_f_and_is_retried_with_backoff() {
    let mut lab = lab(
        SECRET,
        RegistrarSettings::default(),
        &CarrierAuth::default(),
    );
    lab.net.cut(peer(CARRIER));
    lab.run_until(lab.clock.at(s(100)));
    lab.net.restore(peer(CARRIER));
    lab.run_until(lab.clock.at(s(200)));
    assert_eq!(lab.machine.sent_at(), [s(0), s(62), s(154), s(154)]);
    assert_eq!(
        lab.machine.statuses(),
        [(s(32), 408), (s(94), 408), (s(154), 401), (s(154), 200)]
    );
    let states = changes(&mut lab);
    assert_eq!(retries(&lab, &states), [(32, 408, 62), (94, 408, 154)]);
    assert!(matches!(
        lab.machine.uac.state(),
        RegistrationState::Registered { since, .. } if *since == lab.clock.at(s(154))
    ));
}

#[test]
fn unregister_removes_the_binding_at_the_carrier_and_stops() {
    let mut lab = lab(
        SECRET,
        RegistrarSettings::default(),
        &CarrierAuth::default(),
    );
    lab.run_until(lab.clock.at(s(60)));
    assert_eq!(carrier_bindings(&mut lab).len(), 1);
    let now = lab.now();
    lab.machine.uac.unregister(now);
    lab.run_until(lab.clock.at(s(60)));
    let bye = &lab.machine.sent[2].1;
    assert_eq!(bye.headers.get(&HeaderName::Expires), Some("0"));
    assert_eq!(digest(bye).map(|(_, nc)| nc), Some(2), "the kept challenge");
    assert_eq!(lab.machine.statuses().last(), Some(&(s(60), 200)));
    assert!(carrier_bindings(&mut lab).is_empty());
    assert_eq!(lab.machine.uac.state(), &RegistrationState::Unregistered);
    assert_eq!(lab.machine.uac.poll_timeout(), None);
    lab.run_until(lab.clock.at(s(4 * 3600)));
    assert_eq!(lab.machine.sent.len(), 3, "nothing more is sent");
    let states: Vec<RegistrationState> = changes(&mut lab).into_iter().map(|(_, s)| s).collect();
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
        let registration = Registration::new(
            RegistrationSettings {
                backoff: Backoff::default(),
                ..settings()
            },
            seed,
        );
        let mut lab = lab_with(always(403), registration);
        lab.run_until(lab.clock.at(s(4000)));
        lab.machine
            .sent
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
