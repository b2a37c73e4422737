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
//!   announced on joining (an agent offered the caller at once may cut it short) and every
//!   `announce_position_secs`, with the estimated wait when `announce_wait` (the position
//!   times the recent mean handling time, shared among the agents logged in and not paused;
//!   none before the first call is handled); the `announcement` every `announcement_secs`;
//!   the callback offer once, after `callback_offer_after_secs`.
//! - **Keys.** A breakout key sends the caller to its destination; the callback key, once
//!   offered, ends the call and keeps the caller's place: when their turn comes, the agent
//!   offered them calls them back ([`QueueAction::Offer`] with `callback`).
//!
//! Files: this one has the vocabulary (the events' arguments, the actions), time and the
//! views; [`callers`] joining, leaving and announcements; [`offers`] who is offered to whom
//! and how offers end; [`agents`] the registry and the agents' own events; [`strategy`] the
//! choice among free agents; [`line`] one queue's state.

mod agents;
mod callers;
mod line;
mod offers;
mod strategy;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crossbar_config::{Destination, PromptRef};
use crossbar_routing::QueuePlan;

use crate::call::CallSeq;

pub(crate) use agents::{AgentState, PauseReason};
use agents::{Agents, Membership};
use line::{Queue, Waiting};
use strategy::SplitMix64;

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
    /// The offer of `caller` (of `queue`) to `agent` ended unanswered by the agent (busy, no
    /// answer, rejected, unreachable, rung out): a missed offer in the agent event log. Comes
    /// before the agent's state change it causes.
    Missed {
        caller: CallSeq,
        agent: String,
        queue: String,
    },
    /// `agent` is now in `state`, after `previous` (the agent event log: login, talk, wrap-up
    /// and pause times).
    AgentStateChanged {
        agent: String,
        state: AgentState,
        previous: AgentState,
        at: Instant,
    },
    /// `agent`'s queues changed — it logged in to one more queue or with another penalty
    /// ([`Queues::login`]), logged out of some but not all of them, or of all during a call
    /// ([`Queues::logout`]; a dynamic member's membership goes with it) — and its state did
    /// not: the agent event log's logins and logouts that no [`QueueAction::AgentStateChanged`]
    /// reports. Every change of an agent's queues is reported by one or the other, in the
    /// order the agent's events came.
    AgentQueuesChanged { agent: String, at: Instant },
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
pub enum QueueError {
    #[error("there is no queue named `{0}`")]
    NoSuchQueue(String),
    #[error("call {0} is already waiting in a queue")]
    AlreadyWaiting(CallSeq),
    #[error("call {0} is not waiting in queue `{1}`")]
    NotWaiting(CallSeq, String),
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

    /// When `caller` joined the line they wait in, and their priority.
    pub(crate) fn joined(&self, caller: CallSeq) -> Option<(Instant, Priority)> {
        let (q, index) = self.find(caller)?;
        let waiting = &self.queues[q].line[index];
        Some((waiting.joined_at, waiting.priority))
    }

    /// The callers of `queue` in the order they are served (the tests' view of a line).
    #[cfg(test)]
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

    /// The pause `agent` asked for during its call, which begins when the call ends.
    pub(crate) fn pause_after_call(&self, agent: &str) -> Option<&PauseReason> {
        self.agents
            .get(agent)
            .and_then(|a| a.pause_after_call.as_ref())
    }

    /// Whether `extension` is an agent of some queue (a static member, or logged in to one).
    pub(crate) fn is_agent(&self, extension: &str) -> bool {
        self.agents
            .get(extension)
            .is_some_and(|a| !a.memberships.is_empty())
    }

    /// The queues `agent` is logged in to, with its penalty in each, in queue order.
    pub(crate) fn logged_in_to(&self, agent: &str) -> Vec<(&str, u32)> {
        let Some(a) = self.agents.get(agent) else {
            return Vec::new();
        };
        let mut queues: Vec<(usize, u32)> = a
            .memberships
            .iter()
            .filter(|m| m.logged_in)
            .map(|m| (m.queue, m.penalty))
            .collect();
        queues.sort_unstable();
        queues
            .into_iter()
            .map(|(q, penalty)| (self.queues[q].plan.name.as_str(), penalty))
            .collect()
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
