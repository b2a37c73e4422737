//! Queue metrics (issue 9, DESIGN.md §2): how each queue served its callers over a
//! [`Period`], what each agent did, and how the missed callers were called back — from the
//! calls' queue visits ([`QueueCall`]), the agent event log ([`AgentEvent`]) and the callback
//! tasks ([`CallbackFacts`]). Optionally for one queue only.
//!
//! # Per queue (and in total)
//!
//! A queue's calls of a period are its **visits** that began in the period (by the time the
//! caller joined, or was turned away at the door). A call that overflowed from one queue to
//! another is a visit of each.
//!
//! - **offered**: visits — callers who joined, and callers turned away (`full`, `empty`);
//! - **answered**: visits an agent answered;
//! - **abandoned**: visits the caller gave up in (hung up while waiting); **short abandons**
//!   are those given up within `short_abandon_secs` (default 5, a wait of exactly that
//!   counts) **of joining the queue** — not of the start of the call, as in the inbound
//!   report: time spent in a menu before does not make a queue's abandon long;
//! - **ASA** (average speed of answer) = mean wait (joined → answered) over answered visits,
//!   in seconds — the queue's own, so it leaves out the menus before it, unlike the inbound
//!   report's ASA;
//! - **average queue wait** and **max queue wait**: over the visits that joined (turned-away
//!   callers waited no time and are left out), whatever their outcome, in seconds;
//! - **answered within** the queue's service-level threshold T (`[[queue]]
//!   service_level_secs`, default 20; a wait of exactly T counts), and the **service level**
//!   = answered within T ÷ (offered − short abandons). The total adds each queue's answered
//!   within its own T;
//! - **overflowed**, by reason: `timeout` (`max_wait_secs`), `full` (`max_callers`), `empty`
//!   (no agent logged in), `breakout` (a key pressed), and their sum;
//! - **callbacks taken**: callers who chose "press 1 to be called back" (virtual hold).
//!
//! # Per agent
//!
//! From the agent event log (its rules are `crate::agent`'s), over the period:
//!
//! - **offers**, **answered**, **missed**: the agent's `offered`, `answered` and `missed`
//!   events — the switch's own account of each offer, in which an offer withdrawn because
//!   another agent took the caller (`ring_all`) or the caller left is not a miss;
//! - **talk time**: the talk time of the calls the agent answered from a queue (their
//!   visits in the period, answered by the agent; answer → end of the call), from the call
//!   records;
//! - **wrap-up time**: from each `wrap_up_start` to its `wrap_up_end`;
//! - **login time**: while the agent is logged in to at least one queue (to the queue, when
//!   the report is for one);
//! - **pause time**, in all and **by reason** (`(none)` for a pause without one): while
//!   paused and logged in;
//! - **occupancy** = talk time ÷ (login time − pause time): the share of the time the agent
//!   was available to queues that it spent talking to callers (`None` when it was never
//!   available). Wrap-up counts as available time, not as talk; a call answered just before
//!   logging out can make it exceed 1.
//!
//! Times are counted within the period only: the log's events from before the period say
//! what each agent was when it began (logged in, paused, wrapping up), and a state still
//! going on at the end of the period — or at the time the report is made (`now_ms`), for a
//! period not over yet — is counted up to there. Durations are whole seconds, rounded half
//! up from milliseconds.
//!
//! # Callbacks
//!
//! Over the callback tasks opened in the period (by their first miss): **opened**,
//! **completed** (by now), those still **open**, **cancelled** and **unreached**; the
//! **completion rate** = completed ÷ opened; and over the completed ones the **time to
//! callback** — the first miss (the end of the first missed call) → the answer of the call
//! that completed the task — its **mean** and its **90th percentile** (nearest rank: the
//! smallest time at least 90 % of the completed tasks took no longer than), in seconds.
//!
//! For one queue, the tasks whose first miss was in that queue.
//!
//! Ratios and means are `None` when there is nothing to divide by.

use std::collections::{BTreeMap, BTreeSet};

use super::inbound::{DEFAULT_SERVICE_LEVEL_SECS, DEFAULT_SHORT_ABANDON_SECS};
use super::{Period, mean, ratio};
use crate::agent::{AgentEvent, AgentEventKind};
use crate::callbacks::TaskState;
use crate::event::QueueOutcome;
use crate::record::CallRecord;

/// The key of pause time without a reason in [`AgentFigures::pause_secs_by_reason`] (reason
/// names cannot hold parentheses, so it never clashes with one).
pub const NO_REASON: &str = "(none)";

/// A call's visit to a queue, as the queue report reads it (the store returns these without
/// reading whole records; [`QueueCall::from_record`] makes them from a record).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueCall {
    pub queue: String,
    /// When the caller joined, or was turned away.
    pub joined_at_ms: i64,
    /// `None` when turned away at the door.
    pub position: Option<u32>,
    /// Joined → left.
    pub wait_ms: i64,
    pub outcome: QueueOutcome,
    /// The agent who answered.
    pub agent: Option<String>,
    /// For the visit an agent answered, the call's talk time; 0 otherwise.
    pub talk_secs: u32,
}

impl QueueCall {
    /// The visits of `record`, in order; the one answered carries the call's talk time.
    pub fn from_record(record: &CallRecord) -> Vec<QueueCall> {
        record
            .queues
            .iter()
            .map(|visit| QueueCall {
                queue: visit.queue.clone(),
                joined_at_ms: visit.joined_at_ms,
                position: visit.position,
                wait_ms: visit.wait_ms,
                outcome: visit.outcome,
                agent: visit.agent.clone(),
                talk_secs: if visit.outcome == QueueOutcome::Answered {
                    record.timings.talk_secs
                } else {
                    0
                },
            })
            .collect()
    }
}

/// What the queue report reads of a callback task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackFacts {
    /// The queue of its first miss.
    pub queue: Option<String>,
    pub state: TaskState,
    /// Its first miss: when the first missed call ended.
    pub opened_at_ms: i64,
    /// For a completed task, the answer of the call that completed it.
    pub completed_at_ms: Option<i64>,
}

/// Which calls a queue report counts and where its thresholds lie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueOptions {
    /// Only this queue; `None`: every queue.
    pub queue: Option<String>,
    /// Given up within this many seconds of joining is a short abandon (default 5).
    pub short_abandon_secs: u32,
    /// Each queue's service-level threshold T, seconds (`[[queue]] service_level_secs`);
    /// a queue not listed has the default, 20.
    pub service_level_secs: BTreeMap<String, u32>,
}

impl Default for QueueOptions {
    fn default() -> Self {
        QueueOptions {
            queue: None,
            short_abandon_secs: DEFAULT_SHORT_ABANDON_SECS,
            service_level_secs: BTreeMap::new(),
        }
    }
}

impl QueueOptions {
    /// Queue `queue`'s threshold T.
    pub fn service_level_secs(&self, queue: &str) -> u32 {
        self.service_level_secs
            .get(queue)
            .copied()
            .unwrap_or(DEFAULT_SERVICE_LEVEL_SECS)
    }

    fn selects(&self, queue: Option<&str>) -> bool {
        self.queue.as_deref().is_none_or(|q| queue == Some(q))
    }
}

/// Callers who left a queue for another destination, by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Overflowed {
    /// `max_wait_secs` ran out.
    pub timeout: u64,
    /// `max_callers` were waiting.
    pub full: u64,
    /// No agent was logged in.
    pub empty: u64,
    /// The caller pressed a breakout key.
    pub breakout: u64,
}

impl Overflowed {
    pub fn total(&self) -> u64 {
        self.timeout + self.full + self.empty + self.breakout
    }
}

/// The figures of a queue, or of every queue (see the module documentation).
#[derive(Debug, Clone, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct QueueFigures {
    pub offered: u64,
    pub answered: u64,
    pub abandoned: u64,
    pub short_abandons: u64,
    /// Average speed of answer (joined → answered), seconds.
    pub asa_secs: Option<f64>,
    /// Visits that joined the line (not turned away).
    pub joined: u64,
    pub avg_wait_secs: Option<f64>,
    pub max_wait_secs: Option<f64>,
    /// Answered within the queue's threshold T.
    pub answered_within: u64,
    /// answered within ÷ (offered − short abandons), from 0 to 1.
    pub service_level: Option<f64>,
    pub overflowed: Overflowed,
    /// The sum of `overflowed`.
    pub overflowed_total: u64,
    /// Callers who chose to be called back (virtual hold).
    pub callbacks_taken: u64,
}

/// One queue's figures.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct QueueGroup {
    pub queue: String,
    /// Its threshold T.
    pub service_level_secs: u32,
    #[cfg_attr(feature = "serde", serde(flatten))]
    pub figures: QueueFigures,
}

/// One agent's figures (see the module documentation).
#[derive(Debug, Clone, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct AgentFigures {
    /// The agent's extension number.
    pub agent: String,
    pub offers: u64,
    pub answered: u64,
    pub missed: u64,
    pub talk_secs: u64,
    pub wrap_up_secs: u64,
    pub login_secs: u64,
    pub pause_secs: u64,
    /// Pause time by reason ([`NO_REASON`] for pauses without one).
    pub pause_secs_by_reason: BTreeMap<String, u64>,
    /// talk ÷ (login − pause).
    pub occupancy: Option<f64>,
}

/// How missed callers were called back.
#[derive(Debug, Clone, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct CallbackFigures {
    pub opened: u64,
    pub completed: u64,
    /// Still open now.
    pub open: u64,
    pub cancelled: u64,
    pub unreached: u64,
    /// completed ÷ opened.
    pub completion_rate: Option<f64>,
    /// Mean time from the first miss to the answered callback, seconds.
    pub mean_secs_to_callback: Option<f64>,
    /// Its 90th percentile (nearest rank), seconds.
    pub p90_secs_to_callback: Option<f64>,
}

/// A queue report: the period and how it was counted, each queue's figures (by name) and
/// their total, each agent's (by extension), and the callbacks'.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct QueueReport {
    pub period: Period,
    /// The one queue reported on; `None`: every queue.
    pub queue: Option<String>,
    pub short_abandon_secs: u32,
    pub queues: Vec<QueueGroup>,
    pub total: QueueFigures,
    pub agents: Vec<AgentFigures>,
    pub callbacks: CallbackFigures,
}

/// Sums being counted for a queue, turned into figures at the end.
#[derive(Debug, Default)]
struct QueueTally {
    offered: u64,
    answered: u64,
    abandoned: u64,
    short_abandons: u64,
    answer_wait_ms: i64,
    joined: u64,
    wait_ms: i64,
    max_wait_ms: Option<i64>,
    answered_within: u64,
    overflowed: Overflowed,
    callbacks_taken: u64,
}

impl QueueTally {
    fn add(&mut self, call: &QueueCall, short_abandon_secs: u32, service_level_secs: u32) {
        let wait = call.wait_ms.max(0);
        self.offered += 1;
        if call.position.is_some() {
            self.joined += 1;
            self.wait_ms = self.wait_ms.saturating_add(wait);
            self.max_wait_ms = Some(self.max_wait_ms.map_or(wait, |max| max.max(wait)));
        }
        match call.outcome {
            QueueOutcome::Answered => {
                self.answered += 1;
                self.answer_wait_ms = self.answer_wait_ms.saturating_add(wait);
                if wait <= i64::from(service_level_secs) * 1_000 {
                    self.answered_within += 1;
                }
            }
            QueueOutcome::Abandoned => {
                self.abandoned += 1;
                if wait <= i64::from(short_abandon_secs) * 1_000 {
                    self.short_abandons += 1;
                }
            }
            QueueOutcome::Timeout => self.overflowed.timeout += 1,
            QueueOutcome::Full => self.overflowed.full += 1,
            QueueOutcome::Empty => self.overflowed.empty += 1,
            QueueOutcome::Breakout => self.overflowed.breakout += 1,
            QueueOutcome::Callback => self.callbacks_taken += 1,
        }
    }

    fn merge(&mut self, other: &QueueTally) {
        self.offered += other.offered;
        self.answered += other.answered;
        self.abandoned += other.abandoned;
        self.short_abandons += other.short_abandons;
        self.answer_wait_ms = self.answer_wait_ms.saturating_add(other.answer_wait_ms);
        self.joined += other.joined;
        self.wait_ms = self.wait_ms.saturating_add(other.wait_ms);
        self.max_wait_ms = match (self.max_wait_ms, other.max_wait_ms) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        self.answered_within += other.answered_within;
        self.overflowed.timeout += other.overflowed.timeout;
        self.overflowed.full += other.overflowed.full;
        self.overflowed.empty += other.overflowed.empty;
        self.overflowed.breakout += other.overflowed.breakout;
        self.callbacks_taken += other.callbacks_taken;
    }

    fn figures(&self) -> QueueFigures {
        let secs = |ms: f64| ms / 1_000.0;
        QueueFigures {
            offered: self.offered,
            answered: self.answered,
            abandoned: self.abandoned,
            short_abandons: self.short_abandons,
            asa_secs: mean(self.answer_wait_ms, self.answered).map(secs),
            joined: self.joined,
            avg_wait_secs: mean(self.wait_ms, self.joined).map(secs),
            max_wait_secs: self.max_wait_ms.map(|ms| secs(ms as f64)),
            answered_within: self.answered_within,
            service_level: ratio(self.answered_within, self.offered - self.short_abandons),
            overflowed: self.overflowed,
            overflowed_total: self.overflowed.total(),
            callbacks_taken: self.callbacks_taken,
        }
    }
}

/// One agent as its log is read: what it is now, and the time counted so far.
#[derive(Debug, Default)]
struct AgentTally {
    /// The queues it is logged in to (`None`: every queue).
    logged_in: BTreeSet<Option<String>>,
    /// Its pause and the pause's reason.
    paused: Option<Option<String>>,
    /// Wrapping up since.
    wrapping_up: bool,
    offers: u64,
    answered: u64,
    missed: u64,
    talk_secs: u64,
    login_ms: i64,
    pause_ms: BTreeMap<String, i64>,
    wrap_up_ms: i64,
}

impl AgentTally {
    /// Counts the time from `from` to `to` (already clipped to the period) in the state the
    /// agent is in.
    fn count(&mut self, from: i64, to: i64) {
        let span = to - from;
        if span <= 0 {
            return;
        }
        if self.wrapping_up {
            self.wrap_up_ms += span;
        }
        if self.logged_in.is_empty() {
            return;
        }
        self.login_ms += span;
        if let Some(reason) = &self.paused {
            let key = reason.clone().unwrap_or_else(|| NO_REASON.to_owned());
            *self.pause_ms.entry(key).or_default() += span;
        }
    }

    /// Applies one event (of a queue the report selects, or of none).
    fn apply(&mut self, event: &AgentEvent, counted: bool) {
        let queue = event.queue.clone();
        match &event.kind {
            AgentEventKind::Login => {
                self.logged_in.insert(queue);
            }
            AgentEventKind::Logout => match queue {
                None => self.logged_in.clear(),
                Some(_) => {
                    self.logged_in.remove(&queue);
                }
            },
            AgentEventKind::Pause { reason } => self.paused = Some(reason.clone()),
            AgentEventKind::Unpause => self.paused = None,
            AgentEventKind::WrapUpStart => self.wrapping_up = true,
            AgentEventKind::WrapUpEnd => self.wrapping_up = false,
            AgentEventKind::Offered if counted => self.offers += 1,
            AgentEventKind::Answered if counted => self.answered += 1,
            AgentEventKind::Missed if counted => self.missed += 1,
            AgentEventKind::Offered
            | AgentEventKind::Answered
            | AgentEventKind::Missed
            | AgentEventKind::CallEnd => {}
        }
    }

    fn figures(self, agent: String) -> AgentFigures {
        let secs = |ms: i64| u64::try_from((ms.max(0) + 500) / 1_000).unwrap_or(0);
        let pause_total_ms: i64 = self.pause_ms.values().sum();
        let available_ms = self.login_ms - pause_total_ms;
        let talk_ms = i64::try_from(self.talk_secs)
            .unwrap_or(i64::MAX)
            .saturating_mul(1_000);
        AgentFigures {
            agent,
            offers: self.offers,
            answered: self.answered,
            missed: self.missed,
            talk_secs: self.talk_secs,
            wrap_up_secs: secs(self.wrap_up_ms),
            login_secs: secs(self.login_ms),
            pause_secs: secs(pause_total_ms),
            pause_secs_by_reason: self
                .pause_ms
                .into_iter()
                .map(|(reason, ms)| (reason, secs(ms)))
                .collect(),
            occupancy: (available_ms > 0).then(|| talk_ms as f64 / available_ms as f64),
        }
    }

    fn is_empty(&self) -> bool {
        self.offers == 0
            && self.answered == 0
            && self.missed == 0
            && self.talk_secs == 0
            && self.login_ms == 0
            && self.wrap_up_ms == 0
    }
}

/// Whether an agent event of `queue` is read by a report for `selected` (every queue:
/// `None`): pauses always (they are the agent's), the others when they are of the selected
/// queue or of every queue.
fn reads(event: &AgentEvent, selected: Option<&str>) -> bool {
    match (&event.kind, selected) {
        (_, None) | (AgentEventKind::Pause { .. } | AgentEventKind::Unpause, _) => true,
        (_, Some(queue)) => event.queue.as_deref().is_none_or(|q| q == queue),
    }
}

/// The per-agent figures of `events` (in the order they happened, those from before the
/// period first) and `calls` over `period`, counted up to `now_ms` at most.
fn agent_figures(
    calls: &[&QueueCall],
    events: &[&AgentEvent],
    period: Period,
    now_ms: i64,
    selected: Option<&str>,
) -> Vec<AgentFigures> {
    let start = period.since_ms.unwrap_or(i64::MIN);
    let end = period.until_ms.map_or(now_ms, |until| until.min(now_ms));
    let clip = |at: i64| at.clamp(start, end.max(start));
    let mut agents: BTreeMap<&str, (AgentTally, i64)> = BTreeMap::new();
    let mut ordered: Vec<&AgentEvent> = events.to_vec();
    // Stable: events of one instant keep the order they were logged in.
    ordered.sort_by_key(|e| e.at_ms);
    for event in ordered {
        if !reads(event, selected) {
            continue;
        }
        let (tally, since) = agents
            .entry(event.agent.as_str())
            .or_insert_with(|| (AgentTally::default(), clip(event.at_ms)));
        let at = clip(event.at_ms);
        tally.count(*since, at);
        *since = at;
        tally.apply(event, period.contains(event.at_ms) && event.at_ms <= now_ms);
    }
    for (tally, since) in agents.values_mut() {
        tally.count(*since, end.max(*since));
    }
    for call in calls {
        if let (QueueOutcome::Answered, Some(agent)) = (call.outcome, &call.agent) {
            let (tally, _) = agents
                .entry(agent.as_str())
                .or_insert_with(|| (AgentTally::default(), end));
            tally.talk_secs += u64::from(call.talk_secs);
        }
    }
    agents
        .into_iter()
        .filter(|(_, (tally, _))| !tally.is_empty())
        .map(|(agent, (tally, _))| tally.figures(agent.to_owned()))
        .collect()
}

/// The callback figures of `tasks`.
fn callback_figures(tasks: &[&CallbackFacts]) -> CallbackFigures {
    let mut figures = CallbackFigures::default();
    let mut times_ms: Vec<i64> = Vec::new();
    for task in tasks {
        figures.opened += 1;
        match task.state {
            TaskState::Open => figures.open += 1,
            TaskState::Completed => {
                figures.completed += 1;
                if let Some(at) = task.completed_at_ms {
                    times_ms.push((at - task.opened_at_ms).max(0));
                }
            }
            TaskState::Cancelled => figures.cancelled += 1,
            TaskState::Unreached => figures.unreached += 1,
        }
    }
    times_ms.sort_unstable();
    let count = u64::try_from(times_ms.len()).expect("a task count fits in u64");
    figures.completion_rate = ratio(figures.completed, figures.opened);
    figures.mean_secs_to_callback = mean(times_ms.iter().sum(), count).map(|ms| ms / 1_000.0);
    figures.p90_secs_to_callback = nearest_rank(&times_ms, 90).map(|ms| ms as f64 / 1_000.0);
    figures
}

/// The `percent`th percentile of `sorted` by the nearest-rank method: the value at rank
/// ⌈percent/100 × n⌉ (1-based); `None` for no values.
fn nearest_rank(sorted: &[i64], percent: usize) -> Option<i64> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    let rank = (percent * n).div_ceil(100).clamp(1, n);
    Some(sorted[rank - 1])
}

/// The queue report of `period` (module documentation) from the queue visits `calls`, the
/// agent events `events` (with, before the period, those that say what each agent was when
/// it began) and the callback tasks `tasks`, made at `now_ms` (unix milliseconds: states still
/// going on are counted up to there, or to the end of the period if it is over).
pub fn queue_report<'a>(
    calls: impl IntoIterator<Item = &'a QueueCall>,
    events: impl IntoIterator<Item = &'a AgentEvent>,
    tasks: impl IntoIterator<Item = &'a CallbackFacts>,
    period: Period,
    options: &QueueOptions,
    now_ms: i64,
) -> QueueReport {
    let selected = options.queue.as_deref();
    let calls: Vec<&QueueCall> = calls
        .into_iter()
        .filter(|c| period.contains(c.joined_at_ms) && options.selects(Some(&c.queue)))
        .collect();
    let mut queues: BTreeMap<&str, QueueTally> = BTreeMap::new();
    for call in &calls {
        queues.entry(call.queue.as_str()).or_default().add(
            call,
            options.short_abandon_secs,
            options.service_level_secs(&call.queue),
        );
    }
    let mut total = QueueTally::default();
    for tally in queues.values() {
        total.merge(tally);
    }
    let events: Vec<&AgentEvent> = events.into_iter().collect();
    let tasks: Vec<&CallbackFacts> = tasks
        .into_iter()
        .filter(|t| period.contains(t.opened_at_ms) && options.selects(t.queue.as_deref()))
        .collect();
    QueueReport {
        period,
        queue: options.queue.clone(),
        short_abandon_secs: options.short_abandon_secs,
        queues: queues
            .iter()
            .map(|(queue, tally)| QueueGroup {
                queue: (*queue).to_owned(),
                service_level_secs: options.service_level_secs(queue),
                figures: tally.figures(),
            })
            .collect(),
        total: total.figures(),
        agents: agent_figures(&calls, &events, period, now_ms, selected),
        callbacks: callback_figures(&tasks),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::AUTO_PAUSE_REASON;
    use crate::event::{
        CallEvent, CallId, Direction, EndReason, EventKind, HangupSide, LegId, LegRole, Party,
        Stage,
    };
    use crate::metrics::record_of;

    /// 2026-11-21T09:00:00Z.
    const NINE: i64 = 1_795_251_600_000;
    const SEC: i64 = 1_000;
    const MIN: i64 = 60 * SEC;
    const HOUR: i64 = 60 * MIN;
    /// 09:00 to 10:00.
    const PERIOD: Period = Period {
        since_ms: Some(NINE),
        until_ms: Some(NINE + HOUR),
    };
    /// The report is made at 11:00: the period is over.
    const LATER: i64 = NINE + 2 * HOUR;

    /// A visit to `queue` joined `m:s` after 09:00 that waited `wait_secs`.
    fn visit(queue: &str, m: i64, s: i64, wait_secs: i64, outcome: QueueOutcome) -> QueueCall {
        QueueCall {
            queue: queue.into(),
            joined_at_ms: NINE + m * MIN + s * SEC,
            position: Some(1),
            wait_ms: wait_secs * SEC,
            outcome,
            agent: None,
            talk_secs: 0,
        }
    }

    fn answered_by(agent: &str, talk_secs: u32, call: QueueCall) -> QueueCall {
        QueueCall {
            agent: Some(agent.into()),
            talk_secs,
            ..call
        }
    }

    fn turned_away(call: QueueCall) -> QueueCall {
        QueueCall {
            position: None,
            wait_ms: 0,
            ..call
        }
    }

    /// | visit | queue | joined | waited | outcome |
    /// |---|---|---|---|---|
    /// | s0 | support | 08:59:59 | 5 s | answered (before the period) |
    /// | s1 | support | 09:00:00 | 10 s | answered by 201, talk 120 s |
    /// | s2 | support | 09:05:00 | 30 s | answered by 202, talk 60 s |
    /// | s3 | support | 09:10:00 | 3 s | abandoned (short) |
    /// | s4 | support | 09:20:00 | 50 s | abandoned |
    /// | s5 | support | 09:30:00 | 300 s | timeout |
    /// | s6 | support | 09:40:00 | — | full (turned away) |
    /// | s7 | support | 09:50:00 | 90 s | took a callback |
    /// | a1 | sales | 09:15:00 | 25 s | answered by 201, talk 200 s |
    /// | a2 | sales | 09:25:00 | — | empty (turned away) |
    /// | a3 | sales | 09:35:00 | 40 s | breakout |
    fn calls() -> Vec<QueueCall> {
        use QueueOutcome::{Abandoned, Answered, Breakout, Callback, Empty, Full, Timeout};
        vec![
            QueueCall {
                joined_at_ms: NINE - SEC,
                ..answered_by("201", 30, visit("support", 0, 0, 5, Answered))
            },
            answered_by("201", 120, visit("support", 0, 0, 10, Answered)),
            answered_by("202", 60, visit("support", 5, 0, 30, Answered)),
            visit("support", 10, 0, 3, Abandoned),
            visit("support", 20, 0, 50, Abandoned),
            visit("support", 30, 0, 300, Timeout),
            turned_away(visit("support", 40, 0, 0, Full)),
            QueueCall {
                position: Some(3),
                ..visit("support", 50, 0, 90, Callback)
            },
            answered_by("201", 200, visit("sales", 15, 0, 25, Answered)),
            turned_away(visit("sales", 25, 0, 0, Empty)),
            visit("sales", 35, 0, 40, Breakout),
        ]
    }

    fn at(h: i64, m: i64, s: i64) -> i64 {
        NINE + (h - 9) * HOUR + m * MIN + s * SEC
    }

    fn event(at_ms: i64, agent: &str, queue: Option<&str>, kind: AgentEventKind) -> AgentEvent {
        AgentEvent {
            at_ms,
            agent: agent.into(),
            queue: queue.map(str::to_owned),
            kind,
            call: None,
        }
    }

    fn pause(at_ms: i64, agent: &str, reason: Option<&str>) -> AgentEvent {
        event(
            at_ms,
            agent,
            None,
            AgentEventKind::Pause {
                reason: reason.map(str::to_owned),
            },
        )
    }

    /// The log as the store reads it for the period: first what was before it.
    ///
    /// 201 logged in to support and sales at 08:00, paused for lunch at 08:30 and back at
    /// 08:55. In the period: offered s1 (answered), a1 of sales (answered), s4 (missed);
    /// 30 s of wrap-up after each answer; paused for training 09:30–09:45; logged out of both
    /// at 09:50.
    ///
    /// 202 logs in to support at 09:04, answers s2, wraps up 30 s, pauses without a reason at
    /// 09:30 and stays so; logs out at 10:30, after the period. 203 logged in and out before
    /// the period.
    fn events() -> Vec<AgentEvent> {
        use AgentEventKind::{
            Answered, CallEnd, Login, Logout, Missed, Offered, Unpause, WrapUpEnd, WrapUpStart,
        };
        let support = Some("support");
        let sales = Some("sales");
        vec![
            // Before the period: the last of each kind, as the store reads them.
            event(at(8, 0, 0), "201", support, Login),
            event(at(8, 0, 0), "201", sales, Login),
            event(at(8, 30, 0), "203", support, Logout),
            event(at(8, 55, 0), "201", None, Unpause),
            // The period.
            event(at(9, 0, 0), "201", support, Offered),
            event(at(9, 0, 10), "201", support, Answered),
            event(at(9, 2, 10), "201", support, CallEnd),
            event(at(9, 2, 10), "201", support, WrapUpStart),
            event(at(9, 2, 40), "201", support, WrapUpEnd),
            event(at(9, 4, 0), "202", support, Login),
            event(at(9, 5, 0), "202", support, Offered),
            event(at(9, 5, 30), "202", support, Answered),
            event(at(9, 6, 30), "202", support, CallEnd),
            event(at(9, 6, 30), "202", support, WrapUpStart),
            event(at(9, 7, 0), "202", support, WrapUpEnd),
            event(at(9, 15, 0), "201", sales, Offered),
            event(at(9, 15, 25), "201", sales, Answered),
            event(at(9, 18, 45), "201", sales, CallEnd),
            event(at(9, 18, 45), "201", sales, WrapUpStart),
            event(at(9, 19, 15), "201", sales, WrapUpEnd),
            event(at(9, 20, 0), "201", support, Offered),
            event(at(9, 20, 15), "201", support, Missed),
            pause(at(9, 30, 0), "201", Some("training")),
            pause(at(9, 30, 0), "202", None),
            event(at(9, 45, 0), "201", None, Unpause),
            event(at(9, 50, 0), "201", support, Logout),
            event(at(9, 50, 0), "201", sales, Logout),
            // After the period.
            event(at(10, 30, 0), "202", support, Logout),
            event(at(10, 30, 0), "202", support, Offered),
        ]
    }

    fn task(
        queue: Option<&str>,
        opened_at_ms: i64,
        state: TaskState,
        done: Option<i64>,
    ) -> CallbackFacts {
        CallbackFacts {
            queue: queue.map(str::to_owned),
            state,
            opened_at_ms,
            completed_at_ms: done,
        }
    }

    /// Opened in the period: t1 (support, completed after 30 min), t2 (support, after 2 min),
    /// t3 (sales, after 2 h), t4 (support, open), t5 (support, cancelled), t6 (no queue,
    /// unreached); and t0 opened before it.
    fn tasks() -> Vec<CallbackFacts> {
        use TaskState::{Cancelled, Completed, Open, Unreached};
        vec![
            task(Some("support"), at(8, 0, 0), Completed, Some(at(8, 5, 0))),
            task(Some("support"), at(9, 1, 0), Completed, Some(at(9, 31, 0))),
            task(Some("support"), at(9, 10, 0), Completed, Some(at(9, 12, 0))),
            task(Some("sales"), at(9, 20, 0), Completed, Some(at(11, 20, 0))),
            task(Some("support"), at(9, 21, 0), Open, None),
            task(Some("support"), at(9, 22, 0), Cancelled, None),
            task(None, at(9, 23, 0), Unreached, None),
        ]
    }

    fn options(queue: Option<&str>) -> QueueOptions {
        QueueOptions {
            queue: queue.map(str::to_owned),
            short_abandon_secs: 5,
            service_level_secs: [("sales".to_owned(), 30)].into_iter().collect(),
        }
    }

    fn report(queue: Option<&str>) -> QueueReport {
        queue_report(
            &calls(),
            &events(),
            &tasks(),
            PERIOD,
            &options(queue),
            LATER,
        )
    }

    #[test]
    fn each_queue_follows_the_formulas_with_its_own_threshold() {
        let report = report(None);
        assert_eq!(report.queues.len(), 2);
        let sales = &report.queues[0];
        assert_eq!(
            (sales.queue.as_str(), sales.service_level_secs),
            ("sales", 30)
        );
        assert_eq!(
            sales.figures,
            QueueFigures {
                offered: 3,
                answered: 1,
                abandoned: 0,
                short_abandons: 0,
                asa_secs: Some(25.0),
                joined: 2,
                // (25 + 40) / 2
                avg_wait_secs: Some(32.5),
                max_wait_secs: Some(40.0),
                // 25 s is within sales' 30 s.
                answered_within: 1,
                service_level: Some(1.0 / 3.0),
                overflowed: Overflowed {
                    empty: 1,
                    breakout: 1,
                    ..Overflowed::default()
                },
                overflowed_total: 2,
                callbacks_taken: 0,
            }
        );
        let support = &report.queues[1];
        assert_eq!(
            (support.queue.as_str(), support.service_level_secs),
            ("support", 20)
        );
        assert_eq!(
            support.figures,
            QueueFigures {
                // s1..s7: s0 joined before the period.
                offered: 7,
                answered: 2,
                abandoned: 2,
                // s3 gave up 3 s after joining.
                short_abandons: 1,
                // (10 + 30) / 2
                asa_secs: Some(20.0),
                // All but s6, turned away.
                joined: 6,
                // (10 + 30 + 3 + 50 + 300 + 90) / 6
                avg_wait_secs: Some(80.5),
                max_wait_secs: Some(300.0),
                // s1 (10 s); s2 waited 30 s.
                answered_within: 1,
                // 1 / (7 − 1)
                service_level: Some(1.0 / 6.0),
                overflowed: Overflowed {
                    timeout: 1,
                    full: 1,
                    ..Overflowed::default()
                },
                overflowed_total: 2,
                callbacks_taken: 1,
            }
        );
        assert_eq!(
            report.total,
            QueueFigures {
                offered: 10,
                answered: 3,
                abandoned: 2,
                short_abandons: 1,
                asa_secs: Some(65.0 / 3.0),
                joined: 8,
                avg_wait_secs: Some(548.0 / 8.0),
                max_wait_secs: Some(300.0),
                // Each queue's own threshold: s1 and a1.
                answered_within: 2,
                service_level: Some(2.0 / 9.0),
                overflowed: Overflowed {
                    timeout: 1,
                    full: 1,
                    empty: 1,
                    breakout: 1,
                },
                overflowed_total: 4,
                callbacks_taken: 1,
            }
        );
        assert_eq!(report.queue, None);
        assert_eq!(report.short_abandon_secs, 5);
    }

    #[test]
    fn each_agent_has_its_offers_talk_wrap_up_login_pause_and_occupancy() {
        let report = report(None);
        let agents: Vec<&str> = report.agents.iter().map(|a| a.agent.as_str()).collect();
        assert_eq!(agents, ["201", "202"], "203 did nothing in the period");
        assert_eq!(
            report.agents[0],
            AgentFigures {
                agent: "201".into(),
                offers: 3,
                answered: 2,
                missed: 1,
                // s1 and a1.
                talk_secs: 320,
                wrap_up_secs: 60,
                // 09:00 (logged in before) to 09:50.
                login_secs: 3_000,
                // 09:30 to 09:45; lunch was before the period.
                pause_secs: 900,
                pause_secs_by_reason: [("training".to_owned(), 900)].into_iter().collect(),
                // 320 / (3,000 − 900)
                occupancy: Some(320.0 / 2_100.0),
            }
        );
        assert_eq!(
            report.agents[1],
            AgentFigures {
                agent: "202".into(),
                offers: 1,
                answered: 1,
                missed: 0,
                talk_secs: 60,
                wrap_up_secs: 30,
                // 09:04 to the end of the period (its logout came after).
                login_secs: 3_360,
                // 09:30 to the end of the period.
                pause_secs: 1_800,
                pause_secs_by_reason: [(NO_REASON.to_owned(), 1_800)].into_iter().collect(),
                occupancy: Some(60.0 / 1_560.0),
            }
        );
    }

    #[test]
    fn callbacks_count_the_tasks_opened_in_the_period() {
        let report = report(None);
        assert_eq!(
            report.callbacks,
            CallbackFigures {
                opened: 6,
                completed: 3,
                open: 1,
                cancelled: 1,
                unreached: 1,
                completion_rate: Some(0.5),
                // (1,800 + 120 + 7,200) / 3
                mean_secs_to_callback: Some(3_040.0),
                // Rank ⌈0.9 × 3⌉ = 3 of 120, 1,800, 7,200.
                p90_secs_to_callback: Some(7_200.0),
            }
        );
    }

    #[test]
    fn a_report_for_one_queue_reads_only_its_calls_its_agents_time_and_its_tasks() {
        let report = report(Some("support"));
        assert_eq!(report.queue.as_deref(), Some("support"));
        assert_eq!(report.queues.len(), 1);
        assert_eq!(report.queues[0].queue, "support");
        assert_eq!(report.total, report.queues[0].figures);
        // 201's sales offer, answer, talk and wrap-up are left out; its pause is the agent's.
        let agent = &report.agents[0];
        assert_eq!(
            (
                agent.offers,
                agent.answered,
                agent.missed,
                agent.talk_secs,
                agent.wrap_up_secs,
                agent.login_secs,
                agent.pause_secs
            ),
            (2, 1, 1, 120, 30, 3_000, 900)
        );
        assert_eq!(agent.occupancy, Some(120.0 / 2_100.0));
        assert_eq!(
            report.callbacks,
            CallbackFigures {
                opened: 4,
                completed: 2,
                open: 1,
                cancelled: 1,
                unreached: 0,
                completion_rate: Some(0.5),
                mean_secs_to_callback: Some(960.0),
                // Rank ⌈0.9 × 2⌉ = 2 of 120, 1,800.
                p90_secs_to_callback: Some(1_800.0),
            }
        );
    }

    #[test]
    fn a_period_not_over_counts_states_up_to_now() {
        let since_nine = Period {
            since_ms: Some(NINE),
            until_ms: None,
        };
        let events = [
            event(at(8, 0, 0), "201", Some("support"), AgentEventKind::Login),
            pause(at(9, 20, 0), "201", Some(AUTO_PAUSE_REASON)),
        ];
        let report = queue_report(
            [],
            &events,
            [],
            since_nine,
            &QueueOptions::default(),
            at(9, 30, 0),
        );
        let agent = &report.agents[0];
        assert_eq!((agent.login_secs, agent.pause_secs), (1_800, 600));
        assert_eq!(
            agent.pause_secs_by_reason,
            [(AUTO_PAUSE_REASON.to_owned(), 600)].into_iter().collect()
        );
        // Nothing talked: occupancy 0 of the 1,200 s available.
        assert_eq!(agent.occupancy, Some(0.0));
    }

    #[test]
    fn logging_out_of_every_queue_ends_every_login_and_a_pause_counts_only_logged_in() {
        let events = [
            event(at(9, 0, 0), "201", Some("support"), AgentEventKind::Login),
            event(at(9, 0, 0), "201", None, AgentEventKind::Login),
            pause(at(9, 10, 0), "201", Some("lunch")),
            event(at(9, 20, 0), "201", None, AgentEventKind::Logout),
            // Still "paused" while logged out: not pause time.
            event(at(9, 40, 0), "201", Some("support"), AgentEventKind::Login),
            event(at(9, 50, 0), "201", None, AgentEventKind::Unpause),
        ];
        let report = queue_report([], &events, [], PERIOD, &QueueOptions::default(), LATER);
        let agent = &report.agents[0];
        // 09:00–09:20 and 09:40–10:00.
        assert_eq!(agent.login_secs, 2_400);
        // 09:10–09:20 and 09:40–09:50.
        assert_eq!(agent.pause_secs, 1_200);
    }

    #[test]
    fn an_empty_period_has_no_ratios() {
        let report = queue_report(
            &calls(),
            [],
            &tasks(),
            Period {
                since_ms: Some(NINE + 24 * HOUR),
                until_ms: None,
            },
            &QueueOptions::default(),
            NINE + 25 * HOUR,
        );
        assert!(report.queues.is_empty());
        assert_eq!(report.total, QueueFigures::default());
        assert!(report.agents.is_empty());
        assert_eq!(report.callbacks, CallbackFigures::default());
    }

    #[test]
    fn the_90th_percentile_is_the_nearest_rank() {
        let ten: Vec<i64> = (1..=10).collect();
        assert_eq!(nearest_rank(&ten, 90), Some(9));
        assert_eq!(nearest_rank(&ten[..1], 90), Some(1));
        assert_eq!(nearest_rank(&(1..=11).collect::<Vec<_>>(), 90), Some(10));
        assert_eq!(nearest_rank(&[], 90), None);
    }

    #[test]
    fn a_record_gives_its_visits_with_the_talk_time_on_the_answered_one() {
        let call = CallId("c1".into());
        let at_ms = |ms: i64, kind: EventKind| CallEvent {
            call: call.clone(),
            at_ms: NINE + ms,
            kind,
        };
        let record = record_of([
            at_ms(
                0,
                EventKind::Started {
                    direction: Direction::Inbound,
                    caller: Party {
                        number: "+447700900123".into(),
                        name: None,
                    },
                    callee: Party {
                        number: "+442079460000".into(),
                        name: None,
                    },
                    sip_call_id: "sip-c1".into(),
                },
            ),
            at_ms(
                0,
                EventKind::QueueLeft {
                    queue: "sales".into(),
                    outcome: QueueOutcome::Full,
                    agent: None,
                },
            ),
            at_ms(
                0,
                EventKind::Stage {
                    stage: Stage::Queue,
                },
            ),
            at_ms(
                0,
                EventKind::QueueJoined {
                    queue: "support".into(),
                    position: 2,
                },
            ),
            at_ms(
                12 * SEC,
                EventKind::LegCreated {
                    leg: LegId(1),
                    role: LegRole::Callee,
                    target: "201".into(),
                    contact: None,
                    trunk: None,
                    rate: None,
                },
            ),
            at_ms(
                12 * SEC,
                EventKind::QueueOffered {
                    queue: "support".into(),
                    agent: "201".into(),
                },
            ),
            at_ms(
                15 * SEC,
                EventKind::QueueLeft {
                    queue: "support".into(),
                    outcome: QueueOutcome::Answered,
                    agent: Some("201".into()),
                },
            ),
            at_ms(15 * SEC, EventKind::Answered { leg: LegId(1) }),
            at_ms(
                75 * SEC,
                EventKind::Ended {
                    reason: EndReason::Hangup,
                    hangup_by: HangupSide::Caller,
                    status: None,
                },
            ),
        ]);
        assert_eq!(
            QueueCall::from_record(&record),
            [
                QueueCall {
                    queue: "sales".into(),
                    joined_at_ms: NINE,
                    position: None,
                    wait_ms: 0,
                    outcome: QueueOutcome::Full,
                    agent: None,
                    talk_secs: 0,
                },
                QueueCall {
                    queue: "support".into(),
                    joined_at_ms: NINE,
                    position: Some(2),
                    wait_ms: 15 * SEC,
                    outcome: QueueOutcome::Answered,
                    agent: Some("201".into()),
                    talk_secs: 60,
                },
            ]
        );
    }

    #[cfg(feature = "serde")]
    #[test]
    fn a_report_reads_as_json() {
        let report = report(None);
        let json = serde_json::to_value(&report).expect("a report serialises");
        assert_eq!(json["queue"], serde_json::Value::Null);
        assert_eq!(json["queues"][1]["queue"], "support");
        assert_eq!(json["queues"][1]["service_level_secs"], 20);
        assert_eq!(json["queues"][1]["offered"], 7);
        assert_eq!(
            json["queues"][1]["overflowed"],
            serde_json::json!({ "timeout": 1, "full": 1, "empty": 0, "breakout": 0 })
        );
        assert_eq!(json["total"]["service_level"], 2.0 / 9.0);
        assert_eq!(json["agents"][0]["pause_secs_by_reason"]["training"], 900);
        assert_eq!(json["callbacks"]["p90_secs_to_callback"], 7_200.0);
    }
}
