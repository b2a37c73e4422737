//! Outbound metrics (DESIGN.md §2 "Outbound"): how effective and how costly the calls sent
//! out through trunks were, over a [`Period`], in all or per extension, trunk or destination
//! class ([`GroupBy`]).
//!
//! # Which calls count
//!
//! The outbound calls of a period are the calls that started in it and either have the
//! direction `outbound` or reached the outbound routes (their record has an outbound part:
//! an inbound call forwarded to a mobile keeps `inbound` but its trip out through a trunk
//! counts in trunk usage and cost, DESIGN.md §1). Each falls in exactly one of:
//!
//! - **denied**: blocked by policy (disposition `denied`: class of service, time rule, fraud
//!   cap...), counted by reason (the record's `disposition_detail`). Never offered to the
//!   network, so not an attempt and not in the ASR.
//! - **unrouted**: not denied, yet no trunk leg was ever placed (no outbound route matched,
//!   no trunk could take it). Not offered to the network either: counted apart, not in the ASR.
//! - **attempt**: offered to the network — at least one trunk leg was placed (an INVITE
//!   sent to a carrier), however many trunks it then failed over to. This is the ASR's
//!   denominator, as a carrier's "seizures" are (ITU-T E.411).
//!
//! # The figures (per call: the total, and groups by extension or class)
//!
//! - **attempts**, as above; **connected**: attempts that were answered;
//! - **ASR** = connected ÷ attempts (`None` without attempts);
//! - **ACD** (average talk time) = mean `talk_secs` over connected calls;
//! - **average PDD** = mean post-dial delay over the attempts that got a ring (first trunk
//!   INVITE → first 180/183, failovers included);
//! - **talk_secs** and **minutes** (talk_secs ÷ 60) of the connected calls;
//! - **cost** = sum of the calls' costs (each from the rate of the trunk that answered, with
//!   its increments; zero unless answered), and the same **split by destination class**;
//! - **failovers** = Σ (trunk legs − 1) over attempts;
//! - **failures** = attempts whose disposition is `failed` (every trunk failed, a network or
//!   protocol error, interrupted before an answer) — not those the callee ended (busy, no
//!   answer, rejected) nor those the caller gave up (cancelled);
//! - **unrouted**, **denied** and **denied by reason**, as above.
//!
//! # Per trunk: an attempt is a trunk leg
//!
//! Grouped by trunk (DESIGN.md §2 "route/trunk usage"), each trunk leg counts for the trunk
//! it was sent to: **attempts** = legs sent to it; **connected** = its legs that answered
//! (with the call's talk time, minutes and cost); **failures** = its legs that failed on the
//! network side, i.e. ended with a final status ≥ 300 other than the callee's or caller's
//! doing (486/600 busy, 603 declined, 480/408 not answered, 487 cancelled); **failovers** = its
//! legs after which the call went on to another leg (the call failed over *from* it); the
//! average PDD is per leg (its INVITE → its first 180/183). So the trunks' attempts add up to
//! the total's attempts plus failovers, and their failovers to the total's. The calls that
//! never reached a trunk (denied, unrouted) make a group with no key, so the groups add up
//! to the whole.

use std::collections::BTreeMap;
use std::fmt;

use super::{Period, mean, ratio};
use crate::event::{Direction, LegRole};
use crate::record::{CallRecord, Disposition, LegRecord};
use crate::tariff::{DestinationClass, Money};

/// What an outbound report groups its calls by, besides the total.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize),
    serde(rename_all = "snake_case")
)]
pub enum GroupBy {
    /// The caller: the extension (or number) that placed the call.
    Extension,
    /// The trunk each leg went through (an attempt is then a trunk leg).
    Trunk,
    /// The destination class of the number called.
    Class,
}

impl GroupBy {
    pub const ALL: [GroupBy; 3] = [GroupBy::Extension, GroupBy::Trunk, GroupBy::Class];

    pub fn as_str(self) -> &'static str {
        match self {
            GroupBy::Extension => "extension",
            GroupBy::Trunk => "trunk",
            GroupBy::Class => "class",
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

/// What the outbound metrics read of one call: a few columns of its record (the store
/// returns these without reading whole records; [`OutboundCall::from_record`] makes one from
/// a record).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundCall {
    pub started_at_ms: i64,
    /// The caller's number: the extension that placed the call.
    pub caller: String,
    pub disposition: Disposition,
    /// Why a `denied` call was denied (the record's `disposition_detail`).
    pub disposition_detail: Option<String>,
    pub talk_secs: u32,
    /// The class of the number called; `None` for a call denied before it was routed.
    pub class: Option<DestinationClass>,
    /// Trunk legs placed (the record's `outbound.attempts`; 0 when none or not routed).
    pub trunk_attempts: u32,
    /// Post-dial delay of the call (`outbound.pdd_ms`).
    pub pdd_ms: Option<i64>,
    /// What the call cost (`outbound.cost`).
    pub cost: Money,
    /// Its trunk legs in the order they were placed; only the per-trunk figures read them
    /// (the store may leave them out otherwise).
    pub trunk_legs: Vec<TrunkLeg>,
}

/// One leg of a call toward a trunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrunkLeg {
    pub trunk: String,
    pub answered: bool,
    /// The leg's final SIP status, when known.
    pub final_status: Option<u16>,
    /// Its INVITE → its first 180/183, if it rang.
    pub pdd_ms: Option<i64>,
}

impl TrunkLeg {
    /// The trunk leg a leg of a record is, if it went to a trunk.
    pub fn of(leg: &LegRecord) -> Option<TrunkLeg> {
        if leg.role != LegRole::Callee {
            return None;
        }
        Some(TrunkLeg {
            trunk: leg.trunk.clone()?,
            answered: leg.answered_at_ms.is_some(),
            final_status: leg.final_status,
            pdd_ms: leg
                .ringing_at_ms
                .map(|rang| (rang - leg.created_at_ms).max(0)),
        })
    }

    /// Whether the leg failed on the network side: it ended unanswered with a final status
    /// ≥ 300 that is not the callee's or the caller's doing (486/600 busy, 603 declined,
    /// 480/408 not answered, 487 cancelled).
    pub fn failed(&self) -> bool {
        !self.answered
            && self
                .final_status
                .is_some_and(|s| s >= 300 && !matches!(s, 486 | 600 | 603 | 480 | 408 | 487))
    }
}

impl OutboundCall {
    /// Whether a call is outbound for these metrics: its direction is `outbound`, or it
    /// reached the outbound routes (`routed`: its record has an outbound part).
    pub fn counts(direction: Direction, routed: bool) -> bool {
        direction == Direction::Outbound || routed
    }

    /// The columns of `record` the metrics read, or `None` if it is not an outbound call.
    pub fn from_record(record: &CallRecord) -> Option<OutboundCall> {
        let out = record.outbound.as_ref();
        if !OutboundCall::counts(record.direction, out.is_some()) {
            return None;
        }
        let trunk_legs = record.legs.iter().filter_map(TrunkLeg::of).collect();
        Some(OutboundCall {
            started_at_ms: record.started_at_ms,
            caller: record.caller.number.clone(),
            disposition: record.disposition,
            disposition_detail: record.disposition_detail.clone(),
            talk_secs: record.timings.talk_secs,
            class: out.map(|o| o.class),
            trunk_attempts: out.map_or(0, |o| o.attempts),
            pdd_ms: out.and_then(|o| o.pdd_ms),
            cost: out.map_or(Money::ZERO, |o| o.cost),
            trunk_legs,
        })
    }
}

/// The figures of a set of outbound calls (see the module documentation for each one's
/// exact meaning). Ratios and means are `None` when there is nothing to divide by.
#[derive(Debug, Clone, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct OutboundFigures {
    pub attempts: u64,
    pub connected: u64,
    /// Answer-seizure ratio: connected ÷ attempts, from 0 to 1.
    pub asr: Option<f64>,
    /// Average call duration: mean talk seconds of the connected calls.
    pub acd_secs: Option<f64>,
    /// Mean post-dial delay, milliseconds.
    pub avg_pdd_ms: Option<f64>,
    /// Talk time of the connected calls.
    pub talk_secs: u64,
    /// The same in minutes.
    pub minutes: f64,
    /// In millionths of the site's currency unit.
    #[cfg_attr(feature = "serde", serde(rename = "cost_micros"))]
    pub cost: Money,
    #[cfg_attr(feature = "serde", serde(rename = "cost_micros_by_class"))]
    pub cost_by_class: BTreeMap<DestinationClass, Money>,
    pub failovers: u64,
    pub failures: u64,
    pub unrouted: u64,
    pub denied: u64,
    pub denied_by_reason: BTreeMap<String, u64>,
}

/// The figures of the calls that share a key.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct OutboundGroup {
    /// The extension, trunk or destination class; `None` for the calls that have none (by
    /// trunk: those that never reached a trunk; by class: those denied before routing).
    pub key: Option<String>,
    #[cfg_attr(feature = "serde", serde(flatten))]
    pub figures: OutboundFigures,
}

/// An outbound report: the period, the figures of all its outbound calls, and the same per
/// group (by key, the group without a key last) when grouped.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct OutboundReport {
    pub period: Period,
    pub by: Option<GroupBy>,
    pub total: OutboundFigures,
    pub groups: Vec<OutboundGroup>,
}

/// The description given for a denied call whose record gives no reason.
pub const UNSPECIFIED_REASON: &str = "unspecified";

/// Sums being counted, turned into figures at the end.
#[derive(Debug, Default)]
struct Tally {
    attempts: u64,
    connected: u64,
    pdd_sum_ms: i64,
    pdd_count: u64,
    talk_secs: u64,
    cost: Money,
    cost_by_class: BTreeMap<DestinationClass, Money>,
    failovers: u64,
    failures: u64,
    unrouted: u64,
    denied: u64,
    denied_by_reason: BTreeMap<String, u64>,
}

impl Tally {
    /// Counts `call` as a whole (the total, and the groups by extension or class).
    fn add_call(&mut self, call: &OutboundCall) {
        if call.disposition == Disposition::Denied {
            self.denied += 1;
            let reason = call.disposition_detail.as_deref();
            *self
                .denied_by_reason
                .entry(reason.unwrap_or(UNSPECIFIED_REASON).to_owned())
                .or_default() += 1;
            return;
        }
        if call.trunk_attempts == 0 {
            self.unrouted += 1;
            return;
        }
        self.attempts += 1;
        self.failovers += u64::from(call.trunk_attempts - 1);
        if let Some(pdd) = call.pdd_ms {
            self.add_pdd(pdd);
        }
        if call.disposition == Disposition::Answered {
            self.add_connected(call);
        }
        if call.disposition == Disposition::Failed {
            self.failures += 1;
        }
    }

    /// Counts the `index`-th trunk leg of `call` (for its trunk's group).
    fn add_leg(&mut self, call: &OutboundCall, index: usize) {
        let leg = &call.trunk_legs[index];
        self.attempts += 1;
        if index + 1 < call.trunk_legs.len() {
            self.failovers += 1;
        }
        if let Some(pdd) = leg.pdd_ms {
            self.add_pdd(pdd);
        }
        if leg.answered {
            self.add_connected(call);
        }
        if leg.failed() {
            self.failures += 1;
        }
    }

    fn add_pdd(&mut self, pdd_ms: i64) {
        self.pdd_sum_ms = self.pdd_sum_ms.saturating_add(pdd_ms.max(0));
        self.pdd_count += 1;
    }

    fn add_connected(&mut self, call: &OutboundCall) {
        self.connected += 1;
        self.talk_secs += u64::from(call.talk_secs);
        self.cost = self.cost + call.cost;
        if let Some(class) = call.class {
            let by_class = self.cost_by_class.entry(class).or_default();
            *by_class = *by_class + call.cost;
        }
    }

    fn figures(self) -> OutboundFigures {
        let talk = i64::try_from(self.talk_secs).unwrap_or(i64::MAX);
        OutboundFigures {
            attempts: self.attempts,
            connected: self.connected,
            asr: ratio(self.connected, self.attempts),
            acd_secs: mean(talk, self.connected),
            avg_pdd_ms: mean(self.pdd_sum_ms, self.pdd_count),
            talk_secs: self.talk_secs,
            minutes: self.talk_secs as f64 / 60.0,
            cost: self.cost,
            cost_by_class: self.cost_by_class,
            failovers: self.failovers,
            failures: self.failures,
            unrouted: self.unrouted,
            denied: self.denied,
            denied_by_reason: self.denied_by_reason,
        }
    }
}

/// The outbound report of the `calls` that started in `period` (others are skipped), in all
/// and, with `by`, per group.
pub fn outbound_report<'a>(
    calls: impl IntoIterator<Item = &'a OutboundCall>,
    period: Period,
    by: Option<GroupBy>,
) -> OutboundReport {
    let mut total = Tally::default();
    let mut groups: BTreeMap<Option<String>, Tally> = BTreeMap::new();
    for call in calls {
        if !period.contains(call.started_at_ms) {
            continue;
        }
        total.add_call(call);
        match by {
            None => {}
            Some(GroupBy::Extension) => groups
                .entry(Some(call.caller.clone()))
                .or_default()
                .add_call(call),
            Some(GroupBy::Class) => groups
                .entry(call.class.map(|c| c.as_str().to_owned()))
                .or_default()
                .add_call(call),
            Some(GroupBy::Trunk) if call.trunk_legs.is_empty() => {
                groups.entry(None).or_default().add_call(call);
            }
            Some(GroupBy::Trunk) => {
                for (index, leg) in call.trunk_legs.iter().enumerate() {
                    groups
                        .entry(Some(leg.trunk.clone()))
                        .or_default()
                        .add_leg(call, index);
                }
            }
        }
    }
    // `None` sorts first in a BTreeMap; the calls without a key go last.
    let (unkeyed, keyed): (Vec<_>, Vec<_>) = groups.into_iter().partition(|(k, _)| k.is_none());
    let groups = keyed
        .into_iter()
        .chain(unkeyed)
        .map(|(key, tally)| OutboundGroup {
            key,
            figures: tally.figures(),
        })
        .collect();
    OutboundReport {
        period,
        by,
        total: total.figures(),
        groups,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{CallEvent, CallId, EndReason, EventKind, HangupSide, LegId, Party};
    use crate::metrics::record_of;
    use crate::tariff::{Increment, Rate};

    /// 2026-11-21T00:00:00Z, and the day from there.
    const DAY_START: i64 = 1_795_219_200_000;
    const DAY: Period = Period {
        since_ms: Some(DAY_START),
        until_ms: Some(DAY_START + 86_400_000),
    };

    fn leg(trunk: &str, answered: bool, status: u16, pdd_ms: Option<i64>) -> TrunkLeg {
        TrunkLeg {
            trunk: trunk.into(),
            answered,
            final_status: Some(status),
            pdd_ms,
        }
    }

    /// A call by `caller` started `minute` minutes into the day.
    fn call(minute: i64, caller: &str, disposition: Disposition) -> OutboundCall {
        OutboundCall {
            started_at_ms: DAY_START + minute * 60_000,
            caller: caller.into(),
            disposition,
            disposition_detail: None,
            talk_secs: 0,
            class: Some(DestinationClass::National),
            trunk_attempts: 0,
            pdd_ms: None,
            cost: Money::ZERO,
            trunk_legs: Vec::new(),
        }
    }

    /// Seven calls of the day and one of the day before:
    ///
    /// | # | caller | class | trunk legs | outcome |
    /// |---|---|---|---|---|
    /// | 1 | 201 | national | a answers (PDD 1 s) | 90 s talk, costs 0.05 |
    /// | 2 | 201 | mobile | a 503, b answers (leg PDD 1.5 s; call PDD 2 s) | 30 s, 0.02 |
    /// | 3 | 202 | national | a 486 (PDD 0.8 s) | busy |
    /// | 4 | 202 | international | b 503, a 502 | failed |
    /// | 5 | 201 | international | — | denied: class |
    /// | 6 | 203 | (not routed) | — | denied: fraud cap |
    /// | 7 | 203 | national | — | failed: no route |
    /// | 8 | 201 | national | a answers | the day before: not counted |
    fn calls() -> Vec<OutboundCall> {
        use DestinationClass::{International, Mobile};
        use Disposition::{Answered, Busy, Denied, Failed};
        vec![
            OutboundCall {
                talk_secs: 90,
                trunk_attempts: 1,
                pdd_ms: Some(1_000),
                cost: Money(50_000),
                trunk_legs: vec![leg("carrier-a", true, 200, Some(1_000))],
                ..call(1, "201", Answered)
            },
            OutboundCall {
                class: Some(Mobile),
                talk_secs: 30,
                trunk_attempts: 2,
                pdd_ms: Some(2_000),
                cost: Money(20_000),
                trunk_legs: vec![
                    leg("carrier-a", false, 503, None),
                    leg("carrier-b", true, 200, Some(1_500)),
                ],
                ..call(2, "201", Answered)
            },
            OutboundCall {
                trunk_attempts: 1,
                pdd_ms: Some(800),
                trunk_legs: vec![leg("carrier-a", false, 486, Some(800))],
                ..call(3, "202", Busy)
            },
            OutboundCall {
                class: Some(International),
                disposition_detail: Some("SIP 502".into()),
                trunk_attempts: 2,
                trunk_legs: vec![
                    leg("carrier-b", false, 503, None),
                    leg("carrier-a", false, 502, None),
                ],
                ..call(4, "202", Failed)
            },
            OutboundCall {
                class: Some(International),
                disposition_detail: Some("class local may not dial international".into()),
                ..call(5, "201", Denied)
            },
            OutboundCall {
                class: None,
                disposition_detail: Some("fraud cap".into()),
                ..call(6, "203", Denied)
            },
            OutboundCall {
                disposition_detail: Some("no route".into()),
                ..call(7, "203", Failed)
            },
            OutboundCall {
                talk_secs: 600,
                trunk_attempts: 1,
                cost: Money(1_000_000),
                trunk_legs: vec![leg("carrier-a", true, 200, None)],
                ..call(-1, "201", Answered)
            },
        ]
    }

    fn classes(pairs: &[(DestinationClass, i64)]) -> BTreeMap<DestinationClass, Money> {
        pairs.iter().map(|&(c, m)| (c, Money(m))).collect()
    }

    fn reasons(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
        pairs.iter().map(|&(r, n)| (r.to_owned(), n)).collect()
    }

    #[test]
    fn the_total_counts_attempts_offered_to_the_network_and_denied_ones_apart() {
        let calls = calls();
        let report = outbound_report(&calls, DAY, None);
        assert!(report.groups.is_empty());
        assert_eq!(
            report.total,
            OutboundFigures {
                attempts: 4,
                connected: 2,
                asr: Some(0.5),
                acd_secs: Some(60.0),
                avg_pdd_ms: Some(3_800.0 / 3.0),
                talk_secs: 120,
                minutes: 2.0,
                cost: Money(70_000),
                cost_by_class: classes(&[
                    (DestinationClass::National, 50_000),
                    (DestinationClass::Mobile, 20_000)
                ]),
                failovers: 2,
                failures: 1,
                unrouted: 1,
                denied: 2,
                denied_by_reason: reasons(&[
                    ("class local may not dial international", 1),
                    ("fraud cap", 1)
                ]),
            }
        );
    }

    #[test]
    fn by_trunk_an_attempt_is_a_leg_and_the_calls_without_one_have_no_key() {
        let calls = calls();
        let report = outbound_report(&calls, DAY, Some(GroupBy::Trunk));
        let keys: Vec<Option<&str>> = report.groups.iter().map(|g| g.key.as_deref()).collect();
        assert_eq!(keys, [Some("carrier-a"), Some("carrier-b"), None]);
        assert_eq!(
            report.groups[0].figures,
            OutboundFigures {
                attempts: 4,
                connected: 1,
                asr: Some(0.25),
                acd_secs: Some(90.0),
                avg_pdd_ms: Some(900.0),
                talk_secs: 90,
                minutes: 1.5,
                cost: Money(50_000),
                cost_by_class: classes(&[(DestinationClass::National, 50_000)]),
                // Call 2 failed over from carrier-a.
                failovers: 1,
                // The 503 of call 2 and the 502 of call 4; the 486 of call 3 is the callee's.
                failures: 2,
                ..OutboundFigures::default()
            }
        );
        assert_eq!(
            report.groups[1].figures,
            OutboundFigures {
                attempts: 2,
                connected: 1,
                asr: Some(0.5),
                acd_secs: Some(30.0),
                avg_pdd_ms: Some(1_500.0),
                talk_secs: 30,
                minutes: 0.5,
                cost: Money(20_000),
                cost_by_class: classes(&[(DestinationClass::Mobile, 20_000)]),
                failovers: 1,
                failures: 1,
                ..OutboundFigures::default()
            }
        );
        assert_eq!(
            report.groups[2].figures,
            OutboundFigures {
                unrouted: 1,
                denied: 2,
                denied_by_reason: reasons(&[
                    ("class local may not dial international", 1),
                    ("fraud cap", 1)
                ]),
                ..OutboundFigures::default()
            }
        );
        // The trunks' legs are the calls' attempts plus their failovers.
        let legs: u64 = report.groups.iter().map(|g| g.figures.attempts).sum();
        assert_eq!(legs, report.total.attempts + report.total.failovers);
        let failovers: u64 = report.groups.iter().map(|g| g.figures.failovers).sum();
        assert_eq!(failovers, report.total.failovers);
    }

    #[test]
    fn by_class_and_by_extension_group_whole_calls() {
        let calls = calls();
        let by_class = outbound_report(&calls, DAY, Some(GroupBy::Class));
        /// Key, attempts, connected, ASR, failures, unrouted, denied.
        type Summary<'a> = (Option<&'a str>, u64, u64, Option<f64>, u64, u64, u64);
        let summary: Vec<Summary> = by_class
            .groups
            .iter()
            .map(|g| {
                let f = &g.figures;
                (
                    g.key.as_deref(),
                    f.attempts,
                    f.connected,
                    f.asr,
                    f.failures,
                    f.unrouted,
                    f.denied,
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (Some("international"), 1, 0, Some(0.0), 1, 0, 1),
                (Some("mobile"), 1, 1, Some(1.0), 0, 0, 0),
                (Some("national"), 2, 1, Some(0.5), 0, 1, 0),
                (None, 0, 0, None, 0, 0, 1),
            ]
        );
        let national = &by_class.groups[2].figures;
        assert_eq!(
            (national.acd_secs, national.avg_pdd_ms, national.cost),
            (Some(90.0), Some(900.0), Money(50_000))
        );

        let by_extension = outbound_report(&calls, DAY, Some(GroupBy::Extension));
        let keys: Vec<Option<&str>> = by_extension
            .groups
            .iter()
            .map(|g| g.key.as_deref())
            .collect();
        assert_eq!(keys, [Some("201"), Some("202"), Some("203")]);
        let alice = &by_extension.groups[0].figures;
        assert_eq!(
            (alice.attempts, alice.connected, alice.asr, alice.acd_secs),
            (2, 2, Some(1.0), Some(60.0))
        );
        assert_eq!(
            (alice.avg_pdd_ms, alice.cost, alice.failovers, alice.denied),
            (Some(1_500.0), Money(70_000), 1, 1)
        );
        let bob = &by_extension.groups[1].figures;
        assert_eq!(
            (
                bob.attempts,
                bob.connected,
                bob.asr,
                bob.acd_secs,
                bob.avg_pdd_ms
            ),
            (2, 0, Some(0.0), None, Some(800.0))
        );
        assert_eq!((bob.failures, bob.failovers, bob.cost), (1, 1, Money::ZERO));
        let carol = &by_extension.groups[2].figures;
        assert_eq!(
            (carol.attempts, carol.asr, carol.unrouted, carol.denied),
            (0, None, 1, 1)
        );
    }

    #[test]
    fn a_period_without_calls_has_no_ratios() {
        let calls = calls();
        let empty = Period {
            since_ms: Some(DAY_START + 86_400_000),
            until_ms: None,
        };
        let report = outbound_report(&calls, empty, Some(GroupBy::Trunk));
        assert_eq!(report.total, OutboundFigures::default());
        assert!(report.groups.is_empty());
        // Without bounds, the day before counts too.
        let all = outbound_report(&calls, Period::ALL, None);
        assert_eq!((all.total.attempts, all.total.talk_secs), (5, 720));
    }

    #[test]
    fn a_denied_call_without_a_reason_is_counted_as_unspecified() {
        let denied = call(0, "201", Disposition::Denied);
        let report = outbound_report([&denied], DAY, None);
        assert_eq!(
            report.total.denied_by_reason,
            reasons(&[("unspecified", 1)])
        );
    }

    #[test]
    fn legs_ended_by_the_callee_or_caller_are_not_trunk_failures() {
        for status in [486, 600, 603, 480, 408, 487] {
            assert!(!leg("a", false, status, None).failed(), "{status}");
        }
        for status in [302, 403, 404, 500, 502, 503, 504] {
            assert!(leg("a", false, status, None).failed(), "{status}");
        }
        assert!(!leg("a", true, 200, None).failed());
        let unknown = TrunkLeg {
            final_status: None,
            ..leg("a", false, 0, None)
        };
        assert!(!unknown.failed());
    }

    /// The record of an outbound call from 201: routed, carrier-a fails (503), carrier-b
    /// rings 1.5 s after its INVITE and answers; 61 s of talk at 0.06/min per second.
    fn failover_record(direction: Direction) -> CallRecord {
        let call = CallId("c1".into());
        let at = |ms: i64, kind: EventKind| CallEvent {
            call: call.clone(),
            at_ms: DAY_START + ms,
            kind,
        };
        let trunk_leg = |leg: u32, trunk: &str| EventKind::LegCreated {
            leg: LegId(leg),
            role: LegRole::Callee,
            target: "+447700900123".into(),
            contact: None,
            trunk: Some(trunk.into()),
            rate: Some(Rate {
                per_minute: Money(60_000),
                connection_fee: Money::ZERO,
                increment: Increment {
                    first_secs: 1,
                    next_secs: 1,
                },
            }),
        };
        let events = [
            at(
                0,
                EventKind::Started {
                    direction,
                    caller: Party {
                        number: "201".into(),
                        name: None,
                    },
                    callee: Party {
                        number: "07700900123".into(),
                        name: None,
                    },
                    sip_call_id: "sip-c1".into(),
                },
            ),
            at(
                5,
                EventKind::Routed {
                    dialled: "07700900123".into(),
                    normalized: "+447700900123".into(),
                    class: DestinationClass::Mobile,
                    route: None,
                    caller_id: None,
                },
            ),
            at(10, trunk_leg(1, "carrier-a")),
            at(
                110,
                EventKind::LegFailed {
                    leg: LegId(1),
                    status: 503,
                },
            ),
            at(110, trunk_leg(2, "carrier-b")),
            at(
                1_610,
                EventKind::Ringing {
                    leg: LegId(2),
                    early_media: false,
                },
            ),
            at(4_000, EventKind::Answered { leg: LegId(2) }),
            at(
                65_000,
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
        let record = failover_record(Direction::Outbound);
        let call = OutboundCall::from_record(&record).expect("an outbound call");
        assert_eq!(
            call,
            OutboundCall {
                started_at_ms: DAY_START,
                caller: "201".into(),
                disposition: Disposition::Answered,
                disposition_detail: None,
                talk_secs: 61,
                class: Some(DestinationClass::Mobile),
                trunk_attempts: 2,
                pdd_ms: Some(1_600),
                cost: Money(61_000),
                trunk_legs: vec![
                    leg("carrier-a", false, 503, None),
                    leg("carrier-b", true, 200, Some(1_500)),
                ],
            }
        );
        // An inbound call forwarded out through a trunk counts; an internal one does not.
        let forwarded = failover_record(Direction::Inbound);
        assert!(OutboundCall::from_record(&forwarded).is_some());
        let mut internal = failover_record(Direction::Internal);
        internal.outbound = None;
        assert_eq!(OutboundCall::from_record(&internal), None);
    }

    #[test]
    fn grouping_names_parse_back() {
        for by in GroupBy::ALL {
            assert_eq!(GroupBy::parse(by.as_str()), Some(by));
        }
        assert_eq!(GroupBy::parse("route"), None);
    }

    #[cfg(feature = "serde")]
    #[test]
    fn a_report_reads_as_json_with_costs_in_millionths() {
        let calls = calls();
        let report = outbound_report(&calls, DAY, Some(GroupBy::Class));
        let json = serde_json::to_value(&report).expect("a report serialises");
        assert_eq!(json["by"], "class");
        assert_eq!(json["period"]["since_ms"], DAY_START);
        assert_eq!(json["total"]["asr"], 0.5);
        assert_eq!(json["total"]["cost_micros"], 70_000);
        assert_eq!(
            json["total"]["cost_micros_by_class"],
            serde_json::json!({ "national": 50_000, "mobile": 20_000 })
        );
        assert_eq!(json["groups"][1]["key"], "mobile");
        assert_eq!(json["groups"][1]["acd_secs"], 30.0);
        assert_eq!(json["groups"][3]["key"], serde_json::Value::Null);
        assert_eq!(json["groups"][3]["asr"], serde_json::Value::Null);
    }
}
