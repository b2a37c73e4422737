//! Weekly hours such as `mon-fri 09:00-17:30`: when a class of service allows a destination
//! class, and when a time condition is open. Times are wall-clock times in
//! `[site] timezone`; the routing code resolves them against the zone (DST included).
//!
//! Syntax: `DAYS HH:MM-HH:MM`, where `DAYS` is a comma-separated list of days (`mon` ... `sun`)
//! and day ranges (`mon-fri`; `fri-mon` wraps over the weekend), and the times are 24-hour
//! `00:00` to `24:00`. Examples: `mon-fri 09:00-17:30`, `mon,wed,fri 09:00-12:00`,
//! `sat 10:00-14:00`, `sun 22:00-06:00` (past midnight, into Monday), `mon-sun 00:00-24:00`.

use std::fmt;
use std::str::FromStr;

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

/// Why a text is not weekly hours.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not weekly hours: {problem} (e.g. \"mon-fri 09:00-17:30\")")]
pub struct WeeklyHoursError {
    pub text: String,
    pub problem: String,
}

impl FromStr for WeeklyHours {
    type Err = WeeklyHoursError;

    fn from_str(text: &str) -> Result<WeeklyHours, WeeklyHoursError> {
        let error = |problem: String| WeeklyHoursError {
            text: text.to_owned(),
            problem,
        };
        let trimmed = text.trim();
        let Some((days, times)) = trimmed.split_once(char::is_whitespace) else {
            return Err(error("expected days, a space and hours".to_owned()));
        };
        let days = parse_days(days).map_err(error)?;
        let (start_minute, end_minute) = parse_time_span(times).map_err(error)?;
        Ok(WeeklyHours {
            days,
            start_minute,
            end_minute,
        })
    }
}

/// `HH:MM-HH:MM` → start and end in minutes after midnight; the end may be before the start
/// (past midnight) but not equal to it, and the start is not `24:00`.
pub(crate) fn parse_time_span(text: &str) -> Result<(u16, u16), String> {
    let (start, end) = text
        .trim()
        .split_once('-')
        .ok_or_else(|| format!("`{}` is not a span of hours HH:MM-HH:MM", text.trim()))?;
    let start_minute = parse_time(start)?;
    let end_minute = parse_time(end)?;
    if start_minute == 24 * 60 {
        return Err("a span cannot start at 24:00 (write 00:00 on the next day)".to_owned());
    }
    if start_minute == end_minute {
        return Err(
            "the span is empty: start and end are the same (for a whole day write 00:00-24:00)"
                .to_owned(),
        );
    }
    Ok((start_minute, end_minute))
}

/// `mon-fri`, `mon,wed,fri`, `sat`, `fri-mon` → bit set (bit 0 = Monday).
fn parse_days(text: &str) -> Result<u8, String> {
    let day = |name: &str| -> Result<u8, String> {
        let lower = name.to_ascii_lowercase();
        WeeklyHours::DAY_NAMES
            .iter()
            .position(|d| *d == lower)
            .map(|i| u8::try_from(i).expect("seven days"))
            .ok_or_else(|| {
                format!(
                    "`{name}` is not a day: use {}",
                    WeeklyHours::DAY_NAMES.join(", ")
                )
            })
    };
    let mut days = 0u8;
    for item in text.split(',') {
        let item = item.trim();
        if item.is_empty() {
            return Err(format!("`{text}` has an empty day (stray comma?)"));
        }
        match item.split_once('-') {
            Some((first, last)) => {
                let (first, last) = (day(first.trim())?, day(last.trim())?);
                let mut d = first;
                loop {
                    days |= 1 << d;
                    if d == last {
                        break;
                    }
                    d = (d + 1) % 7;
                }
            }
            None => days |= 1 << day(item)?,
        }
    }
    Ok(days)
}

/// `HH:MM`, `00:00` to `24:00` → minutes after midnight.
fn parse_time(text: &str) -> Result<u16, String> {
    let text = text.trim();
    let invalid = || format!("`{text}` is not a time HH:MM between 00:00 and 24:00");
    let (hours, minutes) = text.split_once(':').ok_or_else(invalid)?;
    let two_digits = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit());
    if !(two_digits(hours) || hours.len() == 1 && two_digits(&format!("0{hours}")))
        || !two_digits(minutes)
    {
        return Err(invalid());
    }
    let hours: u16 = hours.parse().map_err(|_| invalid())?;
    let minutes: u16 = minutes.parse().map_err(|_| invalid())?;
    if minutes > 59 || hours > 24 || hours == 24 && minutes > 0 {
        return Err(invalid());
    }
    Ok(hours * 60 + minutes)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn hours(text: &str) -> WeeklyHours {
        text.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn day_ranges_lists_and_single_days() {
        let weekdays = hours("mon-fri 09:00-17:30");
        assert_eq!(weekdays.days, 0b001_1111);
        assert_eq!((weekdays.start_minute, weekdays.end_minute), (540, 1050));
        assert_eq!(hours("mon,wed,fri 09:00-12:00").days, 0b001_0101);
        assert_eq!(hours("sat 10:00-14:00").days, 0b010_0000);
        assert_eq!(hours("Sat-Sun 10:00-14:00").days, 0b110_0000);
        // A range that runs over the end of the week wraps.
        assert_eq!(hours("fri-mon 10:00-14:00").days, 0b111_0001);
        assert_eq!(hours("mon-sun 00:00-24:00").days, 0b111_1111);
        assert_eq!(hours("mon-sun 00:00-24:00").end_minute, 1440);
        assert_eq!(hours("mon 9:00-17:00").start_minute, 540);
    }

    #[test]
    fn a_span_ending_before_it_starts_runs_past_midnight() {
        let night = hours("sun 22:00-06:00");
        assert!(night.on(6));
        assert_eq!((night.start_minute, night.end_minute), (1320, 360));
    }

    #[test]
    fn displays_in_the_form_it_is_written() {
        assert_eq!(
            hours("mon,wed,fri 09:00-12:00").to_string(),
            "mon,wed,fri 09:00-12:00"
        );
    }

    #[test]
    fn malformed_hours_say_what_is_wrong() {
        for (text, problem) in [
            ("mon-fri", "expected days, a space and hours"),
            ("mon-fry 09:00-17:00", "`fry` is not a day"),
            ("mon 09:00", "not a span of hours"),
            ("mon 09:00-25:00", "`25:00` is not a time"),
            ("mon 09:60-10:00", "`09:60` is not a time"),
            ("mon 24:00-06:00", "cannot start at 24:00"),
            ("mon 09:00-09:00", "the span is empty"),
            ("mon,,tue 09:00-10:00", "empty day"),
            ("mon 0900-1000", "not a time"),
        ] {
            let error = text.parse::<WeeklyHours>().expect_err(text);
            assert!(error.problem.contains(problem), "{text}: {error}");
        }
    }
}
