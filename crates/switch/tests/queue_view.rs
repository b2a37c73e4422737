//! The live view of the queues ([`Switch::queue_snapshot`]) on a virtual clock: callers in the
//! order they are served with the agents ringing for them, VIPs ahead; agents logged out,
//! ringing, on a call, wrapping up, paused; and an unchanged switch gives an equal snapshot.

mod pbx;

use std::time::Duration;

use crossbar_sip::Method;
use crossbar_switch::{AgentNow, AgentPause, AgentQueue, QueueSnapshot, Switch};
use crossbar_testkit::sdp::sdp;
use crossbar_testkit::{Dialog, Lab, Phone, peer};
use pbx::Pbx;
use pbx::agents::{ms, phone, rings};

const CARRIER: &str = "198.51.100.10:5060";
const SUPPORT: &str = "+442079460600";
const GOLD: &str = "+442079460601";

/// Queue `support` (`linear`: 201, then 202; 10 s of wrap-up); callers to the gold DID are
/// VIPs.
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
wrap_up_secs = 10

[agents]
pause_reasons = { "1" = "lunch" }

[prompts]
dir = "prompts"
"#;

fn snapshot(lab: &mut Lab<Pbx>) -> QueueSnapshot {
    let (now, wall) = (lab.clock.now(), lab.clock.wall());
    lab.machine.switch.queue_snapshot(now, wall)
}

fn switch(lab: &mut Lab<Pbx>) -> &mut Switch {
    &mut lab.machine.switch
}

/// The carrier's call `call` to `did` from `caller`, answered by crossbar for the queue.
fn queued(lab: &mut Lab<Pbx>, did: &str, caller: &str, call: u32) {
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
    let call_id = format!("inbound-{call}@198.51.100.10");
    let ok = lab
        .responses(peer(CARRIER))
        .into_iter()
        .find(|r| r.status == 200 && r.headers.call_id() == Some(call_id.as_str()))
        .unwrap_or_else(|| panic!("crossbar answers call {call} for the queue"));
    let mut carrier = Phone::new("carrier", "-", CARRIER, "192.0.2.100");
    carrier.ack(lab, &Dialog::from_answer(&ok), None);
    lab.run_for(ms(10));
}

#[test]
fn the_snapshot_shows_callers_in_order_with_who_rings_for_them_and_what_each_agent_does() {
    let mut lab = pbx::lab_with(SITE);
    let mut alice = phone(&mut lab, "201");
    let _bob = phone(&mut lab, "202");

    let empty = snapshot(&mut lab);
    assert_eq!(empty.queues.len(), 1);
    assert_eq!(empty.queues[0].name, "support");
    assert!(empty.queues[0].callers.is_empty());
    let agents: Vec<(&str, &AgentNow)> = empty
        .agents
        .iter()
        .map(|a| (a.agent.as_str(), &a.state))
        .collect();
    assert_eq!(
        agents,
        [("201", &AgentNow::LoggedOut), ("202", &AgentNow::LoggedOut)],
        "static members are known, logged out"
    );

    let (now, wall) = (lab.clock.now(), lab.clock.wall());
    switch(&mut lab)
        .agent_login(now, wall, "201", Some("support"), Some(2))
        .expect("201 logs in");
    lab.run_for(ms(1));
    let logged_in = snapshot(&mut lab);
    assert_eq!(
        logged_in.agents[0].queues,
        [AgentQueue {
            queue: "support".into(),
            penalty: 2
        }]
    );
    assert!(matches!(
        logged_in.agents[0].state,
        AgentNow::Available { .. }
    ));

    // A normal caller is offered to 201; a VIP who comes next waits ahead of them.
    queued(&mut lab, SUPPORT, "+447700900001", 1);
    let offer = rings(&mut lab, &alice);
    lab.run_for(ms(500));
    queued(&mut lab, GOLD, "+447700900002", 2);
    let waiting = snapshot(&mut lab);
    let callers = &waiting.queues[0].callers;
    assert_eq!(callers.len(), 2, "{callers:#?}");
    assert_eq!(callers[0].number.as_deref(), Some("+447700900002"));
    assert!(callers[0].vip);
    assert_eq!(callers[0].position, 1);
    assert!(callers[0].offered_to.is_empty());
    assert_eq!(callers[1].number.as_deref(), Some("+447700900001"));
    assert!(!callers[1].vip);
    assert_eq!(callers[1].position, 2);
    assert_eq!(callers[1].offered_to, ["201"]);
    assert!(callers[1].joined_at < callers[0].joined_at);
    assert!(callers.iter().all(|c| c.call.is_some() && !c.callback));
    match &waiting.agents[0].state {
        AgentNow::Ringing { queue, call, .. } => {
            assert_eq!(queue, "support");
            assert_eq!(call, &callers[1].call);
        }
        other => panic!("201 rings: {other:?}"),
    }

    // Nothing happens for a second: the snapshot is the same.
    lab.run_for(Duration::from_secs(1));
    assert_eq!(snapshot(&mut lab), waiting);

    // 201 answers: the caller leaves the line, 201 is on the call.
    alice.reply(
        &mut lab,
        &offer,
        200,
        Some(sdp("192.0.2.11", 40_000, "sendrecv")),
    );
    lab.run_for(ms(10));
    let mut call = alice.dialog_as_callee(&offer);
    let talking = snapshot(&mut lab);
    assert_eq!(talking.queues[0].callers.len(), 1);
    assert_eq!(talking.queues[0].callers[0].position, 1);
    assert!(matches!(
        &talking.agents[0].state,
        AgentNow::OnCall { queue, call, .. }
            if queue == "support" && *call == waiting.queues[0].callers[1].call
    ));
    assert!(talking.agents[0].on_a_call);

    // 201 asks for a pause during the call: the view shows it pending, on the call; 201
    // thinks better of it.
    let (now, wall) = (lab.clock.now(), lab.clock.wall());
    switch(&mut lab)
        .agent_pause(now, wall, "201", Some("lunch"))
        .expect("201 asks to pause");
    assert!(matches!(
        &snapshot(&mut lab).agents[0].state,
        AgentNow::OnCall { pausing: Some(AgentPause::Reason(r)), .. } if r == "lunch"
    ));
    let now = lab.clock.now();
    switch(&mut lab)
        .agent_unpause(now, wall, "201")
        .expect("201 takes it back");
    assert!(matches!(
        &snapshot(&mut lab).agents[0].state,
        AgentNow::OnCall { pausing: None, .. }
    ));

    // 201 hangs up: wrap-up for 10 s, then the VIP is offered.
    alice.send_in_dialog(&mut lab, &mut call, Method::Bye, None);
    lab.run_for(ms(10));
    let wrapping = snapshot(&mut lab);
    assert!(
        matches!(&wrapping.agents[0].state, AgentNow::WrapUp { queue, .. } if queue == "support"),
        "{:?}",
        wrapping.agents[0]
    );
    assert!(!wrapping.agents[0].on_a_call);

    // 201 pauses for lunch (the VIP waits on).
    let (now, wall) = (lab.clock.now(), lab.clock.wall());
    switch(&mut lab)
        .agent_pause(now, wall, "201", Some("lunch"))
        .expect("201 pauses");
    lab.run_for(Duration::from_secs(11));
    let paused = snapshot(&mut lab);
    assert!(
        matches!(
            &paused.agents[0].state,
            AgentNow::Paused { reason: AgentPause::Reason(r), .. } if r == "lunch"
        ),
        "{:?}",
        paused.agents[0]
    );
    assert_eq!(paused.queues[0].callers.len(), 1);
    assert!(paused.queues[0].callers[0].offered_to.is_empty());
}
