//! Virtual time: the monotonic [`Instant`] the machines' timers run on and the wall clock
//! (nonces, binding expiry, call records) moved together, so a 32-second Timer B or six hours
//! of registration refreshes take microseconds and every run sees the same times.

use std::time::{Duration, Instant, SystemTime};

/// The wall clock at the start of a [`Clock::new`]: 2027-01-15T08:00:00Z.
pub const WALL_START_UNIX: u64 = 1_800_000_000;

/// A virtual clock. Only [`Clock::advance`] and [`Clock::advance_to`] move it, and they move
/// both clocks by the same amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock {
    start: Instant,
    now: Instant,
    wall_start: SystemTime,
}

impl Default for Clock {
    fn default() -> Clock {
        Clock::new()
    }
}

impl Clock {
    /// A clock whose wall time starts at [`WALL_START_UNIX`].
    pub fn new() -> Clock {
        Clock::starting_at(SystemTime::UNIX_EPOCH + Duration::from_secs(WALL_START_UNIX))
    }

    /// A clock whose wall time starts at `wall`.
    pub fn starting_at(wall: SystemTime) -> Clock {
        // An `Instant` can only be had from the OS; its value is never looked at, only the
        // differences from it, so the run is the same whenever it happens.
        let start = Instant::now();
        Clock {
            start,
            now: start,
            wall_start: wall,
        }
    }

    pub fn now(&self) -> Instant {
        self.now
    }

    /// The wall clock: its start plus [`Clock::elapsed`].
    pub fn wall(&self) -> SystemTime {
        self.wall_start + self.elapsed()
    }

    /// The wall clock in whole seconds since the Unix epoch.
    pub fn unix(&self) -> i64 {
        let secs = self
            .wall()
            .duration_since(SystemTime::UNIX_EPOCH)
            .expect("the virtual wall clock starts after 1970")
            .as_secs();
        i64::try_from(secs).expect("the virtual wall clock stays within i64 seconds")
    }

    /// The instant the clock started at.
    pub fn start(&self) -> Instant {
        self.start
    }

    /// How long the clock has run.
    pub fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    /// The instant `offset` after the start.
    pub fn at(&self, offset: Duration) -> Instant {
        self.start + offset
    }

    pub fn advance(&mut self, by: Duration) {
        self.now += by;
    }

    /// Moves the clock to `to`; it never goes back.
    ///
    /// # Panics
    /// When `to` is before now.
    pub fn advance_to(&mut self, to: Instant) {
        assert!(
            to >= self.now,
            "the virtual clock only moves forward ({:?} is before {:?})",
            to - self.start,
            self.elapsed()
        );
        self.now = to;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wall_clock_moves_with_the_virtual_one() {
        let mut clock = Clock::new();
        assert_eq!(clock.unix(), 1_800_000_000);
        clock.advance(Duration::from_millis(90_500));
        assert_eq!(clock.elapsed(), Duration::from_millis(90_500));
        assert_eq!(clock.unix(), 1_800_000_090);
        clock.advance_to(clock.at(Duration::from_secs(100)));
        assert_eq!(clock.unix(), 1_800_000_100);
    }

    #[test]
    #[should_panic(expected = "only moves forward")]
    fn the_clock_never_goes_back() {
        let mut clock = Clock::new();
        clock.advance(Duration::from_secs(2));
        clock.advance_to(clock.at(Duration::from_secs(1)));
    }
}
