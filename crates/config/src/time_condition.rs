//! `[[time_condition]]`: a destination by the time of day — open during weekly hours, closed
//! on holidays, other hours on dated exceptions — and the calendar dates these are written
//! with.

use toml::Spanned;
use toml::de::DeValue;

use crate::destination::References;
use crate::hours::{WeeklyHours, parse_time_span};
use crate::inbound::{CivilDate, DatedHours, Holiday, TimeCondition};
use crate::load::{At, Loader, Section, table_array, unique};

pub(crate) const KEYS: &[&str] = &[
    "name",
    "open",
    "holidays",
    "exceptions",
    "when_open",
    "when_closed",
];

pub(crate) const EXCEPTION_KEYS: &[&str] = &["date", "hours"];

/// The forms of a holiday, for messages.
const HOLIDAY_FORMS: &str = "a date (2026-12-25), a range of dates (2026-12-24..2026-12-31, \
     both days included) or a day every year (12-25)";

/// Every `[[time_condition]]`, and the names of all of them whose name is valid.
pub(crate) struct TimeConditions {
    pub time_conditions: Vec<TimeCondition>,
    pub names: Vec<String>,
}

pub(crate) fn parse_all(
    ld: &mut Loader<'_>,
    value: &Spanned<DeValue<'_>>,
    references: &mut References,
) -> TimeConditions {
    let mut time_conditions = Vec::new();
    let mut seen: Vec<At<String>> = Vec::new();
    for section in table_array(ld, "time_condition", value) {
        let errors_before = ld.error_count();
        let name = section.name(ld);
        if let Some(name) = &name {
            unique(
                ld,
                &mut seen,
                name.clone(),
                &section.key("name"),
                "time condition name",
            );
        }
        let time_condition = parse_one(ld, &section, name.as_ref(), references);
        if let (Some(name), Some(mut time_condition)) = (name, time_condition)
            && ld.error_count() == errors_before
        {
            time_condition.name = name.value;
            time_conditions.push(time_condition);
        }
    }
    TimeConditions {
        time_conditions,
        names: seen.into_iter().map(|s| s.value).collect(),
    }
}

fn parse_one(
    ld: &mut Loader<'_>,
    section: &Section<'_, '_>,
    name: Option<&At<String>>,
    references: &mut References,
) -> Option<TimeCondition> {
    let errors_before = ld.error_count();
    section.reject_unknown_keys(ld, KEYS);
    section.require(ld, "open");
    let mut open = Vec::new();
    if let Some(list) = section.string_array(ld, "open") {
        for item in &list.value {
            match item.value.parse::<WeeklyHours>() {
                Ok(hours) => open.push(hours),
                Err(e) => ld.error(&item.span, &section.key("open"), e.to_string()),
            }
        }
    }
    let mut holidays: Vec<Holiday> = Vec::new();
    if let Some(list) = section.string_array(ld, "holidays") {
        for item in &list.value {
            match parse_holiday(item.value) {
                Ok(holiday) if holidays.contains(&holiday) => ld.error(
                    &item.span,
                    &section.key("holidays"),
                    format!("`{}` is listed twice", item.value),
                ),
                Ok(holiday) => holidays.push(holiday),
                Err(message) => ld.error(&item.span, &section.key("holidays"), message),
            }
        }
    }
    let mut exceptions: Vec<At<DatedHours>> = Vec::new();
    if let Some(tables) = section.tables(ld, "exceptions") {
        for table in &tables.value {
            let Some(exception) = exception(ld, table) else {
                continue;
            };
            if let Some(first) = exceptions
                .iter()
                .find(|e| e.value.date == exception.value.date)
            {
                let (line, _) = ld.position(first.span.start);
                ld.error(
                    &exception.span,
                    &table.key("date"),
                    format!(
                        "{} already has an exception (line {line}): give it one, with all its \
                         hours",
                        exception.value.date
                    ),
                );
            } else {
                exceptions.push(exception);
            }
        }
    }
    let this = name.map(|n| crate::Destination::TimeCondition(n.value.clone()));
    section.require(ld, "when_open");
    section.require(ld, "when_closed");
    let when_open = references.read(ld, section, "when_open", this.as_ref());
    let when_closed = references.read(ld, section, "when_closed", this.as_ref());
    let (when_open, when_closed) = (when_open?, when_closed?);
    (ld.error_count() == errors_before).then(|| TimeCondition {
        name: String::new(),
        open,
        holidays,
        exceptions: exceptions.into_iter().map(|e| e.value).collect(),
        when_open,
        when_closed,
    })
}

/// One of `exceptions = [{ date = "2026-12-24", hours = ["09:00-12:00"] }]`, with where its
/// date is written.
fn exception(ld: &mut Loader<'_>, section: &Section<'_, '_>) -> Option<At<DatedHours>> {
    let errors_before = ld.error_count();
    section.reject_unknown_keys(ld, EXCEPTION_KEYS);
    section.require(ld, "date");
    section.require(ld, "hours");
    let date = section
        .string(ld, "date")
        .and_then(|date| match parse_date(date.value) {
            Ok(value) => Some(At {
                value,
                span: date.span,
            }),
            Err(message) => {
                let message = if parse_holiday(date.value).is_ok() {
                    format!(
                        "`{}`: an exception is for one date, written YYYY-MM-DD (e.g. \
                         2026-12-24); a range or a yearly day is a holiday",
                        date.value
                    )
                } else {
                    message
                };
                ld.error(&date.span, &section.key("date"), message);
                None
            }
        });
    let mut hours = Vec::new();
    if let Some(list) = section.string_array(ld, "hours") {
        for item in &list.value {
            match exception_hours(item.value) {
                Ok(span) => hours.push(span),
                Err(message) => ld.error(&item.span, &section.key("hours"), message),
            }
        }
    }
    let date = date?;
    (ld.error_count() == errors_before).then_some(At {
        value: DatedHours {
            date: date.value,
            hours,
        },
        span: date.span,
    })
}

/// `09:00-12:00`: times of day on the exception's date, without days; a span ends on the
/// same day (`24:00` at the latest).
fn exception_hours(text: &str) -> Result<WeeklyHours, String> {
    let example = "e.g. \"09:00-12:00\"";
    if text.trim().contains(char::is_whitespace) || text.contains(char::is_alphabetic) {
        return Err(format!(
            "`{text}`: an exception's hours are times of day without days ({example}); the \
             exception's date is its day"
        ));
    }
    let (start_minute, end_minute) =
        parse_time_span(text).map_err(|problem| format!("`{text}`: {problem} ({example})"))?;
    if end_minute < start_minute {
        return Err(format!(
            "`{text}` runs past midnight: an exception's hours end on its date (write \
             ...-24:00, and an exception for the next date)"
        ));
    }
    Ok(WeeklyHours {
        days: 0b111_1111,
        start_minute,
        end_minute,
    })
}

/// `2026-12-25`, `2026-12-24..2026-12-31` or `12-25`.
fn parse_holiday(text: &str) -> Result<Holiday, String> {
    if let Some((from, to)) = text.split_once("..") {
        let from = parse_date(from.trim()).map_err(|e| in_range(text, &e))?;
        let to = parse_date(to.trim()).map_err(|e| in_range(text, &e))?;
        if from > to {
            return Err(format!(
                "`{text}`: the range ends before it starts (write {to}..{from})"
            ));
        }
        return Ok(Holiday::Range { from, to });
    }
    let parts: Vec<&str> = text.split('-').collect();
    match parts.as_slice() {
        [month, day] if month.len() == 2 => {
            let (month, day) = month_day(text, month, day, None)?;
            Ok(Holiday::Yearly { month, day })
        }
        [_, _, _] => parse_date(text).map(Holiday::Date),
        _ => Err(format!("`{text}` is not a holiday: write {HOLIDAY_FORMS}")),
    }
}

fn in_range(range: &str, problem: &str) -> String {
    format!("in the range `{range}`: {problem}")
}

/// `YYYY-MM-DD`, a real calendar date.
pub(crate) fn parse_date(text: &str) -> Result<CivilDate, String> {
    let shape = || format!("`{text}` is not a date: write YYYY-MM-DD (e.g. 2026-12-25)");
    let parts: Vec<&str> = text.split('-').collect();
    let [year, month, day] = parts.as_slice() else {
        return Err(shape());
    };
    if year.len() != 4 || !year.bytes().all(|b| b.is_ascii_digit()) {
        return Err(shape());
    }
    let year: i16 = year.parse().map_err(|_| shape())?;
    if year == 0 {
        return Err(format!("`{text}` is not a date: there is no year 0"));
    }
    let (month, day) = month_day(text, month, day, Some(year))?;
    Ok(CivilDate { year, month, day })
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// `MM` and `DD` of `text`, a real day of the month (of `year`, or of some year).
fn month_day(text: &str, month: &str, day: &str, year: Option<i16>) -> Result<(u8, u8), String> {
    let two_digits = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit());
    if !two_digits(month) || !two_digits(day) {
        return Err(format!(
            "`{text}` is not a date: write YYYY-MM-DD, or MM-DD for every year, with two-digit \
             months and days"
        ));
    }
    let month: u8 = month.parse().expect("two digits");
    let day: u8 = day.parse().expect("two digits");
    if !(1..=12).contains(&month) {
        return Err(format!(
            "`{text}` is not a date: months are 01 to 12, found {month:02}"
        ));
    }
    let name = MONTHS[usize::from(month - 1)];
    let last = days_in_month(year, month);
    if day == 0 || day > last {
        let when = match year {
            Some(year) => format!("{name} {year} has {last} days"),
            None => format!("{name} has at most {last} days"),
        };
        return Err(format!("`{text}` is not a date: {when}"));
    }
    Ok((month, day))
}

/// Days in `month` of `year` (proleptic Gregorian); of a leap year when the year is unknown.
fn days_in_month(year: Option<i16>, month: u8) -> u8 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 => match year {
            Some(y) if !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)) => 28,
            _ => 29,
        },
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(year: i16, month: u8, day: u8) -> CivilDate {
        CivilDate { year, month, day }
    }

    #[test]
    fn holidays_are_dates_ranges_or_yearly_days() {
        assert_eq!(
            parse_holiday("2026-12-25"),
            Ok(Holiday::Date(date(2026, 12, 25)))
        );
        assert_eq!(
            parse_holiday("2026-12-24..2027-01-02"),
            Ok(Holiday::Range {
                from: date(2026, 12, 24),
                to: date(2027, 1, 2)
            })
        );
        assert_eq!(
            parse_holiday("12-25"),
            Ok(Holiday::Yearly { month: 12, day: 25 })
        );
        assert_eq!(
            parse_holiday("02-29"),
            Ok(Holiday::Yearly { month: 2, day: 29 })
        );
        assert_eq!(
            parse_holiday("2028-02-29"),
            Ok(Holiday::Date(date(2028, 2, 29)))
        );
        assert_eq!(
            parse_holiday("2000-02-29"),
            Ok(Holiday::Date(date(2000, 2, 29)))
        );
    }

    #[test]
    fn dates_that_are_not_on_the_calendar_are_refused() {
        for (text, problem) in [
            ("2026-02-30", "February 2026 has 28 days"),
            ("2026-02-29", "February 2026 has 28 days"),
            ("1900-02-29", "February 1900 has 28 days"),
            ("2026-04-31", "April 2026 has 30 days"),
            ("2026-13-01", "months are 01 to 12"),
            ("2026-00-10", "months are 01 to 12"),
            ("2026-01-00", "January 2026 has 31 days"),
            ("02-30", "February has at most 29 days"),
            ("2026-1-5", "two-digit months and days"),
            ("26-12-25", "write YYYY-MM-DD"),
            ("0000-01-01", "no year 0"),
            ("christmas", "is not a holiday"),
            ("2026-12-31..2026-12-24", "ends before it starts"),
            ("2026-12-24..12-31", "in the range"),
            ("12/25", "is not a holiday"),
        ] {
            let error = parse_holiday(text).expect_err(text);
            assert!(error.contains(problem), "{text}: {error}");
        }
    }

    #[test]
    fn holidays_contain_their_days() {
        let range = parse_holiday("2026-12-24..2027-01-02").unwrap();
        assert!(range.contains(date(2026, 12, 24)));
        assert!(range.contains(date(2027, 1, 2)));
        assert!(!range.contains(date(2027, 1, 3)));
        let yearly = parse_holiday("12-25").unwrap();
        assert!(yearly.contains(date(2031, 12, 25)));
        assert!(!yearly.contains(date(2031, 12, 26)));
        assert_eq!(range.to_string(), "2026-12-24..2027-01-02");
        assert_eq!(yearly.to_string(), "12-25");
    }

    #[test]
    fn exception_hours_are_times_of_one_day() {
        let hours = exception_hours("09:00-12:00").unwrap();
        assert_eq!((hours.start_minute, hours.end_minute), (540, 720));
        assert_eq!(exception_hours("18:00-24:00").unwrap().end_minute, 1440);
        for (text, problem) in [
            ("mon 09:00-12:00", "without days"),
            ("22:00-02:00", "runs past midnight"),
            ("09:00", "not a span of hours"),
            ("09:00-09:00", "the span is empty"),
            ("9:00-25:00", "`25:00` is not a time"),
        ] {
            let error = exception_hours(text).expect_err(text);
            assert!(error.contains(problem), "{text}: {error}");
        }
    }
}
