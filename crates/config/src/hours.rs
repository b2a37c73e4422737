//! Weekly hours such as `mon-fri 09:00-17:30`: when a class of service allows a destination
//! class (and, later, when a time condition is open). Times are wall-clock times in
//! `[site] timezone`; the routing code resolves them against the zone (DST included).

use std::fmt;

/// One span of weekly hours: on `days`, from `start` to `end` (minutes after midnight).
/// `end` may be 1440 (`24:00`); a span whose end is before its start runs past midnight
/// into the next day (`fri 22:00-06:00` covers Friday night to Saturday 06:00).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WeeklyHours {
    /// Bit 0 = Monday ... bit 6 = Sunday.
    pub days: u8,
    pub start_minute: u16,
    pub end_minute: u16,
}

impl WeeklyHours {
    pub const DAY_NAMES: [&'static str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

    /// Whether `day` (0 = Monday) is one of the span's days.
    pub fn on(&self, day: u8) -> bool {
        day < 7 && self.days & (1 << day) != 0
    }
}

impl fmt::Display for WeeklyHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days: Vec<&str> = (0..7)
            .filter(|d| self.on(*d))
            .map(|d| WeeklyHours::DAY_NAMES[usize::from(d)])
            .collect();
        write!(
            f,
            "{} {:02}:{:02}-{:02}:{:02}",
            days.join(","),
            self.start_minute / 60,
            self.start_minute % 60,
            self.end_minute / 60,
            self.end_minute % 60
        )
    }
}
