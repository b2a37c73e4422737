//! Extension blocks: an extension that tripped a class-of-service fraud cap (too many calls
//! a minute or a day, too much spend a day) may place no outbound call until an
//! administrator releases it. Blocks live in the database so they survive a restart, and
//! every block is kept after its release, with who released it and when, as history.
//!
//! Who writes what:
//! * the engine calls [`Store::block_extension`] when an extension trips a cap (and raises an
//!   alert, [`Store::raise_alert`], when it returns `true`);
//! * an administrator releases the block with `crossbar extension unblock 201` or
//!   `POST /api/extensions/201/unblock`, which call [`Store::unblock_extension`] and only
//!   write the database;
//! * the running engine learns of a release (or of a block written by another node sharing
//!   the database) by re-reading [`Store::blocked_extensions`] every 2 seconds: one indexed
//!   query over the blocks in force, cheap enough to poll.
//!
//! At most one block per extension is in force at a time (a partial unique index on both
//! backends), so blocking a blocked extension changes nothing.

use crate::error::db;
use crate::{Store, StoreError};

/// One block of an extension, in force or released.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Block {
    /// The block's row id, increasing in the order blocks were written.
    pub id: i64,
    /// The blocked extension's number.
    pub extension: String,
    /// When it was blocked (unix milliseconds).
    pub blocked_at_ms: i64,
    /// Why, for people: the cap that tripped and by how much.
    pub reason: String,
    /// When it was released (unix milliseconds); `None` while the block is in force.
    pub released_at_ms: Option<i64>,
    /// Who released it (`token:NAME` through the API, `cli:USER` from the command line);
    /// `None` while the block is in force.
    pub released_by: Option<String>,
}

impl Block {
    /// Whether the block still stops the extension's outbound calls.
    pub fn in_force(&self) -> bool {
        self.released_at_ms.is_none()
    }
}

/// Inserts a block unless one is in force: the conflict target names the partial unique
/// index `extension_blocks_in_force` (column and predicate, as both backends require).
const BLOCK: &str = "INSERT INTO extension_blocks (extension, blocked_at_ms, reason) \
     VALUES ($1, $2, $3) \
     ON CONFLICT (extension) WHERE released_at_ms IS NULL DO NOTHING";
/// Releases the block in force; a release is never recorded before its block (clocks of
/// nodes sharing a database may disagree).
const UNBLOCK: &str = "UPDATE extension_blocks SET \
     released_at_ms = CASE WHEN $3 < blocked_at_ms THEN blocked_at_ms ELSE $3 END, \
     released_by = $2 \
     WHERE extension = $1 AND released_at_ms IS NULL \
     RETURNING id, extension, blocked_at_ms, reason, released_at_ms, released_by";

impl Store {
    /// Blocks `extension`'s outbound calls from `at_ms` (unix milliseconds) for `reason`
    /// (non-empty). Returns `false`, changing nothing, if a block is already in force; so the
    /// caller raises its alert only when this returns `true`.
    ///
    /// The engine learns of blocks written elsewhere (another node) through
    /// [`Store::blocked_extensions`], which it re-reads every 2 seconds.
    pub async fn block_extension(
        &self,
        extension: &str,
        reason: &str,
        at_ms: i64,
    ) -> Result<bool, StoreError> {
        const OP: &str = "block extension";
        let inserted = on_pool!(self, pool => sqlx::query(BLOCK)
            .bind(extension)
            .bind(at_ms)
            .bind(reason)
            .execute(pool)
            .await
            .map_err(db(OP))?
            .rows_affected());
        if inserted > 0 {
            tracing::info!(extension, reason, "extension blocked");
        }
        Ok(inserted > 0)
    }

    /// Releases the block in force on `extension`, noting `by` (who: `token:NAME`,
    /// `cli:USER`; non-empty) and `at_ms` (unix milliseconds; a time before the block is
    /// recorded as the block's own time). Returns the released block, or `None` if the
    /// extension was not blocked.
    ///
    /// This only writes the database: the running engine picks the release up when it next
    /// re-reads [`Store::blocked_extensions`] (every 2 seconds), so the extension may place
    /// outbound calls again within 2 seconds of this returning.
    pub async fn unblock_extension(
        &self,
        extension: &str,
        by: &str,
        at_ms: i64,
    ) -> Result<Option<Block>, StoreError> {
        const OP: &str = "release extension block";
        let released: Option<Block> = on_pool!(self, pool => sqlx::query_as(UNBLOCK)
            .bind(extension)
            .bind(by)
            .bind(at_ms)
            .fetch_optional(pool)
            .await
            .map_err(db(OP))?);
        if released.is_some() {
            tracing::info!(extension, by, "extension block released");
        }
        Ok(released)
    }

    /// The blocks in force, by extension number: the extensions that may not place outbound
    /// calls now.
    ///
    /// The engine re-reads this every 2 seconds to learn of releases made through the API or
    /// the command line (and of blocks written by other nodes); it reads only the partial
    /// index of blocks in force, however long the history grows.
    pub async fn blocked_extensions(&self) -> Result<Vec<Block>, StoreError> {
        const OP: &str = "list blocked extensions";
        const SQL: &str = "SELECT id, extension, blocked_at_ms, reason, released_at_ms, \
             released_by FROM extension_blocks WHERE released_at_ms IS NULL ORDER BY extension";
        on_pool!(self, pool => sqlx::query_as(SQL)
            .fetch_all(pool)
            .await
            .map_err(db(OP)))
    }

    /// Every block, in force or released, newest first; only `extension`'s if given.
    pub async fn blocks(&self, extension: Option<&str>) -> Result<Vec<Block>, StoreError> {
        const OP: &str = "list extension blocks";
        const ALL: &str = "SELECT id, extension, blocked_at_ms, reason, released_at_ms, \
             released_by FROM extension_blocks ORDER BY blocked_at_ms DESC, id DESC";
        const ONE: &str = "SELECT id, extension, blocked_at_ms, reason, released_at_ms, \
             released_by FROM extension_blocks WHERE extension = $1 \
             ORDER BY blocked_at_ms DESC, id DESC";
        on_pool!(self, pool => match extension {
            None => sqlx::query_as(ALL).fetch_all(pool).await,
            Some(extension) => sqlx::query_as(ONE).bind(extension).fetch_all(pool).await,
        }
        .map_err(db(OP)))
    }
}
