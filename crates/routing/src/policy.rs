//! Class of service: whether an extension may place a call to a destination, now. The checks
//! run in a fixed order, and the first that fails is the reason given:
//!
//! 1. the extension is blocked (live state: a fraud cap tripped earlier);
//! 2. it has a class at all ([`DenyReason::NoClass`]);
//! 3. the class allows the destination class;
//! 4. countries, for international calls: the block list first, then the allow list when it
//!    is not empty;
//! 5. time rules naming the destination class, on the local time in `[site] timezone`;
//! 6. `max_concurrent` against the calls the extension has up;
//! 7. fraud caps: calls in the last minute, calls today, money spent today.
//!
//! Emergency calls never come here: they are always allowed.

use std::fmt;

use crossbar_cdr::{DestinationClass, Money};
use crossbar_config::{Class, WeeklyHours};
use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::live::ExtensionUsage;

/// A set of destination classes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ClassSet(u8);

impl ClassSet {
    pub fn of(classes: &[DestinationClass]) -> ClassSet {
        ClassSet(classes.iter().fold(0, |set, c| set | bit(*c)))
    }

    pub fn contains(self, class: DestinationClass) -> bool {
        self.0 & bit(class) != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

fn bit(class: DestinationClass) -> u8 {
    let index = DestinationClass::ALL
        .iter()
        .position(|c| *c == class)
        .expect("ALL lists every destination class");
    1 << index
}

/// A `[[class]]` compiled for checking.
#[derive(Debug, Clone)]
pub(crate) struct ClassPolicy {
    name: String,
    allow: ClassSet,
    allow_countries: Vec<String>,
    block_countries: Vec<String>,
    time_rules: Vec<(ClassSet, Vec<WeeklyHours>)>,
    max_concurrent: Option<u32>,
    max_calls_per_minute: Option<u32>,
    max_calls_per_day: Option<u32>,
    daily_spend_limit: Option<Money>,
}

impl ClassPolicy {
    pub fn compile(class: &Class) -> ClassPolicy {
        ClassPolicy {
            name: class.name.clone(),
            allow: ClassSet::of(&class.allow),
            allow_countries: class
                .allow_countries
                .iter()
                .map(|c| c.to_string())
                .collect(),
            block_countries: class
                .block_countries
                .iter()
                .map(|c| c.to_string())
                .collect(),
            time_rules: class
                .time_rules
                .iter()
                .map(|rule| (ClassSet::of(&rule.classes), rule.hours.clone()))
                .collect(),
            max_concurrent: class.max_concurrent,
            max_calls_per_minute: class.max_calls_per_minute,
            max_calls_per_day: class.max_calls_per_day,
            daily_spend_limit: class.daily_spend_limit,
        }
    }

    pub fn has_time_rules(&self) -> bool {
        !self.time_rules.is_empty()
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Checks 3 and 4 of the module's list only (the destination class and the countries):
    /// whether the class may call the destination at all, whatever the time and usage.
    pub fn admits_destination(
        &self,
        destination: DestinationClass,
        region: Option<&str>,
    ) -> Result<(), DenyReason> {
        if !self.allow.contains(destination) {
            return Err(DenyReason::ClassForbids {
                class: self.name.clone(),
                destination,
            });
        }
        if destination == DestinationClass::International {
            self.admit_country(region)?;
        }
        Ok(())
    }

    /// Checks 3 to 7 of the module's list (the caller has checked 1 and 2). `zone` is
    /// `[site] timezone`, present whenever the class has time rules (compile ensures it).
    pub fn admit(
        &self,
        destination: DestinationClass,
        region: Option<&str>,
        at: Timestamp,
        zone: Option<&(String, TimeZone)>,
        usage: &ExtensionUsage,
    ) -> Result<(), DenyReason> {
        self.admits_destination(destination, region)?;
        self.admit_time(destination, at, zone)?;
        if let Some(limit) = self.max_concurrent
            && usage.calls_now >= limit
        {
            return Err(DenyReason::MaxConcurrent { limit });
        }
        if let Some(limit) = self.max_calls_per_minute
            && usage.calls_last_minute >= limit
        {
            return Err(DenyReason::FraudCap(FraudCap::PerMinute { limit }));
        }
        if let Some(limit) = self.max_calls_per_day
            && usage.calls_today >= limit
        {
            return Err(DenyReason::FraudCap(FraudCap::PerDay { limit }));
        }
        if let Some(limit) = self.daily_spend_limit
            && usage.spend_today >= limit
        {
            return Err(DenyReason::FraudCap(FraudCap::DailySpend { limit }));
        }
        Ok(())
    }

    fn admit_country(&self, region: Option<&str>) -> Result<(), DenyReason> {
        if let Some(country) = region
            && self.block_countries.iter().any(|c| c == country)
        {
            return Err(DenyReason::CountryBlocked {
                class: self.name.clone(),
                country: country.to_owned(),
            });
        }
        let allowed = self.allow_countries.is_empty()
            || region.is_some_and(|country| self.allow_countries.iter().any(|c| c == country));
        if !allowed {
            return Err(DenyReason::CountryNotAllowed {
                class: self.name.clone(),
                country: region.map(str::to_owned),
            });
        }
        Ok(())
    }

    /// Every time rule naming `destination` must admit the local time (each rule restricts).
    fn admit_time(
        &self,
        destination: DestinationClass,
        at: Timestamp,
        zone: Option<&(String, TimeZone)>,
    ) -> Result<(), DenyReason> {
        let mut rules = self
            .time_rules
            .iter()
            .filter(|(classes, _)| classes.contains(destination))
            .peekable();
        if rules.peek().is_none() {
            return Ok(());
        }
        let Some((zone_name, zone)) = zone else {
            // Compile refuses time rules without a time zone; deny rather than guess.
            return Err(DenyReason::OutsideHours {
                class: self.name.clone(),
                destination,
                hours: Vec::new(),
                local_time: "unknown".to_owned(),
                timezone: "none".to_owned(),
            });
        };
        let local = LocalTime::of(at, zone);
        for (_, hours) in rules {
            if !hours.iter().any(|span| local.within(span)) {
                return Err(DenyReason::OutsideHours {
                    class: self.name.clone(),
                    destination,
                    hours: hours.clone(),
                    local_time: local.to_string(),
                    timezone: zone_name.clone(),
                });
            }
        }
        Ok(())
    }
}

/// A wall-clock time in the site's zone: the day of the week and the minute of the day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LocalTime {
    /// 0 = Monday.
    pub day: u8,
    pub minute: u16,
}

impl LocalTime {
    /// The local time at `at` in `zone`, DST included (jiff resolves the offset in force).
    pub fn of(at: Timestamp, zone: &TimeZone) -> LocalTime {
        let civil = zone.to_datetime(at);
        let day = u8::try_from(civil.weekday().to_monday_zero_offset())
            .expect("a weekday offset is 0..=6");
        let minute = u16::try_from(i32::from(civil.hour()) * 60 + i32::from(civil.minute()))
            .expect("a minute of the day is 0..1440");
        LocalTime { day, minute }
    }

    /// Whether the time falls in `span`. A span whose end is not after its start runs past
    /// midnight into the next day (`fri 22:00-06:00` is Friday 22:00 to Saturday 06:00; an
    /// end equal to the start is 24 hours).
    pub fn within(self, span: &WeeklyHours) -> bool {
        let (start, end) = (span.start_minute, span.end_minute);
        if start < end {
            span.on(self.day) && (start..end).contains(&self.minute)
        } else {
            let yesterday = (self.day + 6) % 7;
            (span.on(self.day) && self.minute >= start) || (span.on(yesterday) && self.minute < end)
        }
    }
}

impl fmt::Display for LocalTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {:02}:{:02}",
            WeeklyHours::DAY_NAMES[usize::from(self.day)],
            self.minute / 60,
            self.minute % 60
        )
    }
}

/// Why a call was denied. `Display` is a sentence for an administrator: it goes into the SIP
/// `Reason` header text (RFC 3326), the call record and `crossbar route explain` (plain ASCII,
/// no double quotes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DenyReason {
    /// The caller is not an extension of this PBX (unauthenticated, or removed by a reload).
    UnknownCaller,
    /// The extension is blocked for outbound calls (a fraud cap tripped and nobody has
    /// released it yet).
    Blocked,
    /// The extension has no class of service: it may dial only extensions and emergency
    /// numbers.
    NoClass,
    /// The class does not allow the destination class.
    ClassForbids {
        class: String,
        destination: DestinationClass,
    },
    /// The number's country is on the class's block list.
    CountryBlocked { class: String, country: String },
    /// The class allows international calls only to some countries, and not this one
    /// (`None`: a non-geographic number such as `+800`).
    CountryNotAllowed {
        class: String,
        country: Option<String>,
    },
    /// A time rule of the class restricts the destination class to `hours`, and it is now
    /// `local_time` (`sat 10:15`) in `timezone`.
    OutsideHours {
        class: String,
        destination: DestinationClass,
        hours: Vec<WeeklyHours>,
        local_time: String,
        timezone: String,
    },
    /// The extension already has `limit` outbound calls up.
    MaxConcurrent { limit: u32 },
    /// The call would exceed a fraud cap; the switch blocks the extension
    /// ([`DenyReason::trips_block`]).
    FraudCap(FraudCap),
}

/// The fraud cap a call would exceed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FraudCap {
    /// `max_calls_per_minute`: outbound calls started in the last 60 seconds.
    PerMinute { limit: u32 },
    /// `max_calls_per_day`: outbound calls started since local midnight.
    PerDay { limit: u32 },
    /// `daily_spend_limit`: money spent since local midnight (the limit is reached).
    DailySpend { limit: Money },
}

impl DenyReason {
    /// Whether the switch must block the extension for outbound calls because of this
    /// denial (until an administrator releases it): true for fraud caps.
    pub fn trips_block(&self) -> bool {
        matches!(self, DenyReason::FraudCap(_))
    }

    /// A short stable code for records, metrics and JSON (`class_forbids`, `fraud_cap`, ...).
    pub fn code(&self) -> &'static str {
        match self {
            DenyReason::UnknownCaller => "unknown_caller",
            DenyReason::Blocked => "blocked",
            DenyReason::NoClass => "no_class",
            DenyReason::ClassForbids { .. } => "class_forbids",
            DenyReason::CountryBlocked { .. } => "country_blocked",
            DenyReason::CountryNotAllowed { .. } => "country_not_allowed",
            DenyReason::OutsideHours { .. } => "outside_hours",
            DenyReason::MaxConcurrent { .. } => "max_concurrent",
            DenyReason::FraudCap(FraudCap::PerMinute { .. }) => "max_calls_per_minute",
            DenyReason::FraudCap(FraudCap::PerDay { .. }) => "max_calls_per_day",
            DenyReason::FraudCap(FraudCap::DailySpend { .. }) => "daily_spend_limit",
        }
    }
}

impl fmt::Display for DenyReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DenyReason::UnknownCaller => f.write_str("the caller is not an extension of this PBX"),
            DenyReason::Blocked => f.write_str(
                "the extension is blocked for outbound calls (a fraud cap tripped); \
                 an administrator must release it",
            ),
            DenyReason::NoClass => f.write_str(
                "the extension has no class of service: it may dial only extensions and \
                 emergency numbers",
            ),
            DenyReason::ClassForbids { class, destination } => write!(
                f,
                "class {class} does not allow {} calls",
                destination_words(*destination)
            ),
            DenyReason::CountryBlocked { class, country } => {
                write!(f, "class {class} blocks calls to {country}")
            }
            DenyReason::CountryNotAllowed {
                class,
                country: Some(country),
            } => write!(
                f,
                "class {class} allows international calls only to the countries it lists, \
                 not to {country}"
            ),
            DenyReason::CountryNotAllowed {
                class,
                country: None,
            } => write!(
                f,
                "class {class} allows international calls only to the countries it lists, \
                 not to non-geographic numbers"
            ),
            DenyReason::OutsideHours {
                class,
                destination,
                hours,
                local_time,
                timezone,
            } => {
                let hours: Vec<String> = hours.iter().map(ToString::to_string).collect();
                write!(
                    f,
                    "class {class} allows {} calls only {}; it is {local_time} in {timezone}",
                    destination_words(*destination),
                    hours.join(", ")
                )
            }
            DenyReason::MaxConcurrent { limit } => write!(
                f,
                "the extension already has {limit} outbound call{} up (max_concurrent = {limit})",
                if *limit == 1 { "" } else { "s" }
            ),
            DenyReason::FraudCap(FraudCap::PerMinute { limit }) => write!(
                f,
                "fraud cap: {limit} outbound calls in the last minute \
                 (max_calls_per_minute = {limit}); the extension is now blocked"
            ),
            DenyReason::FraudCap(FraudCap::PerDay { limit }) => write!(
                f,
                "fraud cap: {limit} outbound calls today (max_calls_per_day = {limit}); \
                 the extension is now blocked"
            ),
            DenyReason::FraudCap(FraudCap::DailySpend { limit }) => write!(
                f,
                "fraud cap: today's spend has reached {limit} (daily_spend_limit = {limit}); \
                 the extension is now blocked"
            ),
        }
    }
}

fn destination_words(class: DestinationClass) -> &'static str {
    match class {
        DestinationClass::Emergency => "emergency",
        DestinationClass::Internal => "internal",
        DestinationClass::Local => "local",
        DestinationClass::National => "national",
        DestinationClass::Mobile => "mobile",
        DestinationClass::TollFree => "toll-free",
        DestinationClass::Premium => "premium-rate",
        DestinationClass::International => "international",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hours(days: u8, start: u16, end: u16) -> WeeklyHours {
        WeeklyHours {
            days,
            start_minute: start,
            end_minute: end,
        }
    }

    const FRIDAY: u8 = 4;
    const SATURDAY: u8 = 5;
    const MON_FRI: u8 = 0b001_1111;

    #[test]
    fn a_daytime_span_includes_its_start_and_excludes_its_end() {
        let office = hours(MON_FRI, 8 * 60, 18 * 60);
        let at = |day, minute| LocalTime { day, minute };
        assert!(at(0, 8 * 60).within(&office));
        assert!(at(FRIDAY, 18 * 60 - 1).within(&office));
        assert!(!at(FRIDAY, 18 * 60).within(&office));
        assert!(!at(0, 8 * 60 - 1).within(&office));
        assert!(!at(SATURDAY, 12 * 60).within(&office));
    }

    #[test]
    fn a_span_past_midnight_covers_the_next_morning() {
        let friday_night = hours(1 << FRIDAY, 22 * 60, 6 * 60);
        let at = |day, minute| LocalTime { day, minute };
        assert!(at(FRIDAY, 23 * 60).within(&friday_night));
        assert!(at(SATURDAY, 5 * 60 + 59).within(&friday_night));
        assert!(!at(SATURDAY, 6 * 60).within(&friday_night));
        assert!(!at(FRIDAY, 5 * 60).within(&friday_night));
        // Sunday night into Monday wraps the week.
        let sunday_night = hours(1 << 6, 22 * 60, 2 * 60);
        assert!(at(0, 60).within(&sunday_night));
    }

    #[test]
    fn a_span_to_midnight_runs_to_the_end_of_the_day() {
        let evening = hours(MON_FRI, 18 * 60, 1440);
        assert!(
            LocalTime {
                day: 0,
                minute: 1439
            }
            .within(&evening)
        );
        assert!(!LocalTime { day: 1, minute: 0 }.within(&evening));
    }

    #[test]
    fn only_fraud_caps_trip_a_block() {
        assert!(DenyReason::FraudCap(FraudCap::PerMinute { limit: 5 }).trips_block());
        assert!(
            DenyReason::FraudCap(FraudCap::DailySpend {
                limit: Money(1_000_000)
            })
            .trips_block()
        );
        assert!(!DenyReason::MaxConcurrent { limit: 2 }.trips_block());
        assert!(!DenyReason::Blocked.trips_block());
    }

    #[test]
    fn reasons_read_as_sentences_without_double_quotes() {
        let reason = DenyReason::ClassForbids {
            class: "staff".to_owned(),
            destination: DestinationClass::Premium,
        };
        assert_eq!(
            reason.to_string(),
            "class staff does not allow premium-rate calls"
        );
        let reason = DenyReason::OutsideHours {
            class: "staff".to_owned(),
            destination: DestinationClass::International,
            hours: vec![hours(MON_FRI, 8 * 60, 18 * 60)],
            local_time: "sat 10:15".to_owned(),
            timezone: "Europe/London".to_owned(),
        };
        assert_eq!(
            reason.to_string(),
            "class staff allows international calls only mon,tue,wed,thu,fri 08:00-18:00; \
             it is sat 10:15 in Europe/London"
        );
        assert!(!reason.to_string().contains('"'));
    }
}
