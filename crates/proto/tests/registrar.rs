//! The registrar through the endpoint, on a virtual clock: REGISTER bytes in, responses and
//! binding changes out (RFC 3261 §10.3, digest authentication per RFC 7616).

use std::time::Duration;

use crossbar_auth::{Algorithm, Authenticator};
use crossbar_proto::endpoint::{Account, Endpoint, EndpointSettings};
use crossbar_proto::registrar::{BindingChange, Registrar, RegistrarSettings};
use crossbar_proto::transaction::Timers;
use crossbar_sip::{HeaderName, Message, Response};
use crossbar_testkit::machines::EndpointMachine;
use crossbar_testkit::{Clock, Lab, Phone, digest, peer};

const PHONE: &str = "192.0.2.10:5060";

/// The endpoint with extensions 201 (alice) and 202, its binding writes held until the test
/// persists them, and alice's phone.
struct Bench {
    lab: Lab<EndpointMachine>,
    phone: Phone,
}

impl Bench {
    fn new() -> Bench {
        let clock = Clock::new();
        let mut auth_config = crossbar_auth::Config::new("crossbar");
        auth_config.algorithms = vec![Algorithm::Md5];
        let auth =
            Authenticator::from_seed(auth_config, 7, clock.wall()).expect("valid auth config");
        let accounts = vec![
            Account {
                number: "201".into(),
                username: "alice".into(),
                secret: "alice-secret".into(),
                max_contacts: Some(2),
            },
            Account {
                number: "202".into(),
                username: "202".into(),
                secret: "bob-secret".into(),
                max_contacts: None,
            },
        ];
        let settings = EndpointSettings {
            server_name: "crossbar-test".into(),
            registrar: RegistrarSettings::default(),
            timers: Timers::default(),
        };
        let endpoint = Endpoint::new(settings, auth, accounts, 1);
        let machine = EndpointMachine::new(endpoint, peer("192.0.2.100:5060")).holding_writes();
        Bench {
            lab: Lab::with_clock(clock, machine),
            phone: Phone::new("201", "alice-secret", PHONE, "pbx.example").with_username("alice"),
        }
    }

    fn advance(&mut self, by: Duration) {
        self.lab.run_for(by);
    }

    /// Sends text from the phone; returns the responses sent back.
    fn send(&mut self, text: &str) -> Vec<Response> {
        self.lab.send_text(self.phone.at, text);
        self.collect()
    }

    /// What the endpoint sent since: responses, all to the phone.
    fn collect(&mut self) -> Vec<Response> {
        let events = &self.lab.machine.events;
        assert!(events.is_empty(), "no call layer here: {events:?}");
        let recipients = self.lab.net.recipients();
        assert!(
            recipients.iter().all(|p| *p == self.phone.at),
            "responses go back to the phone: {recipients:?}"
        );
        self.lab
            .take(self.phone.at)
            .into_iter()
            .map(|message| match message {
                Message::Response(r) => r,
                Message::Request(r) => panic!("unexpected request {r}"),
            })
            .collect()
    }

    /// Acknowledges every pending persist; returns the responses released.
    fn persist_all(&mut self, ok: bool) -> Vec<Response> {
        self.lab.machine.persist_all(&self.lab.clock, ok);
        self.lab.pump();
        self.collect()
    }

    fn registrar(&self) -> &Registrar {
        self.lab.machine.endpoint.registrar()
    }

    fn pending(&self) -> &[(crossbar_proto::endpoint::Ticket, Vec<BindingChange>)] {
        &self.lab.machine.pending
    }

    fn register_text(
        &mut self,
        user: &str,
        contact: Option<&str>,
        extra: &str,
        auth: &str,
    ) -> String {
        self.phone
            .register_text(user, contact, &format!("{extra}{auth}"))
    }

    /// Sends a REGISTER for `aor_user` without credentials, answers the 401 as `user` with
    /// `secret`, and returns the authenticated REGISTER's text (not sent yet).
    fn answered_register(
        &mut self,
        aor_user: &str,
        (user, secret): (&str, &str),
        contact: Option<&str>,
        extra: &str,
    ) -> String {
        let first = self.register_text(aor_user, contact, extra, "");
        let challenge = single(self.send(&first));
        assert_eq!(challenge.status, 401, "{challenge}");
        let authorization = answer(&challenge, user, secret);
        self.register_text(aor_user, contact, extra, &authorization)
    }

    /// REGISTER → 401 → REGISTER with credentials; returns the final response after the
    /// changes (if any) were persisted.
    fn register(
        &mut self,
        user: &str,
        secret: &str,
        contact: Option<&str>,
        extra: &str,
    ) -> Response {
        let second = self.answered_register(user, (user, secret), contact, extra);
        let responses = self.send(&second);
        if responses.is_empty() {
            single(self.persist_all(true))
        } else {
            single(responses)
        }
    }
}

fn single(mut responses: Vec<Response>) -> Response {
    assert_eq!(
        responses.len(),
        1,
        "expected exactly one response: {responses:?}"
    );
    responses.remove(0)
}

/// The `Authorization` header line answering `challenge` for a REGISTER as `user`.
fn answer(challenge: &Response, user: &str, secret: &str) -> String {
    digest::credentials_line(challenge, "REGISTER", "sip:pbx.example", user, secret)
}

fn contacts(response: &Response) -> Vec<String> {
    response
        .headers
        .get_all(&HeaderName::Contact)
        .map(str::to_owned)
        .collect()
}

#[test]
fn register_is_challenged_then_bound_after_the_write_is_persisted() {
    let mut lab = Bench::new();
    let first = lab.register_text("alice", Some("<sip:alice@192.0.2.10:5060>"), "", "");
    let challenge = single(lab.send(&first));
    assert_eq!(challenge.status, 401);
    let www = challenge
        .headers
        .get(&HeaderName::WwwAuthenticate)
        .expect("challenge");
    assert!(www.starts_with("Digest "), "{www}");
    assert!(
        www.contains("algorithm=MD5") && www.contains("qop=\"auth\""),
        "{www}"
    );
    assert!(
        challenge.headers.to().expect("To").tag().is_some(),
        "401 carries a To tag"
    );

    let authorization = answer(&challenge, "alice", "alice-secret");
    let second = lab.register_text(
        "alice",
        Some("<sip:alice@192.0.2.10:5060>"),
        "",
        &authorization,
    );
    assert!(
        lab.send(&second).is_empty(),
        "the 200 waits for the database"
    );
    assert_eq!(lab.pending().len(), 1);
    let BindingChange::Upsert(binding) = &lab.pending()[0].1[0] else {
        panic!("expected an upsert: {:?}", lab.pending())
    };
    assert_eq!(
        binding.aor, "201",
        "bindings are kept under the extension number"
    );
    assert_eq!(binding.source, lab.phone.at);

    let ok = single(lab.persist_all(true));
    assert_eq!(ok.status, 200);
    assert_eq!(contacts(&ok), ["<sip:alice@192.0.2.10:5060>;expires=3600"]);
    assert!(ok.headers.contains(&HeaderName::Date));
    assert_eq!(lab.registrar().contacts("201", 1_800_000_000).len(), 1);
}

#[test]
fn an_unknown_user_gets_the_same_challenge_as_a_wrong_password() {
    let mut lab = Bench::new();
    let shape = |lab: &mut Bench, user: &str, secret: &str| {
        let first = lab.register_text(user, Some("<sip:x@192.0.2.10>"), "", "");
        let challenge = single(lab.send(&first));
        let authorization = answer(&challenge, user, secret);
        let second = lab.register_text(user, Some("<sip:x@192.0.2.10>"), "", &authorization);
        let refused = single(lab.send(&second));
        let www = refused
            .headers
            .get(&HeaderName::WwwAuthenticate)
            .expect("challenge")
            .to_owned();
        // Only the nonce differs between two challenges.
        let without_nonce: String = www
            .split(", ")
            .filter(|p| !p.starts_with("nonce="))
            .collect::<Vec<_>>()
            .join(", ");
        (refused.status, refused.reason.clone(), without_nonce)
    };
    let unknown = shape(&mut lab, "9999", "whatever-secret");
    let wrong = shape(&mut lab, "alice", "not-her-secret");
    assert_eq!(unknown.0, 401);
    assert_eq!(unknown, wrong);
    assert!(lab.pending().is_empty(), "nothing is bound");
}

#[test]
fn an_extension_may_register_only_its_own_aor() {
    let mut lab = Bench::new();
    // Alice authenticates, but asks to bind 202.
    let second = lab.answered_register(
        "202",
        ("alice", "alice-secret"),
        Some("<sip:x@192.0.2.10>"),
        "",
    );
    let refused = single(lab.send(&second));
    assert_eq!(refused.status, 403);
    assert!(lab.pending().is_empty());
}

#[test]
fn the_number_and_the_username_name_the_same_extension() {
    let mut lab = Bench::new();
    // The AOR is written with the number, the credentials with the user name.
    let alice = ("alice", "alice-secret");
    let second = lab.answered_register("201", alice, Some("<sip:alice@192.0.2.10>"), "");
    assert!(lab.send(&second).is_empty());
    assert_eq!(single(lab.persist_all(true)).status, 200);
}

#[test]
fn too_brief_an_expiry_gets_423_with_min_expires() {
    let mut lab = Bench::new();
    let response = lab.register(
        "alice",
        "alice-secret",
        Some("<sip:a@192.0.2.10>"),
        "Expires: 30\r\n",
    );
    assert_eq!(response.status, 423);
    assert_eq!(response.headers.get(&HeaderName::MinExpires), Some("60"));
    assert!(lab.pending().is_empty());
}

#[test]
fn long_expiries_are_cut_to_the_maximum_and_contact_params_win_over_the_header() {
    let mut lab = Bench::new();
    let response = lab.register(
        "alice",
        "alice-secret",
        Some("<sip:a@192.0.2.10>;expires=120, <sip:b@192.0.2.11>"),
        "Expires: 999999\r\n",
    );
    assert_eq!(response.status, 200);
    let mut listed = contacts(&response);
    listed.sort();
    assert_eq!(
        listed,
        [
            "<sip:a@192.0.2.10>;expires=120",
            "<sip:b@192.0.2.11>;expires=3600"
        ]
    );
}

#[test]
fn bindings_expire_on_the_virtual_clock_and_are_removed_from_the_database() {
    let mut lab = Bench::new();
    let response = lab.register(
        "202",
        "bob-secret",
        Some("<sip:b@192.0.2.10>;expires=60"),
        "",
    );
    assert_eq!(response.status, 200);
    lab.advance(Duration::from_secs(61));
    let now_unix = 1_800_000_061;
    assert!(lab.registrar().contacts("202", now_unix).is_empty());
    lab.advance(Duration::from_secs(30));
    lab.collect();
    let removed = lab.pending().iter().flat_map(|(_, c)| c).any(|c| {
        matches!(c, BindingChange::Remove { aor, contact } if aor == "202" && contact == "sip:b@192.0.2.10")
    });
    assert!(
        removed,
        "the sweep removes the expired binding: {:?}",
        lab.pending()
    );
}

#[test]
fn expires_zero_removes_one_contact_and_star_removes_all() {
    let mut lab = Bench::new();
    let two = lab.register(
        "alice",
        "alice-secret",
        Some("<sip:a@192.0.2.10>, <sip:b@192.0.2.11>"),
        "",
    );
    assert_eq!(contacts(&two).len(), 2);

    let one = lab.register(
        "alice",
        "alice-secret",
        Some("<sip:a@192.0.2.10>;expires=0"),
        "",
    );
    assert_eq!(one.status, 200);
    assert_eq!(contacts(&one), ["<sip:b@192.0.2.11>;expires=3600"]);

    let none = lab.register("alice", "alice-secret", Some("*"), "Expires: 0\r\n");
    assert_eq!(none.status, 200);
    assert!(contacts(&none).is_empty());
    assert!(lab.registrar().contacts("201", 1_800_000_000).is_empty());
}

#[test]
fn star_without_expires_zero_is_a_bad_request() {
    let mut lab = Bench::new();
    let response = lab.register("alice", "alice-secret", Some("*"), "");
    assert_eq!(response.status, 400);
}

#[test]
fn a_query_without_contact_lists_the_bindings_and_changes_nothing() {
    let mut lab = Bench::new();
    lab.register("alice", "alice-secret", Some("<sip:a@192.0.2.10>"), "");
    let query = lab.register("alice", "alice-secret", None, "");
    assert_eq!(query.status, 200);
    assert_eq!(contacts(&query), ["<sip:a@192.0.2.10>;expires=3600"]);
    assert!(lab.pending().is_empty());
}

#[test]
fn the_per_extension_contact_limit_evicts_the_oldest_binding() {
    let mut lab = Bench::new();
    for (i, host) in ["192.0.2.1", "192.0.2.2", "192.0.2.3"].iter().enumerate() {
        lab.advance(Duration::from_secs(1 + i as u64));
        let contact = format!("<sip:alice@{host}>");
        assert_eq!(
            lab.register("alice", "alice-secret", Some(&contact), "")
                .status,
            200
        );
    }
    let query = lab.register("alice", "alice-secret", None, "");
    let mut listed: Vec<String> = contacts(&query)
        .into_iter()
        .map(|c| c.split(';').next().unwrap_or_default().to_owned())
        .collect();
    listed.sort();
    assert_eq!(listed, ["<sip:alice@192.0.2.2>", "<sip:alice@192.0.2.3>"]);
}

#[test]
fn a_failed_database_write_is_answered_500_with_retry_after() {
    let mut lab = Bench::new();
    let alice = ("alice", "alice-secret");
    let second = lab.answered_register("alice", alice, Some("<sip:a@192.0.2.10>"), "");
    assert!(lab.send(&second).is_empty());
    let failed = single(lab.persist_all(false));
    assert_eq!(failed.status, 500);
    assert_eq!(failed.headers.get(&HeaderName::RetryAfter), Some("5"));
    assert!(!failed.headers.contains(&HeaderName::Contact));
}

#[test]
fn a_retransmitted_register_is_absorbed_while_its_write_is_pending() {
    let mut lab = Bench::new();
    let alice = ("alice", "alice-secret");
    let second = lab.answered_register("alice", alice, Some("<sip:a@192.0.2.10>"), "");
    assert!(lab.send(&second).is_empty());
    // The phone's Timer E fires: same request again, before the write finished.
    lab.advance(Duration::from_millis(500));
    assert!(
        lab.send(&second).is_empty(),
        "absorbed, nothing answered yet"
    );
    assert_eq!(lab.pending().len(), 1, "processed once");
    assert_eq!(single(lab.persist_all(true)).status, 200);
    // After the final response, a retransmission gets the same 200 again.
    let again = single(lab.send(&second));
    assert_eq!(again.status, 200);
}

#[test]
fn a_replayed_nonce_count_is_rechallenged_as_stale() {
    let mut lab = Bench::new();
    let first = lab.register_text("alice", Some("<sip:a@192.0.2.10>"), "", "");
    let challenge = single(lab.send(&first));
    let authorization = answer(&challenge, "alice", "alice-secret");
    let second = lab.register_text("alice", Some("<sip:a@192.0.2.10>"), "", &authorization);
    lab.send(&second);
    lab.persist_all(true);
    // Same credentials (same nc) on a new request: a replay.
    let replay = lab.register_text("alice", Some("<sip:a@192.0.2.10>"), "", &authorization);
    let refused = single(lab.send(&replay));
    assert_eq!(refused.status, 401);
    let www = refused
        .headers
        .get(&HeaderName::WwwAuthenticate)
        .expect("challenge");
    assert!(www.contains("stale=true"), "{www}");
}

#[test]
fn an_expired_nonce_is_rechallenged_as_stale() {
    let mut lab = Bench::new();
    let first = lab.register_text("alice", Some("<sip:a@192.0.2.10>"), "", "");
    let challenge = single(lab.send(&first));
    lab.advance(Duration::from_secs(301));
    let authorization = answer(&challenge, "alice", "alice-secret");
    let second = lab.register_text("alice", Some("<sip:a@192.0.2.10>"), "", &authorization);
    let refused = single(lab.send(&second));
    assert_eq!(refused.status, 401);
    assert!(
        refused
            .headers
            .get(&HeaderName::WwwAuthenticate)
            .expect("challenge")
            .contains("stale=true")
    );
}

#[test]
fn an_out_of_order_cseq_within_one_call_id_is_refused() {
    let mut lab = Bench::new();
    assert_eq!(
        lab.register("alice", "alice-secret", Some("<sip:a@192.0.2.10>"), "")
            .status,
        200
    );
    // Rewind the CSeq: a delayed older REGISTER of the same registration.
    lab.phone.register_cseq = 0;
    let response = lab.register("alice", "alice-secret", Some("<sip:a@192.0.2.10>"), "");
    assert_eq!(response.status, 500);
}

#[test]
fn options_is_answered_without_authentication_with_allow_accept_and_supported() {
    let mut lab = Bench::new();
    let options = "OPTIONS sip:pbx.example SIP/2.0\r\n\
        Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-opt\r\n\
        Max-Forwards: 70\r\n\
        From: <sip:monitor@192.0.2.10>;tag=m\r\n\
        To: <sip:pbx.example>\r\n\
        Call-ID: opt-1\r\n\
        CSeq: 1 OPTIONS\r\n\
        Content-Length: 0\r\n\r\n";
    let ok = single(lab.send(options));
    assert_eq!(ok.status, 200);
    assert!(
        ok.headers
            .get(&HeaderName::Allow)
            .is_some_and(|a| a.contains("REGISTER"))
    );
    assert_eq!(ok.headers.get(&HeaderName::Accept), Some("application/sdp"));
    assert!(ok.headers.contains(&HeaderName::Supported));
    assert_eq!(ok.headers.get(&HeaderName::Server), Some("crossbar-test"));
}

#[test]
fn unknown_methods_get_501_and_known_unimplemented_ones_405_both_with_allow() {
    let mut lab = Bench::new();
    let request = |method: &str| {
        format!(
            "{method} sip:pbx.example SIP/2.0\r\n\
             Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-{method}\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:a@192.0.2.10>;tag=m\r\n\
             To: <sip:pbx.example>\r\n\
             Call-ID: m-{method}\r\n\
             CSeq: 1 {method}\r\n\
             Content-Length: 0\r\n\r\n"
        )
    };
    let unknown = single(lab.send(&request("FROBNICATE")));
    assert_eq!(unknown.status, 501);
    assert!(unknown.headers.contains(&HeaderName::Allow));
    let publish = single(lab.send(&request("PUBLISH")));
    assert_eq!(publish.status, 405);
    assert!(publish.headers.contains(&HeaderName::Allow));
}

#[test]
fn a_malformed_request_gets_400_and_a_malformed_response_nothing() {
    let mut lab = Bench::new();
    let bad = "OPTIONS sip:pbx.example SIP/2.0\r\n\
        Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-bad\r\n\
        From: <sip:a@192.0.2.10>;tag=m\r\n\
        To: <sip:pbx.example>\r\n\
        Call-ID: bad-1\r\n\
        CSeq: 1 INVITE\r\n\
        Content-Length: 0\r\n\r\n";
    let response = single(lab.send(bad));
    assert_eq!(response.status, 400, "CSeq method does not match");
    let stray = "SIP/2.0 200 OK\r\n\
        Via: SIP/2.0/UDP 192.0.2.99:5060;branch=z9hG4bK-x\r\n\
        From: <sip:a@x>;tag=1\r\nTo: <sip:b@x>;tag=2\r\nCall-ID: z\r\n\
        CSeq: 99999999999 OPTIONS\r\nContent-Length: 0\r\n\r\n";
    assert!(lab.send(stray).is_empty());
}
