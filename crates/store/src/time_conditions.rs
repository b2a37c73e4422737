//! Time-condition overrides: an administrator forces a `[[time_condition]]` open or closed
//! whatever its schedule (a snow day, a late evening), until the override is cleared and
//! the schedule rules again.
//!
//! Who writes what:
//! * `crossbar tc override office-hours open|closed|schedule` and
//!   `PUT /api/time-conditions/{name}/override` call [`Store::set_time_condition_override`],
//!   and only write the database;
//! * the running engine learns of a change by re-reading [`Store::time_condition_overrides`]
//!   every 2 seconds (one small table, cheap enough to poll), so an override takes effect on
//!   the calls that arrive within 2 seconds of being set.

use crate::error::db;
use crate::{Store, StoreError};

/// A time condition forced open or closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeConditionOverride {
    /// The `[[time_condition]]`'s name.
    pub name: String,
    /// `true`: forced open; `false`: forced closed.
    pub open: bool,
    /// When it was set (unix milliseconds).
    pub set_at_ms: i64,
    /// Who set it (`token:NAME` through the API, `cli:USER` from the command line).
    pub set_by: String,
}

impl TimeConditionOverride {
    /// `open` or `closed`, as stored and shown.
    pub fn forced(&self) -> &'static str {
        forced(self.open)
    }
}

fn forced(open: bool) -> &'static str {
    if open { "open" } else { "closed" }
}

/// A `time_condition_overrides` row as stored.
#[derive(sqlx::FromRow)]
struct OverrideRow {
    name: String,
    forced: String,
    set_at_ms: i64,
    set_by: String,
}

impl OverrideRow {
    fn into_override(self, op: &'static str) -> Result<TimeConditionOverride, StoreError> {
        let open = match self.forced.as_str() {
            "open" => true,
            "closed" => false,
            other => {
                return Err(StoreError::OutOfRange {
                    op,
                    detail: format!("forced = {other} for time condition {:?}", self.name),
                });
            }
        };
        Ok(TimeConditionOverride {
            name: self.name,
            open,
            set_at_ms: self.set_at_ms,
            set_by: self.set_by,
        })
    }
}

const SELECT_ONE: &str = "SELECT name, forced, set_at_ms, set_by \
     FROM time_condition_overrides WHERE name = $1";
const UPSERT: &str = "INSERT INTO time_condition_overrides (name, forced, set_at_ms, set_by) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO UPDATE SET forced = excluded.forced, \
     set_at_ms = excluded.set_at_ms, set_by = excluded.set_by";
const CLEAR: &str = "DELETE FROM time_condition_overrides WHERE name = $1";

impl Store {
    /// Forces time condition `name` open (`Some(true)`) or closed (`Some(false)`), or clears
    /// its override (`None`: back to its schedule), noting `by` (non-empty: `token:NAME`,
    /// `cli:USER`) and `at_ms` (unix milliseconds). Returns the override that was in force
    /// before, if any. Clearing a time condition without an override changes nothing.
    ///
    /// The name is not checked against the configuration: the API and the command line do
    /// that. This only writes the database; the running engine re-reads
    /// [`Store::time_condition_overrides`] every 2 seconds, so the change reaches the calls
    /// that arrive within 2 seconds of this returning.
    pub async fn set_time_condition_override(
        &self,
        name: &str,
        open: Option<bool>,
        by: &str,
        at_ms: i64,
    ) -> Result<Option<TimeConditionOverride>, StoreError> {
        const OP: &str = "set time condition override";
        let before = begin_write!(self, tx => {
            let before: Option<OverrideRow> = sqlx::query_as(SELECT_ONE)
                .bind(name)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db(OP))?;
            match open {
                Some(open) => sqlx::query(UPSERT)
                    .bind(name)
                    .bind(forced(open))
                    .bind(at_ms)
                    .bind(by)
                    .execute(&mut *tx)
                    .await
                    .map_err(db(OP))?,
                None => sqlx::query(CLEAR)
                    .bind(name)
                    .execute(&mut *tx)
                    .await
                    .map_err(db(OP))?,
            };
            tx.commit().await.map_err(db("commit time condition override"))?;
            before
        });
        let mode = open.map_or("schedule", forced);
        tracing::info!(
            time_condition = name,
            mode,
            by,
            "time condition override set"
        );
        before.map(|row| row.into_override(OP)).transpose()
    }

    /// Every override in force, by time condition name. The running engine re-reads this
    /// every 2 seconds to learn of overrides set or cleared through the API or the command
    /// line (or by another node).
    pub async fn time_condition_overrides(&self) -> Result<Vec<TimeConditionOverride>, StoreError> {
        const OP: &str = "list time condition overrides";
        const SQL: &str = "SELECT name, forced, set_at_ms, set_by \
             FROM time_condition_overrides ORDER BY name";
        let rows: Vec<OverrideRow> = on_pool!(self, pool => sqlx::query_as(SQL)
            .fetch_all(pool)
            .await
            .map_err(db(OP))?);
        rows.into_iter().map(|r| r.into_override(OP)).collect()
    }
}
