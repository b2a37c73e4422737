//! Outbound calls through trunks on a virtual clock: extensions (scripted phones) dial out,
//! the dial plan picks trunks (least cost, failover), scripted carriers answer, fail or stay
//! silent, and each test states what the caller, the carriers and the call record see.

mod pbx;

use std::time::Duration;

use crossbar_cdr::record::Disposition;
use crossbar_cdr::{DestinationClass, Direction, Money};
use crossbar_sip::{HeaderName, Message, Method, Request, Response};
use crossbar_testkit::carrier::{Script, status, tagged_response};
use crossbar_testkit::{Carrier, Dialog, Lab, Phone, peer, sdp};
use pbx::Pbx;

const CARRIER_A: &str = "198.51.100.10:5060";
const CARRIER_B: &str = "198.51.100.20:5060";

/// A London site with two carriers: A charges 0.010/min for UK numbers, B 0.020 (both
/// per-minute billing, B with a connection fee). 201 may call nationally and presents its own
/// number; 202 withholds its caller ID; 203 may call anywhere but at most 2 calls a minute.
const SITE: &str = r#"
[site]
country = "GB"
timezone = "Europe/London"
currency = "GBP"
emergency_trunk = "carrier-b"

[[extension]]
number = "201"
secret = "secret-201"
class = "national"
external_number = "+442079460001"

[[extension]]
number = "202"
secret = "secret-202"
class = "national"
withhold_caller_id = true

[[extension]]
number = "203"
secret = "secret-203"
class = "capped"

[[class]]
name = "national"
allow = ["emergency", "internal", "local", "national", "mobile", "toll_free"]

[[class]]
name = "capped"
allow = ["emergency", "internal", "local", "national", "mobile", "toll_free", "international"]
max_calls_per_minute = 2

[[trunk]]
name = "carrier-a"
address = "198.51.100.10:5060"
options_interval_secs = 30
auth = { username = "pbx-a", secret = "carrier-a-secret" }

[[trunk]]
name = "carrier-b"
address = "198.51.100.20:5060"
options_interval_secs = 0
asserted_identity = true

[[rate]]
trunk = "carrier-a"
prefix = "+44"
per_minute = 0.010

[[rate]]
trunk = "carrier-b"
prefix = "+44"
per_minute = 0.020
connection_fee = 0.05

[[rate]]
trunk = "carrier-a"
prefix = "+33"
per_minute = 0.030

[[outbound_route]]
name = "all"
strategy = "least_cost"
trunks = ["carrier-a", "carrier-b"]
caller_id = "+442079460999"
"#;

/// A London number as dialled nationally, and as it is sent (E.164).
const LONDON: &str = "02079460000";
const LONDON_E164: &str = "+442079460000";

fn lab() -> Lab<Pbx> {
    pbx::lab_with(SITE)
}

fn phone(number: &str) -> Phone {
    let at = match number {
        "201" => "192.0.2.1:5060",
        "202" => "192.0.2.2:5060",
        _ => "192.0.2.3:5060",
    };
    Phone::new(number, &format!("secret-{number}"), at, "192.0.2.100")
}

fn carrier(at: &str, calls: impl IntoIterator<Item = Script>) -> Carrier {
    Carrier::new(at).with_calls(calls)
}

fn invites(lab: &Lab<Pbx>, at: &str) -> Vec<Request> {
    lab.carrier(peer(at))
        .requests(&Method::Invite)
        .into_iter()
        .cloned()
        .collect()
}

fn received(lab: &Lab<Pbx>, at: &str, method: Method) -> usize {
    lab.carrier(peer(at)).requests(&method).len()
}

/// The caller's final response to its call (the last non-provisional it got).
fn final_response(lab: &mut Lab<Pbx>, phone: &Phone) -> Response {
    lab.responses(phone.at)
        .into_iter()
        .filter(|r| r.status >= 200)
        .last()
        .expect("the caller got a final response")
}

/// ACKs the caller's 200, talks for `talk`, hangs up.
fn talk_and_hang_up(lab: &mut Lab<Pbx>, caller: &mut Phone, ok: &Response, talk: Duration) {
    let mut dialog = Dialog::from_answer(ok);
    caller.ack(lab, &dialog, None);
    lab.run_for(talk);
    caller.send_in_dialog(lab, &mut dialog, Method::Bye, None);
    lab.run_for(Duration::from_secs(1));
}

#[test]
fn a_national_call_goes_out_through_the_cheapest_trunk_with_the_callers_number_and_is_charged() {
    let mut lab = lab();
    lab.attach(carrier(CARRIER_A, [Script::answer()]));
    lab.attach(carrier(CARRIER_B, []));
    let mut alice = phone("201");
    alice.dial(&mut lab, LONDON, "");
    lab.run_for(Duration::from_millis(10));

    let sent = invites(&lab, CARRIER_A);
    let [invite] = sent.as_slice() else {
        panic!("one INVITE to carrier A: {sent:?}")
    };
    assert_eq!(
        invite.uri.to_string(),
        format!("sip:{LONDON_E164}@198.51.100.10:5060")
    );
    let from = invite.headers.from().expect("From");
    assert_eq!(
        from.uri.to_string(),
        "sip:+442079460001@198.51.100.10:5060",
        "the extension's own external number, never the internal 201"
    );
    assert!(invites(&lab, CARRIER_B).is_empty(), "B is dearer");

    let ok = final_response(&mut lab, &alice);
    assert_eq!(ok.status, 200);
    talk_and_hang_up(&mut lab, &mut alice, &ok, Duration::from_secs(90));
    assert_eq!(
        received(&lab, CARRIER_A, Method::Bye),
        1,
        "the carrier leg is hung up"
    );

    let record = lab.machine.record();
    assert_eq!(record.direction, Direction::Outbound);
    assert_eq!(record.disposition, Disposition::Answered);
    let out = record.outbound.as_ref().expect("outbound detail");
    assert_eq!(out.dialled, LONDON);
    assert_eq!(out.normalized, LONDON_E164);
    assert_eq!(out.class, DestinationClass::National);
    assert_eq!(out.trunk.as_deref(), Some("carrier-a"));
    assert_eq!(out.route.as_deref(), Some("all"));
    assert_eq!(out.caller_id.as_deref(), Some("+442079460001"));
    assert_eq!(out.attempts, 1);
    assert_eq!(out.pdd_ms, Some(0), "the carrier rang at once");
    // 90 s billed per minute: 2 minutes at 0.010.
    assert_eq!(out.cost, "0.02".parse::<Money>().expect("amount"));
}

#[test]
fn a_503_from_the_first_trunk_fails_over_to_the_second_which_answers() {
    let mut lab = lab();
    lab.attach(carrier(CARRIER_A, [Script::reject(503)]));
    lab.attach(carrier(CARRIER_B, [Script::answer()]));
    let mut alice = phone("201");
    alice.dial(&mut lab, LONDON, "");
    lab.run_for(Duration::from_millis(10));
    assert_eq!(invites(&lab, CARRIER_A).len(), 1);
    let to_b = invites(&lab, CARRIER_B);
    assert_eq!(to_b.len(), 1, "failover to B in the same call");
    // B asserts the identity (RFC 3325) as it is trusted.
    assert_eq!(
        to_b[0].headers.get(&HeaderName::PAssertedIdentity),
        Some("<sip:+442079460001@198.51.100.20:5060>")
    );
    let ok = final_response(&mut lab, &alice);
    assert_eq!(ok.status, 200, "the caller never sees the 503");
    talk_and_hang_up(&mut lab, &mut alice, &ok, Duration::from_secs(30));

    let record = lab.machine.record();
    assert_eq!(record.disposition, Disposition::Answered);
    let out = record.outbound.as_ref().expect("outbound detail");
    assert_eq!((out.attempts, out.failovers()), (2, 1));
    assert_eq!(out.trunk.as_deref(), Some("carrier-b"));
    // Both attempts are legs, with their trunks and outcomes.
    let trunk_legs: Vec<(Option<&str>, Option<u16>)> = record
        .legs
        .iter()
        .filter(|l| l.trunk.is_some())
        .map(|l| (l.trunk.as_deref(), l.final_status))
        .collect();
    assert_eq!(
        trunk_legs,
        [
            (Some("carrier-a"), Some(503)),
            (Some("carrier-b"), Some(200))
        ]
    );
    // B's rate: one minute at 0.020 plus the 0.05 connection fee.
    assert_eq!(out.cost, "0.07".parse::<Money>().expect("amount"));
}

#[test]
fn a_trunk_that_never_answers_the_invite_is_left_at_timer_b_for_the_next() {
    let mut lab = lab();
    lab.attach(carrier(CARRIER_A, [Script::silent()]));
    lab.attach(carrier(CARRIER_B, [Script::answer()]));
    let mut alice = phone("201");
    alice.dial(&mut lab, LONDON, "");
    lab.run_for(Duration::from_secs(31));
    assert!(
        invites(&lab, CARRIER_B).is_empty(),
        "A still has its chance"
    );
    lab.run_for(Duration::from_secs(2));
    assert_eq!(
        invites(&lab, CARRIER_B).len(),
        1,
        "Timer B (64·T1) moved the call on"
    );
    assert!(
        invites(&lab, CARRIER_A).len() > 1,
        "A got the INVITE's retransmissions"
    );
    assert_eq!(final_response(&mut lab, &alice).status, 200);
}

#[test]
fn a_trunk_whose_health_checks_fail_is_marked_down_and_skipped_until_it_answers_again() {
    let mut lab = lab();
    lab.attach(carrier(CARRIER_A, []).with_answer(Method::Options, status(503)));
    lab.attach(carrier(CARRIER_B, [Script::answer(), Script::answer()]));
    lab.run_for(Duration::from_secs(120));
    let down = lab
        .machine
        .trunk_statuses
        .iter()
        .find(|s| s.trunk == "carrier-a" && s.health == "down")
        .expect("carrier A reported down");
    assert!(down.change.contains("503"), "{}", down.change);

    let mut alice = phone("201");
    alice.dial(&mut lab, LONDON, "");
    lab.run_for(Duration::from_millis(10));
    assert!(
        invites(&lab, CARRIER_A).is_empty(),
        "a down trunk is skipped"
    );
    assert_eq!(invites(&lab, CARRIER_B).len(), 1);

    // A answers its checks again: it is back up and takes the next call.
    lab.carrier_mut(peer(CARRIER_A))
        .set_answer(Method::Options, status(200));
    lab.carrier_mut(peer(CARRIER_A))
        .queue_call(Script::answer());
    lab.run_for(Duration::from_secs(60));
    assert!(
        lab.machine
            .trunk_statuses
            .iter()
            .any(|s| s.trunk == "carrier-a" && s.health == "up"),
        "carrier A reported up again"
    );
    let mut bob = phone("202");
    bob.dial(&mut lab, LONDON, "");
    lab.run_for(Duration::from_millis(10));
    assert_eq!(invites(&lab, CARRIER_A).len(), 1);
}

#[test]
fn busy_or_a_wrong_number_from_the_first_trunk_does_not_fail_over() {
    for status in [486, 404] {
        let mut lab = lab();
        lab.attach(carrier(CARRIER_A, [Script::reject(status)]));
        lab.attach(carrier(CARRIER_B, [Script::answer()]));
        let mut alice = phone("201");
        alice.dial(&mut lab, LONDON, "");
        lab.run_for(Duration::from_millis(10));
        assert!(
            invites(&lab, CARRIER_B).is_empty(),
            "{status} says the number, not the trunk"
        );
        assert_eq!(final_response(&mut lab, &alice).status, status);
        let record = lab.machine.record();
        let expected = if status == 486 {
            Disposition::Busy
        } else {
            Disposition::Failed
        };
        assert_eq!(record.disposition, expected);
        assert_eq!(record.outbound.as_ref().map(|o| o.attempts), Some(1));
    }
}

#[test]
fn the_caller_cancelling_during_the_second_attempt_cancels_it() {
    let mut lab = lab();
    lab.attach(carrier(CARRIER_A, [Script::reject(503)]));
    lab.attach(carrier(CARRIER_B, [Script::new().respond(180)]));
    let mut alice = phone("201");
    let placed = alice.dial(&mut lab, LONDON, "");
    lab.run_for(Duration::from_secs(2));
    assert_eq!(invites(&lab, CARRIER_B).len(), 1);
    alice.cancel(&mut lab, &placed);
    lab.run_for(Duration::from_secs(1));
    assert_eq!(received(&lab, CARRIER_B, Method::Cancel), 1);
    assert!(lab.statuses(alice.at).contains(&487));
    let record = lab.machine.record();
    assert_eq!(record.disposition, Disposition::Cancelled);
    assert_eq!(record.outbound.as_ref().map(|o| o.attempts), Some(2));
    assert_eq!(record.outbound.as_ref().map(|o| o.cost), Some(Money::ZERO));
}

#[test]
fn an_answer_from_the_first_trunk_after_the_call_moved_on_is_acked_and_hung_up() {
    let mut lab = lab();
    lab.attach(carrier(CARRIER_A, [Script::silent()]));
    lab.attach(carrier(CARRIER_B, [Script::answer()]));
    let mut alice = phone("201");
    alice.dial(&mut lab, LONDON, "");
    lab.run_for(Duration::from_secs(33));
    assert_eq!(invites(&lab, CARRIER_B).len(), 1, "failed over at Timer B");
    let ok = final_response(&mut lab, &alice);
    assert_eq!(ok.status, 200);

    // Carrier A finally answers its INVITE.
    let late = invites(&lab, CARRIER_A).pop().expect("A's INVITE");
    let mut answer = tagged_response(&late, 200);
    answer
        .headers
        .push(HeaderName::Contact, format!("<sip:a@{CARRIER_A}>"));
    answer
        .headers
        .push(HeaderName::ContentType, "application/sdp");
    answer.body = sdp("198.51.100.10", 30000, "sendrecv").into();
    lab.send(peer(CARRIER_A), &Message::Response(answer));
    lab.run_for(Duration::from_millis(10));
    assert_eq!(
        received(&lab, CARRIER_A, Method::Ack),
        1,
        "the late 200 is ACKed"
    );
    assert_eq!(
        received(&lab, CARRIER_A, Method::Bye),
        1,
        "and hung up at once"
    );
    assert!(
        lab.responses(alice.at).is_empty(),
        "the caller, talking through B, hears nothing of it"
    );
    talk_and_hang_up(&mut lab, &mut alice, &ok, Duration::from_secs(5));
    let record = lab.machine.record();
    assert_eq!(
        record.outbound.as_ref().and_then(|o| o.trunk.as_deref()),
        Some("carrier-b")
    );
}

#[test]
fn a_national_class_dialling_abroad_is_denied_403_with_its_reason_and_no_carrier_hears_of_it() {
    let mut lab = lab();
    lab.attach(carrier(CARRIER_A, [Script::answer()]));
    lab.attach(carrier(CARRIER_B, [Script::answer()]));
    let mut alice = phone("201");
    alice.dial(&mut lab, "0033142685300", "");
    lab.run_for(Duration::from_millis(10));
    let refused = final_response(&mut lab, &alice);
    assert_eq!(refused.status, 403);
    let reason = refused
        .headers
        .get(&HeaderName::Reason)
        .expect("a Reason header (RFC 3326)");
    assert!(reason.starts_with("SIP;cause=403;text=\""), "{reason}");
    assert!(reason.contains("international"), "{reason}");
    assert!(invites(&lab, CARRIER_A).is_empty() && invites(&lab, CARRIER_B).is_empty());

    let record = lab.machine.record();
    assert_eq!(record.direction, Direction::Outbound);
    assert_eq!(record.disposition, Disposition::Denied);
    assert!(
        record
            .disposition_detail
            .as_deref()
            .is_some_and(|d| d.contains("international")),
        "{:?}",
        record.disposition_detail
    );
    let out = record
        .outbound
        .as_ref()
        .expect("the denied number is on the record");
    assert_eq!(out.normalized, "+33142685300");
    assert_eq!(out.class, DestinationClass::International);
    assert_eq!(out.attempts, 0);
}

#[test]
fn a_burst_past_the_calls_per_minute_cap_blocks_the_extension_until_released() {
    let mut lab = lab();
    lab.attach(carrier(CARRIER_A, []).with_default_call(Script::reject(486)));
    lab.attach(carrier(CARRIER_B, []));
    let mut carol = phone("203");
    for _ in 0..2 {
        carol.dial(&mut lab, LONDON, "");
        lab.run_for(Duration::from_millis(100));
    }
    assert_eq!(invites(&lab, CARRIER_A).len(), 2);
    carol.dial(&mut lab, LONDON, "");
    lab.run_for(Duration::from_millis(100));
    assert_eq!(final_response(&mut lab, &carol).status, 403);
    assert_eq!(
        invites(&lab, CARRIER_A).len(),
        2,
        "the third call never left"
    );
    let blocks = lab.machine.blocks.clone();
    assert_eq!(blocks.len(), 1, "{blocks:?}");
    assert_eq!(blocks[0].0, "203");

    // A minute later the rate is fine, but the extension stays blocked.
    lab.run_for(Duration::from_secs(120));
    carol.dial(&mut lab, LONDON, "");
    lab.run_for(Duration::from_millis(100));
    let refused = final_response(&mut lab, &carol);
    assert_eq!(refused.status, 403);
    assert!(
        refused
            .headers
            .get(&HeaderName::Reason)
            .is_some_and(|r| r.contains("blocked")),
        "{refused}"
    );
    // Released (the database no longer holds the block): it may call again.
    let now = lab.clock.now();
    lab.machine.switch.set_blocked(now, Default::default());
    carol.dial(&mut lab, LONDON, "");
    lab.run_for(Duration::from_millis(100));
    assert_eq!(invites(&lab, CARRIER_A).len(), 3);
    let denied: Vec<&str> = lab
        .machine
        .records
        .iter()
        .filter(|r| r.disposition == Disposition::Denied)
        .filter_map(|r| r.disposition_detail.as_deref())
        .collect();
    assert_eq!(denied.len(), 2, "{denied:?}");
}

#[test]
fn a_withheld_caller_id_goes_out_anonymous_with_privacy_id() {
    let mut lab = lab();
    lab.attach(carrier(CARRIER_A, [Script::answer()]));
    let mut bob = phone("202");
    bob.dial(&mut lab, LONDON, "");
    lab.run_for(Duration::from_millis(10));
    let invite = invites(&lab, CARRIER_A).pop().expect("an INVITE");
    assert_eq!(
        invite.headers.from().expect("From").uri.to_string(),
        "sip:anonymous@anonymous.invalid"
    );
    assert_eq!(invite.headers.get(&HeaderName::Privacy), Some("id"));
    assert!(
        !invite.headers.contains(&HeaderName::PAssertedIdentity),
        "nothing carries the number"
    );
    let text = invite.to_string();
    assert!(
        !text.contains("202@") && !text.contains("+442079460999"),
        "{text}"
    );
}

#[test]
fn a_carriers_digest_challenge_to_the_invite_is_answered_with_the_trunk_credentials() {
    let mut lab = lab();
    lab.attach(carrier(CARRIER_A, [Script::answer()]).with_challenge(
        407,
        "carrier-a.example",
        "pbx-a",
        "carrier-a-secret",
    ));
    let mut alice = phone("201");
    alice.dial(&mut lab, LONDON, "");
    lab.run_for(Duration::from_millis(10));
    let sent = invites(&lab, CARRIER_A);
    assert_eq!(sent.len(), 2, "the INVITE, then the authenticated one");
    assert!(sent[1].headers.contains(&HeaderName::ProxyAuthorization));
    assert_eq!(final_response(&mut lab, &alice).status, 200);
}

#[test]
fn an_emergency_call_goes_to_the_emergency_trunk_first_whatever_the_class() {
    let mut lab = lab();
    lab.attach(carrier(CARRIER_A, [Script::answer()]));
    lab.attach(carrier(CARRIER_B, [Script::answer()]));
    let mut bob = phone("202");
    bob.dial(&mut lab, "999", "");
    lab.run_for(Duration::from_millis(10));
    let to_b = invites(&lab, CARRIER_B);
    assert_eq!(to_b.len(), 1, "the emergency trunk");
    assert!(
        to_b[0].uri.to_string().starts_with("sip:999@"),
        "{}",
        to_b[0].uri
    );
    assert!(
        !to_b[0].headers.contains(&HeaderName::Privacy),
        "emergency services get the number, even from a withheld extension"
    );
    assert!(invites(&lab, CARRIER_A).is_empty());
    let record = lab.machine.records.first().cloned();
    assert!(record.is_none(), "still up");
}

#[test]
fn an_invite_from_a_carrier_address_is_its_trunks_and_gets_404_until_inbound_routes_exist() {
    let mut lab = lab();
    let carrier_a = peer(CARRIER_A);
    lab.send_text(
        carrier_a,
        "INVITE sip:+442079460001@192.0.2.100:5060 SIP/2.0\r\n\
         Via: SIP/2.0/UDP 198.51.100.10:5060;branch=z9hG4bK-in1\r\n\
         Max-Forwards: 70\r\nFrom: <sip:+447400123456@198.51.100.10>;tag=c1\r\n\
         To: <sip:+442079460001@192.0.2.100>\r\nCall-ID: inbound-1@198.51.100.10\r\n\
         CSeq: 1 INVITE\r\nContact: <sip:c@198.51.100.10:5060>\r\nContent-Length: 0\r\n\r\n",
    );
    lab.run_for(Duration::from_millis(10));
    let statuses = lab.statuses(carrier_a);
    assert!(statuses.contains(&404), "{statuses:?}");
    assert!(
        !statuses.contains(&407),
        "a carrier is not challenged as a phone"
    );
    let record = lab.machine.record();
    assert_eq!(record.direction, Direction::Inbound);
    assert_eq!(record.disposition, Disposition::Failed);
    assert_eq!(record.caller.number, "+447400123456");
}

#[test]
fn a_carrier_that_cannot_be_reached_is_marked_down_at_once_and_calls_fail_over() {
    let mut lab = lab();
    lab.attach(carrier(CARRIER_B, [Script::answer()]));
    // Every send to A fails (a refused TCP connection, an unreachable network).
    lab.net.refuse(peer(CARRIER_A));
    lab.run_for(Duration::from_secs(30));
    assert!(
        lab.machine
            .trunk_statuses
            .iter()
            .any(|s| s.trunk == "carrier-a" && s.health == "down"),
        "{:?}",
        lab.machine.trunk_statuses
    );
    let mut alice = phone("201");
    alice.dial(&mut lab, LONDON, "");
    lab.run_for(Duration::from_millis(10));
    assert_eq!(invites(&lab, CARRIER_B).len(), 1);
    assert_eq!(final_response(&mut lab, &alice).status, 200);
}

#[test]
fn an_invite_that_cannot_be_sent_fails_over_at_once() {
    let mut lab =
        pbx::lab_with(&SITE.replace("options_interval_secs = 30", "options_interval_secs = 0"));
    lab.attach(carrier(CARRIER_B, [Script::answer()]));
    lab.net.refuse(peer(CARRIER_A));
    let mut alice = phone("201");
    alice.dial(&mut lab, LONDON, "");
    lab.run_for(Duration::from_millis(10));
    assert_eq!(
        invites(&lab, CARRIER_B).len(),
        1,
        "no Timer B wait for a transport error"
    );
    assert_eq!(final_response(&mut lab, &alice).status, 200);
}

#[test]
fn a_trunk_with_its_own_listener_is_reached_from_it_and_names_it_in_via_and_contact() {
    let text = SITE.replace(
        "[[trunk]]\nname = \"carrier-a\"\naddress = \"198.51.100.10:5060\"\n",
        "[[trunk]]\nname = \"carrier-a\"\naddress = \"198.51.100.10:5060\"\nlisten = \"0.0.0.0:5080\"\n",
    );
    let text = format!("[sip]\nlisten_udp = [\"0.0.0.0:5060\", \"0.0.0.0:5080\"]\n{text}");
    let mut lab = pbx::lab_with(&text);
    lab.attach(carrier(CARRIER_A, [Script::answer()]));
    lab.run_for(Duration::from_secs(1));
    let mut alice = phone("201");
    alice.dial(&mut lab, LONDON, "");
    lab.run_for(Duration::from_millis(10));
    let invite = invites(&lab, CARRIER_A)
        .pop()
        .expect("an INVITE to carrier A");
    let via = invite.headers.get(&HeaderName::Via).expect("Via");
    assert!(via.contains("192.0.2.100:5080"), "{via}");
    let contact = invite.headers.get(&HeaderName::Contact).expect("Contact");
    assert!(contact.contains("192.0.2.100:5080"), "{contact}");
    let local: std::net::SocketAddr = "0.0.0.0:5080".parse().expect("address");
    let to_a: Vec<_> = lab
        .machine
        .sent_from
        .iter()
        .filter(|(to, _)| *to == peer(CARRIER_A))
        .collect();
    assert!(
        !to_a.is_empty() && to_a.iter().all(|(_, from)| *from == Some(local)),
        "every message to carrier A (OPTIONS, INVITE, ACK) leaves from its listener: {to_a:?}"
    );
    // The phone's side is untouched: the run loop chooses.
    assert!(
        lab.machine
            .sent_from
            .iter()
            .filter(|(to, _)| *to == alice.at)
            .all(|(_, from)| from.is_none())
    );
}
