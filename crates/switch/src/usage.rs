//! What each extension has been doing on outbound calls — calls up now, calls started in the
//! last minute and since local midnight, money spent today — and which extensions are
//! blocked: the live state class-of-service limits and fraud caps are checked against
//! (`crossbar_routing::Live`).
//!
//! "Today" is the site's local day: the counts start again at local midnight in
//! `[site] timezone` (daylight saving included).

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant, SystemTime};

use crossbar_cdr::Money;
use jiff::Timestamp;
use jiff::tz::TimeZone;

const MINUTE: Duration = Duration::from_secs(60);

/// One extension's outbound activity.
#[derive(Debug, Default)]
struct Activity {
    calls_now: u32,
    /// Start times of the calls of the last minute.
    recent: VecDeque<Instant>,
    calls_today: u32,
    spend_today: Money,
}

/// Outbound usage per extension, and blocks.
#[derive(Debug)]
pub(crate) struct Usage {
    zone: TimeZone,
    /// The local date the `today` counts are for.
    day: Option<jiff::civil::Date>,
    extensions: HashMap<String, Activity>,
    blocked: HashSet<String>,
    /// Blocks made here that the database may not hold yet, with when they were made: a
    /// read of the database from before the write does not undo them.
    fresh_blocks: HashMap<String, Instant>,
}

/// How long a block made here survives reads of the database that do not show it yet.
const WRITE_GRACE: Duration = Duration::from_secs(10);

/// What an extension's usage says now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Snapshot {
    pub(crate) blocked: bool,
    pub(crate) calls_now: u32,
    pub(crate) calls_last_minute: u32,
    pub(crate) calls_today: u32,
    pub(crate) spend_today: Money,
}

impl Usage {
    pub(crate) fn new(zone: TimeZone) -> Usage {
        Usage {
            zone,
            day: None,
            extensions: HashMap::new(),
            blocked: HashSet::new(),
            fresh_blocks: HashMap::new(),
        }
    }

    /// The local date at `wall`.
    fn date(&self, wall: SystemTime) -> Option<jiff::civil::Date> {
        let timestamp = Timestamp::try_from(wall).ok()?;
        Some(timestamp.to_zoned(self.zone.clone()).date())
    }

    /// Starts a new local day when `wall` is past midnight.
    fn roll(&mut self, wall: SystemTime) {
        let Some(today) = self.date(wall) else {
            return;
        };
        if self.day != Some(today) {
            if self.day.is_some() {
                for activity in self.extensions.values_mut() {
                    activity.calls_today = 0;
                    activity.spend_today = Money::ZERO;
                }
            }
            self.day = Some(today);
        }
    }

    /// The extension's usage as of `now`/`wall`.
    pub(crate) fn of(&self, number: &str, now: Instant, wall: SystemTime) -> Snapshot {
        let blocked = self.blocked.contains(number);
        let Some(activity) = self.extensions.get(number) else {
            return Snapshot {
                blocked,
                ..Snapshot::default()
            };
        };
        let last_minute = activity
            .recent
            .iter()
            .rev()
            .take_while(|at| now.saturating_duration_since(**at) < MINUTE)
            .count();
        let same_day = self.day.is_some() && self.day == self.date(wall);
        Snapshot {
            blocked,
            calls_now: activity.calls_now,
            calls_last_minute: u32::try_from(last_minute).unwrap_or(u32::MAX),
            calls_today: if same_day { activity.calls_today } else { 0 },
            spend_today: if same_day {
                activity.spend_today
            } else {
                Money::ZERO
            },
        }
    }

    /// An outbound call of `number` started (it was routed to trunks).
    pub(crate) fn started(&mut self, number: &str, now: Instant, wall: SystemTime) {
        self.roll(wall);
        let activity = self.extensions.entry(number.to_owned()).or_default();
        while activity
            .recent
            .front()
            .is_some_and(|at| now.saturating_duration_since(*at) >= MINUTE)
        {
            activity.recent.pop_front();
        }
        activity.calls_now += 1;
        activity.recent.push_back(now);
        activity.calls_today += 1;
    }

    /// An outbound call of `number` ended, having cost `cost`.
    pub(crate) fn ended(&mut self, number: &str, cost: Money, wall: SystemTime) {
        self.roll(wall);
        if let Some(activity) = self.extensions.get_mut(number) {
            activity.calls_now = activity.calls_now.saturating_sub(1);
            activity.spend_today = activity.spend_today + cost;
        }
    }

    /// What the database remembers of today (crossbar restarted during the day).
    pub(crate) fn restore(
        &mut self,
        number: &str,
        calls_today: u32,
        spend_today: Money,
        wall: SystemTime,
    ) {
        self.roll(wall);
        let activity = self.extensions.entry(number.to_owned()).or_default();
        activity.calls_today = activity.calls_today.max(calls_today);
        activity.spend_today = activity.spend_today.max(spend_today);
    }

    /// Blocks `number` (a fraud cap tripped); whether it was not blocked already.
    pub(crate) fn block(&mut self, number: &str, now: Instant) -> bool {
        let new = self.blocked.insert(number.to_owned());
        if new {
            self.fresh_blocks.insert(number.to_owned(), now);
        }
        new
    }

    /// Replaces the blocked set with the database's (releases take effect), keeping blocks
    /// made here in the last few seconds that the database does not show yet.
    pub(crate) fn set_blocked(&mut self, mut blocked: HashSet<String>, now: Instant) {
        self.fresh_blocks.retain(|number, at| {
            !blocked.contains(number) && now.saturating_duration_since(*at) < WRITE_GRACE
        });
        blocked.extend(self.fresh_blocks.keys().cloned());
        self.blocked = blocked;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone() -> TimeZone {
        TimeZone::get("Europe/London").expect("the bundled zone database knows London")
    }

    #[test]
    fn calls_of_the_last_minute_and_of_the_local_day_are_counted() {
        let t0 = Instant::now();
        // 2026-07-01 22:30 UTC = 23:30 in London (BST).
        let wall = SystemTime::UNIX_EPOCH + Duration::from_secs(1_782_945_000);
        let mut usage = Usage::new(zone());
        usage.started("201", t0, wall);
        usage.started(
            "201",
            t0 + Duration::from_secs(30),
            wall + Duration::from_secs(30),
        );
        usage.ended("201", Money(50_000), wall + Duration::from_secs(40));
        let now = usage.of(
            "201",
            t0 + Duration::from_secs(61),
            wall + Duration::from_secs(61),
        );
        assert_eq!(
            (now.calls_now, now.calls_last_minute, now.calls_today),
            (1, 1, 2)
        );
        assert_eq!(now.spend_today, Money(50_000));
        // 23:00 UTC is midnight in London: a new day.
        let after_midnight = wall + Duration::from_secs(31 * 60);
        let next_day = usage.of("201", t0 + Duration::from_secs(31 * 60), after_midnight);
        assert_eq!(
            (next_day.calls_today, next_day.spend_today),
            (0, Money::ZERO)
        );
        assert_eq!(next_day.calls_now, 1, "the call still up stays counted");
    }

    #[test]
    fn a_fresh_block_survives_a_database_read_from_before_its_write() {
        let t0 = Instant::now();
        let mut usage = Usage::new(TimeZone::UTC);
        assert!(usage.block("201", t0));
        assert!(!usage.block("201", t0), "already blocked");
        // The database does not show the block yet: it holds.
        usage.set_blocked(HashSet::new(), t0 + Duration::from_secs(1));
        assert!(usage.of("201", t0, SystemTime::UNIX_EPOCH).blocked);
        // Once the database showed it, a release there releases it here.
        usage.set_blocked(
            HashSet::from(["201".to_owned()]),
            t0 + Duration::from_secs(2),
        );
        usage.set_blocked(HashSet::new(), t0 + Duration::from_secs(4));
        assert!(!usage.of("201", t0, SystemTime::UNIX_EPOCH).blocked);
        assert!(
            usage.block("201", t0 + Duration::from_secs(5)),
            "released, so it can trip again"
        );
    }
}
