//! `GET /api/route/explain` over a real SQLite store: the dial plan of the route simulator's
//! test configuration (`crates/server/tests/data/route_explain.toml`, two carriers with small
//! rate decks), routed against the trunk statuses, blocks and calls written through the
//! store API.

use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use crossbar_api::route::StoredLive;
use crossbar_api::{ApiConfig, WallClock};
use crossbar_cdr::{CallId, CallRecord, Direction, Disposition, HangupSide, Party, Timings};
use crossbar_config::Config;
use crossbar_routing::{DialPlan, Live, TrunkLoad};
use crossbar_store::testing::SqliteFile;
use crossbar_store::{ActiveCall, Store, TrunkStatusRow};
use http_body_util::BodyExt;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde_json::{Value, json};
use tower::ServiceExt;

/// Friday 2026-11-20T10:00:00Z (10:00 in London): the API's "now".
const FRIDAY_TEN: i64 = 1_795_168_800_000;

struct Site {
    store: Store,
    app: Router,
    _file: SqliteFile,
}

async fn site() -> Site {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../server/tests/data/route_explain.toml");
    let config =
        Config::load(&path).unwrap_or_else(|errors| panic!("{}: {errors}", path.display()));
    let plan = DialPlan::compile(&config).expect("the test dial plan compiles");
    let file = SqliteFile::new();
    let store = Store::open(&file.url).await.expect("the test store opens");
    let api = ApiConfig {
        timezone: TimeZone::get("Europe/London").expect("the time zone database has London"),
        trunks: config.trunks.clone(),
        dial_plan: Some(Arc::new(plan)),
        clock: WallClock::fixed(FRIDAY_TEN),
        ..ApiConfig::read_only(TimeZone::UTC)
    };
    Site {
        app: crossbar_api::router_with(store.clone(), api),
        store,
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

/// `(trunk, skipped)` of each attempt, in order.
fn attempts(body: &Value) -> Vec<(String, Value)> {
    body["attempts"]
        .as_array()
        .expect("an array of attempts")
        .iter()
        .map(|a| {
            (
                a["trunk"].as_str().expect("a trunk name").to_owned(),
                a["skipped"].clone(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_national_call_tries_the_cheapest_trunk_first_with_its_costs() {
    let site = site().await;
    let (status, body) = get(
        &site.app,
        "/api/route/explain?from=201&to=020%207946%200000",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({
            "dialled": "020 7946 0000",
            "decision": "outbound",
            "extension": null,
            "normalized": "+442079460000",
            "class": "national",
            "region": "GB",
            "route": "uk",
            "emergency": false,
            "withheld": false,
            "allowed": true,
            "status": null,
            "reason": null,
            "reason_code": null,
            "trips_block": false,
            "caller_id": "+442079460001",
            "currency": "GBP",
            // carrier-b: 0.009/min billed 30/6, 0.01 to connect.
            "cost_1min": 0.019,
            "cost_5min": 0.055,
            "attempts": [
                {
                    "trunk": "carrier-b",
                    "number": "02079460000",
                    "per_minute": 0.009,
                    "connection_fee": 0.01,
                    "increment": "30/6",
                    "caller_id": "+442079460001",
                    "skipped": null
                },
                {
                    "trunk": "carrier-a",
                    "number": "+442079460000",
                    "per_minute": 0.012,
                    "connection_fee": 0.0,
                    "increment": "60/60",
                    "caller_id": "+442079460001",
                    "skipped": null
                }
            ]
        })
    );
}

#[tokio::test]
async fn an_international_call_from_a_national_class_is_denied_with_its_reason() {
    let site = site().await;
    let (status, body) = get(
        &site.app,
        "/api/route/explain?from=201&to=00%2033%201%2023%2045%2067%2089",
    )
    .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a denial is an answer, not an error"
    );
    assert_eq!(body["decision"], "denied");
    assert_eq!(body["allowed"], false);
    assert_eq!(body["status"], 403);
    assert_eq!(body["normalized"], "+33123456789");
    assert_eq!(body["class"], "international");
    assert_eq!(body["reason_code"], "class_forbids");
    assert_eq!(
        body["reason"],
        "class national does not allow international calls"
    );
    assert_eq!(body["attempts"], json!([]));
    assert_eq!(body["cost_1min"], Value::Null);
}

#[tokio::test]
async fn a_trunk_reported_down_is_skipped_and_the_next_one_is_costed() {
    let site = site().await;
    site.store
        .record_trunk_status(&TrunkStatusRow {
            trunk: "carrier-b".into(),
            at_ms: FRIDAY_TEN - 60_000,
            change: "down: health check failed (408)".into(),
            registration: None,
            registered_until_ms: None,
            health: "down".into(),
            health_since_ms: Some(FRIDAY_TEN - 60_000),
            last_failure: Some("OPTIONS timed out (408)".into()),
            last_failure_at_ms: Some(FRIDAY_TEN - 60_000),
        })
        .await
        .expect("status recorded");
    let (status, body) = get(
        &site.app,
        "/api/route/explain?from=201&to=020%207946%200000",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        attempts(&body),
        [
            ("carrier-b".to_owned(), json!("down")),
            ("carrier-a".to_owned(), Value::Null),
        ]
    );
    // carrier-a: 0.012/min, no fee, billed by the minute.
    assert_eq!(body["cost_1min"], 0.012);
    assert_eq!(body["cost_5min"], 0.06);
    assert_eq!(body["allowed"], true);
}

#[tokio::test]
async fn a_blocked_extension_and_one_at_its_call_limit_are_denied() {
    let site = site().await;
    let national = "/api/route/explain?from=201&to=07400%20123456";
    let (_, body) = get(&site.app, national).await;
    assert_eq!(body["decision"], "outbound", "{body}");
    assert_eq!(
        attempts(&body),
        [
            ("carrier-a".to_owned(), Value::Null),
            ("carrier-b".to_owned(), Value::Null),
        ],
        "mobile numbers are cheaper through carrier-a"
    );

    // One outbound call up: the national class allows one at a time.
    site.store
        .call_started(&ActiveCall {
            id: CallId("up-201".into()),
            sip_call_id: "sip-up-201".into(),
            direction: Direction::Outbound,
            caller: Party {
                number: "201".into(),
                name: None,
            },
            callee: Party {
                number: "+442079460000".into(),
                name: None,
            },
            started_at_ms: FRIDAY_TEN - 120_000,
            answered_at_ms: None,
            answered_by: None,
            trunk: None,
            rate: None,
            outbound: None,
            last_seen_at_ms: FRIDAY_TEN - 120_000,
            callback_task: None,
        })
        .await
        .expect("call in progress written");
    let (_, body) = get(&site.app, national).await;
    assert_eq!(body["decision"], "denied");
    assert_eq!(body["reason_code"], "max_concurrent");

    site.store
        .block_extension("201", "31 calls in a minute (cap 30)", FRIDAY_TEN)
        .await
        .expect("201 blocked");
    let (_, body) = get(&site.app, national).await;
    assert_eq!(body["decision"], "denied");
    assert_eq!(body["reason_code"], "blocked");
}

#[tokio::test]
async fn at_is_read_in_the_site_time_zone_against_time_rules() {
    let site = site().await;
    let international = "/api/route/explain?from=202&to=00%2033%201%2023%2045%2067%2089";
    // Now (Friday 10:00) is office hours.
    let (_, body) = get(&site.app, international).await;
    assert_eq!(body["decision"], "outbound", "{body}");
    assert_eq!(body["route"], "international");

    let (status, body) = get(&site.app, &format!("{international}&at=2026-12-24T22:00")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["decision"], "denied");
    assert_eq!(body["reason_code"], "outside_hours");
    assert_eq!(
        body["reason"],
        "class international allows international calls only mon,tue,wed,thu,fri \
         08:00-18:00; it is thu 22:00 in Europe/London"
    );

    // 07:30 in New York is 12:30 in London (in June, both on summer time).
    let (_, body) = get(
        &site.app,
        &format!("{international}&at=2026-06-10T07:30:00-04:00"),
    )
    .await;
    assert_eq!(body["decision"], "outbound", "{body}");
}

#[tokio::test]
async fn a_missing_or_unusable_parameter_is_a_400_naming_it() {
    let site = site().await;
    for (uri, error) in [
        (
            "/api/route/explain?to=020%207946%200000",
            "from: missing; the calling extension's number (from=201)",
        ),
        (
            "/api/route/explain?from=201&to=%20",
            "to: missing; the number dialled (to=020 7946 0000)",
        ),
        (
            "/api/route/explain?from=201&to=999&at=tonight",
            "at: `tonight` is not a time: expected RFC 3339 (2026-11-21T09:00:00Z), a local \
             date and time (2026-11-21T09:00:00) or a date (2026-11-21)",
        ),
    ] {
        let (status, body) = get(&site.app, uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}");
        assert_eq!(body, json!({ "error": error }), "{uri}");
    }
    let (status, _) = get(&site.app, "/api/route/explain?from=201&to=999&when=now").await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "unknown parameters are refused"
    );
}

#[tokio::test]
async fn without_a_dial_plan_the_simulator_is_not_found() {
    let file = SqliteFile::new();
    let store = Store::open(&file.url).await.expect("the test store opens");
    let app = crossbar_api::router(store);
    let (status, body) = get(&app, "/api/route/explain?from=201&to=999").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        body,
        json!({ "error": "this API has no dial plan to simulate routing with" })
    );
}

#[tokio::test]
async fn the_live_state_counts_today_from_local_midnight_and_knows_unreported_trunks_as_up() {
    let file = SqliteFile::new();
    let store = Store::open(&file.url).await.expect("the test store opens");
    let outbound = |id: &str, started: &str| {
        let started_at_ms = started
            .parse::<Timestamp>()
            .expect("a valid time")
            .as_millisecond();
        CallRecord {
            id: CallId(id.into()),
            sip_call_id: format!("sip-{id}"),
            direction: Direction::Outbound,
            caller: Party {
                number: "201".into(),
                name: None,
            },
            callee: Party {
                number: "+442079460000".into(),
                name: None,
            },
            started_at_ms,
            answered_at_ms: None,
            ended_at_ms: started_at_ms + 20_000,
            disposition: Disposition::NoAnswer,
            disposition_detail: None,
            sip_status: Some(480),
            hangup_by: HangupSide::System,
            answered_by: None,
            timings: Timings::default(),
            interrupted: false,
            outbound: None,
            inbound: None,
            path: Vec::new(),
            abandoned_stage: None,
            queues: Vec::new(),
            callback_task: None,
            legs: Vec::new(),
            timeline: Vec::new(),
        }
    };
    // 23:30 on 9 June and 00:30 on 10 June in London (summer time, UTC+1).
    for record in [
        outbound("late", "2026-06-09T22:30:00Z"),
        outbound("early", "2026-06-09T23:30:00Z"),
    ] {
        store.call_finished(&record).await.expect("record written");
    }
    let london = TimeZone::get("Europe/London").expect("the time zone database has London");
    let noon: Timestamp = "2026-06-10T11:00:00Z".parse().expect("a valid time");
    let live = StoredLive::load(&store, noon, &london)
        .await
        .expect("the live state loads");
    let usage = live.extension("201");
    assert_eq!((usage.calls_today, usage.calls_now), (1, 0));
    assert!(!usage.blocked);
    assert_eq!(live.extension("202"), Default::default());
    assert_eq!(live.trunk("carrier-a"), TrunkLoad::IDLE);

    // In UTC, both calls were on 9 June.
    let live = StoredLive::load(&store, noon, &TimeZone::UTC)
        .await
        .expect("the live state loads");
    assert_eq!(live.extension("201").calls_today, 0);
}

#[tokio::test]
async fn an_incoming_call_to_a_number_no_route_takes_is_explained_as_a_404() {
    let site = site().await;
    let (status, body) = get(
        &site.app,
        "/api/route/explain/inbound?did=%2B441632960000&caller=%2B447700900123",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["trunk"], "carrier-a", "the first trunk by default");
    assert_eq!(body["did"], "+441632960000");
    assert_eq!(body["decision"], "no_route");
    assert_eq!(body["status"], 404);
    assert_eq!(body["steps"][0]["kind"], "route", "{body}");

    let (status, body) = get(&site.app, "/api/route/explain/inbound?caller=%2B4477").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, _) = get(
        &site.app,
        "/api/route/explain/inbound?did=%2B441632960000&trunk=nobody",
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
