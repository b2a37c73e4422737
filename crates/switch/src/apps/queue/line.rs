//! One queue: its plan, its callers in the order they are served (VIP before normal, first
//! come first served within a priority), the order of its agents, the round robin position
//! and the recent handling times its estimated wait comes from.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crossbar_routing::QueuePlan;

use crate::call::CallSeq;

use super::Priority;

/// Handling times (talk + wrap-up) the estimated wait averages: the most recent calls.
const HANDLED_HISTORY: usize = 10;

/// A caller in line.
#[derive(Debug, Clone)]
pub(crate) struct Waiting {
    pub(crate) caller: CallSeq,
    pub(crate) priority: Priority,
    pub(crate) joined_at: Instant,
    /// Order of joining, across queues: breaks ties between callers who joined at the same
    /// instant.
    pub(crate) arrival: u64,
    /// Agents ringing with this caller now.
    pub(crate) ringing: Vec<String>,
    /// Agents who left this caller unanswered (tried last).
    pub(crate) tried: Vec<String>,
    /// After an unanswered offer: not offered again before this.
    pub(crate) retry_at: Option<Instant>,
    /// `max_wait_secs` runs out.
    pub(crate) timeout_at: Option<Instant>,
    pub(crate) next_position_at: Option<Instant>,
    pub(crate) next_announcement_at: Option<Instant>,
    /// The callback offer is made (once).
    pub(crate) callback_offer_at: Option<Instant>,
    /// The offer has been made: the callback key is live.
    pub(crate) callback_offered: bool,
    /// The caller took the callback offer: their call has ended, their place is kept, and the
    /// agent they reach calls them back.
    pub(crate) called_back: bool,
}

impl Waiting {
    /// A caller joining the line of `plan` at `now`, `arrival`-th: nothing tried yet, its
    /// timeout, announcements and callback offer counted from now.
    pub(crate) fn joining(
        caller: CallSeq,
        priority: Priority,
        arrival: u64,
        plan: &QueuePlan,
        now: Instant,
    ) -> Self {
        let after = |s: Option<u32>| s.map(|s| now + secs(s));
        Self {
            caller,
            priority,
            joined_at: now,
            arrival,
            ringing: Vec::new(),
            tried: Vec::new(),
            retry_at: None,
            timeout_at: after(plan.max_wait_secs),
            next_position_at: after(plan.announce_position_secs),
            next_announcement_at: after(plan.announcement.as_ref().map(|_| plan.announcement_secs)),
            callback_offer_at: after(plan.callback_offer_after_secs),
            callback_offered: false,
            called_back: false,
        }
    }

    /// Whether an offer may be made for this caller now.
    pub(crate) fn ready(&self, now: Instant) -> bool {
        self.ringing.is_empty() && self.retry_at.is_none_or(|at| at <= now)
    }

    /// The caller's next deadline.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        let retry = self.retry_at.filter(|_| self.ringing.is_empty());
        [
            retry,
            self.timeout_at,
            self.next_position_at,
            self.next_announcement_at,
            self.callback_offer_at,
        ]
        .into_iter()
        .flatten()
        .min()
    }
}

#[derive(Debug)]
pub(crate) struct Queue {
    pub(crate) plan: QueuePlan,
    /// Callers in the order they are served.
    pub(crate) line: Vec<Waiting>,
    /// The agents in member order: static members as listed, dynamic ones after, in login
    /// order.
    pub(crate) members: Vec<String>,
    /// `round_robin`: the member position to start from.
    pub(crate) round_robin_next: usize,
    handled: VecDeque<Duration>,
}

impl Queue {
    pub(crate) fn new(plan: QueuePlan) -> Queue {
        let members = plan.members.iter().map(|m| m.extension.clone()).collect();
        Queue {
            plan,
            line: Vec::new(),
            members,
            round_robin_next: 0,
            handled: VecDeque::with_capacity(HANDLED_HISTORY),
        }
    }

    /// Puts `waiting` in line behind every caller of its priority or higher; returns its
    /// index.
    pub(crate) fn insert(&mut self, waiting: Waiting) -> usize {
        let at = self
            .line
            .partition_point(|w| w.priority >= waiting.priority);
        self.line.insert(at, waiting);
        at
    }

    pub(crate) fn index_of(&self, caller: CallSeq) -> Option<usize> {
        self.line.iter().position(|w| w.caller == caller)
    }

    /// The first caller in line an offer may be made for now.
    pub(crate) fn first_ready(&self, now: Instant) -> Option<usize> {
        self.line.iter().position(|w| w.ready(now))
    }

    /// A call of this queue was handled in `duration` (talk and wrap-up).
    pub(crate) fn handled(&mut self, duration: Duration) {
        if self.handled.len() == HANDLED_HISTORY {
            self.handled.pop_front();
        }
        self.handled.push_back(duration);
    }

    /// The mean handling time of the recent calls; `None` before the first.
    pub(crate) fn average_handling(&self) -> Option<Duration> {
        let count = u32::try_from(self.handled.len()).expect("at most HANDLED_HISTORY");
        (count > 0).then(|| self.handled.iter().sum::<Duration>() / count)
    }

    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.line.iter().filter_map(Waiting::deadline).min()
    }
}

/// Seconds as a duration.
pub(crate) fn secs(n: u32) -> Duration {
    Duration::from_secs(u64::from(n))
}
