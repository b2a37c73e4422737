//! Incoming calls over HTTP, request by request over a real SQLite store in a temporary
//! file: the inbound report, time-condition overrides and the caller blocklist (with write
//! access), and the live state the route simulator reads of them.

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use crossbar_api::bearer::token_sha256;
use crossbar_api::route::StoredLive;
use crossbar_api::{ApiConfig, ApiToken, WallClock};
use crossbar_cdr::{
    CallEvent, CallId, CallRecord, Direction, EndReason, EventKind, HangupSide, LegId, LegRole,
    Party, Recorder, RecorderOutput, Stage, StepKind,
};
use crossbar_config::NumberPattern;
use crossbar_routing::Live;
use crossbar_store::Store;
use crossbar_store::testing::SqliteFile;
use http_body_util::BodyExt;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde_json::{Value, json};
use tower::ServiceExt;

/// 2026-11-21T09:00:00Z.
const NINE: i64 = 1_795_251_600_000;
const SEC: i64 = 1_000;
const MIN: i64 = 60 * SEC;
const HOUR: i64 = 60 * MIN;
/// The API's clock: 11:00.
const NOW: i64 = NINE + 2 * HOUR;
const DID_A: &str = "+442079460000";
const DID_B: &str = "+442079460001";
const OPS_TOKEN: &str = "kV3uQ8cN0pZs7hYtR2wXbL5mD9fJ1gAe4oIqS6vTzCk";

/// A call's events, relative to its start, folded into its record.
struct Script {
    id: CallId,
    start: i64,
    events: Vec<CallEvent>,
}

impl Script {
    fn new(id: &str, direction: Direction, caller: &str, callee: &str, start: i64) -> Script {
        let mut script = Script {
            id: CallId(id.into()),
            start,
            events: Vec::new(),
        };
        script.at(
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
        );
        script
    }

    /// A call from a trunk to `did`, taken by `route`.
    fn inbound(id: &str, did: &str, route: &str, start: i64) -> Script {
        let mut script = Script::new(id, Direction::Inbound, "+447700900123", did, start);
        script.at(
            0,
            EventKind::Inbound {
                trunk: "carrier-a".into(),
                did: did.into(),
                route: Some(route.into()),
                vip: false,
                language: None,
            },
        );
        script
    }

    fn at(&mut self, ms: i64, kind: EventKind) -> &mut Script {
        self.events.push(CallEvent {
            call: self.id.clone(),
            at_ms: self.start + ms,
            kind,
        });
        self
    }

    /// Group `group` rings from `ms`.
    fn group(&mut self, ms: i64, group: &str) -> &mut Script {
        self.at(
            ms,
            EventKind::Step {
                kind: StepKind::Group,
                name: group.into(),
                result: "ringing".into(),
            },
        )
        .at(
            ms,
            EventKind::Stage {
                stage: Stage::Ringing,
            },
        )
    }

    /// Extension `target` answers at `ms`.
    fn answered(&mut self, ms: i64, target: &str) -> &mut Script {
        self.at(
            ms,
            EventKind::LegCreated {
                leg: LegId(1),
                role: LegRole::Callee,
                target: target.into(),
                contact: None,
                trunk: None,
                rate: None,
            },
        )
        .at(ms, EventKind::Answered { leg: LegId(1) })
    }

    /// The caller hangs up at `ms` (after an answer, or giving up).
    fn ended(&mut self, ms: i64, answered: bool) -> CallRecord {
        let reason = if answered {
            EndReason::Hangup
        } else {
            EndReason::CallerGaveUp
        };
        self.at(
            ms,
            EventKind::Ended {
                reason,
                hangup_by: HangupSide::Caller,
                status: None,
            },
        );
        let mut recorder = Recorder::default();
        self.events
            .drain(..)
            .find_map(|e| match recorder.record(e) {
                Some(RecorderOutput::Finished(record)) => Some(*record),
                _ => None,
            })
            .expect("the call ends")
    }
}

/// On 2026-11-21 (UTC):
///
/// | call | start | DID | route | group | outcome |
/// |---|---|---|---|---|---|
/// | a | 09:00:00 | A | main | sales | answered by 201 after 10 s, ends 09:02 |
/// | b | 10:30:00 | A | main | — | abandoned in the menu after 30 s |
/// | c | 10:00:00 | B | support-line | support | answered by 205 after 25 s, ends 10:05 |
/// | d | 10:01:00 | B | support-line | support | cancelled while ringing after 4 s |
/// | e | 10:02:00 | internal 201 → 202, answered after 3 s, ends 10:03 |
///
/// and `f`, an inbound call of the day before.
fn records() -> Vec<CallRecord> {
    let a = Script::inbound("a", DID_A, "main", NINE)
        .group(0, "sales")
        .answered(10 * SEC, "201")
        .ended(2 * MIN, true);
    let mut b = Script::inbound("b", DID_A, "main", NINE + 90 * MIN);
    b.at(0, EventKind::Stage { stage: Stage::Ivr });
    let b = b.ended(30 * SEC, false);
    let c = Script::inbound("c", DID_B, "support-line", NINE + HOUR)
        .group(0, "support")
        .answered(25 * SEC, "205")
        .ended(5 * MIN, true);
    let d = Script::inbound("d", DID_B, "support-line", NINE + HOUR + MIN)
        .group(0, "support")
        .ended(4 * SEC, false);
    let e = Script::new(
        "e",
        Direction::Internal,
        "201",
        "202",
        NINE + HOUR + 2 * MIN,
    )
    .answered(3 * SEC, "202")
    .ended(MIN, true);
    let f = Script::inbound("f", DID_A, "main", NINE - 24 * HOUR)
        .answered(SEC, "201")
        .ended(MIN, true);
    vec![a, b, c, d, e, f]
}

struct Site {
    store: Store,
    app: Router,
    _file: SqliteFile,
}

/// A site with time conditions `office-hours` and `after-hours`, `+449*` in its configured
/// blocklist, and the calls of [`records`].
async fn site() -> Site {
    let file = SqliteFile::new();
    let store = Store::open(&file.url).await.expect("the test store opens");
    for record in records() {
        store.call_finished(&record).await.expect("store a record");
    }
    let config = ApiConfig {
        tokens: vec![ApiToken {
            name: "ops".into(),
            sha256: token_sha256(OPS_TOKEN),
        }],
        time_conditions: vec!["office-hours".into(), "after-hours".into()],
        blocklist: vec![NumberPattern::parse("+449*").expect("a pattern")],
        clock: WallClock::fixed(NOW),
        ..ApiConfig::read_only(TimeZone::UTC)
    };
    Site {
        app: crossbar_api::router_with(store.clone(), config),
        store,
        _file: file,
    }
}

/// The answer to `method uri` with a JSON `body` and the ops token if `token`: status and
/// JSON body.
async fn send(
    app: &Router,
    method: Method,
    uri: &str,
    body: Option<Value>,
    token: bool,
) -> (StatusCode, Value) {
    let mut request = Request::builder().method(method).uri(uri);
    if token {
        request = request.header("authorization", format!("Bearer {OPS_TOKEN}"));
    }
    let body = match body {
        Some(json) => {
            request = request.header("content-type", "application/json");
            Body::from(json.to_string())
        }
        None => Body::empty(),
    };
    let response = app
        .clone()
        .oneshot(request.body(body).expect("a valid request"))
        .await
        .expect("the router always answers");
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("the body is readable")
        .to_bytes();
    let json = serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("{uri}: not JSON ({e}): {}", String::from_utf8_lossy(&bytes)));
    (status, json)
}

async fn get(app: &Router, uri: &str) -> (StatusCode, Value) {
    send(app, Method::GET, uri, None, false).await
}

fn hours(pairs: &[(usize, u64)]) -> Value {
    let mut by_hour = [0_u64; 24];
    for &(hour, n) in pairs {
        by_hour[hour] = n;
    }
    json!(by_hour)
}

#[tokio::test]
async fn the_inbound_report_gives_the_figures_of_the_period() {
    let site = site().await;
    let (status, body) = get(
        &site.app,
        "/api/reports/inbound?since=2026-11-21&until=2026-11-21",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({
            "period": { "since_ms": NINE - 9 * HOUR, "until_ms": NINE + 15 * HOUR },
            "by": null,
            "received": false,
            "service_level_secs": 20,
            "short_abandon_secs": 5,
            "timezone": "UTC",
            "total": {
                "offered": 4,
                "answered": 2,
                "missed": 2,
                "abandoned": 2,
                "abandoned_by_stage": { "ringing": 1, "ivr": 1, "queue": 0 },
                "short_abandons": 1,
                "asa_secs": 17.5,
                "queued": 0,
                "avg_queue_wait_secs": null,
                "answered_within": 1,
                "service_level": 1.0 / 3.0,
                "peak_hour": { "hour": 10, "offered": 3 },
                "offered_by_hour": hours(&[(9, 1), (10, 3)]),
                "max_concurrent": 2,
            },
            "groups": [],
        })
    );
}

#[tokio::test]
async fn received_calls_include_internal_ones_and_thresholds_can_be_set() {
    let site = site().await;
    let (status, body) = get(
        &site.app,
        "/api/reports/inbound?since=2026-11-21&received=true&service_level_secs=30",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let total = &body["total"];
    assert_eq!(body["received"], true);
    assert_eq!(body["service_level_secs"], 30);
    assert_eq!(
        (&total["offered"], &total["answered"], &total["missed"]),
        (&json!(5), &json!(3), &json!(2))
    );
    // (10 + 25 + 3) / 3; within 30 s: all three; 3 / (5 − 1).
    assert_eq!(total["asa_secs"], json!(38.0 / 3.0));
    assert_eq!(total["answered_within"], 3);
    assert_eq!(total["service_level"], 0.75);
    assert_eq!(total["peak_hour"], json!({ "hour": 10, "offered": 4 }));

    // Without a start, the day before counts too.
    let (_, all) = get(&site.app, "/api/reports/inbound").await;
    assert_eq!(all["total"]["offered"], 5);
    assert_eq!(all["period"], json!({ "since_ms": null, "until_ms": null }));
}

#[tokio::test]
async fn the_inbound_report_by_group_and_by_did() {
    let site = site().await;
    let (status, body) = get(
        &site.app,
        "/api/reports/inbound?since=2026-11-21T00:00:00Z&by=group",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["by"], "group");
    let groups = body["groups"].as_array().expect("groups");
    let summary: Vec<(&Value, &Value, &Value, &Value, &Value)> = groups
        .iter()
        .map(|g| {
            (
                &g["key"],
                &g["offered"],
                &g["answered"],
                &g["short_abandons"],
                &g["service_level"],
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                &json!("sales"),
                &json!(1),
                &json!(1),
                &json!(0),
                &json!(1.0)
            ),
            (
                &json!("support"),
                &json!(2),
                &json!(1),
                &json!(1),
                &json!(0.0)
            ),
            (&Value::Null, &json!(1), &json!(0), &json!(0), &json!(0.0)),
        ]
    );
    assert_eq!(groups[1]["max_concurrent"], 2);
    assert_eq!(groups[1]["asa_secs"], 25.0);

    let (_, by_did) = get(&site.app, "/api/reports/inbound?since=2026-11-21&by=did").await;
    let keys: Vec<&Value> = by_did["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| &g["key"])
        .collect();
    assert_eq!(keys, [&json!(DID_A), &json!(DID_B)]);
    assert_eq!(by_did["groups"][0]["abandoned_by_stage"]["ivr"], 1);
}

#[tokio::test]
async fn a_bad_inbound_report_parameter_is_400_naming_it() {
    let site = site().await;
    for (uri, message) in [
        (
            "/api/reports/inbound?by=trunk",
            "by: `trunk` is not one of did, route, group",
        ),
        (
            "/api/reports/inbound?received=yes",
            "received: `yes` is not true or false",
        ),
        (
            "/api/reports/inbound?short_abandon_secs=5s",
            "short_abandon_secs: `5s` is not a whole number of seconds from 0 to 86400",
        ),
    ] {
        let (status, body) = get(&site.app, uri).await;
        assert_eq!(
            (status, body),
            (StatusCode::BAD_REQUEST, json!({ "error": message })),
            "{uri}"
        );
    }
    let (status, body) = get(&site.app, "/api/reports/inbound?queue=sales").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let error = body["error"].as_str().unwrap_or_default();
    assert!(error.contains("unknown field `queue`"), "{error}");
}

#[tokio::test]
async fn time_conditions_are_listed_with_their_overrides_and_forced_with_a_token() {
    let site = site().await;
    let (status, body) = get(&site.app, "/api/time-conditions").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({ "time_conditions": [
            { "name": "office-hours", "mode": "schedule", "override": null },
            { "name": "after-hours", "mode": "schedule", "override": null },
        ]})
    );

    let uri = "/api/time-conditions/office-hours/override";
    let (status, body) = send(
        &site.app,
        Method::PUT,
        uri,
        Some(json!({ "mode": "closed" })),
        true,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let closed = json!({ "forced": "closed", "set_at_ms": NOW, "set_by": "token:ops" });
    assert_eq!(
        body,
        json!({
            "name": "office-hours",
            "mode": "closed",
            "override": closed,
            "previous": null,
        })
    );
    let (_, body) = get(&site.app, "/api/time-conditions").await;
    assert_eq!(body["time_conditions"][0]["mode"], "closed");
    assert_eq!(body["time_conditions"][0]["override"], closed);
    assert_eq!(body["time_conditions"][1]["mode"], "schedule");

    // Back to the schedule: the answer names the override it cleared.
    let (status, body) = send(
        &site.app,
        Method::PUT,
        uri,
        Some(json!({ "mode": "schedule" })),
        true,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({
            "name": "office-hours",
            "mode": "schedule",
            "override": null,
            "previous": closed,
        })
    );
    assert!(
        site.store
            .time_condition_overrides()
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn an_override_without_a_token_is_401_and_changes_nothing() {
    let site = site().await;
    let (status, body) = send(
        &site.app,
        Method::PUT,
        "/api/time-conditions/office-hours/override",
        Some(json!({ "mode": "open" })),
        false,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(
        site.store
            .time_condition_overrides()
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn an_override_of_an_unknown_time_condition_or_mode_is_refused() {
    let site = site().await;
    let cases = [
        (
            "/api/time-conditions/lunch/override",
            Some(json!({ "mode": "open" })),
            StatusCode::NOT_FOUND,
            "lunch is not a time condition of the configuration",
        ),
        (
            "/api/time-conditions/office-hours/override",
            Some(json!({ "mode": "shut" })),
            StatusCode::BAD_REQUEST,
            "mode: `shut` is not one of open, closed, schedule",
        ),
    ];
    for (uri, body, expected, message) in cases {
        let (status, answer) = send(&site.app, Method::PUT, uri, body, true).await;
        assert_eq!(
            (status, answer),
            (expected, json!({ "error": message })),
            "{uri}"
        );
    }
    let (status, body) = send(
        &site.app,
        Method::PUT,
        "/api/time-conditions/office-hours/override",
        Some(json!({ "mode": "open", "until": "17:00" })),
        true,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("unknown field `until`")),
        "{body}"
    );
    let (status, _) = send(
        &site.app,
        Method::PUT,
        "/api/time-conditions/office-hours/override",
        None,
        true,
    )
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(
        site.store
            .time_condition_overrides()
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn callers_are_blocked_and_unblocked_with_a_token() {
    let site = site().await;
    let (status, body) = get(&site.app, "/api/blocklist").await;
    assert_eq!(status, StatusCode::OK);
    let configured = json!({
        "pattern": "+449*",
        "source": "configuration",
        "added_at_ms": null,
        "added_by": null,
        "note": null,
    });
    assert_eq!(body, json!({ "blocklist": [configured] }));

    let nuisance = json!({
        "pattern": "+447700900123",
        "source": "database",
        "added_at_ms": NOW,
        "added_by": "token:ops",
        "note": "calls every night",
    });
    let (status, body) = send(
        &site.app,
        Method::POST,
        "/api/blocklist",
        Some(json!({ "pattern": " +447700900123 ", "note": "calls every night" })),
        true,
    )
    .await;
    assert_eq!((status, body), (StatusCode::CREATED, nuisance.clone()));
    // Again: nothing changes, and the entry is answered as it is.
    let (status, body) = send(
        &site.app,
        Method::POST,
        "/api/blocklist",
        Some(json!({ "pattern": "+447700900123", "note": "again" })),
        true,
    )
    .await;
    assert_eq!((status, body), (StatusCode::OK, nuisance.clone()));
    let (status, _) = send(
        &site.app,
        Method::POST,
        "/api/blocklist",
        Some(json!({ "pattern": "+44207946001*" })),
        true,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, body) = get(&site.app, "/api/blocklist").await;
    let patterns: Vec<(&Value, &Value)> = body["blocklist"]
        .as_array()
        .expect("a blocklist")
        .iter()
        .map(|e| (&e["pattern"], &e["source"]))
        .collect();
    assert_eq!(
        patterns,
        [
            (&json!("+449*"), &json!("configuration")),
            (&json!("+44207946001*"), &json!("database")),
            (&json!("+447700900123"), &json!("database")),
        ]
    );

    // `+` may be sent as is or percent-encoded.
    let (status, body) = send(
        &site.app,
        Method::DELETE,
        "/api/blocklist/%2B447700900123",
        None,
        true,
    )
    .await;
    assert_eq!((status, body), (StatusCode::OK, nuisance));
    let (status, body) = send(
        &site.app,
        Method::DELETE,
        "/api/blocklist/+44207946001*",
        None,
        true,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(site.store.blocked_callers().await.unwrap().is_empty());
}

#[tokio::test]
async fn blocklist_changes_without_a_token_are_401_and_change_nothing() {
    let site = site().await;
    let pattern = NumberPattern::parse("+447700900123").expect("a pattern");
    site.store
        .add_blocked_caller(&pattern, None, "cli:alice", NINE)
        .await
        .expect("block");
    let (status, _) = send(
        &site.app,
        Method::POST,
        "/api/blocklist",
        Some(json!({ "pattern": "+441632960001" })),
        false,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = send(
        &site.app,
        Method::DELETE,
        "/api/blocklist/+447700900123",
        None,
        false,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let stored: Vec<String> = site
        .store
        .blocked_callers()
        .await
        .unwrap()
        .iter()
        .map(|b| b.pattern.to_string())
        .collect();
    assert_eq!(stored, ["+447700900123"]);
}

#[tokio::test]
async fn bad_or_unknown_blocklist_patterns_are_refused() {
    let site = site().await;
    let cases = [
        (
            Method::POST,
            "/api/blocklist",
            Some(json!({ "pattern": "07700 900123" })),
            StatusCode::BAD_REQUEST,
            "pattern: `07700 900123` is not a number pattern: it must start with `+` and the \
             country code; use an E.164 number (+442079460000), a prefix ending in `*` \
             (+4420794601*), or a range of numbers of the same length \
             (+442079460200-+442079460299)",
        ),
        (
            Method::DELETE,
            "/api/blocklist/+44*1",
            None,
            StatusCode::BAD_REQUEST,
            "pattern: `+44*1` is not a number pattern: `*` may only end a prefix; use an E.164 \
             number (+442079460000), a prefix ending in `*` (+4420794601*), or a range of \
             numbers of the same length (+442079460200-+442079460299)",
        ),
        (
            Method::DELETE,
            "/api/blocklist/+447700900123",
            None,
            StatusCode::NOT_FOUND,
            "+447700900123 is not in the blocklist",
        ),
        (
            Method::DELETE,
            "/api/blocklist/+449*",
            None,
            StatusCode::NOT_FOUND,
            "+449* is in [inbound] blocklist of the configuration: remove it there",
        ),
    ];
    for (method, uri, body, expected, message) in cases {
        let (status, answer) = send(&site.app, method, uri, body, true).await;
        assert_eq!(
            (status, answer),
            (expected, json!({ "error": message })),
            "{uri}"
        );
    }
    assert!(site.store.blocked_callers().await.unwrap().is_empty());
}

#[tokio::test]
async fn the_route_simulator_reads_overrides_blocked_callers_and_ring_group_positions() {
    let site = site().await;
    let store = &site.store;
    store
        .set_time_condition_override("office-hours", Some(false), "cli:alice", NINE)
        .await
        .unwrap();
    store
        .set_time_condition_override("after-hours", Some(true), "cli:alice", NINE)
        .await
        .unwrap();
    let prefix = NumberPattern::parse("+4477009001*").expect("a pattern");
    store
        .add_blocked_caller(&prefix, None, "cli:alice", NINE)
        .await
        .unwrap();
    store
        .set_round_robin_position("sales", 2, NINE)
        .await
        .unwrap();
    let at = Timestamp::from_millisecond(NOW).expect("a time");
    let live = StoredLive::load(store, at, &TimeZone::UTC)
        .await
        .expect("the live state loads");
    assert_eq!(live.time_condition_override("office-hours"), Some(false));
    assert_eq!(live.time_condition_override("after-hours"), Some(true));
    assert_eq!(live.time_condition_override("lunch"), None);
    assert!(live.caller_blocked("+447700900123"));
    assert!(!live.caller_blocked("+447700900223"));
    // The configuration's blocklist is the dial plan's, not the database's.
    assert!(!live.caller_blocked("+449000000001"));
    assert_eq!(live.round_robin_next("sales"), 2);
    assert_eq!(live.round_robin_next("support"), 0);
}
