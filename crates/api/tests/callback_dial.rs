//! `POST /api/callbacks/{id}/dial` over a real SQLite store: the task and the agent checked
//! before anything is written, the task's number, DID and queue in the request, and the
//! engine's outcome (a stand-in engine, as crossbar's takes requests) as the answer.

mod common;

use common::{DID, Script};

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use crossbar_api::bearer::token_sha256;
use crossbar_api::live::EngineLink;
use crossbar_api::{ApiConfig, ApiToken, WallClock};
use crossbar_config::Config;
use crossbar_store::testing::SqliteFile;
use crossbar_store::{Assignee, RequestOutcome, Store, SwitchRequest};
use http_body_util::BodyExt;
use jiff::tz::TimeZone;
use serde_json::{Value, json};
use tokio::sync::{Notify, watch};
use tower::ServiceExt;

/// 2026-11-21T09:00:00Z.
const NINE: i64 = 1_795_251_600_000;
const SEC: i64 = 1_000;
const CUSTOMER: &str = "+447700900123";
const OPS_TOKEN: &str = "kV3uQ8cN0pZs7hYtR2wXbL5mD9fJ1gAe4oIqS6vTzCk";

const CONFIG: &str = r#"
[[extension]]
number = "201"
secret = "correct-horse-battery-1"

[[extension]]
number = "202"
secret = "correct-horse-battery-2"

[[queue]]
name = "support"
members = ["201", "202"]
"#;

struct Site {
    app: Router,
    store: Store,
    /// The customer's open task, from their call abandoned in `support`.
    task: i64,
    _file: SqliteFile,
}

/// The API over a store holding the customer's abandoned call (so an open task), with
/// `engine` if given; requests wait 300 ms for their outcome.
async fn site(engine: Option<EngineLink>) -> Site {
    let file = SqliteFile::new();
    let store = Store::open(&file.url).await.expect("the test store opens");
    let missed = Script::inbound("c1", CUSTOMER, NINE)
        .joins(0, "support")
        .ends(40 * SEC);
    store.call_finished(&missed).await.expect("store a record");
    let task = store
        .callback_tasks(&Default::default(), crossbar_store::Page::default())
        .await
        .expect("tasks listed")[0]
        .id;
    let config =
        Config::parse(CONFIG, std::path::Path::new("crossbar.toml")).expect("a valid config");
    let api = ApiConfig {
        tokens: vec![ApiToken {
            name: "ops".into(),
            sha256: token_sha256(OPS_TOKEN),
        }],
        extensions: config.extensions.iter().map(|e| e.number.clone()).collect(),
        queues: config.queues.clone(),
        engine,
        request_wait: Duration::from_millis(300),
        clock: WallClock::fixed(NINE + 3_600 * SEC),
        ..ApiConfig::read_only(TimeZone::UTC)
    };
    Site {
        app: crossbar_api::router_with(store.clone(), api),
        store,
        task,
        _file: file,
    }
}

fn engine() -> (
    EngineLink,
    watch::Sender<Option<Arc<crossbar_api::live::LiveQueues>>>,
) {
    let (tx, rx) = watch::channel(None);
    (
        EngineLink {
            live: rx,
            requests: Arc::new(Notify::new()),
        },
        tx,
    )
}

/// A stand-in for crossbar's engine: woken by the API, it takes each request and finishes it
/// as `decide` says.
fn stand_in_engine(
    store: Store,
    wake: Arc<Notify>,
    decide: impl Fn(&SwitchRequest) -> (RequestOutcome, Option<String>, Option<String>) + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            wake.notified().await;
            let taken = store
                .take_switch_requests("stand-in", NINE, 10)
                .await
                .expect("requests taken");
            for request in taken {
                let (outcome, result, error) =
                    decide(&request.request().expect("a readable request"));
                store
                    .finish_switch_request(
                        request.id,
                        NINE + 5,
                        outcome,
                        result.as_deref(),
                        error.as_deref(),
                    )
                    .await
                    .expect("request finished");
            }
        }
    })
}

/// The answer to `POST uri` with `body` (JSON text) and the ops token if `token`.
async fn post(app: &Router, uri: &str, body: Option<&str>, token: bool) -> (StatusCode, Value) {
    let mut request = Request::builder().method(Method::POST).uri(uri);
    if token {
        request = request.header("authorization", format!("Bearer {OPS_TOKEN}"));
    }
    let body = match body {
        Some(text) => {
            request = request.header("content-type", "application/json");
            Body::from(text.to_owned())
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

#[tokio::test]
async fn a_dialled_task_asks_the_engine_with_its_number_did_and_queue_and_answers_the_call() {
    let (link, _live) = engine();
    let wake = link.requests.clone();
    let site = site(Some(link)).await;
    let engine = stand_in_engine(site.store.clone(), wake, |request| match request {
        SwitchRequest::CallbackDial { .. } => (
            RequestOutcome::Done,
            Some(json!({"call": "cb-1"}).to_string()),
            None,
        ),
        other => panic!("only a callback dial is asked, not {other:?}"),
    });
    let uri = format!("/api/callbacks/{}/dial", site.task);
    let (status, body) = post(&site.app, &uri, Some(r#"{"agent": "201"}"#), true).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["call"], "cb-1");
    assert_eq!(body["request"]["kind"], "callback_dial");
    assert_eq!(body["request"]["state"], "done");
    assert_eq!(body["request"]["requested_by"], "token:ops");
    assert_eq!(
        body["request"]["arguments"],
        json!({
            "task": site.task,
            "agent": "201",
            "customer": CUSTOMER,
            "did": DID,
            "queue": "support",
        })
    );
    engine.abort();
}

#[tokio::test]
async fn a_switch_refusal_is_a_conflict_naming_the_recorded_call_if_any() {
    let (link, _live) = engine();
    let wake = link.requests.clone();
    let site = site(Some(link)).await;
    let engine = stand_in_engine(site.store.clone(), wake, |request| match request {
        SwitchRequest::CallbackDial { agent, .. } if agent == "201" => (
            RequestOutcome::Refused,
            None,
            Some("extension 201 has no registered phone".into()),
        ),
        _ => (
            RequestOutcome::Refused,
            Some(json!({"call": "cb-9"}).to_string()),
            Some("the callback is denied: international calls (call cb-9)".into()),
        ),
    });
    let uri = format!("/api/callbacks/{}/dial", site.task);
    let (status, body) = post(&site.app, &uri, Some(r#"{"agent": "201"}"#), true).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"], "extension 201 has no registered phone");
    assert_eq!(body["request"]["state"], "refused");
    let (status, body) = post(&site.app, &uri, Some(r#"{"agent": "202"}"#), true).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["request"]["result"], json!({"call": "cb-9"}));
    engine.abort();
}

#[tokio::test]
async fn the_task_and_the_agent_are_checked_before_anything_is_asked() {
    let site = site(None).await;
    let uri = format!("/api/callbacks/{}/dial", site.task);
    let agent = Some(r#"{"agent": "201"}"#);
    // Without the token: nothing.
    let (status, _) = post(&site.app, &uri, agent, false).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // No such task.
    for missing in [
        format!("/api/callbacks/{}/dial", site.task + 100),
        "/api/callbacks/x/dial".to_owned(),
    ] {
        let (status, body) = post(&site.app, &missing, agent, true).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{missing}: {body}");
    }
    // An agent that is not an extension; no agent, the task assigned to none.
    let (status, body) = post(&site.app, &uri, Some(r#"{"agent": "299"}"#), true).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["error"],
        "agent: 299 is not an extension of the configuration"
    );
    let (status, body) = post(&site.app, &uri, None, true).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["error"],
        format!(
            "agent: callback task {} is not assigned to an agent: name the agent who calls back",
            site.task
        )
    );
    // Assigned to a queue is no agent either.
    site.store
        .assign_callback(site.task, Some(&Assignee::Queue("support".into())))
        .await
        .expect("assigned");
    let (status, _) = post(&site.app, &uri, Some("{}"), true).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // A closed task.
    site.store
        .cancel_callback(site.task, "cli:ops", NINE + SEC)
        .await
        .expect("cancelled");
    let (status, body) = post(&site.app, &uri, agent, true).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        body["error"],
        format!(
            "callback task {} is cancelled: only an open task can be dialled",
            site.task
        )
    );
    assert_eq!(body["task"]["state"], "cancelled");
    // Nothing was asked of the engine.
    let taken = site
        .store
        .take_switch_requests("node", NINE + 3_600 * SEC, 10)
        .await
        .expect("requests read");
    assert!(taken.is_empty(), "{taken:?}");
}

#[tokio::test]
async fn without_a_body_the_assigned_agent_is_rung_and_without_an_engine_the_request_waits() {
    let site = site(None).await;
    site.store
        .assign_callback(site.task, Some(&Assignee::Agent("202".into())))
        .await
        .expect("assigned");
    let uri = format!("/api/callbacks/{}/dial", site.task);
    let (status, body) = post(&site.app, &uri, None, true).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["request"]["state"], "pending");
    assert_eq!(body["request"]["arguments"]["agent"], "202");
}
