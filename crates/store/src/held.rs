//! Places kept in a queue's line for callers waiting for a callback (issue 9, virtual hold):
//! a caller who took "press 1 to be called back" has hung up, and their place must survive a
//! restart like the agents' state does. The switch reports each place kept and each place
//! given up; at start the engine reads back the places whose caller still has an open
//! callback task ([`Store::held_places`]) and puts them in line again, in the order the
//! callers joined.

use crossbar_cdr::CallId;

use crate::error::db;
use crate::{Store, StoreError};

pub use crossbar_cdr::callbacks::HeldPlace;

const INSERT: &str = "INSERT INTO queue_held (call_id, queue, customer, did, vip, joined_at_ms) \
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (call_id) DO NOTHING";
const DELETE: &str = "DELETE FROM queue_held WHERE call_id = $1";
/// A place whose caller has no open callback task any more was reached (the task completed)
/// or given up (cancelled, unreached): it is not restored.
const DELETE_SETTLED: &str = "DELETE FROM queue_held WHERE customer NOT IN \
     (SELECT number FROM callback_tasks WHERE state = 'open')";
const LIST: &str = "SELECT call_id, queue, customer, did, vip, joined_at_ms FROM queue_held \
     ORDER BY joined_at_ms, call_id";

/// A `queue_held` row as stored.
#[derive(sqlx::FromRow)]
struct HeldRow {
    call_id: String,
    queue: String,
    customer: String,
    did: Option<String>,
    vip: bool,
    joined_at_ms: i64,
}

impl Store {
    /// Notes a place kept in line for a caller waiting for a callback. Noting the same call
    /// again changes nothing.
    pub async fn keep_held_place(&self, place: &HeldPlace) -> Result<(), StoreError> {
        on_pool!(self, pool => sqlx::query(INSERT)
            .bind(&place.call.0)
            .bind(&place.queue)
            .bind(&place.customer)
            .bind(&place.did)
            .bind(place.vip)
            .bind(place.joined_at_ms)
            .execute(pool)
            .await
            .map(drop)
            .map_err(db("store a place kept for a callback")))
    }

    /// The place kept for the caller of `call` is given up (served, reached another way,
    /// taken back in person); returns whether one was kept.
    pub async fn release_held_place(&self, call: &CallId) -> Result<bool, StoreError> {
        let deleted = on_pool!(self, pool => sqlx::query(DELETE)
            .bind(&call.0)
            .execute(pool)
            .await
            .map_err(db("give up a place kept for a callback"))?
            .rows_affected());
        Ok(deleted > 0)
    }

    /// The places kept whose caller's callback task is still open, in the order the callers
    /// joined; the others are forgotten (in the same transaction). Call it at start, after
    /// [`Store::finish_interrupted`] (which completes the tasks of callbacks answered before
    /// a crash).
    pub async fn held_places(&self) -> Result<Vec<HeldPlace>, StoreError> {
        const OP: &str = "read the places kept for callbacks";
        let rows: Vec<HeldRow> = begin_write!(self, tx => {
            sqlx::query(DELETE_SETTLED)
                .execute(&mut *tx)
                .await
                .map_err(db(OP))?;
            let rows: Vec<HeldRow> = sqlx::query_as(LIST)
                .fetch_all(&mut *tx)
                .await
                .map_err(db(OP))?;
            tx.commit().await.map_err(db(OP))?;
            rows
        });
        Ok(rows
            .into_iter()
            .map(|row| HeldPlace {
                call: CallId(row.call_id),
                queue: row.queue,
                customer: row.customer,
                did: row.did,
                vip: row.vip,
                joined_at_ms: row.joined_at_ms,
            })
            .collect())
    }
}
