//! Ring-group memory: where each `round_robin` `[[ring_group]]` starts ringing next time,
//! kept across restarts (and shared by the nodes of one database).
//!
//! The engine writes a group's next position with [`Store::set_round_robin_position`] after
//! each call it rings, and reads them all with [`Store::round_robin_positions`] at start.
//! A position is an index in the group's member list; the engine wraps it to the list's
//! length, so a list shortened in the configuration needs nothing done here.

use crate::error::db;
use crate::{Store, StoreError};

/// Where a round-robin ring group starts next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoundRobinPosition {
    /// The `[[ring_group]]`'s name.
    pub group: String,
    /// The index of the member to ring first next time.
    pub next: usize,
    /// When it was last written (unix milliseconds).
    pub updated_at_ms: i64,
}

/// A `ring_group_positions` row as stored.
#[derive(sqlx::FromRow)]
struct PositionRow {
    name: String,
    next: i64,
    updated_at_ms: i64,
}

const UPSERT: &str = "INSERT INTO ring_group_positions (name, next, updated_at_ms) \
     VALUES ($1, $2, $3) ON CONFLICT (name) DO UPDATE SET next = excluded.next, \
     updated_at_ms = excluded.updated_at_ms";
const LIST: &str = "SELECT name, next, updated_at_ms FROM ring_group_positions ORDER BY name";

impl Store {
    /// Notes that ring group `group` starts at member `next` next time (at `at_ms`, unix
    /// milliseconds), replacing what was noted before.
    pub async fn set_round_robin_position(
        &self,
        group: &str,
        next: usize,
        at_ms: i64,
    ) -> Result<(), StoreError> {
        const OP: &str = "store ring group position";
        let next = i64::try_from(next).map_err(|_| StoreError::OutOfRange {
            op: OP,
            detail: format!("next = {next} for ring group {group:?}"),
        })?;
        on_pool!(self, pool => sqlx::query(UPSERT)
            .bind(group)
            .bind(next)
            .bind(at_ms)
            .execute(pool)
            .await
            .map(drop)
            .map_err(db(OP)))
    }

    /// Every ring group's next position, by group name.
    pub async fn round_robin_positions(&self) -> Result<Vec<RoundRobinPosition>, StoreError> {
        const OP: &str = "list ring group positions";
        let rows: Vec<PositionRow> = on_pool!(self, pool => sqlx::query_as(LIST)
            .fetch_all(pool)
            .await
            .map_err(db(OP))?);
        rows.into_iter()
            .map(|row| {
                let next = usize::try_from(row.next).map_err(|_| StoreError::OutOfRange {
                    op: OP,
                    detail: format!("next = {} for ring group {:?}", row.next, row.name),
                })?;
                Ok(RoundRobinPosition {
                    group: row.name,
                    next,
                    updated_at_ms: row.updated_at_ms,
                })
            })
            .collect()
    }
}
