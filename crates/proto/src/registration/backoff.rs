//! How long to wait before trying a failed registration again.

use std::time::Duration;

/// Exponential back-off after consecutive failures: `first`, doubling each time, never more
/// than `ceiling`, with up to `jitter_percent` % taken off at random so that many trunks
/// failing together (a carrier outage, a network cut) do not all retry in the same second.
/// A success resets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The wait after the first failure (default 30 s).
    pub first: Duration,
    /// The longest wait (default 30 min).
    pub ceiling: Duration,
    /// At most this share of the wait is taken off at random (default 10; 0 for an exact
    /// schedule).
    pub jitter_percent: u8,
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff {
            first: Duration::from_secs(30),
            ceiling: Duration::from_secs(30 * 60),
            jitter_percent: 10,
        }
    }
}

impl Backoff {
    /// The wait after `failures` consecutive failures (1 for the first), with `draw` (a
    /// uniformly random number) choosing the jitter.
    pub fn delay(&self, failures: u32, draw: u64) -> Duration {
        let doublings = failures.saturating_sub(1).min(31);
        let base = self
            .first
            .saturating_mul(1 << doublings)
            .min(self.ceiling.max(self.first));
        let spread_ms = u64::try_from(base.as_millis()).unwrap_or(u64::MAX) / 100
            * u64::from(self.jitter_percent.min(100));
        let cut_ms = draw % spread_ms.saturating_add(1);
        base.saturating_sub(Duration::from_millis(cut_ms))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::Backoff;

    #[test]
    fn doubles_from_thirty_seconds_to_thirty_minutes_without_jitter() {
        let backoff = Backoff {
            jitter_percent: 0,
            ..Backoff::default()
        };
        let waits: Vec<u64> = (1..=9).map(|n| backoff.delay(n, 12345).as_secs()).collect();
        assert_eq!(waits, [30, 60, 120, 240, 480, 960, 1800, 1800, 1800]);
        assert_eq!(backoff.delay(u32::MAX, 0), Duration::from_secs(1800));
    }

    #[test]
    fn jitter_only_shortens_the_wait_by_at_most_its_share() {
        let backoff = Backoff::default();
        for draw in [0, 1, 2_999, 3_000, 3_001, u64::MAX] {
            let wait = backoff.delay(1, draw);
            assert!(
                wait <= Duration::from_secs(30) && wait >= Duration::from_secs(27),
                "{draw}: {wait:?}"
            );
        }
        assert_eq!(backoff.delay(1, 0), Duration::from_secs(30));
        assert_eq!(backoff.delay(1, 3_000), Duration::from_secs(27));
    }
}
