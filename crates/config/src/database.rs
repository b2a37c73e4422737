//! `[database]`: where call records and registrations are stored.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::load::{Loader, Section};

pub(crate) const KEYS: &[&str] = &["url"];

/// The database URL used when `[database] url` is absent; relative to the configuration file.
pub const DEFAULT_URL: &str = "sqlite://var/crossbar.db";

/// The `[database]` section, resolved.
///
/// URL forms accepted in `url`:
/// - `sqlite://PATH` or `sqlite:PATH` — a relative PATH is resolved against the directory of the
///   configuration file (not the working directory), so the file means the same thing wherever
///   crossbar is started from; `sqlite:///abs/path.db` is absolute;
/// - `sqlite::memory:` — an in-memory database (tests);
/// - `postgres://...` or `postgresql://...` — kept verbatim.
#[derive(Clone, PartialEq, Eq)]
pub enum Database {
    /// An SQLite file, as an absolute path.
    Sqlite { path: PathBuf },
    /// An SQLite database that lives in memory and vanishes at exit.
    SqliteMemory,
    /// A PostgreSQL connection URL.
    Postgres { url: String },
}

impl Database {
    /// A URL for the database driver (`sqlx`): `sqlite:///abs/path.db`, `sqlite::memory:` or the
    /// PostgreSQL URL as written.
    pub fn url(&self) -> String {
        match self {
            Database::Sqlite { path } => format!("sqlite://{}", path.display()),
            Database::SqliteMemory => "sqlite::memory:".to_owned(),
            Database::Postgres { url } => url.clone(),
        }
    }
}

impl fmt::Debug for Database {
    /// Hides the password of a PostgreSQL URL.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Database::Sqlite { path } => f.debug_struct("Sqlite").field("path", path).finish(),
            Database::SqliteMemory => f.write_str("SqliteMemory"),
            Database::Postgres { url } => f
                .debug_struct("Postgres")
                .field("url", &redact_password(url))
                .finish(),
        }
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    match authority.rfind('@') {
        Some(at) => match authority[..at].split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***{}", &rest[at..]),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

pub(crate) fn parse(ld: &mut Loader<'_>, section: &Section<'_, '_>) -> Database {
    section.reject_unknown_keys(ld, KEYS);
    let base = ld.base_dir();
    match section.string(ld, "url") {
        Some(url) => match resolve(url.value, &base) {
            Ok(database) => database,
            Err(message) => {
                ld.error(&url.span, &section.key("url"), message);
                default(&base)
            }
        },
        None => default(&base),
    }
}

fn default(base: &Path) -> Database {
    resolve(DEFAULT_URL, base).expect("the default database URL is valid")
}

fn resolve(url: &str, base: &Path) -> Result<Database, String> {
    if url == "sqlite::memory:" || url == "sqlite://:memory:" {
        return Ok(Database::SqliteMemory);
    }
    if let Some(rest) = url.strip_prefix("sqlite:") {
        let path = rest.strip_prefix("//").unwrap_or(rest);
        if path.is_empty() {
            return Err(format!(
                "`{url}` names no file (e.g. sqlite://var/crossbar.db)"
            ));
        }
        if path.contains(['?', '#']) {
            return Err(format!(
                "`{url}`: SQLite URL options are not supported here; crossbar sets them itself"
            ));
        }
        let path = Path::new(path);
        let joined = if path.is_absolute() {
            path.to_path_buf()
        } else {
            base.join(path)
        };
        // `absolute` does not touch the file system (the file may not exist yet); it only
        // prefixes the working directory when the configuration path itself was relative.
        let path = std::path::absolute(&joined).unwrap_or(joined);
        return Ok(Database::Sqlite { path });
    }
    for scheme in ["postgres://", "postgresql://"] {
        if let Some(rest) = url.strip_prefix(scheme) {
            if rest.is_empty() || rest == "/" {
                return Err(format!("`{scheme}` names no server or database"));
            }
            return Ok(Database::Postgres {
                url: url.to_owned(),
            });
        }
    }
    let shown = redact_password(url);
    Err(format!(
        "`{shown}` is not a supported database URL: expected sqlite://PATH, \
         postgres://... or postgresql://..."
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_only_the_password() {
        assert_eq!(
            redact_password("postgres://pbx:hunter22@db.local:5432/crossbar"),
            "postgres://pbx:***@db.local:5432/crossbar"
        );
        assert_eq!(
            redact_password("postgres://db.local/crossbar"),
            "postgres://db.local/crossbar"
        );
    }

    #[test]
    fn absolute_sqlite_paths_are_kept() {
        let db = resolve("sqlite:///srv/pbx.db", Path::new("/etc/crossbar")).unwrap();
        assert_eq!(
            db,
            Database::Sqlite {
                path: PathBuf::from("/srv/pbx.db")
            }
        );
    }
}
