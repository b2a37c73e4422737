//! Callbacks on a virtual clock: crossbar originates a call — it rings the agent's phone
//! first (showing whom the agent will speak to), plays ringback to the agent once they answer,
//! dials the customer through the outgoing routes (the agent's class of service, least cost,
//! failover) presenting the DID, and bridges the two when the customer answers. Each test
//! states what the agent's phone, the scripted carriers, the media commands, the call record
//! and the agent event log see. The last tests are a queue's virtual hold: a caller takes
//! "press 1 to be called back", hangs up, and is called back when their turn comes.
//!
//! The clock's wall time starts on Friday 2027-01-15 at 08:00 UTC (08:00 in London).

mod pbx;

use crossbar_cdr::record::{CallRecord, Disposition};
use crossbar_cdr::{CallId, DestinationClass, Direction, EventKind, LegRole, Money, QueueOutcome};
use crossbar_media::{MediaCommand, MediaEvent, RelayId, Side as RelaySide};
use crossbar_sip::{HeaderName, Method, Request, Response, Uri};
use crossbar_switch::{AgentActivity, CallbackRequest, HeldChange, HeldPlace, OriginateError};
use crossbar_testkit::carrier::Script;
use crossbar_testkit::sdp::sdp;
use crossbar_testkit::{Carrier, Dialog, Lab, Phone, peer};
use pbx::Pbx;
use pbx::agents::{activities, answers, invites, media_event, ms, phone, relays, rings, secs};

/// Where calls come in from (a test-driven carrier) and where they go out (scripted ones).
const INCOMING: &str = "198.51.100.30:5060";
const CARRIER_A: &str = "198.51.100.10:5060";
const CARRIER_B: &str = "198.51.100.20:5060";

const SUPPORT: &str = "+442079460600";
const CUSTOMER: &str = "+447400123456";

/// A London site: 201 and 202 may call nationally (201 presents its own number), outgoing
/// calls take carrier A (the cheaper) then carrier B; the support DID comes in through the
/// incoming trunk to queue `support` (201 alone; a callback offered after 30 s, 15 s per
/// offer, 5 s before a retry, 10 s of wrap-up).
const SITE: &str = r#"
[site]
country = "GB"
timezone = "Europe/London"
currency = "GBP"

[[extension]]
number = "201"
secret = "secret-201"
class = "national"
external_number = "+442079460001"

[[extension]]
number = "202"
secret = "secret-202"
class = "national"

[[class]]
name = "national"
allow = ["emergency", "internal", "local", "national", "mobile", "toll_free"]

[[trunk]]
name = "carrier-a"
address = "198.51.100.10:5060"
options_interval_secs = 0
asserted_identity = true

[[trunk]]
name = "carrier-b"
address = "198.51.100.20:5060"
options_interval_secs = 0

[[trunk]]
name = "incoming"
address = "198.51.100.30:5060"
options_interval_secs = 0

[[rate]]
trunk = "carrier-a"
prefix = "+44"
per_minute = 0.010

[[rate]]
trunk = "carrier-b"
prefix = "+44"
per_minute = 0.020

[[outbound_route]]
name = "all"
strategy = "least_cost"
trunks = ["carrier-a", "carrier-b"]
caller_id = "+442079460999"

[[inbound_route]]
name = "support"
dids = ["+442079460600"]
destination = "queue:support"

[[queue]]
name = "support"
members = ["201"]
agent_ring_secs = 15
retry_secs = 5
wrap_up_secs = 10
callback_offer_after_secs = 30

[prompts]
dir = "prompts"
"#;

/// The site with carriers A and B answering their calls with `a` and `b`.
fn lab(a: impl IntoIterator<Item = Script>, b: impl IntoIterator<Item = Script>) -> Lab<Pbx> {
    let mut lab = pbx::lab_with(SITE);
    lab.attach(Carrier::new(CARRIER_A).with_calls(a));
    lab.attach(Carrier::new(CARRIER_B).with_calls(b));
    lab
}

/// A callback of the customer by 201 for task 42, presenting the support DID.
fn request() -> CallbackRequest {
    CallbackRequest {
        agent: "201".to_owned(),
        customer: CUSTOMER.to_owned(),
        did: Some(SUPPORT.to_owned()),
        task: 42,
        queue: None,
    }
}

/// 202, not an agent of the queue, calling the held customer back by hand (task 7).
fn by_hand() -> CallbackRequest {
    CallbackRequest {
        agent: "202".to_owned(),
        customer: "+447400123001".to_owned(),
        task: 7,
        ..request()
    }
}

fn originate(lab: &mut Lab<Pbx>, request: CallbackRequest) -> Result<CallId, OriginateError> {
    let (now, wall) = (lab.clock.now(), lab.clock.wall());
    let result = lab.machine.switch.originate_callback(now, wall, request);
    lab.run_for(ms(10));
    result
}

/// The INVITEs carrier `at` got.
fn carrier_invites(lab: &Lab<Pbx>, at: &str) -> Vec<Request> {
    lab.carrier(peer(at))
        .requests(&Method::Invite)
        .into_iter()
        .cloned()
        .collect()
}

fn carrier_got(lab: &Lab<Pbx>, at: &str, method: Method) -> usize {
    lab.carrier(peer(at)).requests(&method).len()
}

/// The user part of a URI.
fn user(uri: &Uri) -> String {
    match uri {
        Uri::Sip(uri) => uri.user.clone().unwrap_or_default(),
        other => other.to_string(),
    }
}

/// The prompts `relay` was told to play (their file names; `ringback`), with repeat.
fn plays(lab: &Lab<Pbx>, relay: RelayId) -> Vec<(Vec<String>, bool)> {
    lab.machine
        .media
        .iter()
        .filter_map(|c| match c {
            MediaCommand::Play {
                id,
                prompts,
                repeat,
                ..
            } if *id == relay => Some((
                prompts
                    .iter()
                    .map(|p| {
                        if p.name.starts_with("ringback/") {
                            "ringback".to_owned()
                        } else {
                            p.name.rsplit('/').next().unwrap_or_default().to_owned()
                        }
                    })
                    .collect(),
                *repeat,
            )),
            _ => None,
        })
        .collect()
}

fn bridged(lab: &Lab<Pbx>, relay: RelayId) -> bool {
    lab.machine
        .media
        .iter()
        .any(|c| matches!(c, MediaCommand::Bridge { id } if *id == relay))
}

/// The record of call `id`.
fn record<'l>(lab: &'l Lab<Pbx>, id: &CallId) -> &'l CallRecord {
    lab.machine
        .records
        .iter()
        .find(|r| r.id == *id)
        .unwrap_or_else(|| panic!("no record of {id}: {:#?}", lab.machine.records))
}

/// The record of the call from `caller` to `callee`.
fn record_between<'l>(lab: &'l Lab<Pbx>, caller: &str, callee: &str) -> &'l CallRecord {
    lab.machine
        .records
        .iter()
        .find(|r| r.caller.number == caller && r.callee.number == callee)
        .unwrap_or_else(|| panic!("no record {caller} → {callee}: {:#?}", lab.machine.records))
}

#[test]
fn a_callback_rings_the_agent_then_dials_the_customer_from_the_did_and_bridges_them() {
    let mut lab = lab(
        [Script::new()
            .respond(100)
            .respond(180)
            .wait(secs(3))
            .respond_with_sdp(200)],
        [],
    );
    let mut alice = phone(&mut lab, "201");
    let id = originate(&mut lab, request()).expect("the callback starts");

    // The agent's phone rings first, showing whom the agent will speak to; crossbar offers.
    let invite = rings(&mut lab, &alice);
    let from = invite.headers.from().expect("From");
    assert_eq!(from.display.as_deref(), Some("Callback +447400123456"));
    assert_eq!(user(&from.uri), CUSTOMER);
    assert_eq!(user(&invite.uri), "201");
    let offer = String::from_utf8_lossy(&invite.body).into_owned();
    assert!(offer.contains("m=audio "), "crossbar's SDP offer: {offer}");
    assert!(offer.contains("c=IN IP4 192.0.2.100"), "{offer}");
    let relay = relays(&lab)[0];
    lab.run_for(secs(5));
    assert!(
        carrier_invites(&lab, CARRIER_A).is_empty(),
        "nothing is dialled before the agent answers"
    );

    // The agent answers: ACKed, its SDP settles side A, ringback, the customer is dialled.
    let mut agent_dialog = answers(&mut lab, &alice, &invite, 40_000);
    assert!(
        lab.requests(alice.at)
            .iter()
            .any(|r| r.method == Method::Ack),
        "the agent's 200 is ACKed"
    );
    assert!(lab.machine.media.iter().any(|c| matches!(
        c,
        MediaCommand::SetRemote { id, side: RelaySide::A, rtp: Some(rtp), .. }
            if *id == relay && rtp.to_string() == "192.0.2.11:40000"
    )));
    assert_eq!(
        plays(&lab, relay),
        [(vec!["ringback".to_owned()], true)],
        "the agent hears ringback"
    );
    let sent = carrier_invites(&lab, CARRIER_A);
    let [to_customer] = sent.as_slice() else {
        panic!("one INVITE to carrier A: {sent:?}")
    };
    assert_eq!(user(&to_customer.uri), CUSTOMER);
    let from = to_customer.headers.from().expect("From");
    assert_eq!(
        user(&from.uri),
        SUPPORT,
        "the DID, not 201's number nor the route's"
    );
    assert_eq!(
        to_customer.headers.get(&HeaderName::PAssertedIdentity),
        Some("<sip:+442079460600@198.51.100.10:5060>"),
        "the trunk's own presentation rules still apply"
    );
    assert!(carrier_invites(&lab, CARRIER_B).is_empty(), "B is dearer");
    assert!(!bridged(&lab, relay), "not before the customer answers");

    // The customer answers 3 s later: bridged, and the agent is not re-INVITEd.
    lab.run_for(secs(3));
    assert!(bridged(&lab, relay));
    assert!(
        invites(&mut lab, &alice).is_empty(),
        "the agent is not re-INVITEd"
    );
    lab.run_for(secs(59));
    alice.send_in_dialog(&mut lab, &mut agent_dialog, Method::Bye, None);
    lab.run_for(ms(10));
    assert_eq!(
        carrier_got(&lab, CARRIER_A, Method::Bye),
        1,
        "the agent's BYE ends the customer's side"
    );

    let record = record(&lab, &id);
    assert_eq!(record.direction, Direction::Outbound);
    assert_eq!(record.caller.number, "201");
    assert_eq!(record.callee.number, CUSTOMER);
    assert_eq!(record.disposition, Disposition::Answered);
    assert_eq!(record.callback_task, Some(42));
    assert_eq!(record.answered_by.as_deref(), Some(CUSTOMER));
    assert_eq!(
        record.timings.wait_secs,
        Some(8),
        "5 s of agent, 3 of customer"
    );
    assert_eq!(record.timings.ring_secs, 3, "the customer's ringing");
    assert_eq!(record.timings.talk_secs, 59);
    let out = record.outbound.as_ref().expect("the outbound part");
    assert_eq!(out.normalized, CUSTOMER);
    assert_eq!(out.class, DestinationClass::Mobile);
    assert_eq!(out.route.as_deref(), Some("all"));
    assert_eq!(out.caller_id.as_deref(), Some(SUPPORT));
    assert_eq!(out.trunk.as_deref(), Some("carrier-a"));
    assert_eq!(out.attempts, 1);
    assert_eq!(out.cost, "0.01".parse::<Money>().expect("amount"));
    let agent = &record.legs[0];
    assert_eq!(
        (agent.role, agent.target.as_str()),
        (LegRole::Caller, "201")
    );
    assert_eq!(
        agent.answered_at_ms.map(|at| at - record.started_at_ms),
        Some(5_020),
        "the agent's answer is on its leg"
    );
    assert!(
        record
            .timeline
            .iter()
            .any(|e| matches!(&e.kind, EventKind::Callback { task: Some(42), .. }))
    );
}

#[test]
fn the_customer_hanging_up_ends_the_agents_side() {
    let mut lab = lab([Script::answer()], []);
    let alice = phone(&mut lab, "201");
    let id = originate(&mut lab, request()).expect("the callback starts");
    let invite = rings(&mut lab, &alice);
    answers(&mut lab, &alice, &invite, 40_000);
    lab.run_for(secs(30));
    let to_customer = carrier_invites(&lab, CARRIER_A).remove(0);
    let mut customer = Phone::new("customer", "-", CARRIER_A, "192.0.2.100");
    let mut dialog = Dialog::from_invite(&to_customer, "carrier");
    customer.send_in_dialog(&mut lab, &mut dialog, Method::Bye, None);
    lab.run_for(ms(10));
    let bye = lab.request(alice.at, Method::Bye);
    assert_eq!(bye.method, Method::Bye, "the agent is hung up");
    let record = record(&lab, &id);
    assert_eq!(record.disposition, Disposition::Answered);
    assert_eq!(record.timings.talk_secs, 30);
}

#[test]
fn an_agent_who_hangs_up_while_the_customer_rings_cancels_the_call() {
    let mut lab = lab([Script::new().respond(100).respond(180)], []);
    let mut alice = phone(&mut lab, "201");
    let id = originate(&mut lab, request()).expect("the callback starts");
    let invite = rings(&mut lab, &alice);
    let mut dialog = answers(&mut lab, &alice, &invite, 40_000);
    lab.requests(alice.at);
    lab.run_for(secs(4));

    // A session refresh while crossbar serves the agent gets crossbar's SDP back.
    let body = sdp("192.0.2.11", 40_000, "sendrecv");
    alice.send_in_dialog(&mut lab, &mut dialog, Method::Invite, Some(body));
    lab.run_for(ms(10));
    let ok = lab
        .responses(alice.at)
        .into_iter()
        .find(|r| r.status >= 200)
        .expect("the re-INVITE is answered");
    assert_eq!(ok.status, 200);
    assert!(
        String::from_utf8_lossy(&ok.body).contains("c=IN IP4 192.0.2.100"),
        "{ok}"
    );
    alice.ack(&mut lab, &dialog, None);

    alice.send_in_dialog(&mut lab, &mut dialog, Method::Bye, None);
    lab.run_for(ms(10));
    assert_eq!(
        carrier_got(&lab, CARRIER_A, Method::Cancel),
        1,
        "the customer's ringing is cancelled"
    );
    let record = record(&lab, &id);
    assert_eq!(record.disposition, Disposition::Cancelled);
    assert_eq!(record.timings.ring_secs, 4);
    assert_eq!(record.answered_at_ms, None);
}

#[test]
fn an_agent_who_does_not_answer_gets_the_call_ended_and_nothing_is_dialled() {
    let mut lab = lab([Script::answer()], []);
    let alice = phone(&mut lab, "201");
    let id = originate(&mut lab, request()).expect("the callback starts");
    let invite = rings(&mut lab, &alice);
    // The ring timeout counts from the origination, 20 ms ago.
    lab.run_for(pbx::RING - ms(30));
    let got = lab.requests(alice.at);
    assert!(got.is_empty(), "it rings the ring timeout: {got:#?}");
    lab.run_for(ms(10));
    let cancel = lab.request(alice.at, Method::Cancel);
    alice.reply(&mut lab, &cancel, 200, None);
    alice.reply(&mut lab, &invite, 487, None);
    lab.run_for(ms(10));
    assert!(carrier_invites(&lab, CARRIER_A).is_empty());
    assert!(carrier_invites(&lab, CARRIER_B).is_empty());

    let record = record(&lab, &id);
    assert_eq!(record.direction, Direction::Outbound);
    assert_eq!(record.disposition, Disposition::NoAnswer);
    assert_eq!(record.disposition_detail.as_deref(), Some("ring timeout"));
    assert_eq!(record.callback_task, Some(42));
    assert_eq!(record.answered_at_ms, None);
    assert_eq!(record.outbound.as_ref().map(|o| o.attempts), Some(0));
}

#[test]
fn a_busy_agent_ends_the_callback_busy() {
    let mut lab = lab([Script::answer()], []);
    let alice = phone(&mut lab, "201");
    let id = originate(&mut lab, request()).expect("the callback starts");
    let invite = invites(&mut lab, &alice).remove(0);
    alice.reply(&mut lab, &invite, 486, None);
    lab.run_for(ms(10));
    assert!(carrier_invites(&lab, CARRIER_A).is_empty());
    let record = record(&lab, &id);
    assert_eq!(record.disposition, Disposition::Busy);
    assert_eq!(record.sip_status, Some(486));
}

#[test]
fn a_busy_customer_gets_the_agent_hung_up_and_the_record_says_busy() {
    let mut lab = lab([Script::reject(486)], [Script::answer()]);
    let alice = phone(&mut lab, "201");
    let id = originate(&mut lab, request()).expect("the callback starts");
    let invite = rings(&mut lab, &alice);
    answers(&mut lab, &alice, &invite, 40_000);
    let bye = lab.request(alice.at, Method::Bye);
    assert_eq!(bye.method, Method::Bye, "the agent is hung up");
    assert!(
        carrier_invites(&lab, CARRIER_B).is_empty(),
        "busy is the customer's answer: no failover"
    );
    let relay = relays(&lab)[0];
    assert!(!bridged(&lab, relay));

    let record = record(&lab, &id);
    assert_eq!(record.disposition, Disposition::Busy);
    assert_eq!(record.sip_status, Some(486));
    assert_eq!(record.answered_at_ms, None);
    assert_eq!(record.callback_task, Some(42));
    let out = record.outbound.as_ref().expect("the outbound part");
    assert_eq!((out.trunk.as_deref(), out.attempts), (Some("carrier-a"), 1));
    assert_eq!(out.cost, Money::ZERO);
}

#[test]
fn a_failing_trunk_fails_over_to_the_next_as_for_any_outbound_call() {
    let mut lab = lab([Script::reject(503)], [Script::answer()]);
    let mut alice = phone(&mut lab, "201");
    let id = originate(&mut lab, request()).expect("the callback starts");
    let invite = rings(&mut lab, &alice);
    let mut dialog = answers(&mut lab, &alice, &invite, 40_000);
    let to_b = carrier_invites(&lab, CARRIER_B);
    assert_eq!(to_b.len(), 1, "failed over to B");
    let from = to_b[0].headers.from().expect("From");
    assert_eq!(user(&from.uri), SUPPORT);
    assert!(bridged(&lab, relays(&lab)[0]));
    lab.run_for(secs(10));
    alice.send_in_dialog(&mut lab, &mut dialog, Method::Bye, None);
    lab.run_for(ms(10));
    let record = record(&lab, &id);
    assert_eq!(record.disposition, Disposition::Answered);
    let out = record.outbound.as_ref().expect("the outbound part");
    assert_eq!(
        (out.trunk.as_deref(), out.attempts, out.failovers()),
        (Some("carrier-b"), 2, 1)
    );
}

#[test]
fn a_number_the_agents_class_may_not_dial_is_denied_before_anything_rings() {
    let mut lab = lab([Script::answer()], []);
    let alice = phone(&mut lab, "201");
    let error = originate(
        &mut lab,
        CallbackRequest {
            customer: "+33142685300".to_owned(),
            ..request()
        },
    )
    .expect_err("international is not in 201's class");
    let OriginateError::Denied { call, reason } = &error else {
        panic!("denied: {error}")
    };
    assert!(reason.contains("international"), "{reason}");
    assert!(
        invites(&mut lab, &alice).is_empty(),
        "the agent is not rung"
    );
    assert!(carrier_invites(&lab, CARRIER_A).is_empty());
    let record = record(&lab, call);
    assert_eq!(record.direction, Direction::Outbound);
    assert_eq!(record.caller.number, "201");
    assert_eq!(record.disposition, Disposition::Denied);
    assert_eq!(record.callback_task, Some(42));
    assert_eq!(
        record.outbound.as_ref().map(|o| o.class),
        Some(DestinationClass::International)
    );
}

#[test]
fn a_request_crossbar_cannot_act_on_is_a_typed_error_and_no_call() {
    let mut lab = lab([], []);
    let _alice = phone(&mut lab, "201");
    let with = |change: fn(&mut CallbackRequest)| {
        let mut request = request();
        change(&mut request);
        request
    };
    let cases = [
        (
            with(|r| r.agent = "299".to_owned()),
            OriginateError::UnknownExtension("299".to_owned()),
        ),
        (
            with(|r| r.agent = "202".to_owned()),
            OriginateError::AgentNotRegistered("202".to_owned()),
        ),
        (
            with(|r| r.customer = " ".to_owned()),
            OriginateError::InvalidNumber {
                number: String::new(),
                reason: "it is empty".to_owned(),
            },
        ),
        (
            with(|r| r.did = Some("support".to_owned())),
            OriginateError::InvalidCallerId("support".to_owned()),
        ),
        (
            with(|r| r.queue = Some("sales".to_owned())),
            OriginateError::NoSuchQueue("sales".to_owned()),
        ),
    ];
    for (request, expected) in cases {
        assert_eq!(originate(&mut lab, request), Err(expected));
    }
    for customer in ["202", "999", "hello"] {
        let error = originate(
            &mut lab,
            CallbackRequest {
                customer: customer.to_owned(),
                ..request()
            },
        );
        assert!(
            matches!(error, Err(OriginateError::InvalidNumber { .. })),
            "{customer}: {error:?}"
        );
    }
    assert!(lab.machine.records.is_empty(), "{:#?}", lab.machine.records);
    assert!(lab.machine.media.is_empty(), "no relay opened");
}

// ---- a queue's virtual hold ----

/// The incoming carrier's INVITE `call` to the support DID from `caller`, answered by
/// crossbar for the queue (ACKed): returns the carrier's dialog.
fn queued(lab: &mut Lab<Pbx>, caller: &str, call: u32) -> Dialog {
    let body = sdp("198.51.100.30", 30_000, "sendrecv");
    let text = format!(
        "INVITE sip:{SUPPORT}@192.0.2.100:5060 SIP/2.0\r\n\
         Via: SIP/2.0/UDP {INCOMING};branch=z9hG4bK-in{call}\r\n\
         Max-Forwards: 70\r\nFrom: <sip:{caller}@198.51.100.30>;tag=c{call}\r\n\
         To: <sip:{SUPPORT}@192.0.2.100>\r\nCall-ID: inbound-{call}@198.51.100.30\r\n\
         CSeq: 1 INVITE\r\nContact: <sip:carrier@{INCOMING}>\r\n\
         Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    lab.send_text(peer(INCOMING), &text);
    lab.run_for(ms(10));
    let ok: Response = lab
        .responses(peer(INCOMING))
        .into_iter()
        .find(|r| r.status >= 200)
        .expect("crossbar answers the caller for the queue");
    assert_eq!(ok.status, 200, "{ok}");
    let dialog = Dialog::from_answer(&ok);
    Phone::new("incoming", "-", INCOMING, "192.0.2.100").ack(lab, &dialog, None);
    lab.run_for(ms(10));
    dialog
}

/// 201 logged in to the support queue and paused.
fn paused_agent(lab: &mut Lab<Pbx>) -> Phone {
    let alice = phone(lab, "201");
    let (now, wall) = (lab.clock.now(), lab.clock.wall());
    let switch = &mut lab.machine.switch;
    switch
        .agent_login(now, wall, "201", None, None)
        .expect("201 logs in");
    switch.agent_pause(now, wall, "201", None).expect("pauses");
    lab.run_for(ms(1));
    alice
}

fn unpause(lab: &mut Lab<Pbx>) {
    let (now, wall) = (lab.clock.now(), lab.clock.wall());
    lab.machine
        .switch
        .agent_unpause(now, wall, "201")
        .expect("unpauses");
    lab.run_for(ms(10));
}

/// A caller waits 30 s, takes the callback offer, hears it confirmed and is hung up:
/// returns the relay of the caller's call.
fn takes_the_callback(lab: &mut Lab<Pbx>, caller: &str) -> RelayId {
    queued(lab, caller, 1);
    let relay = *relays(lab).last().expect("the caller's relay");
    lab.run_for(secs(30));
    media_event(
        lab,
        MediaEvent::Digit {
            id: relay,
            digit: '1',
        },
    );
    media_event(lab, MediaEvent::PlayFinished { id: relay });
    let bye = lab.request(peer(INCOMING), Method::Bye);
    Phone::new("incoming", "-", INCOMING, "192.0.2.100").reply(lab, &bye, 200, None);
    lab.run_for(ms(10));
    let record = record_between(lab, caller, SUPPORT);
    assert_eq!(record.queues[0].outcome, QueueOutcome::Callback);
    relay
}

#[test]
fn a_caller_who_took_the_callback_offer_is_called_back_when_their_turn_comes() {
    let mut lab = lab([Script::answer()], []);
    let mut alice = paused_agent(&mut lab);
    takes_the_callback(&mut lab, "+447400123001");
    let returned = record_between(&lab, "+447400123001", SUPPORT).id.clone();
    lab.run_for(secs(60));
    assert!(invites(&mut lab, &alice).is_empty(), "201 is paused");

    // The caller's turn: 201 is rung with the caller's number shown, then the caller is
    // dialled from the DID they called.
    unpause(&mut lab);
    let invite = rings(&mut lab, &alice);
    let from = invite.headers.from().expect("From");
    assert_eq!(from.display.as_deref(), Some("Callback +447400123001"));
    let mut dialog = answers(&mut lab, &alice, &invite, 40_000);
    let sent = carrier_invites(&lab, CARRIER_A);
    let [to_caller] = sent.as_slice() else {
        panic!("one INVITE to carrier A: {sent:?}")
    };
    assert_eq!(user(&to_caller.uri), "+447400123001");
    assert_eq!(
        user(&to_caller.headers.from().expect("From").uri),
        SUPPORT,
        "from the number they called"
    );
    let relay = *relays(&lab).last().expect("the callback's relay");
    assert!(bridged(&lab, relay));
    lab.run_for(secs(20));
    alice.send_in_dialog(&mut lab, &mut dialog, Method::Bye, None);
    lab.run_for(ms(10));

    let callback = record_between(&lab, "201", "+447400123001");
    assert_eq!(callback.direction, Direction::Outbound);
    assert_eq!(callback.disposition, Disposition::Answered);
    assert_eq!(callback.timings.talk_secs, 20);
    assert_eq!(callback.callback_task, None, "the switch knows no task");
    assert!(callback.timeline.iter().any(|e| matches!(
        &e.kind,
        EventKind::Callback { task: None, queue: Some(queue), returns: Some(call) }
            if queue == "support" && *call == returned
    )));

    // The queue saw an offer answered: the agent wraps up, then is free.
    let log = activities(&lab, "201");
    let after_unpause = log
        .iter()
        .position(|a| matches!(a, AgentActivity::Unpaused))
        .expect("unpaused");
    let log = &log[after_unpause + 1..];
    assert!(
        matches!(&log[0], AgentActivity::Offered { queue, call: Some(call) }
            if queue == "support" && *call == returned),
        "{log:#?}"
    );
    assert!(
        matches!(&log[1], AgentActivity::Answered { .. }),
        "{log:#?}"
    );
    assert!(matches!(&log[2], AgentActivity::WrapUp { .. }), "{log:#?}");
    lab.run_for(secs(10));
    assert!(matches!(
        activities(&lab, "201").last(),
        Some(AgentActivity::Available)
    ));
}

#[test]
fn an_agent_who_misses_a_callback_offer_counts_it_and_the_caller_is_offered_again() {
    let mut lab = lab([Script::answer()], []);
    let alice = paused_agent(&mut lab);
    takes_the_callback(&mut lab, "+447400123001");
    unpause(&mut lab);
    let invite = rings(&mut lab, &alice);

    // The queue's 15 s pass: the agent's phone stops ringing, the offer is missed.
    lab.run_for(secs(15));
    let cancel = lab.request(alice.at, Method::Cancel);
    alice.reply(&mut lab, &cancel, 200, None);
    alice.reply(&mut lab, &invite, 487, None);
    lab.run_for(ms(10));
    assert!(carrier_invites(&lab, CARRIER_A).is_empty());
    assert!(
        activities(&lab, "201")
            .iter()
            .any(|a| matches!(a, AgentActivity::Missed { queue, .. } if queue == "support"))
    );
    let missed = record_between(&lab, "201", "+447400123001");
    assert_eq!(missed.disposition, Disposition::NoAnswer);
    assert_eq!(missed.disposition_detail.as_deref(), Some("ring timeout"));

    // After the queue's 5 s of retry, the caller is offered again.
    lab.run_for(secs(5));
    let again = rings(&mut lab, &alice);
    assert_eq!(
        user(&again.headers.from().expect("From").uri),
        "+447400123001"
    );
}

#[test]
fn an_agent_busy_for_a_callback_offer_is_a_missed_offer_and_the_caller_waits_for_the_next() {
    let mut lab = lab([Script::answer()], []);
    let alice = paused_agent(&mut lab);
    takes_the_callback(&mut lab, "+447400123001");
    unpause(&mut lab);
    let invite = invites(&mut lab, &alice).remove(0);
    alice.reply(&mut lab, &invite, 486, None);
    lab.run_for(ms(10));
    assert!(carrier_invites(&lab, CARRIER_A).is_empty());
    let log = activities(&lab, "201");
    let missed = log
        .iter()
        .position(|a| matches!(a, AgentActivity::Missed { queue, .. } if queue == "support"))
        .unwrap_or_else(|| panic!("a missed offer: {log:#?}"));
    assert!(
        matches!(log[missed + 1], AgentActivity::Available),
        "{log:#?}"
    );
    let busy = record_between(&lab, "201", "+447400123001");
    assert_eq!(busy.disposition, Disposition::Busy);

    lab.run_for(secs(5));
    let again = rings(&mut lab, &alice);
    assert_eq!(
        user(&again.headers.from().expect("From").uri),
        "+447400123001"
    );
}

#[test]
fn a_caller_waiting_for_a_callback_who_is_reached_another_way_leaves_the_line() {
    let mut lab = lab([Script::answer()], []);
    let alice = paused_agent(&mut lab);
    takes_the_callback(&mut lab, "+447400123001");
    let line = |lab: &mut Lab<Pbx>| {
        let (now, wall) = (lab.clock.now(), lab.clock.wall());
        let snapshot = lab.machine.switch.queue_snapshot(now, wall);
        let support = snapshot
            .queues
            .iter()
            .find(|line| line.name == "support")
            .expect("the support queue");
        support
            .callers
            .iter()
            .map(|caller| (caller.number.clone(), caller.callback))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        line(&mut lab),
        [(Some("+447400123001".to_owned()), true)],
        "the caller holds their place"
    );

    // 202, not an agent of the queue, calls the customer back by hand (the task worked from
    // the API) and the customer answers.
    let mut bob = phone(&mut lab, "202");
    originate(&mut lab, by_hand()).expect("the callback starts");
    let invite = rings(&mut lab, &bob);
    let mut dialog = answers(&mut lab, &bob, &invite, 41_000);
    assert_eq!(carrier_invites(&lab, CARRIER_A).len(), 1);

    // The place is given up: 201, free again, is not offered a caller already reached.
    assert_eq!(line(&mut lab), [], "the line is empty");
    unpause(&mut lab);
    lab.run_for(secs(60));
    assert!(invites(&mut lab, &alice).is_empty(), "nobody rings 201");
    assert_eq!(
        carrier_invites(&lab, CARRIER_A).len(),
        1,
        "no second callback"
    );
    assert!(
        !activities(&lab, "201")
            .iter()
            .any(|a| matches!(a, AgentActivity::Offered { .. })),
        "no offer"
    );
    bob.send_in_dialog(&mut lab, &mut dialog, Method::Bye, None);
    lab.run_for(ms(10));
    let reached = record_between(&lab, "202", "+447400123001");
    assert_eq!(reached.disposition, Disposition::Answered);
}

#[test]
fn a_call_that_does_not_reach_the_customer_leaves_their_place_in_line() {
    // The customer is busy for the hand-made callback: not reached.
    let mut lab = lab([Script::reject(486)], [Script::answer()]);
    let alice = paused_agent(&mut lab);
    takes_the_callback(&mut lab, "+447400123001");
    let bob = phone(&mut lab, "202");
    originate(&mut lab, by_hand()).expect("the callback starts");
    let invite = rings(&mut lab, &bob);
    answers(&mut lab, &bob, &invite, 41_000);
    let bye = lab.request(bob.at, Method::Bye);
    assert_eq!(bye.method, Method::Bye, "202 is hung up");
    let busy = record_between(&lab, "202", "+447400123001");
    assert_eq!(busy.disposition, Disposition::Busy);

    // Their turn still comes.
    unpause(&mut lab);
    let invite = rings(&mut lab, &alice);
    assert_eq!(
        invite.headers.from().expect("From").display.as_deref(),
        Some("Callback +447400123001")
    );
}

#[test]
fn a_caller_waiting_for_a_callback_who_calls_again_takes_their_place_in_line() {
    let mut lab = lab([Script::answer()], []);
    let alice = paused_agent(&mut lab);
    takes_the_callback(&mut lab, "+447400123001");
    queued(&mut lab, "+447400123002", 2);

    // The first customer calls again: crossbar answers them and puts them where their
    // callback place was, ahead of the caller who came after.
    queued(&mut lab, "+447400123001", 3);
    let (now, wall) = (lab.clock.now(), lab.clock.wall());
    let snapshot = lab.machine.switch.queue_snapshot(now, wall);
    let line: Vec<(Option<String>, bool)> = snapshot.queues[0]
        .callers
        .iter()
        .map(|caller| (caller.number.clone(), caller.callback))
        .collect();
    assert_eq!(
        line,
        [
            (Some("+447400123001".to_owned()), false),
            (Some("+447400123002".to_owned()), false)
        ]
    );

    // 201 is offered the call on the line, not a callback: nothing is dialled.
    unpause(&mut lab);
    let invite = rings(&mut lab, &alice);
    let from = invite.headers.from().expect("From");
    assert_eq!(user(&from.uri), "+447400123001");
    assert_ne!(from.display.as_deref(), Some("Callback +447400123001"));
    assert!(carrier_invites(&lab, CARRIER_A).is_empty());
}

#[test]
fn a_place_kept_for_a_callback_is_reported_kept_then_given_up_once_served() {
    let mut lab = lab([Script::answer()], []);
    let mut alice = paused_agent(&mut lab);
    takes_the_callback(&mut lab, "+447400123001");
    let record = record_between(&lab, "+447400123001", SUPPORT).clone();
    assert_eq!(
        lab.machine.held,
        [HeldChange::Kept(HeldPlace {
            call: record.id.clone(),
            queue: "support".to_owned(),
            customer: "+447400123001".to_owned(),
            did: Some(SUPPORT.to_owned()),
            vip: false,
            joined_at_ms: record.queues[0].joined_at_ms,
        })]
    );
    unpause(&mut lab);
    let invite = rings(&mut lab, &alice);
    let mut dialog = answers(&mut lab, &alice, &invite, 40_000);
    lab.run_for(secs(5));
    alice.send_in_dialog(&mut lab, &mut dialog, Method::Bye, None);
    lab.run_for(ms(10));
    assert_eq!(
        lab.machine.held.last(),
        Some(&HeldChange::Released { call: record.id }),
        "served: the place is given up"
    );
}

#[test]
fn callers_waiting_for_a_callback_are_put_back_in_line_at_a_restart() {
    let mut lab = lab([Script::answer()], []);
    let alice = paused_agent(&mut lab);
    let wall_ms = |lab: &Lab<Pbx>| crossbar_switch::wall_ms(lab.clock.wall());
    let place = |call: &str, customer: &str, waited_ms: i64, queue: &str| HeldPlace {
        call: CallId(call.to_owned()),
        queue: queue.to_owned(),
        customer: customer.to_owned(),
        did: Some(SUPPORT.to_owned()),
        vip: false,
        joined_at_ms: wall_ms(&lab) - waited_ms,
    };
    // As the store gives them back: in the order the callers joined.
    let places = vec![
        place("earlier", "+447400123001", 600_000, "support"),
        place("gone", "+447400123009", 500_000, "sales"),
        place("later", "+447400123002", 300_000, "support"),
    ];
    let (now, wall) = (lab.clock.now(), lab.clock.wall());
    assert_eq!(lab.machine.switch.restore_held(now, wall, places), 2);
    lab.run_for(ms(1));
    assert_eq!(
        lab.machine.held,
        [HeldChange::Released {
            call: CallId("gone".to_owned())
        }],
        "a place in a queue the configuration no longer has is given up"
    );
    let (now, wall) = (lab.clock.now(), lab.clock.wall());
    let snapshot = lab.machine.switch.queue_snapshot(now, wall);
    let line: Vec<(Option<String>, bool, u64)> = snapshot.queues[0]
        .callers
        .iter()
        .map(|caller| {
            let waited = now.saturating_duration_since(caller.joined_at).as_secs();
            (caller.number.clone(), caller.callback, waited)
        })
        .collect();
    assert_eq!(
        line,
        [
            (Some("+447400123001".to_owned()), true, 600),
            (Some("+447400123002".to_owned()), true, 300)
        ]
    );

    // The first one's turn: a callback, from the DID they called.
    unpause(&mut lab);
    let invite = rings(&mut lab, &alice);
    assert_eq!(
        invite.headers.from().expect("From").display.as_deref(),
        Some("Callback +447400123001")
    );
    answers(&mut lab, &alice, &invite, 40_000);
    let sent = carrier_invites(&lab, CARRIER_A);
    let [to_caller] = sent.as_slice() else {
        panic!("one INVITE to carrier A: {sent:?}")
    };
    assert_eq!(user(&to_caller.uri), "+447400123001");
    assert_eq!(user(&to_caller.headers.from().expect("From").uri), SUPPORT);
}
