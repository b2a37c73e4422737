//! The live view of the queues (issue 9, `GET /api/queues`): a plain snapshot of the queue
//! machine — who waits in each queue and in what order, what each agent is doing — that the
//! run loop takes when something may have changed and publishes to wallboards.
//!
//! Times stay [`Instant`]s, so two snapshots of an unchanged switch are equal (the run loop
//! compares them to publish changes only); the run loop turns them into wall-clock times.

use std::time::{Instant, SystemTime};

use crossbar_cdr::CallId;

use crate::Switch;
use crate::agents::{AgentPause, AgentQueue};
use crate::apps::queue::{AgentState, Priority};

/// Every queue's line and every agent's state, at one instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueSnapshot {
    /// The queues in the configuration's order.
    pub queues: Vec<QueueLine>,
    /// Every agent known (static members, and extensions logged in to a queue), by
    /// extension.
    pub agents: Vec<AgentSnapshot>,
}

/// One queue's callers, in the order they are served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueLine {
    pub name: String,
    pub callers: Vec<WaitingCaller>,
}

/// A caller waiting in a queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitingCaller {
    /// 1: next to be served.
    pub position: usize,
    /// The caller's call; `None` for a caller waiting for a callback (their call has ended).
    pub call: Option<CallId>,
    /// The caller's number, as the record has it.
    pub number: Option<String>,
    /// Served before every normal caller (an inbound route's `vip`).
    pub vip: bool,
    pub joined_at: Instant,
    /// The agents whose phones ring for this caller now.
    pub offered_to: Vec<String>,
    /// The caller took the callback offer: their place is kept, and the agent they reach
    /// calls them back.
    pub callback: bool,
}

/// An agent and what it is doing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentSnapshot {
    /// The agent's extension number.
    pub agent: String,
    pub state: AgentNow,
    /// The queues it is logged in to, with its penalty in each, in queue order.
    pub queues: Vec<AgentQueue>,
    /// Its phone is on a call now (any call: one from a queue, its own, a direct one).
    pub on_a_call: bool,
}

/// What an agent is doing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentNow {
    LoggedOut,
    /// Free for an offer (since `since`: what `longest_idle` compares).
    Available {
        since: Instant,
    },
    /// Its phone rings with a caller of `queue` until `until`.
    Ringing {
        queue: String,
        call: Option<CallId>,
        until: Instant,
    },
    /// On a call from `queue`, answered at `since`; `pausing`: the pause it asked for
    /// during the call, which begins when the call ends.
    OnCall {
        queue: String,
        call: Option<CallId>,
        since: Instant,
        pausing: Option<AgentPause>,
    },
    /// Wrapping up after a call from `queue`: no offer until `until`.
    WrapUp {
        queue: String,
        until: Instant,
    },
    /// Logged in, offered nothing.
    Paused {
        reason: AgentPause,
        since: Instant,
    },
}

impl Switch {
    /// The queues and agents as they are now (building the queue machine from the dial plan
    /// if nothing has used it yet).
    pub fn queue_snapshot(&mut self, now: Instant, wall: SystemTime) -> QueueSnapshot {
        let names: Vec<String> = self
            .core
            .plan
            .queues()
            .map(|plan| plan.name.clone())
            .collect();
        self.core.queues(now, wall);
        let queues = self
            .core
            .queues_built()
            .expect("invariant: the queue machine was just built");
        let call_of = |caller| self.calls.get(&caller);
        let held = &self.core.held;
        let lines = names
            .into_iter()
            .map(|name| {
                let callers = queues
                    .callers(&name)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|view| {
                        let call = call_of(view.caller);
                        // A caller waiting for a callback has no call any more: their
                        // number is the one to call back.
                        let number = call
                            .map(|c| c.caller.clone())
                            .or_else(|| held.get(&view.caller).map(|held| held.customer.clone()));
                        WaitingCaller {
                            position: view.position,
                            call: call.map(|c| c.id.clone()),
                            number,
                            vip: view.priority == Priority::Vip,
                            joined_at: view.joined_at,
                            offered_to: view.ringing.to_vec(),
                            callback: view.called_back,
                        }
                    })
                    .collect();
                QueueLine { name, callers }
            })
            .collect();
        let agents = queues
            .agents()
            .map(|(agent, state)| AgentSnapshot {
                agent: agent.to_owned(),
                state: match state {
                    AgentState::LoggedOut => AgentNow::LoggedOut,
                    AgentState::Available { idle_since } => {
                        AgentNow::Available { since: *idle_since }
                    }
                    AgentState::Offered {
                        caller,
                        queue,
                        until,
                    } => AgentNow::Ringing {
                        queue: queue.clone(),
                        call: call_of(*caller).map(|c| c.id.clone()),
                        until: *until,
                    },
                    AgentState::OnCall {
                        caller,
                        queue,
                        since,
                    } => AgentNow::OnCall {
                        queue: queue.clone(),
                        call: call_of(*caller).map(|c| c.id.clone()),
                        since: *since,
                        pausing: queues.pause_after_call(agent).map(Into::into),
                    },
                    AgentState::WrapUp { queue, until } => AgentNow::WrapUp {
                        queue: queue.clone(),
                        until: *until,
                    },
                    AgentState::Paused { reason, since } => AgentNow::Paused {
                        reason: reason.into(),
                        since: *since,
                    },
                },
                queues: queues
                    .logged_in_to(agent)
                    .into_iter()
                    .map(|(queue, penalty)| AgentQueue {
                        queue: queue.to_owned(),
                        penalty,
                    })
                    .collect(),
                on_a_call: self.core.load.calls_of(agent) > 0,
            })
            .collect();
        QueueSnapshot {
            queues: lines,
            agents,
        }
    }
}
