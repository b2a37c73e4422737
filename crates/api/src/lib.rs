//! crossbar-api: REST API and live views over HTTP (axum).
//!
//! [`router`] builds the application; the binary serves it on `[http] listen`.
//!
//! | route | answer |
//! |---|---|
//! | `GET /` | the dashboard: recent calls with filters, refreshed from `/api/calls` |
//! | `GET /api/health` | `{"status": "ok"}` |
//! | `GET /api/calls` | one page of call records, newest first: `{"calls": [...], "total": N, "limit": L, "offset": O}` |
//! | `GET /api/calls/{id}` | one call record, or 404 |
//! | `GET /api/extensions/{number}/calls?view=received\|placed\|all` | the same page, for one extension |
//! | `GET /api/reports/outbound?since=&until=&by=extension\|trunk\|class` | the outbound report of the period |
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
//! Errors are JSON `{"error": "..."}`: 400 for a parameter that cannot be used (an unknown
//! one included, so a typo is not silently ignored), 404 for an unknown call or route, 500
//! only when the database fails.

pub mod filter;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use crossbar_cdr::metrics::outbound::{GroupBy, OutboundReport, outbound_report};
use crossbar_cdr::{CallId, CallRecord};
use crossbar_store::{CallFilter, Page, Store, StoreError, TrunkLegs};
use jiff::tz::TimeZone;

use crate::filter::{CallQuery, FilterError, ReportQuery};

/// The API over `store`, reading dates in listing filters as UTC days.
pub fn router(store: Store) -> Router {
    router_in(store, TimeZone::UTC)
}

/// The API over `store`, reading dates and local times in listing filters in `timezone`
/// (the site's, `[site] timezone`).
pub fn router_in(store: Store, timezone: TimeZone) -> Router {
    let state = Api { store, timezone };
    Router::new()
        .route("/", get(dashboard))
        .route("/api/health", get(health))
        .route("/api/calls", get(list_calls))
        .route("/api/calls/{id}", get(one_call))
        .route("/api/extensions/{number}/calls", get(extension_calls))
        .route("/api/reports/outbound", get(outbound))
        .fallback(not_found)
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
