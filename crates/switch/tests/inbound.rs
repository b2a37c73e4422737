//! Incoming calls on a virtual clock: a scripted carrier calls a DID, the route, time
//! condition, menu and ring group decide, crossbar answers the caller itself for the menu
//! (prompts played, keys heard) and puts them through to a phone without re-INVITE; each test
//! states what the carrier, the phones, the media commands and the call record see.
//!
//! The clock's wall time starts on Friday 2027-01-15 at 08:00 UTC (08:00 in London).

mod pbx;

use std::time::Duration;

use crossbar_cdr::record::Disposition;
use crossbar_cdr::{Direction, Stage, StepKind};
use crossbar_media::{MediaCommand, MediaEvent, RelayId};
use crossbar_sip::{Method, Request, Response};
use crossbar_testkit::sdp::sdp;
use crossbar_testkit::{Dialog, Lab, Phone, peer};
use pbx::Pbx;

const CARRIER: &str = "198.51.100.10:5060";
const DID: &str = "+442079460000";

/// A London office: the main number goes to office hours (07:00–18:00 every day, closed on
/// `HOLIDAYS`) → the menu (1 → sales hunt group 201 then 202, 2 → 203, 0 → 201, direct
/// dial on) or, closed, to 203. 201 unanswered goes on to 202.
const SITE: &str = r#"
[site]
country = "GB"
timezone = "Europe/London"

[[extension]]
number = "201"
secret = "secret-201"
no_answer_secs = 10
on_no_answer = "ext:202"

[[extension]]
number = "202"
secret = "secret-202"

[[extension]]
number = "203"
secret = "secret-203"

[[trunk]]
name = "carrier-a"
address = "198.51.100.10:5060"
options_interval_secs = 0

[[trunk]]
name = "carrier-b"
address = "198.51.100.20:5060"
options_interval_secs = 0

[[trunk]]
name = "carrier-r"
address = "198.51.100.30:5060"
options_interval_secs = 0
register = { username = "pbx-reg", secret = "carrier-r-secret" }
did_from = "to"

[[class]]
name = "national"
allow = ["national", "mobile"]

[[outbound_route]]
name = "uk"
match = ["+44*"]
strategy = "in_order"
trunks = ["carrier-b"]
caller_id = "+442079460999"

[[inbound_route]]
name = "rota"
dids = ["+442079460400"]
destination = "group:rota"

[[inbound_route]]
name = "mobile"
dids = ["+442079460500"]
destination = "group:mobiles"

[[ring_group]]
name = "rota"
strategy = "round_robin"
members = ["201", "202"]
ring_secs = 10

[[ring_group]]
name = "mobiles"
strategy = "hunt"
members = ["+447400123456"]
present_caller = true
class = "national"

[inbound]
blocklist = ["+44900*"]

[[inbound_route]]
name = "main"
dids = ["+442079460000"]
destination = "tc:office-hours"

[[inbound_route]]
name = "direct"
dids = ["+442079460201"]
destination = "ext:201"

[[time_condition]]
name = "office-hours"
open = ["mon-sun 07:00-18:00"]
holidays = [HOLIDAYS]
when_open = "ivr:main"
when_closed = "ext:203"

[[ivr]]
name = "main"
number = "500"
prompt = "greeting"
options = { "1" = "group:sales", "2" = "ext:203", "0" = "ext:201" }
direct_dial = true
timeout_secs = 5
digit_timeout_secs = 2
retries = 1
invalid_prompt = "invalid"
timeout_prompt = "timeout"
on_failure = "hangup"

[[ring_group]]
name = "sales"
strategy = "hunt"
members = ["201", "202"]
ring_secs = 15

[[inbound_route]]
name = "support"
dids = ["+442079460600"]
destination = "queue:support"

[[queue]]
name = "support"
members = ["202"]

[prompts]
dir = "prompts"
default_language = "en"
"#;

fn lab_with_holidays(holidays: &str) -> Lab<Pbx> {
    pbx::lab_with(&SITE.replace("HOLIDAYS", holidays))
}

fn lab() -> Lab<Pbx> {
    lab_with_holidays("\"12-25\"")
}

fn phone(number: &str, at: &str) -> Phone {
    Phone::new(number, &format!("secret-{number}"), at, "192.0.2.100")
}

fn registered(lab: &mut Lab<Pbx>, number: &str, at: &str) -> Phone {
    let mut phone = phone(number, at);
    assert_eq!(phone.register(lab).status, 200);
    phone
}

/// The carrier's INVITE to `did` from `caller`, with an offer (PCMU + telephone-event 101).
fn carrier_invite(lab: &mut Lab<Pbx>, did: &str, caller: &str, call: u32) {
    let body = sdp("198.51.100.10", 30_000, "sendrecv");
    let text = format!(
        "INVITE sip:{did}@192.0.2.100:5060 SIP/2.0\r\n\
         Via: SIP/2.0/UDP 198.51.100.10:5060;branch=z9hG4bK-in{call}\r\n\
         Max-Forwards: 70\r\nFrom: <sip:{caller}@198.51.100.10>;tag=c{call}\r\n\
         To: <sip:{did}@192.0.2.100>\r\nCall-ID: inbound-{call}@198.51.100.10\r\n\
         CSeq: 1 INVITE\r\nContact: <sip:carrier@198.51.100.10:5060>\r\n\
         Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    lab.send_text(peer(CARRIER), &text);
    lab.run_for(Duration::from_millis(10));
}

/// The carrier as a party to the call (its dialog once crossbar answered).
fn carrier_party() -> Phone {
    Phone::new("carrier", "-", CARRIER, "192.0.2.100")
}

fn final_to_carrier(lab: &mut Lab<Pbx>) -> Response {
    lab.responses(peer(CARRIER))
        .into_iter()
        .rfind(|r| r.status >= 200)
        .expect("a final response to the carrier")
}

fn relay(lab: &Lab<Pbx>) -> RelayId {
    lab.machine
        .media
        .iter()
        .find_map(|c| match c {
            MediaCommand::Open(plan) => Some(plan.id),
            _ => None,
        })
        .expect("a relay was opened")
}

fn media_event(lab: &mut Lab<Pbx>, event: MediaEvent) {
    let (now, wall) = (lab.clock.now(), lab.clock.wall());
    lab.machine.switch.handle_media_event(now, wall, event);
    lab.run_for(Duration::from_millis(1));
}

fn press(lab: &mut Lab<Pbx>, digit: char) {
    let id = relay(lab);
    media_event(lab, MediaEvent::Digit { id, digit });
}

/// The plays sent to the relay so far: prompt names, repeat.
fn plays(lab: &Lab<Pbx>) -> Vec<(Vec<String>, bool)> {
    lab.machine
        .media
        .iter()
        .filter_map(|c| match c {
            MediaCommand::Play {
                prompts, repeat, ..
            } => Some((prompts.iter().map(|p| p.name.clone()).collect(), *repeat)),
            _ => None,
        })
        .collect()
}

/// A call in the menu: the carrier called the main number in office hours, crossbar answered
/// and ACKed; returns the carrier's dialog.
fn in_menu(lab: &mut Lab<Pbx>) -> Dialog {
    carrier_invite(lab, DID, "+447700900123", 1);
    let ok = final_to_carrier(lab);
    assert_eq!(ok.status, 200, "crossbar answers for the menu: {ok}");
    let dialog = Dialog::from_answer(&ok);
    carrier_party().ack(lab, &dialog, None);
    lab.run_for(Duration::from_millis(10));
    dialog
}

#[test]
fn a_call_in_office_hours_hears_the_greeting_and_a_key_rings_the_chosen_extension() {
    let mut lab = lab();
    let mut carol = registered(&mut lab, "203", "192.0.2.13:5060");
    in_menu(&mut lab);
    let answer_sdp = lab.machine.media.iter().any(|c| {
        matches!(
            c,
            MediaCommand::Listen {
                payload_type: 101,
                ..
            }
        )
    });
    assert!(
        answer_sdp,
        "crossbar listens for the offered telephone-events"
    );
    let played = plays(&lab);
    assert_eq!(played.len(), 1, "{played:?}");
    assert!(played[0].0[0].contains("greeting"), "{played:?}");
    assert!(
        lab.requests(carol.at).is_empty(),
        "nothing rings in the menu"
    );

    // The caller presses 2 while the greeting plays (a lone 2: the digit timeout decides).
    press(&mut lab, '2');
    assert!(
        lab.machine
            .media
            .iter()
            .any(|c| matches!(c, MediaCommand::StopPlaying { .. }))
    );
    lab.run_for(Duration::from_secs(3));
    let invite = lab.request(carol.at, Method::Invite);
    assert!(
        sdp_text(&invite).contains("m=audio"),
        "crossbar offers the caller's codec to the phone"
    );
    carol.reply(&mut lab, &invite, 180, None);
    lab.run_for(Duration::from_millis(10));
    assert!(
        plays(&lab).iter().any(|(_, repeat)| *repeat),
        "ringback plays to the caller while 203 rings"
    );
    let statuses = lab.statuses(peer(CARRIER));
    assert!(
        !statuses.contains(&180),
        "the caller has crossbar's 200 already: {statuses:?}"
    );
    carol.reply(
        &mut lab,
        &invite,
        200,
        Some(sdp("192.0.2.13", 40_000, "sendrecv")),
    );
    lab.run_for(Duration::from_millis(10));
    assert!(
        lab.machine
            .media
            .iter()
            .any(|c| matches!(c, MediaCommand::Bridge { .. })),
        "the relay's far side becomes the phone"
    );
    assert!(
        lab.requests(peer(CARRIER))
            .iter()
            .all(|r| r.method != Method::Invite),
        "the caller is not re-INVITEd"
    );
    // Carol hangs up.
    let mut dialog = carol.dialog_as_callee(&invite);
    carol.send_in_dialog(&mut lab, &mut dialog, Method::Bye, None);
    lab.run_for(Duration::from_millis(10));
    let bye = lab.request(peer(CARRIER), Method::Bye);
    assert_eq!(bye.method, Method::Bye);

    let record = lab.machine.record();
    assert_eq!(record.direction, Direction::Inbound);
    assert_eq!(record.disposition, Disposition::Answered);
    let inbound = record.inbound.as_ref().expect("inbound details");
    assert_eq!(inbound.did, DID);
    assert_eq!(inbound.route.as_deref(), Some("main"));
    assert_eq!(record.caller.number, "+447700900123");
    let path: Vec<(StepKind, String, String)> = record
        .path
        .iter()
        .map(|s| (s.kind, s.name.clone(), s.result.clone()))
        .collect();
    let kinds: Vec<StepKind> = path.iter().map(|p| p.0).collect();
    assert_eq!(
        kinds,
        [
            StepKind::Route,
            StepKind::TimeCondition,
            StepKind::Ivr,
            StepKind::Digit
        ],
        "{path:#?}"
    );
    assert!(path[1].2.starts_with("open"), "{path:#?}");
    assert_eq!(path[3].2, "2 → ext:203");
}

fn sdp_text(request: &Request) -> String {
    String::from_utf8_lossy(&request.body).into_owned()
}

#[test]
fn on_a_holiday_the_call_goes_to_the_closed_destination_without_a_menu() {
    let mut lab = lab_with_holidays("\"01-15\"");
    let carol = registered(&mut lab, "203", "192.0.2.13:5060");
    carrier_invite(&mut lab, DID, "+447700900123", 1);
    let invite = lab.request(carol.at, Method::Invite);
    carol.reply(&mut lab, &invite, 180, None);
    lab.run_for(Duration::from_millis(10));
    assert!(
        lab.statuses(peer(CARRIER)).contains(&180),
        "ringing is relayed: crossbar did not answer the caller"
    );
    assert!(plays(&lab).is_empty(), "no menu");
    // The carrier gives up while 203 rings: cancelled, not abandoned.
    let cancel = format!(
        "CANCEL sip:{DID}@192.0.2.100:5060 SIP/2.0\r\n\
         Via: SIP/2.0/UDP 198.51.100.10:5060;branch=z9hG4bK-in1\r\nMax-Forwards: 70\r\n\
         From: <sip:+447700900123@198.51.100.10>;tag=c1\r\nTo: <sip:{DID}@192.0.2.100>\r\n\
         Call-ID: inbound-1@198.51.100.10\r\nCSeq: 1 CANCEL\r\nContent-Length: 0\r\n\r\n"
    );
    lab.send_text(peer(CARRIER), &cancel);
    lab.run_for(Duration::from_millis(10));
    let record = lab.machine.record();
    assert_eq!(record.disposition, Disposition::Cancelled);
    let closed = &record.path[1];
    assert_eq!(closed.kind, StepKind::TimeCondition);
    assert!(closed.result.contains("closed"), "{closed:?}");
}

#[test]
fn a_manual_override_closes_the_office_until_cleared() {
    let mut lab = lab();
    let carol = registered(&mut lab, "203", "192.0.2.13:5060");
    let mut control = crossbar_switch::InboundControl::default();
    control.overrides.insert("office-hours".to_owned(), false);
    lab.machine.switch.set_inbound_control(control);
    carrier_invite(&mut lab, DID, "+447700900123", 1);
    let invite = lab.request(carol.at, Method::Invite);
    assert_eq!(invite.method, Method::Invite, "closed: 203 rings at once");
    assert!(plays(&lab).is_empty());
    carol.reply(&mut lab, &invite, 486, None);
    lab.run_for(Duration::from_millis(10));
    assert_eq!(final_to_carrier(&mut lab).status, 486);
    assert_eq!(lab.machine.record().disposition, Disposition::Busy);
}

#[test]
fn a_hunt_group_rings_the_second_member_when_the_first_is_busy() {
    let mut lab = lab();
    let alice = registered(&mut lab, "201", "192.0.2.11:5060");
    let mut bob = registered(&mut lab, "202", "192.0.2.12:5060");
    in_menu(&mut lab);
    press(&mut lab, '1');
    lab.run_for(Duration::from_secs(3));
    let to_alice = lab.request(alice.at, Method::Invite);
    assert!(
        lab.requests(bob.at).is_empty(),
        "hunt: one member at a time"
    );
    alice.reply(&mut lab, &to_alice, 486, None);
    lab.run_for(Duration::from_millis(10));
    let to_bob = lab.request(bob.at, Method::Invite);
    bob.reply(
        &mut lab,
        &to_bob,
        200,
        Some(sdp("192.0.2.12", 40_000, "sendrecv")),
    );
    lab.run_for(Duration::from_millis(10));
    let mut dialog = bob.dialog_as_callee(&to_bob);
    bob.send_in_dialog(&mut lab, &mut dialog, Method::Bye, None);
    lab.run_for(Duration::from_millis(10));
    let record = lab.machine.record();
    assert_eq!(record.disposition, Disposition::Answered);
    let group: Vec<&str> = record
        .path
        .iter()
        .filter(|s| s.kind == StepKind::Group)
        .map(|s| s.result.as_str())
        .collect();
    assert_eq!(group, ["hunt: 201, 202", "answered by 202"], "{record:#?}");
}

#[test]
fn hanging_up_in_the_menu_is_abandoned_in_the_ivr() {
    let mut lab = lab();
    let mut dialog = in_menu(&mut lab);
    lab.run_for(Duration::from_secs(2));
    carrier_party().send_in_dialog(&mut lab, &mut dialog, Method::Bye, None);
    lab.run_for(Duration::from_millis(10));
    assert!(lab.statuses(peer(CARRIER)).contains(&200));
    let record = lab.machine.record();
    assert_eq!(record.disposition, Disposition::Abandoned);
    assert_eq!(record.abandoned_stage, Some(Stage::Ivr));
    assert_eq!(record.direction, Direction::Inbound);
}

#[test]
fn no_key_replays_the_menu_then_the_failure_destination_ends_the_call() {
    let mut lab = lab();
    in_menu(&mut lab);
    let id = relay(&lab);
    media_event(&mut lab, MediaEvent::PlayFinished { id });
    lab.run_for(Duration::from_secs(5));
    let played = plays(&lab);
    assert_eq!(played.len(), 2, "{played:?}");
    assert!(played[1].0[0].contains("timeout"), "{played:?}");
    assert!(played[1].0[1].contains("greeting"), "{played:?}");
    media_event(&mut lab, MediaEvent::PlayFinished { id });
    lab.run_for(Duration::from_secs(5));
    // Retries spent: on_failure = hangup, crossbar hangs up.
    let bye = lab.request(peer(CARRIER), Method::Bye);
    assert_eq!(bye.method, Method::Bye);
    let record = lab.machine.record();
    assert_ne!(record.disposition, Disposition::Answered);
    assert!(
        record
            .path
            .iter()
            .any(|s| s.kind == StepKind::Digit && s.result == "no choice → hangup"),
        "{:#?}",
        record.path
    );
}

#[test]
fn keys_sent_as_sip_info_choose_too() {
    let mut lab = lab();
    let carol = registered(&mut lab, "203", "192.0.2.13:5060");
    let mut dialog = in_menu(&mut lab);
    dialog.cseq += 1;
    let info = format!(
        "INFO {} SIP/2.0\r\nVia: SIP/2.0/UDP 198.51.100.10:5060;branch=z9hG4bK-info1\r\n\
         Max-Forwards: 70\r\nFrom: {}\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: {} INFO\r\n\
         Content-Type: application/dtmf-relay\r\nContent-Length: 24\r\n\r\nSignal=2\r\nDuration=160\r\n",
        dialog.target, dialog.local, dialog.remote, dialog.call_id, dialog.cseq
    );
    lab.send_text(peer(CARRIER), &info);
    lab.run_for(Duration::from_millis(10));
    let statuses = lab.statuses(peer(CARRIER));
    assert!(statuses.contains(&200), "{statuses:?} {info}");
    lab.run_for(Duration::from_secs(3));
    assert_eq!(lab.request(carol.at, Method::Invite).method, Method::Invite);
}

#[test]
fn an_unanswered_extension_escalates_to_its_no_answer_destination() {
    let mut lab = lab();
    let alice = registered(&mut lab, "201", "192.0.2.11:5060");
    let bob = registered(&mut lab, "202", "192.0.2.12:5060");
    carrier_invite(&mut lab, "+442079460201", "+447700900123", 1);
    let to_alice = lab.request(alice.at, Method::Invite);
    alice.reply(&mut lab, &to_alice, 180, None);
    lab.run_for(Duration::from_secs(10));
    assert!(
        lab.requests(alice.at)
            .iter()
            .any(|r| r.method == Method::Cancel),
        "201's ring time is over"
    );
    let to_bob = lab.request(bob.at, Method::Invite);
    bob.reply(
        &mut lab,
        &to_bob,
        200,
        Some(sdp("192.0.2.12", 40_000, "sendrecv")),
    );
    lab.run_for(Duration::from_millis(10));
    let ok = final_to_carrier(&mut lab);
    assert_eq!(
        ok.status, 200,
        "B2BUA: the phone's answer goes to the caller"
    );
    let escalation = lab
        .machine
        .kinds
        .iter()
        .any(|k| matches!(k, crossbar_cdr::EventKind::Step { kind: StepKind::Escalation, result, .. } if result == "no answer → ext:202"));
    assert!(escalation, "{:#?}", lab.machine.kinds);
}

#[test]
fn a_blocked_caller_is_refused_and_recorded_denied() {
    let mut lab = lab();
    carrier_invite(&mut lab, DID, "+449001234567", 1);
    assert_eq!(final_to_carrier(&mut lab).status, 403);
    let record = lab.machine.record();
    assert_eq!(record.disposition, Disposition::Denied);
    assert_eq!(record.direction, Direction::Inbound);

    // Blocked through the API (the database): refused too.
    let mut lab = lab_with_holidays("\"12-25\"");
    let mut control = crossbar_switch::InboundControl::default();
    control
        .blocked_callers
        .push(crossbar_config::NumberPattern::Exact(
            "+447700900999".into(),
        ));
    lab.machine.switch.set_inbound_control(control);
    carrier_invite(&mut lab, DID, "+447700900999", 2);
    assert_eq!(final_to_carrier(&mut lab).status, 403);
}

#[test]
fn an_unknown_did_gets_404_and_a_failed_record() {
    let mut lab = lab();
    carrier_invite(&mut lab, "+442079469999", "+447700900123", 1);
    assert_eq!(final_to_carrier(&mut lab).status, 404);
    let record = lab.machine.record();
    assert_eq!(record.disposition, Disposition::Failed);
}

#[test]
fn a_call_to_a_queue_nobody_is_logged_in_to_is_turned_away_unanswered() {
    let mut lab = lab();
    carrier_invite(&mut lab, "+442079460600", "+447700900123", 1);
    assert_eq!(
        final_to_carrier(&mut lab).status,
        480,
        "no agent logged in, no on_empty: unavailable, and never answered"
    );
    let record = lab.machine.record();
    assert_ne!(record.disposition, Disposition::Answered);
    assert_eq!(record.queues.len(), 1, "{record:#?}");
    assert_eq!(record.queues[0].queue, "support");
    assert_eq!(record.queues[0].outcome, crossbar_cdr::QueueOutcome::Empty);
    assert_eq!(record.queues[0].position, None, "turned away at the door");
}

#[test]
fn a_phone_dialling_the_menus_number_is_answered_by_the_menu_as_an_internal_call() {
    let mut lab = lab();
    let mut alice = registered(&mut lab, "201", "192.0.2.11:5060");
    let carol = registered(&mut lab, "203", "192.0.2.13:5060");
    alice.dial(&mut lab, "500", "");
    lab.run_for(Duration::from_millis(10));
    let ok = lab
        .responses(alice.at)
        .into_iter()
        .rfind(|r| r.status >= 200)
        .expect("a final response");
    assert_eq!(ok.status, 200, "crossbar answers for the menu");
    let dialog = Dialog::from_answer(&ok);
    alice.ack(&mut lab, &dialog, None);
    lab.run_for(Duration::from_millis(10));
    assert!(plays(&lab)[0].0[0].contains("greeting"));
    press(&mut lab, '2');
    lab.run_for(Duration::from_secs(3));
    let invite = lab.request(carol.at, Method::Invite);
    carol.reply(&mut lab, &invite, 486, None);
    lab.run_for(Duration::from_millis(10));
    // 203 busy, no escalation: crossbar hangs up on the caller it had answered.
    let bye = lab.request(alice.at, Method::Bye);
    assert_eq!(bye.method, Method::Bye);
    let record = lab.machine.record();
    assert_eq!(record.direction, Direction::Internal);
    assert_eq!(record.disposition, Disposition::Busy);
    assert!(record.inbound.is_none());
}

/// Answers `invite` at `phone`, then hangs up, so the call ends answered.
fn answer_and_hang_up(lab: &mut Lab<Pbx>, phone: &mut Phone, invite: &Request, port: u16) {
    phone.reply(lab, invite, 200, Some(sdp("192.0.2.50", port, "sendrecv")));
    lab.run_for(Duration::from_millis(10));
    let mut dialog = phone.dialog_as_callee(invite);
    phone.send_in_dialog(lab, &mut dialog, Method::Bye, None);
    lab.run_for(Duration::from_millis(10));
}

#[test]
fn a_round_robin_group_starts_after_the_member_rung_first_last_time_even_after_a_restart() {
    let mut lab = lab();
    let mut alice = registered(&mut lab, "201", "192.0.2.11:5060");
    let mut bob = registered(&mut lab, "202", "192.0.2.12:5060");
    carrier_invite(&mut lab, "+442079460400", "+447700900123", 1);
    let first = lab.request(alice.at, Method::Invite);
    assert!(
        lab.requests(bob.at).is_empty(),
        "one member at a time, 201 first"
    );
    answer_and_hang_up(&mut lab, &mut alice, &first, 41_000);
    assert_eq!(lab.machine.round_robin, [("rota".to_owned(), 1)]);

    carrier_invite(&mut lab, "+442079460400", "+447700900123", 2);
    let second = lab.request(bob.at, Method::Invite);
    assert!(
        lab.requests(alice.at)
            .iter()
            .all(|r| r.method != Method::Invite),
        "202's turn"
    );
    answer_and_hang_up(&mut lab, &mut bob, &second, 41_002);
    assert_eq!(
        lab.machine.round_robin.last(),
        Some(&("rota".to_owned(), 0))
    );

    // A restarted crossbar is told where the group stopped (the database keeps it).
    let mut lab = lab_with_holidays("\"12-25\"");
    lab.machine.switch.restore_round_robin("rota", 1);
    let alice = registered(&mut lab, "201", "192.0.2.11:5060");
    let bob = registered(&mut lab, "202", "192.0.2.12:5060");
    carrier_invite(&mut lab, "+442079460400", "+447700900123", 3);
    assert_eq!(lab.request(bob.at, Method::Invite).method, Method::Invite);
    assert!(lab.requests(alice.at).is_empty());
}

#[test]
fn an_outside_member_is_rung_through_the_outgoing_routes_showing_the_inbound_caller() {
    let mut lab = lab();
    lab.attach(
        crossbar_testkit::Carrier::new("198.51.100.20:5060")
            .with_calls([crossbar_testkit::carrier::Script::answer()]),
    );
    carrier_invite(&mut lab, "+442079460500", "+447700900123", 1);
    lab.run_for(Duration::from_secs(2));
    let invites = lab
        .carrier(peer("198.51.100.20:5060"))
        .requests(&Method::Invite);
    assert_eq!(invites.len(), 1, "{:#?}", lab.machine.kinds);
    let invite = invites[0];
    assert!(
        invite.uri.to_string().contains("+447400123456"),
        "{}",
        invite.uri
    );
    let from = invite.headers.from().expect("From");
    assert!(
        from.uri.to_string().contains("+447700900123"),
        "present_caller: the inbound caller's number, not the route's: {from:?}"
    );
    let ok = final_to_carrier(&mut lab);
    assert_eq!(ok.status, 200, "the outside member answered");
    let record = lab.machine.records.first().cloned();
    assert!(record.is_none(), "still up");
}

#[test]
fn a_call_on_crossbars_registration_is_the_carriers_from_any_port_and_reads_the_did_from_to() {
    let mut lab = lab();
    let carol = registered(&mut lab, "203", "192.0.2.13:5060");
    let mut control = crossbar_switch::InboundControl::default();
    control.overrides.insert("office-hours".to_owned(), false);
    lab.machine.switch.set_inbound_control(control);
    let from = peer("198.51.100.30:5999");
    let invite = |user: &str, call: u32| {
        let body = sdp("198.51.100.30", 30_000, "sendrecv");
        format!(
            "INVITE sip:{user}@192.0.2.100:5060 SIP/2.0\r\n\
             Via: SIP/2.0/UDP 198.51.100.30:5999;branch=z9hG4bK-reg{call}\r\n\
             Max-Forwards: 70\r\nFrom: <sip:+447700900123@198.51.100.30>;tag=r{call}\r\n\
             To: <sip:{DID}@192.0.2.100>\r\nCall-ID: reg-{call}@198.51.100.30\r\n\
             CSeq: 1 INVITE\r\nContact: <sip:gw@198.51.100.30:5999>\r\n\
             Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
    };
    lab.send_text(from, &invite("pbx-reg", 1));
    lab.run_for(Duration::from_millis(10));
    assert_eq!(
        lab.request(carol.at, Method::Invite).method,
        Method::Invite,
        "closed: the call on the registration rings 203"
    );
    // The same address for another user is not a call on the registration: a challenge.
    lab.send_text(from, &invite("201", 2));
    lab.run_for(Duration::from_millis(10));
    assert!(lab.statuses(from).contains(&407));
}
