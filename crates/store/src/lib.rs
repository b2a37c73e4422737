//! crossbar-store: the SQL storage layer — SQLite by default, PostgreSQL by URL, one code path.
//!
//! Today it holds registrar bindings ([`bindings`], RFC 3261 §10.3), a small key/value for
//! server secrets ([`secrets`]), call records with their queue visits and the calls in
//! progress ([`calls`]), the callback tasks the records open and complete ([`callbacks`]),
//! queue agents' state and event log ([`agents`]), extension blocks set by fraud caps
//! ([`blocks`]), alerts for administrators ([`alerts`]), the status of SIP trunks with their
//! change log ([`trunks`]), the outbound activity routing limits are checked against
//! ([`activity`]), and what steers incoming calls while crossbar runs: time-condition
//! overrides ([`time_conditions`]), the caller blocklist ([`blocklist`]) and where round-robin
//! ring groups start ([`ring_groups`]); and the requests the API and the command line make of
//! the running engine ([`requests`]). Each later domain gets its own module on the same
//! [`Store`].
//!
//! The store never reads the clock: every "now" is passed in as unix seconds. Every write
//! either commits or returns a [`StoreError`]; nothing is dropped silently, so the caller
//! decides whether to retry or report.
//!
//! # Why an enum over the native pools, not `sqlx::Any`
//!
//! [`Store`] wraps `enum Pool { Sqlite(SqlitePool), Postgres(PgPool) }` and every query is
//! written once, inside the private `on_pool!` macro, which expands the same block for each
//! arm. We chose this over `sqlx::Any` because:
//!
//! * **One SQL text still serves both backends.** Queries use `$1, $2, ...` placeholders,
//!   which PostgreSQL requires and sqlx's SQLite driver also accepts (it maps `$N` to the N-th
//!   argument), and `INSERT ... ON CONFLICT (...) DO UPDATE SET x = excluded.x`, which both
//!   speak. So the only thing `Any` would save is the two-arm `match`, and the macro hides it.
//! * **Native connect options.** The SQLite side needs `create_if_missing`, WAL,
//!   `synchronous=NORMAL` and a busy timeout, and `BEGIN IMMEDIATE` for write batches. With
//!   `Any` these are lost in the URL round-trip (they would have to be re-applied by hand in an
//!   `after_connect` hook keyed on the backend name).
//! * **Native types and no global driver registry.** `Any` only knows a handful of types and
//!   needs `install_default_drivers()` before first use; the native drivers decode
//!   `BIGINT`/`INTEGER`/`BYTEA`/`BLOB` directly, and later domains (call records) can use richer
//!   types without a detour.
//! * Row decoding stays shared: row structs derive `sqlx::FromRow`, which is generic over the
//!   row type, so one struct decodes rows of both backends.
//!
//! The cost is that each query body is compiled twice (once per backend). The schema is kept
//! per backend (`migrations/sqlite/`, `migrations/postgres/`), embedded with
//! [`sqlx::migrate!`] and run by [`Store::open`].

use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

/// Runs `$body` once per backend with `$pool` bound to the native pool of `$store`: the single
/// code path for queries. Inside the body, `$pool` is a `&SqlitePool` or a `&PgPool`.
macro_rules! on_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.pool {
            $crate::Pool::Sqlite($pool) => $body,
            $crate::Pool::Postgres($pool) => $body,
        }
    };
}

/// Begins a write transaction on either backend: `BEGIN IMMEDIATE` on SQLite, so the write
/// lock is taken up front (waiting out the busy timeout) instead of failing with `SQLITE_BUSY`
/// when a deferred transaction tries to upgrade; a plain `BEGIN` on PostgreSQL.
macro_rules! begin_write {
    ($store:expr, $tx:ident => $body:expr) => {
        match &$store.pool {
            $crate::Pool::Sqlite(pool) => {
                #[allow(unused_mut)]
                let mut $tx = pool
                    .begin_with("BEGIN IMMEDIATE")
                    .await
                    .map_err($crate::error::db("begin transaction"))?;
                $body
            }
            $crate::Pool::Postgres(pool) => {
                #[allow(unused_mut)]
                let mut $tx = pool
                    .begin()
                    .await
                    .map_err($crate::error::db("begin transaction"))?;
                $body
            }
        }
    };
}

pub mod activity;
pub mod agents;
pub mod alerts;
pub mod bindings;
pub mod blocklist;
pub mod blocks;
#[macro_use]
pub mod callbacks;
pub mod calls;
mod error;
pub mod held;
pub mod requests;
pub mod ring_groups;
pub mod secrets;
#[cfg(feature = "testing")]
pub mod testing;
pub mod time_conditions;
pub mod trunks;

pub use activity::{ActivityWindow, ExtensionActivity, OutboundActivity, TrunkActivity};
pub use agents::{
    AgentChange, AgentMembership, AgentPause, AgentStates, AgentUpdate, QueuePosition,
};
pub use alerts::{Alert, AlertKind};
pub use bindings::{Binding, BindingChange};
pub use blocklist::BlockedCaller;
pub use blocks::Block;
pub use callbacks::{
    Assignee, CallbackAttempt, CallbackFilter, CallbackMiss, CallbackSettings, CallbackTask,
    CallbackTaskDetail, TaskEdit,
};
pub use calls::{ActiveCall, Answer, CallChange, CallFilter, Page, TrunkLegs};
pub use error::StoreError;
pub use held::HeldPlace;
pub use requests::{RequestOutcome, StoredRequest, SwitchRequest};
pub use ring_groups::RoundRobinPosition;
pub use time_conditions::TimeConditionOverride;
pub use trunks::{TrunkEvent, TrunkStatusRow};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

/// How long a SQLite connection waits for another writer before failing with "database is
/// locked".
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// SQLite serialises writers anyway; a few connections let readers run beside one writer (WAL).
const SQLITE_MAX_CONNECTIONS: u32 = 4;
const POSTGRES_MAX_CONNECTIONS: u32 = 8;
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// Which database a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        })
    }
}

#[derive(Debug, Clone)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// A handle on the database: cheap to clone (the pool is shared), safe to use from many tasks.
#[derive(Debug, Clone)]
pub struct Store {
    pool: Pool,
    /// How finished calls open and complete callback tasks ([`Store::with_callbacks`]).
    callbacks: std::sync::Arc<CallbackSettings>,
}

impl Store {
    /// Opens (creating if needed) the database at `url` and brings its schema up to date.
    ///
    /// Accepted URLs:
    /// * `sqlite://path/to/file.db` (relative) or `sqlite:///abs/path.db` — the file and its
    ///   parent directory are created if missing; WAL journal, `synchronous=NORMAL`, 5 s busy
    ///   timeout;
    /// * `sqlite::memory:` — a private in-memory database (tests);
    /// * `postgres://...` or `postgresql://...` — any libpq-style URL sqlx understands.
    ///
    /// Running it again on an up-to-date database is a no-op (migrations are versioned).
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        let scheme = url.split(':').next().unwrap_or_default();
        let pool = match scheme {
            "sqlite" => Pool::Sqlite(open_sqlite(url).await?),
            "postgres" | "postgresql" => Pool::Postgres(open_postgres(url).await?),
            _ => {
                return Err(StoreError::UnsupportedUrl {
                    scheme: scheme.to_owned(),
                });
            }
        };
        let store = Store {
            pool,
            callbacks: std::sync::Arc::new(CallbackSettings::default()),
        };
        store.migrate().await?;
        tracing::debug!(backend = %store.backend(), "store opened");
        Ok(store)
    }

    /// Which database this store talks to.
    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// Closes every connection, waiting for those in use to be returned. Later calls on this
    /// store (or its clones) fail with an error.
    pub async fn close(&self) {
        on_pool!(self, pool => pool.close().await)
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let backend = self.backend();
        let result = match &self.pool {
            Pool::Sqlite(pool) => SQLITE_MIGRATIONS.run(pool).await,
            Pool::Postgres(pool) => POSTGRES_MIGRATIONS.run(pool).await,
        };
        result.map_err(|source| StoreError::Migrate { backend, source })
    }
}

async fn open_sqlite(url: &str) -> Result<SqlitePool, StoreError> {
    let backend = Backend::Sqlite;
    let options = SqliteConnectOptions::from_str(url)
        .map_err(|source| StoreError::InvalidUrl { backend, source })?
        .busy_timeout(SQLITE_BUSY_TIMEOUT)
        .foreign_keys(true);
    let in_memory = url.starts_with("sqlite::memory:") || url.contains("mode=memory");
    let pool_options = SqlitePoolOptions::new().acquire_timeout(ACQUIRE_TIMEOUT);
    let (options, pool_options) = if in_memory {
        // Every connection to `:memory:` is its own database unless it shares the cache; keep
        // exactly one connection alive for the store's lifetime so the data does too.
        let pool_options = pool_options
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None);
        (options, pool_options)
    } else {
        create_parent_dir(options.get_filename())?;
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal);
        (
            options,
            pool_options.max_connections(SQLITE_MAX_CONNECTIONS),
        )
    };
    pool_options
        .connect_with(options)
        .await
        .map_err(|source| StoreError::Connect { backend, source })
}

fn create_parent_dir(file: &Path) -> Result<(), StoreError> {
    match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                path: dir.to_owned(),
                source,
            })
        }
        _ => Ok(()),
    }
}

async fn open_postgres(url: &str) -> Result<PgPool, StoreError> {
    let backend = Backend::Postgres;
    let options = PgConnectOptions::from_str(url)
        .map_err(|source| StoreError::InvalidUrl { backend, source })?;
    PgPoolOptions::new()
        .max_connections(POSTGRES_MAX_CONNECTIONS)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_with(options)
        .await
        .map_err(|source| StoreError::Connect { backend, source })
}
