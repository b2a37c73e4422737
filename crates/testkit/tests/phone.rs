//! The scripted phone against crossbar's real endpoint: its digest rounds pass the real
//! authenticator, and what it sends is what the endpoint's call layer is handed.

use std::time::{Duration, Instant};

use crossbar_auth::Authenticator;
use crossbar_proto::endpoint::{Account, Endpoint, EndpointSettings, Identity, SipEvent};
use crossbar_proto::registrar::RegistrarSettings;
use crossbar_proto::transaction::{Peer, Timers, TransactionKey, Transmit};
use crossbar_sip::{HeaderName, Method};
use crossbar_testkit::machines::EndpointMachine;
use crossbar_testkit::{Clock, Dialog, Lab, Machine, Phone, peer};

const CROSSBAR: &str = "192.0.2.100:5060";

/// crossbar's endpoint with extension 201 (user name `alice`), offering SHA-256 then MD5.
fn lab() -> Lab<EndpointMachine> {
    let clock = Clock::new();
    let auth = Authenticator::from_seed(crossbar_auth::Config::new("crossbar"), 3, clock.wall())
        .expect("the default auth config is valid");
    let accounts = vec![Account {
        number: "201".into(),
        username: "alice".into(),
        secret: "alice-secret".into(),
        max_contacts: None,
    }];
    let settings = EndpointSettings {
        server_name: "crossbar-test".into(),
        registrar: RegistrarSettings::default(),
        timers: Timers::default(),
    };
    let endpoint = Endpoint::new(settings, auth, accounts, 1);
    Lab::with_clock(clock, EndpointMachine::new(endpoint, peer(CROSSBAR)))
}

fn alice() -> Phone {
    Phone::new("201", "alice-secret", "192.0.2.1:5060", "192.0.2.100").with_username("alice")
}

#[test]
fn a_phone_registers_through_the_401_round() {
    let mut lab = lab();
    let mut alice = alice();
    let ok = alice.register(&mut lab);
    assert_eq!(ok.status, 200, "{ok}");
    assert_eq!(
        ok.headers.get(&HeaderName::Contact),
        Some("<sip:201@192.0.2.1:5060>;expires=3600")
    );
    let bound = lab
        .machine
        .endpoint
        .registrar()
        .contacts("201", lab.clock.unix());
    assert_eq!(bound.len(), 1);
    // A second registration continues the first's Call-ID with the next CSeq (§10.2.4).
    assert_eq!(alice.register(&mut lab).status, 200);
    assert_eq!(alice.register_cseq, 4);
}

#[test]
fn a_phone_dials_through_the_407_round_and_the_call_layer_gets_its_invite() {
    let mut lab = lab();
    let mut alice = alice().with_display("Alice");
    let sent = alice.dial(&mut lab, "202", "Subject: test\r\n");
    let invites: Vec<_> = lab
        .machine
        .events
        .iter()
        .filter_map(|e| match e {
            SipEvent::Invite {
                request, caller, ..
            } => Some((request, caller)),
            _ => None,
        })
        .collect();
    let [(request, caller)] = invites.as_slice() else {
        panic!("one admitted INVITE: {:?}", lab.machine.events)
    };
    assert_eq!(**caller, Identity::Extension("201".into()));
    assert_eq!(request.uri.to_string(), "sip:202@192.0.2.100");
    assert_eq!(request.headers.get(&HeaderName::Subject), Some("test"));
    assert_eq!(
        request.headers.call_id(),
        sent.headers.call_id(),
        "the INVITE returned is the one admitted"
    );
    assert_eq!(sent.headers.cseq().expect("CSeq").seq, 2);
    assert!(
        sent.headers
            .get(&HeaderName::From)
            .is_some_and(|f| f.starts_with("\"Alice\" <sip:201@192.0.2.100>;tag=")),
        "{sent}"
    );
    assert!(crossbar_testkit::sdp::text(&sent.body).contains("c=IN IP4 192.0.2.1"));
}

#[test]
fn a_phones_cancel_matches_its_invite() {
    let mut lab = lab();
    let mut alice = alice();
    let invite = alice.dial(&mut lab, "202", "");
    lab.run_for(Duration::from_millis(200));
    assert_eq!(lab.statuses(alice.at), [100], "the endpoint's Trying");
    alice.cancel(&mut lab, &invite);
    assert_eq!(lab.statuses(alice.at), [200], "the CANCEL matched (§9.2)");
    assert!(
        lab.machine
            .events
            .iter()
            .any(|e| matches!(e, SipEvent::Cancelled { .. }))
    );
}

#[test]
fn dialogs_are_read_from_the_answer_and_from_the_invite() {
    let invite = crossbar_sip::parse_datagram(
        b"INVITE sip:202@192.0.2.2:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.100:5060;branch=z9hG4bK-1\r\n\
          From: <sip:201@192.0.2.100>;tag=x\r\nTo: <sip:202@192.0.2.100>\r\nCall-ID: d1\r\n\
          CSeq: 7 INVITE\r\nContact: <sip:crossbar@192.0.2.100:5060>\r\nContent-Length: 0\r\n\r\n",
    );
    let Ok(crossbar_sip::Message::Request(invite)) = invite else {
        panic!("{invite:?}")
    };
    let bob = Phone::new("202", "s", "192.0.2.2:5060", "192.0.2.100");
    let callee = bob.dialog_as_callee(&invite);
    assert_eq!(
        callee.local,
        format!("<sip:202@192.0.2.100>;tag={}", bob.tag())
    );
    assert_eq!(callee.remote, "<sip:201@192.0.2.100>;tag=x");
    assert_eq!(callee.target, "sip:crossbar@192.0.2.100:5060");
    assert_eq!(callee.cseq, 0);

    let ok = bob.response(&invite, 200, Some(bob.sdp()));
    let caller = Dialog::from_answer(&ok);
    assert_eq!(caller.local, "<sip:201@192.0.2.100>;tag=x");
    assert_eq!(caller.remote, callee.local);
    assert_eq!(caller.target, "sip:202@192.0.2.2:5060");
    assert_eq!(caller.cseq, 7);
    assert_eq!(
        ok.headers.get(&HeaderName::ContentType),
        Some("application/sdp")
    );
    assert_eq!(
        bob.response(&invite, 100, None)
            .headers
            .to()
            .expect("To")
            .tag(),
        None,
        "no tag on a 100"
    );
    assert_eq!(invite.method, Method::Invite);
}

/// A machine that asks to be woken at an instant that has passed, and never moves on.
struct Stuck(Instant);

impl Machine for Stuck {
    fn address(&self) -> Peer {
        peer(CROSSBAR)
    }
    fn deliver(&mut self, _: &Clock, _: Peer, _: &[u8]) {}
    fn handle_timeout(&mut self, _: &Clock) {}
    fn handle_transport_error(&mut self, _: &Clock, _: TransactionKey) {}
    fn poll_timeout(&mut self) -> Option<Instant> {
        Some(self.0)
    }
    fn collect(&mut self, _: &Clock) -> Vec<Transmit> {
        Vec::new()
    }
}

#[test]
#[should_panic(expected = "never gets past it")]
fn a_machine_stuck_at_a_deadline_fails_the_test_instead_of_hanging_it() {
    let clock = Clock::new();
    let mut lab = Lab::with_clock(clock, Stuck(clock.at(Duration::from_secs(1))));
    lab.run_for(Duration::from_secs(2));
}
