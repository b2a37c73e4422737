//! Queue agents between the switch and the store (issue 9): what the switch reports about
//! agents, turned into the store's agent log and agent state ([`AgentUpdate`]s), and the
//! stored state given back to the switch at start.
//!
//! The switch reports an agent's activity with what the agent is logged in to and whether
//! it is paused *after* it ([`AgentEvent`]); the store wants one log event per change with
//! the state rows it changes. [`AgentLedger`] keeps what the store was last told of each
//! agent and writes the difference:
//!
//! - a queue in `logged_in` it did not have (or with another penalty) → `login` of that
//!   queue with its row (static or dynamic member, penalty, logged in); a queue it had and
//!   `logged_in` lacks → `logout` of that queue: a static member's row stays, logged out, a
//!   dynamic member's row goes;
//! - a pause begun or its reason changed → `pause` with the reason (the queue's automatic
//!   pause is `crossbar_cdr::agent::AUTO_PAUSE_REASON`); a pause ended → `unpause`;
//! - offers, answers and misses → `offered`, `answered`, `missed` with the caller's call;
//!   the wrap-up after a call → `wrap_up_start`, and whatever the agent does next first
//!   ends it (`wrap_up_end`) — as it first ends the call it was on (`call_end`).
//!
//! A change of an agent's queues alone (a login to one more queue or with another penalty, a
//! logout of one of two, a logout during a call) comes as [`AgentActivity::QueuesChanged`]:
//! its logins and logouts are written, the call or wrap-up it is in goes on. Every change of
//! the switch's agents is reported that way: the live view of the queues is only published,
//! never compared with the ledger.
//!
//! At start, the switch restores what the store holds under the configuration of the day
//! ([`restore`]), and [`AgentLedger::new`] writes where the two part: a login to a queue that
//! no longer exists is logged out, a static member whose penalty the configuration changed
//! is logged in again with it, and the pause of an agent left logged in to nothing ends.

use std::collections::{BTreeMap, HashMap};
use std::time::{Instant, SystemTime};

use crossbar_cdr::agent::AUTO_PAUSE_REASON;
use crossbar_cdr::{AgentEventKind, CallId};
use crossbar_routing::DialPlan;
use crossbar_store::{AgentChange, AgentMembership, AgentPause, AgentStates, AgentUpdate};
use crossbar_switch::{AgentActivity, AgentEvent, AgentPause as SwitchPause, AgentQueue, Switch};

/// The store's pause reason for the switch's pause: a configured reason, the automatic one,
/// or none.
pub fn pause_reason(pause: &SwitchPause) -> Option<String> {
    match pause {
        SwitchPause::Unspecified => None,
        SwitchPause::Reason(reason) => Some(reason.clone()),
        SwitchPause::Unanswered { .. } => Some(AUTO_PAUSE_REASON.to_owned()),
    }
}

/// The switch's pause for a stored reason (the automatic pause's count of unanswered offers
/// is not kept: 0).
fn switch_pause(reason: Option<&str>) -> SwitchPause {
    match reason {
        None => SwitchPause::Unspecified,
        Some(AUTO_PAUSE_REASON) => SwitchPause::Unanswered { offers: 0 },
        Some(reason) => SwitchPause::Reason(reason.to_owned()),
    }
}

/// Gives the switch every agent's stored logins and pause (before the first call); returns
/// how many agents were restored.
pub fn restore(switch: &mut Switch, states: &AgentStates, now: Instant, wall: SystemTime) -> usize {
    let mut logged_in: BTreeMap<&str, Vec<AgentQueue>> = BTreeMap::new();
    for member in states.members.iter().filter(|m| m.logged_in) {
        logged_in
            .entry(member.agent.as_str())
            .or_default()
            .push(AgentQueue {
                queue: member.queue.clone(),
                penalty: member.penalty,
            });
    }
    for pause in &states.pauses {
        logged_in.entry(pause.agent.as_str()).or_default();
    }
    for (agent, queues) in &logged_in {
        let pause = states
            .pause_of(agent)
            .map(|p| switch_pause(p.reason.as_deref()));
        switch.restore_agent(now, wall, agent, queues, pause.as_ref());
    }
    logged_in.len()
}

/// What the store was last told of one agent.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Kept {
    /// The queues it is logged in to, with its penalty.
    queues: BTreeMap<String, u32>,
    /// Its pause and the pause's reason.
    pause: Option<Option<String>>,
    /// The queue call it is on, since its answer.
    on_call: Option<(String, Option<CallId>)>,
    /// The queue it wraps up after.
    wrap_up: Option<String>,
}

/// What the store was last told of every agent, and the static members of the queues.
#[derive(Debug, Default)]
pub struct AgentLedger {
    agents: HashMap<String, Kept>,
    /// `(queue, agent)` → the static member's penalty in the configuration.
    static_members: HashMap<(String, String), u32>,
}

impl AgentLedger {
    /// The ledger of what `stored` holds, for the queues of `plan`, and the store's updates
    /// (at `at_ms`) that bring it to what the switch restored from it ([`restore`]): a login
    /// to a queue `plan` lacks is logged out (the row goes), a static member is logged in
    /// again with the penalty `plan` gives it if the stored one differs, and the pause of an
    /// agent left logged in to no queue ends.
    pub fn new(
        plan: &DialPlan,
        stored: &AgentStates,
        at_ms: i64,
    ) -> (AgentLedger, Vec<AgentUpdate>) {
        let static_members = plan
            .queues()
            .flat_map(|queue| {
                queue.members.iter().map(|member| {
                    (
                        (queue.name.clone(), member.extension.clone()),
                        member.penalty,
                    )
                })
            })
            .collect();
        let mut agents: HashMap<String, Kept> = HashMap::new();
        for member in stored.members.iter().filter(|m| m.logged_in) {
            agents
                .entry(member.agent.clone())
                .or_default()
                .queues
                .insert(member.queue.clone(), member.penalty);
        }
        for pause in &stored.pauses {
            agents.entry(pause.agent.clone()).or_default().pause = Some(pause.reason.clone());
        }
        let mut ledger = AgentLedger {
            agents,
            static_members,
        };
        let mut names: Vec<String> = ledger.agents.keys().cloned().collect();
        names.sort_unstable();
        let mut updates = Vec::new();
        for agent in names {
            let kept = &ledger.agents[&agent];
            // As `restore` logs the agent in: skipping the queues that are gone, a static
            // member with the configuration's penalty.
            let restored: Vec<(String, u32)> = kept
                .queues
                .iter()
                .filter(|(queue, _)| plan.queue(queue).is_some())
                .map(|(queue, penalty)| {
                    let configured = ledger
                        .static_members
                        .get(&(queue.clone(), agent.clone()))
                        .copied();
                    (queue.clone(), configured.unwrap_or(*penalty))
                })
                .collect();
            // A pause needs a login.
            let pause = if restored.is_empty() {
                None
            } else {
                kept.pause.clone()
            };
            updates.extend(ledger.state_changes(&agent, &restored, pause, at_ms));
        }
        (ledger, updates)
    }

    /// The store's updates for one report of the switch, in the order they happened.
    pub fn on_event(&mut self, event: &AgentEvent) -> Vec<AgentUpdate> {
        let at = event.at_ms;
        let agent = event.agent.as_str();
        let mut updates = Vec::new();
        let kept = self.agents.entry(event.agent.clone()).or_default();
        // Offers, answers and misses are the queue call's own; a change of the agent's
        // queues alone leaves it doing what it was doing (on a call, wrapping up).
        let goes_on = matches!(
            event.activity,
            AgentActivity::Offered { .. }
                | AgentActivity::Answered { .. }
                | AgentActivity::Missed { .. }
                | AgentActivity::QueuesChanged
        );
        if !goes_on {
            // Whatever the agent does next ends its call, then its wrap-up.
            if let Some((queue, call)) = kept.on_call.take() {
                updates.push(logged(
                    at,
                    agent,
                    Some(queue),
                    AgentEventKind::CallEnd,
                    call,
                ));
            }
            if !matches!(event.activity, AgentActivity::WrapUp { .. })
                && let Some(queue) = kept.wrap_up.take()
            {
                updates.push(logged(
                    at,
                    agent,
                    Some(queue),
                    AgentEventKind::WrapUpEnd,
                    None,
                ));
            }
        }
        let queues: Vec<(String, u32)> = event
            .logged_in
            .iter()
            .map(|q| (q.queue.clone(), q.penalty))
            .collect();
        let pause = event.paused.as_ref().map(pause_reason);
        updates.extend(self.state_changes(agent, &queues, pause, at));
        let kept = self.agents.entry(event.agent.clone()).or_default();
        let (kind, queue, call) = match &event.activity {
            AgentActivity::Offered { queue, call } => (AgentEventKind::Offered, queue, call),
            AgentActivity::Answered { queue, call } => {
                kept.on_call = Some((queue.clone(), call.clone()));
                (AgentEventKind::Answered, queue, call)
            }
            AgentActivity::Missed { queue, call } => (AgentEventKind::Missed, queue, call),
            AgentActivity::WrapUp { queue, .. } => {
                kept.wrap_up = Some(queue.clone());
                (AgentEventKind::WrapUpStart, queue, &None)
            }
            AgentActivity::LoggedIn
            | AgentActivity::LoggedOut
            | AgentActivity::Paused(_)
            | AgentActivity::Unpaused
            | AgentActivity::Available
            | AgentActivity::QueuesChanged => return updates,
        };
        updates.push(logged(at, agent, Some(queue.clone()), kind, call.clone()));
        updates
    }

    /// The call and wrap-up each agent is in, ended at `at_ms` (crossbar stops: the log
    /// must not leave them open).
    pub fn close_all(&mut self, at_ms: i64) -> Vec<AgentUpdate> {
        let mut updates = Vec::new();
        let mut agents: Vec<(&String, &mut Kept)> = self.agents.iter_mut().collect();
        agents.sort_by(|a, b| a.0.cmp(b.0));
        for (agent, kept) in agents {
            if let Some((queue, call)) = kept.on_call.take() {
                updates.push(logged(
                    at_ms,
                    agent,
                    Some(queue),
                    AgentEventKind::CallEnd,
                    call,
                ));
            }
            if let Some(queue) = kept.wrap_up.take() {
                updates.push(logged(
                    at_ms,
                    agent,
                    Some(queue),
                    AgentEventKind::WrapUpEnd,
                    None,
                ));
            }
        }
        updates
    }

    /// Logins, the pause, logouts: what changed from the ledger to `queues` and `pause`.
    fn state_changes(
        &mut self,
        agent: &str,
        queues: &[(String, u32)],
        pause: Option<Option<String>>,
        at: i64,
    ) -> Vec<AgentUpdate> {
        let mut updates = Vec::new();
        let static_penalty = |queue: &str| {
            self.static_members
                .get(&(queue.to_owned(), agent.to_owned()))
                .copied()
        };
        let kept = self.agents.entry(agent.to_owned()).or_default();
        for (queue, penalty) in queues {
            if kept.queues.get(queue) == Some(penalty) {
                continue;
            }
            // A new queue, or a new penalty in one (logged as a login again).
            let mut update = logged(at, agent, Some(queue.clone()), AgentEventKind::Login, None);
            update.changes.push(AgentChange::Member(AgentMembership {
                agent: agent.to_owned(),
                queue: queue.clone(),
                static_member: static_penalty(queue).is_some(),
                penalty: *penalty,
                logged_in: true,
                since_ms: at,
            }));
            updates.push(update);
            kept.queues.insert(queue.clone(), *penalty);
        }
        if kept.pause != pause {
            let update = match &pause {
                Some(reason) => {
                    let mut update = logged(
                        at,
                        agent,
                        None,
                        AgentEventKind::Pause {
                            reason: reason.clone(),
                        },
                        None,
                    );
                    update.changes.push(AgentChange::Paused(AgentPause {
                        agent: agent.to_owned(),
                        reason: reason.clone(),
                        since_ms: at,
                    }));
                    update
                }
                None => {
                    let mut update = logged(at, agent, None, AgentEventKind::Unpause, None);
                    update.changes.push(AgentChange::Unpaused {
                        agent: agent.to_owned(),
                    });
                    update
                }
            };
            updates.push(update);
            kept.pause = pause;
        }
        let left: Vec<String> = kept
            .queues
            .keys()
            .filter(|queue| !queues.iter().any(|(q, _)| q == *queue))
            .cloned()
            .collect();
        for queue in left {
            let mut update = logged(at, agent, Some(queue.clone()), AgentEventKind::Logout, None);
            update.changes.push(match static_penalty(&queue) {
                // A static member's row stays, logged out, with the configuration's penalty.
                Some(configured) => AgentChange::Member(AgentMembership {
                    agent: agent.to_owned(),
                    queue: queue.clone(),
                    static_member: true,
                    penalty: configured,
                    logged_in: false,
                    since_ms: at,
                }),
                None => AgentChange::Left {
                    agent: agent.to_owned(),
                    queue: queue.clone(),
                },
            });
            updates.push(update);
            kept.queues.remove(&queue);
        }
        updates
    }
}

/// A log event with no state change (yet).
fn logged(
    at_ms: i64,
    agent: &str,
    queue: Option<String>,
    kind: AgentEventKind,
    call: Option<CallId>,
) -> AgentUpdate {
    AgentUpdate {
        event: crossbar_cdr::AgentEvent {
            at_ms,
            agent: agent.to_owned(),
            queue,
            kind,
            call,
        },
        changes: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-11-21T09:00:00Z.
    const NINE: i64 = 1_795_251_600_000;

    /// Queue `support` has static members 201 (penalty 0) and 202 (penalty 1); `sales` none.
    fn plan() -> DialPlan {
        let config = crossbar_config::Config::parse(
            r#"
[[extension]]
number = "201"
secret = "correct-horse-battery-1"

[[extension]]
number = "202"
secret = "correct-horse-battery-2"

[[queue]]
name = "support"
members = ["201", { extension = "202", penalty = 1 }]

[[queue]]
name = "sales"
"#,
            std::path::Path::new("crossbar.toml"),
        )
        .expect("a valid configuration");
        DialPlan::compile(&config).expect("the dial plan compiles")
    }

    fn queue(name: &str, penalty: u32) -> AgentQueue {
        AgentQueue {
            queue: name.into(),
            penalty,
        }
    }

    fn event(
        at_ms: i64,
        activity: AgentActivity,
        logged_in: Vec<AgentQueue>,
        paused: Option<SwitchPause>,
    ) -> AgentEvent {
        AgentEvent {
            agent: "201".into(),
            activity,
            logged_in,
            paused,
            at_ms,
        }
    }

    /// Each update as `kind queue` and its changes.
    fn described(updates: &[AgentUpdate]) -> Vec<(String, Vec<AgentChange>)> {
        updates
            .iter()
            .map(|u| {
                let queue = u.event.queue.as_deref().unwrap_or("-");
                (format!("{} {queue}", u.event.kind), u.changes.clone())
            })
            .collect()
    }

    fn member(
        queue: &str,
        static_member: bool,
        penalty: u32,
        logged_in: bool,
        at: i64,
    ) -> AgentChange {
        AgentChange::Member(AgentMembership {
            agent: "201".into(),
            queue: queue.into(),
            static_member,
            penalty,
            logged_in,
            since_ms: at,
        })
    }

    /// The ledger of `stored`, which the configuration of [`plan`] allows as it is.
    fn ledger(stored: &AgentStates) -> AgentLedger {
        let (ledger, updates) = AgentLedger::new(&plan(), stored, NINE - 1_000);
        assert!(updates.is_empty(), "nothing to settle: {updates:#?}");
        ledger
    }

    fn logged_in_to_support() -> AgentStates {
        AgentStates {
            members: vec![AgentMembership {
                agent: "201".into(),
                queue: "support".into(),
                static_member: true,
                penalty: 0,
                logged_in: true,
                since_ms: NINE - 60_000,
            }],
            pauses: Vec::new(),
        }
    }

    #[test]
    fn a_login_to_two_queues_is_a_login_to_each_with_its_row_static_or_dynamic() {
        let mut ledger = ledger(&AgentStates::default());
        let updates = ledger.on_event(&event(
            NINE,
            AgentActivity::LoggedIn,
            vec![queue("support", 0), queue("sales", 2)],
            None,
        ));
        assert_eq!(
            described(&updates),
            [
                (
                    "login support".into(),
                    vec![member("support", true, 0, true, NINE)]
                ),
                (
                    "login sales".into(),
                    vec![member("sales", false, 2, true, NINE)]
                ),
            ]
        );
        // The same state again changes nothing; a new penalty is a login again.
        assert!(
            ledger
                .on_event(&event(
                    NINE + 1,
                    AgentActivity::Available,
                    vec![queue("support", 0), queue("sales", 2)],
                    None,
                ))
                .is_empty()
        );
        let updates = ledger.on_event(&event(
            NINE + 2,
            AgentActivity::Available,
            vec![queue("support", 0), queue("sales", 5)],
            None,
        ));
        assert_eq!(
            described(&updates),
            [(
                "login sales".into(),
                vec![member("sales", false, 5, true, NINE + 2)]
            )]
        );
    }

    #[test]
    fn a_queue_call_is_offered_answered_ended_and_wrapped_up_in_the_log() {
        let mut ledger = ledger(&logged_in_to_support());
        let support = || vec![queue("support", 0)];
        let call = Some(CallId("c-1".into()));
        let mut updates = Vec::new();
        for (at, activity) in [
            (
                NINE,
                AgentActivity::Offered {
                    queue: "support".into(),
                    call: call.clone(),
                },
            ),
            (
                NINE + 5_000,
                AgentActivity::Answered {
                    queue: "support".into(),
                    call: call.clone(),
                },
            ),
            (
                NINE + 65_000,
                AgentActivity::WrapUp {
                    queue: "support".into(),
                    until_ms: NINE + 75_000,
                },
            ),
            (NINE + 75_000, AgentActivity::Available),
        ] {
            updates.extend(ledger.on_event(&event(at, activity, support(), None)));
        }
        let log: Vec<(i64, String, Option<CallId>)> = updates
            .iter()
            .map(|u| {
                (
                    u.event.at_ms,
                    u.event.kind.to_string(),
                    u.event.call.clone(),
                )
            })
            .collect();
        assert_eq!(
            log,
            [
                (NINE, "offered".into(), call.clone()),
                (NINE + 5_000, "answered".into(), call.clone()),
                (NINE + 65_000, "call_end".into(), call.clone()),
                (NINE + 65_000, "wrap_up_start".into(), None),
                (NINE + 75_000, "wrap_up_end".into(), None),
            ]
        );
        assert!(updates.iter().all(|u| u.changes.is_empty()));
    }

    #[test]
    fn the_automatic_pause_is_logged_with_its_reason_and_an_unpause_ends_it() {
        let mut ledger = ledger(&logged_in_to_support());
        let missed = ledger.on_event(&event(
            NINE,
            AgentActivity::Missed {
                queue: "support".into(),
                call: None,
            },
            vec![queue("support", 0)],
            None,
        ));
        assert_eq!(described(&missed), [("missed support".into(), vec![])]);
        let paused = ledger.on_event(&event(
            NINE,
            AgentActivity::Paused(SwitchPause::Unanswered { offers: 3 }),
            vec![queue("support", 0)],
            Some(SwitchPause::Unanswered { offers: 3 }),
        ));
        assert_eq!(
            described(&paused),
            [(
                "pause (auto:unanswered) -".into(),
                vec![AgentChange::Paused(AgentPause {
                    agent: "201".into(),
                    reason: Some(AUTO_PAUSE_REASON.into()),
                    since_ms: NINE,
                })]
            )]
        );
        let unpaused = ledger.on_event(&event(
            NINE + 60_000,
            AgentActivity::Unpaused,
            vec![queue("support", 0)],
            None,
        ));
        assert_eq!(
            described(&unpaused),
            [(
                "unpause -".into(),
                vec![AgentChange::Unpaused {
                    agent: "201".into()
                }]
            )]
        );
    }

    #[test]
    fn logging_out_ends_the_pause_keeps_a_static_members_row_and_removes_a_dynamic_one() {
        let mut stored = logged_in_to_support();
        stored.members.push(AgentMembership {
            agent: "201".into(),
            queue: "sales".into(),
            static_member: false,
            penalty: 2,
            logged_in: true,
            since_ms: NINE - 60_000,
        });
        stored.pauses.push(AgentPause {
            agent: "201".into(),
            reason: Some("lunch".into()),
            since_ms: NINE - 30_000,
        });
        let mut ledger = ledger(&stored);
        let updates = ledger.on_event(&event(NINE, AgentActivity::LoggedOut, vec![], None));
        assert_eq!(
            described(&updates),
            [
                (
                    "unpause -".into(),
                    vec![AgentChange::Unpaused {
                        agent: "201".into()
                    }]
                ),
                (
                    "logout sales".into(),
                    vec![AgentChange::Left {
                        agent: "201".into(),
                        queue: "sales".into()
                    }]
                ),
                (
                    "logout support".into(),
                    vec![member("support", true, 0, false, NINE)]
                ),
            ]
        );
    }

    #[test]
    fn a_change_of_queues_during_a_call_writes_the_login_and_the_call_goes_on() {
        let mut ledger = ledger(&logged_in_to_support());
        let call = Some(CallId("c-1".into()));
        let answered = ledger.on_event(&event(
            NINE,
            AgentActivity::Answered {
                queue: "support".into(),
                call: call.clone(),
            },
            vec![queue("support", 0)],
            None,
        ));
        assert_eq!(described(&answered), [("answered support".into(), vec![])]);
        let changed = ledger.on_event(&event(
            NINE + 10_000,
            AgentActivity::QueuesChanged,
            vec![queue("support", 0), queue("sales", 2)],
            None,
        ));
        assert_eq!(
            described(&changed),
            [(
                "login sales".into(),
                vec![member("sales", false, 2, true, NINE + 10_000)]
            )],
            "no call_end: the call goes on"
        );
        // A logout of every queue during the call: the logouts now, the call ends with it.
        let changed = ledger.on_event(&event(
            NINE + 20_000,
            AgentActivity::QueuesChanged,
            vec![],
            None,
        ));
        assert_eq!(
            described(&changed),
            [
                (
                    "logout sales".into(),
                    vec![AgentChange::Left {
                        agent: "201".into(),
                        queue: "sales".into()
                    }]
                ),
                (
                    "logout support".into(),
                    vec![member("support", true, 0, false, NINE + 20_000)]
                ),
            ]
        );
        let ended = ledger.on_event(&event(
            NINE + 30_000,
            AgentActivity::LoggedOut,
            vec![],
            None,
        ));
        let log: Vec<(i64, String, Option<CallId>)> = ended
            .iter()
            .map(|u| {
                (
                    u.event.at_ms,
                    u.event.kind.to_string(),
                    u.event.call.clone(),
                )
            })
            .collect();
        assert_eq!(log, [(NINE + 30_000, "call_end".into(), call)]);
    }

    #[test]
    fn a_change_of_queues_during_a_wrap_up_does_not_end_it() {
        let mut ledger = ledger(&logged_in_to_support());
        ledger.on_event(&event(
            NINE,
            AgentActivity::WrapUp {
                queue: "support".into(),
                until_ms: NINE + 10_000,
            },
            vec![queue("support", 0)],
            None,
        ));
        let changed = ledger.on_event(&event(
            NINE + 1_000,
            AgentActivity::QueuesChanged,
            vec![queue("support", 4)],
            None,
        ));
        assert_eq!(
            described(&changed),
            [(
                "login support".into(),
                vec![member("support", true, 4, true, NINE + 1_000)]
            )]
        );
        let available = ledger.on_event(&event(
            NINE + 10_000,
            AgentActivity::Available,
            vec![queue("support", 4)],
            None,
        ));
        assert_eq!(
            described(&available),
            [("wrap_up_end support".into(), vec![])]
        );
    }

    #[test]
    fn a_stored_login_to_a_queue_that_is_gone_is_logged_out_at_start() {
        let mut stored = logged_in_to_support();
        stored.members.push(AgentMembership {
            agent: "201".into(),
            queue: "billing".into(),
            static_member: false,
            penalty: 0,
            logged_in: true,
            since_ms: NINE - 60_000,
        });
        let (mut ledger, updates) = AgentLedger::new(&plan(), &stored, NINE);
        assert_eq!(
            described(&updates),
            [(
                "logout billing".into(),
                vec![AgentChange::Left {
                    agent: "201".into(),
                    queue: "billing".into()
                }]
            )]
        );
        // The ledger knows: the switch's next report of the agent changes nothing more.
        assert!(
            ledger
                .on_event(&event(
                    NINE + 1_000,
                    AgentActivity::Available,
                    vec![queue("support", 0)],
                    None,
                ))
                .is_empty()
        );
    }

    #[test]
    fn at_start_a_new_configured_penalty_is_a_login_again_and_a_pause_without_a_login_ends() {
        let mut stored = logged_in_to_support();
        // 202 is a static member of support with penalty 1 in the configuration.
        stored.members.push(AgentMembership {
            agent: "202".into(),
            queue: "support".into(),
            static_member: true,
            penalty: 0,
            logged_in: true,
            since_ms: NINE - 60_000,
        });
        // 203 is paused, logged in only to a queue that is gone.
        stored.members.push(AgentMembership {
            agent: "203".into(),
            queue: "billing".into(),
            static_member: false,
            penalty: 0,
            logged_in: true,
            since_ms: NINE - 60_000,
        });
        stored.pauses.push(AgentPause {
            agent: "203".into(),
            reason: Some("lunch".into()),
            since_ms: NINE - 30_000,
        });
        let (_, updates) = AgentLedger::new(&plan(), &stored, NINE);
        let log: Vec<(String, String, Vec<AgentChange>)> = updates
            .iter()
            .map(|u| {
                let queue = u.event.queue.as_deref().unwrap_or("-");
                (
                    u.event.agent.clone(),
                    format!("{} {queue}", u.event.kind),
                    u.changes.clone(),
                )
            })
            .collect();
        assert_eq!(
            log,
            [
                (
                    "202".into(),
                    "login support".into(),
                    vec![AgentChange::Member(AgentMembership {
                        agent: "202".into(),
                        queue: "support".into(),
                        static_member: true,
                        penalty: 1,
                        logged_in: true,
                        since_ms: NINE,
                    })]
                ),
                (
                    "203".into(),
                    "unpause -".into(),
                    vec![AgentChange::Unpaused {
                        agent: "203".into()
                    }]
                ),
                (
                    "203".into(),
                    "logout billing".into(),
                    vec![AgentChange::Left {
                        agent: "203".into(),
                        queue: "billing".into()
                    }]
                ),
            ]
        );
    }

    #[test]
    fn stopping_ends_the_calls_and_wrap_ups_in_the_log() {
        let mut ledger = ledger(&logged_in_to_support());
        ledger.on_event(&event(
            NINE,
            AgentActivity::Answered {
                queue: "support".into(),
                call: None,
            },
            vec![queue("support", 0)],
            None,
        ));
        let updates = ledger.close_all(NINE + 1_000);
        assert_eq!(described(&updates), [("call_end support".into(), vec![])]);
        assert!(ledger.close_all(NINE + 2_000).is_empty());
    }

    #[test]
    fn stored_pause_reasons_read_back_as_the_switchs_pauses() {
        for pause in [
            SwitchPause::Unspecified,
            SwitchPause::Reason("lunch".into()),
            SwitchPause::Unanswered { offers: 0 },
        ] {
            assert_eq!(switch_pause(pause_reason(&pause).as_deref()), pause);
        }
    }
}
