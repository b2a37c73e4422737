//! The HTTP API, exercised request by request (`tower::ServiceExt::oneshot`) over a real
//! SQLite store in a temporary file.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use crossbar_cdr::{
    CallEvent, CallId, CallRecord, Direction, EndReason, EventKind, HangupSide, LegId, LegRole,
    Party, Recorder, RecorderOutput,
};
use crossbar_store::Store;
use crossbar_store::testing::SqliteFile;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

/// 2026-11-21T09:00:00Z.
const NINE: i64 = 1_795_251_600_000;
const HOUR: i64 = 3_600_000;

/// The record of a call from `caller` to `callee` started at `start`, answered by `callee`
/// after 4 s (then 60 s of talk) or, if not `answered`, given up by the caller after 10 s.
fn record(
    id: &str,
    direction: Direction,
    caller: &str,
    callee: &str,
    start: i64,
    answered: bool,
) -> CallRecord {
    let call = CallId(id.into());
    let at = |ms: i64, kind: EventKind| CallEvent {
        call: call.clone(),
        at_ms: start + ms,
        kind,
    };
    let mut events = vec![
        at(
            0,
            EventKind::Started {
                direction,
                caller: Party {
                    number: caller.into(),
                    name: None,
                },
                callee: Party {
                    number: callee.into(),
                    name: None,
                },
                sip_call_id: format!("sip-{id}"),
            },
        ),
        at(
            5,
            EventKind::LegCreated {
                leg: LegId(1),
                role: LegRole::Callee,
                target: callee.into(),
                contact: None,
                trunk: None,
                rate: None,
            },
        ),
        at(
            1_000,
            EventKind::Ringing {
                leg: LegId(1),
                early_media: false,
            },
        ),
    ];
    if answered {
        events.push(at(4_000, EventKind::Answered { leg: LegId(1) }));
        events.push(at(
            64_000,
            EventKind::Ended {
                reason: EndReason::Hangup,
                hangup_by: HangupSide::Callee,
                status: None,
            },
        ));
    } else {
        events.push(at(
            10_000,
            EventKind::Ended {
                reason: EndReason::CallerGaveUp,
                hangup_by: HangupSide::Caller,
                status: Some(487),
            },
        ));
    }
    let mut recorder = Recorder::default();
    events
        .into_iter()
        .find_map(|e| match recorder.record(e) {
            Some(RecorderOutput::Finished(r)) => Some(*r),
            _ => None,
        })
        .expect("the call ends")
}

/// An API over a fresh SQLite store holding four calls:
/// `a` 201 → 202 answered (09:00), `b` 202 → 201 cancelled (10:00),
/// `c` +44… → 201 inbound answered (11:00), `d` 201 → +44… outbound cancelled (next day).
async fn app() -> (Router, SqliteFile) {
    let file = SqliteFile::new();
    let store = Store::open(&file.url).await.expect("the test store opens");
    let records = [
        record("a", Direction::Internal, "201", "202", NINE, true),
        record("b", Direction::Internal, "202", "201", NINE + HOUR, false),
        record(
            "c",
            Direction::Inbound,
            "+442079460001",
            "201",
            NINE + 2 * HOUR,
            true,
        ),
        record(
            "d",
            Direction::Outbound,
            "201",
            "+441632960001",
            NINE + 24 * HOUR,
            false,
        ),
    ];
    for r in &records {
        store.call_finished(r).await.expect("the record is stored");
    }
    (crossbar_api::router(store), file)
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
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("the body is readable")
        .to_bytes();
    assert_eq!(content_type, "application/json", "{uri}: {status}");
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("{uri}: not JSON ({e}): {}", String::from_utf8_lossy(&bytes)));
    (status, body)
}

fn ids(body: &Value) -> Vec<&str> {
    body["calls"]
        .as_array()
        .expect("a calls array")
        .iter()
        .map(|c| c["id"].as_str().expect("an id"))
        .collect()
}

#[tokio::test]
async fn health_is_ok() {
    let (app, _db) = app().await;
    assert_eq!(
        get(&app, "/api/health").await,
        (StatusCode::OK, json!({ "status": "ok" }))
    );
}

#[tokio::test]
async fn calls_are_listed_newest_first_with_total_limit_and_offset() {
    let (app, _db) = app().await;
    let (status, body) = get(&app, "/api/calls").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ids(&body), ["d", "c", "b", "a"]);
    assert_eq!(body["total"], 4);
    assert_eq!(body["limit"], 50);
    assert_eq!(body["offset"], 0);

    let (_, body) = get(&app, "/api/calls?limit=2&offset=1").await;
    assert_eq!(ids(&body), ["c", "b"]);
    assert_eq!(
        (&body["total"], &body["limit"], &body["offset"]),
        (&json!(4), &json!(2), &json!(1))
    );
}

#[tokio::test]
async fn a_listed_record_is_the_whole_record() {
    let (app, _db) = app().await;
    let (_, body) = get(&app, "/api/calls?disposition=answered&direction=inbound").await;
    assert_eq!(ids(&body), ["c"]);
    let c = &body["calls"][0];
    assert_eq!(
        c["caller"],
        json!({ "number": "+442079460001", "name": null })
    );
    assert_eq!(c["answered_by"], "201");
    assert_eq!(c["hangup_by"], "callee");
    assert_eq!(
        c["timings"],
        json!({ "wait_secs": 4, "ring_secs": 3, "talk_secs": 60, "hold_secs": 0, "queue_wait_secs": 0 })
    );
    assert_eq!(c["legs"][0]["target"], "201");
    assert_eq!(c["timeline"][0]["type"], "started");
    assert_eq!(c["timeline"].as_array().map(Vec::len), Some(5));

    let (status, one) = get(&app, "/api/calls/c").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(&one, c);
}

#[tokio::test]
async fn filters_narrow_the_listing() {
    let (app, _db) = app().await;
    let cases = [
        ("/api/calls?extension=202", vec!["b", "a"]),
        ("/api/calls?received_by=201", vec!["c", "b"]),
        ("/api/calls?placed_by=201", vec!["d", "a"]),
        ("/api/calls?direction=outbound", vec!["d"]),
        ("/api/calls?disposition=cancelled", vec!["d", "b"]),
        ("/api/calls?since=2026-11-21T10:00:00Z", vec!["d", "c", "b"]),
        ("/api/calls?until=2026-11-21T10:00:00Z", vec!["a"]),
        (
            "/api/calls?since=2026-11-21&until=2026-11-21",
            vec!["c", "b", "a"],
        ),
        ("/api/calls?since=2026-11-22", vec!["d"]),
        (
            "/api/calls?direction=&disposition=",
            vec!["d", "c", "b", "a"],
        ),
        ("/api/calls?extension=999", vec![]),
    ];
    for (uri, expected) in cases {
        let (status, body) = get(&app, uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}: {body}");
        assert_eq!(ids(&body), expected, "{uri}");
        assert_eq!(body["total"], expected.len(), "{uri}");
    }
}

#[tokio::test]
async fn an_extension_view_lists_its_received_placed_or_all_calls() {
    let (app, _db) = app().await;
    let cases = [
        ("/api/extensions/201/calls", vec!["d", "c", "b", "a"]),
        (
            "/api/extensions/201/calls?view=all",
            vec!["d", "c", "b", "a"],
        ),
        ("/api/extensions/201/calls?view=received", vec!["c", "b"]),
        ("/api/extensions/201/calls?view=placed", vec!["d", "a"]),
        (
            "/api/extensions/201/calls?view=placed&direction=internal",
            vec!["a"],
        ),
        ("/api/extensions/202/calls?view=received&limit=1", vec!["a"]),
    ];
    for (uri, expected) in cases {
        let (status, body) = get(&app, uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}: {body}");
        assert_eq!(ids(&body), expected, "{uri}");
    }
}

#[tokio::test]
async fn bad_parameters_are_400_with_a_json_error() {
    let (app, _db) = app().await;
    let cases = [
        (
            "/api/calls?direction=sideways",
            "direction: `sideways` is not one of inbound, outbound, internal",
        ),
        (
            "/api/calls?limit=lots",
            "limit: `lots` is not a whole number from 0 to 1000",
        ),
        (
            "/api/calls?limit=5000",
            "limit: `5000` is not a whole number from 0 to 1000",
        ),
        (
            "/api/calls?offset=-3",
            "offset: `-3` is not a whole number of at least 0",
        ),
        (
            "/api/calls?view=received",
            "view: only for /api/extensions/{number}/calls; use received_by or placed_by here",
        ),
        (
            "/api/extensions/201/calls?view=dialled",
            "view: `dialled` is not one of received, placed, all",
        ),
        (
            "/api/extensions/201/calls?placed_by=202",
            "the extension is in the path: use view=received|placed|all instead of extension, \
             received_by or placed_by",
        ),
    ];
    for (uri, message) in cases {
        assert_eq!(
            get(&app, uri).await,
            (StatusCode::BAD_REQUEST, json!({ "error": message })),
            "{uri}"
        );
    }
    // Messages produced by the query parser itself: checked by their gist.
    for (uri, gist) in [
        ("/api/calls?dispositon=busy", "unknown field `dispositon`"),
        ("/api/calls?since=soon", "since: `soon` is not a time"),
        ("/api/calls?since=%FF", "since"),
    ] {
        let (status, body) = get(&app, uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {body}");
        let error = body["error"].as_str().unwrap_or_default();
        assert!(error.contains(gist), "{uri}: {error}");
    }
}

#[tokio::test]
async fn unknown_calls_and_routes_are_404_with_a_json_error() {
    let (app, _db) = app().await;
    assert_eq!(
        get(&app, "/api/calls/nope").await,
        (
            StatusCode::NOT_FOUND,
            json!({ "error": "no call with this id" })
        )
    );
    assert_eq!(
        get(&app, "/api/nothing").await,
        (
            StatusCode::NOT_FOUND,
            json!({ "error": "no such resource" })
        )
    );
}

#[tokio::test]
async fn the_dashboard_is_served_at_the_root_and_reads_the_calls_api() {
    let (app, _file) = app().await;
    let response = app
        .clone()
        .oneshot(
            Request::get("/")
                .body(Body::empty())
                .expect("a valid request"),
        )
        .await
        .expect("the router always answers");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("text/html; charset=utf-8")
    );
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("the body is readable")
        .to_bytes();
    let page = String::from_utf8_lossy(&bytes);
    assert!(
        page.contains("fetch(\"/api/calls?\""),
        "the page reads /api/calls"
    );
    assert!(page.contains("<table>"));
}
