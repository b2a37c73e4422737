//! The caller blocklist kept in the database: callers refused before any inbound route, in
//! addition to the configuration's `[inbound] blocklist` (which only a new configuration
//! changes). A pattern is an E.164 number, a prefix or a range ([`NumberPattern`], the same
//! forms the configuration accepts), stored in the form it prints.
//!
//! Who writes what:
//! * `crossbar blocklist add|remove` and `POST /api/blocklist`, `DELETE
//!   /api/blocklist/{pattern}` call [`Store::add_blocked_caller`] and
//!   [`Store::remove_blocked_caller`], and only write the database;
//! * the running engine re-reads [`Store::blocked_callers`] every 2 seconds, so a pattern
//!   added or removed applies to the calls that arrive within 2 seconds.

use crossbar_config::NumberPattern;

use crate::error::db;
use crate::{Store, StoreError};

/// One pattern of the database blocklist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockedCaller {
    pub pattern: NumberPattern,
    /// When it was added (unix milliseconds).
    pub added_at_ms: i64,
    /// Who added it (`token:NAME` through the API, `cli:USER` from the command line).
    pub added_by: String,
    /// Why, for people.
    pub note: Option<String>,
}

/// A `caller_blocklist` row as stored.
#[derive(sqlx::FromRow)]
struct BlockedRow {
    pattern: String,
    added_at_ms: i64,
    added_by: String,
    note: Option<String>,
}

impl BlockedRow {
    fn into_blocked(self, op: &'static str) -> Result<BlockedCaller, StoreError> {
        let pattern = NumberPattern::parse(&self.pattern).map_err(|e| StoreError::OutOfRange {
            op,
            detail: format!("caller_blocklist.pattern {:?}: {e}", self.pattern),
        })?;
        Ok(BlockedCaller {
            pattern,
            added_at_ms: self.added_at_ms,
            added_by: self.added_by,
            note: self.note,
        })
    }
}

const ADD: &str = "INSERT INTO caller_blocklist (pattern, added_at_ms, added_by, note) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (pattern) DO NOTHING";
const REMOVE: &str = "DELETE FROM caller_blocklist WHERE pattern = $1 \
     RETURNING pattern, added_at_ms, added_by, note";
const LIST: &str = "SELECT pattern, added_at_ms, added_by, note FROM caller_blocklist \
     ORDER BY pattern";

impl Store {
    /// Adds `pattern` to the blocklist, noting who (`by`, non-empty), when (`at_ms`, unix
    /// milliseconds) and why (`note`). Returns `false`, changing nothing, if the pattern is
    /// already on it.
    ///
    /// This only writes the database; the running engine re-reads
    /// [`Store::blocked_callers`] every 2 seconds.
    pub async fn add_blocked_caller(
        &self,
        pattern: &NumberPattern,
        note: Option<&str>,
        by: &str,
        at_ms: i64,
    ) -> Result<bool, StoreError> {
        const OP: &str = "add caller to the blocklist";
        let text = pattern.to_string();
        let added = on_pool!(self, pool => sqlx::query(ADD)
            .bind(&text)
            .bind(at_ms)
            .bind(by)
            .bind(note)
            .execute(pool)
            .await
            .map_err(db(OP))?
            .rows_affected());
        if added > 0 {
            tracing::info!(pattern = %text, by, "caller pattern blocked");
        }
        Ok(added > 0)
    }

    /// Removes `pattern` from the blocklist; returns what was removed, or `None` if the
    /// pattern was not on it (the configuration's `[inbound] blocklist` is not in the
    /// database: it is changed in the configuration file).
    ///
    /// This only writes the database; the running engine re-reads
    /// [`Store::blocked_callers`] every 2 seconds.
    pub async fn remove_blocked_caller(
        &self,
        pattern: &NumberPattern,
    ) -> Result<Option<BlockedCaller>, StoreError> {
        const OP: &str = "remove caller from the blocklist";
        let text = pattern.to_string();
        let removed: Option<BlockedRow> = on_pool!(self, pool => sqlx::query_as(REMOVE)
            .bind(&text)
            .fetch_optional(pool)
            .await
            .map_err(db(OP))?);
        if removed.is_some() {
            tracing::info!(pattern = %text, "caller pattern unblocked");
        }
        removed.map(|row| row.into_blocked(OP)).transpose()
    }

    /// Every pattern of the database blocklist, in the order of their text. The running
    /// engine re-reads this every 2 seconds to learn of patterns added or removed through
    /// the API or the command line (or by another node).
    pub async fn blocked_callers(&self) -> Result<Vec<BlockedCaller>, StoreError> {
        const OP: &str = "list blocked callers";
        let rows: Vec<BlockedRow> = on_pool!(self, pool => sqlx::query_as(LIST)
            .fetch_all(pool)
            .await
            .map_err(db(OP))?);
        rows.into_iter().map(|r| r.into_blocked(OP)).collect()
    }
}
