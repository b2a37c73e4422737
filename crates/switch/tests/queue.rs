//! Queues on a virtual clock: a scripted carrier calls the support DID, crossbar answers the
//! caller itself and plays the queue's music, the queue machine offers the caller to agents
//! (their phones ring through the extensions' ringing code), the agent's answer re-points the
//! caller's relay (no re-INVITE); agents log in and pause from their phones with feature codes.
//! Each test states what the carrier, the phones, the media commands, the call records and the
//! agent event log see.
//!
//! The clock's wall time starts on Friday 2027-01-15 at 08:00 UTC (08:00 in London).

mod pbx;

use crossbar_cdr::record::{CallRecord, Disposition};
use crossbar_cdr::{Direction, EventKind, QueueOutcome, Stage, StepKind};
use crossbar_media::{MediaCommand, MediaEvent, Prompt, RelayId};
use crossbar_sip::{Method, Request, Response, Uri};
use crossbar_switch::{AgentActivity, AgentPause, AgentQueue};
use crossbar_testkit::sdp::sdp;
use crossbar_testkit::{Dialog, Lab, Phone, peer};
use pbx::Pbx;
use pbx::agents::{activities, answers, invites, media_event, ms, phone, relays, rings, secs};

const CARRIER: &str = "198.51.100.10:5060";
const SUPPORT: &str = "+442079460600";
const GOLD: &str = "+442079460601";
const BILLING: &str = "+442079460700";

/// Queue `support`: 201 then 202 (`linear`), 15 s per offer, 5 s before a retry, 10 s of
/// wrap-up, position announced on joining and every minute, at most 120 s of waiting (then
/// 203), 0 breaks out to 204. Callers to the gold DID are VIPs. Queue `billing`: 201 and 202
/// in turn (`round_robin`), a callback offered after 30 s.
const SITE: &str = r#"
[site]
country = "GB"
timezone = "Europe/London"

[[extension]]
number = "201"
secret = "secret-201"

[[extension]]
number = "202"
secret = "secret-202"

[[extension]]
number = "203"
secret = "secret-203"

[[extension]]
number = "204"
secret = "secret-204"

[[trunk]]
name = "carrier-a"
address = "198.51.100.10:5060"
options_interval_secs = 0

[[inbound_route]]
name = "support"
dids = ["+442079460600"]
destination = "queue:support"

[[inbound_route]]
name = "gold"
dids = ["+442079460601"]
destination = "queue:support"
vip = true

[[queue]]
name = "support"
strategy = "linear"
members = ["201", "202"]
agent_ring_secs = 15
retry_secs = 5
wrap_up_secs = 10
max_wait_secs = 120
on_timeout = "ext:203"
breakout = { "0" = "ext:204" }
announce_position_secs = 60

[[inbound_route]]
name = "billing"
dids = ["+442079460700"]
destination = "queue:billing"

[[queue]]
name = "billing"
strategy = "round_robin"
members = ["201", "202"]
callback_offer_after_secs = 30

[agents]
pause_reasons = { "1" = "lunch", "2" = "training" }

[prompts]
dir = "prompts"
"#;

fn lab() -> Lab<Pbx> {
    pbx::lab_with(SITE)
}

/// `agent` logs in to its queues through the API.
fn log_in(lab: &mut Lab<Pbx>, agent: &str) {
    let (now, wall) = (lab.clock.now(), lab.clock.wall());
    lab.machine
        .switch
        .agent_login(now, wall, agent, None, None)
        .unwrap_or_else(|e| panic!("{agent} logs in: {e}"));
    lab.run_for(ms(1));
}

fn pause(lab: &mut Lab<Pbx>, agent: &str) {
    let (now, wall) = (lab.clock.now(), lab.clock.wall());
    lab.machine
        .switch
        .agent_pause(now, wall, agent, None)
        .unwrap_or_else(|e| panic!("{agent} pauses: {e}"));
    lab.run_for(ms(1));
}

fn unpause(lab: &mut Lab<Pbx>, agent: &str) {
    let (now, wall) = (lab.clock.now(), lab.clock.wall());
    lab.machine
        .switch
        .agent_unpause(now, wall, agent)
        .unwrap_or_else(|e| panic!("{agent} unpauses: {e}"));
    lab.run_for(ms(1));
}

/// The carrier's INVITE `call` to `did` from `caller`, with an offer (PCMU + telephone-event
/// 101).
fn carrier_invite(lab: &mut Lab<Pbx>, did: &str, caller: &str, call: u32) {
    let body = sdp(
        "198.51.100.10",
        30_000 + 2 * u16::try_from(call).expect("few calls"),
        "sendrecv",
    );
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
    lab.run_for(ms(10));
}

/// The carrier as a party to the calls.
fn carrier() -> Phone {
    Phone::new("carrier", "-", CARRIER, "192.0.2.100")
}

/// The final responses of the carrier's call `call` in what the carrier got.
fn finals(responses: &[Response], call: u32) -> Vec<Response> {
    let call_id = format!("inbound-{call}@198.51.100.10");
    responses
        .iter()
        .filter(|r| r.status >= 200 && r.headers.call_id() == Some(call_id.as_str()))
        .cloned()
        .collect()
}

/// Caller `call` (from `caller`) calls `did`, crossbar answers it (200, ACKed): returns the
/// carrier's dialog.
fn queued(lab: &mut Lab<Pbx>, did: &str, caller: &str, call: u32) -> Dialog {
    carrier_invite(lab, did, caller, call);
    let responses = lab.responses(peer(CARRIER));
    let ok = finals(&responses, call)
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("call {call} got no final response: {responses:?}"));
    assert_eq!(
        ok.status, 200,
        "crossbar answers the caller for the queue: {ok}"
    );
    let dialog = Dialog::from_answer(&ok);
    carrier().ack(lab, &dialog, None);
    lab.run_for(ms(10));
    dialog
}

/// A prompt's name as the tests write it: the file without its directory, `ringback`.
fn prompt_name(prompt: &Prompt) -> String {
    if prompt.name.starts_with("ringback/") {
        "ringback".to_owned()
    } else {
        prompt
            .name
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_owned()
    }
}

/// What `relay` was told to play so far: prompt names and repeat for each play; the
/// background music as `music:NAME` (repeat: it loops) and `music off` when taken away.
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
            } if *id == relay => Some((prompts.iter().map(|p| prompt_name(p)).collect(), *repeat)),
            MediaCommand::Music { id, music, .. } if *id == relay => Some(match music {
                Some(music) => (vec![format!("music:{}", prompt_name(music))], true),
                None => (vec!["music off".to_owned()], false),
            }),
            _ => None,
        })
        .collect()
}

/// The caller an offer to an agent is for: the `From` user of its INVITE.
fn caller_of(invite: &Request) -> String {
    let from = invite.headers.from().expect("an INVITE has From");
    match from.uri {
        Uri::Sip(uri) => uri.user.unwrap_or_default(),
        other => other.to_string(),
    }
}

/// `phone` hangs up `dialog`.
fn hangs_up(lab: &mut Lab<Pbx>, phone: &mut Phone, dialog: &mut Dialog) {
    phone.send_in_dialog(lab, dialog, Method::Bye, None);
    lab.run_for(ms(10));
}

/// The record of the call from `caller`.
fn record_of<'l>(lab: &'l Lab<Pbx>, caller: &str) -> &'l CallRecord {
    lab.machine
        .records
        .iter()
        .find(|r| r.caller.number == caller)
        .unwrap_or_else(|| panic!("no record of {caller}: {:#?}", lab.machine.records))
}

/// The positions callers joined at, in order.
fn joined_positions(lab: &Lab<Pbx>) -> Vec<u32> {
    lab.machine
        .kinds
        .iter()
        .filter_map(|k| match k {
            EventKind::QueueJoined { position, .. } => Some(*position),
            _ => None,
        })
        .collect()
}

#[test]
fn a_caller_hears_music_and_its_position_and_is_put_through_to_the_agent_without_re_invite() {
    let mut lab = lab();
    let mut alice = phone(&mut lab, "201");
    log_in(&mut lab, "201");
    queued(&mut lab, SUPPORT, "+447700900001", 1);
    let relay = relays(&lab)[0];
    let played = plays(&lab, relay);
    assert_eq!(
        played,
        [
            (vec!["music:moh".to_owned()], true),
            (vec!["queue-position".to_owned(), "num-1".to_owned()], false)
        ],
        "the music loops, the position is said over it"
    );
    assert!(
        lab.machine.media.iter().any(|c| matches!(
            c,
            MediaCommand::Listen {
                payload_type: 101,
                ..
            }
        )),
        "keys are heard"
    );

    // The queue offers the caller to 201 at once: its phone rings.
    let invite = rings(&mut lab, &alice);
    assert_eq!(caller_of(&invite), "+447700900001");
    assert!(
        lab.statuses(peer(CARRIER)).is_empty(),
        "the caller has crossbar's 200: no 180 relayed"
    );
    let before = plays(&lab, relay).len();
    media_event(&mut lab, MediaEvent::PlayFinished { id: relay });
    assert_eq!(
        plays(&lab, relay).len(),
        before,
        "the relay resumes the music by itself after the announcement: no new command, no ringback"
    );

    lab.run_for(secs(4));
    let mut agent_dialog = answers(&mut lab, &alice, &invite, 40_000);
    assert!(
        lab.machine
            .media
            .iter()
            .any(|c| matches!(c, MediaCommand::Bridge { id } if *id == relay)),
        "the relay's far side becomes the agent's phone"
    );
    assert!(
        lab.requests(peer(CARRIER))
            .iter()
            .all(|r| r.method != Method::Invite),
        "the caller is not re-INVITEd"
    );
    lab.run_for(secs(30));
    hangs_up(&mut lab, &mut alice, &mut agent_dialog);
    let bye = lab.request(peer(CARRIER), Method::Bye);
    assert_eq!(
        bye.method,
        Method::Bye,
        "the agent's BYE ends the caller's side"
    );

    let record = record_of(&lab, "+447700900001");
    assert_eq!(record.direction, Direction::Inbound);
    assert_eq!(record.disposition, Disposition::Answered);
    assert_eq!(record.answered_by.as_deref(), Some("201"));
    assert_eq!(record.timings.queue_wait_secs, 4, "{:#?}", record.queues);
    assert_eq!(record.timings.talk_secs, 30);
    assert_eq!(record.queues.len(), 1);
    let visit = &record.queues[0];
    assert_eq!(visit.queue, "support");
    assert_eq!(visit.position, Some(1));
    assert_eq!(visit.offered, ["201"]);
    let queue_steps: Vec<&str> = record
        .path
        .iter()
        .filter(|step| step.kind == StepKind::Queue)
        .map(|step| step.result.as_str())
        .collect();
    assert_eq!(
        queue_steps,
        ["joined at position 1", "answered by 201"],
        "the route path shows the queue"
    );
    assert_eq!(visit.outcome, QueueOutcome::Answered);
    assert_eq!(visit.agent.as_deref(), Some("201"));

    // The agent event log: logged in, offered, answered, wrapping up, then free again.
    lab.run_for(secs(10));
    let log = activities(&lab, "201");
    assert!(matches!(log[0], AgentActivity::LoggedIn), "{log:#?}");
    assert!(
        matches!(&log[1], AgentActivity::Offered { queue, call: Some(_) } if queue == "support"),
        "{log:#?}"
    );
    assert!(matches!(&log[2], AgentActivity::Answered { queue, .. } if queue == "support"));
    assert!(matches!(&log[3], AgentActivity::WrapUp { .. }), "{log:#?}");
    assert!(matches!(log[4], AgentActivity::Available), "{log:#?}");
    let queue = |name: &str| AgentQueue {
        queue: name.to_owned(),
        penalty: 0,
    };
    assert_eq!(
        lab.machine.agents[0].logged_in,
        [queue("support"), queue("billing")],
        "logged in to every queue 201 is a member of"
    );
}

#[test]
fn callers_are_served_in_order_of_arrival_and_a_vip_goes_ahead() {
    let mut lab = lab();
    let mut alice = phone(&mut lab, "201");
    log_in(&mut lab, "201");
    pause(&mut lab, "201");
    queued(&mut lab, SUPPORT, "+447700900001", 1);
    lab.run_for(secs(1));
    queued(&mut lab, SUPPORT, "+447700900002", 2);
    lab.run_for(secs(1));
    queued(&mut lab, GOLD, "+447700900003", 3);
    assert_eq!(
        joined_positions(&lab),
        [1, 2, 1],
        "the VIP joins ahead of both"
    );
    assert!(invites(&mut lab, &alice).is_empty(), "201 is paused");

    unpause(&mut lab, "201");
    let mut served = Vec::new();
    for round in 0..3u16 {
        let invite = rings(&mut lab, &alice);
        served.push(caller_of(&invite));
        let mut dialog = answers(&mut lab, &alice, &invite, 40_000 + 2 * round);
        lab.run_for(secs(5));
        hangs_up(&mut lab, &mut alice, &mut dialog);
        // Wrap-up: nothing for 10 s.
        lab.run_for(secs(9));
        assert!(
            invites(&mut lab, &alice).is_empty() || round == 2,
            "no offer during the wrap-up"
        );
        lab.run_for(secs(1));
    }
    assert_eq!(served, ["+447700900003", "+447700900001", "+447700900002"]);
    let waits: Vec<u32> = ["+447700900003", "+447700900001", "+447700900002"]
        .iter()
        .map(|caller| record_of(&lab, caller).timings.queue_wait_secs)
        .collect();
    assert!(waits[0] < waits[1] && waits[1] < waits[2], "{waits:?}");
}

#[test]
fn an_offer_rung_out_is_retried_after_the_retry_time_with_the_next_agent() {
    let mut lab = lab();
    let alice = phone(&mut lab, "201");
    let mut bob = phone(&mut lab, "202");
    log_in(&mut lab, "201");
    log_in(&mut lab, "202");
    queued(&mut lab, SUPPORT, "+447700900001", 1);
    let to_alice = rings(&mut lab, &alice);
    assert!(invites(&mut lab, &bob).is_empty(), "linear: 201 first");

    // 201 rings for the queue's 15 s: the offer is called off.
    lab.run_for(secs(15));
    let cancel = lab.request(alice.at, Method::Cancel);
    alice.reply(&mut lab, &cancel, 200, None);
    alice.reply(&mut lab, &to_alice, 487, None);
    lab.run_for(ms(10));
    assert!(invites(&mut lab, &bob).is_empty(), "the retry waits 5 s");
    lab.run_for(secs(5));
    let to_bob = rings(&mut lab, &bob);
    assert_eq!(caller_of(&to_bob), "+447700900001");
    let mut dialog = answers(&mut lab, &bob, &to_bob, 40_002);
    hangs_up(&mut lab, &mut bob, &mut dialog);

    let record = record_of(&lab, "+447700900001");
    assert_eq!(record.disposition, Disposition::Answered);
    assert_eq!(record.answered_by.as_deref(), Some("202"));
    assert_eq!(record.queues[0].offered, ["201", "202"]);
    assert_eq!(record.timings.queue_wait_secs, 20);
    let missed = activities(&lab, "201")
        .into_iter()
        .filter(|a| matches!(a, AgentActivity::Missed { .. }))
        .count();
    assert_eq!(missed, 1, "201 missed the offer");
}

#[test]
fn a_busy_agent_is_reported_busy_and_the_caller_goes_to_the_next_after_the_retry_time() {
    let mut lab = lab();
    let alice = phone(&mut lab, "201");
    let bob = phone(&mut lab, "202");
    log_in(&mut lab, "201");
    log_in(&mut lab, "202");
    queued(&mut lab, SUPPORT, "+447700900001", 1);
    let to_alice = invites(&mut lab, &alice).remove(0);
    alice.reply(&mut lab, &to_alice, 486, None);
    lab.run_for(secs(5));
    let to_bob = rings(&mut lab, &bob);
    assert_eq!(caller_of(&to_bob), "+447700900001");
    assert!(
        activities(&lab, "201")
            .iter()
            .any(|a| matches!(a, AgentActivity::Missed { queue, .. } if queue == "support"))
    );
}

#[test]
fn an_agent_wrapping_up_is_offered_the_next_caller_only_after_its_wrap_up() {
    let mut lab = lab();
    let mut alice = phone(&mut lab, "201");
    log_in(&mut lab, "201");
    queued(&mut lab, SUPPORT, "+447700900001", 1);
    queued(&mut lab, SUPPORT, "+447700900002", 2);
    let first = rings(&mut lab, &alice);
    assert_eq!(caller_of(&first), "+447700900001");
    let mut dialog = answers(&mut lab, &alice, &first, 40_000);
    lab.run_for(secs(20));
    assert!(invites(&mut lab, &alice).is_empty(), "201 is on a call");
    hangs_up(&mut lab, &mut alice, &mut dialog);
    lab.run_for(secs(9) + ms(900));
    assert!(invites(&mut lab, &alice).is_empty(), "10 s of wrap-up");
    lab.run_for(ms(100));
    let second = rings(&mut lab, &alice);
    assert_eq!(caller_of(&second), "+447700900002");
}

#[test]
fn a_caller_who_hangs_up_while_waiting_is_abandoned_in_the_queue() {
    let mut lab = lab();
    let _alice = phone(&mut lab, "201");
    log_in(&mut lab, "201");
    pause(&mut lab, "201");
    let mut dialog = queued(&mut lab, SUPPORT, "+447700900001", 1);
    lab.run_for(secs(7));
    carrier().send_in_dialog(&mut lab, &mut dialog, Method::Bye, None);
    lab.run_for(ms(10));
    assert!(lab.statuses(peer(CARRIER)).contains(&200));
    let record = lab.machine.record();
    assert_eq!(record.disposition, Disposition::Abandoned);
    assert_eq!(record.abandoned_stage, Some(Stage::Queue));
    assert_eq!(record.queues[0].outcome, QueueOutcome::Abandoned);
    assert_eq!(record.timings.queue_wait_secs, 7);
    assert_eq!(record.answered_by, None);
}

#[test]
fn a_caller_who_hangs_up_while_an_agent_rings_is_abandoned_and_the_ringing_is_cancelled() {
    let mut lab = lab();
    let alice = phone(&mut lab, "201");
    log_in(&mut lab, "201");
    let mut dialog = queued(&mut lab, SUPPORT, "+447700900001", 1);
    let invite = rings(&mut lab, &alice);
    lab.run_for(secs(3));
    carrier().send_in_dialog(&mut lab, &mut dialog, Method::Bye, None);
    lab.run_for(ms(10));
    let cancel = lab.request(alice.at, Method::Cancel);
    alice.reply(&mut lab, &cancel, 200, None);
    alice.reply(&mut lab, &invite, 487, None);
    lab.run_for(ms(10));
    let record = lab.machine.record();
    assert_eq!(record.disposition, Disposition::Abandoned);
    assert_eq!(record.abandoned_stage, Some(Stage::Queue));
    // The agent is free again, without a missed offer.
    let log = activities(&lab, "201");
    assert!(
        matches!(log.last(), Some(AgentActivity::Available)),
        "{log:#?}"
    );
    assert!(
        !log.iter()
            .any(|a| matches!(a, AgentActivity::Missed { .. }))
    );
}

#[test]
fn after_the_longest_wait_the_caller_goes_to_the_queues_timeout_destination() {
    let mut lab = lab();
    let _alice = phone(&mut lab, "201");
    let mut carol = phone(&mut lab, "203");
    log_in(&mut lab, "201");
    pause(&mut lab, "201");
    queued(&mut lab, SUPPORT, "+447700900001", 1);
    let relay = relays(&lab)[0];
    lab.run_for(secs(60));
    assert_eq!(
        plays(&lab, relay).last(),
        Some(&(vec!["queue-position".to_owned(), "num-1".to_owned()], false)),
        "the position again after a minute"
    );
    lab.run_for(secs(59));
    assert!(invites(&mut lab, &carol).is_empty());
    lab.run_for(secs(1));
    let invite = rings(&mut lab, &carol);
    assert!(
        plays(&lab, relay)
            .last()
            .is_some_and(|(names, repeat)| *repeat && names == &["ringback"]),
        "ringback while 203 rings: {:?}",
        plays(&lab, relay)
    );
    assert!(
        plays(&lab, relay).contains(&(vec!["music off".to_owned()], false)),
        "leaving the queue takes the music away: it must not come back between later prompts"
    );
    let mut dialog = answers(&mut lab, &carol, &invite, 40_000);
    hangs_up(&mut lab, &mut carol, &mut dialog);
    let record = lab.machine.record();
    assert_eq!(record.disposition, Disposition::Answered);
    assert_eq!(record.answered_by.as_deref(), Some("203"));
    assert_eq!(record.queues[0].outcome, QueueOutcome::Timeout);
    assert_eq!(record.timings.queue_wait_secs, 120);
}

#[test]
fn a_breakout_key_takes_the_caller_to_its_destination() {
    let mut lab = lab();
    let _alice = phone(&mut lab, "201");
    let dave = phone(&mut lab, "204");
    log_in(&mut lab, "201");
    pause(&mut lab, "201");
    queued(&mut lab, SUPPORT, "+447700900001", 1);
    let relay = relays(&lab)[0];
    lab.run_for(secs(3));
    media_event(
        &mut lab,
        MediaEvent::Digit {
            id: relay,
            digit: '5',
        },
    );
    assert!(invites(&mut lab, &dave).is_empty(), "5 is nothing");
    media_event(
        &mut lab,
        MediaEvent::Digit {
            id: relay,
            digit: '0',
        },
    );
    let invite = rings(&mut lab, &dave);
    dave.reply(&mut lab, &invite, 486, None);
    lab.run_for(ms(10));
    let bye = lab.request(peer(CARRIER), Method::Bye);
    assert_eq!(bye.method, Method::Bye, "204 busy: crossbar hangs up");
    let record = lab.machine.record();
    assert_eq!(record.disposition, Disposition::Busy);
    assert_eq!(record.queues[0].outcome, QueueOutcome::Breakout);
    assert_eq!(record.timings.queue_wait_secs, 3);
}

/// `phone` dials `code`: crossbar answers (ACKed), says something and hangs up once it has
/// been said; returns the prompt said.
fn feature_code(lab: &mut Lab<Pbx>, phone: &mut Phone, code: &str) -> String {
    phone.dial(lab, code, "");
    lab.run_for(ms(10));
    let ok = lab
        .responses(phone.at)
        .into_iter()
        .rfind(|r| r.status >= 200)
        .expect("a final response");
    assert_eq!(ok.status, 200, "crossbar answers the feature code: {ok}");
    let dialog = Dialog::from_answer(&ok);
    phone.ack(lab, &dialog, None);
    lab.run_for(ms(10));
    let relay = *relays(lab).last().expect("the feature call's relay");
    let said = plays(lab, relay);
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(!said[0].1, "said once");
    media_event(lab, MediaEvent::PlayFinished { id: relay });
    let bye = lab.request(phone.at, Method::Bye);
    assert_eq!(bye.method, Method::Bye, "crossbar hangs up once it is said");
    phone.reply(lab, &bye, 200, None);
    lab.run_for(ms(10));
    said[0].0[0].clone()
}

#[test]
fn agents_log_in_pause_with_a_reason_and_unpause_from_their_phones() {
    let mut lab = lab();
    let mut alice = phone(&mut lab, "201");
    let mut carol = phone(&mut lab, "203");
    assert_eq!(
        feature_code(&mut lab, &mut carol, "*45"),
        "agent-not-member"
    );
    assert_eq!(feature_code(&mut lab, &mut alice, "*45"), "agent-logged-in");
    let record = lab
        .machine
        .records
        .last()
        .expect("the feature call's record");
    assert_eq!(record.direction, Direction::Internal);
    assert_eq!(record.disposition, Disposition::Answered);
    assert_eq!(record.answered_by.as_deref(), Some("*45"));
    assert!(matches!(
        activities(&lab, "201")[0],
        AgentActivity::LoggedIn
    ));

    assert_eq!(feature_code(&mut lab, &mut alice, "*472"), "agent-paused");
    let paused = lab.machine.agents.last().expect("an agent event");
    assert_eq!(
        paused.activity,
        AgentActivity::Paused(AgentPause::Reason("training".to_owned()))
    );
    assert_eq!(
        paused.paused,
        Some(AgentPause::Reason("training".to_owned()))
    );
    queued(&mut lab, SUPPORT, "+447700900001", 1);
    lab.run_for(secs(5));
    assert!(invites(&mut lab, &alice).is_empty(), "paused: no offer");

    // The offer comes once 201 has hung up the unpause call.
    alice.dial(&mut lab, "*48", "");
    lab.run_for(ms(10));
    let ok = lab
        .responses(alice.at)
        .into_iter()
        .rfind(|r| r.status >= 200)
        .expect("a final response");
    let dialog = Dialog::from_answer(&ok);
    alice.ack(&mut lab, &dialog, None);
    lab.run_for(ms(10));
    assert!(matches!(
        lab.machine.agents.last().map(|e| &e.activity),
        Some(AgentActivity::Unpaused)
    ));
    assert!(
        invites(&mut lab, &alice).is_empty(),
        "201's phone is on the feature call"
    );
    let relay = *relays(&lab).last().expect("the feature call's relay");
    media_event(&mut lab, MediaEvent::PlayFinished { id: relay });
    let invite = rings(&mut lab, &alice);
    assert_eq!(caller_of(&invite), "+447700900001");

    // route explain shows what the code does.
    let (now, wall) = (lab.clock.now(), lab.clock.wall());
    let decision = lab.machine.switch.route(
        now,
        wall,
        &crossbar_routing::Identity::Extension("201".to_owned()),
        "*471",
    );
    let explained = lab.machine.switch.dial_plan().explain(&decision);
    assert_eq!(explained.agent_feature.as_deref(), Some("pause (lunch)"));
}

#[test]
fn an_agent_on_another_call_is_not_offered_until_it_hangs_up() {
    let mut lab = lab();
    let mut alice = phone(&mut lab, "201");
    let mut carol = phone(&mut lab, "203");
    log_in(&mut lab, "201");
    // 201 calls 203, who answers.
    alice.dial(&mut lab, "203", "");
    lab.run_for(ms(10));
    let to_carol = invites(&mut lab, &carol).remove(0);
    let mut carol_dialog = answers(&mut lab, &carol, &to_carol, 41_000);
    let ok = lab
        .responses(alice.at)
        .into_iter()
        .rfind(|r| r.status == 200)
        .expect("203's answer reaches 201");
    alice.ack(&mut lab, &Dialog::from_answer(&ok), None);
    lab.run_for(ms(10));

    queued(&mut lab, SUPPORT, "+447700900001", 1);
    lab.run_for(secs(30));
    assert!(
        invites(&mut lab, &alice).is_empty(),
        "201 is on a call of its own"
    );
    hangs_up(&mut lab, &mut carol, &mut carol_dialog);
    let invite = rings(&mut lab, &alice);
    assert_eq!(caller_of(&invite), "+447700900001");
    let record = record_of(&lab, "201");
    assert_eq!(record.direction, Direction::Internal);
}

#[test]
fn an_agent_state_kept_before_a_restart_is_restored_silently() {
    let mut lab = lab();
    let alice = phone(&mut lab, "201");
    let (now, wall) = (lab.clock.now(), lab.clock.wall());
    lab.machine.switch.restore_agent(
        now,
        wall,
        "201",
        &[
            AgentQueue {
                queue: "support".to_owned(),
                penalty: 0,
            },
            AgentQueue {
                queue: "billing".to_owned(),
                penalty: 0,
            },
        ],
        Some(&AgentPause::Reason("lunch".to_owned())),
    );
    lab.run_for(ms(1));
    assert!(
        lab.machine.agents.is_empty(),
        "a replay is not logged again"
    );
    queued(&mut lab, SUPPORT, "+447700900001", 1);
    assert!(invites(&mut lab, &alice).is_empty(), "paused at lunch");
    unpause(&mut lab, "201");
    assert_eq!(caller_of(&rings(&mut lab, &alice)), "+447700900001");
}

#[test]
fn a_logout_of_one_queue_and_a_login_with_another_penalty_are_changes_of_queues_in_the_log() {
    let mut lab = lab();
    log_in(&mut lab, "201");
    let (now, wall) = (lab.clock.now(), lab.clock.wall());
    lab.machine
        .switch
        .agent_logout(now, wall, "201", Some("billing"))
        .expect("logs out of billing");
    lab.run_for(ms(1));
    let event = lab.machine.agents.last().expect("an agent event");
    assert_eq!(event.activity, AgentActivity::QueuesChanged);
    assert_eq!(
        event.logged_in,
        [AgentQueue {
            queue: "support".to_owned(),
            penalty: 0
        }]
    );
    let (now, wall) = (lab.clock.now(), lab.clock.wall());
    lab.machine
        .switch
        .agent_login(now, wall, "201", Some("billing"), Some(3))
        .expect("logs in to billing");
    lab.run_for(ms(1));
    let event = lab.machine.agents.last().expect("an agent event");
    assert_eq!(event.activity, AgentActivity::QueuesChanged);
    assert_eq!(
        event.logged_in,
        [
            AgentQueue {
                queue: "support".to_owned(),
                penalty: 0
            },
            AgentQueue {
                queue: "billing".to_owned(),
                penalty: 3
            }
        ]
    );
    assert_eq!(
        activities(&lab, "201"),
        [
            AgentActivity::LoggedIn,
            AgentActivity::QueuesChanged,
            AgentActivity::QueuesChanged
        ]
    );
}

#[test]
fn agents_log_out_from_their_phones_and_a_pause_needs_a_login() {
    let mut lab = lab();
    let mut alice = phone(&mut lab, "201");
    log_in(&mut lab, "201");
    assert_eq!(
        feature_code(&mut lab, &mut alice, "*46"),
        "agent-logged-out"
    );
    let event = lab.machine.agents.last().expect("an agent event");
    assert_eq!(event.activity, AgentActivity::LoggedOut);
    assert!(event.logged_in.is_empty());
    assert_eq!(
        feature_code(&mut lab, &mut alice, "*47"),
        "agent-not-member",
        "not logged in: nothing to pause"
    );
}

#[test]
fn a_round_robin_queue_starts_after_the_agent_offered_last_even_after_a_restart() {
    let mut lab = lab();
    let mut alice = phone(&mut lab, "201");
    let mut bob = phone(&mut lab, "202");
    log_in(&mut lab, "201");
    log_in(&mut lab, "202");
    queued(&mut lab, BILLING, "+447700900001", 1);
    let first = rings(&mut lab, &alice);
    assert!(invites(&mut lab, &bob).is_empty(), "one agent at a time");
    assert_eq!(
        lab.machine.queue_round_robin,
        [("billing".to_owned(), 1)],
        "kept for a restart"
    );
    let mut dialog = answers(&mut lab, &alice, &first, 40_000);
    hangs_up(&mut lab, &mut alice, &mut dialog);
    queued(&mut lab, BILLING, "+447700900002", 2);
    let second = rings(&mut lab, &bob);
    assert_eq!(caller_of(&second), "+447700900002", "202's turn");
    let mut dialog = answers(&mut lab, &bob, &second, 40_002);
    hangs_up(&mut lab, &mut bob, &mut dialog);

    // A restarted crossbar is told where the queue stopped.
    let mut lab = self::lab();
    let (now, wall) = (lab.clock.now(), lab.clock.wall());
    lab.machine
        .switch
        .restore_queue_round_robin(now, wall, "billing", 1);
    let alice = phone(&mut lab, "201");
    let bob = phone(&mut lab, "202");
    log_in(&mut lab, "201");
    log_in(&mut lab, "202");
    queued(&mut lab, BILLING, "+447700900003", 3);
    assert_eq!(caller_of(&rings(&mut lab, &bob)), "+447700900003");
    assert!(invites(&mut lab, &alice).is_empty());
}

#[test]
fn a_caller_who_takes_the_callback_offer_hears_it_confirmed_and_crossbar_hangs_up() {
    let mut lab = lab();
    let alice = phone(&mut lab, "201");
    log_in(&mut lab, "201");
    pause(&mut lab, "201");
    queued(&mut lab, BILLING, "+447700900001", 1);
    let relay = relays(&lab)[0];
    assert_eq!(plays(&lab, relay), [(vec!["music:moh".to_owned()], true)]);
    media_event(
        &mut lab,
        MediaEvent::Digit {
            id: relay,
            digit: '1',
        },
    );
    assert_eq!(
        plays(&lab, relay).len(),
        1,
        "1 means nothing before the offer"
    );
    lab.run_for(secs(30));
    assert_eq!(
        plays(&lab, relay).last(),
        Some(&(vec!["callback-offer".to_owned(), "num-1".to_owned()], false)),
        "after 30 s: press 1 to be called back"
    );
    media_event(
        &mut lab,
        MediaEvent::Digit {
            id: relay,
            digit: '1',
        },
    );
    assert_eq!(
        plays(&lab, relay).last(),
        Some(&(vec!["callback-accepted".to_owned()], false))
    );
    media_event(&mut lab, MediaEvent::PlayFinished { id: relay });
    let bye = lab.request(peer(CARRIER), Method::Bye);
    assert_eq!(bye.method, Method::Bye, "crossbar hangs up once it is said");
    let record = lab.machine.record();
    assert_ne!(record.disposition, Disposition::Answered);
    assert_eq!(record.queues[0].outcome, QueueOutcome::Callback);
    assert_eq!(record.timings.queue_wait_secs, 30);

    // This site has no outgoing route (tests/callback.rs calls back through one): when the
    // caller's turn comes they cannot be called back, so the place is given up — recorded as
    // a failed call of the agent — and the agent is not rung.
    unpause(&mut lab, "201");
    assert!(invites(&mut lab, &alice).is_empty());
    assert!(matches!(
        activities(&lab, "201").last(),
        Some(AgentActivity::Available)
    ));
    let refused = lab.machine.records.last().expect("the callback's record");
    assert_eq!(refused.direction, Direction::Outbound);
    assert_eq!(refused.caller.number, "201");
    assert_eq!(refused.callee.number, "+447700900001");
    assert_eq!(refused.disposition, Disposition::Failed);
}
