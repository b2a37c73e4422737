//! The log of a change names the token that made it.
//!
//! Alone in its test binary: `tracing` caches per call site whether anyone listens, so a
//! test on another thread reaching the same call sites first, with no subscriber, could hide
//! them from this test's subscriber.

use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use crossbar_api::bearer::token_sha256;
use crossbar_api::{ApiConfig, ApiToken, WallClock};
use crossbar_store::Store;
use crossbar_store::testing::SqliteFile;
use jiff::tz::TimeZone;
use tower::ServiceExt;

/// 2026-11-21T09:00:00Z.
const NINE: i64 = 1_795_251_600_000;

/// Collects what the subscriber writes.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl Write for Log {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .expect("no writer panics holding the lock")
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn the_token_name_is_logged_with_the_release() {
    let log = Log::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    // The test runtime is single-threaded: the default subscriber covers the request.
    let _guard = tracing::subscriber::set_default(subscriber);

    let file = SqliteFile::new();
    let store = Store::open(&file.url).await.expect("the test store opens");
    store
        .block_extension("203", "spent 20.40 today (cap 20.00)", NINE)
        .await
        .expect("203 blocked");
    let config = ApiConfig {
        timezone: TimeZone::UTC,
        tokens: vec![ApiToken {
            name: "ops".into(),
            sha256: token_sha256("the-ops-token"),
        }],
        extensions: vec!["203".into()],
        clock: WallClock::fixed(NINE + 60_000),
        ..ApiConfig::read_only(TimeZone::UTC)
    };
    let app = crossbar_api::router_with(store, config);
    let response = app
        .oneshot(
            Request::post("/api/extensions/203/unblock")
                .header("authorization", "Bearer the-ops-token")
                .body(Body::empty())
                .expect("a valid request"),
        )
        .await
        .expect("the router always answers");
    assert_eq!(response.status(), StatusCode::OK);

    let text = String::from_utf8(log.0.lock().expect("not poisoned").clone()).expect("UTF-8");
    let line = text
        .lines()
        .find(|l| l.contains("API: released the block on an extension"))
        .unwrap_or_else(|| panic!("no release logged in:\n{text}"));
    assert!(line.contains(" INFO "), "{line}");
    assert!(line.contains("token=ops"), "{line}");
    assert!(line.contains("extension=203"), "{line}");
}
