//! Outbound activity as the database knows it: per extension, the outbound calls up now,
//! started in the last minute and since local midnight, and the money they cost today; per
//! trunk, the calls up now and started in the last second. What routing's class-of-service
//! limits and fraud caps are checked against (`crossbar_routing::Live`), for
//! `crossbar route explain` and `GET /api/route/explain`, and what a restarted switch
//! reloads its counts of the day from.
//!
//! It reads `active_calls` (calls in progress) and `calls` (finished calls), counting an
//! outbound call the way the switch does: when it is routed to trunks (a finished call with
//! trunk attempts), so calls denied by policy or with no trunk to take them are not counted.
//!
//! A call in progress names its trunk once answered, so per-trunk counts here are of answered
//! calls: a call still ringing through a trunk is not counted against it (the running switch
//! counts it; this view is for the simulator and for a restart).

use std::collections::BTreeMap;

use crossbar_cdr::Money;

use crate::error::db;
use crate::{Store, StoreError};

/// The periods counted, as unix milliseconds. Calls started after `until_ms` are not
/// counted; calls up now are, whenever they started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActivityWindow {
    /// The start of the day: local midnight in `[site] timezone` of the day of `until_ms`.
    pub day_start_ms: i64,
    /// The end of the periods ("now", or the time a call is simulated at).
    pub until_ms: i64,
}

impl ActivityWindow {
    /// The last minute: calls started strictly after this (the switch counts a call that
    /// started exactly 60 seconds ago as out of the minute).
    pub fn minute_start_ms(&self) -> i64 {
        self.until_ms.saturating_sub(60_000)
    }
}

/// One extension's outbound activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ExtensionActivity {
    /// Outbound calls up now (in `active_calls`).
    pub calls_now: u32,
    /// Outbound calls started in the minute up to `until_ms`.
    pub calls_last_minute: u32,
    /// Outbound calls started from `day_start_ms` to `until_ms`.
    pub calls_today: u32,
    /// What today's finished outbound calls cost.
    pub spend_today: Money,
}

/// One trunk's calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TrunkActivity {
    /// Calls up now through the trunk.
    pub calls_now: u32,
    /// Calls started through it in the second up to `until_ms`.
    pub calls_last_second: u32,
}

/// Outbound activity by extension number and by trunk name; an extension or trunk that is
/// not listed had none.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OutboundActivity {
    pub extensions: BTreeMap<String, ExtensionActivity>,
    pub trunks: BTreeMap<String, TrunkActivity>,
}

#[derive(sqlx::FromRow)]
struct ExtensionRow {
    extension: String,
    calls_now: i64,
    calls_last_minute: i64,
    calls_today: i64,
    spend_today: i64,
}

#[derive(sqlx::FromRow)]
struct TrunkRow {
    trunk: String,
    calls_now: i64,
    calls_last_second: i64,
}

/// Finished outbound calls of the periods that were routed to trunks (not denied, not left
/// without a trunk) and every outbound call in progress, per caller, with today's cost. `$1`: the earliest start counted
/// (the day's or the minute's), `$2` the day's start, `$3` the minute's (exclusive), `$4`
/// the end. Both sides read an index on `(direction, started_at_ms)` or the whole (small)
/// `active_calls`.
const EXTENSIONS: &str = "SELECT caller_number AS extension, \
     SUM(up) AS calls_now, \
     SUM(CASE WHEN started_at_ms > $3 AND started_at_ms <= $4 THEN 1 ELSE 0 END) \
         AS calls_last_minute, \
     SUM(CASE WHEN started_at_ms >= $2 AND started_at_ms <= $4 THEN 1 ELSE 0 END) \
         AS calls_today, \
     CAST(SUM(CASE WHEN started_at_ms >= $2 AND started_at_ms <= $4 THEN cost ELSE 0 END) \
         AS BIGINT) AS spend_today \
     FROM (\
         SELECT caller_number, started_at_ms, 0 AS up, COALESCE(cost_micros, 0) AS cost \
         FROM calls \
         WHERE direction = 'outbound' AND disposition <> 'denied' \
             AND COALESCE(trunk_attempts, 1) > 0 \
             AND started_at_ms >= $1 AND started_at_ms <= $4 \
         UNION ALL \
         SELECT caller_number, started_at_ms, 1 AS up, 0 AS cost FROM active_calls \
         WHERE direction = 'outbound'\
     ) AS outbound \
     GROUP BY caller_number";

/// Answered calls up through each trunk, and those of them that started in the last second
/// (`$1` exclusive, `$2` the end).
const TRUNKS: &str = "SELECT trunk, COUNT(*) AS calls_now, \
     SUM(CASE WHEN started_at_ms > $1 AND started_at_ms <= $2 THEN 1 ELSE 0 END) \
         AS calls_last_second \
     FROM active_calls WHERE trunk IS NOT NULL GROUP BY trunk";

/// A count from the database as a `u32` (saturating: a count beyond 4 billion is "many").
fn count(n: i64) -> u32 {
    u32::try_from(n.max(0)).unwrap_or(u32::MAX)
}

impl Store {
    /// Outbound activity in `window`, per extension and per trunk. Reads only: safe beside a
    /// running crossbar.
    pub async fn outbound_activity(
        &self,
        window: &ActivityWindow,
    ) -> Result<OutboundActivity, StoreError> {
        const OP: &str = "read outbound activity";
        let minute_start = window.minute_start_ms();
        let earliest = window.day_start_ms.min(minute_start.saturating_add(1));
        let rows: Vec<ExtensionRow> = on_pool!(self, pool => sqlx::query_as(EXTENSIONS)
            .bind(earliest)
            .bind(window.day_start_ms)
            .bind(minute_start)
            .bind(window.until_ms)
            .fetch_all(pool)
            .await
            .map_err(db(OP))?);
        let extensions = rows
            .into_iter()
            .map(|row| {
                let activity = ExtensionActivity {
                    calls_now: count(row.calls_now),
                    calls_last_minute: count(row.calls_last_minute),
                    calls_today: count(row.calls_today),
                    spend_today: Money(row.spend_today),
                };
                (row.extension, activity)
            })
            .collect();
        let rows: Vec<TrunkRow> = on_pool!(self, pool => sqlx::query_as(TRUNKS)
            .bind(window.until_ms.saturating_sub(1_000))
            .bind(window.until_ms)
            .fetch_all(pool)
            .await
            .map_err(db(OP))?);
        let trunks = rows
            .into_iter()
            .map(|row| {
                let activity = TrunkActivity {
                    calls_now: count(row.calls_now),
                    calls_last_second: count(row.calls_last_second),
                };
                (row.trunk, activity)
            })
            .collect();
        Ok(OutboundActivity { extensions, trunks })
    }
}
