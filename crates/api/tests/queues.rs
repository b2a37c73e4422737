//! Queues over HTTP, request by request over a real SQLite store in a temporary file: the
//! queue report, callback tasks (listed, read, assigned, cancelled, with write access) and
//! the agents' stored state.

mod common;

use common::{DID, Script};

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use crossbar_api::bearer::token_sha256;
use crossbar_api::{ApiConfig, ApiToken, WallClock};
use crossbar_cdr::{AgentEvent, AgentEventKind, CallRecord};
use crossbar_config::Config;
use crossbar_store::testing::SqliteFile;
use crossbar_store::{AgentChange, AgentMembership, AgentPause, AgentUpdate, Store};
use http_body_util::BodyExt;
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
const CUSTOMER: &str = "+447700900123";
const OTHER: &str = "+447700900456";
const OPS_TOKEN: &str = "kV3uQ8cN0pZs7hYtR2wXbL5mD9fJ1gAe4oIqS6vTzCk";

/// Extensions 201–203; queue `support` (members 201 and 202, penalty 1 for 202, T = 30 s)
/// and `sales` (member 203, T = 20 s).
const CONFIG: &str = r#"
[[extension]]
number = "201"
secret = "correct-horse-battery-1"

[[extension]]
number = "202"
secret = "correct-horse-battery-2"

[[extension]]
number = "203"
secret = "correct-horse-battery-3"

[[queue]]
name = "support"
members = ["201", { extension = "202", penalty = 1 }]
service_level_secs = 30

[[queue]]
name = "sales"
members = ["203"]
"#;

/// Support: c1 answered by 201 after 12 s (talk 108 s); c2 from the customer abandoned
/// after 40 s; c3 from another number abandoned after 3 s (short). Sales: c4 answered by 203
/// after 25 s (talk 35 s). Then the customer calls again at 10:00 and 201 answers: the
/// customer's task completes.
fn records() -> Vec<CallRecord> {
    vec![
        Script::inbound("c1", "+447700900001", NINE)
            .joins(0, "support")
            .answered_by(12 * SEC, "support", "201")
            .ends(2 * MIN),
        Script::inbound("c2", CUSTOMER, NINE + 5 * MIN)
            .joins(0, "support")
            .ends(40 * SEC),
        Script::inbound("c3", OTHER, NINE + 6 * MIN)
            .joins(0, "support")
            .ends(3 * SEC),
        Script::inbound("c4", "+447700900002", NINE + 10 * MIN)
            .joins(0, "sales")
            .answered_by(25 * SEC, "sales", "203")
            .ends(MIN),
        Script::inbound("c5", CUSTOMER, NINE + HOUR)
            .joins(0, "support")
            .answered_by(5 * SEC, "support", "201")
            .ends(MIN),
    ]
}

/// 201 logs in to support at 08:00 and pauses for lunch at 09:30; 205 logs in to support
/// as a dynamic member (penalty 2) at 09:00.
fn agent_updates() -> Vec<AgentUpdate> {
    let login = |at_ms: i64, agent: &str, static_member: bool, penalty: u32| AgentUpdate {
        event: AgentEvent {
            at_ms,
            agent: agent.into(),
            queue: Some("support".into()),
            kind: AgentEventKind::Login,
            call: None,
        },
        changes: vec![AgentChange::Member(AgentMembership {
            agent: agent.into(),
            queue: "support".into(),
            static_member,
            penalty,
            logged_in: true,
            since_ms: at_ms,
        })],
    };
    vec![
        login(NINE - HOUR, "201", true, 0),
        login(NINE, "205", false, 2),
        AgentUpdate {
            event: AgentEvent {
                at_ms: NINE + 30 * MIN,
                agent: "201".into(),
                queue: None,
                kind: AgentEventKind::Pause {
                    reason: Some("lunch".into()),
                },
                call: None,
            },
            changes: vec![AgentChange::Paused(AgentPause {
                agent: "201".into(),
                reason: Some("lunch".into()),
                since_ms: NINE + 30 * MIN,
            })],
        },
    ]
}

struct Site {
    store: Store,
    app: Router,
    _file: SqliteFile,
}

async fn site() -> Site {
    let file = SqliteFile::new();
    let store = Store::open(&file.url).await.expect("the test store opens");
    for record in records() {
        store.call_finished(&record).await.expect("store a record");
    }
    store
        .apply_agent_updates(&agent_updates())
        .await
        .expect("store the agents");
    let config =
        Config::parse(CONFIG, std::path::Path::new("crossbar.toml")).expect("a valid config");
    let api = ApiConfig {
        tokens: vec![ApiToken {
            name: "ops".into(),
            sha256: token_sha256(OPS_TOKEN),
        }],
        extensions: config.extensions.iter().map(|e| e.number.clone()).collect(),
        queues: config.queues.clone(),
        clock: WallClock::fixed(NOW),
        ..ApiConfig::read_only(TimeZone::UTC)
    };
    Site {
        app: crossbar_api::router_with(store.clone(), api),
        store,
        _file: file,
    }
}

/// The answer to `method uri` with a JSON `body` and the ops token if `token`.
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

#[tokio::test]
async fn the_queue_report_gives_each_queue_with_its_threshold_the_agents_and_the_callbacks() {
    let site = site().await;
    let (status, body) = get(
        &site.app,
        "/api/reports/queues?since=2026-11-21T09:00:00Z&until=2026-11-21T10:00:00Z",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["period"],
        json!({ "since_ms": NINE, "until_ms": NINE + HOUR })
    );
    assert_eq!(body["queue"], Value::Null);
    assert_eq!(body["short_abandon_secs"], 5);
    assert_eq!(
        body["queues"],
        json!([
            {
                "queue": "sales",
                "service_level_secs": 20,
                "offered": 1,
                "answered": 1,
                "abandoned": 0,
                "short_abandons": 0,
                "asa_secs": 25.0,
                "joined": 1,
                "avg_wait_secs": 25.0,
                "max_wait_secs": 25.0,
                "answered_within": 0,
                "service_level": 0.0,
                "overflowed": { "timeout": 0, "full": 0, "empty": 0, "breakout": 0 },
                "overflowed_total": 0,
                "callbacks_taken": 0,
            },
            {
                "queue": "support",
                "service_level_secs": 30,
                "offered": 3,
                "answered": 1,
                "abandoned": 2,
                "short_abandons": 1,
                "asa_secs": 12.0,
                "joined": 3,
                // (12 + 40 + 3) / 3
                "avg_wait_secs": 55.0 / 3.0,
                "max_wait_secs": 40.0,
                "answered_within": 1,
                // 1 / (3 − 1)
                "service_level": 0.5,
                "overflowed": { "timeout": 0, "full": 0, "empty": 0, "breakout": 0 },
                "overflowed_total": 0,
                "callbacks_taken": 0,
            },
        ])
    );
    assert_eq!(body["total"]["offered"], 4);
    assert_eq!(body["total"]["service_level"], 2.0 / 3.0 * 0.5);
    // 201: logged in all the period, paused from 09:30; talked 108 s on c1. 203 talked on
    // c4 (no log). 205 logged in from 09:00.
    assert_eq!(
        body["agents"],
        json!([
            {
                "agent": "201",
                "offers": 0,
                "answered": 0,
                "missed": 0,
                "talk_secs": 108,
                "wrap_up_secs": 0,
                "login_secs": 3_600,
                "pause_secs": 1_800,
                "pause_secs_by_reason": { "lunch": 1_800 },
                "occupancy": 108.0 / 1_800.0,
            },
            {
                "agent": "203",
                "offers": 0,
                "answered": 0,
                "missed": 0,
                "talk_secs": 35,
                "wrap_up_secs": 0,
                "login_secs": 0,
                "pause_secs": 0,
                "pause_secs_by_reason": {},
                "occupancy": null,
            },
            {
                "agent": "205",
                "offers": 0,
                "answered": 0,
                "missed": 0,
                "talk_secs": 0,
                "wrap_up_secs": 0,
                "login_secs": 3_600,
                "pause_secs": 0,
                "pause_secs_by_reason": {},
                "occupancy": 0.0,
            },
        ])
    );
    // Two tasks opened (the customer, completed at 10:00:05; the other, open).
    assert_eq!(
        body["callbacks"],
        json!({
            "opened": 2,
            "completed": 1,
            "open": 1,
            "cancelled": 0,
            "unreached": 0,
            "completion_rate": 0.5,
            // 09:05:40 → 10:00:05
            "mean_secs_to_callback": 3_265.0,
            "p90_secs_to_callback": 3_265.0,
        })
    );

    let (status, sales) = get(
        &site.app,
        "/api/reports/queues?since=2026-11-21&queue=sales&short_abandon_secs=0",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{sales}");
    assert_eq!(sales["queue"], "sales");
    assert_eq!(sales["queues"].as_array().map(Vec::len), Some(1));
    assert_eq!(sales["total"]["offered"], 1);
    assert_eq!(sales["callbacks"]["opened"], 0);
    assert_eq!(sales["short_abandon_secs"], 0);
}

#[tokio::test]
async fn a_bad_report_parameter_is_a_400_naming_it() {
    let site = site().await;
    for (uri, message) in [
        (
            "/api/reports/queues?short_abandon_secs=-1",
            "short_abandon_secs: `-1` is not a whole number of seconds from 0 to 86400",
        ),
        (
            "/api/reports/queues?since=2026-11-22&until=2026-11-20",
            "since: is after until",
        ),
    ] {
        let (status, body) = get(&site.app, uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}");
        assert_eq!(body["error"], message, "{uri}");
    }
    let (status, body) = get(&site.app, "/api/reports/queues?by=agent").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("unknown field `by`")),
        "{body}"
    );
}

#[tokio::test]
async fn callbacks_are_listed_open_by_default_or_by_state() {
    let site = site().await;
    let (status, body) = get(&site.app, "/api/callbacks").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let tasks = body["callbacks"].as_array().expect("a list");
    assert_eq!(tasks.len(), 1);
    let task = &tasks[0];
    assert_eq!(task["number"], OTHER);
    assert_eq!(task["state"], "open");
    assert_eq!(task["did"], DID);
    assert_eq!(task["queue"], "support");
    assert_eq!(task["misses"], 1);
    assert_eq!(task["opened_at_ms"], NINE + 6 * MIN + 3 * SEC);
    assert_eq!(
        (body["limit"].clone(), body["offset"].clone()),
        (json!(50), json!(0))
    );

    let (_, all) = get(&site.app, "/api/callbacks?state=all").await;
    let numbers: Vec<&str> = all["callbacks"]
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|t| t["number"].as_str())
        .collect();
    assert_eq!(numbers, [OTHER, CUSTOMER], "newest first");
    let (_, completed) = get(&site.app, "/api/callbacks?state=completed").await;
    assert_eq!(completed["callbacks"][0]["completed_by_call"], "c5");
    assert_eq!(
        completed["callbacks"][0]["closed_at_ms"],
        NINE + HOUR + 5 * SEC
    );

    let (status, body) = get(&site.app, "/api/callbacks?state=done").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["error"],
        "state: `done` is not one of open, completed, cancelled, unreached, all"
    );
}

async fn open_task_id(site: &Site) -> i64 {
    let (_, body) = get(&site.app, "/api/callbacks").await;
    body["callbacks"][0]["id"].as_i64().expect("a task id")
}

#[tokio::test]
async fn a_task_is_read_with_its_missed_calls_and_attempts() {
    let site = site().await;
    let id = open_task_id(&site).await;
    let (status, body) = get(&site.app, &format!("/api/callbacks/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["number"], OTHER);
    assert_eq!(
        body["missed_calls"],
        json!([{
            "call": "c3",
            "at_ms": NINE + 6 * MIN + 3 * SEC,
            "disposition": "abandoned",
            "did": DID,
            "queue": "support",
        }])
    );
    assert_eq!(body["attempt_calls"], json!([]));
    for uri in [
        format!("/api/callbacks/{}", id + 100),
        "/api/callbacks/x".to_owned(),
    ] {
        let (status, _) = get(&site.app, &uri).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
    }
}

#[tokio::test]
async fn assigning_and_cancelling_a_task_need_a_token_and_an_open_task() {
    let site = site().await;
    let id = open_task_id(&site).await;
    let assign = format!("/api/callbacks/{id}/assign");
    let cancel = format!("/api/callbacks/{id}/cancel");

    let (status, _) = send(
        &site.app,
        Method::POST,
        &assign,
        Some(json!({"agent": "201"})),
        false,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = send(
        &site.app,
        Method::POST,
        &assign,
        Some(json!({"agent": "201"})),
        true,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (
            body["assigned_agent"].clone(),
            body["assigned_queue"].clone()
        ),
        (json!("201"), Value::Null)
    );
    let (status, body) = send(
        &site.app,
        Method::POST,
        &assign,
        Some(json!({"queue": "sales"})),
        true,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (
            body["assigned_agent"].clone(),
            body["assigned_queue"].clone()
        ),
        (Value::Null, json!("sales"))
    );
    let (_, listed) = get(&site.app, "/api/callbacks?queue=sales").await;
    assert_eq!(listed["callbacks"][0]["id"], id);

    for (body, message) in [
        (
            json!({"agent": "999"}),
            "agent: 999 is not an extension of the configuration",
        ),
        (
            json!({"queue": "billing"}),
            "queue: billing is not a queue of the configuration",
        ),
        (
            json!({"agent": "201", "queue": "sales"}),
            "a task is assigned to an agent or to a queue, not both",
        ),
    ] {
        let (status, answer) = send(&site.app, Method::POST, &assign, Some(body), true).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(answer["error"], message);
    }

    let (status, body) = send(&site.app, Method::POST, &cancel, None, true).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["state"], "cancelled");
    assert_eq!(body["closed_by"], "token:ops");
    assert_eq!(body["closed_at_ms"], NOW);
    // No longer open: 409, with the task as it is.
    let (status, body) = send(&site.app, Method::POST, &cancel, None, true).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        body["error"],
        format!("callback task {id} is cancelled: only an open task can be cancelled")
    );
    assert_eq!(body["task"]["state"], "cancelled");
    let (status, _) = send(&site.app, Method::POST, &assign, Some(json!({})), true).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = send(
        &site.app,
        Method::POST,
        &format!("/api/callbacks/{}/cancel", id + 100),
        None,
        true,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Nothing is open any more.
    let open = site
        .store
        .callback_tasks(
            &crossbar_store::CallbackFilter {
                state: Some(crossbar_cdr::callbacks::TaskState::Open),
                ..crossbar_store::CallbackFilter::default()
            },
            crossbar_store::Page::default(),
        )
        .await
        .expect("the tasks are readable");
    assert!(open.is_empty());
}

#[tokio::test]
async fn agents_are_the_configured_members_with_what_the_database_holds() {
    let site = site().await;
    let (status, body) = get(&site.app, "/api/agents").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["agents"],
        json!([
            {
                "agent": "201",
                "queue": "support",
                "static_member": true,
                "penalty": 0,
                "logged_in": true,
                "since_ms": NINE - HOUR,
                "paused": true,
                "pause_reason": "lunch",
                "paused_since_ms": NINE + 30 * MIN,
            },
            {
                "agent": "202",
                "queue": "support",
                "static_member": true,
                "penalty": 1,
                "logged_in": false,
                "since_ms": null,
                "paused": false,
                "pause_reason": null,
                "paused_since_ms": null,
            },
            {
                "agent": "203",
                "queue": "sales",
                "static_member": true,
                "penalty": 0,
                "logged_in": false,
                "since_ms": null,
                "paused": false,
                "pause_reason": null,
                "paused_since_ms": null,
            },
            {
                "agent": "205",
                "queue": "support",
                "static_member": false,
                "penalty": 2,
                "logged_in": true,
                "since_ms": NINE,
                "paused": false,
                "pause_reason": null,
                "paused_since_ms": null,
            },
        ])
    );
}
