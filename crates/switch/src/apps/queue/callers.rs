//! Callers: joining a queue (or not: full, nobody logged in), leaving it (hung up, breakout
//! key, timeout, the queue emptied), taking the callback offer, and what they hear while they
//! wait.

use std::time::{Duration, Instant};

use crossbar_config::Destination;

use crate::call::CallSeq;

use super::line::{Waiting, secs};
use super::{AgentState, Announcement, OverflowReason, Priority, QueueAction, QueueError, Queues};

impl Queues {
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
        let waiting = Waiting::joining(caller, priority, self.arrivals + 1, plan, now);
        self.arrivals += 1;
        let index = self.queues[q].insert(waiting);
        self.callers.insert(caller, q);
        self.announce_joined(q, caller, index + 1, &mut actions);
        self.dispatch(now, &mut actions);
        Ok(self.finish(actions))
    }

    /// `caller` comes to `queue` as the caller `held`, who waits there for a callback: the
    /// customer called again, and takes their place in line rather than the back of it. An
    /// offer ringing an agent for the callback is cancelled; from the kept place `caller`
    /// waits as anyone who joined now would (hears their position, may be offered a
    /// callback again, `max_wait_secs` from now), and is offered at once if an agent is free.
    /// `NotWaiting` if `held` is not in that queue's line (their callback is under way).
    pub(crate) fn take_over(
        &mut self,
        queue: &str,
        held: CallSeq,
        caller: CallSeq,
        now: Instant,
    ) -> Result<Vec<QueueAction>, QueueError> {
        let q = self.queue_index(queue)?;
        if self.callers.contains_key(&caller) {
            return Err(QueueError::AlreadyWaiting(caller));
        }
        let Some((_, index)) = self
            .find(held)
            .filter(|&(at, index)| at == q && self.queues[q].line[index].called_back)
        else {
            return Err(QueueError::NotWaiting(held, queue.to_owned()));
        };
        let mut actions = Vec::new();
        self.cancel_offers(q, index, now, &mut actions);
        let queue_now = &mut self.queues[q];
        let kept = &mut queue_now.line[index];
        // The place (priority, order of arrival) is kept; the rest starts again.
        *kept = Waiting {
            ringing: std::mem::take(&mut kept.ringing),
            ..Waiting::joining(caller, kept.priority, kept.arrival, &queue_now.plan, now)
        };
        self.callers.remove(&held);
        self.callers.insert(caller, q);
        self.announce_joined(q, caller, index + 1, &mut actions);
        self.dispatch(now, &mut actions);
        Ok(self.finish(actions))
    }

    /// Puts back in `queue`'s line a caller who was waiting there for a callback when crossbar
    /// stopped (joined at `joined_at`): behind the callers restored before them of their
    /// priority, with nothing to hear and no timeout, their turn offered as a callback. Call
    /// it at start, in the order the callers joined; an agent free now is offered at once.
    pub(crate) fn restore_held(
        &mut self,
        queue: &str,
        caller: CallSeq,
        priority: Priority,
        joined_at: Instant,
        now: Instant,
    ) -> Result<Vec<QueueAction>, QueueError> {
        let q = self.queue_index(queue)?;
        if self.callers.contains_key(&caller) {
            return Err(QueueError::AlreadyWaiting(caller));
        }
        self.arrivals += 1;
        let waiting = Waiting {
            joined_at,
            timeout_at: None,
            next_position_at: None,
            next_announcement_at: None,
            callback_offer_at: None,
            callback_offered: true,
            called_back: true,
            ..Waiting::joining(caller, priority, self.arrivals, &self.queues[q].plan, now)
        };
        self.queues[q].insert(waiting);
        self.callers.insert(caller, q);
        let mut actions = Vec::new();
        self.dispatch(now, &mut actions);
        Ok(self.finish(actions))
    }

    /// `caller` is in `q`'s line at `position`: say so, and tell them their position if the
    /// queue announces it.
    fn announce_joined(
        &self,
        q: usize,
        caller: CallSeq,
        position: usize,
        actions: &mut Vec<QueueAction>,
    ) {
        actions.push(QueueAction::Joined { caller, position });
        if self.queues[q].plan.announce_position_secs.is_some() {
            let what = self.position_announcement(q, position, self.staffed(q));
            actions.push(QueueAction::Announce { caller, what });
        }
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

    /// The caller at `index` of queue `q` leaves for `destination`.
    pub(super) fn leave(
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
    pub(super) fn empty_line(&mut self, q: usize, now: Instant, actions: &mut Vec<QueueAction>) {
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
    pub(super) fn announcements(&mut self, q: usize, now: Instant, actions: &mut Vec<QueueAction>) {
        let plan = &self.queues[q].plan;
        let position_every = plan.announce_position_secs.map(secs);
        let announcement = plan.announcement.clone();
        let announcement_every = secs(plan.announcement_secs);
        let callback_key = plan.callback_key;
        // Who staffs the queue does not change while the announcements are made.
        let staffed = self.staffed(q);
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
                what.extend(self.position_announcement(q, index + 1, staffed));
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
    /// it and knows it; `staffed` is [`Queues::staffed`].
    pub(super) fn position_announcement(
        &self,
        q: usize,
        position: usize,
        staffed: usize,
    ) -> Vec<Announcement> {
        let mut what = vec![Announcement::Position(position)];
        let queue = &self.queues[q];
        if queue.plan.announce_wait
            && let Some(wait) = estimated_wait(queue.average_handling(), position, staffed)
        {
            what.push(Announcement::EstimatedWait(wait));
        }
        what
    }

    /// The agents logged in to queue `q` and not paused: those who will serve its callers.
    pub(super) fn staffed(&self, q: usize) -> usize {
        self.queues[q]
            .members
            .iter()
            .filter(|m| {
                self.agents.get(m.as_str()).is_some_and(|a| {
                    a.logged_in_to(q) && !matches!(a.state, AgentState::Paused { .. })
                })
            })
            .count()
    }
}

/// The estimated wait in seconds (rounded up) of the caller at `position`: `position` calls of
/// the recent mean `handling` time, shared among the `staffed` agents. `None` before a call is
/// handled, or with nobody to serve.
fn estimated_wait(handling: Option<Duration>, position: usize, staffed: usize) -> Option<u32> {
    let handling = handling?;
    if staffed == 0 {
        return None;
    }
    let position = u128::try_from(position).expect("a position fits in u128");
    let staffed = u128::try_from(staffed).expect("an agent count fits in u128");
    let millis = (handling.as_millis() * position).div_ceil(staffed);
    Some(u32::try_from(millis.div_ceil(1000)).unwrap_or(u32::MAX))
}

/// The first instant after `now` on the cadence `at`, `at + every`, ...
fn next_after(at: Instant, every: Duration, now: Instant) -> Instant {
    let mut next = at + every;
    while next <= now {
        next += every;
    }
    next
}
