//! What the store's test files share: a database per test on either backend, and the
//! macro that runs a test once per backend.

pub mod script;

use crossbar_store::testing::{SqliteFile, postgres_database};
use crossbar_store::{Backend, Store};

/// A database for one test: its URL, and what keeps it alive.
pub struct TestDb {
    pub backend: Backend,
    pub url: String,
    /// The SQLite file (kept alive for the test); read by the tests that look at the file.
    // Each test file compiles this module on its own; not all of them read the field.
    #[allow(dead_code)]
    pub sqlite: Option<SqliteFile>,
}

impl TestDb {
    pub async fn new(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => {
                let file = SqliteFile::new();
                TestDb {
                    backend,
                    url: file.url.clone(),
                    sqlite: Some(file),
                }
            }
            Backend::Postgres => TestDb {
                backend,
                url: postgres_database().await.url,
                sqlite: None,
            },
        }
    }

    pub async fn open(&self) -> Store {
        let store = Store::open(&self.url)
            .await
            .unwrap_or_else(|e| panic!("open {}: {}", self.backend, error_chain(&e)));
        assert_eq!(store.backend(), self.backend);
        store
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// Runs each listed `async fn(TestDb)` once per backend, as `sqlite::NAME` and `postgres::NAME`.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(super::TestDb::new(crossbar_store::Backend::Sqlite).await).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(super::TestDb::new(crossbar_store::Backend::Postgres).await).await
                }
            )*
        }
    };
}
