//! The agents the queues share, keyed by extension number: each agent's state (one at a time,
//! whatever the number of queues it answers), its membership of each queue with its penalty
//! and the calls it answered there today, and its unanswered offers in a row (auto-pause).
//!
//! A static member (a queue's `members`) is known from the start, logged out; an extension
//! that logs in to a queue it is not a member of becomes a dynamic member of that queue until
//! it logs out of it.

use std::collections::BTreeMap;
use std::time::Instant;

use crate::call::CallSeq;

/// Why an agent is paused.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum PauseReason {
    /// The agent paused without a reason (`pause_code` alone).
    Unspecified,
    /// One of `[agents] pause_reasons` (`lunch`), by the digit after `pause_code` or the API.
    Named(String),
    /// The queue paused the agent after `auto_pause_after` unanswered offers in a row.
    Unanswered { offers: u32 },
}

/// Where an agent stands. Each change is reported with
/// [`QueueAction::AgentStateChanged`](super::QueueAction::AgentStateChanged), so the agent
/// event log has login, talk, wrap-up and pause times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AgentState {
    /// Logged in to no queue.
    LoggedOut,
    /// Free for an offer since `idle_since` (what `longest_idle` compares).
    Available { idle_since: Instant },
    /// Its phone rings with `caller` of `queue` until `until`.
    Offered {
        caller: CallSeq,
        queue: String,
        until: Instant,
    },
    /// On a call with `caller` of `queue`, answered at `since`.
    OnCall {
        caller: CallSeq,
        queue: String,
        since: Instant,
    },
    /// After a call of `queue`: no offer until `until` (`wrap_up_secs`).
    WrapUp { queue: String, until: Instant },
    /// Logged in, but offered nothing.
    Paused { reason: PauseReason, since: Instant },
}

/// An agent's place in one queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Membership {
    /// Index of the queue in [`super::Queues`].
    pub(crate) queue: usize,
    /// The agent's tier in this queue (lower is offered first).
    pub(crate) penalty: u32,
    /// A static member (`members` of the queue) stays a member when it logs out; a dynamic
    /// one is removed.
    pub(crate) static_member: bool,
    pub(crate) logged_in: bool,
    /// Calls from this queue answered today (`fewest_calls`; [`super::Queues::new_day`]
    /// resets it).
    pub(crate) answered_today: u32,
}

#[derive(Debug, Clone)]
pub(crate) struct Agent {
    pub(crate) state: AgentState,
    pub(crate) memberships: Vec<Membership>,
    /// Unanswered offers in a row (an answer or the end of a pause resets it).
    pub(crate) unanswered: u32,
    /// When the agent last became free (kept while an offer rings, so an unanswered offer
    /// does not cost the agent its place in `longest_idle`).
    pub(crate) idle_since: Instant,
    /// A pause asked for while on a call, begun when the call ends.
    pub(crate) pause_after_call: Option<PauseReason>,
    /// The agent's phone is on a call that is not from a queue (its own, a direct call):
    /// offered nothing until it ends.
    pub(crate) busy_elsewhere: bool,
}

impl Agent {
    fn new(now: Instant) -> Agent {
        Agent {
            state: AgentState::LoggedOut,
            memberships: Vec::new(),
            unanswered: 0,
            idle_since: now,
            pause_after_call: None,
            busy_elsewhere: false,
        }
    }

    pub(crate) fn membership(&self, queue: usize) -> Option<&Membership> {
        self.memberships.iter().find(|m| m.queue == queue)
    }

    pub(crate) fn membership_mut(&mut self, queue: usize) -> Option<&mut Membership> {
        self.memberships.iter_mut().find(|m| m.queue == queue)
    }

    /// Whether the agent is logged in to `queue`.
    pub(crate) fn logged_in_to(&self, queue: usize) -> bool {
        self.membership(queue).is_some_and(|m| m.logged_in)
    }

    /// Whether the agent is logged in to any queue.
    pub(crate) fn logged_in(&self) -> bool {
        self.memberships.iter().any(|m| m.logged_in)
    }
}

/// Every agent of every queue, in extension order (so that walking them is deterministic).
#[derive(Debug, Default)]
pub(crate) struct Agents {
    agents: BTreeMap<String, Agent>,
}

impl Agents {
    pub(crate) fn get(&self, extension: &str) -> Option<&Agent> {
        self.agents.get(extension)
    }

    pub(crate) fn get_mut(&mut self, extension: &str) -> Option<&mut Agent> {
        self.agents.get_mut(extension)
    }

    /// The agent `extension`, made (logged out, member of nothing) if it is not known yet.
    pub(crate) fn entry(&mut self, extension: &str, now: Instant) -> &mut Agent {
        self.agents
            .entry(extension.to_owned())
            .or_insert_with(|| Agent::new(now))
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&String, &Agent)> {
        self.agents.iter()
    }

    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = (&String, &mut Agent)> {
        self.agents.iter_mut()
    }
}
