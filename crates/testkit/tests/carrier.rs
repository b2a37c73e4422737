//! The scripted carrier, driven by a real UAC transaction layer on the virtual clock: what a
//! trunk leg will see from a carrier that answers, rejects, challenges, is slow or is dead.

use std::time::Duration;

use crossbar_proto::transaction::{Event, Peer, Timers, TransactionKey, Transactions};
use crossbar_sip::{HeaderName, Message, Method, Request};
use crossbar_testkit::machines::TransactionsMachine;
use crossbar_testkit::{Carrier, Lab, Script, digest, peer, sdp, silence, status};

const CROSSBAR: &str = "192.0.2.100:5060";
const CARRIER: &str = "198.51.100.7:5060";
const REALM: &str = "carrier.example";

fn s(secs: u64) -> Duration {
    Duration::from_secs(secs)
}

fn carrier() -> Peer {
    peer(CARRIER)
}

fn lab(carrier: Carrier) -> Lab<TransactionsMachine> {
    let machine = TransactionsMachine::new(Transactions::new(Timers::default(), 5), peer(CROSSBAR));
    let mut lab = Lab::new(machine);
    lab.attach(carrier);
    lab
}

/// An out-of-dialog request from crossbar to the carrier (the transaction layer adds the
/// branch).
fn request(method: &str, call_id: &str, cseq: u32) -> Request {
    let text = format!(
        "{method} sip:+441632960123@198.51.100.7 SIP/2.0\r\nVia: SIP/2.0/UDP {CROSSBAR};rport\r\n\
         Max-Forwards: 70\r\nFrom: <sip:trunk@192.0.2.100>;tag=x1\r\n\
         To: <sip:+441632960123@198.51.100.7>\r\nCall-ID: {call_id}\r\nCSeq: {cseq} {method}\r\n\
         Contact: <sip:trunk@{CROSSBAR}>\r\nContent-Length: 0\r\n\r\n"
    );
    match crossbar_sip::parse_datagram(text.as_bytes()) {
        Ok(Message::Request(request)) => request,
        other => panic!("{other:?}"),
    }
}

fn invite(call_id: &str, cseq: u32) -> Request {
    let mut invite = request("INVITE", call_id, cseq);
    invite
        .headers
        .push(HeaderName::ContentType, "application/sdp");
    invite.body = sdp("192.0.2.100", 20_000, "sendrecv").into();
    invite
}

fn send(lab: &mut Lab<TransactionsMachine>, request: Request) {
    let now = lab.now();
    lab.machine
        .transactions
        .send_request(now, request, carrier())
        .expect("a well-formed request");
    lab.pump();
}

fn methods(lab: &Lab<TransactionsMachine>) -> Vec<String> {
    lab.carrier(carrier())
        .received()
        .iter()
        .map(|(_, r)| r.method.to_string())
        .collect()
}

#[test]
fn a_carrier_that_challenges_answers_the_authenticated_retry_with_early_media() {
    let mut lab = lab(Carrier::new(CARRIER)
        .with_challenge(407, REALM, "trunk", "trunk-secret")
        .with_calls([Script::early_media()]));

    send(&mut lab, invite("c1", 1));
    let events = lab.machine.take_events();
    let challenge = events
        .iter()
        .find_map(|e| match e {
            Event::Response { response, .. } => Some(response.clone()),
            _ => None,
        })
        .expect("a response");
    assert_eq!(challenge.status, 407);
    let challenged = challenge
        .headers
        .get(&HeaderName::ProxyAuthenticate)
        .expect("Proxy-Authenticate");
    assert!(
        challenged.contains("realm=\"carrier.example\""),
        "{challenged}"
    );

    let mut retry = invite("c1", 2);
    digest::authorize(&mut retry, &challenge, "trunk", "trunk-secret");
    send(&mut lab, retry);
    let responses: Vec<_> = lab
        .machine
        .take_events()
        .into_iter()
        .filter_map(|e| match e {
            Event::Response { response, .. } => Some(response),
            _ => None,
        })
        .collect();
    let statuses: Vec<u16> = responses.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [100, 183, 200]);
    let early = &responses[1];
    assert!(crossbar_testkit::sdp::text(&early.body).contains("c=IN IP4 198.51.100.7"));
    let ok = &responses[2];
    assert_eq!(
        ok.headers.get(&HeaderName::Contact),
        Some("<sip:carrier@198.51.100.7:5060>")
    );
    assert_eq!(
        ok.headers.to().expect("To").tag(),
        early.headers.to().expect("To").tag(),
        "one dialog"
    );

    // The client transaction ACKed the 407 itself (§17.1.1.3); the 200's ACK is the TU's.
    let mut ack = request("ACK", "c1", 2);
    ack.headers.set(
        HeaderName::To,
        ok.headers.get(&HeaderName::To).expect("To").to_owned(),
    );
    lab.machine
        .transactions
        .transmit(carrier(), Message::Request(ack));
    lab.pump();
    assert_eq!(methods(&lab), ["INVITE", "ACK", "INVITE", "ACK"]);
}

#[test]
fn wrong_credentials_are_challenged_again_and_no_script_runs() {
    let mut lab = lab(Carrier::new(CARRIER).with_challenge(401, REALM, "trunk", "right"));
    send(&mut lab, invite("c1", 1));
    let challenge = match lab.machine.take_events().remove(0) {
        Event::Response { response, .. } => response,
        other => panic!("{other:?}"),
    };
    let mut retry = invite("c1", 2);
    digest::authorize(&mut retry, &challenge, "trunk", "wrong");
    send(&mut lab, retry);
    assert_eq!(lab.machine.statuses(), [401]);
}

#[test]
fn a_silent_carrier_lets_timer_b_fire_after_seven_invites() {
    let mut lab = lab(Carrier::new(CARRIER).with_calls([Script::silent()]));
    send(&mut lab, invite("c1", 1));
    lab.run_for(s(31));
    assert!(lab.machine.statuses().is_empty(), "not even a 100");
    lab.run_for(s(2));
    assert_eq!(lab.machine.statuses(), [408]);
    // Timer A: at 0, 0.5, 1.5, 3.5, 7.5, 15.5 and 31.5 s (§17.1.1.2); Timer B at 32 s.
    let at: Vec<u128> = lab
        .carrier(carrier())
        .received()
        .iter()
        .map(|(at, _)| (*at - lab.clock.start()).as_millis())
        .collect();
    assert_eq!(at, [0, 500, 1500, 3500, 7500, 15_500, 31_500]);
}

#[test]
fn scripts_are_taken_per_call_in_order_then_the_default() {
    let carrier = Carrier::new(CARRIER)
        .with_calls([Script::reject(503), Script::reject(486)])
        .with_default_call(Script::answer());
    let mut lab = lab(carrier);
    let expected: [&[u16]; 3] = [&[100, 503], &[100, 486], &[100, 180, 200]];
    for (n, expected) in expected.iter().enumerate() {
        send(&mut lab, invite(&format!("c{n}"), 1));
        assert_eq!(lab.machine.statuses(), *expected, "call {n}");
    }
    // Each non-2xx was ACKed by the client transaction and absorbed by the carrier's.
    assert_eq!(methods(&lab), ["INVITE", "ACK", "INVITE", "ACK", "INVITE"]);
}

#[test]
fn a_late_answer_comes_after_its_delay_and_trying_keeps_timer_b_off() {
    let script = Script::new().wait(s(45)).respond_with_sdp(200);
    let mut lab = lab(Carrier::new(CARRIER).with_calls([script]));
    send(&mut lab, invite("c1", 1));
    assert!(lab.machine.statuses().is_empty());
    lab.run_for(Duration::from_millis(200));
    assert_eq!(
        lab.machine.statuses(),
        [100],
        "the carrier's transaction layer"
    );
    lab.run_for(s(44));
    assert!(lab.machine.statuses().is_empty(), "no Timer B after a 100");
    lab.run_for(s(1));
    assert_eq!(lab.machine.statuses(), [200]);
    assert_eq!(lab.carrier(carrier()).requests(&Method::Invite).len(), 1);
}

#[test]
fn a_cancelled_invite_is_answered_487_and_its_script_stops() {
    let script = Script::new().respond(180).wait(s(10)).respond_with_sdp(200);
    let mut lab = lab(Carrier::new(CARRIER).with_calls([script]));
    let invite = invite("c1", 1);
    let now = lab.now();
    let key = lab
        .machine
        .transactions
        .send_request(now, invite, carrier())
        .expect("sent");
    lab.pump();
    assert_eq!(lab.machine.statuses(), [180]);
    lab.run_for(s(2));
    let now = lab.now();
    lab.machine
        .transactions
        .cancel(now, key)
        .expect("cancellable");
    lab.pump();
    let mut statuses = lab.machine.statuses();
    statuses.sort_unstable();
    assert_eq!(
        statuses,
        [200, 487],
        "the CANCEL's 200 and the INVITE's 487"
    );
    lab.run_for(s(20));
    assert!(
        lab.machine.statuses().is_empty(),
        "no answer after the CANCEL"
    );
    assert_eq!(methods(&lab), ["INVITE", "CANCEL", "ACK"]);
}

#[test]
fn in_dialog_requests_are_answered_200() {
    let mut lab = lab(Carrier::new(CARRIER));
    send(&mut lab, invite("c1", 1));
    let ok = lab
        .machine
        .take_events()
        .into_iter()
        .find_map(|e| match e {
            Event::Response { response, .. } if response.status == 200 => Some(response),
            _ => None,
        })
        .expect("answered");
    let mut bye = request("BYE", "c1", 2);
    bye.headers.set(
        HeaderName::To,
        ok.headers.get(&HeaderName::To).expect("To").to_owned(),
    );
    send(&mut lab, bye);
    assert_eq!(lab.machine.statuses(), [200]);
}

#[test]
fn options_are_answered_200_then_as_scripted_and_silence_ends_in_timer_f() {
    let mut lab = lab(Carrier::new(CARRIER));
    send(&mut lab, request("OPTIONS", "o1", 1));
    assert_eq!(lab.machine.statuses(), [200]);
    lab.carrier_mut(carrier())
        .set_answer(Method::Options, status(503));
    send(&mut lab, request("OPTIONS", "o2", 1));
    assert_eq!(lab.machine.statuses(), [503]);
    lab.carrier_mut(carrier())
        .set_answer(Method::Options, silence());
    send(&mut lab, request("OPTIONS", "o3", 1));
    lab.run_for(s(40));
    assert_eq!(lab.machine.statuses(), [408]);
    send(&mut lab, request("REGISTER", "r1", 1));
    assert_eq!(lab.machine.statuses(), [405], "no registrar here");
}

#[test]
fn a_cut_carrier_receives_nothing_and_a_refusing_one_fails_the_send() {
    let mut lab = lab(Carrier::new(CARRIER));
    lab.net.cut(carrier());
    send(&mut lab, invite("c1", 1));
    lab.run_for(s(33));
    assert_eq!(lab.machine.statuses(), [408]);
    assert!(
        lab.carrier(carrier()).requests(&Method::Invite).is_empty(),
        "no INVITE reached this carrier"
    );
    assert_eq!(lab.net.lost(), 7);

    lab.net.restore(carrier());
    lab.net.refuse(carrier());
    send(&mut lab, invite("c2", 1));
    let events = lab.machine.take_events();
    assert!(
        events.iter().any(|e| matches!(
            e,
            Event::TransportError {
                key: TransactionKey::Client(_)
            }
        )),
        "{events:?}"
    );
}

#[test]
fn over_tcp_the_carrier_is_reached_once_and_answers_on_the_connection() {
    let mut lab = lab(Carrier::new(CARRIER).with_calls([Script::silent(), Script::answer()]));
    let tcp = Peer::tcp(carrier().addr);
    let now = lab.now();
    lab.machine
        .transactions
        .send_request(now, invite("c1", 1), tcp)
        .expect("sent");
    lab.run_for(s(33));
    assert_eq!(lab.machine.statuses(), [408], "Timer B");
    assert_eq!(
        lab.carrier(carrier()).requests(&Method::Invite).len(),
        1,
        "no Timer A retransmissions on a reliable transport (§17.1.1.2)"
    );
    let now = lab.now();
    lab.machine
        .transactions
        .send_request(now, invite("c2", 1), tcp)
        .expect("sent");
    lab.pump();
    assert_eq!(lab.machine.statuses(), [100, 180, 200]);
    let (_, second) = &lab.carrier(carrier()).received()[1];
    assert!(
        second
            .headers
            .get(&HeaderName::Via)
            .is_some_and(|via| via.starts_with("SIP/2.0/TCP")),
        "{second}"
    );
}
