//! The queue machine on a virtual clock: `t0` plus whole seconds.

use std::time::{Duration, Instant};

use crossbar_config::{Destination, PromptRef, QueueMember, QueueStrategy};
use crossbar_routing::QueuePlan;

use super::*;

const SEED: u64 = 7;

fn s(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// Queue `support` with these static members (penalty 0), default settings.
fn support(members: &[&str]) -> QueuePlan {
    QueuePlan::with_members("support", members)
}

fn with_strategy(strategy: QueueStrategy, members: &[&str]) -> QueuePlan {
    QueuePlan {
        strategy,
        ..support(members)
    }
}

/// The machine with `plans`, every static member logged in at `t0` in member order, one
/// second apart (so the first listed has been idle the longest).
fn staffed(plans: Vec<QueuePlan>, t0: Instant) -> Queues {
    let mut agents: Vec<String> = Vec::new();
    for plan in &plans {
        for member in &plan.members {
            if !agents.contains(&member.extension) {
                agents.push(member.extension.clone());
            }
        }
    }
    let mut queues = Queues::new(plans, SEED, t0);
    for (i, agent) in agents.iter().enumerate() {
        let at = t0 + s(u64::try_from(i).expect("few agents"));
        queues
            .login(agent, LoginTo::MemberQueues, at)
            .unwrap_or_else(|e| panic!("{agent} logs in: {e}"));
    }
    queues
}

fn join(queues: &mut Queues, caller: CallSeq, now: Instant) -> Vec<QueueAction> {
    queues
        .join("support", caller, Priority::Normal, now)
        .unwrap_or_else(|e| panic!("caller {caller} joins: {e}"))
}

/// The offers made: (caller, agent).
fn offers(actions: &[QueueAction]) -> Vec<(CallSeq, String)> {
    actions
        .iter()
        .filter_map(|a| match a {
            QueueAction::Offer { caller, agent, .. } => Some((*caller, agent.clone())),
            _ => None,
        })
        .collect()
}

/// The one offer made.
fn only_offer(actions: &[QueueAction]) -> (CallSeq, String) {
    match &offers(actions)[..] {
        [one] => one.clone(),
        other => panic!("one offer, not {other:?}: {actions:?}"),
    }
}

fn offer(caller: CallSeq, agent: &str) -> (CallSeq, String) {
    (caller, agent.to_owned())
}

/// The actions without the agent event log (state changes, changes of queues, missed
/// offers) and the deadline.
fn calls(actions: Vec<QueueAction>) -> Vec<QueueAction> {
    actions
        .into_iter()
        .filter(|a| {
            !matches!(
                a,
                QueueAction::AgentStateChanged { .. }
                    | QueueAction::AgentQueuesChanged { .. }
                    | QueueAction::Missed { .. }
                    | QueueAction::WaitUntil(_)
            )
        })
        .collect()
}

/// The agent state changes: (agent, state).
fn changes(actions: &[QueueAction]) -> Vec<(String, AgentState)> {
    actions
        .iter()
        .filter_map(|a| match a {
            QueueAction::AgentStateChanged { agent, state, .. } => {
                Some((agent.clone(), state.clone()))
            }
            _ => None,
        })
        .collect()
}

/// The agents whose queues changed while their state did not.
fn queue_changes(actions: &[QueueAction]) -> Vec<String> {
    actions
        .iter()
        .filter_map(|a| match a {
            QueueAction::AgentQueuesChanged { agent, .. } => Some(agent.clone()),
            _ => None,
        })
        .collect()
}

/// `agent` logs in to `queue` by name (as the API does), with `penalty`.
fn login_to(
    queues: &mut Queues,
    agent: &str,
    queue: &str,
    penalty: Option<u32>,
    now: Instant,
) -> Vec<QueueAction> {
    queues
        .login(
            agent,
            LoginTo::Queue {
                name: queue,
                penalty,
            },
            now,
        )
        .unwrap_or_else(|e| panic!("{agent} logs in to {queue}: {e}"))
}

fn state(queues: &Queues, agent: &str) -> AgentState {
    queues
        .agent_state(agent)
        .unwrap_or_else(|| panic!("agent {agent} is known"))
        .clone()
}

fn is_available(queues: &Queues, agent: &str) -> bool {
    matches!(state(queues, agent), AgentState::Available { .. })
}

/// `agent` answers `caller`, talks `talk` seconds and hangs up; returns the actions of the
/// hang-up.
fn serve(
    queues: &mut Queues,
    caller: CallSeq,
    agent: &str,
    answered: Instant,
    talk: u64,
) -> Vec<QueueAction> {
    let connect = queues.agent_answered(caller, agent, answered);
    assert!(
        connect
            .iter()
            .any(|a| matches!(a, QueueAction::Connect { caller: c, agent: g, .. } if *c == caller && g == agent)),
        "{agent} is connected to {caller}: {connect:?}"
    );
    queues.agent_call_ended(agent, answered + s(talk))
}

fn overflow(
    caller: CallSeq,
    destination: Option<Destination>,
    why: OverflowReason,
    waited: u64,
) -> QueueAction {
    QueueAction::Overflow {
        caller,
        destination,
        why,
        waited: s(waited),
    }
}

fn ext(number: &str) -> Destination {
    Destination::Extension(number.to_owned())
}

#[test]
fn a_queue_of_the_configuration_is_served_as_the_dial_plan_compiled_it() {
    let text = r#"
[[extension]]
number = "201"
secret = "secret-201-abcdef"

[[extension]]
number = "202"
secret = "secret-202-abcdef"

[[queue]]
name = "support"
strategy = "linear"
members = [{ extension = "201", penalty = 1 }, "202"]
agent_ring_secs = 20
max_callers = 1
on_full = "ext:201"
"#;
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/crossbar.toml");
    let config = crossbar_config::Config::parse(text, &path).unwrap_or_else(|e| panic!("{e}"));
    let plan = crossbar_routing::DialPlan::compile(&config).unwrap_or_else(|e| panic!("{e}"));
    let t0 = Instant::now();
    let mut queues = staffed(vec![plan.queue("support").expect("queue").clone()], t0);
    let actions = join(&mut queues, 1, t0 + s(10));
    assert!(
        actions.contains(&QueueAction::Offer {
            caller: 1,
            agent: "202".to_owned(),
            until: t0 + s(30),
            callback: false
        }),
        "linear, but 201 is in tier 1: {actions:?}"
    );
    assert_eq!(
        calls(join(&mut queues, 2, t0 + s(11))),
        [overflow(2, Some(ext("201")), OverflowReason::Full, 0)]
    );
}

// ---- strategies ----

#[test]
fn longest_idle_offers_the_agent_free_the_longest() {
    let t0 = Instant::now();
    let mut queues = staffed(vec![support(&["201", "202", "203"])], t0);
    // 201 logged in first: free the longest.
    assert_eq!(offers(&join(&mut queues, 1, t0 + s(10))), [offer(1, "201")]);
    serve(&mut queues, 1, "201", t0 + s(12), 30);
    // 201 is free again since 42; 202 since 1.
    assert_eq!(offers(&join(&mut queues, 2, t0 + s(50))), [offer(2, "202")]);
    assert_eq!(offers(&join(&mut queues, 3, t0 + s(51))), [offer(3, "203")]);
    assert_eq!(offers(&join(&mut queues, 4, t0 + s(52))), [offer(4, "201")]);
}

#[test]
fn an_unanswered_offer_does_not_cost_an_agent_its_place_as_longest_idle() {
    let t0 = Instant::now();
    let mut queues = staffed(vec![support(&["201", "202"])], t0);
    join(&mut queues, 1, t0 + s(10));
    queues.agent_failed(1, "201", OfferFailure::Busy, t0 + s(11));
    // Caller 1 waits out the retry; caller 2 takes the longest idle agent, still 201.
    assert_eq!(offers(&join(&mut queues, 2, t0 + s(12))), [offer(2, "201")]);
}

#[test]
fn linear_offers_the_first_free_agent_in_member_order() {
    let t0 = Instant::now();
    let plan = with_strategy(QueueStrategy::Linear, &["203", "201", "202"]);
    let mut queues = staffed(vec![plan], t0);
    assert_eq!(offers(&join(&mut queues, 1, t0 + s(10))), [offer(1, "203")]);
    assert_eq!(offers(&join(&mut queues, 2, t0 + s(11))), [offer(2, "201")]);
    serve(&mut queues, 1, "203", t0 + s(12), 5);
    // 203 is free again and first in the list, however briefly it has been idle.
    assert_eq!(offers(&join(&mut queues, 3, t0 + s(20))), [offer(3, "203")]);
}

#[test]
fn round_robin_goes_on_after_the_agent_offered_last_and_its_position_can_be_restored() {
    let t0 = Instant::now();
    let plan = with_strategy(QueueStrategy::RoundRobin, &["201", "202", "203"]);
    let mut queues = staffed(vec![plan.clone()], t0);
    let mut offered = Vec::new();
    for caller in 1..=4 {
        let now = t0 + s(10 * caller);
        let actions = join(&mut queues, caller, now);
        let (_, agent) = only_offer(&actions);
        offered.push(agent.clone());
        serve(&mut queues, caller, &agent, now, 1);
    }
    // Each agent free every time: the turn still goes round.
    assert_eq!(offered, ["201", "202", "203", "201"]);
    assert_eq!(queues.round_robin_next("support"), Some(1));

    // After a restart, the kept position is where the turn starts.
    let mut restarted = staffed(vec![plan], t0);
    restarted.set_round_robin_next("support", 2);
    assert_eq!(
        offers(&join(&mut restarted, 9, t0 + s(10))),
        [offer(9, "203")]
    );
}

#[test]
fn round_robin_passes_over_a_busy_agent_and_goes_on_from_the_one_offered() {
    let t0 = Instant::now();
    let plan = with_strategy(QueueStrategy::RoundRobin, &["201", "202", "203"]);
    let mut queues = staffed(vec![plan], t0);
    assert_eq!(offers(&join(&mut queues, 1, t0 + s(10))), [offer(1, "201")]);
    queues.agent_answered(1, "201", t0 + s(11));
    assert_eq!(offers(&join(&mut queues, 2, t0 + s(12))), [offer(2, "202")]);
    queues.agent_answered(2, "202", t0 + s(13));
    queues.agent_call_ended("201", t0 + s(14));
    // Next in turn after 202 is 203.
    assert_eq!(offers(&join(&mut queues, 3, t0 + s(15))), [offer(3, "203")]);
    // Then 201 (202 is still on its call).
    assert_eq!(offers(&join(&mut queues, 4, t0 + s(16))), [offer(4, "201")]);
}

/// Queue `support` with `fewest_calls`: 201 answers two calls, 202 one, and 201 has been
/// idle the longer when caller 4 comes (a new day first, with `new_day`).
fn fewest_calls_day(new_day: bool) -> Vec<(CallSeq, String)> {
    let t0 = Instant::now();
    let plan = with_strategy(QueueStrategy::FewestCalls, &["201", "202"]);
    let mut queues = staffed(vec![plan], t0);
    // Both at 0 calls: the longer idle, 201.
    assert_eq!(offers(&join(&mut queues, 1, t0 + s(10))), [offer(1, "201")]);
    serve(&mut queues, 1, "201", t0 + s(11), 5);
    // 201 has 1: 202.
    assert_eq!(offers(&join(&mut queues, 2, t0 + s(20))), [offer(2, "202")]);
    queues.agent_answered(2, "202", t0 + s(21));
    // The only one free: 201.
    assert_eq!(offers(&join(&mut queues, 3, t0 + s(22))), [offer(3, "201")]);
    serve(&mut queues, 3, "201", t0 + s(23), 1); // free since 24, 2 calls
    queues.agent_call_ended("202", t0 + s(30)); // free since 30, 1 call
    if new_day {
        queues.new_day();
    }
    offers(&join(&mut queues, 4, t0 + s(40)))
}

#[test]
fn fewest_calls_offers_the_agent_who_answered_the_fewest_today() {
    assert_eq!(fewest_calls_day(false), [offer(4, "202")]);
}

#[test]
fn a_new_day_starts_the_calls_answered_again_from_none() {
    assert_eq!(
        fewest_calls_day(true),
        [offer(4, "201")],
        "all at 0: the longest idle"
    );
}

#[test]
fn random_picks_a_free_agent_from_the_seed_the_same_way_every_time() {
    let t0 = Instant::now();
    let plan = with_strategy(QueueStrategy::Random, &["201", "202", "203", "204"]);
    let picks = || {
        let mut queues = staffed(vec![plan.clone()], t0);
        (1..=40)
            .map(|caller| {
                let now = t0 + s(10 + caller);
                let actions = join(&mut queues, caller, now);
                let (_, agent) = only_offer(&actions);
                serve(&mut queues, caller, &agent, now, 0);
                agent.clone()
            })
            .collect::<Vec<String>>()
    };
    let first = picks();
    assert_eq!(picks(), first, "the same seed, the same picks");
    for agent in ["201", "202", "203", "204"] {
        assert!(
            first.iter().any(|a| a == agent),
            "{agent} is drawn: {first:?}"
        );
    }
}

#[test]
fn random_never_picks_an_agent_who_is_not_free() {
    let t0 = Instant::now();
    let plan = with_strategy(QueueStrategy::Random, &["201", "202", "203"]);
    let mut queues = staffed(vec![plan], t0);
    queues
        .pause("201", PauseReason::Unspecified, t0 + s(5))
        .expect("201 pauses");
    let mut offered = Vec::new();
    for caller in 1..=2 {
        offered.extend(offers(&join(&mut queues, caller, t0 + s(10))));
    }
    let mut agents: Vec<&str> = offered.iter().map(|(_, a)| a.as_str()).collect();
    agents.sort_unstable();
    assert_eq!(agents, ["202", "203"]);
}

#[test]
fn ring_all_rings_every_free_agent_and_the_first_to_answer_takes_the_caller() {
    let t0 = Instant::now();
    let plan = with_strategy(QueueStrategy::RingAll, &["201", "202", "203"]);
    let mut queues = staffed(vec![plan], t0);
    queues
        .pause("203", PauseReason::Unspecified, t0 + s(5))
        .expect("203 pauses");
    let actions = join(&mut queues, 1, t0 + s(10));
    assert_eq!(offers(&actions), [offer(1, "201"), offer(1, "202")]);
    // 201 is busy: 202 still rings, no retry yet.
    assert!(offers(&queues.agent_failed(1, "201", OfferFailure::Busy, t0 + s(11))).is_empty());
    assert_eq!(
        calls(queues.agent_answered(1, "202", t0 + s(12))),
        [QueueAction::Connect {
            caller: 1,
            agent: "202".to_owned(),
            waited: s(2)
        }]
    );
    let actions = join(&mut queues, 2, t0 + s(13));
    assert_eq!(offers(&actions), [offer(2, "201")], "202 is on a call");

    // Two agents ringing: the answer of one cancels the other.
    let mut queues = staffed(
        vec![with_strategy(QueueStrategy::RingAll, &["201", "202"])],
        t0,
    );
    join(&mut queues, 1, t0 + s(10));
    let actions = queues.agent_answered(1, "201", t0 + s(14));
    assert_eq!(
        calls(actions.clone()),
        [
            QueueAction::Connect {
                caller: 1,
                agent: "201".to_owned(),
                waited: s(4)
            },
            QueueAction::CancelOffer {
                caller: 1,
                agent: "202".to_owned()
            },
        ]
    );
    assert!(is_available(&queues, "202"));
    assert_eq!(
        state(&queues, "202"),
        AgentState::Available {
            idle_since: t0 + s(1)
        },
        "a ring that was called off keeps the agent's idle time"
    );
}

// ---- tiers ----

#[test]
fn a_higher_penalty_is_offered_only_when_no_lower_one_is_free() {
    let t0 = Instant::now();
    let mut plan = support(&[]);
    plan.members = vec![
        QueueMember {
            extension: "203".to_owned(),
            penalty: 1,
        },
        QueueMember {
            extension: "201".to_owned(),
            penalty: 0,
        },
        QueueMember {
            extension: "204".to_owned(),
            penalty: 2,
        },
        QueueMember {
            extension: "202".to_owned(),
            penalty: 0,
        },
    ];
    // 203 logs in first: it has been idle the longest, but it is in tier 1.
    let mut queues = staffed(vec![plan], t0);
    assert_eq!(offers(&join(&mut queues, 1, t0 + s(10))), [offer(1, "201")]);
    assert_eq!(offers(&join(&mut queues, 2, t0 + s(11))), [offer(2, "202")]);
    assert_eq!(offers(&join(&mut queues, 3, t0 + s(12))), [offer(3, "203")]);
    assert_eq!(offers(&join(&mut queues, 4, t0 + s(13))), [offer(4, "204")]);

    // With tier 0 free again, it is offered first.
    queues.agent_answered(1, "201", t0 + s(14));
    queues.agent_answered(3, "203", t0 + s(14));
    queues.agent_call_ended("203", t0 + s(15));
    queues.agent_call_ended("201", t0 + s(16));
    // 203 has been idle longer (since 15) than 201 (since 16), but 201 is in tier 0.
    assert_eq!(offers(&join(&mut queues, 5, t0 + s(20))), [offer(5, "201")]);
}

#[test]
fn ring_all_rings_only_the_lowest_tier_with_anyone_free() {
    let t0 = Instant::now();
    let mut plan = with_strategy(QueueStrategy::RingAll, &["201", "202"]);
    plan.members.push(QueueMember {
        extension: "203".to_owned(),
        penalty: 1,
    });
    let mut queues = staffed(vec![plan], t0);
    assert_eq!(
        offers(&join(&mut queues, 1, t0 + s(10))),
        [offer(1, "201"), offer(1, "202")]
    );
    assert_eq!(offers(&join(&mut queues, 2, t0 + s(11))), [offer(2, "203")]);
}

// ---- callers in order ----

#[test]
fn vip_callers_go_ahead_of_normal_ones_and_each_priority_is_first_come_first_served() {
    let t0 = Instant::now();
    let mut queues = staffed(vec![support(&["201"])], t0);
    join(&mut queues, 1, t0 + s(10)); // offered to 201 at once
    queues.agent_answered(1, "201", t0 + s(11));
    let joined = |actions: Vec<QueueAction>| -> usize {
        match actions.first() {
            Some(QueueAction::Joined { position, .. }) => *position,
            other => panic!("joined: {other:?}"),
        }
    };
    assert_eq!(joined(join(&mut queues, 2, t0 + s(12))), 1);
    assert_eq!(joined(join(&mut queues, 3, t0 + s(13))), 2);
    let vip = |queues: &mut Queues, caller, at| {
        queues
            .join("support", caller, Priority::Vip, at)
            .expect("joins")
    };
    assert_eq!(joined(vip(&mut queues, 4, t0 + s(14))), 1);
    assert_eq!(joined(vip(&mut queues, 5, t0 + s(15))), 2);
    assert_eq!(joined(join(&mut queues, 6, t0 + s(16))), 5);
    assert_eq!(queues.line("support"), Some(vec![4, 5, 2, 3, 6]));

    // 201 serves them in that order.
    let mut served = Vec::new();
    let mut now = t0 + s(20);
    let mut actions = queues.agent_call_ended("201", now);
    while let [(caller, _)] = &offers(&actions)[..] {
        let caller = *caller;
        served.push(caller);
        now += s(5);
        actions = serve(&mut queues, caller, "201", now, 5);
    }
    assert_eq!(served, [4, 5, 2, 3, 6]);
}

#[test]
fn an_agent_becoming_free_is_offered_the_longest_waiting_caller_in_the_same_call() {
    let t0 = Instant::now();
    let mut queues = staffed(vec![support(&["201", "202"])], t0);
    join(&mut queues, 1, t0 + s(10));
    join(&mut queues, 2, t0 + s(10));
    queues.agent_answered(1, "201", t0 + s(11));
    queues.agent_answered(2, "202", t0 + s(11));
    for caller in 3..=5 {
        assert!(offers(&join(&mut queues, caller, t0 + s(12 + caller))).is_empty());
    }
    let actions = queues.agent_call_ended("202", t0 + s(40));
    assert_eq!(
        calls(actions.clone()),
        [QueueAction::Offer {
            caller: 3,
            agent: "202".to_owned(),
            until: t0 + s(55),
            callback: false
        }]
    );
    assert_eq!(
        changes(&actions),
        [
            (
                "202".to_owned(),
                AgentState::Available {
                    idle_since: t0 + s(40)
                }
            ),
            (
                "202".to_owned(),
                AgentState::Offered {
                    caller: 3,
                    queue: "support".to_owned(),
                    until: t0 + s(55)
                }
            ),
        ]
    );
    assert_eq!(queues.position(4), Some(2));
}

#[test]
fn an_abandoned_caller_leaves_the_line_and_those_behind_move_up() {
    let t0 = Instant::now();
    let mut queues = staffed(vec![support(&["201"])], t0);
    join(&mut queues, 1, t0 + s(10));
    queues.agent_answered(1, "201", t0 + s(10));
    for caller in 2..=4 {
        join(&mut queues, caller, t0 + s(20));
    }
    assert_eq!(
        calls(queues.caller_left(2, t0 + s(23))),
        [QueueAction::Abandoned {
            caller: 2,
            waited: s(3),
            short: true
        }]
    );
    assert_eq!(queues.position(3), Some(1));
    assert_eq!(queues.position(4), Some(2));
    assert_eq!(queues.position(2), None);
    assert_eq!(
        calls(queues.caller_left(4, t0 + s(80))),
        [QueueAction::Abandoned {
            caller: 4,
            waited: s(60),
            short: false
        }]
    );
    assert!(
        calls(queues.caller_left(4, t0 + s(81))).is_empty(),
        "gone already"
    );
}

#[test]
fn a_caller_who_hangs_up_while_an_agent_rings_frees_the_agent_for_the_next() {
    let t0 = Instant::now();
    let mut queues = staffed(vec![support(&["201"])], t0);
    join(&mut queues, 1, t0 + s(10));
    join(&mut queues, 2, t0 + s(11));
    let actions = queues.caller_left(1, t0 + s(12));
    assert_eq!(
        calls(actions),
        [
            QueueAction::CancelOffer {
                caller: 1,
                agent: "201".to_owned()
            },
            QueueAction::Abandoned {
                caller: 1,
                waited: s(2),
                short: true
            },
            QueueAction::Offer {
                caller: 2,
                agent: "201".to_owned(),
                until: t0 + s(27),
                callback: false
            },
        ]
    );
    // The ring of 201 for caller 1 was not 201's failure.
    assert_eq!(queues.agents.get("201").map(|a| a.unanswered), Some(0));
}

// ---- offers that fail ----

#[test]
fn an_offer_rings_out_after_agent_ring_secs_and_the_caller_is_offered_again_after_retry_secs() {
    let t0 = Instant::now();
    let plan = QueuePlan {
        agent_ring_secs: 15,
        retry_secs: 5,
        ..support(&["201"])
    };
    let mut queues = staffed(vec![plan], t0);
    let actions = join(&mut queues, 1, t0 + s(10));
    assert_eq!(actions.last(), Some(&QueueAction::WaitUntil(t0 + s(25))));
    assert!(
        calls(queues.timeout(t0 + s(24))).is_empty(),
        "still ringing"
    );
    let actions = queues.timeout(t0 + s(25));
    assert_eq!(
        calls(actions.clone()),
        [QueueAction::CancelOffer {
            caller: 1,
            agent: "201".to_owned()
        }]
    );
    assert_eq!(actions.last(), Some(&QueueAction::WaitUntil(t0 + s(30))));
    assert!(is_available(&queues, "201"));
    let actions = queues.timeout(t0 + s(30));
    assert_eq!(offers(&actions), [offer(1, "201")]);
}

#[test]
fn an_agent_who_left_a_caller_unanswered_is_offered_that_caller_after_the_others() {
    let t0 = Instant::now();
    let plan = QueuePlan {
        retry_secs: 0,
        ..support(&["201", "202"])
    };
    let mut queues = staffed(vec![plan], t0);
    assert_eq!(offers(&join(&mut queues, 1, t0 + s(10))), [offer(1, "201")]);
    // No retry wait: 202 at once, though 201 is still the longest idle.
    let actions = queues.agent_failed(1, "201", OfferFailure::NoAnswer, t0 + s(12));
    assert_eq!(offers(&actions), [offer(1, "202")]);
    // Both tried: the longest idle again.
    let actions = queues.agent_failed(1, "202", OfferFailure::Rejected, t0 + s(13));
    assert_eq!(offers(&actions), [offer(1, "201")]);
}

#[test]
fn an_agent_is_paused_after_auto_pause_after_unanswered_offers_in_a_row() {
    let t0 = Instant::now();
    let plan = QueuePlan {
        auto_pause_after: Some(2),
        retry_secs: 0,
        ..support(&["201", "202"])
    };
    let mut queues = staffed(vec![plan], t0);
    join(&mut queues, 1, t0 + s(10)); // 201
    queues.agent_failed(1, "201", OfferFailure::NoAnswer, t0 + s(25)); // → 202
    queues.agent_answered(1, "202", t0 + s(26));
    join(&mut queues, 2, t0 + s(30)); // 201 again (202 on a call)
    // Any unanswered offer counts: here the phone is not registered.
    let actions = queues.agent_failed(2, "201", OfferFailure::Unreachable, t0 + s(45));
    assert_eq!(
        changes(&actions)[0],
        (
            "201".to_owned(),
            AgentState::Paused {
                reason: PauseReason::Unanswered { offers: 2 },
                since: t0 + s(45)
            }
        )
    );
    assert!(offers(&actions).is_empty(), "nobody else is free");
    // Paused: not offered when the caller's retry comes round.
    assert!(offers(&queues.timeout(t0 + s(50))).is_empty());
    // Unpausing forgets the count and offers the waiting caller at once.
    let actions = queues.unpause("201", t0 + s(60)).expect("logged in");
    assert_eq!(offers(&actions), [offer(2, "201")]);
    queues.agent_failed(2, "201", OfferFailure::NoAnswer, t0 + s(61));
    assert!(
        !matches!(state(&queues, "201"), AgentState::Paused { .. }),
        "one unanswered since the pause"
    );
}

#[test]
fn an_answer_resets_the_unanswered_count() {
    let t0 = Instant::now();
    let plan = QueuePlan {
        auto_pause_after: Some(2),
        retry_secs: 0,
        ..support(&["201"])
    };
    let mut queues = staffed(vec![plan], t0);
    join(&mut queues, 1, t0 + s(10));
    queues.agent_failed(1, "201", OfferFailure::NoAnswer, t0 + s(11)); // offered again
    serve(&mut queues, 1, "201", t0 + s(12), 10);
    join(&mut queues, 2, t0 + s(30));
    // The first unanswered offer since the answer: offered again (no retry wait), not paused.
    queues.agent_failed(2, "201", OfferFailure::Busy, t0 + s(31));
    assert_eq!(
        state(&queues, "201"),
        AgentState::Offered {
            caller: 2,
            queue: "support".to_owned(),
            until: t0 + s(46)
        }
    );
}

#[test]
fn an_answer_after_the_offer_ended_is_refused() {
    let t0 = Instant::now();
    let mut queues = staffed(vec![support(&["201", "202"])], t0);
    join(&mut queues, 1, t0 + s(10)); // 201
    queues.timeout(t0 + s(25)); // rang out
    assert_eq!(
        calls(queues.agent_answered(1, "201", t0 + s(25))),
        [QueueAction::CancelOffer {
            caller: 1,
            agent: "201".to_owned()
        }]
    );
    assert_eq!(queues.position(1), Some(1), "still waiting");
    assert!(is_available(&queues, "201"));
    assert!(
        calls(queues.agent_failed(1, "201", OfferFailure::NoAnswer, t0 + s(26))).is_empty(),
        "a late failure changes nothing"
    );
}

// ---- agents' states ----

#[test]
fn wrap_up_keeps_an_agent_from_offers_until_it_is_over() {
    let t0 = Instant::now();
    let plan = QueuePlan {
        wrap_up_secs: 10,
        ..support(&["201"])
    };
    let mut queues = staffed(vec![plan], t0);
    join(&mut queues, 1, t0 + s(10));
    queues.agent_answered(1, "201", t0 + s(11));
    join(&mut queues, 2, t0 + s(12));
    let actions = queues.agent_call_ended("201", t0 + s(40));
    assert_eq!(
        changes(&actions),
        [(
            "201".to_owned(),
            AgentState::WrapUp {
                queue: "support".to_owned(),
                until: t0 + s(50)
            }
        )]
    );
    assert!(offers(&actions).is_empty(), "no offer during wrap-up");
    assert_eq!(actions.last(), Some(&QueueAction::WaitUntil(t0 + s(50))));
    assert!(offers(&queues.timeout(t0 + s(49))).is_empty());
    let actions = queues.timeout(t0 + s(50));
    assert_eq!(offers(&actions), [offer(2, "201")]);
    assert_eq!(
        changes(&actions)[0],
        (
            "201".to_owned(),
            AgentState::Available {
                idle_since: t0 + s(50)
            }
        )
    );
}

#[test]
fn a_paused_agent_gets_no_offers_and_a_pause_calls_off_a_ringing_one() {
    let t0 = Instant::now();
    let mut queues = staffed(vec![support(&["201", "202"])], t0);
    let actions = queues
        .pause("201", PauseReason::Named("lunch".to_owned()), t0 + s(5))
        .expect("logged in");
    assert_eq!(
        changes(&actions),
        [(
            "201".to_owned(),
            AgentState::Paused {
                reason: PauseReason::Named("lunch".to_owned()),
                since: t0 + s(5)
            }
        )]
    );
    assert_eq!(offers(&join(&mut queues, 1, t0 + s(10))), [offer(1, "202")]);
    assert!(offers(&join(&mut queues, 2, t0 + s(11))).is_empty());
    // 202 pauses while it rings for caller 1: the offer is called off, no retry wait for
    // the caller, and it is not 202's failure.
    let actions = queues
        .pause("202", PauseReason::Unspecified, t0 + s(12))
        .expect("logged in");
    assert_eq!(
        calls(actions),
        [QueueAction::CancelOffer {
            caller: 1,
            agent: "202".to_owned()
        }]
    );
    // Unpausing 201 offers it the first caller at once.
    assert_eq!(
        offers(&queues.unpause("201", t0 + s(13)).expect("logged in")),
        [offer(1, "201")]
    );
}

#[test]
fn a_pause_asked_for_during_a_call_begins_when_it_ends() {
    let t0 = Instant::now();
    let plan = QueuePlan {
        wrap_up_secs: 10,
        ..support(&["201"])
    };
    let mut queues = staffed(vec![plan], t0);
    join(&mut queues, 1, t0 + s(10));
    queues.agent_answered(1, "201", t0 + s(11));
    let actions = queues
        .pause("201", PauseReason::Named("training".to_owned()), t0 + s(20))
        .expect("logged in");
    assert!(changes(&actions).is_empty(), "still on the call");
    join(&mut queues, 2, t0 + s(21));
    let actions = queues.agent_call_ended("201", t0 + s(30));
    assert_eq!(
        changes(&actions),
        [(
            "201".to_owned(),
            AgentState::Paused {
                reason: PauseReason::Named("training".to_owned()),
                since: t0 + s(30)
            }
        )]
    );
    assert!(offers(&actions).is_empty());
}

#[test]
fn a_dynamic_agent_logs_in_to_a_queue_and_is_offered_after_the_static_members() {
    let t0 = Instant::now();
    let plan = with_strategy(QueueStrategy::Linear, &["201"]);
    let mut queues = Queues::new(vec![plan], SEED, t0);
    assert_eq!(
        queues.login("205", LoginTo::MemberQueues, t0),
        Err(QueueError::NotAMember("205".to_owned()))
    );
    assert_eq!(
        queues.login(
            "205",
            LoginTo::Queue {
                name: "sales",
                penalty: None
            },
            t0
        ),
        Err(QueueError::NoSuchQueue("sales".to_owned()))
    );
    let login = LoginTo::Queue {
        name: "support",
        penalty: None,
    };
    let actions = queues.login("205", login, t0).expect("logs in");
    assert_eq!(
        changes(&actions),
        [("205".to_owned(), AgentState::Available { idle_since: t0 })]
    );
    queues
        .login("201", LoginTo::MemberQueues, t0 + s(1))
        .expect("member");
    assert_eq!(offers(&join(&mut queues, 1, t0 + s(10))), [offer(1, "201")]);
    assert_eq!(offers(&join(&mut queues, 2, t0 + s(11))), [offer(2, "205")]);

    // Logging out during a call: logged out when it ends, and a dynamic member leaves.
    queues.agent_answered(2, "205", t0 + s(12));
    let actions = queues.logout("205", None, t0 + s(13)).expect("logs out");
    assert!(changes(&actions).is_empty(), "still on the call");
    let actions = queues.agent_call_ended("205", t0 + s(20));
    assert_eq!(
        changes(&actions),
        [("205".to_owned(), AgentState::LoggedOut)]
    );
    assert_eq!(queues.queues[0].members, ["201"]);
    assert_eq!(
        queues.pause("205", PauseReason::Unspecified, t0 + s(21)),
        Err(QueueError::NotLoggedIn("205".to_owned()))
    );
}

#[test]
fn a_logout_calls_off_the_offer_ringing_for_the_agent() {
    let t0 = Instant::now();
    let mut queues = staffed(vec![support(&["201", "202"])], t0);
    join(&mut queues, 1, t0 + s(10)); // 201
    queues.agent_answered(1, "201", t0 + s(10));
    join(&mut queues, 2, t0 + s(11)); // 202
    let actions = queues.logout("202", None, t0 + s(12)).expect("logs out");
    assert_eq!(
        calls(actions.clone()),
        [QueueAction::CancelOffer {
            caller: 2,
            agent: "202".to_owned()
        }]
    );
    assert_eq!(
        changes(&actions),
        [("202".to_owned(), AgentState::LoggedOut)]
    );
    assert_eq!(queues.position(2), Some(1));
    // The caller is offered to the next agent free at once (no retry wait).
    assert_eq!(
        offers(&queues.agent_call_ended("201", t0 + s(13))),
        [offer(2, "201")]
    );
}

#[test]
fn logging_out_of_one_queue_calls_off_its_offer_and_leaves_the_agent_to_the_others() {
    let t0 = Instant::now();
    let sales = QueuePlan::with_members("sales", &["201"]);
    let mut queues = staffed(vec![support(&["201"]), sales], t0);
    join(&mut queues, 1, t0 + s(10)); // 201 rings for support's caller
    queues
        .join("sales", 2, Priority::Normal, t0 + s(11))
        .expect("joins sales");
    let actions = queues
        .logout("201", Some("support"), t0 + s(12))
        .expect("logs out of support");
    assert_eq!(
        calls(actions),
        [
            QueueAction::CancelOffer {
                caller: 1,
                agent: "201".to_owned()
            },
            QueueAction::Offer {
                caller: 2,
                agent: "201".to_owned(),
                until: t0 + s(27),
                callback: false
            },
        ]
    );
    assert_eq!(queues.position(1), Some(1), "support's caller waits on");
    assert_eq!(
        queues.logout("201", Some("billing"), t0 + s(13)),
        Err(QueueError::NoSuchQueue("billing".to_owned()))
    );
    assert_eq!(queues.logout("299", None, t0 + s(13)), Ok(vec![]), "nobody");
}

// ---- agents' queues ----

#[test]
fn a_login_to_one_more_queue_is_reported_as_a_change_of_queues_before_its_offer() {
    let t0 = Instant::now();
    let sales = QueuePlan {
        join_empty: true,
        ..QueuePlan::with_members("sales", &[])
    };
    let mut queues = staffed(vec![support(&["201"]), sales], t0);
    queues
        .join("sales", 1, Priority::Normal, t0 + s(5))
        .expect("joins sales (join_empty)");
    let actions = login_to(&mut queues, "201", "sales", Some(2), t0 + s(10));
    assert_eq!(
        actions[0],
        QueueAction::AgentQueuesChanged {
            agent: "201".to_owned(),
            at: t0 + s(10)
        },
        "the change of queues comes first: {actions:?}"
    );
    assert_eq!(queue_changes(&actions), ["201"], "once: {actions:?}");
    assert_eq!(offers(&actions), [offer(1, "201")]);
    assert_eq!(
        changes(&actions),
        [(
            "201".to_owned(),
            AgentState::Offered {
                caller: 1,
                queue: "sales".to_owned(),
                until: t0 + s(25)
            }
        )],
        "the offer is the only state change"
    );
    assert_eq!(queues.logged_in_to("201"), [("support", 0), ("sales", 2)]);
}

#[test]
fn a_login_from_logged_out_is_reported_by_the_state_change_alone() {
    let t0 = Instant::now();
    let sales = QueuePlan::with_members("sales", &["201"]);
    let mut queues = Queues::new(vec![support(&["201"]), sales], SEED, t0);
    let actions = queues
        .login("201", LoginTo::MemberQueues, t0)
        .expect("a member");
    assert_eq!(
        changes(&actions),
        [("201".to_owned(), AgentState::Available { idle_since: t0 })]
    );
    assert!(queue_changes(&actions).is_empty(), "{actions:?}");
}

#[test]
fn a_penalty_changed_by_a_login_is_a_change_of_queues_and_the_same_login_again_is_none() {
    let t0 = Instant::now();
    let mut queues = staffed(vec![support(&["201"])], t0);
    let actions = login_to(&mut queues, "201", "support", Some(3), t0 + s(10));
    assert_eq!(
        actions,
        [QueueAction::AgentQueuesChanged {
            agent: "201".to_owned(),
            at: t0 + s(10)
        }]
    );
    assert_eq!(queues.logged_in_to("201"), [("support", 3)]);
    // Nothing changes: nothing is reported.
    assert_eq!(
        login_to(&mut queues, "201", "support", Some(3), t0 + s(11)),
        []
    );
    assert_eq!(
        login_to(&mut queues, "201", "support", None, t0 + s(12)),
        []
    );
    assert_eq!(
        queues.login("201", LoginTo::MemberQueues, t0 + s(13)),
        Ok(vec![])
    );
}

#[test]
fn the_member_queues_login_of_an_agent_logged_out_of_one_of_them_is_a_change_of_queues() {
    let t0 = Instant::now();
    let sales = QueuePlan::with_members("sales", &["201"]);
    let mut queues = staffed(vec![support(&["201"]), sales], t0);
    queues
        .logout("201", Some("sales"), t0 + s(10))
        .expect("logs out of sales");
    let actions = queues
        .login("201", LoginTo::MemberQueues, t0 + s(20))
        .expect("a member");
    assert_eq!(queue_changes(&actions), ["201"]);
    assert!(changes(&actions).is_empty(), "{actions:?}");
    assert_eq!(queues.logged_in_to("201"), [("support", 0), ("sales", 0)]);
}

#[test]
fn a_logout_of_one_of_two_queues_is_a_change_of_queues_and_a_dynamic_member_leaves() {
    let t0 = Instant::now();
    let sales = QueuePlan::with_members("sales", &[]);
    let mut queues = staffed(vec![support(&["201"]), sales], t0);
    login_to(&mut queues, "201", "sales", None, t0 + s(5));
    assert_eq!(queues.queues[1].members, ["201"]);
    let actions = queues
        .logout("201", Some("sales"), t0 + s(10))
        .expect("logs out of sales");
    assert_eq!(
        actions,
        [QueueAction::AgentQueuesChanged {
            agent: "201".to_owned(),
            at: t0 + s(10)
        }]
    );
    assert!(
        queues.queues[1].members.is_empty(),
        "the dynamic member left"
    );
    assert_eq!(queues.logged_in_to("201"), [("support", 0)]);
    // A static member's logout of one of two: its membership stays, logged out.
    let sales = QueuePlan::with_members("sales", &["201"]);
    let mut queues = staffed(vec![support(&["201"]), sales], t0);
    let actions = queues
        .logout("201", Some("support"), t0 + s(10))
        .expect("logs out of support");
    assert_eq!(queue_changes(&actions), ["201"]);
    assert_eq!(queues.queues[0].members, ["201"]);
    // Logged out of it already: nothing changes, nothing is reported.
    assert_eq!(
        queues.logout("201", Some("support"), t0 + s(11)),
        Ok(vec![])
    );
}

#[test]
fn a_logout_that_calls_off_an_offer_is_reported_by_the_state_change_alone() {
    let t0 = Instant::now();
    let sales = QueuePlan::with_members("sales", &["201"]);
    let mut queues = staffed(vec![support(&["201"]), sales], t0);
    join(&mut queues, 1, t0 + s(10)); // 201 rings for support's caller
    let actions = queues
        .logout("201", Some("support"), t0 + s(12))
        .expect("logs out of support");
    assert_eq!(
        changes(&actions),
        [(
            "201".to_owned(),
            AgentState::Available {
                idle_since: t0 + s(0)
            }
        )]
    );
    assert!(queue_changes(&actions).is_empty(), "{actions:?}");
}

#[test]
fn a_logout_during_a_call_is_a_change_of_queues_then_the_end_of_the_call_logs_the_agent_out() {
    let t0 = Instant::now();
    let mut queues = staffed(vec![support(&["201"])], t0);
    join(&mut queues, 1, t0 + s(10));
    queues.agent_answered(1, "201", t0 + s(11));
    let actions = queues.logout("201", None, t0 + s(20)).expect("logs out");
    assert_eq!(
        actions,
        [QueueAction::AgentQueuesChanged {
            agent: "201".to_owned(),
            at: t0 + s(20)
        }]
    );
    assert!(queues.logged_in_to("201").is_empty());
    let actions = queues.agent_call_ended("201", t0 + s(30));
    assert_eq!(
        changes(&actions),
        [("201".to_owned(), AgentState::LoggedOut)]
    );
    assert!(queue_changes(&actions).is_empty(), "{actions:?}");
    // Logging in again during a call: its state (on the call) stays, its queues change.
    login_to(&mut queues, "201", "support", None, t0 + s(40));
    assert_eq!(offers(&join(&mut queues, 2, t0 + s(41))), [offer(2, "201")]);
    queues.agent_answered(2, "201", t0 + s(42));
    queues.logout("201", None, t0 + s(43)).expect("logs out");
    let actions = login_to(&mut queues, "201", "support", None, t0 + s(44));
    assert_eq!(queue_changes(&actions), ["201"]);
    assert!(changes(&actions).is_empty(), "{actions:?}");
}

#[test]
fn an_agent_of_two_queues_takes_the_caller_who_has_waited_longest_across_them() {
    let t0 = Instant::now();
    let sales = QueuePlan::with_members("sales", &["201"]);
    let mut queues = staffed(vec![support(&["201"]), sales], t0);
    join(&mut queues, 1, t0 + s(10)); // 201 at once
    queues.agent_answered(1, "201", t0 + s(10));
    queues
        .join("sales", 2, Priority::Normal, t0 + s(11))
        .expect("joins sales");
    join(&mut queues, 3, t0 + s(12));
    let actions = queues.agent_call_ended("201", t0 + s(30));
    assert_eq!(
        offers(&actions),
        [offer(2, "201")],
        "sales' caller came first"
    );
    // One call at a time: support's caller is not offered to 201 as well.
    assert_eq!(
        changes(&actions).last().map(|(_, s)| s.clone()),
        Some(AgentState::Offered {
            caller: 2,
            queue: "sales".to_owned(),
            until: t0 + s(45)
        })
    );
    // A VIP of support goes before sales' normal callers.
    queues.agent_answered(2, "201", t0 + s(31));
    queues
        .join("sales", 4, Priority::Normal, t0 + s(32))
        .expect("joins");
    queues
        .join("support", 5, Priority::Vip, t0 + s(33))
        .expect("joins");
    assert_eq!(
        offers(&queues.agent_call_ended("201", t0 + s(40))),
        [offer(5, "201")]
    );
}

#[test]
fn an_agent_on_a_call_from_outside_the_queues_is_offered_nothing_until_it_ends() {
    let t0 = Instant::now();
    let mut queues = staffed(vec![support(&["201", "202"])], t0);
    assert!(queues.agent_busy("201", true, t0 + s(5)).is_empty());
    assert_eq!(offers(&join(&mut queues, 1, t0 + s(10))), [offer(1, "202")]);
    assert!(offers(&join(&mut queues, 2, t0 + s(11))).is_empty());
    assert!(is_available(&queues, "201"), "its state is unchanged");
    assert_eq!(
        offers(&queues.agent_busy("201", false, t0 + s(20))),
        [offer(2, "201")]
    );
}

#[test]
fn the_live_view_lists_the_callers_in_order_and_every_agent_with_its_state() {
    let t0 = Instant::now();
    let mut queues = staffed(vec![support(&["201", "202"])], t0);
    queues
        .pause("202", PauseReason::Named("lunch".to_owned()), t0 + s(2))
        .expect("logged in");
    join(&mut queues, 1, t0 + s(10));
    queues
        .join("support", 2, Priority::Vip, t0 + s(11))
        .expect("joins");
    let ringing = ["201".to_owned()];
    assert_eq!(
        queues.callers("support"),
        Some(vec![
            CallerView {
                caller: 2,
                position: 1,
                priority: Priority::Vip,
                joined_at: t0 + s(11),
                ringing: &[],
                called_back: false,
            },
            CallerView {
                caller: 1,
                position: 2,
                priority: Priority::Normal,
                joined_at: t0 + s(10),
                ringing: &ringing,
                called_back: false,
            },
        ])
    );
    let agents: Vec<(&str, AgentState)> = queues.agents().map(|(e, a)| (e, a.clone())).collect();
    assert_eq!(
        agents,
        [
            (
                "201",
                AgentState::Offered {
                    caller: 1,
                    queue: "support".to_owned(),
                    until: t0 + s(25)
                }
            ),
            (
                "202",
                AgentState::Paused {
                    reason: PauseReason::Named("lunch".to_owned()),
                    since: t0 + s(2)
                }
            ),
        ]
    );
    assert_eq!(queues.callers("sales"), None);
}

// ---- joining and leaving ----

#[test]
fn a_caller_finding_max_callers_waiting_goes_to_on_full() {
    let t0 = Instant::now();
    let plan = QueuePlan {
        max_callers: Some(2),
        on_full: Some(ext("299")),
        ..support(&["201"])
    };
    let mut queues = staffed(vec![plan], t0);
    queues
        .pause("201", PauseReason::Unspecified, t0)
        .expect("logged in");
    join(&mut queues, 1, t0 + s(10));
    join(&mut queues, 2, t0 + s(11));
    assert_eq!(
        calls(join(&mut queues, 3, t0 + s(12))),
        [overflow(3, Some(ext("299")), OverflowReason::Full, 0)]
    );
    assert_eq!(queues.line("support"), Some(vec![1, 2]));
    queues.caller_left(1, t0 + s(13));
    assert!(matches!(
        join(&mut queues, 3, t0 + s(14))[0],
        QueueAction::Joined { position: 2, .. }
    ));
}

#[test]
fn with_nobody_logged_in_a_caller_goes_to_on_empty_unless_the_queue_lets_them_join() {
    let t0 = Instant::now();
    let plan = QueuePlan {
        on_empty: Some(ext("299")),
        ..support(&["201"])
    };
    let mut queues = Queues::new(vec![plan.clone()], SEED, t0);
    assert_eq!(
        calls(join(&mut queues, 1, t0)),
        [overflow(1, Some(ext("299")), OverflowReason::Empty, 0)]
    );
    assert_eq!(queues.line("support"), Some(vec![]));
    // A paused agent is logged in: callers join.
    queues
        .login("201", LoginTo::MemberQueues, t0)
        .expect("member");
    queues
        .pause("201", PauseReason::Unspecified, t0)
        .expect("logged in");
    assert!(matches!(
        join(&mut queues, 2, t0)[0],
        QueueAction::Joined { .. }
    ));

    // join_empty: callers wait for someone to log in.
    let plan = QueuePlan {
        join_empty: true,
        ..support(&["201"])
    };
    let mut queues = Queues::new(vec![plan], SEED, t0);
    assert!(matches!(
        join(&mut queues, 1, t0)[0],
        QueueAction::Joined { position: 1, .. }
    ));
    let actions = queues
        .login("201", LoginTo::MemberQueues, t0 + s(30))
        .expect("member");
    assert_eq!(offers(&actions), [offer(1, "201")]);
}

#[test]
fn leave_when_empty_sends_the_callers_to_on_empty_when_the_last_agent_logs_out() {
    let t0 = Instant::now();
    let plan = QueuePlan {
        leave_when_empty: true,
        on_empty: Some(ext("299")),
        ..support(&["201", "202"])
    };
    let mut queues = staffed(vec![plan], t0);
    queues
        .pause("201", PauseReason::Unspecified, t0 + s(2))
        .expect("logged in");
    queues
        .pause("202", PauseReason::Unspecified, t0 + s(2))
        .expect("logged in");
    join(&mut queues, 1, t0 + s(10));
    join(&mut queues, 2, t0 + s(11));
    let actions = queues.logout("201", None, t0 + s(20)).expect("logs out");
    assert!(calls(actions).is_empty(), "202 is still logged in (paused)");
    let actions = queues.logout("202", None, t0 + s(30)).expect("logs out");
    assert_eq!(
        calls(actions),
        [
            overflow(1, Some(ext("299")), OverflowReason::Empty, 20),
            overflow(2, Some(ext("299")), OverflowReason::Empty, 19),
        ]
    );
    assert_eq!(queues.line("support"), Some(vec![]));
}

#[test]
fn without_leave_when_empty_callers_stay_when_the_last_agent_logs_out() {
    let t0 = Instant::now();
    let plan = QueuePlan {
        on_empty: Some(ext("299")),
        ..support(&["201"])
    };
    let mut queues = staffed(vec![plan], t0);
    queues
        .pause("201", PauseReason::Unspecified, t0 + s(2))
        .expect("logged in");
    join(&mut queues, 1, t0 + s(10));
    assert!(calls(queues.logout("201", None, t0 + s(20)).expect("logs out")).is_empty());
    assert_eq!(queues.line("support"), Some(vec![1]));
}

#[test]
fn a_caller_who_waits_max_wait_secs_goes_to_on_timeout() {
    let t0 = Instant::now();
    let plan = QueuePlan {
        max_wait_secs: Some(60),
        on_timeout: Some(ext("299")),
        ..support(&["201"])
    };
    let mut queues = staffed(vec![plan], t0);
    join(&mut queues, 1, t0 + s(10));
    queues.agent_answered(1, "201", t0 + s(10));
    let actions = join(&mut queues, 2, t0 + s(20));
    assert_eq!(actions.last(), Some(&QueueAction::WaitUntil(t0 + s(80))));
    assert!(calls(queues.timeout(t0 + s(79))).is_empty());
    assert_eq!(
        calls(queues.timeout(t0 + s(80))),
        [overflow(2, Some(ext("299")), OverflowReason::Timeout, 60)]
    );
    assert_eq!(queues.position(2), None);
}

#[test]
fn a_timeout_while_an_agent_rings_calls_the_offer_off() {
    let t0 = Instant::now();
    let plan = QueuePlan {
        max_wait_secs: Some(20),
        agent_ring_secs: 30,
        ..support(&["201"])
    };
    let mut queues = staffed(vec![plan], t0);
    join(&mut queues, 1, t0 + s(10));
    assert_eq!(
        calls(queues.timeout(t0 + s(30))),
        [
            QueueAction::CancelOffer {
                caller: 1,
                agent: "201".to_owned()
            },
            overflow(1, None, OverflowReason::Timeout, 20),
        ]
    );
    assert!(is_available(&queues, "201"));
}

#[test]
fn a_breakout_key_sends_the_caller_to_its_destination_and_other_keys_do_nothing() {
    let t0 = Instant::now();
    let mut plan = support(&["201"]);
    plan.breakout = vec![('0', ext("201")), ('9', Destination::Hangup)];
    let mut queues = staffed(vec![plan], t0);
    queues
        .pause("201", PauseReason::Unspecified, t0)
        .expect("logged in");
    join(&mut queues, 1, t0 + s(10));
    assert!(calls(queues.key(1, '5', t0 + s(11))).is_empty());
    assert_eq!(
        calls(queues.key(1, '0', t0 + s(12))),
        [overflow(
            1,
            Some(ext("201")),
            OverflowReason::Breakout { key: '0' },
            2
        )]
    );
    assert_eq!(queues.position(1), None);
}

// ---- announcements ----

#[test]
fn the_position_is_announced_on_joining_then_every_announce_position_secs() {
    let t0 = Instant::now();
    let plan = QueuePlan {
        announce_position_secs: Some(30),
        ..support(&["201"])
    };
    let mut queues = staffed(vec![plan], t0);
    // Announced on joining, even when an agent is offered the caller at once (its answer
    // cuts the announcement short).
    let actions = join(&mut queues, 1, t0 + s(10));
    assert_eq!(
        calls(actions),
        [
            QueueAction::Joined {
                caller: 1,
                position: 1
            },
            QueueAction::Announce {
                caller: 1,
                what: vec![Announcement::Position(1)]
            },
            QueueAction::Offer {
                caller: 1,
                agent: "201".to_owned(),
                until: t0 + s(25),
                callback: false
            },
        ]
    );
    queues.agent_answered(1, "201", t0 + s(11));
    let actions = join(&mut queues, 2, t0 + s(20));
    assert_eq!(
        calls(actions),
        [
            QueueAction::Joined {
                caller: 2,
                position: 1
            },
            QueueAction::Announce {
                caller: 2,
                what: vec![Announcement::Position(1)]
            },
        ]
    );
    join(&mut queues, 3, t0 + s(25));
    // Caller 2 hears the position again at 50, caller 3 at 55.
    assert_eq!(
        calls(queues.timeout(t0 + s(50))),
        [QueueAction::Announce {
            caller: 2,
            what: vec![Announcement::Position(1)]
        }]
    );
    queues.caller_left(2, t0 + s(52));
    assert_eq!(
        calls(queues.timeout(t0 + s(55))),
        [QueueAction::Announce {
            caller: 3,
            what: vec![Announcement::Position(1)]
        }],
        "moved up"
    );
}

#[test]
fn the_estimated_wait_comes_from_the_recent_handling_time_shared_among_the_agents() {
    let t0 = Instant::now();
    let plan = QueuePlan {
        announce_position_secs: Some(60),
        announce_wait: true,
        wrap_up_secs: 20,
        ..support(&["201", "202"])
    };
    let mut queues = staffed(vec![plan], t0);
    join(&mut queues, 1, t0 + s(10)); // 201
    join(&mut queues, 2, t0 + s(10)); // 202
    queues.agent_answered(1, "201", t0 + s(10));
    queues.agent_answered(2, "202", t0 + s(10));
    // Before any call is handled, no estimate.
    let actions = join(&mut queues, 3, t0 + s(10));
    assert!(
        actions.contains(&QueueAction::Announce {
            caller: 3,
            what: vec![Announcement::Position(1)]
        }),
        "{actions:?}"
    );
    // Two calls: 100 s talk + 20 wrap-up, and 200 + 20: a mean of 170 s.
    queues.agent_call_ended("201", t0 + s(110));
    assert_eq!(offers(&queues.timeout(t0 + s(130))), [offer(3, "201")]);
    queues.agent_answered(3, "201", t0 + s(131));
    queues.agent_call_ended("202", t0 + s(210));
    // 201 on a call, 202 wrapping up: two agents. 170 × 1 ÷ 2 = 85 s.
    let actions = join(&mut queues, 4, t0 + s(215));
    assert!(
        actions.contains(&QueueAction::Announce {
            caller: 4,
            what: vec![Announcement::Position(1), Announcement::EstimatedWait(85)]
        }),
        "{actions:?}"
    );
    // A paused agent does not count: 170 × 2 ÷ 1.
    queues
        .pause("202", PauseReason::Unspecified, t0 + s(216))
        .expect("logged in");
    let actions = join(&mut queues, 5, t0 + s(217));
    assert!(
        actions.contains(&QueueAction::Announce {
            caller: 5,
            what: vec![Announcement::Position(2), Announcement::EstimatedWait(340)]
        }),
        "{actions:?}"
    );
}

#[test]
fn the_custom_announcement_plays_every_announcement_secs() {
    let t0 = Instant::now();
    let busy = PromptRef::Named("all-busy".to_owned());
    let plan = QueuePlan {
        announcement: Some(busy.clone()),
        announcement_secs: 40,
        announce_position_secs: Some(20),
        ..support(&["201"])
    };
    let mut queues = staffed(vec![plan], t0);
    queues
        .pause("201", PauseReason::Unspecified, t0)
        .expect("logged in");
    join(&mut queues, 1, t0 + s(10));
    assert_eq!(
        calls(queues.timeout(t0 + s(30))),
        [QueueAction::Announce {
            caller: 1,
            what: vec![Announcement::Position(1)]
        }]
    );
    // At 50 both fall due: played as one.
    assert_eq!(
        calls(queues.timeout(t0 + s(50))),
        [QueueAction::Announce {
            caller: 1,
            what: vec![
                Announcement::Position(1),
                Announcement::Custom(busy.clone())
            ]
        }]
    );
    // A late timer keeps the cadence (next at 70, 90 — not 51 + 20).
    let actions = queues.timeout(t0 + s(91));
    assert_eq!(
        calls(actions.clone()),
        [QueueAction::Announce {
            caller: 1,
            what: vec![Announcement::Position(1), Announcement::Custom(busy)]
        }]
    );
    assert_eq!(actions.last(), Some(&QueueAction::WaitUntil(t0 + s(110))));
}

// ---- callbacks ----

#[test]
fn a_caller_who_takes_the_callback_offer_keeps_their_place_and_is_called_back() {
    let t0 = Instant::now();
    let plan = QueuePlan {
        callback_offer_after_secs: Some(60),
        callback_key: '1',
        max_wait_secs: Some(300),
        ..support(&["201"])
    };
    let mut queues = staffed(vec![plan], t0);
    join(&mut queues, 1, t0 + s(10));
    queues.agent_answered(1, "201", t0 + s(10));
    join(&mut queues, 2, t0 + s(20));
    join(&mut queues, 3, t0 + s(30));
    assert!(
        calls(queues.key(2, '1', t0 + s(40))).is_empty(),
        "no offer made yet"
    );
    assert_eq!(
        calls(queues.timeout(t0 + s(80))),
        [QueueAction::Announce {
            caller: 2,
            what: vec![Announcement::CallbackOffer { key: '1' }]
        }]
    );
    assert_eq!(
        calls(queues.key(2, '1', t0 + s(85))),
        [QueueAction::CallbackAccepted {
            caller: 2,
            position: 1
        }]
    );
    // Kept in line, ahead of caller 3, without a timeout.
    assert_eq!(queues.line("support"), Some(vec![2, 3]));
    assert!(
        !calls(queues.timeout(t0 + s(400)))
            .iter()
            .any(|a| matches!(a, QueueAction::Overflow { caller: 2, .. })),
    );
    let actions = queues.agent_call_ended("201", t0 + s(401));
    assert_eq!(
        calls(actions),
        [QueueAction::Offer {
            caller: 2,
            agent: "201".to_owned(),
            until: t0 + s(416),
            callback: true
        }]
    );
}

#[test]
fn a_caller_waiting_for_a_callback_who_calls_again_takes_their_place() {
    let t0 = Instant::now();
    let plan = QueuePlan {
        callback_offer_after_secs: Some(60),
        callback_key: '1',
        announce_position_secs: Some(30),
        max_wait_secs: Some(300),
        ..support(&["201"])
    };
    let mut queues = staffed(vec![plan], t0);
    join(&mut queues, 1, t0 + s(10));
    queues.agent_answered(1, "201", t0 + s(10));
    join(&mut queues, 2, t0 + s(20));
    join(&mut queues, 3, t0 + s(30));
    queues.timeout(t0 + s(80));
    assert!(matches!(
        calls(queues.key(2, '1', t0 + s(85)))[..],
        [QueueAction::CallbackAccepted { caller: 2, .. }]
    ));
    join(&mut queues, 4, t0 + s(90));

    // The customer of caller 2 calls again (call 5): first in line, where 2 was.
    let actions = queues
        .take_over("support", 2, 5, t0 + s(100))
        .expect("2 holds a place");
    assert_eq!(
        calls(actions),
        [
            QueueAction::Joined {
                caller: 5,
                position: 1
            },
            QueueAction::Announce {
                caller: 5,
                what: vec![Announcement::Position(1)]
            },
        ]
    );
    assert_eq!(queues.line("support"), Some(vec![5, 3, 4]));
    assert_eq!(queues.position(2), None, "the held place is 5's now");
    // Their turn: an ordinary offer, no callback.
    let actions = queues.agent_call_ended("201", t0 + s(101));
    assert_eq!(
        calls(actions),
        [QueueAction::Offer {
            caller: 5,
            agent: "201".to_owned(),
            until: t0 + s(116),
            callback: false
        }]
    );
    // The place is taken only once, and only in its own queue.
    assert_eq!(
        queues.take_over("support", 2, 6, t0 + s(102)),
        Err(QueueError::NotWaiting(2, "support".to_owned()))
    );
    assert_eq!(
        queues.take_over("support", 3, 6, t0 + s(102)),
        Err(QueueError::NotWaiting(3, "support".to_owned())),
        "3 waits on the line, not for a callback"
    );
}

#[test]
fn taking_over_a_place_whose_offer_rings_cancels_the_callback_offer() {
    let t0 = Instant::now();
    let plan = QueuePlan {
        callback_offer_after_secs: Some(60),
        callback_key: '1',
        ..support(&["201"])
    };
    let mut queues = staffed(vec![plan], t0);
    queues
        .pause("201", PauseReason::Unspecified, t0)
        .expect("in");
    join(&mut queues, 1, t0 + s(10));
    queues.timeout(t0 + s(70));
    queues.key(1, '1', t0 + s(75));
    let offered = calls(queues.unpause("201", t0 + s(80)).expect("paused"));
    assert!(offered.contains(&QueueAction::Offer {
        caller: 1,
        agent: "201".to_owned(),
        until: t0 + s(95),
        callback: true
    }));
    let actions = calls(queues.take_over("support", 1, 2, t0 + s(85)).expect("held"));
    assert_eq!(
        actions[0],
        QueueAction::CancelOffer {
            caller: 1,
            agent: "201".to_owned()
        }
    );
    assert!(
        actions.contains(&QueueAction::Offer {
            caller: 2,
            agent: "201".to_owned(),
            until: t0 + s(100),
            callback: false
        }),
        "the agent, free again, is offered the caller on the line: {actions:?}"
    );
}

#[test]
fn places_restored_at_start_keep_their_order_and_priority_and_are_offered_as_callbacks() {
    let t0 = Instant::now();
    let mut queues = staffed(vec![support(&["201"])], t0);
    queues
        .pause("201", PauseReason::Unspecified, t0)
        .expect("in");
    let restore = |queues: &mut Queues, caller, priority| {
        queues
            .restore_held("support", caller, priority, t0, t0 + s(1))
            .expect("support is a queue")
    };
    restore(&mut queues, 1, Priority::Normal);
    restore(&mut queues, 2, Priority::Normal);
    restore(&mut queues, 3, Priority::Vip);
    assert_eq!(queues.line("support"), Some(vec![3, 1, 2]));
    assert_eq!(
        queues.restore_held("sales", 4, Priority::Normal, t0, t0 + s(1)),
        Err(QueueError::NoSuchQueue("sales".to_owned()))
    );
    assert_eq!(queues.deadline(), None, "nothing to announce, no timeout");
    let offered = calls(queues.unpause("201", t0 + s(2)).expect("paused"));
    assert!(offered.contains(&QueueAction::Offer {
        caller: 3,
        agent: "201".to_owned(),
        until: t0 + s(17),
        callback: true
    }));
}

// ---- the deadline ----

#[test]
fn the_machine_asks_for_its_next_deadline_only_when_it_changes() {
    let t0 = Instant::now();
    let plan = QueuePlan {
        max_wait_secs: Some(100),
        ..support(&["201"])
    };
    let mut queues = staffed(vec![plan], t0);
    assert_eq!(queues.deadline(), None);
    queues
        .pause("201", PauseReason::Unspecified, t0)
        .expect("logged in");
    let actions = join(&mut queues, 1, t0 + s(10));
    assert_eq!(actions.last(), Some(&QueueAction::WaitUntil(t0 + s(110))));
    let actions = join(&mut queues, 2, t0 + s(20));
    assert!(
        !actions
            .iter()
            .any(|a| matches!(a, QueueAction::WaitUntil(_))),
        "caller 1's timeout is still first"
    );
    let actions = queues.caller_left(1, t0 + s(30));
    assert_eq!(actions.last(), Some(&QueueAction::WaitUntil(t0 + s(120))));
    assert_eq!(queues.deadline(), Some(t0 + s(120)));
}

#[test]
fn a_caller_already_waiting_or_an_unknown_queue_is_refused() {
    let t0 = Instant::now();
    let mut queues = staffed(vec![support(&["201"])], t0);
    join(&mut queues, 1, t0);
    assert_eq!(
        queues.join("support", 1, Priority::Normal, t0),
        Err(QueueError::AlreadyWaiting(1))
    );
    assert_eq!(
        queues.join("sales", 2, Priority::Normal, t0),
        Err(QueueError::NoSuchQueue("sales".to_owned()))
    );
}

#[test]
fn a_thousand_callers_are_offered_in_order_as_a_hundred_agents_come_free() {
    let t0 = Instant::now();
    let members: Vec<String> = (0..100).map(|i| (3000 + i).to_string()).collect();
    let refs: Vec<&str> = members.iter().map(String::as_str).collect();
    let plan = QueuePlan {
        announce_position_secs: Some(30),
        announce_wait: true,
        ..support(&refs)
    };
    let mut queues = staffed(vec![plan], t0);
    for caller in 0..100 {
        let (_, agent) = only_offer(&join(&mut queues, caller, t0 + s(200)));
        queues.agent_answered(caller, &agent, t0 + s(200));
    }
    for caller in 100..1100 {
        let actions = join(
            &mut queues,
            caller,
            t0 + s(201) + Duration::from_millis(caller),
        );
        assert!(offers(&actions).is_empty(), "every agent is on a call");
    }
    let mut next = 100;
    for round in 0..10 {
        for (i, agent) in members.iter().enumerate() {
            let now = t0 + s(300 + 100 * round + u64::try_from(i).expect("few agents"));
            let actions = queues.agent_call_ended(agent, now);
            assert_eq!(offers(&actions), [offer(next, agent)]);
            queues.agent_answered(next, agent, now);
            next += 1;
        }
    }
    assert_eq!(queues.line("support"), Some(vec![]));
}
