//! Queues (`[[queue]]`) at work: callers waiting in line for the agents the queues share.
//!
//! [`Queues`] is the one machine behind every `queue:NAME` of a site: a [`line::Queue`] per
//! queue (its callers in the order they are served, its agents in member order, its round
//! robin position, its recent handling times) and the [`agents::Agents`] registry, since one
//! agent answers several queues but takes one call at a time. Every event — a caller joins,
//! presses a key or hangs up; an agent answers, fails to, hangs up, logs in or out, pauses;
//! time passes — returns the [`QueueAction`]s it causes, and offers are made in the same call
//! that frees an agent or brings a caller: there is no polling. Time comes in as `now`, the
//! only randomness (`random`) from the seed [`Queues::new`] is given.
//!
//! The rules:
//!
//! - **Order.** VIP callers ([`Priority::Vip`], an inbound route's `vip`) are served before
//!   normal ones, first come first served within a priority. Across the queues an agent
//!   answers, the caller served first is the one of highest priority who joined first.
//! - **Offers.** A caller who is not ringing an agent (nor waiting out `retry_secs` after an
//!   unanswered offer) is offered to the free agents the queue's strategy picks among the
//!   lowest penalty that has any free ([`strategy`]); each offer rings for `agent_ring_secs`.
//!   While a caller waits out a retry, callers behind may take a free agent.
//! - **Unanswered offers** (busy, no answer, rejected, unreachable, or the ring time over) send
//!   the caller to wait `retry_secs`, count against the agent, and after `auto_pause_after` in
//!   a row pause it ([`PauseReason::Unanswered`]). An agent who left a caller unanswered is
//!   offered that caller again only after the other free agents of its tier.
//! - **After a call** an agent wraps up for the queue's `wrap_up_secs`, then is free (or
//!   paused, if it paused during the call; logged out, if it logged out).
//! - **Joining.** With `max_callers` waiting, a caller goes to `on_full`; with no agent logged
//!   in (paused agents are logged in) and not `join_empty`, to `on_empty`. When the last agent
//!   logs out of a queue that has `leave_when_empty`, its callers go to `on_empty`.
//! - **Waiting.** After `max_wait_secs` a caller goes to `on_timeout`. The position is
//!   announced on joining (unless an agent is offered the caller at once) and every
//!   `announce_position_secs`, with the estimated wait when `announce_wait` (the position
//!   times the recent mean handling time, shared among the agents logged in and not paused;
//!   none before the first call is handled); the `announcement` every `announcement_secs`;
//!   the callback offer once, after `callback_offer_after_secs`.
//! - **Keys.** A breakout key sends the caller to its destination; the callback key, once
//!   offered, ends the call and keeps the caller's place: when their turn comes, the agent
//!   offered them calls them back ([`QueueAction::Offer`] with `callback`).

// The SIP side (`call::inbound`) drives this machine next; until then only the tests do.
#![cfg_attr(not(test), allow(dead_code))]

mod agents;
mod line;
mod strategy;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crossbar_config::{Destination, PromptRef, QueueStrategy};
use crossbar_routing::QueuePlan;

use crate::call::CallSeq;

pub(crate) use agents::{AgentState, PauseReason};
use agents::{Agents, Membership};
use line::{Queue, Waiting, secs};
use strategy::{Candidate, SplitMix64};

/// A caller's priority in line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Priority {
    Normal,
    /// Served before every normal caller (an inbound route's `vip`).
    Vip,
}

/// Something played to a waiting caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Announcement {
    /// "You are caller number N" (1: next to be served).
    Position(usize),
    /// "Your estimated wait is about ..." in seconds (rounded up; the prompts round further).
    EstimatedWait(u32),
    /// The queue's `announcement`.
    Custom(PromptRef),
    /// "Press KEY to be called back, keeping your place in the queue."
    CallbackOffer { key: char },
}

/// Why a caller leaves a queue unanswered for another destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OverflowReason {
    /// `max_wait_secs` ran out (`on_timeout`; none: the call ends, no answer).
    Timeout,
    /// `max_callers` were waiting when the caller came (`on_full`; none: busy).
    Full,
    /// No agent logged in (`on_empty`; none: the call ends, unavailable).
    Empty,
    /// The caller pressed a breakout key.
    Breakout { key: char },
}

/// How an offer to an agent ended unanswered. Every one counts toward `auto_pause_after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OfferFailure {
    /// 486/600: the agent's phone is busy.
    Busy,
    /// It rang and nobody answered (408, 480 after ringing).
    NoAnswer,
    /// 603: the agent declined.
    Rejected,
    /// No phone registered, or the leg could not be placed.
    Unreachable,
}

/// Which queues an agent logs in to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LoginTo<'a> {
    /// Every queue the agent is a member of (`[agents] login_code` from the phone).
    MemberQueues,
    /// One queue (API, CLI): an extension that is not a member of it becomes a dynamic one,
    /// with `penalty` (default 0); a member's penalty is changed when `penalty` is given.
    Queue { name: &'a str, penalty: Option<u32> },
}

/// What the queue machine wants done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum QueueAction {
    /// The caller is in line at `position` (1: next to be served): answer the call if it is
    /// not yet, play the music on hold; the record's position on entry.
    Joined { caller: CallSeq, position: usize },
    /// Ring `agent` for `caller` until `until`, then report
    /// [`Queues::agent_answered`] or [`Queues::agent_failed`]; the machine ends the offer
    /// itself at `until` ([`QueueAction::CancelOffer`]). With `callback`, the caller's call
    /// has ended (they took the callback offer): once the agent answers, call the caller back.
    Offer {
        caller: CallSeq,
        agent: String,
        until: Instant,
        callback: bool,
    },
    /// End the leg that offers `caller` to `agent`: CANCEL while it rings, BYE if its answer
    /// comes too late (the caller was connected elsewhere, or left).
    CancelOffer { caller: CallSeq, agent: String },
    /// `agent` answered: bridge the caller to the agent's leg (re-point the caller's relay,
    /// no re-INVITE). The caller has left the line after `waited` (the record's queue wait).
    Connect {
        caller: CallSeq,
        agent: String,
        waited: Duration,
    },
    /// Play these to the caller in order, then go back to the music (where it left off).
    Announce {
        caller: CallSeq,
        what: Vec<Announcement>,
    },
    /// The caller leaves the queue for `destination` after `waited`; `None`: the call ends
    /// the way `why` says (no answer, busy, unavailable).
    Overflow {
        caller: CallSeq,
        destination: Option<Destination>,
        why: OverflowReason,
        waited: Duration,
    },
    /// The caller hung up after waiting `waited`: `abandoned`, stage `queue`; `short` when
    /// within the queue's `short_abandon_secs`.
    Abandoned {
        caller: CallSeq,
        waited: Duration,
        short: bool,
    },
    /// The caller took the callback offer: end their call and open a callback task. Their
    /// place (`position`) is kept: an [`QueueAction::Offer`] with `callback` comes when
    /// their turn does.
    CallbackAccepted { caller: CallSeq, position: usize },
    /// `agent` is now in `state` (the agent event log: login, talk, wrap-up and pause times).
    AgentStateChanged {
        agent: String,
        state: AgentState,
        at: Instant,
    },
    /// Call [`Queues::timeout`] at this instant (replaces the wait asked for before).
    WaitUntil(Instant),
}

/// A waiting caller as the live view shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CallerView<'a> {
    pub(crate) caller: CallSeq,
    /// 1: next to be served.
    pub(crate) position: usize,
    pub(crate) priority: Priority,
    /// The wait so far is `now - joined_at`.
    pub(crate) joined_at: Instant,
    /// Agents ringing for the caller now.
    pub(crate) ringing: &'a [String],
    /// Waiting for a callback (the call itself has ended).
    pub(crate) called_back: bool,
}

/// A request the queues cannot follow: for the API, CLI or feature code to report.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum QueueError {
    #[error("there is no queue named `{0}`")]
    NoSuchQueue(String),
    #[error("call {0} is already waiting in a queue")]
    AlreadyWaiting(CallSeq),
    #[error("extension {0} is a member of no queue: log it in to a queue by name")]
    NotAMember(String),
    #[error("agent {0} is not logged in")]
    NotLoggedIn(String),
}

/// Every queue of the site and the agents they share.
#[derive(Debug)]
pub(crate) struct Queues {
    queues: Vec<Queue>,
    names: HashMap<String, usize>,
    agents: Agents,
    /// Which queue each waiting caller is in.
    callers: HashMap<CallSeq, usize>,
    /// Callers who have joined so far (their order of arrival).
    arrivals: u64,
    rng: SplitMix64,
    /// The deadline last asked for with [`QueueAction::WaitUntil`].
    waiting_until: Option<Instant>,
}

impl Queues {
    /// The queues of `plans`, their static members known and logged out; `seed` drives the
    /// `random` strategy.
    pub(crate) fn new(plans: Vec<QueuePlan>, seed: u64, now: Instant) -> Queues {
        let mut agents = Agents::default();
        let mut names = HashMap::new();
        let mut queues = Vec::with_capacity(plans.len());
        for (index, plan) in plans.into_iter().enumerate() {
            for member in &plan.members {
                agents
                    .entry(&member.extension, now)
                    .memberships
                    .push(Membership {
                        queue: index,
                        penalty: member.penalty,
                        static_member: true,
                        logged_in: false,
                        answered_today: 0,
                    });
            }
            names.entry(plan.name.clone()).or_insert(index);
            queues.push(Queue::new(plan));
        }
        Queues {
            queues,
            names,
            agents,
            callers: HashMap::new(),
            arrivals: 0,
            rng: SplitMix64::new(seed),
            waiting_until: None,
        }
    }

    // ---- callers ----

    /// `caller` comes to `queue` with `priority`: in line (and offered at once if an agent is
    /// free), or on to `on_full` / `on_empty`.
    pub(crate) fn join(
        &mut self,
        queue: &str,
        caller: CallSeq,
        priority: Priority,
        now: Instant,
    ) -> Result<Vec<QueueAction>, QueueError> {
        let q = self.queue_index(queue)?;
        if self.callers.contains_key(&caller) {
            return Err(QueueError::AlreadyWaiting(caller));
        }
        let mut actions = Vec::new();
        let anyone = self.anyone_logged_in(q);
        let plan = &self.queues[q].plan;
        let full = plan.max_callers.is_some_and(|max| {
            self.queues[q].line.len() >= usize::try_from(max).unwrap_or(usize::MAX)
        });
        if full || (!plan.join_empty && !anyone) {
            let (destination, why) = if full {
                (plan.on_full.clone(), OverflowReason::Full)
            } else {
                (plan.on_empty.clone(), OverflowReason::Empty)
            };
            actions.push(QueueAction::Overflow {
                caller,
                destination,
                why,
                waited: Duration::ZERO,
            });
            return Ok(self.finish(actions));
        }
        let after = |s: Option<u32>| s.map(|s| now + secs(s));
        let waiting = Waiting {
            caller,
            priority,
            joined_at: now,
            arrival: self.arrivals + 1,
            ringing: Vec::new(),
            tried: Vec::new(),
            retry_at: None,
            timeout_at: after(plan.max_wait_secs),
            next_position_at: after(plan.announce_position_secs),
            next_announcement_at: after(plan.announcement.as_ref().map(|_| plan.announcement_secs)),
            callback_offer_at: after(plan.callback_offer_after_secs),
            callback_offered: false,
            called_back: false,
        };
        let announce = plan.announce_position_secs.is_some();
        self.arrivals += 1;
        let index = self.queues[q].insert(waiting);
        self.callers.insert(caller, q);
        actions.push(QueueAction::Joined {
            caller,
            position: index + 1,
        });
        self.dispatch(now, &mut actions);
        if announce
            && let Some(index) = self.queues[q].index_of(caller)
            && self.queues[q].line[index].ringing.is_empty()
        {
            let what = self.position_announcement(q, index + 1);
            actions.push(QueueAction::Announce { caller, what });
        }
        Ok(self.finish(actions))
    }

    /// `caller` hung up while waiting: abandoned (offers ringing for them are cancelled). A
    /// caller waiting for a callback is taken out of line without a word (their callback task
    /// was reached some other way, or dropped).
    pub(crate) fn caller_left(&mut self, caller: CallSeq, now: Instant) -> Vec<QueueAction> {
        let mut actions = Vec::new();
        if let Some((q, index)) = self.find(caller) {
            self.cancel_offers(q, index, now, &mut actions);
            let waiting = self.remove(q, index);
            if !waiting.called_back {
                let waited = now.saturating_duration_since(waiting.joined_at);
                actions.push(QueueAction::Abandoned {
                    caller,
                    waited,
                    short: waited <= secs(self.queues[q].plan.short_abandon_secs),
                });
            }
            self.dispatch(now, &mut actions);
        }
        self.finish(actions)
    }

    /// `caller` pressed `key`: a breakout key sends them on, the callback key (once offered)
    /// takes the callback; other keys do nothing.
    pub(crate) fn key(&mut self, caller: CallSeq, key: char, now: Instant) -> Vec<QueueAction> {
        let mut actions = Vec::new();
        let Some((q, index)) = self.find(caller) else {
            return self.finish(actions);
        };
        let queue = &self.queues[q];
        let waiting = &queue.line[index];
        if waiting.called_back {
            return self.finish(actions);
        }
        if let Some(destination) = queue.plan.breakout(key).cloned() {
            self.leave(
                q,
                index,
                Some(destination),
                OverflowReason::Breakout { key },
                now,
                &mut actions,
            );
            self.dispatch(now, &mut actions);
        } else if waiting.callback_offered && key == queue.plan.callback_key {
            self.cancel_offers(q, index, now, &mut actions);
            let waiting = &mut self.queues[q].line[index];
            waiting.called_back = true;
            waiting.retry_at = None;
            waiting.timeout_at = None;
            waiting.next_position_at = None;
            waiting.next_announcement_at = None;
            actions.push(QueueAction::CallbackAccepted {
                caller,
                position: index + 1,
            });
            self.dispatch(now, &mut actions);
        }
        self.finish(actions)
    }

    // ---- offers ----

    /// `agent` answered the offer of `caller`: connected, and the caller leaves the line. An
    /// answer to an offer that has ended is refused ([`QueueAction::CancelOffer`]).
    pub(crate) fn agent_answered(
        &mut self,
        caller: CallSeq,
        agent: &str,
        now: Instant,
    ) -> Vec<QueueAction> {
        let mut actions = Vec::new();
        let offered = self
            .find(caller)
            .filter(|&(q, i)| self.queues[q].line[i].ringing.iter().any(|a| a == agent));
        let Some((q, index)) = offered else {
            actions.push(QueueAction::CancelOffer {
                caller,
                agent: agent.to_owned(),
            });
            return self.finish(actions);
        };
        let waiting = self.remove(q, index);
        actions.push(QueueAction::Connect {
            caller,
            agent: agent.to_owned(),
            waited: now.saturating_duration_since(waiting.joined_at),
        });
        for other in waiting.ringing.iter().filter(|a| *a != agent) {
            actions.push(QueueAction::CancelOffer {
                caller,
                agent: other.clone(),
            });
            self.offer_withdrawn(other, now, &mut actions);
        }
        let name = self.queues[q].plan.name.clone();
        if let Some(answering) = self.agents.get_mut(agent) {
            answering.unanswered = 0;
            if let Some(membership) = answering.membership_mut(q) {
                membership.answered_today += 1;
            }
        }
        let state = AgentState::OnCall {
            caller,
            queue: name,
            since: now,
        };
        self.set_state(agent, state, now, &mut actions);
        self.dispatch(now, &mut actions);
        self.finish(actions)
    }

    /// The offer of `caller` to `agent` ended unanswered (`failure`, as the agent's leg
    /// reported it). Reports about offers that have already ended are ignored.
    pub(crate) fn agent_failed(
        &mut self,
        caller: CallSeq,
        agent: &str,
        failure: OfferFailure,
        now: Instant,
    ) -> Vec<QueueAction> {
        let mut actions = Vec::new();
        let offered = self
            .find(caller)
            .filter(|&(q, i)| self.queues[q].line[i].ringing.iter().any(|a| a == agent));
        if let Some((q, index)) = offered {
            tracing::debug!(caller, agent, ?failure, "queue offer unanswered");
            self.offer_unanswered(q, index, agent, now, &mut actions);
            self.dispatch(now, &mut actions);
        }
        self.finish(actions)
    }

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

    // ---- agents ----

    /// `agent` logs in: to every queue it is a member of, or to one.
    pub(crate) fn login(
        &mut self,
        agent: &str,
        to: LoginTo<'_>,
        now: Instant,
    ) -> Result<Vec<QueueAction>, QueueError> {
        let mut actions = Vec::new();
        match to {
            LoginTo::MemberQueues => {
                let member = self
                    .agents
                    .get_mut(agent)
                    .filter(|a| !a.memberships.is_empty())
                    .ok_or_else(|| QueueError::NotAMember(agent.to_owned()))?;
                for membership in &mut member.memberships {
                    membership.logged_in = true;
                }
            }
            LoginTo::Queue { name, penalty } => {
                let q = self.queue_index(name)?;
                let member = self.agents.entry(agent, now);
                match member.membership_mut(q) {
                    Some(membership) => {
                        membership.logged_in = true;
                        if let Some(penalty) = penalty {
                            membership.penalty = penalty;
                        }
                    }
                    None => {
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
        if let Some(state) = state {
            self.set_state(agent, state, now, &mut actions);
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

    // ---- time ----

    /// Time has come to `now`: offers ring out, wrap-ups end, callers time out or hear their
    /// announcements, callers whose retry wait is over are offered again.
    pub(crate) fn timeout(&mut self, now: Instant) -> Vec<QueueAction> {
        let mut actions = Vec::new();
        let mut rung_out = Vec::new();
        let mut wrapped_up = Vec::new();
        for (extension, agent) in self.agents.iter() {
            match &agent.state {
                AgentState::Offered { caller, until, .. } if *until <= now => {
                    rung_out.push((extension.clone(), *caller));
                }
                AgentState::WrapUp { until, .. } if *until <= now => {
                    wrapped_up.push((extension.clone(), *until));
                }
                _ => {}
            }
        }
        for (agent, caller) in rung_out {
            let (q, index) = self
                .find(caller)
                .expect("invariant: an offered agent's caller is in line");
            actions.push(QueueAction::CancelOffer {
                caller,
                agent: agent.clone(),
            });
            self.offer_unanswered(q, index, &agent, now, &mut actions);
        }
        for (agent, until) in wrapped_up {
            if let Some(a) = self.agents.get_mut(&agent) {
                a.idle_since = until;
            }
            let state = AgentState::Available { idle_since: until };
            self.set_state(&agent, state, now, &mut actions);
        }
        for q in 0..self.queues.len() {
            let timed_out: Vec<CallSeq> = self.queues[q]
                .line
                .iter()
                .filter(|w| w.timeout_at.is_some_and(|at| at <= now))
                .map(|w| w.caller)
                .collect();
            for caller in timed_out {
                let index = self.queues[q]
                    .index_of(caller)
                    .expect("invariant: collected from the line");
                let destination = self.queues[q].plan.on_timeout.clone();
                self.leave(
                    q,
                    index,
                    destination,
                    OverflowReason::Timeout,
                    now,
                    &mut actions,
                );
            }
            self.announcements(q, now, &mut actions);
        }
        self.dispatch(now, &mut actions);
        self.finish(actions)
    }

    /// The next instant [`Queues::timeout`] has something to do.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        let agents = self
            .agents
            .iter()
            .filter_map(|(_, agent)| match agent.state {
                AgentState::Offered { until, .. } | AgentState::WrapUp { until, .. } => Some(until),
                _ => None,
            })
            .min();
        let callers = self.queues.iter().filter_map(Queue::deadline).min();
        agents.into_iter().chain(callers).min()
    }

    // ---- views ----

    /// `caller`'s position in its queue (1: next to be served).
    pub(crate) fn position(&self, caller: CallSeq) -> Option<usize> {
        self.find(caller).map(|(_, index)| index + 1)
    }

    /// The callers of `queue` in the order they are served.
    pub(crate) fn line(&self, queue: &str) -> Option<Vec<CallSeq>> {
        let q = *self.names.get(queue)?;
        Some(self.queues[q].line.iter().map(|w| w.caller).collect())
    }

    /// The callers of `queue` in the order they are served, for the live view.
    pub(crate) fn callers(&self, queue: &str) -> Option<Vec<CallerView<'_>>> {
        let q = *self.names.get(queue)?;
        let line = &self.queues[q].line;
        Some(
            line.iter()
                .enumerate()
                .map(|(index, w)| CallerView {
                    caller: w.caller,
                    position: index + 1,
                    priority: w.priority,
                    joined_at: w.joined_at,
                    ringing: &w.ringing,
                    called_back: w.called_back,
                })
                .collect(),
        )
    }

    pub(crate) fn agent_state(&self, agent: &str) -> Option<&AgentState> {
        self.agents.get(agent).map(|a| &a.state)
    }

    /// Every agent known (static members, and extensions that logged in to a queue), in
    /// extension order, with its state, for the live view.
    pub(crate) fn agents(&self) -> impl Iterator<Item = (&str, &AgentState)> {
        self.agents.iter().map(|(e, a)| (e.as_str(), &a.state))
    }

    /// Where `round_robin` starts in `queue` (a position in its member order), to keep
    /// across restarts.
    pub(crate) fn round_robin_next(&self, queue: &str) -> Option<usize> {
        let q = *self.names.get(queue)?;
        Some(self.queues[q].round_robin_next)
    }

    /// Restores the round robin position kept from before a restart.
    pub(crate) fn set_round_robin_next(&mut self, queue: &str, next: usize) {
        if let Some(&q) = self.names.get(queue) {
            self.queues[q].round_robin_next = next;
        }
    }

    // ---- inside ----

    fn queue_index(&self, name: &str) -> Result<usize, QueueError> {
        self.names
            .get(name)
            .copied()
            .ok_or_else(|| QueueError::NoSuchQueue(name.to_owned()))
    }

    fn find(&self, caller: CallSeq) -> Option<(usize, usize)> {
        let q = *self.callers.get(&caller)?;
        self.queues[q].index_of(caller).map(|index| (q, index))
    }

    fn remove(&mut self, q: usize, index: usize) -> Waiting {
        let waiting = self.queues[q].line.remove(index);
        self.callers.remove(&waiting.caller);
        waiting
    }

    /// Whether any agent is logged in to queue `q` (paused or not).
    fn anyone_logged_in(&self, q: usize) -> bool {
        self.queues[q]
            .members
            .iter()
            .any(|m| self.agents.get(m).is_some_and(|a| a.logged_in_to(q)))
    }

    /// The agent becomes free for offers now (logged in, call ended, pause over).
    fn free_from(&mut self, agent: &str, now: Instant) -> AgentState {
        if let Some(a) = self.agents.get_mut(agent) {
            a.idle_since = now;
        }
        AgentState::Available { idle_since: now }
    }

    fn set_state(
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
        a.state = state.clone();
        actions.push(QueueAction::AgentStateChanged {
            agent: agent.to_owned(),
            state,
            at: now,
        });
    }

    /// Offers the callers ready for one to the free agents, best caller first, until no
    /// queue with a ready caller has a free agent left.
    fn dispatch(&mut self, now: Instant, actions: &mut Vec<QueueAction>) {
        let mut exhausted = vec![false; self.queues.len()];
        loop {
            let mut best: Option<(usize, usize)> = None;
            for (q, queue) in self.queues.iter().enumerate() {
                if exhausted[q] {
                    continue;
                }
                let Some(index) = queue.first_ready(now) else {
                    continue;
                };
                let key = |(q, index): (usize, usize)| {
                    let w: &Waiting = &self.queues[q].line[index];
                    (std::cmp::Reverse(w.priority), w.joined_at, w.arrival)
                };
                if best.is_none_or(|b| key((q, index)) < key(b)) {
                    best = Some((q, index));
                }
            }
            let Some((q, index)) = best else {
                return;
            };
            let chosen = self.choose(q, index);
            if chosen.is_empty() {
                // No free agent for this queue's first ready caller: none for the others.
                exhausted[q] = true;
                continue;
            }
            self.offer(q, index, chosen, now, actions);
        }
    }

    /// The agents (with their member positions) the caller at `index` of queue `q` is to be
    /// offered to now.
    fn choose(&mut self, q: usize, index: usize) -> Vec<(String, usize)> {
        let queue = &self.queues[q];
        let waiting = &queue.line[index];
        let candidates: Vec<Candidate<'_>> = queue
            .members
            .iter()
            .enumerate()
            .filter_map(|(order, extension)| {
                let agent = self.agents.get(extension)?;
                let membership = agent
                    .membership(q)
                    .filter(|m| m.logged_in && !agent.busy_elsewhere)?;
                let AgentState::Available { idle_since } = agent.state else {
                    return None;
                };
                Some(Candidate {
                    extension,
                    order,
                    penalty: membership.penalty,
                    idle_since,
                    answered_today: membership.answered_today,
                    tried: waiting.tried.iter().any(|t| t == extension),
                })
            })
            .collect();
        strategy::choose(
            queue.plan.strategy,
            &candidates,
            queue.round_robin_next,
            queue.members.len(),
            &mut self.rng,
        )
        .into_iter()
        .map(|i| (candidates[i].extension.to_owned(), candidates[i].order))
        .collect()
    }

    fn offer(
        &mut self,
        q: usize,
        index: usize,
        agents: Vec<(String, usize)>,
        now: Instant,
        actions: &mut Vec<QueueAction>,
    ) {
        let queue = &mut self.queues[q];
        let until = now + secs(queue.plan.agent_ring_secs);
        let name = queue.plan.name.clone();
        if queue.plan.strategy == QueueStrategy::RoundRobin
            && let Some((_, order)) = agents.last()
        {
            queue.round_robin_next = order + 1;
        }
        let waiting = &mut queue.line[index];
        waiting.retry_at = None;
        let caller = waiting.caller;
        let callback = waiting.called_back;
        for (agent, _) in agents {
            waiting.ringing.push(agent.clone());
            actions.push(QueueAction::Offer {
                caller,
                agent: agent.clone(),
                until,
                callback,
            });
            let state = AgentState::Offered {
                caller,
                queue: name.clone(),
                until,
            };
            if let Some(a) = self.agents.get_mut(&agent) {
                a.state = state.clone();
            }
            actions.push(QueueAction::AgentStateChanged {
                agent,
                state,
                at: now,
            });
        }
    }

    /// The offer of the caller at `index` of queue `q` to `agent` ended unanswered: the
    /// caller waits out the retry time (once nobody rings for them), the agent is free again
    /// or, after `auto_pause_after` unanswered offers in a row, paused.
    fn offer_unanswered(
        &mut self,
        q: usize,
        index: usize,
        agent: &str,
        now: Instant,
        actions: &mut Vec<QueueAction>,
    ) {
        let queue = &mut self.queues[q];
        let retry = secs(queue.plan.retry_secs);
        let auto_pause_after = queue.plan.auto_pause_after;
        let waiting = &mut queue.line[index];
        waiting.ringing.retain(|a| a != agent);
        if !waiting.tried.iter().any(|a| a == agent) {
            waiting.tried.push(agent.to_owned());
        }
        if waiting.ringing.is_empty() {
            waiting.retry_at = Some(now + retry);
        }
        let Some(a) = self.agents.get_mut(agent) else {
            return;
        };
        a.unanswered += 1;
        let state = match auto_pause_after {
            Some(after) if a.unanswered >= after => AgentState::Paused {
                reason: PauseReason::Unanswered {
                    offers: a.unanswered,
                },
                since: now,
            },
            _ => AgentState::Available {
                idle_since: a.idle_since,
            },
        };
        self.set_state(agent, state, now, actions);
    }

    /// An offer ringing for `agent` is called off for a reason of the caller's (answered
    /// elsewhere, left): the agent is free again, with its idle time kept.
    fn offer_withdrawn(&mut self, agent: &str, now: Instant, actions: &mut Vec<QueueAction>) {
        let Some(a) = self.agents.get(agent) else {
            return;
        };
        if let AgentState::Offered { .. } = a.state {
            let state = AgentState::Available {
                idle_since: a.idle_since,
            };
            self.set_state(agent, state, now, actions);
        }
    }

    /// Cancels the offer ringing for `agent` for a reason of the agent's (logout, pause): the
    /// caller is ready for another agent at once. The agent's state is the caller's to set.
    fn withdraw_offer(&mut self, agent: &str, actions: &mut Vec<QueueAction>) {
        let Some(AgentState::Offered { caller, .. }) = self.agents.get(agent).map(|a| &a.state)
        else {
            return;
        };
        let caller = *caller;
        actions.push(QueueAction::CancelOffer {
            caller,
            agent: agent.to_owned(),
        });
        if let Some((q, index)) = self.find(caller) {
            self.queues[q].line[index].ringing.retain(|a| a != agent);
        }
    }

    /// Cancels every offer ringing for the caller at `index` of queue `q`.
    fn cancel_offers(
        &mut self,
        q: usize,
        index: usize,
        now: Instant,
        actions: &mut Vec<QueueAction>,
    ) {
        let waiting = &mut self.queues[q].line[index];
        let caller = waiting.caller;
        let ringing = std::mem::take(&mut waiting.ringing);
        for agent in ringing {
            actions.push(QueueAction::CancelOffer {
                caller,
                agent: agent.clone(),
            });
            self.offer_withdrawn(&agent, now, actions);
        }
    }

    /// The caller at `index` of queue `q` leaves for `destination`.
    fn leave(
        &mut self,
        q: usize,
        index: usize,
        destination: Option<Destination>,
        why: OverflowReason,
        now: Instant,
        actions: &mut Vec<QueueAction>,
    ) {
        self.cancel_offers(q, index, now, actions);
        let waiting = self.remove(q, index);
        actions.push(QueueAction::Overflow {
            caller: waiting.caller,
            destination,
            why,
            waited: now.saturating_duration_since(waiting.joined_at),
        });
    }

    /// Queue `q` has no agent logged in any more: its callers go to `on_empty` (those waiting
    /// for a callback keep their place).
    fn empty_line(&mut self, q: usize, now: Instant, actions: &mut Vec<QueueAction>) {
        let leaving: Vec<CallSeq> = self.queues[q]
            .line
            .iter()
            .filter(|w| !w.called_back)
            .map(|w| w.caller)
            .collect();
        for caller in leaving {
            let index = self.queues[q]
                .index_of(caller)
                .expect("invariant: collected from the line");
            let destination = self.queues[q].plan.on_empty.clone();
            self.leave(q, index, destination, OverflowReason::Empty, now, actions);
        }
    }

    /// The announcements due for the callers of queue `q`.
    fn announcements(&mut self, q: usize, now: Instant, actions: &mut Vec<QueueAction>) {
        let plan = &self.queues[q].plan;
        let position_every = plan.announce_position_secs.map(secs);
        let announcement = plan.announcement.clone();
        let announcement_every = secs(plan.announcement_secs);
        let callback_key = plan.callback_key;
        for index in 0..self.queues[q].line.len() {
            let mut what = Vec::new();
            let waiting = &mut self.queues[q].line[index];
            let caller = waiting.caller;
            let mut position_due = false;
            if let (Some(at), Some(every)) = (waiting.next_position_at, position_every)
                && at <= now
            {
                position_due = true;
                waiting.next_position_at = Some(next_after(at, every, now));
            }
            let mut custom_due = false;
            if let Some(at) = waiting.next_announcement_at
                && at <= now
            {
                custom_due = true;
                waiting.next_announcement_at = Some(next_after(at, announcement_every, now));
            }
            let mut callback_due = false;
            if waiting.callback_offer_at.is_some_and(|at| at <= now) {
                callback_due = true;
                waiting.callback_offer_at = None;
                waiting.callback_offered = true;
            }
            if position_due {
                what.extend(self.position_announcement(q, index + 1));
            }
            if custom_due && let Some(prompt) = &announcement {
                what.push(Announcement::Custom(prompt.clone()));
            }
            if callback_due {
                what.push(Announcement::CallbackOffer { key: callback_key });
            }
            if !what.is_empty() {
                actions.push(QueueAction::Announce { caller, what });
            }
        }
    }

    /// "You are caller number N" for queue `q`, with the estimated wait when the queue tells
    /// it and knows it.
    fn position_announcement(&self, q: usize, position: usize) -> Vec<Announcement> {
        let mut what = vec![Announcement::Position(position)];
        if self.queues[q].plan.announce_wait
            && let Some(wait) = self.estimated_wait(q, position)
        {
            what.push(Announcement::EstimatedWait(wait));
        }
        what
    }

    /// The estimated wait in seconds of the caller at `position` of queue `q`: `position`
    /// calls of the recent mean handling time, shared among the agents logged in and not
    /// paused. `None` before a call is handled, or with no such agent.
    fn estimated_wait(&self, q: usize, position: usize) -> Option<u32> {
        let queue = &self.queues[q];
        let handling = queue.average_handling()?;
        let staffed = queue
            .members
            .iter()
            .filter(|m| {
                self.agents.get(m.as_str()).is_some_and(|a| {
                    a.logged_in_to(q) && !matches!(a.state, AgentState::Paused { .. })
                })
            })
            .count();
        if staffed == 0 {
            return None;
        }
        let total = handling.as_millis() * position as u128;
        let millis = total.div_ceil(staffed as u128);
        Some(u32::try_from(millis.div_ceil(1000)).unwrap_or(u32::MAX))
    }

    /// Asks for the next deadline when it has changed.
    fn finish(&mut self, mut actions: Vec<QueueAction>) -> Vec<QueueAction> {
        let deadline = self.deadline();
        if deadline != self.waiting_until
            && let Some(at) = deadline
        {
            actions.push(QueueAction::WaitUntil(at));
        }
        self.waiting_until = deadline;
        actions
    }
}

/// The first instant after `now` on the cadence `at`, `at + every`, ...
fn next_after(at: Instant, every: Duration, now: Instant) -> Instant {
    let mut next = at + every;
    while next <= now {
        next += every;
    }
    next
}
