//! Inbound metrics (DESIGN.md §2 "Inbound"): how available the business was to the calls it
//! received over a [`Period`], in all or per DID, inbound route or ring group ([`GroupBy`]).
//!
//! # Which calls count
//!
//! The **offered** calls of a period are the calls that started in it and were received:
//! by default the calls that came in from a trunk (direction `inbound`, DESIGN.md §1); with
//! `received` ([`InboundOptions::received`]), every call received by an extension or by the
//! system — `internal` calls included, `outbound` ones never ([`InboundCall::counts`]).
//!
//! # The figures (the total, and the same per group)
//!
//! - **offered**; **answered** (disposition `answered`); **missed** = offered − answered
//!   (voicemail, no answer, busy, rejected, abandoned, failed and denied calls alike);
//! - **abandoned** = `cancelled` + `abandoned` calls (the caller gave up), and the same **by
//!   stage**: `ringing` (cancelled while a phone rang), `ivr` and `queue` (abandoned there);
//! - **short abandons**: abandoned calls that lasted at most `short_abandon_secs` (default 5)
//!   from their start to the caller hanging up — callers who dialled wrong, or gave up
//!   before anyone could have answered;
//! - **ASA** (average speed of answer) = mean wait (start → answer, to the millisecond,
//!   IVR and queue time included) over answered calls, in seconds;
//! - **queued** = calls that entered a queue (waited in one, or were abandoned in one), and
//!   the **average queue wait** over them (`None` while none did: there are no queues yet);
//! - **answered within** `service_level_secs` (default 20; a wait of exactly that counts),
//!   and the **service level** = answered within ÷ (offered − short abandons);
//! - **offered by hour** and the **peak hour**: the calls offered in each local clock hour
//!   of the day (0–23, in `[site] timezone`, [`UtcOffsets`]) over the whole period, and the
//!   hour with most (the earliest on a tie). The clock hour repeated when summer time ends
//!   is one hour of the clock: it counts the calls of both passes; the hour skipped when it
//!   begins counts none;
//! - **max concurrent**: the most calls up at once during the period. A call is up from its
//!   start to its end, the end excluded — a call that ends as another starts does not
//!   overlap it — and a call of no duration (refused at once) is up for its instant. Calls
//!   that started before the period and were still up in it count here (and only here), for
//!   the part of them inside the period.
//!
//! Ratios and means are `None` when there is nothing to divide by.
//!
//! # Groups
//!
//! Per DID (the number called, [`crate::record::Inbound::did`]), per inbound route, or per
//! ring group: the group a call reached last on its route path ([`reached_group`] — the one
//! whose members were ringing when the call was answered or given up; a call that escalated
//! from one group to another counts for the second). Each call counts in exactly one group,
//! so the groups add up to the total (but for max concurrent and the peak hour); the calls
//! without a key (no DID or route known, no group reached) make a last group without one.

use std::collections::BTreeMap;
use std::fmt;

use super::{Period, mean, ratio};
use crate::event::{Direction, Stage, StepKind};
use crate::record::{CallRecord, Disposition, PathStep};

/// The default threshold of the service level, seconds.
pub const DEFAULT_SERVICE_LEVEL_SECS: u32 = 20;
/// The default longest short abandon, seconds.
pub const DEFAULT_SHORT_ABANDON_SECS: u32 = 5;

/// What an inbound report groups its calls by, besides the total.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize),
    serde(rename_all = "snake_case")
)]
pub enum GroupBy {
    /// The number called.
    Did,
    /// The `[[inbound_route]]` that took the call.
    Route,
    /// The ring group the call reached last.
    Group,
}

impl GroupBy {
    pub const ALL: [GroupBy; 3] = [GroupBy::Did, GroupBy::Route, GroupBy::Group];

    pub fn as_str(self) -> &'static str {
        match self {
            GroupBy::Did => "did",
            GroupBy::Route => "route",
            GroupBy::Group => "group",
        }
    }

    /// The grouping named by [`GroupBy::as_str`]'s text.
    pub fn parse(text: &str) -> Option<GroupBy> {
        GroupBy::ALL.into_iter().find(|g| g.as_str() == text)
    }
}

impl fmt::Display for GroupBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which calls an inbound report counts and where its thresholds lie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InboundOptions {
    /// `false` (the default): the calls from trunks; `true`: every call received, internal
    /// ones included.
    pub received: bool,
    /// Answered within this many seconds counts for the service level (default 20).
    pub service_level_secs: u32,
    /// Abandoned within this many seconds is a short abandon (default 5).
    pub short_abandon_secs: u32,
}

impl Default for InboundOptions {
    fn default() -> Self {
        InboundOptions {
            received: false,
            service_level_secs: DEFAULT_SERVICE_LEVEL_SECS,
            short_abandon_secs: DEFAULT_SHORT_ABANDON_SECS,
        }
    }
}

/// What the inbound metrics read of one call: a few columns of its record (the store returns
/// these without reading whole records; [`InboundCall::from_record`] makes one from a
/// record).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundCall {
    pub started_at_ms: i64,
    /// When it was first answered.
    pub answered_at_ms: Option<i64>,
    pub ended_at_ms: i64,
    pub disposition: Disposition,
    /// Where an `abandoned` call was given up (`ivr`, `queue`).
    pub abandoned_stage: Option<Stage>,
    /// Time spent waiting in queues.
    pub queue_wait_secs: u32,
    /// The number called, for a call from a trunk.
    pub did: Option<String>,
    /// The inbound route that took it.
    pub route: Option<String>,
    /// The ring group it reached last ([`reached_group`]).
    pub group: Option<String>,
}

/// The ring group a call reached last: the name of the last `group` step of its route path.
/// What the store keeps in `calls.reached_group` and the reports group by.
pub fn reached_group(path: &[PathStep]) -> Option<&str> {
    path.iter()
        .rev()
        .find(|step| step.kind == StepKind::Group)
        .map(|step| step.name.as_str())
}

impl InboundCall {
    /// Whether a call of `direction` is offered, for a report of the calls from trunks
    /// (`received` false: `inbound` only) or of every call received (`inbound` and
    /// `internal`).
    pub fn counts(direction: Direction, received: bool) -> bool {
        match direction {
            Direction::Inbound => true,
            Direction::Internal => received,
            Direction::Outbound => false,
        }
    }

    /// The columns of `record` the metrics read, or `None` if it is not a received call
    /// ([`InboundCall::counts`]).
    pub fn from_record(record: &CallRecord, received: bool) -> Option<InboundCall> {
        if !InboundCall::counts(record.direction, received) {
            return None;
        }
        let inbound = record.inbound.as_ref();
        Some(InboundCall {
            started_at_ms: record.started_at_ms,
            answered_at_ms: record.answered_at_ms,
            ended_at_ms: record.ended_at_ms,
            disposition: record.disposition,
            abandoned_stage: record.abandoned_stage,
            queue_wait_secs: record.timings.queue_wait_secs,
            did: inbound.map(|i| i.did.clone()),
            route: inbound.and_then(|i| i.route.clone()),
            group: reached_group(&record.path).map(str::to_owned),
        })
    }

    /// Whether the caller gave up: `cancelled` or `abandoned`.
    fn gave_up(&self) -> bool {
        matches!(
            self.disposition,
            Disposition::Cancelled | Disposition::Abandoned
        )
    }

    /// Whether the call entered a queue.
    fn queued(&self) -> bool {
        self.queue_wait_secs > 0 || self.abandoned_stage == Some(Stage::Queue)
    }

    /// Start → answer, for an answered call.
    fn wait_ms(&self) -> Option<i64> {
        if self.disposition != Disposition::Answered {
            return None;
        }
        self.answered_at_ms
            .map(|answered| (answered - self.started_at_ms).max(0))
    }

    /// The call's key under `by`.
    fn key(&self, by: GroupBy) -> Option<&String> {
        match by {
            GroupBy::Did => self.did.as_ref(),
            GroupBy::Route => self.route.as_ref(),
            GroupBy::Group => self.group.as_ref(),
        }
    }
}

/// One change of a time zone's offset from UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OffsetChange {
    /// From this instant (unix milliseconds)...
    pub at_ms: i64,
    /// ...local time is UTC plus this many seconds.
    pub offset_secs: i32,
}

/// A time zone's offsets from UTC over a span of time, to read the local clock hour of a
/// call: the offset in force before the first change, then each change. Built by the caller
/// from the time zone database (`[site] timezone`), since this crate reads none; only the
/// span of the calls counted needs to be covered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UtcOffsets {
    zone: String,
    initial_secs: i32,
    /// Sorted by time.
    changes: Vec<OffsetChange>,
}

impl UtcOffsets {
    /// UTC itself.
    pub fn utc() -> UtcOffsets {
        UtcOffsets::fixed("UTC", 0)
    }

    /// A zone whose offset never changes.
    pub fn fixed(zone: impl Into<String>, offset_secs: i32) -> UtcOffsets {
        UtcOffsets::new(zone, offset_secs, Vec::new())
    }

    /// The zone named `zone` (for the report): `initial_secs` before the first of
    /// `changes`, then each change from its time (in any order; sorted here).
    pub fn new(
        zone: impl Into<String>,
        initial_secs: i32,
        mut changes: Vec<OffsetChange>,
    ) -> UtcOffsets {
        changes.sort_by_key(|c| c.at_ms);
        UtcOffsets {
            zone: zone.into(),
            initial_secs,
            changes,
        }
    }

    /// The zone's name.
    pub fn zone(&self) -> &str {
        &self.zone
    }

    /// The offset in force at `at_ms`.
    pub fn offset_secs_at(&self, at_ms: i64) -> i32 {
        let later = self.changes.partition_point(|c| c.at_ms <= at_ms);
        later
            .checked_sub(1)
            .map_or(self.initial_secs, |i| self.changes[i].offset_secs)
    }

    /// The hour on the local clock at `at_ms`, 0–23.
    pub fn local_hour(&self, at_ms: i64) -> u8 {
        const HOUR_MS: i64 = 3_600_000;
        let local_ms = at_ms.saturating_add(i64::from(self.offset_secs_at(at_ms)) * 1_000);
        u8::try_from(local_ms.div_euclid(HOUR_MS).rem_euclid(24))
            .expect("an hour of the day is below 24")
    }
}

/// Calls by how they were given up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct AbandonedByStage {
    /// Cancelled while a phone rang.
    pub ringing: u64,
    /// Abandoned in a menu.
    pub ivr: u64,
    /// Abandoned waiting in a queue.
    pub queue: u64,
}

/// The local clock hour with most offered calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct PeakHour {
    /// 0–23: the hour from `hour:00` to `hour+1:00`.
    pub hour: u8,
    pub offered: u64,
}

/// The figures of a set of received calls (see the module documentation for each one's
/// exact meaning).
#[derive(Debug, Clone, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct InboundFigures {
    pub offered: u64,
    pub answered: u64,
    pub missed: u64,
    pub abandoned: u64,
    pub abandoned_by_stage: AbandonedByStage,
    pub short_abandons: u64,
    /// Average speed of answer, seconds.
    pub asa_secs: Option<f64>,
    pub queued: u64,
    pub avg_queue_wait_secs: Option<f64>,
    /// Answered within the service level's threshold.
    pub answered_within: u64,
    /// answered within ÷ (offered − short abandons), from 0 to 1.
    pub service_level: Option<f64>,
    /// `None` without offered calls.
    pub peak_hour: Option<PeakHour>,
    /// Offered calls by local clock hour, 0–23.
    pub offered_by_hour: [u64; 24],
    pub max_concurrent: u64,
}

/// The figures of the calls that share a key.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct InboundGroup {
    /// The DID, route or group; `None` for the calls that have none.
    pub key: Option<String>,
    #[cfg_attr(feature = "serde", serde(flatten))]
    pub figures: InboundFigures,
}

/// An inbound report: the period and how it was counted, the figures of all its calls, and
/// the same per group (by key, the group without a key last) when grouped.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct InboundReport {
    pub period: Period,
    pub by: Option<GroupBy>,
    /// Every call received (`true`) or the calls from trunks only.
    pub received: bool,
    pub service_level_secs: u32,
    pub short_abandon_secs: u32,
    /// The time zone of the clock hours.
    pub timezone: String,
    pub total: InboundFigures,
    pub groups: Vec<InboundGroup>,
}

/// Sums being counted, turned into figures at the end.
#[derive(Debug, Default)]
struct Tally {
    offered: u64,
    answered: u64,
    abandoned: u64,
    by_stage: AbandonedByStage,
    short_abandons: u64,
    wait_sum_ms: i64,
    waits: u64,
    queued: u64,
    queue_wait_sum_secs: i64,
    answered_within: u64,
    by_hour: [u64; 24],
    /// Each call's time up within the period: (from, to), `to` excluded.
    intervals: Vec<(i64, i64)>,
}

impl Tally {
    /// Counts a call offered in the period.
    fn add_offered(&mut self, call: &InboundCall, options: &InboundOptions, clock: &UtcOffsets) {
        self.offered += 1;
        self.by_hour[usize::from(clock.local_hour(call.started_at_ms))] += 1;
        if call.disposition == Disposition::Answered {
            self.answered += 1;
        }
        if let Some(wait) = call.wait_ms() {
            self.wait_sum_ms = self.wait_sum_ms.saturating_add(wait);
            self.waits += 1;
            if wait <= i64::from(options.service_level_secs) * 1_000 {
                self.answered_within += 1;
            }
        }
        if call.gave_up() {
            self.abandoned += 1;
            match (call.disposition, call.abandoned_stage) {
                (Disposition::Cancelled, _) => self.by_stage.ringing += 1,
                (_, Some(Stage::Ivr)) => self.by_stage.ivr += 1,
                (_, Some(Stage::Queue)) => self.by_stage.queue += 1,
                // An abandoned call whose record lost its stage: in the total only.
                _ => {}
            }
            let lasted = (call.ended_at_ms - call.started_at_ms).max(0);
            if lasted <= i64::from(options.short_abandon_secs) * 1_000 {
                self.short_abandons += 1;
            }
        }
        if call.queued() {
            self.queued += 1;
            self.queue_wait_sum_secs += i64::from(call.queue_wait_secs);
        }
    }

    /// Notes the time a call was up within the period ([`up_within`]).
    fn add_up_time(&mut self, interval: Option<(i64, i64)>) {
        self.intervals.extend(interval);
    }

    /// The most intervals overlapping at one instant.
    fn max_concurrent(&self) -> u64 {
        // Ends sort before starts at the same instant (-1 < +1): touching calls do not
        // overlap.
        let mut edges: Vec<(i64, i8)> = self
            .intervals
            .iter()
            .flat_map(|&(from, to)| [(from, 1), (to, -1)])
            .collect();
        edges.sort_unstable();
        let (mut up, mut most) = (0_i64, 0_i64);
        for (_, change) in edges {
            up += i64::from(change);
            most = most.max(up);
        }
        u64::try_from(most).expect("more calls start than end before any instant")
    }

    fn figures(self) -> InboundFigures {
        let max_concurrent = self.max_concurrent();
        let peak_hour = (self.offered > 0).then(|| {
            let (hour, offered) = self
                .by_hour
                .iter()
                .enumerate()
                // `max_by_key` keeps the last of equals: scan from the latest hour so the
                // earliest wins a tie.
                .rev()
                .max_by_key(|&(_, n)| *n)
                .expect("a day has 24 hours");
            PeakHour {
                hour: u8::try_from(hour).expect("an hour of the day is below 24"),
                offered: *offered,
            }
        });
        InboundFigures {
            offered: self.offered,
            answered: self.answered,
            missed: self.offered - self.answered,
            abandoned: self.abandoned,
            abandoned_by_stage: self.by_stage,
            short_abandons: self.short_abandons,
            asa_secs: mean(self.wait_sum_ms, self.waits).map(|ms| ms / 1_000.0),
            queued: self.queued,
            avg_queue_wait_secs: mean(self.queue_wait_sum_secs, self.queued),
            answered_within: self.answered_within,
            service_level: ratio(self.answered_within, self.offered - self.short_abandons),
            peak_hour,
            offered_by_hour: self.by_hour,
            max_concurrent,
        }
    }
}

/// The time `call` was up within `period`, `(from, to)` with `to` excluded, if any.
fn up_within(call: &InboundCall, period: Period) -> Option<(i64, i64)> {
    // A call of no duration is up for its instant.
    let end = call.ended_at_ms.max(call.started_at_ms.saturating_add(1));
    let from = period
        .since_ms
        .map_or(call.started_at_ms, |since| call.started_at_ms.max(since));
    let to = period.until_ms.map_or(end, |until| end.min(until));
    (from < to).then_some((from, to))
}

/// The inbound report of `calls` over `period`: the calls that started in it are offered;
/// those that started before it count only in max concurrent, for their time up in it
/// (others are skipped). The caller selects which calls are received
/// ([`InboundCall::counts`] with `options.received`); local clock hours are read with
/// `clock`.
pub fn inbound_report<'a>(
    calls: impl IntoIterator<Item = &'a InboundCall>,
    period: Period,
    by: Option<GroupBy>,
    options: &InboundOptions,
    clock: &UtcOffsets,
) -> InboundReport {
    let mut total = Tally::default();
    let mut groups: BTreeMap<Option<String>, Tally> = BTreeMap::new();
    for call in calls {
        let offered = period.contains(call.started_at_ms);
        let interval = up_within(call, period);
        if !offered && interval.is_none() {
            continue;
        }
        if offered {
            total.add_offered(call, options, clock);
        }
        total.add_up_time(interval);
        if let Some(by) = by {
            let group = groups.entry(call.key(by).cloned()).or_default();
            if offered {
                group.add_offered(call, options, clock);
            }
            group.add_up_time(interval);
        }
    }
    // `None` sorts first in a BTreeMap; the calls without a key go last. A group of calls
    // carried in only (none offered) still shows, with its concurrency.
    let (unkeyed, keyed): (Vec<_>, Vec<_>) = groups.into_iter().partition(|(k, _)| k.is_none());
    let groups = keyed
        .into_iter()
        .chain(unkeyed)
        .map(|(key, tally)| InboundGroup {
            key,
            figures: tally.figures(),
        })
        .collect();
    InboundReport {
        period,
        by,
        received: options.received,
        service_level_secs: options.service_level_secs,
        short_abandon_secs: options.short_abandon_secs,
        timezone: clock.zone().to_owned(),
        total: total.figures(),
        groups,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{
        CallEvent, CallId, EndReason, EventKind, HangupSide, LegId, LegRole, Party,
    };
    use crate::metrics::record_of;

    /// 2026-11-21T00:00:00Z (GMT in London), and the day from there.
    const DAY_START: i64 = 1_795_219_200_000;
    const DAY: Period = Period {
        since_ms: Some(DAY_START),
        until_ms: Some(DAY_START + 86_400_000),
    };
    const SEC: i64 = 1_000;
    const MIN: i64 = 60 * SEC;
    const HOUR: i64 = 60 * MIN;
    const DID_A: &str = "+442079460000";
    const DID_B: &str = "+442079460001";

    /// A call offered at `h:m:s` of the day that ended `lasted_secs` later.
    fn call(h: i64, m: i64, s: i64, lasted_secs: i64, disposition: Disposition) -> InboundCall {
        let started = DAY_START + h * HOUR + m * MIN + s * SEC;
        InboundCall {
            started_at_ms: started,
            answered_at_ms: None,
            ended_at_ms: started + lasted_secs * SEC,
            disposition,
            abandoned_stage: None,
            queue_wait_secs: 0,
            did: Some(DID_A.into()),
            route: Some("main".into()),
            group: None,
        }
    }

    fn answered_after(wait_secs: i64, call: InboundCall) -> InboundCall {
        InboundCall {
            answered_at_ms: Some(call.started_at_ms + wait_secs * SEC),
            ..call
        }
    }

    fn in_group(group: &str, call: InboundCall) -> InboundCall {
        InboundCall {
            group: Some(group.into()),
            ..call
        }
    }

    fn on_b(route: Option<&str>, call: InboundCall) -> InboundCall {
        InboundCall {
            did: Some(DID_B.into()),
            route: route.map(str::to_owned),
            ..call
        }
    }

    /// Eight calls of the day:
    ///
    /// | # | start | DID | route | group | outcome |
    /// |---|---|---|---|---|---|
    /// | 1 | 09:00:00 | A | main | sales | answered after 12 s, ends 09:05 |
    /// | 2 | 09:10:00 | A | main | sales | answered after 30 s, ends 09:12 |
    /// | 3 | 09:20:00 | A | main | support | cancelled while ringing after 3 s (short) |
    /// | 4 | 09:40:00 | A | main | — | abandoned in the menu after 40 s |
    /// | 5 | 10:00:00 | B | sales-line | sales | voicemail, ends 10:01:30 |
    /// | 6 | 10:00:30 | B | sales-line | sales | answered after 5 s, ends 10:03:00 |
    /// | 7 | 10:01:00 | B | — | — | denied at once (blocklist), no duration |
    /// | 8 | 10:30:00 | A | main | — | abandoned in a queue after 65 s, 60 s queued |
    ///
    /// Calls 5, 6 and 7 are up together at 10:01:00.
    fn calls() -> Vec<InboundCall> {
        use Disposition::{Abandoned, Answered, Cancelled, Denied, Voicemail};
        vec![
            in_group("sales", answered_after(12, call(9, 0, 0, 300, Answered))),
            in_group("sales", answered_after(30, call(9, 10, 0, 120, Answered))),
            in_group("support", call(9, 20, 0, 3, Cancelled)),
            InboundCall {
                abandoned_stage: Some(Stage::Ivr),
                ..call(9, 40, 0, 40, Abandoned)
            },
            in_group(
                "sales",
                on_b(Some("sales-line"), call(10, 0, 0, 90, Voicemail)),
            ),
            in_group(
                "sales",
                on_b(
                    Some("sales-line"),
                    answered_after(5, call(10, 0, 30, 150, Answered)),
                ),
            ),
            on_b(None, call(10, 1, 0, 0, Denied)),
            InboundCall {
                abandoned_stage: Some(Stage::Queue),
                queue_wait_secs: 60,
                ..call(10, 30, 0, 65, Abandoned)
            },
        ]
    }

    fn hours(pairs: &[(usize, u64)]) -> [u64; 24] {
        let mut by_hour = [0; 24];
        for &(hour, n) in pairs {
            by_hour[hour] = n;
        }
        by_hour
    }

    fn report(calls: &[InboundCall], by: Option<GroupBy>) -> InboundReport {
        inbound_report(
            calls,
            DAY,
            by,
            &InboundOptions::default(),
            &UtcOffsets::utc(),
        )
    }

    #[test]
    fn the_total_follows_the_formulas_of_the_design() {
        let calls = calls();
        let report = report(&calls, None);
        assert!(report.groups.is_empty());
        assert_eq!(
            report.total,
            InboundFigures {
                offered: 8,
                answered: 3,
                missed: 5,
                abandoned: 3,
                abandoned_by_stage: AbandonedByStage {
                    ringing: 1,
                    ivr: 1,
                    queue: 1
                },
                short_abandons: 1,
                // (12 + 30 + 5) / 3
                asa_secs: Some(47.0 / 3.0),
                queued: 1,
                avg_queue_wait_secs: Some(60.0),
                // Calls 1 (12 s) and 6 (5 s); call 2 waited 30 s.
                answered_within: 2,
                // 2 / (8 − 1)
                service_level: Some(2.0 / 7.0),
                // 4 calls from 09:00 and 4 from 10:00: the earliest hour wins the tie.
                peak_hour: Some(PeakHour {
                    hour: 9,
                    offered: 4
                }),
                offered_by_hour: hours(&[(9, 4), (10, 4)]),
                max_concurrent: 3,
            }
        );
        assert_eq!(
            (report.service_level_secs, report.short_abandon_secs),
            (20, 5)
        );
        assert!(!report.received);
        assert_eq!(report.timezone, "UTC");
    }

    #[test]
    fn thresholds_are_inclusive_and_can_be_changed() {
        let calls = calls();
        let options = InboundOptions {
            received: false,
            // Call 2's 30 s wait is now within; a 3 s abandon is no longer short.
            service_level_secs: 30,
            short_abandon_secs: 2,
        };
        let report = inbound_report(&calls, DAY, None, &options, &UtcOffsets::utc());
        assert_eq!(report.total.answered_within, 3);
        assert_eq!(report.total.short_abandons, 0);
        assert_eq!(report.total.service_level, Some(3.0 / 8.0));
        let exactly = InboundOptions {
            service_level_secs: 12,
            short_abandon_secs: 3,
            ..options
        };
        let report = inbound_report(&calls, DAY, None, &exactly, &UtcOffsets::utc());
        assert_eq!(report.total.answered_within, 2, "12 s is within 12 s");
        assert_eq!(report.total.short_abandons, 1, "3 s is within 3 s");
    }

    #[test]
    fn by_did_and_by_route_each_call_counts_once() {
        let calls = calls();
        let by_did = report(&calls, Some(GroupBy::Did));
        let keys: Vec<Option<&str>> = by_did.groups.iter().map(|g| g.key.as_deref()).collect();
        assert_eq!(keys, [Some(DID_A), Some(DID_B)]);
        assert_eq!(
            by_did.groups[0].figures,
            InboundFigures {
                offered: 5,
                answered: 2,
                missed: 3,
                abandoned: 3,
                abandoned_by_stage: AbandonedByStage {
                    ringing: 1,
                    ivr: 1,
                    queue: 1
                },
                short_abandons: 1,
                asa_secs: Some(21.0),
                queued: 1,
                avg_queue_wait_secs: Some(60.0),
                answered_within: 1,
                service_level: Some(0.25),
                peak_hour: Some(PeakHour {
                    hour: 9,
                    offered: 4
                }),
                offered_by_hour: hours(&[(9, 4), (10, 1)]),
                max_concurrent: 1,
            }
        );
        assert_eq!(
            by_did.groups[1].figures,
            InboundFigures {
                offered: 3,
                answered: 1,
                missed: 2,
                asa_secs: Some(5.0),
                answered_within: 1,
                service_level: Some(1.0 / 3.0),
                peak_hour: Some(PeakHour {
                    hour: 10,
                    offered: 3
                }),
                offered_by_hour: hours(&[(10, 3)]),
                max_concurrent: 3,
                ..InboundFigures::default()
            }
        );

        let by_route = report(&calls, Some(GroupBy::Route));
        let summary: Vec<(Option<&str>, u64, u64, u64)> = by_route
            .groups
            .iter()
            .map(|g| {
                let f = &g.figures;
                (g.key.as_deref(), f.offered, f.answered, f.max_concurrent)
            })
            .collect();
        assert_eq!(
            summary,
            [
                (Some("main"), 5, 2, 1),
                (Some("sales-line"), 2, 1, 2),
                (None, 1, 0, 1),
            ]
        );
        let offered: u64 = by_route.groups.iter().map(|g| g.figures.offered).sum();
        assert_eq!(offered, by_route.total.offered);
    }

    #[test]
    fn by_group_the_calls_that_reached_none_come_last() {
        let calls = calls();
        let report = report(&calls, Some(GroupBy::Group));
        let keys: Vec<Option<&str>> = report.groups.iter().map(|g| g.key.as_deref()).collect();
        assert_eq!(keys, [Some("sales"), Some("support"), None]);
        let sales = &report.groups[0].figures;
        assert_eq!(
            (sales.offered, sales.answered, sales.missed, sales.abandoned),
            (4, 3, 1, 0)
        );
        assert_eq!(
            (sales.asa_secs, sales.service_level, sales.max_concurrent),
            (Some(47.0 / 3.0), Some(0.5), 2)
        );
        assert_eq!(
            sales.peak_hour,
            Some(PeakHour {
                hour: 9,
                offered: 2
            })
        );
        // One call, a short abandon: nothing left to measure the service level on.
        let support = &report.groups[1].figures;
        assert_eq!(
            (support.offered, support.abandoned, support.short_abandons),
            (1, 1, 1)
        );
        assert_eq!(support.abandoned_by_stage.ringing, 1);
        assert_eq!((support.service_level, support.asa_secs), (None, None));
        let none = &report.groups[2].figures;
        assert_eq!(
            (none.offered, none.answered, none.abandoned, none.queued),
            (3, 0, 2, 1)
        );
        assert_eq!((none.service_level, none.max_concurrent), (Some(0.0), 1));
    }

    #[test]
    fn a_period_without_calls_has_no_ratios_and_no_peak_hour() {
        let calls = calls();
        let later = Period {
            since_ms: Some(DAY_START + 86_400_000),
            until_ms: None,
        };
        let report = inbound_report(
            &calls,
            later,
            Some(GroupBy::Did),
            &InboundOptions::default(),
            &UtcOffsets::utc(),
        );
        assert_eq!(report.total, InboundFigures::default());
        assert!(report.groups.is_empty());
    }

    /// Europe/London in 2026: GMT, BST from 29 March 01:00 UTC, GMT from 25 October 01:00
    /// UTC.
    fn london() -> UtcOffsets {
        UtcOffsets::new(
            "Europe/London",
            0,
            vec![
                OffsetChange {
                    at_ms: 1_792_890_000_000,
                    offset_secs: 0,
                },
                OffsetChange {
                    at_ms: 1_774_746_000_000,
                    offset_secs: 3_600,
                },
            ],
        )
    }

    fn offered_at(utc_ms: i64) -> InboundCall {
        InboundCall {
            started_at_ms: utc_ms,
            ended_at_ms: utc_ms + MIN,
            ..call(0, 0, 0, 0, Disposition::NoAnswer)
        }
    }

    #[test]
    fn the_repeated_hour_of_the_autumn_change_is_one_clock_hour() {
        // 2026-10-25: 01:00–02:00 is lived twice in London (BST, then GMT).
        let day = 1_792_886_400_000;
        let calls = [
            offered_at(day + 20 * MIN),            // 01:20 BST
            offered_at(day + 40 * MIN),            // 01:40 BST
            offered_at(day + HOUR + 30 * MIN),     // 01:30 GMT
            offered_at(day + 3 * HOUR + 10 * MIN), // 03:10 GMT
            offered_at(day + 3 * HOUR + 40 * MIN), // 03:40 GMT
        ];
        let period = Period {
            since_ms: Some(day - HOUR),
            until_ms: Some(day + 24 * HOUR),
        };
        let clock = london();
        let report = inbound_report(&calls, period, None, &InboundOptions::default(), &clock);
        assert_eq!(
            report.total.peak_hour,
            Some(PeakHour {
                hour: 1,
                offered: 3
            })
        );
        assert_eq!(report.total.offered_by_hour, hours(&[(1, 3), (3, 2)]));
        assert_eq!(report.timezone, "Europe/London");
        // Read in UTC, the same calls peak elsewhere.
        let utc = inbound_report(
            &calls,
            period,
            None,
            &InboundOptions::default(),
            &UtcOffsets::utc(),
        );
        assert_eq!(utc.total.offered_by_hour, hours(&[(0, 2), (1, 1), (3, 2)]));
        assert_eq!(utc.total.peak_hour.map(|p| p.hour), Some(0));
    }

    #[test]
    fn the_skipped_hour_of_the_spring_change_counts_nothing() {
        // 2026-03-29: London's clocks go from 01:00 GMT to 02:00 BST.
        let day = 1_774_742_400_000;
        let calls = [
            offered_at(day + 30 * MIN),        // 00:30 GMT
            offered_at(day + HOUR + 30 * MIN), // 02:30 BST
            offered_at(day + HOUR + 45 * MIN), // 02:45 BST
        ];
        let report = inbound_report(
            &calls,
            Period::ALL,
            None,
            &InboundOptions::default(),
            &london(),
        );
        assert_eq!(report.total.offered_by_hour, hours(&[(0, 1), (2, 2)]));
        assert_eq!(
            report.total.peak_hour,
            Some(PeakHour {
                hour: 2,
                offered: 2
            })
        );
    }

    #[test]
    fn offsets_apply_from_the_instant_of_their_change() {
        let clock = london();
        assert_eq!(clock.offset_secs_at(1_774_746_000_000 - 1), 0);
        assert_eq!(clock.offset_secs_at(1_774_746_000_000), 3_600);
        assert_eq!(clock.offset_secs_at(1_792_890_000_000 - 1), 3_600);
        assert_eq!(clock.offset_secs_at(1_792_890_000_000), 0);
        // Half-hour zones and times before 1970 read their local hour too.
        let india = UtcOffsets::fixed("Asia/Kolkata", 5 * 3_600 + 1_800);
        assert_eq!(india.local_hour(DAY_START + 19 * HOUR + 29 * MIN), 0);
        assert_eq!(india.local_hour(DAY_START + 18 * HOUR + 29 * MIN), 23);
        assert_eq!(UtcOffsets::utc().local_hour(-1), 23);
    }

    /// A call up from `from` to `to` minutes into the day.
    fn up(from: i64, to: i64) -> InboundCall {
        InboundCall {
            started_at_ms: DAY_START + from * MIN,
            ended_at_ms: DAY_START + to * MIN,
            ..call(0, 0, 0, 0, Disposition::Answered)
        }
    }

    fn most_at_once(calls: &[InboundCall], period: Period) -> (u64, u64) {
        let report = inbound_report(
            calls,
            period,
            None,
            &InboundOptions::default(),
            &UtcOffsets::utc(),
        );
        (report.total.max_concurrent, report.total.offered)
    }

    #[test]
    fn calls_that_touch_do_not_overlap_and_an_instant_call_is_up() {
        let period = Period::ALL;
        assert_eq!(most_at_once(&[up(0, 1), up(1, 2)], period), (1, 2));
        assert_eq!(most_at_once(&[up(0, 2), up(1, 3)], period), (2, 2));
        // A call of no duration inside another overlaps it; at its very end it does not.
        assert_eq!(most_at_once(&[up(0, 2), up(1, 1)], period), (2, 2));
        assert_eq!(most_at_once(&[up(0, 2), up(2, 2)], period), (1, 2));
        assert_eq!(most_at_once(&[up(1, 1)], period), (1, 1));
        assert_eq!(most_at_once(&[], period), (0, 0));
    }

    #[test]
    fn calls_still_up_when_the_period_starts_count_only_for_concurrency() {
        let period = Period {
            since_ms: Some(DAY_START + 60 * MIN),
            until_ms: Some(DAY_START + 120 * MIN),
        };
        // Up from 00:30 to 01:10, and one from 01:05: two at once, one offered.
        assert_eq!(most_at_once(&[up(30, 70), up(65, 80)], period), (2, 1));
        // Ended when the period began: not up in it.
        assert_eq!(most_at_once(&[up(30, 60), up(65, 80)], period), (1, 1));
        // Started when the period ended: neither offered nor up in it.
        assert_eq!(most_at_once(&[up(100, 130), up(120, 130)], period), (1, 1));
        // A carried-in call shows in its group, offering nothing.
        let carried = InboundCall {
            did: Some(DID_B.into()),
            ..up(30, 70)
        };
        let report = inbound_report(
            [&carried],
            period,
            Some(GroupBy::Did),
            &InboundOptions::default(),
            &UtcOffsets::utc(),
        );
        assert_eq!(report.groups.len(), 1);
        assert_eq!(
            (
                report.groups[0].figures.offered,
                report.groups[0].figures.max_concurrent,
                report.groups[0].figures.peak_hour
            ),
            (0, 1, None)
        );
    }

    /// An inbound call from a trunk: a time condition, a menu, then group `sales` and, on no
    /// answer, group `support`; answered 20 s in.
    fn escalated_record(direction: Direction) -> CallRecord {
        let call = CallId("c1".into());
        let at = |ms: i64, kind: EventKind| CallEvent {
            call: call.clone(),
            at_ms: DAY_START + ms,
            kind,
        };
        let step = |kind: StepKind, name: &str, result: &str| EventKind::Step {
            kind,
            name: name.into(),
            result: result.into(),
        };
        let events = [
            at(
                0,
                EventKind::Started {
                    direction,
                    caller: Party {
                        number: "+447700900123".into(),
                        name: None,
                    },
                    callee: Party {
                        number: DID_A.into(),
                        name: None,
                    },
                    sip_call_id: "sip-c1".into(),
                },
            ),
            at(
                0,
                EventKind::Inbound {
                    trunk: "carrier-a".into(),
                    did: DID_A.into(),
                    route: Some("main".into()),
                    vip: false,
                    language: None,
                },
            ),
            at(0, step(StepKind::TimeCondition, "office-hours", "open")),
            at(0, step(StepKind::Ivr, "main", "entered")),
            at(0, EventKind::Stage { stage: Stage::Ivr }),
            at(4_000, step(StepKind::Digit, "main", "1 → group:sales")),
            at(4_000, step(StepKind::Group, "sales", "ringing 2 members")),
            at(
                14_000,
                step(StepKind::Escalation, "sales", "no answer → group:support"),
            ),
            at(14_000, step(StepKind::Group, "support", "ringing 1 member")),
            at(
                14_000,
                EventKind::LegCreated {
                    leg: LegId(1),
                    role: LegRole::Callee,
                    target: "205".into(),
                    contact: None,
                    trunk: None,
                    rate: None,
                },
            ),
            at(20_000, EventKind::Answered { leg: LegId(1) }),
            at(
                80_000,
                EventKind::Ended {
                    reason: EndReason::Hangup,
                    hangup_by: HangupSide::Caller,
                    status: None,
                },
            ),
        ];
        record_of(events)
    }

    #[test]
    fn a_record_gives_the_columns_the_metrics_read() {
        let record = escalated_record(Direction::Inbound);
        assert_eq!(reached_group(&record.path), Some("support"));
        assert_eq!(
            InboundCall::from_record(&record, false),
            Some(InboundCall {
                started_at_ms: DAY_START,
                answered_at_ms: Some(DAY_START + 20_000),
                ended_at_ms: DAY_START + 80_000,
                disposition: Disposition::Answered,
                abandoned_stage: None,
                queue_wait_secs: 0,
                did: Some(DID_A.into()),
                route: Some("main".into()),
                group: Some("support".into()),
            })
        );
        // Internal calls count only as received calls; outbound ones never.
        let internal = escalated_record(Direction::Internal);
        assert_eq!(InboundCall::from_record(&internal, false), None);
        assert!(InboundCall::from_record(&internal, true).is_some());
        let outbound = escalated_record(Direction::Outbound);
        assert_eq!(InboundCall::from_record(&outbound, true), None);
        assert_eq!(reached_group(&[]), None);
    }

    #[test]
    fn grouping_names_parse_back() {
        for by in GroupBy::ALL {
            assert_eq!(GroupBy::parse(by.as_str()), Some(by));
        }
        assert_eq!(GroupBy::parse("trunk"), None);
    }

    #[cfg(feature = "serde")]
    #[test]
    fn a_report_reads_as_json() {
        let calls = calls();
        let report = report(&calls, Some(GroupBy::Group));
        let json = serde_json::to_value(&report).expect("a report serialises");
        assert_eq!(json["by"], "group");
        assert_eq!(json["received"], false);
        assert_eq!(json["service_level_secs"], 20);
        assert_eq!(json["timezone"], "UTC");
        assert_eq!(json["total"]["offered"], 8);
        assert_eq!(json["total"]["service_level"], 2.0 / 7.0);
        assert_eq!(
            json["total"]["abandoned_by_stage"],
            serde_json::json!({ "ringing": 1, "ivr": 1, "queue": 1 })
        );
        assert_eq!(
            json["total"]["peak_hour"],
            serde_json::json!({ "hour": 9, "offered": 4 })
        );
        assert_eq!(json["total"]["offered_by_hour"][10], 4);
        assert_eq!(json["groups"][0]["key"], "sales");
        assert_eq!(json["groups"][1]["service_level"], serde_json::Value::Null);
        assert_eq!(json["groups"][2]["key"], serde_json::Value::Null);
    }
}
