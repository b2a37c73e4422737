//! Time conditions (`[[time_condition]]`): whether the business is open now, read on the local
//! time in `[site] timezone` (DST included: jiff resolves the offset in force at the instant).
//! In order, the first that applies decides:
//!
//! 1. a manual override from the live state ([`crate::Live::time_condition_override`]);
//! 2. a dated exception for today's local date: open exactly within its hours (times of day;
//!    a span whose end is not after its start runs to midnight: the hours after midnight
//!    belong to the next date, which has its own rules); no hours: closed all day;
//! 3. a holiday on today's local date (a date, an inclusive range of dates, or a month and day
//!    every year): closed;
//! 4. the weekly hours `open` (a span past midnight covers the next morning, as for time rules
//!    of classes of service).

use std::fmt;

use crossbar_config::{CivilDate, DatedHours, Destination, Holiday, TimeCondition, WeeklyHours};
use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::error::PlanError;
use crate::live::Live;
use crate::policy::LocalTime;

/// A `[[time_condition]]` compiled.
#[derive(Debug, Clone)]
pub(crate) struct TimeConditionPlan {
    pub name: String,
    open: Vec<WeeklyHours>,
    holidays: Vec<Holiday>,
    exceptions: Vec<DatedHours>,
    pub when_open: Destination,
    pub when_closed: Destination,
}

/// A time condition's verdict and why, as the route path shows it: `open (mon-fri
/// 09:00-17:30)`, `closed (holiday 2026-12-25)`, `open (override)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Verdict {
    pub open: bool,
    pub why: String,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = if self.open { "open" } else { "closed" };
        write!(f, "{state} ({})", self.why)
    }
}

impl TimeConditionPlan {
    /// Checks the dates (`time_condition[N]` is `key`) and keeps the rest as written.
    pub fn compile(condition: &TimeCondition, key: &str) -> Result<TimeConditionPlan, PlanError> {
        let invalid = |field: &str, message: String| PlanError::InvalidValue {
            key: format!("{key}.{field}"),
            message,
        };
        for holiday in &condition.holidays {
            match holiday {
                Holiday::Date(date) => {
                    check_date(date).map_err(|m| invalid("holidays", m))?;
                }
                Holiday::Range { from, to } => {
                    check_date(from).map_err(|m| invalid("holidays", m))?;
                    check_date(to).map_err(|m| invalid("holidays", m))?;
                    if from > to {
                        return Err(invalid(
                            "holidays",
                            format!("the range {} ends before it starts", HolidayText(holiday)),
                        ));
                    }
                }
                Holiday::Yearly { month, day } => {
                    // 2024 is a leap year: 02-29 is a day that exists in some years.
                    check_date(&CivilDate {
                        year: 2024,
                        month: *month,
                        day: *day,
                    })
                    .map_err(|_| {
                        invalid(
                            "holidays",
                            format!("{month:02}-{day:02} is not a day of the year"),
                        )
                    })?;
                }
            }
        }
        for exception in &condition.exceptions {
            check_date(&exception.date).map_err(|m| invalid("exceptions", m))?;
        }
        Ok(TimeConditionPlan {
            name: condition.name.clone(),
            open: condition.open.clone(),
            holidays: condition.holidays.clone(),
            exceptions: condition.exceptions.clone(),
            when_open: condition.when_open.clone(),
            when_closed: condition.when_closed.clone(),
        })
    }

    /// Open or closed at `at`, and why (the module's order).
    pub fn verdict(&self, at: Timestamp, zone: &TimeZone, live: &dyn Live) -> Verdict {
        if let Some(open) = live.time_condition_override(&self.name) {
            return Verdict {
                open,
                why: "override".to_owned(),
            };
        }
        let civil = zone.to_datetime(at);
        let today = CivilDate {
            year: civil.year(),
            month: u8::try_from(civil.month()).expect("a month is 1..=12"),
            day: u8::try_from(civil.day()).expect("a day is 1..=31"),
        };
        let local = LocalTime::of(at, zone);

        if let Some(exception) = self.exceptions.iter().find(|e| e.date == today) {
            let date = DateText(&exception.date);
            if exception.hours.is_empty() {
                return Verdict {
                    open: false,
                    why: format!("exception {date}: closed all day"),
                };
            }
            let open = exception
                .hours
                .iter()
                .any(|span| within_time_of_day(local.minute, span));
            let hours: Vec<String> = exception.hours.iter().map(time_of_day).collect();
            return Verdict {
                open,
                why: format!("exception {date}: {}", hours.join(", ")),
            };
        }

        if let Some(holiday) = self.holidays.iter().find(|h| falls_on(h, today)) {
            return Verdict {
                open: false,
                why: format!("holiday {}", HolidayText(holiday)),
            };
        }

        if let Some(span) = self.open.iter().find(|span| local.within(span)) {
            return Verdict {
                open: true,
                why: hours_text(span),
            };
        }
        let why = if self.open.is_empty() {
            format!("no open hours; it is {local}")
        } else {
            let hours: Vec<String> = self.open.iter().map(hours_text).collect();
            format!("outside {}; it is {local}", hours.join(", "))
        };
        Verdict { open: false, why }
    }
}

fn check_date(date: &CivilDate) -> Result<(), String> {
    let month = i8::try_from(date.month).ok();
    let day = i8::try_from(date.day).ok();
    match (month, day) {
        (Some(month), Some(day)) if jiff::civil::Date::new(date.year, month, day).is_ok() => Ok(()),
        _ => Err(format!("{} is not a date", DateText(date))),
    }
}

fn falls_on(holiday: &Holiday, today: CivilDate) -> bool {
    match holiday {
        Holiday::Date(date) => *date == today,
        Holiday::Range { from, to } => (*from..=*to).contains(&today),
        Holiday::Yearly { month, day } => today.month == *month && today.day == *day,
    }
}

/// Whether `minute` (of the day) is within the times of `span`, its days ignored. A span
/// whose end is not after its start runs to midnight.
fn within_time_of_day(minute: u16, span: &WeeklyHours) -> bool {
    if span.start_minute < span.end_minute {
        (span.start_minute..span.end_minute).contains(&minute)
    } else {
        minute >= span.start_minute
    }
}

/// `mon-fri 09:00-17:30`: runs of three days or more written as ranges (`fri-mon` over the
/// weekend), others listed (`mon,wed`, `sat,sun`).
pub(crate) fn hours_text(span: &WeeklyHours) -> String {
    let names = WeeklyHours::DAY_NAMES;
    let days = if (0..7).all(|d| span.on(d)) {
        "mon-sun".to_owned()
    } else {
        // From Monday; a run over the weekend (`fri-mon`) from its first day, so it stays whole.
        let start = if span.on(0) && span.on(6) {
            (0..7u8).rev().find(|&d| !span.on(d)).map_or(0, |d| d + 1)
        } else {
            0
        };
        let mut parts: Vec<String> = Vec::new();
        let mut run: Vec<u8> = Vec::new();
        for offset in 0..=7u8 {
            let day = (start + offset) % 7;
            if offset < 7 && span.on(day) {
                run.push(day);
                continue;
            }
            match run.as_slice() {
                [] => {}
                [first, .., last] if run.len() >= 3 => parts.push(format!(
                    "{}-{}",
                    names[usize::from(*first)],
                    names[usize::from(*last)]
                )),
                days => parts.extend(days.iter().map(|d| names[usize::from(*d)].to_owned())),
            }
            run.clear();
        }
        parts.join(",")
    };
    format!("{days} {}", time_of_day(span))
}

fn time_of_day(span: &WeeklyHours) -> String {
    format!(
        "{:02}:{:02}-{:02}:{:02}",
        span.start_minute / 60,
        span.start_minute % 60,
        span.end_minute / 60,
        span.end_minute % 60
    )
}

/// `2026-12-25`.
struct DateText<'a>(&'a CivilDate);

impl fmt::Display for DateText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02}",
            self.0.year, self.0.month, self.0.day
        )
    }
}

/// `2026-12-25`, `2026-12-24..2026-12-31`, `every 12-25`.
struct HolidayText<'a>(&'a Holiday);

impl fmt::Display for HolidayText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Holiday::Date(date) => DateText(date).fmt(f),
            Holiday::Range { from, to } => write!(f, "{}..{}", DateText(from), DateText(to)),
            Holiday::Yearly { month, day } => write!(f, "every {month:02}-{day:02}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exception_span_past_midnight_runs_to_the_end_of_its_date() {
        let span = WeeklyHours {
            days: 0,
            start_minute: 22 * 60,
            end_minute: 2 * 60,
        };
        assert!(within_time_of_day(23 * 60, &span));
        assert!(!within_time_of_day(60, &span));
        assert_eq!(time_of_day(&span), "22:00-02:00");
    }

    #[test]
    fn weekly_hours_are_written_with_day_ranges() {
        let text = |t: &str| hours_text(&t.parse().expect("hours"));
        assert_eq!(text("mon-fri 09:00-17:30"), "mon-fri 09:00-17:30");
        assert_eq!(text("mon-sun 00:00-24:00"), "mon-sun 00:00-24:00");
        assert_eq!(text("fri-mon 10:00-14:00"), "fri-mon 10:00-14:00");
        assert_eq!(text("mon,wed,fri 09:00-12:00"), "mon,wed,fri 09:00-12:00");
        assert_eq!(text("sat,sun 10:00-12:00"), "sat,sun 10:00-12:00");
        assert_eq!(text("mon-wed,fri 09:00-12:00"), "mon-wed,fri 09:00-12:00");
        assert_eq!(text("sun 22:00-06:00"), "sun 22:00-06:00");
        assert_eq!(text("sat-mon,wed 09:00-12:00"), "sat-mon,wed 09:00-12:00");
    }

    #[test]
    fn holidays_are_written_as_configured() {
        let date = CivilDate {
            year: 2026,
            month: 12,
            day: 25,
        };
        assert_eq!(HolidayText(&Holiday::Date(date)).to_string(), "2026-12-25");
        assert_eq!(
            HolidayText(&Holiday::Yearly { month: 1, day: 1 }).to_string(),
            "every 01-01"
        );
        assert!(check_date(&CivilDate { day: 32, ..date }).is_err());
        assert!(check_date(&CivilDate { month: 0, ..date }).is_err());
    }
}
