//! The inbound report over HTTP, and how it is made from the store — shared with
//! `crossbar report inbound`, so the command line and the API cannot disagree.
//!
//! | route | answer |
//! |---|---|
//! | `GET /api/reports/inbound?since=&until=&by=did\|route\|group&received=&service_level_secs=&short_abandon_secs=` | the inbound report of the period |
//!
//! Parameters (all optional, [`InboundReportQuery`]): `since` and `until` as for a call
//! listing; `by` groups the figures per `did`, `route` or `group` (the ring group a call
//! reached last); `received=true` counts every call received (internal ones included)
//! instead of the calls from trunks; `service_level_secs` (default 20) and
//! `short_abandon_secs` (default 5) set the thresholds. The answer is crossbar-cdr's
//! [`InboundReport`] in its serde form: `{"period": {"since_ms", "until_ms"}, "by",
//! "received", "service_level_secs", "short_abandon_secs", "timezone", "total": {figures},
//! "groups": [{"key", figures...}]}`, its figures defined in
//! `crossbar_cdr::metrics::inbound`; clock hours (`peak_hour`, `offered_by_hour`) are in
//! `[site] timezone`.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use crossbar_cdr::metrics::Period;
use crossbar_cdr::metrics::inbound::{
    GroupBy, InboundOptions, InboundReport, OffsetChange, UtcOffsets, inbound_report,
};
use crossbar_store::{Store, StoreError};
use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::filter::InboundReportQuery;
use crate::{Api, ApiError};

/// The inbound report of `period` from the calls `store` holds, clock hours read in `zone`.
pub async fn inbound(
    store: &Store,
    period: Period,
    by: Option<GroupBy>,
    options: &InboundOptions,
    zone: &TimeZone,
) -> Result<InboundReport, StoreError> {
    let calls = store.inbound_calls(period, options.received).await?;
    let starts = calls.iter().map(|c| c.started_at_ms);
    let offsets = match (starts.clone().min(), starts.max()) {
        (Some(first), Some(last)) => utc_offsets(zone, first, last),
        _ => utc_offsets(zone, 0, 0),
    };
    Ok(inbound_report(&calls, period, by, options, &offsets))
}

/// `zone`'s offsets from UTC from `from_ms` to `to_ms` (unix milliseconds): the offset at
/// `from_ms` and every change up to `to_ms`, from the time zone database. Times beyond
/// what jiff represents (years ±9999) are read at its limits.
pub fn utc_offsets(zone: &TimeZone, from_ms: i64, to_ms: i64) -> UtcOffsets {
    let at = |ms: i64| {
        Timestamp::from_millisecond(ms).unwrap_or(if ms < 0 {
            Timestamp::MIN
        } else {
            Timestamp::MAX
        })
    };
    let (from, to) = (at(from_ms), at(to_ms));
    let changes = zone
        .following(from)
        .take_while(|change| change.timestamp() <= to)
        .map(|change| OffsetChange {
            at_ms: change.timestamp().as_millisecond(),
            offset_secs: change.offset().seconds(),
        })
        .collect();
    let name = zone.iana_name().unwrap_or("UTC");
    UtcOffsets::new(name, zone.to_offset(from).seconds(), changes)
}

/// `GET /api/reports/inbound`.
pub(crate) async fn inbound_route(
    State(api): State<Api>,
    query: Result<Query<InboundReportQuery>, QueryRejection>,
) -> Result<Json<InboundReport>, ApiError> {
    let Query(query) = query?;
    let (period, by, options) = query.to_report(&api.timezone)?;
    let report = inbound(&api.store, period, by, &options, &api.timezone).await?;
    Ok(Json(report))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn london_changes_its_offset_at_one_in_the_morning_utc() {
        let london = TimeZone::get("Europe/London").expect("the time zone database has London");
        // 2026-01-01T00:00Z to 2026-12-31T00:00Z.
        let offsets = utc_offsets(&london, 1_767_225_600_000, 1_798_675_200_000);
        assert_eq!(
            offsets,
            UtcOffsets::new(
                "Europe/London",
                0,
                vec![
                    OffsetChange {
                        at_ms: 1_774_746_000_000,
                        offset_secs: 3_600
                    },
                    OffsetChange {
                        at_ms: 1_792_890_000_000,
                        offset_secs: 0
                    },
                ]
            )
        );
        // Within summer time only: no change, the summer offset.
        let july = 1_782_864_000_000;
        assert_eq!(
            utc_offsets(&london, july, july + 86_400_000),
            UtcOffsets::fixed("Europe/London", 3_600)
        );
        assert_eq!(
            utc_offsets(&TimeZone::UTC, i64::MIN, i64::MAX),
            UtcOffsets::utc()
        );
    }
}
