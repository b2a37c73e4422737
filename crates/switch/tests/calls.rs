//! Calls through the switch on a virtual clock: scripted phones (`crossbar-testkit`) exchange
//! real SIP text with it, and the call events are folded into records by the real recorder,
//! so each test states the disposition a user would see (DESIGN.md §1).

mod pbx;

use std::time::Duration;

use crossbar_cdr::record::Disposition;
use crossbar_cdr::{EventKind, HangupSide};
use crossbar_media::MediaCommand;
use crossbar_sip::{HeaderName, Message, Method, Request, Response};
use crossbar_testkit::sdp::text;
use crossbar_testkit::{Clock, Dialog, Lab, Phone, sdp};
use pbx::{Pbx, RING};

fn lab() -> Lab<Pbx> {
    let clock = Clock::new();
    Lab::with_clock(clock, Pbx::new(clock.wall()))
}

/// Extension `number`'s phone at `at`, calling as "Caller {number}".
fn phone(number: &str, at: &str) -> Phone {
    Phone::new(number, &format!("secret-{number}"), at, "192.0.2.100")
        .with_display(&format!("Caller {number}"))
}

fn register(lab: &mut Lab<Pbx>, phone: &mut Phone) {
    let ok = phone.register(lab);
    assert_eq!(ok.status, 200, "{ok}");
}

/// Alice (201) calling Bob (202), who is registered.
struct Call {
    lab: Lab<Pbx>,
    alice: Phone,
    bob: Phone,
    /// Alice's INVITE, as she sent it.
    placed: Request,
    /// The INVITE Bob's phone got.
    invite: Request,
}

/// Alice (201) calls Bob (202), who is registered; Bob's phone rings.
fn ringing_call() -> Call {
    let mut lab = lab();
    let (mut alice, mut bob) = (
        phone("201", "192.0.2.1:5060"),
        phone("202", "192.0.2.2:5060"),
    );
    register(&mut lab, &mut bob);
    let placed = alice.dial(&mut lab, "202", "");
    let invite = lab
        .requests(bob.at)
        .pop()
        .expect("Bob's phone gets an INVITE");
    assert_eq!(invite.method, Method::Invite);
    Call {
        lab,
        alice,
        bob,
        placed,
        invite,
    }
}

/// The call of `ringing_call` answered by Bob after 3 s of ringing, with Alice's ACK sent;
/// returns the 200 Alice got and her dialog.
fn answered_call() -> (Call, Response, Dialog) {
    let mut c = ringing_call();
    c.bob.reply(&mut c.lab, &c.invite, 180, None);
    c.lab.run_for(Duration::from_secs(3));
    c.bob.reply(
        &mut c.lab,
        &c.invite,
        200,
        Some(sdp("192.0.2.2", 5000, "sendrecv")),
    );
    let ok = c
        .lab
        .responses(c.alice.at)
        .into_iter()
        .find(|r| r.status == 200)
        .expect("Alice gets the 200");
    let dialog = Dialog::from_answer(&ok);
    c.alice.ack(&mut c.lab, &dialog, None);
    (c, ok, dialog)
}

fn has(requests: &[Request], method: Method) -> bool {
    requests.iter().any(|r| r.method == method)
}

#[test]
fn the_callee_gets_an_invite_with_the_relay_sdp_and_the_callers_codecs() {
    let c = ringing_call();
    let body = text(&c.invite.body);
    assert!(body.contains("c=IN IP4 192.0.2.100"), "{body}");
    assert!(
        !body.contains("192.0.2.1\r\n"),
        "the caller's address is hidden: {body}"
    );
    assert!(
        body.contains("m=audio 2000"),
        "a relay port from the range: {body}"
    );
    assert!(
        body.contains("a=rtpmap:0 PCMU/8000") && body.contains("a=rtpmap:101 telephone-event/8000")
    );
    assert!(body.contains("a=fmtp:101 0-15"));
    assert!(
        matches!(c.lab.machine.media.first(), Some(MediaCommand::Open(plan)) if plan.a.remote_rtp == Some("192.0.2.1:4000".parse().expect("addr")))
    );
    let from = c.invite.headers.from().expect("From");
    assert!(
        from.display
            .as_deref()
            .is_some_and(|d| d.contains("Caller 201")),
        "{from:?}"
    );
    assert_eq!(
        from.uri.to_string(),
        "sip:201@192.0.2.100:5060",
        "the caller's extension"
    );
}

#[test]
fn an_answered_call_relays_ringing_answer_and_bye_and_is_recorded_answered() {
    let (mut c, ok, mut dialog) = answered_call();
    let body = text(&ok.body);
    assert!(
        body.contains("c=IN IP4 192.0.2.100"),
        "Alice sees the relay: {body}"
    );
    // Bob got the ACK for his 200.
    assert!(has(&c.lab.requests(c.bob.at), Method::Ack));
    assert!(c.lab.machine.media.iter().any(
        |m| matches!(m, MediaCommand::SetRemote { rtp: Some(addr), .. } if addr.port() == 5000)
    ));

    c.lab.run_for(Duration::from_secs(42));
    c.alice
        .send_in_dialog(&mut c.lab, &mut dialog, Method::Bye, None);
    assert_eq!(c.lab.statuses(c.alice.at), [200]);
    let bye = c.lab.requests(c.bob.at).pop().expect("Bob gets a BYE");
    assert_eq!(bye.method, Method::Bye);
    c.bob.reply(&mut c.lab, &bye, 200, None);

    let record = c.lab.machine.record();
    assert_eq!(record.disposition, Disposition::Answered);
    assert_eq!(record.hangup_by, HangupSide::Caller);
    assert_eq!(record.timings.talk_secs, 42);
    assert_eq!(record.timings.wait_secs, Some(3));
    assert_eq!(record.answered_by.as_deref(), Some("202"));
    assert!(
        c.lab
            .machine
            .media
            .iter()
            .any(|m| matches!(m, MediaCommand::Close { .. }))
    );
}

#[test]
fn the_callee_hanging_up_is_recorded_as_the_callee_hanging_up() {
    let (mut c, _ok, _dialog) = answered_call();
    let mut dialog = c.bob.dialog_as_callee(&c.invite);
    c.bob
        .send_in_dialog(&mut c.lab, &mut dialog, Method::Bye, None);
    assert_eq!(c.lab.statuses(c.bob.at), [200]);
    assert!(has(&c.lab.requests(c.alice.at), Method::Bye));
    assert_eq!(c.lab.machine.record().hangup_by, HangupSide::Callee);
    assert_eq!(c.lab.machine.record().disposition, Disposition::Answered);
}

#[test]
fn busy_is_relayed_and_recorded_busy() {
    let mut c = ringing_call();
    c.bob.reply(&mut c.lab, &c.invite, 486, None);
    assert!(c.lab.statuses(c.alice.at).contains(&486));
    assert_eq!(c.lab.machine.record().disposition, Disposition::Busy);
    assert_eq!(c.lab.machine.record().sip_status, Some(486));
}

#[test]
fn a_decline_is_recorded_rejected() {
    let mut c = ringing_call();
    c.bob.reply(&mut c.lab, &c.invite, 603, None);
    assert!(c.lab.statuses(c.alice.at).contains(&603));
    assert_eq!(c.lab.machine.record().disposition, Disposition::Rejected);
}

#[test]
fn ringing_past_the_ring_timeout_cancels_the_callee_and_is_recorded_no_answer() {
    let mut c = ringing_call();
    c.bob.reply(&mut c.lab, &c.invite, 180, None);
    assert!(c.lab.statuses(c.alice.at).contains(&180));
    c.lab.run_for(RING + Duration::from_secs(1));
    let cancel = c.lab.request(c.bob.at, Method::Cancel);
    c.bob.reply(&mut c.lab, &cancel, 200, None);
    c.bob.reply(&mut c.lab, &c.invite, 487, None);
    assert!(c.lab.statuses(c.alice.at).contains(&480));
    let record = c.lab.machine.record();
    assert_eq!(record.disposition, Disposition::NoAnswer);
    assert_eq!(
        record.timings.ring_secs, 20,
        "rang from the 180 to the timeout"
    );
}

#[test]
fn the_caller_cancelling_while_ringing_is_recorded_cancelled() {
    let mut c = ringing_call();
    c.bob.reply(&mut c.lab, &c.invite, 180, None);
    c.lab.run_for(Duration::from_secs(5));
    c.alice.cancel(&mut c.lab, &c.placed);
    let statuses = c.lab.statuses(c.alice.at);
    assert!(
        statuses.contains(&200) && statuses.contains(&487),
        "{statuses:?}"
    );
    let cancel = c.lab.request(c.bob.at, Method::Cancel);
    c.bob.reply(&mut c.lab, &cancel, 200, None);
    c.bob.reply(&mut c.lab, &c.invite, 487, None);
    let record = c.lab.machine.record();
    assert_eq!(record.disposition, Disposition::Cancelled);
    assert_eq!(record.hangup_by, HangupSide::Caller);
}

#[test]
fn a_200_crossing_the_callers_cancel_is_acked_and_hung_up() {
    let mut c = ringing_call();
    c.bob.reply(&mut c.lab, &c.invite, 180, None);
    c.alice.cancel(&mut c.lab, &c.placed);
    let _cancel = c.lab.requests(c.bob.at);
    let to_cancel = c.lab.statuses(c.alice.at);
    assert!(
        to_cancel.contains(&200) && to_cancel.contains(&487),
        "{to_cancel:?}"
    );
    // Bob answered before his phone saw the CANCEL.
    c.bob.reply(
        &mut c.lab,
        &c.invite,
        200,
        Some(sdp("192.0.2.2", 5000, "sendrecv")),
    );
    let to_bob = c.lab.requests(c.bob.at);
    assert!(has(&to_bob, Method::Ack), "{to_bob:?}");
    assert!(has(&to_bob, Method::Bye), "{to_bob:?}");
    assert!(
        c.lab.responses(c.alice.at).is_empty(),
        "Alice never gets the late answer"
    );
    assert_eq!(c.lab.machine.record().disposition, Disposition::Cancelled);
}

#[test]
fn a_number_that_is_no_extension_gets_404_and_is_recorded_failed() {
    let mut lab = lab();
    let mut alice = phone("201", "192.0.2.1:5060");
    alice.dial(&mut lab, "999", "");
    assert!(lab.statuses(alice.at).contains(&404));
    assert_eq!(lab.machine.record().disposition, Disposition::Failed);
}

#[test]
fn an_unregistered_extension_gets_480_and_is_recorded_no_answer() {
    let mut lab = lab();
    let mut alice = phone("201", "192.0.2.1:5060");
    alice.dial(&mut lab, "203", "");
    assert!(lab.statuses(alice.at).contains(&480));
    assert_eq!(lab.machine.record().disposition, Disposition::NoAnswer);
}

#[test]
fn every_registered_contact_rings_and_the_others_are_cancelled_when_one_answers() {
    let mut lab = lab();
    let mut alice = phone("201", "192.0.2.1:5060");
    let mut desk = phone("202", "192.0.2.2:5060");
    let mut mobile = phone("202", "192.0.2.3:5060");
    register(&mut lab, &mut desk);
    register(&mut lab, &mut mobile);
    alice.dial(&mut lab, "202", "");
    let desk_invite = lab.requests(desk.at).pop().expect("desk rings");
    let mobile_invite = lab.requests(mobile.at).pop().expect("mobile rings");
    mobile.reply(&mut lab, &mobile_invite, 180, None);
    desk.reply(
        &mut lab,
        &desk_invite,
        200,
        Some(sdp("192.0.2.2", 5000, "sendrecv")),
    );
    assert!(
        has(&lab.requests(mobile.at), Method::Cancel),
        "the mobile leg is cancelled"
    );
    assert!(lab.statuses(alice.at).contains(&200));
}

#[test]
fn hold_and_resume_are_relayed_and_recorded() {
    let (mut c, _ok, mut dialog) = answered_call();
    c.lab.run_for(Duration::from_secs(10));
    let hold = Some(sdp("192.0.2.1", 4000, "sendonly"));
    c.alice
        .send_in_dialog(&mut c.lab, &mut dialog, Method::Invite, hold);
    let reinvite = c.lab.request(c.bob.at, Method::Invite);
    assert!(text(&reinvite.body).contains("a=sendonly"));
    c.bob.reply(
        &mut c.lab,
        &reinvite,
        200,
        Some(sdp("192.0.2.2", 5000, "recvonly")),
    );
    assert!(c.lab.statuses(c.alice.at).contains(&200));
    assert!(
        c.lab
            .machine
            .media
            .iter()
            .any(|m| matches!(m, MediaCommand::SetHold { on_hold: true, .. }))
    );

    c.lab.run_for(Duration::from_secs(15));
    let resume = Some(sdp("192.0.2.1", 4000, "sendrecv"));
    c.alice
        .send_in_dialog(&mut c.lab, &mut dialog, Method::Invite, resume);
    let resume = c.lab.request(c.bob.at, Method::Invite);
    c.bob.reply(
        &mut c.lab,
        &resume,
        200,
        Some(sdp("192.0.2.2", 5000, "sendrecv")),
    );
    c.lab.run_for(Duration::from_secs(5));
    c.alice
        .send_in_dialog(&mut c.lab, &mut dialog, Method::Bye, None);
    let record = c.lab.machine.record();
    assert_eq!(record.disposition, Disposition::Answered);
    assert_eq!(record.timings.hold_secs, 15);
    assert!(
        c.lab
            .machine
            .kinds
            .iter()
            .any(|k| matches!(k, EventKind::Hold { .. }))
    );
    assert!(
        c.lab
            .machine
            .kinds
            .iter()
            .any(|k| matches!(k, EventKind::Resume { .. }))
    );
}

#[test]
fn an_extension_at_its_call_limit_is_busy_for_new_calls() {
    let mut lab = lab();
    let mut alice = phone("201", "192.0.2.1:5060");
    let mut bob = phone("202", "192.0.2.2:5060");
    let mut carol = phone("203", "192.0.2.3:5060");
    register(&mut lab, &mut bob);
    alice.dial(&mut lab, "202", "");
    carol.dial(&mut lab, "202", "");
    alice.dial(&mut lab, "202", "");
    // Bob is in two calls (the limit): the third caller hears busy.
    assert!(lab.statuses(alice.at).contains(&486));
    assert!(
        lab.machine
            .records
            .iter()
            .any(|r| r.disposition == Disposition::Busy)
    );
}

#[test]
fn a_session_interval_below_min_se_gets_422() {
    let mut lab = lab();
    let mut alice = phone("201", "192.0.2.1:5060");
    let mut bob = phone("202", "192.0.2.2:5060");
    register(&mut lab, &mut bob);
    alice.dial(
        &mut lab,
        "202",
        "Session-Expires: 30\r\nSupported: timer\r\n",
    );
    let responses = lab.responses(alice.at);
    let refused = responses.iter().find(|r| r.status == 422).expect("422");
    assert_eq!(refused.headers.get(&HeaderName::MinSe), Some("90"));
}

#[test]
fn a_call_whose_session_is_never_refreshed_is_ended_after_the_interval() {
    let mut lab = lab();
    let mut alice = phone("201", "192.0.2.1:5060");
    let mut bob = phone("202", "192.0.2.2:5060");
    register(&mut lab, &mut bob);
    alice.dial(
        &mut lab,
        "202",
        "Session-Expires: 120;refresher=uac\r\nSupported: timer\r\n",
    );
    let invite = lab.requests(bob.at).pop().expect("INVITE");
    assert_eq!(
        invite.headers.get(&HeaderName::SessionExpires),
        Some("120;refresher=uac")
    );
    let mut ok = bob.response(&invite, 200, Some(sdp("192.0.2.2", 5000, "sendrecv")));
    ok.headers
        .push(HeaderName::SessionExpires, "120;refresher=uac");
    lab.send(bob.at, &Message::Response(ok));
    let answer = lab
        .responses(alice.at)
        .into_iter()
        .find(|r| r.status == 200)
        .expect("200");
    assert_eq!(
        answer.headers.get(&HeaderName::SessionExpires),
        Some("120;refresher=uac")
    );
    lab.run_for(Duration::from_secs(121));
    assert!(has(&lab.requests(bob.at), Method::Bye));
    assert!(has(&lab.requests(alice.at), Method::Bye));
    assert_eq!(lab.machine.record().disposition, Disposition::Answered);
}

#[test]
fn media_inactivity_ends_an_answered_call_with_bye_to_both_sides() {
    let (mut c, _ok, _dialog) = answered_call();
    let relay = c
        .lab
        .machine
        .media
        .iter()
        .find_map(|m| match m {
            MediaCommand::Open(plan) => Some(plan.id),
            _ => None,
        })
        .expect("a relay");
    let (now, wall) = (c.lab.clock.now(), c.lab.clock.wall());
    c.lab.machine.switch.handle_media_event(
        now,
        wall,
        crossbar_media::MediaEvent::Inactive {
            id: relay,
            idle_secs: 30,
        },
    );
    c.lab.pump();
    assert!(has(&c.lab.requests(c.bob.at), Method::Bye));
    assert!(has(&c.lab.requests(c.alice.at), Method::Bye));
    assert_eq!(c.lab.machine.record().hangup_by, HangupSide::System);
}

#[test]
fn shutting_down_ends_calls_with_bye_and_records_them_interrupted() {
    let (mut c, _ok, _dialog) = answered_call();
    let (now, wall) = (c.lab.clock.now(), c.lab.clock.wall());
    c.lab.machine.switch.shut_down(now, wall);
    c.lab.pump();
    assert!(has(&c.lab.requests(c.bob.at), Method::Bye));
    assert!(has(&c.lab.requests(c.alice.at), Method::Bye));
    let record = c.lab.machine.record();
    assert!(record.interrupted);
    assert_eq!(record.disposition, Disposition::Answered);
}

#[test]
fn a_late_offer_is_answered_in_the_callers_ack_and_carried_to_the_callee() {
    let mut lab = lab();
    let mut alice = phone("201", "192.0.2.1:5060").with_late_offer();
    let mut bob = phone("202", "192.0.2.2:5060");
    register(&mut lab, &mut bob);
    alice.dial(&mut lab, "202", "");
    let invite = lab.requests(bob.at).pop().expect("INVITE");
    assert!(invite.body.is_empty(), "no offer to pass on");
    bob.reply(
        &mut lab,
        &invite,
        200,
        Some(sdp("192.0.2.2", 5000, "sendrecv")),
    );
    assert!(
        !has(&lab.requests(bob.at), Method::Ack),
        "Bob's ACK waits for Alice's answer"
    );
    let ok = lab
        .responses(alice.at)
        .into_iter()
        .find(|r| r.status == 200)
        .expect("200");
    assert!(
        text(&ok.body).contains("c=IN IP4 192.0.2.100"),
        "Bob's offer, relayed"
    );
    let dialog = Dialog::from_answer(&ok);
    alice.ack(&mut lab, &dialog, Some(sdp("192.0.2.1", 4000, "sendrecv")));
    let ack = lab.request(bob.at, Method::Ack);
    let answer = text(&ack.body);
    assert!(
        answer.contains("c=IN IP4 192.0.2.100") && answer.contains("m=audio 2000"),
        "{answer}"
    );
    assert!(lab.machine.media.iter().any(
        |m| matches!(m, MediaCommand::SetRemote { rtp: Some(addr), .. } if addr.port() == 4000)
    ));
}
