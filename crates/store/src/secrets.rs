//! A small key/value store for server secrets, e.g. the digest nonce key, so that nonces
//! handed out before a restart still verify after it.

use crate::error::db;
use crate::{Store, StoreError};

const GET: &str = "SELECT value FROM secrets WHERE name = $1";
const PUT: &str = "INSERT INTO secrets (name, value) VALUES ($1, $2) \
     ON CONFLICT (name) DO UPDATE SET value = excluded.value";

impl Store {
    /// The secret stored under `name`, if any.
    pub async fn secret(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        const OP: &str = "read secret";
        on_pool!(self, pool => sqlx::query_scalar(GET)
            .bind(name)
            .fetch_optional(pool)
            .await
            .map_err(db(OP)))
    }

    /// Stores `value` under `name`, replacing any previous value. `name` must not be empty.
    pub async fn put_secret(&self, name: &str, value: &[u8]) -> Result<(), StoreError> {
        const OP: &str = "store secret";
        on_pool!(self, pool => sqlx::query(PUT)
            .bind(name)
            .bind(value)
            .execute(pool)
            .await
            .map(drop)
            .map_err(db(OP)))
    }
}
