//! Queue agents as the rest of crossbar sees them: what the switch reports about them (an
//! [`AgentEvent`] for the agent event log and for keeping agent state across restarts), and
//! how it is told about them — the state kept before a restart ([`Switch::restore_agent`]),
//! and login, logout, pause and unpause from the API or the CLI ([`Switch::agent_login`], ...).
//! Feature codes dialled from a phone do the same from a call (`call::inbound::feature`).
//!
//! The queue machine (`apps::queue`) decides; this module carries out what it asks about no
//! call in particular and turns its agent state changes (and changes of an agent's queues alone)
//! into events.
//!
//! A new configuration takes effect with a restart: the new switch builds its queues from the
//! new dial plan, and the server restores each agent's logins and pause from the store (a
//! queue that no longer exists is skipped, a static member keeps the penalty the new file
//! gives it). Callers waiting at the restart were ended by the shutdown (recorded
//! interrupted).

use std::time::{Instant, SystemTime};

use crossbar_cdr::CallId;

use crate::apps::queue::{AgentState, LoginTo, PauseReason, QueueAction};
use crate::call::inbound::caller_of;
use crate::{Switch, SwitchOutput, wall_ms};

pub use crate::apps::queue::QueueError;

/// Why an agent is paused.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AgentPause {
    /// Paused without a reason (the pause code alone, or the API without one).
    Unspecified,
    /// One of `[agents] pause_reasons` (`lunch`), by the digit after the pause code or the API.
    Reason(String),
    /// Paused by a queue after `offers` unanswered offers in a row (`auto_pause_after`).
    Unanswered { offers: u32 },
}

/// An agent's membership of a queue it is logged in to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AgentQueue {
    pub queue: String,
    /// Its tier in the queue (lower is offered first).
    pub penalty: u32,
}

/// What happened to an agent (a line of the agent event log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentActivity {
    /// Logged in (from logged out): to the queues of [`AgentEvent::logged_in`].
    LoggedIn,
    /// Logged out of every queue.
    LoggedOut,
    Paused(AgentPause),
    /// The pause ended: free for offers.
    Unpaused,
    /// Free for offers again: after its wrap-up, after a call without wrap-up, or after an
    /// offer that was called off (the caller was answered elsewhere, or left).
    Available,
    /// Its phone rings with a caller of `queue` (`call`: the caller's call).
    Offered {
        queue: String,
        call: Option<CallId>,
    },
    /// It answered a caller of `queue`: on the call from now.
    Answered {
        queue: String,
        call: Option<CallId>,
    },
    /// An offer of a caller of `queue` ended unanswered by the agent (busy, no answer,
    /// declined, unreachable): it counts toward `auto_pause_after`.
    Missed {
        queue: String,
        call: Option<CallId>,
    },
    /// The call from `queue` ended: no offer until `until_ms` (`wrap_up_secs`).
    WrapUp {
        queue: String,
        until_ms: i64,
    },
    /// Its queues or penalties changed, its state did not: logged in to one more queue (or
    /// to one with another penalty), or logged out of some of its queues, or of all of them
    /// during a call (logged out when the call ends). [`AgentEvent::logged_in`] has the
    /// queues it is logged in to now; what it was doing (a call, a wrap-up) goes on.
    QueuesChanged,
}

/// One change of an agent, with what to keep of its state: keep `logged_in` and `paused`
/// (they are what [`Switch::restore_agent`] takes after a restart), append the event to the
/// agent event log (login, pause by reason, talk and wrap-up times are reported from it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentEvent {
    /// The agent's extension number.
    pub agent: String,
    pub activity: AgentActivity,
    /// After the event: the queues the agent is logged in to, in queue order.
    pub logged_in: Vec<AgentQueue>,
    /// After the event: whether, and why, the agent is paused.
    pub paused: Option<AgentPause>,
    /// Wall clock, milliseconds since the Unix epoch.
    pub at_ms: i64,
}

impl From<&PauseReason> for AgentPause {
    fn from(reason: &PauseReason) -> AgentPause {
        match reason {
            PauseReason::Unspecified => AgentPause::Unspecified,
            PauseReason::Named(name) => AgentPause::Reason(name.clone()),
            PauseReason::Unanswered { offers } => AgentPause::Unanswered { offers: *offers },
        }
    }
}

impl From<&AgentPause> for PauseReason {
    fn from(pause: &AgentPause) -> PauseReason {
        match pause {
            AgentPause::Unspecified => PauseReason::Unspecified,
            AgentPause::Reason(name) => PauseReason::Named(name.clone()),
            AgentPause::Unanswered { offers } => PauseReason::Unanswered { offers: *offers },
        }
    }
}

impl Switch {
    /// Restores `agent`'s state as kept before a restart: logged in to `logged_in` (a queue
    /// that no longer exists is skipped; a static member keeps the penalty of the
    /// configuration, a dynamic one gets its own back) and paused if it was. Call it before
    /// the first call; it reports nothing (the event log has these already).
    pub fn restore_agent(
        &mut self,
        now: Instant,
        wall: SystemTime,
        agent: &str,
        logged_in: &[AgentQueue],
        paused: Option<&AgentPause>,
    ) {
        let mut actions = Vec::new();
        for membership in logged_in {
            let Some(plan) = self.core.plan.queue(&membership.queue) else {
                tracing::warn!(%agent, queue = %membership.queue, "agent state names a queue that no longer exists");
                continue;
            };
            let penalty = plan
                .member_penalty(agent)
                .is_none()
                .then_some(membership.penalty);
            let to = LoginTo::Queue {
                name: &membership.queue,
                penalty,
            };
            match self.core.queues(now, wall).login(agent, to, now) {
                Ok(done) => actions.extend(done),
                Err(error) => tracing::warn!(%agent, %error, "agent login not restored"),
            }
        }
        if let Some(pause) = paused {
            match self.core.queues(now, wall).pause(agent, pause.into(), now) {
                Ok(done) => actions.extend(done),
                Err(error) => tracing::warn!(%agent, %error, "agent pause not restored"),
            }
        }
        self.core.sync_agent_busy(agent, now);
        // A replay: the event log has these changes already.
        actions.retain(|action| {
            !matches!(
                action,
                QueueAction::AgentStateChanged { .. }
                    | QueueAction::AgentQueuesChanged { .. }
                    | QueueAction::Missed { .. }
            )
        });
        self.core.queue_actions.extend(actions);
        self.drain(now, wall);
    }

    /// Logs `agent` in (the API, the CLI): to `queue` — a dynamic member with `penalty`
    /// (default 0) if it is not a member, a member's penalty changed if one is given — or,
    /// with `None`, to every queue it is a member of (as the login code does).
    pub fn agent_login(
        &mut self,
        now: Instant,
        wall: SystemTime,
        agent: &str,
        queue: Option<&str>,
        penalty: Option<u32>,
    ) -> Result<(), QueueError> {
        let to = match queue {
            Some(name) => LoginTo::Queue { name, penalty },
            None => LoginTo::MemberQueues,
        };
        let actions = self.core.queues(now, wall).login(agent, to, now)?;
        self.core.queue_actions.extend(actions);
        self.core.sync_agent_busy(agent, now);
        self.drain(now, wall);
        Ok(())
    }

    /// Logs `agent` out of `queue`, or of every queue (`None`). An offer ringing from a queue
    /// it leaves is cancelled; a call it is on goes on.
    pub fn agent_logout(
        &mut self,
        now: Instant,
        wall: SystemTime,
        agent: &str,
        queue: Option<&str>,
    ) -> Result<(), QueueError> {
        let queues = self.core.queues(now, wall);
        if !queues.is_agent(agent) {
            return Err(QueueError::NotAMember(agent.to_owned()));
        }
        let actions = queues.logout(agent, queue, now)?;
        self.core.queue_actions.extend(actions);
        self.drain(now, wall);
        Ok(())
    }

    /// Pauses `agent` in every queue, with `reason` (one of `[agents] pause_reasons`, or
    /// none). On a call, the pause starts when the call ends.
    pub fn agent_pause(
        &mut self,
        now: Instant,
        wall: SystemTime,
        agent: &str,
        reason: Option<&str>,
    ) -> Result<(), QueueError> {
        let reason = reason.map_or(PauseReason::Unspecified, |r| {
            PauseReason::Named(r.to_owned())
        });
        let actions = self.core.queues(now, wall).pause(agent, reason, now)?;
        self.core.queue_actions.extend(actions);
        self.drain(now, wall);
        Ok(())
    }

    /// Ends `agent`'s pause.
    pub fn agent_unpause(
        &mut self,
        now: Instant,
        wall: SystemTime,
        agent: &str,
    ) -> Result<(), QueueError> {
        let actions = self.core.queues(now, wall).unpause(agent, now)?;
        self.core.queue_actions.extend(actions);
        self.drain(now, wall);
        Ok(())
    }

    /// Where queue `queue`'s `round_robin` starts, as kept before a restart.
    pub fn restore_queue_round_robin(
        &mut self,
        now: Instant,
        wall: SystemTime,
        queue: &str,
        next: usize,
    ) {
        self.core
            .queues(now, wall)
            .set_round_robin_next(queue, next);
    }

    /// Carries out what the queue machine asked that the acting call did not: actions about
    /// other calls (each handed to its call), callbacks of callers on virtual hold (the call
    /// crossbar originates for an offer, see `crate::origination`), and the agent event log.
    pub(crate) fn run_queue_actions(&mut self, now: Instant, wall: SystemTime) {
        while let Some(action) = self.core.queue_actions.pop_front() {
            // A callback's offer: the switch calls the held caller back (and a call it placed
            // for an offer the queue ends stops ringing).
            match action {
                QueueAction::Offer {
                    caller,
                    agent,
                    until,
                    callback: true,
                } => {
                    self.call_back_held(now, wall, caller, agent, until);
                    continue;
                }
                QueueAction::CancelOffer { caller, ref agent }
                    if self.core.held.contains_key(&caller) =>
                {
                    let calls: Vec<u64> = self.core.held[&caller]
                        .originations
                        .iter()
                        .filter(|(offered, _)| offered == agent)
                        .map(|(_, seq)| *seq)
                        .collect();
                    for seq in calls {
                        self.with_call(now, wall, seq, |call, ctx| call.offer_called_off(ctx));
                    }
                    continue;
                }
                _ => {}
            }
            match caller_of(&action) {
                Some(caller) => {
                    let handled = self.with_call(now, wall, caller, |call, ctx| {
                        call.on_queue(ctx, vec![action.clone()]);
                    });
                    if handled.is_none() {
                        self.queue_action_without_call(now, wall, caller, action);
                    }
                }
                None => self.agent_output(wall, action),
            }
        }
    }

    /// An action about a call that has ended: an offer is given up (the machine hears the
    /// caller left, so the agent is free again); anything else has nothing left to act on.
    fn queue_action_without_call(
        &mut self,
        now: Instant,
        wall: SystemTime,
        caller: u64,
        action: QueueAction,
    ) {
        if let QueueAction::Offer { .. } = action {
            let actions = self.core.queues(now, wall).caller_left(caller, now);
            self.core.queue_actions.extend(actions);
        }
    }

    /// The agent event log: a state change, a change of the agent's queues or a missed offer
    /// as a [`SwitchOutput::Agent`].
    fn agent_output(&mut self, wall: SystemTime, action: QueueAction) {
        // A caller waiting for a callback is known by the call that took the offer.
        let call_of = |switch: &Switch, caller: u64| {
            switch
                .calls
                .get(&caller)
                .map(|c| c.id.clone())
                .or_else(|| switch.core.held.get(&caller).map(|held| held.call.clone()))
        };
        let (agent, activity) = match action {
            QueueAction::Missed {
                caller,
                agent,
                queue,
            } => {
                let call = call_of(self, caller);
                (agent, AgentActivity::Missed { queue, call })
            }
            QueueAction::AgentStateChanged {
                agent,
                state,
                previous,
                at,
            } => {
                let activity = match state {
                    AgentState::LoggedOut => AgentActivity::LoggedOut,
                    AgentState::Paused { reason, .. } => AgentActivity::Paused((&reason).into()),
                    AgentState::Available { .. } => match previous {
                        AgentState::LoggedOut => AgentActivity::LoggedIn,
                        AgentState::Paused { .. } => AgentActivity::Unpaused,
                        _ => AgentActivity::Available,
                    },
                    AgentState::Offered { caller, queue, .. } => AgentActivity::Offered {
                        queue,
                        call: call_of(self, caller),
                    },
                    AgentState::OnCall { caller, queue, .. } => AgentActivity::Answered {
                        queue,
                        call: call_of(self, caller),
                    },
                    AgentState::WrapUp { queue, until } => {
                        let left = until.saturating_duration_since(at);
                        let left_ms = i64::try_from(left.as_millis()).unwrap_or(i64::MAX);
                        AgentActivity::WrapUp {
                            queue,
                            until_ms: wall_ms(wall).saturating_add(left_ms),
                        }
                    }
                };
                (agent, activity)
            }
            QueueAction::AgentQueuesChanged { agent, .. } => (agent, AgentActivity::QueuesChanged),
            QueueAction::WaitUntil(_) => return,
            other => {
                tracing::warn!(?other, "a call's queue action reached the agent log");
                return;
            }
        };
        let (logged_in, paused) = match self.core.queues_built() {
            Some(queues) => (
                queues
                    .logged_in_to(&agent)
                    .into_iter()
                    .map(|(queue, penalty)| AgentQueue {
                        queue: queue.to_owned(),
                        penalty,
                    })
                    .collect(),
                match queues.agent_state(&agent) {
                    Some(AgentState::Paused { reason, .. }) => Some(reason.into()),
                    _ => None,
                },
            ),
            None => (Vec::new(), None),
        };
        tracing::info!(%agent, ?activity, "agent");
        self.core.outputs.push_back(SwitchOutput::Agent(AgentEvent {
            agent,
            activity,
            logged_in,
            paused,
            at_ms: wall_ms(wall),
        }));
    }
}
