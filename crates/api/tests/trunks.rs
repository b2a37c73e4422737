//! `GET /api/trunks` and `GET /api/trunks/{name}/events` over a real SQLite store, with
//! statuses written through the store API as the switch's writer writes them, and the
//! trunks of the route simulator's test configuration (`crates/server/tests/data`).

use std::path::Path;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use crossbar_api::{ApiConfig, WallClock};
use crossbar_config::Config;
use crossbar_store::testing::SqliteFile;
use crossbar_store::{Store, TrunkStatusRow};
use http_body_util::BodyExt;
use jiff::tz::TimeZone;
use serde_json::{Value, json};
use tower::ServiceExt;

/// 2026-11-21T09:00:00Z.
const NINE: i64 = 1_795_251_600_000;
const MINUTE: i64 = 60_000;
const HOUR: i64 = 3_600_000;

/// Two trunks: carrier-a (registers, UDP, health checks), carrier-b (TCP over IPv6, no
/// registration nor health checks).
fn site_config() -> Config {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../server/tests/data/route_explain.toml");
    Config::load(&path).unwrap_or_else(|errors| panic!("{}: {errors}", path.display()))
}

fn registered(at_ms: i64) -> TrunkStatusRow {
    TrunkStatusRow {
        trunk: "carrier-a".into(),
        at_ms,
        change: "registered (for 3600 s)".into(),
        registration: Some("registered".into()),
        registered_until_ms: Some(at_ms + HOUR),
        health: "up".into(),
        health_since_ms: Some(at_ms - MINUTE),
        last_failure: None,
        last_failure_at_ms: None,
    }
}

fn down(at_ms: i64) -> TrunkStatusRow {
    // Registered two minutes before, and now failing its health checks.
    TrunkStatusRow {
        at_ms,
        change: "down: health check failed (408)".into(),
        health: "down".into(),
        health_since_ms: Some(at_ms),
        last_failure: Some("OPTIONS timed out (408)".into()),
        last_failure_at_ms: Some(at_ms),
        ..registered(at_ms - 2 * MINUTE)
    }
}

struct Site {
    app: Router,
    _file: SqliteFile,
}

/// The API over a store where carrier-a registered at 09:00 and went down at 09:05, and a
/// trunk no longer configured reported once; carrier-b never reported.
async fn site() -> Site {
    let file = SqliteFile::new();
    let store = Store::open(&file.url).await.expect("the test store opens");
    for status in [
        registered(NINE),
        down(NINE + 5 * MINUTE),
        TrunkStatusRow {
            trunk: "retired".into(),
            ..registered(NINE)
        },
    ] {
        store
            .record_trunk_status(&status)
            .await
            .expect("status recorded");
    }
    let config = site_config();
    let api = ApiConfig {
        trunks: config.trunks.clone(),
        clock: WallClock::fixed(NINE + HOUR),
        ..ApiConfig::read_only(TimeZone::UTC)
    };
    Site {
        app: crossbar_api::router_with(store, api),
        _file: file,
    }
}

async fn get(app: &Router, uri: &str) -> (StatusCode, Value) {
    let response = app
        .clone()
        .oneshot(
            Request::get(uri)
                .body(Body::empty())
                .expect("a valid request"),
        )
        .await
        .expect("the router always answers");
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("the body is readable")
        .to_bytes();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("{uri}: not JSON ({e}): {}", String::from_utf8_lossy(&bytes)));
    (status, body)
}

#[tokio::test]
async fn trunks_are_the_configured_ones_with_their_latest_status_or_null() {
    let site = site().await;
    let (status, body) = get(&site.app, "/api/trunks").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({ "trunks": [
            {
                "name": "carrier-a",
                "address": "sip.carrier-a.example:5060",
                "transport": "udp",
                "registers": true,
                "health_checks": true,
                "calls": 0,
                "status": {
                    "at_ms": NINE + 5 * MINUTE,
                    "change": "down: health check failed (408)",
                    "registration": "registered",
                    "registered_until_ms": NINE + 3 * MINUTE + HOUR,
                    "health": "down",
                    "health_since_ms": NINE + 5 * MINUTE,
                    "last_failure": "OPTIONS timed out (408)",
                    "last_failure_at_ms": NINE + 5 * MINUTE,
                }
            },
            {
                "name": "carrier-b",
                "address": "[2001:db8::5060]:5060",
                "transport": "tcp",
                "registers": false,
                "health_checks": false,
                "calls": 0,
                "status": null
            }
        ]})
    );
}

#[tokio::test]
async fn a_trunks_events_are_listed_newest_first_up_to_a_limit() {
    let site = site().await;
    let (status, body) = get(&site.app, "/api/trunks/carrier-a/events").await;
    assert_eq!(status, StatusCode::OK);
    let events = body["events"].as_array().expect("an array of events");
    let summary: Vec<(&str, i64, &str, &str, &str)> = events
        .iter()
        .map(|e| {
            assert!(e["id"].is_i64(), "{e}");
            (
                e["trunk"].as_str().expect("trunk"),
                e["at_ms"].as_i64().expect("at_ms"),
                e["change"].as_str().expect("change"),
                e["health"].as_str().expect("health"),
                e["registration"].as_str().expect("registration"),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                "carrier-a",
                NINE + 5 * MINUTE,
                "down: health check failed (408)",
                "down",
                "registered"
            ),
            (
                "carrier-a",
                NINE,
                "registered (for 3600 s)",
                "up",
                "registered"
            ),
        ]
    );
    assert_eq!(body["trunk"], "carrier-a");
    assert_eq!(body["limit"], 50);

    let (status, body) = get(&site.app, "/api/trunks/carrier-a/events?limit=1").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["events"].as_array().map(Vec::len), Some(1));
    assert_eq!(body["events"][0]["at_ms"], NINE + 5 * MINUTE);
    assert_eq!(body["limit"], 1);

    let (status, body) = get(&site.app, "/api/trunks/carrier-b/events").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["events"], json!([]));
}

#[tokio::test]
async fn events_of_a_trunk_not_configured_or_with_a_bad_limit_are_refused() {
    let site = site().await;
    let (status, body) = get(&site.app, "/api/trunks/retired/events").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        body,
        json!({ "error": "retired is not a trunk of the configuration" })
    );
    let (status, body) = get(&site.app, "/api/trunks/carrier-a/events?limit=lots").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({ "error": "limit: `lots` is not a whole number from 0 to 1000" })
    );
    let (status, _) = get(&site.app, "/api/trunks/carrier-a/events?since=2026-11-21").await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "unknown parameters are refused"
    );
}

#[tokio::test]
async fn without_configured_trunks_the_list_is_empty() {
    let file = SqliteFile::new();
    let store = Store::open(&file.url).await.expect("the test store opens");
    store
        .record_trunk_status(&registered(NINE))
        .await
        .expect("status recorded");
    let app = crossbar_api::router(store);
    let (status, body) = get(&app, "/api/trunks").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({ "trunks": [] }));
}
