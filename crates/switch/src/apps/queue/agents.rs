//! The agents the queues share, keyed by extension number: each agent's state (one at a time,
//! whatever the number of queues it answers), its membership of each queue with its penalty
//! and the calls it answered there today, and its unanswered offers in a row (auto-pause).
//!
//! A static member (a queue's `members`) is known from the start, logged out; an extension
//! that logs in to a queue it is not a member of becomes a dynamic member of that queue until
//! it logs out of it.
//!
//! Below the registry, the agents' own events on [`Queues`]: login, logout, pause, the end of
//! a call from a queue (wrap-up), calls from elsewhere.

use std::collections::BTreeMap;
use std::time::Instant;

use crate::call::CallSeq;

use super::line::secs;
use super::{LoginTo, QueueAction, QueueError, Queues};

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
/// event log has login, talk, wrap-up and pause times; a change of the agent's queues alone
/// with [`QueueAction::AgentQueuesChanged`](super::QueueAction::AgentQueuesChanged).
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

impl Queues {
    /// The call `agent` took from a queue has ended (either side hung up): wrap-up, then
    /// free.
    pub(crate) fn agent_call_ended(&mut self, agent: &str, now: Instant) -> Vec<QueueAction> {
        let mut actions = Vec::new();
        let Some(a) = self.agents.get_mut(agent) else {
            return self.finish(actions);
        };
        let AgentState::OnCall { queue, since, .. } = &a.state else {
            return self.finish(actions);
        };
        let since = *since;
        let queue = queue.clone();
        let pause = a.pause_after_call.take();
        let logged_in = a.logged_in();
        let q = self.names.get(&queue).copied();
        let wrap_up = q.map_or(0, |q| self.queues[q].plan.wrap_up_secs);
        if let Some(q) = q {
            self.queues[q].handled(now.saturating_duration_since(since) + secs(wrap_up));
        }
        let state = if !logged_in {
            AgentState::LoggedOut
        } else if let Some(reason) = pause {
            AgentState::Paused { reason, since: now }
        } else if wrap_up > 0 {
            AgentState::WrapUp {
                queue,
                until: now + secs(wrap_up),
            }
        } else {
            self.free_from(agent, now)
        };
        self.set_state(agent, state, now, &mut actions);
        self.dispatch(now, &mut actions);
        self.finish(actions)
    }

    /// `agent` logs in: to every queue it is a member of, or to one.
    pub(crate) fn login(
        &mut self,
        agent: &str,
        to: LoginTo<'_>,
        now: Instant,
    ) -> Result<Vec<QueueAction>, QueueError> {
        let mut actions = Vec::new();
        // Whether a queue was joined or a penalty changed.
        let mut changed = false;
        match to {
            LoginTo::MemberQueues => {
                let member = self
                    .agents
                    .get_mut(agent)
                    .filter(|a| !a.memberships.is_empty())
                    .ok_or_else(|| QueueError::NotAMember(agent.to_owned()))?;
                for membership in &mut member.memberships {
                    changed |= !membership.logged_in;
                    membership.logged_in = true;
                }
            }
            LoginTo::Queue { name, penalty } => {
                let q = self.queue_index(name)?;
                let member = self.agents.entry(agent, now);
                match member.membership_mut(q) {
                    Some(membership) => {
                        changed |= !membership.logged_in;
                        membership.logged_in = true;
                        if let Some(penalty) = penalty {
                            changed |= membership.penalty != penalty;
                            membership.penalty = penalty;
                        }
                    }
                    None => {
                        changed = true;
                        member.memberships.push(Membership {
                            queue: q,
                            penalty: penalty.unwrap_or(0),
                            static_member: false,
                            logged_in: true,
                            answered_today: 0,
                        });
                        self.queues[q].members.push(agent.to_owned());
                    }
                }
            }
        }
        if let Some(a) = self
            .agents
            .get_mut(agent)
            .filter(|a| a.state == AgentState::LoggedOut)
        {
            a.unanswered = 0;
            let state = self.free_from(agent, now);
            self.set_state(agent, state, now, &mut actions);
        } else if changed {
            // Logged in already: its state stays, its queues do not.
            actions.push(QueueAction::AgentQueuesChanged {
                agent: agent.to_owned(),
                at: now,
            });
        }
        self.dispatch(now, &mut actions);
        Ok(self.finish(actions))
    }

    /// `agent` logs out: of every queue (`None`), or of one. An offer ringing from a queue it
    /// leaves is cancelled; a call it is on goes on, and it is logged out when the call ends.
    /// Logging out an agent that is not logged in changes nothing.
    pub(crate) fn logout(
        &mut self,
        agent: &str,
        from: Option<&str>,
        now: Instant,
    ) -> Result<Vec<QueueAction>, QueueError> {
        let mut actions = Vec::new();
        let scope = from.map(|name| self.queue_index(name)).transpose()?;
        let Some(member) = self.agents.get_mut(agent) else {
            return Ok(self.finish(actions));
        };
        let mut left = Vec::new();
        let mut dynamic_left = Vec::new();
        member.memberships.retain_mut(|m| {
            if scope.is_some_and(|q| q != m.queue) {
                return true;
            }
            if m.logged_in {
                left.push(m.queue);
            }
            m.logged_in = false;
            if !m.static_member {
                dynamic_left.push(m.queue);
            }
            m.static_member
        });
        // Whether a queue was left (a dynamic member's membership goes with it).
        let changed = !left.is_empty() || !dynamic_left.is_empty();
        let logged_in = member.logged_in();
        let idle_since = member.idle_since;
        let offered_from_left = match &member.state {
            AgentState::Offered { queue, .. } => self
                .names
                .get(queue)
                .is_some_and(|q| !member.logged_in_to(*q)),
            _ => false,
        };
        let unchanged = matches!(
            member.state,
            AgentState::OnCall { .. } | AgentState::LoggedOut
        );
        if !logged_in {
            member.pause_after_call = None;
        }
        for q in dynamic_left {
            self.queues[q].members.retain(|m| m != agent);
        }
        if offered_from_left {
            self.withdraw_offer(agent, &mut actions);
        }
        let state = if unchanged {
            None
        } else if !logged_in {
            Some(AgentState::LoggedOut)
        } else if offered_from_left {
            Some(AgentState::Available { idle_since })
        } else {
            None
        };
        match state {
            Some(state) => self.set_state(agent, state, now, &mut actions),
            // Logged out of some queues but not all, or of all during a call (its state
            // changes when the call ends).
            None if changed => actions.push(QueueAction::AgentQueuesChanged {
                agent: agent.to_owned(),
                at: now,
            }),
            None => {}
        }
        for q in left {
            if self.queues[q].plan.leave_when_empty && !self.anyone_logged_in(q) {
                self.empty_line(q, now, &mut actions);
            }
        }
        self.dispatch(now, &mut actions);
        Ok(self.finish(actions))
    }

    /// `agent` pauses: offered nothing until it unpauses. A ringing offer is cancelled; on a
    /// call, the pause begins when the call ends (no wrap-up).
    pub(crate) fn pause(
        &mut self,
        agent: &str,
        reason: PauseReason,
        now: Instant,
    ) -> Result<Vec<QueueAction>, QueueError> {
        let mut actions = Vec::new();
        let member = self
            .agents
            .get_mut(agent)
            .filter(|a| a.logged_in())
            .ok_or_else(|| QueueError::NotLoggedIn(agent.to_owned()))?;
        if let AgentState::OnCall { .. } = member.state {
            member.pause_after_call = Some(reason);
            return Ok(self.finish(actions));
        }
        if let AgentState::Offered { .. } = member.state {
            self.withdraw_offer(agent, &mut actions);
        }
        self.set_state(
            agent,
            AgentState::Paused { reason, since: now },
            now,
            &mut actions,
        );
        self.dispatch(now, &mut actions);
        Ok(self.finish(actions))
    }

    /// `agent` ends its pause (or the pause it asked for during a call); its unanswered
    /// offers are forgotten.
    pub(crate) fn unpause(
        &mut self,
        agent: &str,
        now: Instant,
    ) -> Result<Vec<QueueAction>, QueueError> {
        let mut actions = Vec::new();
        let member = self
            .agents
            .get_mut(agent)
            .filter(|a| a.logged_in())
            .ok_or_else(|| QueueError::NotLoggedIn(agent.to_owned()))?;
        member.pause_after_call = None;
        if let AgentState::Paused { .. } = member.state {
            member.unanswered = 0;
            member.idle_since = now;
            self.set_state(
                agent,
                AgentState::Available { idle_since: now },
                now,
                &mut actions,
            );
            self.dispatch(now, &mut actions);
        }
        Ok(self.finish(actions))
    }

    /// `agent`'s phone is (`busy`) or is no longer on a call that is not from a queue — its
    /// own call, a call to its extension: while it is, the agent is offered nothing (its state
    /// is unchanged; an offer already ringing goes on).
    pub(crate) fn agent_busy(&mut self, agent: &str, busy: bool, now: Instant) -> Vec<QueueAction> {
        let mut actions = Vec::new();
        if let Some(a) = self.agents.get_mut(agent) {
            a.busy_elsewhere = busy;
            if !busy {
                self.dispatch(now, &mut actions);
            }
        }
        self.finish(actions)
    }

    /// A new day: the calls answered today (`fewest_calls`) start again from 0.
    pub(crate) fn new_day(&mut self) {
        for (_, agent) in self.agents.iter_mut() {
            for membership in &mut agent.memberships {
                membership.answered_today = 0;
            }
        }
    }

    /// The agent becomes free for offers now (logged in, call ended, pause over).
    pub(super) fn free_from(&mut self, agent: &str, now: Instant) -> AgentState {
        if let Some(a) = self.agents.get_mut(agent) {
            a.idle_since = now;
        }
        AgentState::Available { idle_since: now }
    }

    pub(super) fn set_state(
        &mut self,
        agent: &str,
        state: AgentState,
        now: Instant,
        actions: &mut Vec<QueueAction>,
    ) {
        let Some(a) = self.agents.get_mut(agent) else {
            return;
        };
        if a.state == state {
            return;
        }
        let previous = std::mem::replace(&mut a.state, state.clone());
        actions.push(QueueAction::AgentStateChanged {
            agent: agent.to_owned(),
            state,
            previous,
            at: now,
        });
    }

    /// Whether any agent is logged in to queue `q` (paused or not).
    pub(super) fn anyone_logged_in(&self, q: usize) -> bool {
        self.queues[q]
            .members
            .iter()
            .any(|m| self.agents.get(m).is_some_and(|a| a.logged_in_to(q)))
    }
}
