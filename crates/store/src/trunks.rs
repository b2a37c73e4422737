//! Trunk status: the latest status of every SIP trunk to a carrier, and the log of its
//! changes, as the running switch reports them.
//!
//! Who writes what:
//! * the switch reports every change of a trunk's registration (RFC 3261 §10.2) or OPTIONS
//!   health as a status; the server's writer task calls [`Store::record_trunk_status`] with
//!   each one, in the order they happened. One call upserts the trunk's `trunk_status` row
//!   and appends the change to `trunk_events`, in one transaction;
//! * `crossbar trunks` and `GET /api/trunks` read [`Store::trunk_statuses`] and
//!   [`Store::trunk_events`]; the route simulator reads the statuses to skip trunks that are
//!   down.
//!
//! The state words are the switch's, stored as text: `registration` is `registered`,
//! `registering`, `failed` or `unregistered` (`None`: the trunk does not register), `health`
//! is `up`, `down`, `unknown` (no verdict yet) or `unchecked` (health checks off). The store
//! does not interpret them beyond [`TrunkStatusRow::is_down`], so a new word needs no
//! migration.
//!
//! The change log is bounded by age: each append removes the events more than
//! [`TRUNK_EVENTS_KEPT_DAYS`] days older than the one appended (an indexed range delete that
//! finds nothing almost every time). A trunk removed from the configuration keeps its status
//! row; `crossbar trunks` lists the configured trunks only.

use crate::error::db;
use crate::{Store, StoreError};

/// How long the change log is kept, in days, counted back from the newest change appended.
pub const TRUNK_EVENTS_KEPT_DAYS: i64 = 30;

const DAY_MS: i64 = 86_400_000;

/// A trunk's status: the latest one reported (a `trunk_status` row), or the one to record.
/// The fields mirror the switch's report of a change.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TrunkStatusRow {
    /// The trunk's name (`[[trunk]] name`).
    pub trunk: String,
    /// When the change happened (unix milliseconds).
    pub at_ms: i64,
    /// What changed, a sentence: `registered (for 3600 s)`, `down: health check failed (408)`.
    pub change: String,
    /// `registered`, `registering`, `failed`, `unregistered`; `None`: does not register.
    pub registration: Option<String>,
    /// Until when the carrier holds the registration (unix milliseconds).
    pub registered_until_ms: Option<i64>,
    /// `up`, `down`, `unknown` (no verdict yet), `unchecked` (health checks off).
    pub health: String,
    /// Since when the health has been what it is (unix milliseconds).
    pub health_since_ms: Option<i64>,
    /// The latest failure: registration refused, carrier not answering, address not found.
    pub last_failure: Option<String>,
    pub last_failure_at_ms: Option<i64>,
}

impl TrunkStatusRow {
    /// The health word for a trunk whose health checks fail.
    pub const DOWN: &'static str = "down";

    /// Whether the trunk's health checks fail, so routing skips it. Every other health (up,
    /// no verdict yet, checks off) lets calls through.
    pub fn is_down(&self) -> bool {
        self.health == Self::DOWN
    }
}

/// One change of a trunk, from the change log.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TrunkEvent {
    /// The event's row id, increasing in the order events were appended.
    pub id: i64,
    pub trunk: String,
    /// When it happened (unix milliseconds).
    pub at_ms: i64,
    /// What changed, a sentence.
    pub change: String,
    /// The health after the change.
    pub health: String,
    /// The registration after the change (`None`: the trunk does not register).
    pub registration: Option<String>,
}

/// Upserts the status, unless the stored one is newer (reports from two nodes sharing the
/// database, or a clock stepped back, never replace a later status with an earlier one).
const UPSERT_STATUS: &str = "INSERT INTO trunk_status (trunk, at_ms, change, registration, \
     registered_until_ms, health, health_since_ms, last_failure, last_failure_at_ms) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
     ON CONFLICT (trunk) DO UPDATE SET at_ms = excluded.at_ms, change = excluded.change, \
     registration = excluded.registration, registered_until_ms = excluded.registered_until_ms, \
     health = excluded.health, health_since_ms = excluded.health_since_ms, \
     last_failure = excluded.last_failure, last_failure_at_ms = excluded.last_failure_at_ms \
     WHERE trunk_status.at_ms <= excluded.at_ms";
const APPEND_EVENT: &str = "INSERT INTO trunk_events (trunk, at_ms, change, health, \
     registration) VALUES ($1, $2, $3, $4, $5)";
const PRUNE_EVENTS: &str = "DELETE FROM trunk_events WHERE at_ms < $1";
const STATUSES: &str = "SELECT trunk, at_ms, change, registration, registered_until_ms, \
     health, health_since_ms, last_failure, last_failure_at_ms FROM trunk_status \
     ORDER BY trunk";
const EVENTS: &str = "SELECT id, trunk, at_ms, change, health, registration \
     FROM trunk_events ORDER BY at_ms DESC, id DESC LIMIT $1";
const EVENTS_OF: &str = "SELECT id, trunk, at_ms, change, health, registration \
     FROM trunk_events WHERE trunk = $2 ORDER BY at_ms DESC, id DESC LIMIT $1";

impl Store {
    /// Records a change of a trunk, in one transaction: `status` becomes the trunk's latest
    /// status (unless a later one is stored already) and the change is appended to the log,
    /// whose events more than [`TRUNK_EVENTS_KEPT_DAYS`] days older than this one are
    /// removed. `status.trunk` and `status.health` must not be empty
    /// ([`StoreError::Rejected`]).
    ///
    /// Made to be called by one writer task for every change the switch reports, in order:
    /// it takes the write lock once, writes two rows and deletes the expired ones (usually
    /// none). On [`StoreError::Database`] nothing was written and the call may be retried
    /// as is.
    pub async fn record_trunk_status(&self, status: &TrunkStatusRow) -> Result<(), StoreError> {
        const OP: &str = "record trunk status";
        let expired_before = status.at_ms.saturating_sub(TRUNK_EVENTS_KEPT_DAYS * DAY_MS);
        begin_write!(self, tx => {
            sqlx::query(UPSERT_STATUS)
                .bind(&status.trunk)
                .bind(status.at_ms)
                .bind(&status.change)
                .bind(&status.registration)
                .bind(status.registered_until_ms)
                .bind(&status.health)
                .bind(status.health_since_ms)
                .bind(&status.last_failure)
                .bind(status.last_failure_at_ms)
                .execute(&mut *tx)
                .await
                .map_err(db(OP))?;
            sqlx::query(APPEND_EVENT)
                .bind(&status.trunk)
                .bind(status.at_ms)
                .bind(&status.change)
                .bind(&status.health)
                .bind(&status.registration)
                .execute(&mut *tx)
                .await
                .map_err(db(OP))?;
            sqlx::query(PRUNE_EVENTS)
                .bind(expired_before)
                .execute(&mut *tx)
                .await
                .map_err(db(OP))?;
            tx.commit().await.map_err(db("commit trunk status"))?;
        });
        tracing::debug!(
            trunk = %status.trunk,
            change = %status.change,
            health = %status.health,
            "trunk status recorded"
        );
        Ok(())
    }

    /// The latest status of every trunk that ever reported one, by trunk name.
    pub async fn trunk_statuses(&self) -> Result<Vec<TrunkStatusRow>, StoreError> {
        const OP: &str = "list trunk statuses";
        on_pool!(self, pool => sqlx::query_as(STATUSES)
            .fetch_all(pool)
            .await
            .map_err(db(OP)))
    }

    /// At most `limit` changes, newest first; only `trunk`'s if given.
    pub async fn trunk_events(
        &self,
        trunk: Option<&str>,
        limit: u32,
    ) -> Result<Vec<TrunkEvent>, StoreError> {
        const OP: &str = "list trunk events";
        let limit = i64::from(limit);
        on_pool!(self, pool => match trunk {
            None => sqlx::query_as(EVENTS).bind(limit).fetch_all(pool).await,
            Some(trunk) => sqlx::query_as(EVENTS_OF)
                .bind(limit)
                .bind(trunk)
                .fetch_all(pool)
                .await,
        }
        .map_err(db(OP)))
    }
}
