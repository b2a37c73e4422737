//! The HTTP API, exercised request by request (`tower::ServiceExt::oneshot`) over a real
//! SQLite store in a temporary file.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use crossbar_cdr::{
    CallEvent, CallId, CallRecord, DestinationClass, Direction, EndReason, EventKind, HangupSide,
    Increment, LegId, LegRole, Money, Party, Rate, Recorder, RecorderOutput,
};
use crossbar_store::testing::SqliteFile;
use crossbar_store::{CallChange, Store};
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
    assert!(
        page.contains("new EventSource(\"/api/queues/events\")")
            && page.contains("fetch(\"/api/reports/queues?\""),
        "the page follows the queues live and reads their report"
    );
}

/// 2026-11-22T09:00:00Z: the outbound calls' day.
const NEXT_NINE: i64 = NINE + 24 * HOUR;

fn rate(per_minute: &str, fee: &str, increment: &str) -> Rate {
    Rate {
        per_minute: per_minute.parse().expect("amount"),
        connection_fee: fee.parse().expect("amount"),
        increment: increment.parse::<Increment>().expect("increment"),
    }
}

/// An outbound call by `caller` to `dialled`: routed (normalised to `normalized`, of
/// `class`), then each of `trunks` tried in turn 100 ms apart, all but the last failing with
/// 503; the last rings 1 s after its INVITE and then answers 2 s later and talks `talk_ms`,
/// or (`None`) is busy. With no trunks the call is denied for `class local may not dial
/// international`.
fn outbound(
    id: &str,
    caller: &str,
    (dialled, normalized, class): (&str, &str, DestinationClass),
    start: i64,
    trunks: &[(&str, Rate)],
    talk_ms: Option<i64>,
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
                direction: Direction::Outbound,
                caller: Party {
                    number: caller.into(),
                    name: None,
                },
                callee: Party {
                    number: dialled.into(),
                    name: None,
                },
                sip_call_id: format!("sip-{id}"),
            },
        ),
        at(
            5,
            EventKind::Routed {
                dialled: dialled.into(),
                normalized: normalized.into(),
                class,
                route: Some("default".into()),
                caller_id: Some("+442079460000".into()),
            },
        ),
    ];
    let mut t = 10;
    for (i, (trunk, rate)) in trunks.iter().enumerate() {
        let leg = LegId(u32::try_from(i + 1).expect("a few legs"));
        events.push(at(
            t,
            EventKind::LegCreated {
                leg,
                role: LegRole::Callee,
                target: normalized.into(),
                contact: None,
                trunk: Some((*trunk).into()),
                rate: Some(*rate),
            },
        ));
        if i + 1 < trunks.len() {
            t += 100;
            events.push(at(t, EventKind::LegFailed { leg, status: 503 }));
            continue;
        }
        events.push(at(
            t + 1_000,
            EventKind::Ringing {
                leg,
                early_media: false,
            },
        ));
        t += 3_000;
        events.push(at(
            t,
            match talk_ms {
                Some(_) => EventKind::Answered { leg },
                None => EventKind::LegFailed { leg, status: 486 },
            },
        ));
    }
    let (reason, hangup_by, status, end) = match (trunks.is_empty(), talk_ms) {
        (true, _) => (
            EndReason::Denied {
                reason: "class local may not dial international".into(),
            },
            HangupSide::System,
            Some(403),
            t,
        ),
        (false, Some(talk)) => (EndReason::Hangup, HangupSide::Caller, None, t + talk),
        (false, None) => (
            EndReason::TargetsFailed { status: 486 },
            HangupSide::Callee,
            Some(486),
            t,
        ),
    };
    events.push(at(
        end,
        EventKind::Ended {
            reason,
            hangup_by,
            status,
        },
    ));
    let mut recorder = Recorder::default();
    events
        .into_iter()
        .find_map(|e| match recorder.record(e) {
            Some(RecorderOutput::Finished(r)) => Some(*r),
            _ => None,
        })
        .expect("the call ends")
}

/// An API over a fresh SQLite store holding, on 2026-11-22 (UTC):
/// `o1` 201 → national through carrier-a, 90 s (0.012/min + 0.05, 60/60: 0.074);
/// `o2` 201 → mobile, carrier-a 503 then carrier-b, 30 s (0.06/min, 1/1: 0.03);
/// `o3` 202 → national through carrier-a, busy; `o4` 202 denied an international number;
/// `i1` an internal call; and `o5`, 201 → national through carrier-a, the day after.
async fn outbound_app() -> (Router, SqliteFile) {
    let file = SqliteFile::new();
    let store = Store::open(&file.url).await.expect("the test store opens");
    let a = rate("0.012", "0.05", "60/60");
    let b = rate("0.06", "0", "1/1");
    let national = ("01632960001", "+441632960001", DestinationClass::National);
    let mobile = ("07700900123", "+447700900123", DestinationClass::Mobile);
    let abroad = (
        "0033142000000",
        "+33142000000",
        DestinationClass::International,
    );
    let m = 60_000;
    let records = [
        outbound(
            "o1",
            "201",
            national,
            NEXT_NINE,
            &[("carrier-a", a)],
            Some(90_000),
        ),
        outbound(
            "o2",
            "201",
            mobile,
            NEXT_NINE + m,
            &[("carrier-a", a), ("carrier-b", b)],
            Some(30_000),
        ),
        outbound(
            "o3",
            "202",
            national,
            NEXT_NINE + 2 * m,
            &[("carrier-a", a)],
            None,
        ),
        outbound("o4", "202", abroad, NEXT_NINE + 3 * m, &[], None),
        record(
            "i1",
            Direction::Internal,
            "201",
            "202",
            NEXT_NINE + 4 * m,
            true,
        ),
        outbound(
            "o5",
            "201",
            national,
            NEXT_NINE + 24 * HOUR,
            &[("carrier-a", a)],
            Some(10_000),
        ),
    ];
    assert_eq!(
        records[0].outbound.as_ref().map(|o| o.cost),
        Some(Money(74_000))
    );
    assert_eq!(
        records[1].outbound.as_ref().map(|o| o.cost),
        Some(Money(30_000))
    );
    store.call_finished(&records[0]).await.expect("stored");
    let rest: Vec<CallChange> = records[1..]
        .iter()
        .map(|r| CallChange::Finished(Box::new(r.clone())))
        .collect();
    store.apply_call_changes(&rest).await.expect("stored");
    (crossbar_api::router(store), file)
}

#[tokio::test]
async fn calls_are_filtered_by_trunk_and_class_and_show_their_outbound_part() {
    let (app, _db) = outbound_app().await;
    let cases = [
        ("/api/calls?trunk=carrier-a", vec!["o5", "o3", "o1"]),
        ("/api/calls?trunk=carrier-b", vec!["o2"]),
        (
            "/api/calls?class=national&until=2026-11-22",
            vec!["o3", "o1"],
        ),
        ("/api/calls?class=international", vec!["o4"]),
        ("/api/calls?trunk=carrier-a&disposition=busy", vec!["o3"]),
        (
            "/api/calls?trunk=&class=",
            vec!["o5", "i1", "o4", "o3", "o2", "o1"],
        ),
    ];
    for (uri, expected) in cases {
        let (status, body) = get(&app, uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}: {body}");
        assert_eq!(ids(&body), expected, "{uri}");
    }
    let (_, body) = get(&app, "/api/calls?class=mobile").await;
    assert_eq!(
        body["calls"][0]["outbound"],
        json!({
            "dialled": "07700900123",
            "normalized": "+447700900123",
            "class": "mobile",
            "route": "default",
            "caller_id": "+442079460000",
            "trunk": "carrier-b",
            "attempts": 2,
            "pdd_ms": 1_100,
            "cost": 30_000
        })
    );
    let (status, body) = get(&app, "/api/calls?class=landline").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("class: `landline` is not one of emergency")),
        "{body}"
    );
}

#[tokio::test]
async fn the_outbound_report_gives_the_figures_of_the_period() {
    let (app, _db) = outbound_app().await;
    let (status, body) = get(
        &app,
        "/api/reports/outbound?since=2026-11-22&until=2026-11-22",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["period"],
        json!({ "since_ms": NEXT_NINE - 9 * HOUR, "until_ms": NEXT_NINE + 15 * HOUR })
    );
    assert_eq!(body["by"], Value::Null);
    assert_eq!(body["groups"], json!([]));
    // o1, o2 and o3 were offered to the network; o1 and o2 answered; o4 was denied.
    assert_eq!(
        body["total"],
        json!({
            "attempts": 3,
            "connected": 2,
            "asr": 2.0 / 3.0,
            "acd_secs": 60.0,
            // o1 rang 1 s after its INVITE, o2 1.1 s after its first, o3 1 s after.
            "avg_pdd_ms": 3_100.0 / 3.0,
            "talk_secs": 120,
            "minutes": 2.0,
            "cost_micros": 104_000,
            "cost_micros_by_class": { "national": 74_000, "mobile": 30_000 },
            "failovers": 1,
            "failures": 0,
            "unrouted": 0,
            "denied": 1,
            "denied_by_reason": { "class local may not dial international": 1 }
        })
    );

    // Without a period, the day after counts too.
    let (_, all) = get(&app, "/api/reports/outbound").await;
    assert_eq!(all["total"]["attempts"], 4);
    // o5: 10 s billed as a minute at 0.012, plus 0.05 to connect.
    assert_eq!(all["total"]["cost_micros"], 104_000 + 62_000);
}

#[tokio::test]
async fn the_outbound_report_by_trunk_counts_each_trunk_leg() {
    let (app, _db) = outbound_app().await;
    let (status, body) = get(
        &app,
        "/api/reports/outbound?since=2026-11-22T00:00:00Z&until=2026-11-23T00:00:00Z&by=trunk",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["by"], "trunk");
    let groups = body["groups"].as_array().expect("groups");
    let keys: Vec<&Value> = groups.iter().map(|g| &g["key"]).collect();
    assert_eq!(
        keys,
        [&json!("carrier-a"), &json!("carrier-b"), &Value::Null]
    );
    let figures = |g: &Value| {
        (
            g["attempts"].clone(),
            g["connected"].clone(),
            g["asr"].clone(),
            g["failures"].clone(),
            g["failovers"].clone(),
            g["minutes"].clone(),
            g["cost_micros"].clone(),
        )
    };
    // carrier-a: o1 (answered), o2's first leg (503, failed over), o3 (busy: not a failure).
    assert_eq!(
        figures(&groups[0]),
        (
            json!(3),
            json!(1),
            json!(1.0 / 3.0),
            json!(1),
            json!(1),
            json!(1.5),
            json!(74_000)
        )
    );
    assert_eq!(
        figures(&groups[1]),
        (
            json!(1),
            json!(1),
            json!(1.0),
            json!(0),
            json!(0),
            json!(0.5),
            json!(30_000)
        )
    );
    assert_eq!(groups[1]["avg_pdd_ms"], 1_000.0);
    assert_eq!(
        (&groups[2]["attempts"], &groups[2]["denied"]),
        (&json!(0), &json!(1))
    );

    let (_, by_extension) = get(&app, "/api/reports/outbound?until=2026-11-22&by=extension").await;
    let groups = by_extension["groups"].as_array().expect("groups");
    let rows: Vec<(&Value, &Value, &Value, &Value)> = groups
        .iter()
        .map(|g| (&g["key"], &g["attempts"], &g["connected"], &g["denied"]))
        .collect();
    assert_eq!(
        rows,
        [
            (&json!("201"), &json!(2), &json!(2), &json!(0)),
            (&json!("202"), &json!(1), &json!(0), &json!(1)),
        ]
    );
}

#[tokio::test]
async fn a_bad_report_parameter_is_400_with_a_json_error() {
    let (app, _db) = outbound_app().await;
    assert_eq!(
        get(&app, "/api/reports/outbound?by=route").await,
        (
            StatusCode::BAD_REQUEST,
            json!({ "error": "by: `route` is not one of extension, trunk, class" })
        )
    );
    let (status, body) = get(&app, "/api/reports/outbound?group=trunk").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("unknown field `group`")),
        "{body}"
    );
}
