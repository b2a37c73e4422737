//! **When** frames were late, on the wall clock: late frames counted per 10 ms moment, so a
//! run's misses can be set beside what else happened then — the generator's own late packets,
//! and the stalls `crossbar-stall-probe` saw on each CPU (bench/queue.sh `PROBE=1`).
//!
//! A moment is named by the arrival of its late packets (the end of each gap); the longest
//! gap tells how far back it began.

use std::collections::BTreeMap;
use std::fmt;

/// The width of one moment.
const MOMENT_NS: u64 = 10_000_000;

/// Late frames by moment: the moment's start (ns since the Unix epoch) → what was late then.
#[derive(Debug, Clone, Default)]
pub struct Moments(BTreeMap<u64, Moment>);

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Moment {
    pub frames: u64,
    /// The longest gap or lag ending in the moment, nanoseconds.
    pub longest_ns: u64,
}

impl Moments {
    /// A frame that arrived (or left) at `wall_ns` after a gap (or lag) of `gap_ns`.
    pub fn record(&mut self, wall_ns: u64, gap_ns: u64) {
        let moment = self.0.entry(wall_ns - wall_ns % MOMENT_NS).or_default();
        moment.frames += 1;
        moment.longest_ns = moment.longest_ns.max(gap_ns);
    }

    pub fn merge(&mut self, other: &Moments) {
        for (&at, theirs) in &other.0 {
            let moment = self.0.entry(at).or_default();
            moment.frames += theirs.frames;
            moment.longest_ns = moment.longest_ns.max(theirs.longest_ns);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// One line per moment: `late kind=KIND at=SECONDS.MILLIS frames=N longest_ms=X`.
    pub fn lines<'a>(&'a self, kind: &'a str) -> impl fmt::Display + 'a {
        Lines {
            kind,
            moments: self,
        }
    }
}

struct Lines<'a> {
    kind: &'a str,
    moments: &'a Moments,
}

impl fmt::Display for Lines<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (at, moment) in &self.moments.0 {
            writeln!(
                f,
                "late kind={} at={}.{:03} frames={} longest_ms={:.1}",
                self.kind,
                at / 1_000_000_000,
                at % 1_000_000_000 / 1_000_000,
                moment.frames,
                moment.longest_ns as f64 / 1e6,
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn late_frames_in_one_10_ms_moment_count_together_with_their_longest_gap() {
        let mut moments = Moments::default();
        moments.record(1_700_000_000_123_000_000, 26_000_000);
        moments.record(1_700_000_000_129_999_999, 33_800_000);
        moments.record(1_700_000_000_130_000_000, 27_000_000);
        let mut other = Moments::default();
        other.record(1_700_000_000_121_000_000, 40_000_000);
        moments.merge(&other);
        assert_eq!(
            moments.lines("heard").to_string(),
            "late kind=heard at=1700000000.120 frames=3 longest_ms=40.0\n\
             late kind=heard at=1700000000.130 frames=1 longest_ms=27.0\n"
        );
    }
}
