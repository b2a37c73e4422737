//! Offers: which caller goes to which free agent and when (in the same call as the event that
//! made it possible), and how an offer ends — answered, unanswered, or called off.

use std::time::Instant;

use crossbar_config::QueueStrategy;

use crate::call::CallSeq;

use super::line::{Waiting, secs};
use super::strategy::{self, Candidate};
use super::{AgentState, OfferFailure, PauseReason, QueueAction, Queues};

impl Queues {
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

    /// Offers the callers ready for one to the free agents, best caller first, until no
    /// queue with a ready caller has a free agent left.
    pub(super) fn dispatch(&mut self, now: Instant, actions: &mut Vec<QueueAction>) {
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
    pub(super) fn choose(&mut self, q: usize, index: usize) -> Vec<(String, usize)> {
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

    pub(super) fn offer(
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
            let Some(a) = self.agents.get_mut(&agent) else {
                continue;
            };
            let previous = std::mem::replace(&mut a.state, state.clone());
            actions.push(QueueAction::AgentStateChanged {
                agent,
                state,
                previous,
                at: now,
            });
        }
    }

    /// The offer of the caller at `index` of queue `q` to `agent` ended unanswered: the
    /// caller waits out the retry time (once nobody rings for them), the agent is free again
    /// or, after `auto_pause_after` unanswered offers in a row, paused.
    pub(super) fn offer_unanswered(
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
        let name = queue.plan.name.clone();
        let waiting = &mut queue.line[index];
        actions.push(QueueAction::Missed {
            caller: waiting.caller,
            agent: agent.to_owned(),
            queue: name,
        });
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
    pub(super) fn offer_withdrawn(
        &mut self,
        agent: &str,
        now: Instant,
        actions: &mut Vec<QueueAction>,
    ) {
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
    pub(super) fn withdraw_offer(&mut self, agent: &str, actions: &mut Vec<QueueAction>) {
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
    pub(super) fn cancel_offers(
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
}
