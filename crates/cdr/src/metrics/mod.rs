//! Metrics over call records (DESIGN.md §2), pure: the figures both the reports (`crossbar
//! report`, `/api/reports/...`) and the dashboard read, computed here once so that they
//! cannot disagree. Each report takes the calls of a [`Period`] — as records, or as the few
//! columns of them it needs — and returns its figures; nothing here reads a clock or a
//! database.
//!
//! - [`inbound`]: received calls — offered, answered, missed, abandoned (by stage), short
//!   abandons, ASA, queue wait, service level, peak hour, max concurrent; in all, or per DID,
//!   inbound route or ring group.
//! - [`outbound`]: outgoing calls — attempts, connected, ASR, ACD, PDD, minutes, cost by
//!   destination class, failovers, failures, denied attempts by reason; in all, or per
//!   extension, trunk or destination class.
//! - [`queues`]: queue calls — offered, answered, abandoned (short ones apart), ASA, queue
//!   wait, service level per queue, overflows, callbacks taken; each agent's offers, talk,
//!   wrap-up, login and pause time, occupancy; callback completion and time to callback.

pub mod inbound;
pub mod outbound;
pub mod queues;

/// A span of time calls are counted in, by the time they started: from `since_ms`
/// (inclusive) to `until_ms` (exclusive), unix milliseconds; an open end is unbounded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Period {
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
}

impl Period {
    /// Every call, whenever it started.
    pub const ALL: Period = Period {
        since_ms: None,
        until_ms: None,
    };

    /// Whether a call that started at `started_at_ms` is in the period.
    pub fn contains(&self, started_at_ms: i64) -> bool {
        self.since_ms.is_none_or(|since| started_at_ms >= since)
            && self.until_ms.is_none_or(|until| started_at_ms < until)
    }
}

/// `part ÷ whole`, or `None` when there is nothing to divide by.
fn ratio(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// The mean of values summing to `sum` over `count` of them, or `None` for none.
fn mean(sum: i64, count: u64) -> Option<f64> {
    (count > 0).then(|| sum as f64 / count as f64)
}

/// The record `events` fold into (test fixtures of the reports).
#[cfg(test)]
pub(crate) fn record_of(
    events: impl IntoIterator<Item = crate::event::CallEvent>,
) -> crate::record::CallRecord {
    let mut recorder = crate::record::Recorder::default();
    events
        .into_iter()
        .find_map(|e| match recorder.record(e) {
            Some(crate::record::RecorderOutput::Finished(r)) => Some(*r),
            _ => None,
        })
        .expect("the call ends")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_period_includes_its_start_and_excludes_its_end() {
        let day = Period {
            since_ms: Some(1_000),
            until_ms: Some(2_000),
        };
        assert!(!day.contains(999));
        assert!(day.contains(1_000));
        assert!(day.contains(1_999));
        assert!(!day.contains(2_000));
        assert!(Period::ALL.contains(i64::MIN));
        assert!(
            Period {
                since_ms: Some(0),
                until_ms: None
            }
            .contains(i64::MAX)
        );
    }

    #[test]
    fn ratios_and_means_of_nothing_are_none() {
        assert_eq!(ratio(1, 4), Some(0.25));
        assert_eq!(ratio(0, 0), None);
        assert_eq!(mean(90, 2), Some(45.0));
        assert_eq!(mean(0, 0), None);
    }
}
