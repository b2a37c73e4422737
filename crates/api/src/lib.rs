//! crossbar-api: REST API and live views over HTTP (axum).
//!
//! [`router_with`] builds the application from a [`Store`] and an [`ApiConfig`] (the site's
//! time zone, the `[http] tokens`, the configured extension numbers and trunks, the dial plan
//! and the wall clock); the binary serves it on `[http] listen`. [`router`] and [`router_in`] build a read-only one
//! (no token is accepted, so every change is refused).
//!
//! | route | answer |
//! |---|---|
//! | `GET /` | the dashboard: the two directions' figures, the queues live (`/api/queues/events`) with their figures, recent calls with filters, refreshed from `/api/calls` |
//! | `GET /api/health` | `{"status": "ok"}` |
//! | `GET /api/calls` | one page of call records, newest first: `{"calls": [...], "total": N, "limit": L, "offset": O}` |
//! | `GET /api/calls/{id}` | one call record, or 404 |
//! | `GET /api/extensions/{number}/calls?view=received\|placed\|all` | the same page, for one extension |
//! | `GET /api/extensions/blocked` | the extensions blocked by a fraud cap ([`control`]) |
//! | `POST /api/extensions/{number}/unblock` | releases an extension's block ([`control`]; bearer token) |
//! | `GET /api/alerts?since=&limit=` | alerts, newest first ([`control`]) |
//! | `GET /api/reports/outbound?since=&until=&by=extension\|trunk\|class` | the outbound report of the period |
//! | `GET /api/reports/inbound?since=&until=&by=did\|route\|group&received=&service_level_secs=&short_abandon_secs=` | the inbound report of the period ([`reports`]) |
//! | `GET /api/reports/queues?since=&until=&queue=&short_abandon_secs=` | the queue report of the period: per queue, per agent, callbacks ([`queues`]) |
//! | `GET /api/callbacks?state=&agent=&queue=&number=&limit=&offset=` | callback tasks, newest first; the open ones by default ([`queues`]) |
//! | `GET /api/callbacks/{id}` | one callback task with its missed calls and attempts ([`queues`]) |
//! | `POST /api/callbacks/{id}/assign` | `{"agent"}` or `{"queue"}` or `{}`: assigns an open task ([`queues`]; bearer token) |
//! | `POST /api/callbacks/{id}/cancel` | cancels an open task ([`queues`]; bearer token) |
//! | `POST /api/callbacks/{id}/dial` | `{"agent"}` (default: the assigned agent): the engine rings the agent, then dials the customer ([`requests`]; bearer token) |
//! | `GET /api/agents` | every queue agent's membership, login and pause ([`queues`]) |
//! | `POST /api/agents/{ext}/login\|logout\|pause\|unpause` | asks the engine to log an agent in or out, pause or unpause it; waits up to 2 s for the outcome ([`requests`]; bearer token) |
//! | `GET /api/requests/{id}` | a request to the engine and what became of it ([`requests`]) |
//! | `GET /api/queues` | the live view: callers waiting in each queue, agents' states ([`live`]; 503 without an engine) |
//! | `GET /api/queues/events` | the live view as server-sent events, one per change ([`live`]) |
//! | `GET /api/time-conditions` | every configured time condition with its override ([`time_conditions`]) |
//! | `PUT /api/time-conditions/{name}/override` | `{"mode": "open"\|"closed"\|"schedule"}`: forces it or clears the override ([`time_conditions`]; bearer token) |
//! | `GET /api/blocklist` | the caller blocklist: the configuration's and the database's patterns ([`blocklist`]) |
//! | `POST /api/blocklist` | `{"pattern", "note"}`: blocks callers ([`blocklist`]; bearer token) |
//! | `DELETE /api/blocklist/{pattern}` | removes a pattern the database holds ([`blocklist`]; bearer token) |
//! | `GET /api/trunks` | every configured trunk with its recorded status ([`trunks`]) |
//! | `GET /api/trunks/{name}/events?limit=` | a trunk's changes, newest first ([`trunks`]) |
//! | `GET /api/route/explain?from=&to=&at=` | the routing decision for a call, explained ([`route`]) |
//! | `GET /api/route/explain/inbound?did=&caller=&trunk=&digits=&at=` | the path an incoming call would take ([`route`]) |
//!
//! Listing parameters (all optional, see [`filter::CallQuery`]): `extension`, `received_by`,
//! `placed_by`, `direction`, `disposition`, `trunk`, `class`, `since`, `until`, `limit`
//! (default 50, at most 1000), `offset`. Records are crossbar-cdr's [`CallRecord`] in its
//! serde form (an outbound call's routing, trunk and cost under `outbound`).
//!
//! The outbound report (parameters in [`filter::ReportQuery`], all optional) is
//! crossbar-cdr's [`OutboundReport`] in its serde form: `{"period": {"since_ms", "until_ms"},
//! "by", "total": {figures}, "groups": [{"key", figures...}]}`, its figures defined in
//! `crossbar_cdr::metrics::outbound` (costs in millionths: `cost_micros`,
//! `cost_micros_by_class`).
//!
//! Reads are open. Every request that may change state (any method but `GET`, `HEAD`,
//! `OPTIONS`) needs `Authorization: Bearer <token>` with a token of `[http] tokens`
//! ([`bearer`]): without one it is refused with 401 before anything happens.
//!
//! ```sh
//! curl -s http://127.0.0.1:8080/api/extensions/blocked
//! curl -s -X POST -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8080/api/extensions/201/unblock
//! curl -s 'http://127.0.0.1:8080/api/alerts?since=2026-11-21&limit=20'
//! curl -s http://127.0.0.1:8080/api/trunks
//! curl -s 'http://127.0.0.1:8080/api/route/explain?from=201&to=020%207946%200000'
//! curl -s 'http://127.0.0.1:8080/api/reports/inbound?since=2026-11-21&by=group'
//! curl -s -X PUT -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
//!     -d '{"mode": "closed"}' http://127.0.0.1:8080/api/time-conditions/office-hours/override
//! curl -s -X POST -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
//!     -d '{"pattern": "+447700900123", "note": "nuisance"}' http://127.0.0.1:8080/api/blocklist
//! ```
//!
//! Errors are JSON `{"error": "..."}`: 400 for a parameter or a body that cannot be used (an
//! unknown one included, so a typo is not silently ignored), 401 for a change without a
//! valid bearer token (with `WWW-Authenticate: Bearer realm="crossbar"`), 404 for an unknown
//! call, extension, trunk, route, time condition, callback task or request, 409 for a change
//! to a callback task that is no longer open or one the engine refuses as things stand, 415
//! for a body that is not `application/json`, 500 only when the database fails, 503 for the
//! live view when no engine runs in the process.

pub mod bearer;
pub mod blocklist;
pub mod control;
pub mod filter;
pub mod live;
pub mod queues;
pub mod reports;
pub mod requests;
pub mod route;
pub mod time_conditions;
pub mod trunks;

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router, middleware};
use crossbar_cdr::metrics::outbound::{GroupBy, OutboundReport, outbound_report};
use crossbar_cdr::{CallId, CallRecord};
pub use crossbar_config::ApiToken;
use crossbar_config::{NumberPattern, Queue, Trunk};
use crossbar_routing::DialPlan;
use crossbar_store::{CallFilter, Page, Store, StoreError, TrunkLegs};
use jiff::tz::TimeZone;

use crate::filter::{CallQuery, FilterError, ReportQuery};

/// Unix milliseconds now, for the times changes are recorded at. The API reads no clock of
/// its own: the binary passes the system's, tests a fixed one.
#[derive(Clone)]
pub struct WallClock(Arc<dyn Fn() -> i64 + Send + Sync>);

impl WallClock {
    /// A clock that asks `now_ms` (unix milliseconds) each time.
    pub fn new(now_ms: impl Fn() -> i64 + Send + Sync + 'static) -> WallClock {
        WallClock(Arc::new(now_ms))
    }

    /// A clock stopped at `ms` (unix milliseconds).
    pub fn fixed(ms: i64) -> WallClock {
        WallClock::new(move || ms)
    }

    /// Now, in unix milliseconds.
    pub fn now_ms(&self) -> i64 {
        (self.0)()
    }
}

impl fmt::Debug for WallClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("WallClock").field(&self.now_ms()).finish()
    }
}

/// What the API needs besides the store.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Dates and local times in listing filters are read in this zone (`[site] timezone`).
    pub timezone: TimeZone,
    /// The tokens that may change state (`[http] tokens`); none: every change is refused.
    pub tokens: Vec<ApiToken>,
    /// The numbers of the configured extensions (`[[extension]] number`): an unblock of any
    /// other number is a 404.
    pub extensions: Vec<String>,
    /// The configured trunks (`[[trunk]]`), in file order: `GET /api/trunks` lists them.
    pub trunks: Vec<Trunk>,
    /// The dial plan compiled from the configuration, for `GET /api/route/explain`; without
    /// one that route answers 404.
    pub dial_plan: Option<Arc<DialPlan>>,
    /// The names of the configured time conditions (`[[time_condition]] name`), in file
    /// order: `GET /api/time-conditions` lists them, and an override of any other name is a
    /// 404.
    pub time_conditions: Vec<String>,
    /// The configuration's `[inbound] blocklist`, shown by `GET /api/blocklist` beside the
    /// database's patterns.
    pub blocklist: Vec<NumberPattern>,
    /// The configured queues (`[[queue]]`): their service-level thresholds for the queue
    /// report, their static members for `GET /api/agents`, and the queues a callback task may
    /// be assigned to.
    pub queues: Vec<Queue>,
    /// `[agents] pause_reasons`, by name: the reasons `POST /api/agents/{ext}/pause` accepts.
    pub pause_reasons: Vec<String>,
    /// The engine running in this process, if one does: its live view of the queues, and the
    /// wake-up of its reader of requests. Without one, `GET /api/queues` answers 503 and
    /// requests wait for an engine elsewhere (another process on the database) to take them.
    pub engine: Option<live::EngineLink>,
    /// How long a request to the engine waits for its outcome before the answer is 202
    /// ([`requests::REQUEST_WAIT`]).
    pub request_wait: Duration,
    /// When changes happen, and "now" for the route simulator and the queue report.
    pub clock: WallClock,
}

impl ApiConfig {
    /// A read-only API: no token is accepted, so every change is refused (401); dates are
    /// read in `timezone`.
    pub fn read_only(timezone: TimeZone) -> ApiConfig {
        ApiConfig {
            timezone,
            tokens: Vec::new(),
            extensions: Vec::new(),
            trunks: Vec::new(),
            dial_plan: None,
            time_conditions: Vec::new(),
            blocklist: Vec::new(),
            queues: Vec::new(),
            pause_reasons: Vec::new(),
            engine: None,
            request_wait: requests::REQUEST_WAIT,
            // No change gets as far as asking the time without a token, and there is no
            // trunk to count calls of nor dial plan to route with. (The queue report counts
            // agents' time up to "now": give an API that serves it a clock.)
            clock: WallClock::fixed(0),
        }
    }
}

/// The read-only API over `store` ([`ApiConfig::read_only`]), reading dates in listing
/// filters as UTC days.
pub fn router(store: Store) -> Router {
    router_in(store, TimeZone::UTC)
}

/// The read-only API over `store` ([`ApiConfig::read_only`]), reading dates and local times
/// in listing filters in `timezone` (the site's, `[site] timezone`).
pub fn router_in(store: Store, timezone: TimeZone) -> Router {
    router_with(store, ApiConfig::read_only(timezone))
}

/// The API over `store` with `config`: reads open, changes for the holders of its tokens.
pub fn router_with(store: Store, config: ApiConfig) -> Router {
    let state = Api {
        store,
        timezone: config.timezone,
        tokens: config.tokens.into(),
        extensions: Arc::new(config.extensions.into_iter().collect()),
        trunks: config.trunks.into(),
        dial_plan: config.dial_plan,
        time_conditions: config.time_conditions.into(),
        blocklist: config.blocklist.into(),
        queues: config.queues.into(),
        pause_reasons: config.pause_reasons.into(),
        engine: config.engine,
        request_wait: config.request_wait,
        clock: config.clock,
    };
    Router::new()
        .route("/", get(dashboard))
        .route("/api/health", get(health))
        .route("/api/calls", get(list_calls))
        .route("/api/calls/{id}", get(one_call))
        .route("/api/extensions/blocked", get(control::blocked))
        .route("/api/extensions/{number}/calls", get(extension_calls))
        .route("/api/extensions/{number}/unblock", post(control::unblock))
        .route("/api/alerts", get(control::alerts))
        .route("/api/reports/outbound", get(outbound))
        .route("/api/reports/inbound", get(reports::inbound_route))
        .route("/api/reports/queues", get(queues::report))
        .route("/api/callbacks", get(queues::list))
        .route("/api/callbacks/{id}", get(queues::one))
        .route("/api/callbacks/{id}/assign", post(queues::assign))
        .route("/api/callbacks/{id}/cancel", post(queues::cancel))
        .route("/api/callbacks/{id}/dial", post(requests::dial))
        .route("/api/agents", get(queues::agents))
        .route("/api/agents/{ext}/login", post(requests::login))
        .route("/api/agents/{ext}/logout", post(requests::logout))
        .route("/api/agents/{ext}/pause", post(requests::pause))
        .route("/api/agents/{ext}/unpause", post(requests::unpause))
        .route("/api/requests/{id}", get(requests::one))
        .route("/api/queues", get(live::queues))
        .route("/api/queues/events", get(live::events))
        .route("/api/time-conditions", get(time_conditions::list))
        .route(
            "/api/time-conditions/{name}/override",
            put(time_conditions::set_override),
        )
        .route("/api/blocklist", get(blocklist::list).post(blocklist::add))
        .route("/api/blocklist/{pattern}", delete(blocklist::remove))
        .route("/api/trunks", get(trunks::list))
        .route("/api/trunks/{name}/events", get(trunks::events))
        .route("/api/route/explain", get(route::explain_call))
        .route("/api/route/explain/inbound", get(route::explain_incoming))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            bearer::require_token_for_changes,
        ))
        .with_state(state)
}

/// The dashboard page: static HTML and script that read the JSON API.
const DASHBOARD: &str = include_str!("../assets/dashboard.html");

async fn dashboard() -> impl IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "text/html; charset=utf-8")],
        DASHBOARD,
    )
}

#[derive(Clone)]
struct Api {
    store: Store,
    timezone: TimeZone,
    tokens: Arc<[ApiToken]>,
    extensions: Arc<BTreeSet<String>>,
    trunks: Arc<[Trunk]>,
    dial_plan: Option<Arc<DialPlan>>,
    time_conditions: Arc<[String]>,
    blocklist: Arc<[NumberPattern]>,
    queues: Arc<[Queue]>,
    pause_reasons: Arc<[String]>,
    engine: Option<live::EngineLink>,
    request_wait: Duration,
    clock: WallClock,
}

/// An error answer: its status and a message for people.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    fn not_found(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::NOT_FOUND,
            message: message.into(),
        }
    }
}

impl From<FilterError> for ApiError {
    fn from(error: FilterError) -> Self {
        ApiError::bad_request(error.0)
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::bad_request(rejection.body_text())
    }
}

impl From<JsonRejection> for ApiError {
    /// 415 for a body that is not `application/json`, else 400 saying what is wrong with it.
    fn from(rejection: JsonRejection) -> Self {
        let status = match rejection.status() {
            StatusCode::UNSUPPORTED_MEDIA_TYPE => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            _ => StatusCode::BAD_REQUEST,
        };
        ApiError {
            status,
            message: rejection.body_text(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        let mut message = error.to_string();
        let mut source = std::error::Error::source(&error);
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        tracing::error!(error = %message, "API request failed in the database");
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: "the database failed; see the server log".into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(serde_json::json!({ "error": self.message })),
        )
            .into_response()
    }
}

/// One page of a call listing.
#[derive(Debug, serde::Serialize)]
struct CallsPage {
    calls: Vec<CallRecord>,
    /// How many records the filter selects in all.
    total: u64,
    limit: u32,
    offset: u64,
}

async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such resource")
}

async fn list_calls(
    State(api): State<Api>,
    query: Result<Query<CallQuery>, QueryRejection>,
) -> Result<Json<CallsPage>, ApiError> {
    let Query(query) = query?;
    if query.view.is_some() {
        return Err(ApiError::bad_request(
            "view: only for /api/extensions/{number}/calls; use received_by or placed_by here",
        ));
    }
    let (filter, page) = query.to_filter(&api.timezone)?;
    page_of(&api.store, &filter, page).await
}

async fn extension_calls(
    State(api): State<Api>,
    Path(number): Path<String>,
    query: Result<Query<CallQuery>, QueryRejection>,
) -> Result<Json<CallsPage>, ApiError> {
    let Query(query) = query?;
    if query.extension.is_some() || query.received_by.is_some() || query.placed_by.is_some() {
        return Err(ApiError::bad_request(
            "the extension is in the path: use view=received|placed|all instead of \
             extension, received_by or placed_by",
        ));
    }
    let (mut filter, page) = query.to_filter(&api.timezone)?;
    match query.view.as_deref().map(str::trim).unwrap_or("") {
        "" | "all" => filter.extension = Some(number),
        "received" => filter.received_by = Some(number),
        "placed" => filter.placed_by = Some(number),
        other => {
            return Err(ApiError::bad_request(format!(
                "view: `{other}` is not one of received, placed, all"
            )));
        }
    }
    page_of(&api.store, &filter, page).await
}

async fn one_call(
    State(api): State<Api>,
    Path(id): Path<String>,
) -> Result<Json<CallRecord>, ApiError> {
    match api.store.call(&CallId(id)).await? {
        Some(record) => Ok(Json(record)),
        None => Err(ApiError::not_found("no call with this id")),
    }
}

async fn outbound(
    State(api): State<Api>,
    query: Result<Query<ReportQuery>, QueryRejection>,
) -> Result<Json<OutboundReport>, ApiError> {
    let Query(query) = query?;
    let (period, by) = query.to_report(&api.timezone)?;
    let legs = match by {
        Some(GroupBy::Trunk) => TrunkLegs::Include,
        _ => TrunkLegs::Omit,
    };
    let calls = api.store.outbound_calls(period, legs).await?;
    Ok(Json(outbound_report(&calls, period, by)))
}

async fn page_of(
    store: &Store,
    filter: &CallFilter,
    page: Page,
) -> Result<Json<CallsPage>, ApiError> {
    let calls = store.calls(filter, page).await?;
    let total = store.count_calls(filter).await?;
    Ok(Json(CallsPage {
        calls,
        total,
        limit: page.limit,
        offset: page.offset,
    }))
}
