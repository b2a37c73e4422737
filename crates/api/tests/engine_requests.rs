//! Asking the engine over HTTP, request by request over a real SQLite store: agent login,
//! logout, pause and unpause checked against the configuration before anything is written,
//! the engine's outcome as the answer (a stand-in engine takes the requests as crossbar's
//! does), 202 when no engine takes them; and the live view of the queues, read and streamed.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use crossbar_api::bearer::token_sha256;
use crossbar_api::live::{
    EngineLink, LiveAgent, LiveCaller, LiveMembership, LiveQueue, LiveQueues, LiveState,
};
use crossbar_api::{ApiConfig, ApiToken, WallClock};
use crossbar_config::Config;
use crossbar_store::testing::SqliteFile;
use crossbar_store::{RequestOutcome, Store, SwitchRequest};
use http_body_util::BodyExt;
use jiff::tz::TimeZone;
use serde_json::{Value, json};
use tokio::sync::{Notify, watch};
use tower::ServiceExt;

/// 2026-11-21T09:00:00Z.
const NINE: i64 = 1_795_251_600_000;
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
members = ["201"]

[[queue]]
name = "sales"
members = ["202"]

[agents]
pause_reasons = { "1" = "lunch", "2" = "training" }
"#;

struct Site {
    app: Router,
    store: Store,
    _file: SqliteFile,
}

/// The API over a fresh store, its clock at 09:00, with `engine` if given; requests wait
/// 300 ms for their outcome.
async fn site(engine: Option<EngineLink>) -> Site {
    let file = SqliteFile::new();
    let store = Store::open(&file.url).await.expect("the test store opens");
    let config =
        Config::parse(CONFIG, std::path::Path::new("crossbar.toml")).expect("a valid config");
    let api = ApiConfig {
        tokens: vec![ApiToken {
            name: "ops".into(),
            sha256: token_sha256(OPS_TOKEN),
        }],
        extensions: config.extensions.iter().map(|e| e.number.clone()).collect(),
        queues: config.queues.clone(),
        pause_reasons: config
            .agents
            .pause_reasons
            .iter()
            .map(|(_, reason)| reason.clone())
            .collect(),
        engine,
        request_wait: Duration::from_millis(300),
        clock: WallClock::fixed(NINE),
        ..ApiConfig::read_only(TimeZone::UTC)
    };
    Site {
        app: crossbar_api::router_with(store.clone(), api),
        store,
        _file: file,
    }
}

/// An engine link whose live view is `live`; the sender keeps it open.
fn engine(live: Option<LiveQueues>) -> (EngineLink, watch::Sender<Option<Arc<LiveQueues>>>) {
    let (tx, rx) = watch::channel(live.map(Arc::new));
    (
        EngineLink {
            live: rx,
            requests: Arc::new(Notify::new()),
        },
        tx,
    )
}

/// The answer to `method uri` with `body` (JSON text, sent as such) and the ops token if
/// `token`: its status, `Location` and JSON body.
async fn send(
    app: &Router,
    method: Method,
    uri: &str,
    body: Option<&str>,
    token: bool,
) -> (StatusCode, Option<String>, Value) {
    let mut request = Request::builder().method(method).uri(uri);
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
    let location = response
        .headers()
        .get("location")
        .map(|l| l.to_str().expect("ASCII").to_owned());
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("the body is readable")
        .to_bytes();
    let json = serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("{uri}: not JSON ({e}): {}", String::from_utf8_lossy(&bytes)));
    (status, location, json)
}

async fn post(app: &Router, uri: &str, body: Option<&str>) -> (StatusCode, Value) {
    let (status, _, json) = send(app, Method::POST, uri, body, true).await;
    (status, json)
}

fn error_of(body: &Value) -> &str {
    body["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error: {body}"))
}

#[tokio::test]
async fn what_the_configuration_does_not_know_is_a_400_naming_it_and_nothing_is_asked() {
    let site = site(None).await;
    let cases: [(&str, Option<&str>, &str); 8] = [
        (
            "/api/agents/209/login",
            None,
            "agent: 209 is not an extension of the configuration",
        ),
        (
            "/api/agents/201/login",
            Some(r#"{"queue": "billing"}"#),
            "queue: billing is not a queue of the configuration",
        ),
        (
            "/api/agents/201/login",
            Some(r#"{"penalty": 2}"#),
            "penalty: a penalty is for one queue: name the queue too",
        ),
        (
            "/api/agents/201/logout",
            Some(r#"{"queue": "billing"}"#),
            "queue: billing is not a queue of the configuration",
        ),
        (
            "/api/agents/201/pause",
            Some(r#"{"reason": "nap"}"#),
            "reason: nap is not one of [agents] pause_reasons (lunch, training)",
        ),
        (
            "/api/agents/209/unpause",
            None,
            "agent: 209 is not an extension of the configuration",
        ),
        (
            "/api/agents/201/pause",
            Some(r#"{"reason": "lunch", "minutes": 30}"#),
            "unknown field `minutes`",
        ),
        (
            "/api/agents/201/login",
            Some(r#"{"queue": "support", "penalty": -1}"#),
            "penalty",
        ),
    ];
    for (uri, body, message) in cases {
        let (status, answer) = post(&site.app, uri, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri} {body:?}: {answer}");
        assert!(
            error_of(&answer).contains(message),
            "{uri} {body:?}: {answer}"
        );
    }
    // A body that is not JSON.
    let response = site
        .app
        .clone()
        .oneshot(
            Request::post("/api/agents/201/pause")
                .header("authorization", format!("Bearer {OPS_TOKEN}"))
                .header("content-type", "text/plain")
                .body(Body::from("lunch"))
                .expect("a valid request"),
        )
        .await
        .expect("the router answers");
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(
        site.store.switch_request(1).await.expect("readable"),
        None,
        "nothing was asked of the engine"
    );
}

#[tokio::test]
async fn an_agent_change_without_a_token_is_refused() {
    let site = site(None).await;
    let (status, _, body) = send(
        &site.app,
        Method::POST,
        "/api/agents/201/login",
        None,
        false,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(site.store.switch_request(1).await.expect("readable"), None);
}

#[tokio::test]
async fn a_request_no_engine_takes_is_accepted_with_its_id_and_can_be_read_back() {
    let site = site(None).await;
    let (status, location, body) = send(
        &site.app,
        Method::POST,
        "/api/agents/201/pause",
        Some(r#"{"reason": " lunch "}"#),
        true,
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let id = body["request"]["id"].as_i64().expect("the request's id");
    assert_eq!(location, Some(format!("/api/requests/{id}")));
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("is it running?")),
        "{body}"
    );
    assert_eq!(
        body["request"],
        json!({
            "id": id,
            "kind": "agent_pause",
            "arguments": {"agent": "201", "reason": "lunch"},
            "state": "pending",
            "requested_at_ms": NINE,
            "requested_by": "token:ops",
            "expires_at_ms": NINE + 60_000,
            "taken_at_ms": null,
            "taken_by": null,
            "done_at_ms": null,
            "result": null,
            "error": null,
        })
    );
    let (status, _, read) = send(
        &site.app,
        Method::GET,
        &format!("/api/requests/{id}"),
        None,
        false,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read, body["request"]);
    let (status, _, _) = send(&site.app, Method::GET, "/api/requests/999", None, false).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = send(&site.app, Method::GET, "/api/requests/x", None, false).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
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

#[tokio::test]
async fn the_engines_outcome_is_the_answer() {
    let (link, _live) = engine(None);
    let wake = link.requests.clone();
    let site = site(Some(link)).await;
    let engine = stand_in_engine(site.store.clone(), wake, |request| {
        match request {
        SwitchRequest::AgentLogin { agent, queue, .. } => (
            RequestOutcome::Done,
            Some(
                json!({"agent": agent, "state": "available", "queues": [{"queue": queue, "penalty": 3}]})
                    .to_string(),
            ),
            None,
        ),
        SwitchRequest::AgentPause { agent, .. } => (
            RequestOutcome::Refused,
            None,
            Some(format!("agent {agent} is not logged in")),
        ),
        _ => (
            RequestOutcome::Invalid,
            None,
            Some("extension 202 is a member of no queue".into()),
        ),
    }
    });

    let (status, body) = post(
        &site.app,
        "/api/agents/201/login",
        Some(r#"{"queue": "support", "penalty": 3}"#),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["agent"],
        json!({"agent": "201", "state": "available", "queues": [{"queue": "support", "penalty": 3}]})
    );
    assert_eq!(body["request"]["state"], "done");
    assert_eq!(body["request"]["taken_by"], "stand-in");
    assert_eq!(
        body["request"]["arguments"],
        json!({"agent": "201", "queue": "support", "penalty": 3})
    );

    let (status, body) = post(&site.app, "/api/agents/202/pause", None).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(error_of(&body), "agent 202 is not logged in");
    assert_eq!(body["request"]["state"], "refused");

    let (status, body) = post(&site.app, "/api/agents/202/unpause", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(error_of(&body), "extension 202 is a member of no queue");
    engine.abort();
}

fn a_view() -> LiveQueues {
    LiveQueues {
        at_ms: NINE - 1_000,
        queues: vec![LiveQueue {
            queue: "support".into(),
            waiting: 1,
            logged_in: 1,
            available: 0,
            callers: vec![LiveCaller {
                position: 1,
                call: Some("c-1".into()),
                number: Some("+447700900123".into()),
                vip: false,
                joined_at_ms: NINE - 42_500,
                waited_secs: 0,
                offered_to: vec!["201".into()],
                callback: false,
            }],
        }],
        agents: vec![LiveAgent {
            agent: "201".into(),
            state: LiveState::Ringing,
            queue: Some("support".into()),
            call: Some("c-1".into()),
            since_ms: None,
            until_ms: Some(NINE + 14_000),
            pause_reason: None,
            pause_pending: false,
            on_a_call: false,
            queues: vec![LiveMembership {
                queue: "support".into(),
                penalty: 0,
            }],
        }],
    }
}

#[tokio::test]
async fn the_live_view_needs_an_engine_and_counts_each_callers_wait_when_asked() {
    let without = site(None).await;
    let (status, _, body) = send(&without.app, Method::GET, "/api/queues", None, false).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(error_of(&body).contains("no call engine runs"), "{body}");
    let (status, _, _) = send(&without.app, Method::GET, "/api/queues/events", None, false).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);

    let (link, live) = engine(None);
    let starting = site(Some(link)).await;
    let (status, _, body) = send(&starting.app, Method::GET, "/api/queues", None, false).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(error_of(&body).contains("starting"), "{body}");

    live.send_replace(Some(Arc::new(a_view())));
    let (status, _, body) = send(&starting.app, Method::GET, "/api/queues", None, false).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["queues"][0]["callers"][0]["waited_secs"], 42);
    assert_eq!(
        body["queues"][0]["callers"][0]["offered_to"],
        json!(["201"])
    );
    assert_eq!(body["agents"][0]["state"], "ringing");
    assert_eq!(body["agents"][0]["until_ms"], NINE + 14_000);
}

/// The next server-sent event of `body` (its text, up to the blank line that ends it).
async fn next_event(body: &mut Body) -> String {
    let mut text = String::new();
    while !text.ends_with("\n\n") {
        let frame = tokio::time::timeout(Duration::from_secs(5), body.frame())
            .await
            .expect("an event within 5 s")
            .expect("the stream goes on")
            .expect("a readable frame");
        if let Ok(data) = frame.into_data() {
            text.push_str(std::str::from_utf8(&data).expect("UTF-8"));
        }
    }
    text
}

/// The JSON of an event's `data:` line.
fn data_of(event: &str) -> Value {
    let line = event
        .lines()
        .find_map(|l| l.strip_prefix("data: "))
        .unwrap_or_else(|| panic!("no data in {event:?}"));
    serde_json::from_str(line).expect("JSON data")
}

#[tokio::test]
async fn the_event_stream_sends_the_view_at_once_then_each_change_and_ends_with_the_engine() {
    let (link, live) = engine(Some(a_view()));
    let site = site(Some(link)).await;
    let response = site
        .app
        .clone()
        .oneshot(
            Request::get("/api/queues/events")
                .body(Body::empty())
                .expect("a valid request"),
        )
        .await
        .expect("the router answers");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "text/event-stream",
        "{response:?}"
    );
    let mut body = response.into_body();
    let first = next_event(&mut body).await;
    assert!(first.starts_with("event: queues\n"), "{first:?}");
    assert_eq!(data_of(&first)["queues"][0]["waiting"], 1);

    // The caller is answered: the next event says so.
    let mut answered = a_view();
    answered.queues[0].callers.clear();
    answered.queues[0].waiting = 0;
    answered.agents[0].state = LiveState::OnCall;
    live.send_replace(Some(Arc::new(answered)));
    let second = next_event(&mut body).await;
    let data = data_of(&second);
    assert_eq!(data["queues"][0]["waiting"], 0);
    assert_eq!(data["agents"][0]["state"], "on_call");

    // crossbar stops: the stream ends.
    drop(live);
    let end = tokio::time::timeout(Duration::from_secs(5), body.frame())
        .await
        .expect("the stream ends within 5 s");
    assert!(end.is_none(), "no more frames: {end:?}");
}
