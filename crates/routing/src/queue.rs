//! Queues (`[[queue]]`): a queue's settings compiled once per (re)load, for the switch's
//! queue machine (`crossbar_switch`'s `apps::queue`) — its static agents with their penalties
//! (tiers), the strategy that chooses among free agents, ring and retry times, the limits and
//! where callers go past them (`on_timeout`, `on_full`, `on_empty`, the breakout keys), and
//! what waiting callers hear.
//!
//! Durations stay in whole seconds, as written; `None` is "never" or "no limit". Which agent
//! is free, and who waits, is live state: the machine keeps it, not the plan.

use crossbar_config::{Destination, PromptRef, Queue, QueueMember, QueueStrategy};

/// A `[[queue]]` compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuePlan {
    pub name: String,
    pub strategy: QueueStrategy,
    /// The static agents in the order listed (what `linear` and `round_robin` follow), each
    /// with its penalty: a higher penalty is offered callers only when no free agent has a
    /// lower one.
    pub members: Vec<QueueMember>,
    /// How long one offer rings an agent.
    pub agent_ring_secs: u32,
    /// The pause after an unanswered offer before the caller is offered again.
    pub retry_secs: u32,
    /// An agent gets no offer for this long after a call from the queue ends.
    pub wrap_up_secs: u32,
    /// Unanswered offers in a row after which an agent is paused.
    pub auto_pause_after: Option<u32>,
    /// The longest a caller waits before `on_timeout`.
    pub max_wait_secs: Option<u32>,
    /// The most callers waiting at once; one more goes to `on_full`.
    pub max_callers: Option<u32>,
    /// Whether a caller joins while no agent is logged in (paused agents are logged in).
    pub join_empty: bool,
    /// Whether waiting callers leave for `on_empty` when the last agent logs out.
    pub leave_when_empty: bool,
    /// `None`: the call ends, no answer.
    pub on_timeout: Option<Destination>,
    /// `None`: the caller hears busy.
    pub on_full: Option<Destination>,
    /// `None`: the call ends, unavailable.
    pub on_empty: Option<Destination>,
    /// Music on hold (`None`: the prompt named `moh`).
    pub moh: Option<PromptRef>,
    /// The position is announced on joining and then this often.
    pub announce_position_secs: Option<u32>,
    /// Position announcements tell the estimated wait too.
    pub announce_wait: bool,
    /// Played to waiting callers every `announcement_secs`, the first time after that long.
    pub announcement: Option<PromptRef>,
    pub announcement_secs: u32,
    /// The service-level threshold T of the queue's reports.
    pub service_level_secs: u32,
    /// A caller who hangs up within this many seconds of joining is a short abandon (the
    /// reports' default, `crossbar_cdr::metrics::inbound::DEFAULT_SHORT_ABANDON_SECS`; there is
    /// no key for it in `[[queue]]`).
    pub short_abandon_secs: u32,
    /// After waiting this long, a caller is offered to be called back, keeping their place.
    pub callback_offer_after_secs: Option<u32>,
    /// The key that accepts the callback offer.
    pub callback_key: char,
    /// Keys a waiting caller may press to leave for another destination, in file order.
    pub breakout: Vec<(char, Destination)>,
}

impl QueuePlan {
    pub(crate) fn compile(queue: &Queue) -> QueuePlan {
        QueuePlan {
            name: queue.name.clone(),
            strategy: queue.strategy,
            members: queue.members.clone(),
            agent_ring_secs: queue.agent_ring_secs,
            retry_secs: queue.retry_secs,
            wrap_up_secs: queue.wrap_up_secs,
            auto_pause_after: queue.auto_pause_after,
            max_wait_secs: queue.max_wait_secs,
            max_callers: queue.max_callers,
            join_empty: queue.join_empty,
            leave_when_empty: queue.leave_when_empty,
            on_timeout: queue.on_timeout.clone(),
            on_full: queue.on_full.clone(),
            on_empty: queue.on_empty.clone(),
            moh: queue.moh.clone(),
            announce_position_secs: queue.announce_position_secs,
            announce_wait: queue.announce_wait,
            announcement: queue.announcement.clone(),
            announcement_secs: queue.announcement_secs,
            service_level_secs: queue.service_level_secs,
            short_abandon_secs: crossbar_cdr::metrics::inbound::DEFAULT_SHORT_ABANDON_SECS,
            callback_offer_after_secs: queue.callback_offer_after_secs,
            callback_key: queue.callback_key,
            breakout: queue.breakout.clone(),
        }
    }

    /// A queue with default settings and these static members (penalty 0 each), for tests
    /// and tools that build a queue without a configuration file.
    pub fn with_members(name: &str, members: &[&str]) -> QueuePlan {
        QueuePlan {
            name: name.to_owned(),
            strategy: QueueStrategy::LongestIdle,
            members: members
                .iter()
                .map(|extension| QueueMember {
                    extension: (*extension).to_owned(),
                    penalty: 0,
                })
                .collect(),
            agent_ring_secs: 15,
            retry_secs: 5,
            wrap_up_secs: 0,
            auto_pause_after: None,
            max_wait_secs: None,
            max_callers: None,
            join_empty: false,
            leave_when_empty: false,
            on_timeout: None,
            on_full: None,
            on_empty: None,
            moh: None,
            announce_position_secs: None,
            announce_wait: false,
            announcement: None,
            announcement_secs: 60,
            service_level_secs: 20,
            short_abandon_secs: crossbar_cdr::metrics::inbound::DEFAULT_SHORT_ABANDON_SECS,
            callback_offer_after_secs: None,
            callback_key: '1',
            breakout: Vec::new(),
        }
    }

    /// Where `key` takes a waiting caller, if it is a breakout key.
    pub fn breakout(&self, key: char) -> Option<&Destination> {
        self.breakout
            .iter()
            .find_map(|(k, destination)| (*k == key).then_some(destination))
    }

    /// The penalty of static member `extension`, if it is one.
    pub fn member_penalty(&self, extension: &str) -> Option<u32> {
        self.members
            .iter()
            .find(|m| m.extension == extension)
            .map(|m| m.penalty)
    }
}
