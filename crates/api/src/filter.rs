//! The listing filters and report parameters as people type them — in a URL query or on the
//! command line — checked and turned into a [`CallFilter`] and a [`Page`] (calls), a time and
//! a limit (alerts), or a [`Period`] and a grouping (reports). One parser for all of them, so
//! `crossbar calls` and `GET /api/calls`, `crossbar alerts` and `GET /api/alerts`,
//! `crossbar report outbound` and `GET /api/reports/outbound`, `crossbar report inbound`
//! and `GET /api/reports/inbound`, `crossbar report queues` and `GET /api/reports/queues`, and
//! `crossbar callbacks list` and `GET /api/callbacks` accept exactly the same values with the
//! same errors.

use crossbar_cdr::callbacks::TaskState;
use crossbar_cdr::metrics::Period;
use crossbar_cdr::metrics::inbound::{self, InboundOptions};
use crossbar_cdr::metrics::outbound::GroupBy;
use crossbar_cdr::metrics::queues::QueueOptions;
use crossbar_cdr::{DestinationClass, Direction, Disposition};
use crossbar_store::{CallFilter, CallbackFilter, Page};
use jiff::Timestamp;
use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;

/// Records per page when no limit is given.
pub const DEFAULT_LIMIT: u32 = 50;
/// The largest page that may be asked for.
pub const MAX_LIMIT: u32 = Page::MAX_LIMIT;

/// A filter value that cannot be used; the message names the parameter and what is expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FilterError(pub String);

/// The filters of a call listing, as text (absent or empty means "any").
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallQuery {
    /// Calls an extension took part in (caller, dialled or answering).
    pub extension: Option<String>,
    /// Calls an extension received (dialled or answering).
    pub received_by: Option<String>,
    /// Calls an extension placed (caller).
    pub placed_by: Option<String>,
    /// `inbound`, `outbound` or `internal`.
    pub direction: Option<String>,
    /// A disposition name (`answered`, `no_answer`, `busy`, ...).
    pub disposition: Option<String>,
    /// Calls started at or after this time: RFC 3339 (`2026-11-21T09:00:00Z`), a local date
    /// and time (`2026-11-21T09:00:00`) or a date (`2026-11-21`, from its first instant).
    pub since: Option<String>,
    /// Calls started before this time: same forms as `since`; a date includes that whole day.
    pub until: Option<String>,
    /// Records per page, 0..=1000 (default 50).
    pub limit: Option<String>,
    /// Records to skip (default 0).
    pub offset: Option<String>,
    /// For an extension's listing: `received`, `placed` or `all` (default).
    pub view: Option<String>,
    /// Outbound calls carried by this trunk.
    pub trunk: Option<String>,
    /// Outbound calls to this destination class (`national`, `mobile`, `international`, ...).
    pub class: Option<String>,
}

/// The parameters of an outbound report, as text (absent or empty means "any").
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    /// Calls started at or after this time (the forms of [`CallQuery::since`]).
    pub since: Option<String>,
    /// Calls started before this time (the forms of [`CallQuery::until`]).
    pub until: Option<String>,
    /// Figures per `extension`, `trunk` or `class` besides the total.
    pub by: Option<String>,
}

impl ReportQuery {
    /// The period and grouping these values ask for; dates and local times are read in `tz`.
    pub fn to_report(&self, tz: &TimeZone) -> Result<(Period, Option<GroupBy>), FilterError> {
        let (since_ms, until_ms) = time_range(&self.since, &self.until, tz)?;
        let by = given(&self.by)
            .map(|by| {
                GroupBy::parse(by).ok_or_else(|| {
                    FilterError(format!("by: `{by}` is not one of extension, trunk, class"))
                })
            })
            .transpose()?;
        Ok((Period { since_ms, until_ms }, by))
    }
}

/// The parameters of an inbound report, as text (absent or empty means the default).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InboundReportQuery {
    /// Calls started at or after this time (the forms of [`CallQuery::since`]).
    pub since: Option<String>,
    /// Calls started before this time (the forms of [`CallQuery::until`]).
    pub until: Option<String>,
    /// Figures per `did`, `route` or `group` besides the total.
    pub by: Option<String>,
    /// `true`: every call received, internal ones included; `false` (the default): the
    /// calls from trunks.
    pub received: Option<String>,
    /// The service level's threshold, whole seconds (default 20).
    pub service_level_secs: Option<String>,
    /// The longest short abandon, whole seconds (default 5).
    pub short_abandon_secs: Option<String>,
}

/// The largest threshold an inbound report takes: a day, in seconds.
pub const MAX_THRESHOLD_SECS: u32 = 86_400;

impl InboundReportQuery {
    /// The period, grouping and options these values ask for; dates and local times are
    /// read in `tz`.
    pub fn to_report(
        &self,
        tz: &TimeZone,
    ) -> Result<(Period, Option<inbound::GroupBy>, InboundOptions), FilterError> {
        let (since_ms, until_ms) = time_range(&self.since, &self.until, tz)?;
        let by = given(&self.by)
            .map(|by| {
                inbound::GroupBy::parse(by).ok_or_else(|| {
                    FilterError(format!("by: `{by}` is not one of did, route, group"))
                })
            })
            .transpose()?;
        let received = match given(&self.received) {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => {
                return Err(FilterError(format!(
                    "received: `{other}` is not true or false"
                )));
            }
        };
        let defaults = InboundOptions::default();
        let options = InboundOptions {
            received,
            service_level_secs: threshold(
                &self.service_level_secs,
                "service_level_secs",
                defaults.service_level_secs,
            )?,
            short_abandon_secs: threshold(
                &self.short_abandon_secs,
                "short_abandon_secs",
                defaults.short_abandon_secs,
            )?,
        };
        Ok((Period { since_ms, until_ms }, by, options))
    }
}

/// The parameters of a queue report, as text (absent or empty means the default).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueReportQuery {
    /// Queue visits that began at or after this time (the forms of [`CallQuery::since`]).
    pub since: Option<String>,
    /// Queue visits that began before this time (the forms of [`CallQuery::until`]).
    pub until: Option<String>,
    /// Only this queue (its calls, its agents' time, its callback tasks).
    pub queue: Option<String>,
    /// The longest short abandon, whole seconds from joining the queue (default 5).
    pub short_abandon_secs: Option<String>,
}

impl QueueReportQuery {
    /// The period and options these values ask for, each queue's service-level threshold
    /// taken from `queues` (`[[queue]] service_level_secs`); dates and local times are read
    /// in `tz`.
    pub fn to_report(
        &self,
        tz: &TimeZone,
        queues: &[crossbar_config::Queue],
    ) -> Result<(Period, QueueOptions), FilterError> {
        let (since_ms, until_ms) = time_range(&self.since, &self.until, tz)?;
        let defaults = QueueOptions::default();
        let options = QueueOptions {
            queue: given(&self.queue).map(str::to_owned),
            short_abandon_secs: threshold(
                &self.short_abandon_secs,
                "short_abandon_secs",
                defaults.short_abandon_secs,
            )?,
            service_level_secs: queues
                .iter()
                .map(|q| (q.name.clone(), q.service_level_secs))
                .collect(),
        };
        Ok((Period { since_ms, until_ms }, options))
    }
}

/// The filters of a callback task listing, as text (absent or empty means the default).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallbackQuery {
    /// `open` (the default), `completed`, `cancelled`, `unreached` or `all`.
    pub state: Option<String>,
    /// Tasks assigned to this agent.
    pub agent: Option<String>,
    /// Tasks assigned to this queue.
    pub queue: Option<String>,
    /// Tasks for this number.
    pub number: Option<String>,
    /// Tasks per page, 0..=1000 (default 50).
    pub limit: Option<String>,
    /// Tasks to skip (default 0).
    pub offset: Option<String>,
}

impl CallbackQuery {
    /// The filter and page these values ask for.
    pub fn to_filter(&self) -> Result<(CallbackFilter, Page), FilterError> {
        let state = match given(&self.state) {
            None => Some(TaskState::Open),
            Some("all") => None,
            Some(text) => Some(TaskState::parse(text).ok_or_else(|| {
                FilterError(format!(
                    "state: `{text}` is not one of open, completed, cancelled, unreached, all"
                ))
            })?),
        };
        let filter = CallbackFilter {
            state,
            agent: given(&self.agent).map(str::to_owned),
            queue: given(&self.queue).map(str::to_owned),
            number: given(&self.number).map(str::to_owned),
        };
        let page = Page {
            limit: parse_limit(&self.limit)?,
            offset: parse_offset(&self.offset)?,
        };
        Ok((filter, page))
    }
}

/// A threshold in whole seconds up to [`MAX_THRESHOLD_SECS`], `default` if absent or blank.
fn threshold(value: &Option<String>, name: &str, default: u32) -> Result<u32, FilterError> {
    match given(value) {
        None => Ok(default),
        Some(text) => match text.parse::<u32>() {
            Ok(secs) if secs <= MAX_THRESHOLD_SECS => Ok(secs),
            _ => Err(FilterError(format!(
                "{name}: `{text}` is not a whole number of seconds from 0 to {MAX_THRESHOLD_SECS}"
            ))),
        },
    }
}

/// `since` and `until` as unix milliseconds (checked to be in order), read in `tz`.
fn time_range(
    since: &Option<String>,
    until: &Option<String>,
    tz: &TimeZone,
) -> Result<(Option<i64>, Option<i64>), FilterError> {
    let since_ms = given(since)
        .map(|t| parse_time(t, tz, Bound::Since).map_err(|e| FilterError(format!("since: {e}"))))
        .transpose()?;
    let until_ms = given(until)
        .map(|t| parse_time(t, tz, Bound::Until).map_err(|e| FilterError(format!("until: {e}"))))
        .transpose()?;
    if let (Some(since), Some(until)) = (since_ms, until_ms)
        && since > until
    {
        return Err(FilterError("since: is after until".into()));
    }
    Ok((since_ms, until_ms))
}

/// Which end of a time range a value is for: a bare date means the start of that day for
/// `Since` and the start of the next day for `Until`, so `since=D&until=D` is the whole day D.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    Since,
    Until,
}

/// `Some(text)` unless absent or blank.
fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

impl CallQuery {
    /// The filter and page these values ask for; dates and local times are read in `tz`.
    pub fn to_filter(&self, tz: &TimeZone) -> Result<(CallFilter, Page), FilterError> {
        let direction = given(&self.direction)
            .map(|d| {
                Direction::parse(d).ok_or_else(|| {
                    FilterError(format!(
                        "direction: `{d}` is not one of inbound, outbound, internal"
                    ))
                })
            })
            .transpose()?;
        let disposition = given(&self.disposition)
            .map(|d| {
                Disposition::parse(d).ok_or_else(|| {
                    let names: Vec<&str> = Disposition::ALL.iter().map(|d| d.as_str()).collect();
                    FilterError(format!(
                        "disposition: `{d}` is not one of {}",
                        names.join(", ")
                    ))
                })
            })
            .transpose()?;
        let class = given(&self.class)
            .map(|c| {
                DestinationClass::parse(c).ok_or_else(|| {
                    let names: Vec<&str> =
                        DestinationClass::ALL.iter().map(|c| c.as_str()).collect();
                    FilterError(format!("class: `{c}` is not one of {}", names.join(", ")))
                })
            })
            .transpose()?;
        let (since_ms, until_ms) = time_range(&self.since, &self.until, tz)?;
        let limit = parse_limit(&self.limit)?;
        let offset = parse_offset(&self.offset)?;
        let filter = CallFilter {
            extension: given(&self.extension).map(str::to_owned),
            received_by: given(&self.received_by).map(str::to_owned),
            placed_by: given(&self.placed_by).map(str::to_owned),
            direction,
            disposition,
            since_ms,
            until_ms,
            trunk: given(&self.trunk).map(str::to_owned),
            class,
        };
        Ok((filter, Page { limit, offset }))
    }
}

/// `limit`: [`DEFAULT_LIMIT`] if absent or blank, else a whole number up to [`MAX_LIMIT`].
pub(crate) fn parse_limit(limit: &Option<String>) -> Result<u32, FilterError> {
    match given(limit) {
        None => Ok(DEFAULT_LIMIT),
        Some(text) => match text.parse::<u32>() {
            Ok(limit) if limit <= MAX_LIMIT => Ok(limit),
            _ => Err(FilterError(format!(
                "limit: `{text}` is not a whole number from 0 to {MAX_LIMIT}"
            ))),
        },
    }
}

/// `offset`: 0 if absent or blank, else a whole number (that fits the database's integers).
fn parse_offset(offset: &Option<String>) -> Result<u64, FilterError> {
    match given(offset) {
        None => Ok(0),
        Some(text) => text
            .parse::<u64>()
            .ok()
            .filter(|o| i64::try_from(*o).is_ok())
            .ok_or_else(|| {
                FilterError(format!(
                    "offset: `{text}` is not a whole number of at least 0"
                ))
            }),
    }
}

/// The filters of an alert listing, as text (absent or empty means "any"): the same forms
/// as a call listing's `since` and `limit`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertQuery {
    /// Alerts raised at or after this time (the forms of [`CallQuery::since`]).
    pub since: Option<String>,
    /// Alerts per listing, 0..=1000 (default 50).
    pub limit: Option<String>,
}

impl AlertQuery {
    /// `(since_ms, limit)` for [`crossbar_store::Store::alerts`]; dates and local times are
    /// read in `tz`.
    pub fn to_range(&self, tz: &TimeZone) -> Result<(Option<i64>, u32), FilterError> {
        let (since_ms, _) = time_range(&self.since, &None, tz)?;
        Ok((since_ms, parse_limit(&self.limit)?))
    }
}

/// A time as unix milliseconds: RFC 3339 with an offset (`2026-11-21T09:00:00Z`,
/// `2026-11-21T10:00:00+01:00`), a date and time without offset read in `tz`
/// (`2026-11-21T09:00:00`, `2026-11-21 09:00`), or a date (`2026-11-21`) — the first instant
/// of that day in `tz` for [`Bound::Since`], of the next day for [`Bound::Until`].
pub fn parse_time(text: &str, tz: &TimeZone, bound: Bound) -> Result<i64, FilterError> {
    let text = text.trim();
    let invalid = || {
        FilterError(format!(
            "`{text}` is not a time: expected RFC 3339 (2026-11-21T09:00:00Z), \
             a local date and time (2026-11-21T09:00:00) or a date (2026-11-21)"
        ))
    };
    if let Ok(timestamp) = text.parse::<Timestamp>() {
        return Ok(timestamp.as_millisecond());
    }
    if text.len() == 10
        && let Ok(date) = text.parse::<Date>()
    {
        let day = match bound {
            Bound::Since => date,
            Bound::Until => date.tomorrow().map_err(|_| invalid())?,
        };
        let start = day.to_zoned(tz.clone()).map_err(|_| invalid())?;
        return Ok(start.timestamp().as_millisecond());
    }
    if let Ok(local) = text.parse::<DateTime>() {
        let zoned = local.to_zoned(tz.clone()).map_err(|_| invalid())?;
        return Ok(zoned.timestamp().as_millisecond());
    }
    Err(invalid())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str, bound: Bound) -> Result<i64, FilterError> {
        parse_time(text, &TimeZone::UTC, bound)
    }

    #[test]
    fn times_are_rfc3339_local_date_times_or_dates() {
        let nine = 1_795_251_600_000; // 2026-11-21T09:00:00Z
        assert_eq!(utc("2026-11-21T09:00:00Z", Bound::Since), Ok(nine));
        assert_eq!(utc("2026-11-21T10:00:00+01:00", Bound::Until), Ok(nine));
        assert_eq!(utc("2026-11-21T09:00:00", Bound::Since), Ok(nine));
        assert_eq!(utc("2026-11-21 09:00", Bound::Since), Ok(nine));
        let midnight = nine - 9 * 3_600_000;
        assert_eq!(utc("2026-11-21", Bound::Since), Ok(midnight));
        assert_eq!(utc("2026-11-21", Bound::Until), Ok(midnight + 86_400_000));
    }

    #[test]
    fn dates_are_read_in_the_site_time_zone() {
        let tz = TimeZone::get("Europe/Paris").expect("the system has the time zone database");
        let midnight_utc = 1_795_219_200_000; // 2026-11-21T00:00:00Z
        assert_eq!(
            parse_time("2026-11-21", &tz, Bound::Since),
            Ok(midnight_utc - 3_600_000)
        );
    }

    #[test]
    fn a_bad_time_says_what_is_expected() {
        let error = utc("yesterday", Bound::Since).unwrap_err();
        assert!(error.0.starts_with("`yesterday` is not a time"), "{error}");
        assert!(utc("2026-13-01", Bound::Since).is_err());
    }

    #[test]
    fn a_query_becomes_a_filter_and_a_page() {
        let query = CallQuery {
            extension: Some("201".into()),
            direction: Some("inbound".into()),
            disposition: Some("no_answer".into()),
            since: Some("2026-11-21".into()),
            until: Some(" ".into()),
            limit: Some("10".into()),
            offset: Some("20".into()),
            ..CallQuery::default()
        };
        let (filter, page) = query.to_filter(&TimeZone::UTC).unwrap();
        assert_eq!(
            filter,
            CallFilter {
                extension: Some("201".into()),
                direction: Some(Direction::Inbound),
                disposition: Some(Disposition::NoAnswer),
                since_ms: Some(1_795_219_200_000),
                ..CallFilter::default()
            }
        );
        assert_eq!(
            page,
            Page {
                limit: 10,
                offset: 20
            }
        );
        let (_, page) = CallQuery::default().to_filter(&TimeZone::UTC).unwrap();
        assert_eq!(
            page,
            Page {
                limit: 50,
                offset: 0
            }
        );
    }

    #[test]
    fn an_alert_query_reads_since_and_limit_like_a_call_query() {
        assert_eq!(
            AlertQuery::default().to_range(&TimeZone::UTC),
            Ok((None, DEFAULT_LIMIT))
        );
        let query = AlertQuery {
            since: Some("2026-11-21".into()),
            limit: Some("5".into()),
        };
        assert_eq!(
            query.to_range(&TimeZone::UTC),
            Ok((Some(1_795_219_200_000), 5))
        );
        let query = AlertQuery {
            since: Some("soon".into()),
            limit: None,
        };
        let error = query.to_range(&TimeZone::UTC).unwrap_err();
        assert!(
            error.0.starts_with("since: `soon` is not a time"),
            "{error}"
        );
        let query = AlertQuery {
            since: None,
            limit: Some("1001".into()),
        };
        assert_eq!(
            query.to_range(&TimeZone::UTC),
            Err(FilterError(
                "limit: `1001` is not a whole number from 0 to 1000".into()
            ))
        );
    }

    #[test]
    fn trunk_and_class_narrow_to_outbound_calls() {
        let query = CallQuery {
            trunk: Some("carrier-a".into()),
            class: Some("toll_free".into()),
            ..CallQuery::default()
        };
        let (filter, _) = query.to_filter(&TimeZone::UTC).unwrap();
        assert_eq!(
            filter,
            CallFilter {
                trunk: Some("carrier-a".into()),
                class: Some(DestinationClass::TollFree),
                ..CallFilter::default()
            }
        );
    }

    #[test]
    fn a_report_query_becomes_a_period_and_a_grouping() {
        let query = ReportQuery {
            since: Some("2026-11-21".into()),
            until: Some("2026-11-21".into()),
            by: Some("trunk".into()),
        };
        assert_eq!(
            query.to_report(&TimeZone::UTC),
            Ok((
                Period {
                    since_ms: Some(1_795_219_200_000),
                    until_ms: Some(1_795_219_200_000 + 86_400_000),
                },
                Some(GroupBy::Trunk)
            ))
        );
        assert_eq!(
            ReportQuery::default().to_report(&TimeZone::UTC),
            Ok((Period::ALL, None))
        );
        assert_eq!(
            ReportQuery {
                by: Some("route".into()),
                ..ReportQuery::default()
            }
            .to_report(&TimeZone::UTC),
            Err(FilterError(
                "by: `route` is not one of extension, trunk, class".into()
            ))
        );
        assert_eq!(
            ReportQuery {
                since: Some("2026-11-22".into()),
                until: Some("2026-11-20".into()),
                by: None,
            }
            .to_report(&TimeZone::UTC),
            Err(FilterError("since: is after until".into()))
        );
    }

    #[test]
    fn an_inbound_report_query_becomes_a_period_a_grouping_and_options() {
        let query = InboundReportQuery {
            since: Some("2026-11-21".into()),
            until: Some("2026-11-21".into()),
            by: Some("group".into()),
            received: Some("true".into()),
            service_level_secs: Some("30".into()),
            short_abandon_secs: Some("0".into()),
        };
        assert_eq!(
            query.to_report(&TimeZone::UTC),
            Ok((
                Period {
                    since_ms: Some(1_795_219_200_000),
                    until_ms: Some(1_795_219_200_000 + 86_400_000),
                },
                Some(inbound::GroupBy::Group),
                InboundOptions {
                    received: true,
                    service_level_secs: 30,
                    short_abandon_secs: 0,
                }
            ))
        );
        assert_eq!(
            InboundReportQuery {
                received: Some(" ".into()),
                ..InboundReportQuery::default()
            }
            .to_report(&TimeZone::UTC),
            Ok((Period::ALL, None, InboundOptions::default()))
        );
        let cases = [
            (
                InboundReportQuery {
                    by: Some("trunk".into()),
                    ..InboundReportQuery::default()
                },
                "by: `trunk` is not one of did, route, group",
            ),
            (
                InboundReportQuery {
                    received: Some("yes".into()),
                    ..InboundReportQuery::default()
                },
                "received: `yes` is not true or false",
            ),
            (
                InboundReportQuery {
                    service_level_secs: Some("-1".into()),
                    ..InboundReportQuery::default()
                },
                "service_level_secs: `-1` is not a whole number of seconds from 0 to 86400",
            ),
            (
                InboundReportQuery {
                    short_abandon_secs: Some("86401".into()),
                    ..InboundReportQuery::default()
                },
                "short_abandon_secs: `86401` is not a whole number of seconds from 0 to 86400",
            ),
            (
                InboundReportQuery {
                    since: Some("2026-11-22".into()),
                    until: Some("2026-11-20".into()),
                    ..InboundReportQuery::default()
                },
                "since: is after until",
            ),
        ];
        for (query, message) in cases {
            assert_eq!(
                query.to_report(&TimeZone::UTC),
                Err(FilterError(message.into()))
            );
        }
    }

    #[test]
    fn a_queue_report_query_takes_each_queues_threshold_from_the_configuration() {
        let config = crossbar_config::Config::parse(
            r#"
[[extension]]
number = "201"
secret = "correct-horse-battery"

[[queue]]
name = "support"
members = ["201"]
service_level_secs = 30

[[queue]]
name = "sales"
members = ["201"]
"#,
            std::path::Path::new("crossbar.toml"),
        )
        .expect("a valid configuration");
        let query = QueueReportQuery {
            since: Some("2026-11-21".into()),
            until: None,
            queue: Some(" support ".into()),
            short_abandon_secs: Some("10".into()),
        };
        let (period, options) = query.to_report(&TimeZone::UTC, &config.queues).unwrap();
        assert_eq!(
            period,
            Period {
                since_ms: Some(1_795_219_200_000),
                until_ms: None
            }
        );
        assert_eq!(options.queue.as_deref(), Some("support"));
        assert_eq!(options.short_abandon_secs, 10);
        assert_eq!(options.service_level_secs("support"), 30);
        assert_eq!(options.service_level_secs("sales"), 20);
        let (_, defaults) = QueueReportQuery::default()
            .to_report(&TimeZone::UTC, &[])
            .unwrap();
        assert_eq!((defaults.queue, defaults.short_abandon_secs), (None, 5));
        assert_eq!(
            QueueReportQuery {
                short_abandon_secs: Some("soon".into()),
                ..QueueReportQuery::default()
            }
            .to_report(&TimeZone::UTC, &[]),
            Err(FilterError(
                "short_abandon_secs: `soon` is not a whole number of seconds from 0 to 86400"
                    .into()
            ))
        );
    }

    #[test]
    fn a_callback_query_lists_the_open_tasks_unless_told_otherwise() {
        let (filter, page) = CallbackQuery::default().to_filter().unwrap();
        assert_eq!(
            filter,
            CallbackFilter {
                state: Some(TaskState::Open),
                ..CallbackFilter::default()
            }
        );
        assert_eq!(page, Page::first(DEFAULT_LIMIT));
        let query = CallbackQuery {
            state: Some("all".into()),
            agent: Some("201".into()),
            queue: Some("support".into()),
            number: Some("+447700900123".into()),
            limit: Some("10".into()),
            offset: Some("5".into()),
        };
        assert_eq!(
            query.to_filter(),
            Ok((
                CallbackFilter {
                    state: None,
                    agent: Some("201".into()),
                    queue: Some("support".into()),
                    number: Some("+447700900123".into()),
                },
                Page {
                    limit: 10,
                    offset: 5
                }
            ))
        );
        assert_eq!(
            CallbackQuery {
                state: Some("done".into()),
                ..CallbackQuery::default()
            }
            .to_filter(),
            Err(FilterError(
                "state: `done` is not one of open, completed, cancelled, unreached, all".into()
            ))
        );
    }

    #[test]
    fn bad_values_are_errors_naming_the_parameter() {
        let cases = [
            (
                CallQuery {
                    direction: Some("sideways".into()),
                    ..CallQuery::default()
                },
                "direction: `sideways` is not one of inbound, outbound, internal",
            ),
            (
                CallQuery {
                    disposition: Some("ANSWERED".into()),
                    ..CallQuery::default()
                },
                "disposition: `ANSWERED` is not one of answered, voicemail, no_answer, busy, \
                 rejected, cancelled, abandoned, failed, denied",
            ),
            (
                CallQuery {
                    class: Some("landline".into()),
                    ..CallQuery::default()
                },
                "class: `landline` is not one of emergency, internal, local, national, mobile, \
                 toll_free, premium, international",
            ),
            (
                CallQuery {
                    limit: Some("1001".into()),
                    ..CallQuery::default()
                },
                "limit: `1001` is not a whole number from 0 to 1000",
            ),
            (
                CallQuery {
                    offset: Some("-1".into()),
                    ..CallQuery::default()
                },
                "offset: `-1` is not a whole number of at least 0",
            ),
            (
                CallQuery {
                    since: Some("2026-11-22".into()),
                    until: Some("2026-11-20".into()),
                    ..CallQuery::default()
                },
                "since: is after until",
            ),
        ];
        for (query, message) in cases {
            assert_eq!(
                query.to_filter(&TimeZone::UTC),
                Err(FilterError(message.into()))
            );
        }
    }
}
