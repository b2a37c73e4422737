//! The store's typed errors.

use std::path::PathBuf;

use crate::Backend;

/// What went wrong in the store. A failed write always surfaces as one of these; the caller
/// decides whether to retry ([`StoreError::Database`]) or report a bad value
/// ([`StoreError::Rejected`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The URL names no backend this store speaks.
    #[error(
        "unsupported database URL scheme {scheme:?}: expected `sqlite://PATH`, `sqlite::memory:`, \
         `postgres://...` or `postgresql://...`"
    )]
    UnsupportedUrl { scheme: String },

    /// The URL has a known scheme but the driver could not parse it.
    #[error("invalid {backend} database URL")]
    InvalidUrl {
        backend: crate::Backend,
        #[source]
        source: sqlx::Error,
    },

    /// The directory that should hold the SQLite file could not be created.
    #[error("cannot create the directory {} for the SQLite database", path.display())]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The database could not be reached or opened.
    #[error("cannot connect to the {backend} database")]
    Connect {
        backend: Backend,
        #[source]
        source: sqlx::Error,
    },

    /// The schema migrations failed (or the database holds a newer schema than this binary).
    #[error("cannot bring the {backend} database schema up to date")]
    Migrate {
        backend: Backend,
        #[source]
        source: sqlx::migrate::MigrateError,
    },

    /// The database refused the data (a constraint: empty key, q out of 0..=1000, ...).
    /// Retrying the same write will fail again.
    #[error("{op}: the database rejected the data")]
    Rejected {
        op: &'static str,
        #[source]
        source: sqlx::Error,
    },

    /// Any other database failure (connection lost, pool closed, disk full, locked, ...).
    /// The write did not happen; it may succeed if retried.
    #[error("{op} failed")]
    Database {
        op: &'static str,
        #[source]
        source: sqlx::Error,
    },

    /// A stored value does not fit the Rust type it maps to (written by something else).
    #[error("{op}: stored value out of range: {detail}")]
    OutOfRange { op: &'static str, detail: String },
}

/// Maps a query error for `op`, telling constraint violations apart from other failures.
pub(crate) fn db(op: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |source| {
        let rejected = matches!(
            &source,
            sqlx::Error::Database(e) if !matches!(e.kind(), sqlx::error::ErrorKind::Other)
        );
        if rejected {
            StoreError::Rejected { op, source }
        } else {
            StoreError::Database { op, source }
        }
    }
}
