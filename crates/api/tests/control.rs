//! Extension blocks, alerts and write access over HTTP, exercised request by request
//! (`tower::ServiceExt::oneshot`) over a real SQLite store in a temporary file.

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use crossbar_api::bearer::token_sha256;
use crossbar_api::{ApiConfig, ApiToken, WallClock};
use crossbar_store::testing::SqliteFile;
use crossbar_store::{AlertKind, Store};
use http_body_util::BodyExt;
use jiff::tz::TimeZone;
use serde_json::{Value, json};
use tower::ServiceExt;

/// 2026-11-21T09:00:00Z.
const NINE: i64 = 1_795_251_600_000;
const MINUTE: i64 = 60_000;
const HOUR: i64 = 3_600_000;
/// The API's clock: 10:00.
const NOW: i64 = NINE + HOUR;

const OPS_TOKEN: &str = "kV3uQ8cN0pZs7hYtR2wXbL5mD9fJ1gAe4oIqS6vTzCk";
const NOC_TOKEN: &str = "noc-2bd1c3e8a4f0";

/// A site with extensions 201, 202 and 203; 201 and 203 blocked; three alerts.
struct Site {
    store: Store,
    app: Router,
    _file: SqliteFile,
}

impl Site {
    async fn new() -> Site {
        let file = SqliteFile::new();
        let store = Store::open(&file.url).await.expect("the test store opens");
        store
            .block_extension("201", "31 calls in a minute (cap 30)", NINE)
            .await
            .expect("block 201");
        store
            .block_extension("203", "spent 20.40 today (cap 20.00)", NINE + MINUTE)
            .await
            .expect("block 203");
        for (kind, subject, message, at) in [
            (
                AlertKind::FraudCap,
                "extension:201",
                "31 calls in a minute",
                NINE,
            ),
            (
                AlertKind::FraudCap,
                "extension:203",
                "spent 20.40 today",
                NINE + MINUTE,
            ),
            (
                AlertKind::TrunkDown,
                "trunk:carrier-a",
                "no answer to OPTIONS",
                NINE + 2 * MINUTE,
            ),
        ] {
            store
                .raise_alert(kind, subject, message, at)
                .await
                .expect("alert raised");
        }
        let config = ApiConfig {
            timezone: TimeZone::UTC,
            tokens: vec![
                ApiToken {
                    name: "ops".into(),
                    sha256: token_sha256(OPS_TOKEN),
                },
                ApiToken {
                    name: "noc".into(),
                    sha256: token_sha256(NOC_TOKEN),
                },
            ],
            extensions: vec!["201".into(), "202".into(), "203".into()],
            clock: WallClock::fixed(NOW),
            ..ApiConfig::read_only(TimeZone::UTC)
        };
        let app = crossbar_api::router_with(store.clone(), config);
        Site {
            store,
            app,
            _file: file,
        }
    }

    async fn blocked_numbers(&self) -> Vec<String> {
        self.store
            .blocked_extensions()
            .await
            .expect("the blocks are readable")
            .into_iter()
            .map(|b| b.extension)
            .collect()
    }
}

/// The answer to `method uri` with `authorization` (the header's value, if any): status,
/// `WWW-Authenticate` and the JSON body.
async fn send(
    app: &Router,
    method: Method,
    uri: &str,
    authorization: Option<&str>,
) -> (StatusCode, Option<String>, Value) {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::empty()).expect("a valid request"))
        .await
        .expect("the router always answers");
    let status = response.status();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().expect("a visible ASCII header").to_owned());
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
    (status, challenge, body)
}

async fn get(app: &Router, uri: &str) -> (StatusCode, Value) {
    let (status, _, body) = send(app, Method::GET, uri, None).await;
    (status, body)
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

#[tokio::test]
async fn an_unblock_without_a_token_is_401_with_a_bearer_challenge_and_changes_nothing() {
    let site = Site::new().await;
    let (status, challenge, body) =
        send(&site.app, Method::POST, "/api/extensions/201/unblock", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(challenge.as_deref(), Some(r#"Bearer realm="crossbar""#));
    assert_eq!(
        body,
        json!({ "error": "this request changes state: send `Authorization: Bearer <token>` \
                          with a token of [http] tokens (`crossbar token new NAME` makes one)" })
    );
    // Another scheme is no bearer token either.
    let (status, challenge, _) = send(
        &site.app,
        Method::POST,
        "/api/extensions/201/unblock",
        Some("Basic b3BzOmtWM3VROGNOMA=="),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(challenge.as_deref(), Some(r#"Bearer realm="crossbar""#));
    assert_eq!(site.blocked_numbers().await, ["201", "203"]);
}

#[tokio::test]
async fn an_unblock_with_an_unknown_token_is_401_invalid_token_and_changes_nothing() {
    let site = Site::new().await;
    let wrong = format!("{OPS_TOKEN}x");
    for token in [wrong.as_str(), "", &OPS_TOKEN[..OPS_TOKEN.len() - 1]] {
        let (status, challenge, body) = send(
            &site.app,
            Method::POST,
            "/api/extensions/201/unblock",
            Some(&bearer(token)),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{token:?}");
        assert_eq!(
            challenge.as_deref(),
            Some(r#"Bearer realm="crossbar", error="invalid_token""#)
        );
        assert_eq!(
            body,
            json!({ "error": "the bearer token is not one of [http] tokens" })
        );
    }
    assert_eq!(site.blocked_numbers().await, ["201", "203"]);
    assert!(
        site.store
            .blocks(Some("201"))
            .await
            .expect("history")
            .iter()
            .all(|b| b.in_force())
    );
}

#[tokio::test]
async fn an_unblock_with_a_configured_token_releases_the_block_and_answers_it() {
    let site = Site::new().await;
    let (status, challenge, body) = send(
        &site.app,
        Method::POST,
        "/api/extensions/201/unblock",
        Some(&bearer(NOC_TOKEN)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(challenge, None);
    let id = body["id"].as_i64().expect("an id");
    assert_eq!(
        body,
        json!({
            "id": id,
            "extension": "201",
            "blocked_at_ms": NINE,
            "reason": "31 calls in a minute (cap 30)",
            "released_at_ms": NOW,
            "released_by": "token:noc",
        })
    );
    assert_eq!(site.blocked_numbers().await, ["203"]);

    // Released already: a 404 saying so, and the release stays as it was.
    let (status, _, body) = send(
        &site.app,
        Method::POST,
        "/api/extensions/201/unblock",
        Some(&bearer(OPS_TOKEN)),
    )
    .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::NOT_FOUND,
            json!({ "error": "extension 201 is not blocked" })
        )
    );
    let history = site.store.blocks(Some("201")).await.expect("history");
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].released_by.as_deref(), Some("token:noc"));
}

#[tokio::test]
async fn an_unblock_of_an_unblocked_extension_or_a_number_that_is_no_extension_is_404() {
    let site = Site::new().await;
    let ops = bearer(OPS_TOKEN);
    let cases = [
        (
            "/api/extensions/202/unblock",
            "extension 202 is not blocked",
        ),
        (
            "/api/extensions/999/unblock",
            "999 is not an extension of the configuration",
        ),
    ];
    for (uri, message) in cases {
        let (status, _, body) = send(&site.app, Method::POST, uri, Some(&ops)).await;
        assert_eq!(
            (status, body),
            (StatusCode::NOT_FOUND, json!({ "error": message })),
            "{uri}"
        );
    }
    // Without a token the answer is 401 whatever the number: nothing is learned.
    let (status, _, _) = send(&site.app, Method::POST, "/api/extensions/999/unblock", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(site.blocked_numbers().await, ["201", "203"]);
}

#[tokio::test]
async fn the_blocked_extensions_are_listed_by_number() {
    let site = Site::new().await;
    let (status, body) = get(&site.app, "/api/extensions/blocked").await;
    assert_eq!(status, StatusCode::OK);
    let blocked = body["blocked"].as_array().expect("a blocked array");
    let summary: Vec<(&str, i64, &str, &Value)> = blocked
        .iter()
        .map(|b| {
            (
                b["extension"].as_str().expect("a number"),
                b["blocked_at_ms"].as_i64().expect("a time"),
                b["reason"].as_str().expect("a reason"),
                &b["released_at_ms"],
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("201", NINE, "31 calls in a minute (cap 30)", &Value::Null),
            (
                "203",
                NINE + MINUTE,
                "spent 20.40 today (cap 20.00)",
                &Value::Null
            ),
        ]
    );

    send(
        &site.app,
        Method::POST,
        "/api/extensions/201/unblock",
        Some(&bearer(OPS_TOKEN)),
    )
    .await;
    let (_, body) = get(&site.app, "/api/extensions/blocked").await;
    assert_eq!(body["blocked"].as_array().map(Vec::len), Some(1));
    assert_eq!(body["blocked"][0]["extension"], "203");
}

#[tokio::test]
async fn alerts_are_listed_newest_first_since_a_time_up_to_a_limit() {
    let site = Site::new().await;
    let (status, body) = get(&site.app, "/api/alerts").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["limit"], 50);
    let alerts = body["alerts"].as_array().expect("an alerts array");
    let subjects: Vec<&str> = alerts
        .iter()
        .map(|a| a["subject"].as_str().expect("a subject"))
        .collect();
    assert_eq!(
        subjects,
        ["trunk:carrier-a", "extension:203", "extension:201"]
    );
    let id = alerts[2]["id"].as_i64().expect("an id");
    assert_eq!(
        alerts[2],
        json!({
            "id": id,
            "raised_at_ms": NINE,
            "kind": "fraud_cap",
            "subject": "extension:201",
            "message": "31 calls in a minute",
            "acknowledged_at_ms": null,
            "acknowledged_by": null,
        })
    );
    assert_eq!(alerts[0]["kind"], "trunk_down");

    let cases = [
        ("/api/alerts?limit=1", vec!["trunk:carrier-a"]),
        (
            "/api/alerts?since=2026-11-21T09:01:00Z",
            vec!["trunk:carrier-a", "extension:203"],
        ),
        (
            "/api/alerts?since=2026-11-21T09:00:30&limit=",
            vec!["trunk:carrier-a", "extension:203"],
        ),
        ("/api/alerts?since=2026-11-22", vec![]),
    ];
    for (uri, expected) in cases {
        let (status, body) = get(&site.app, uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}: {body}");
        let subjects: Vec<&str> = body["alerts"]
            .as_array()
            .expect("an alerts array")
            .iter()
            .map(|a| a["subject"].as_str().expect("a subject"))
            .collect();
        assert_eq!(subjects, expected, "{uri}");
    }
}

#[tokio::test]
async fn bad_alert_parameters_are_400_naming_the_parameter() {
    let site = Site::new().await;
    for (uri, gist) in [
        (
            "/api/alerts?limit=5000",
            "limit: `5000` is not a whole number from 0 to 1000",
        ),
        ("/api/alerts?since=soon", "since: `soon` is not a time"),
        ("/api/alerts?kind=fraud_cap", "unknown field `kind`"),
    ] {
        let (status, body) = get(&site.app, uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {body}");
        let error = body["error"].as_str().unwrap_or_default();
        assert!(error.contains(gist), "{uri}: {error}");
    }
}

#[tokio::test]
async fn any_change_needs_a_token_even_to_a_route_that_does_not_exist() {
    let site = Site::new().await;
    for method in [Method::POST, Method::PUT, Method::DELETE, Method::PATCH] {
        let (status, challenge, _) = send(&site.app, method.clone(), "/api/nothing", None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method}");
        assert_eq!(challenge.as_deref(), Some(r#"Bearer realm="crossbar""#));
    }
    let (status, _, body) = send(
        &site.app,
        Method::POST,
        "/api/nothing",
        Some(&bearer(OPS_TOKEN)),
    )
    .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::NOT_FOUND,
            json!({ "error": "no such resource" })
        )
    );
    // Reads stay open.
    let (status, _) = get(&site.app, "/api/extensions/blocked").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn the_read_only_router_refuses_every_change() {
    let site = Site::new().await;
    let app = crossbar_api::router(site.store.clone());
    let (status, challenge, _) = send(
        &app,
        Method::POST,
        "/api/extensions/201/unblock",
        Some(&bearer(OPS_TOKEN)),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        challenge.as_deref(),
        Some(r#"Bearer realm="crossbar", error="invalid_token""#)
    );
    assert_eq!(site.blocked_numbers().await, ["201", "203"]);
    let (status, body) = get(&app, "/api/extensions/blocked").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["blocked"].as_array().map(Vec::len), Some(2));
}
