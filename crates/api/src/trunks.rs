//! SIP trunks over HTTP: every configured trunk with the status the running crossbar last
//! recorded for it, and each trunk's change log. Shared with `crossbar trunks`, whose JSON
//! is the same.
//!
//! | route | answer |
//! |---|---|
//! | `GET /api/trunks` | every `[[trunk]]` of the configuration, in its order: `{"trunks": [trunk, ...]}` |
//! | `GET /api/trunks/{name}/events?limit=` | the trunk's changes, newest first: `{"trunk": NAME, "events": [event, ...], "limit": L}`; 404 if no `[[trunk]]` has that name |
//!
//! A trunk is `{"name", "address", "transport", "registers", "health_checks", "calls",
//! "status"}`: `address` as configured (`sip.carrier-a.example:5060`, `[2001:db8::5]:5060`),
//! `transport` `udp` or `tcp`, `registers` and `health_checks` whether the configuration
//! asks for registration and OPTIONS health checks, `calls` the calls up through it now, and
//! `status` `null` when crossbar never reported one for it (it has not run with this trunk
//! yet), else `{"at_ms", "change", "registration", "registered_until_ms", "health",
//! "health_since_ms", "last_failure", "last_failure_at_ms"}` — `registration` is
//! `registered`, `registering`, `failed`, `unregistered` or `null` (does not register),
//! `health` is `up`, `down`, `unknown` or `unchecked`. An event is `{"id", "trunk", "at_ms",
//! "change", "health", "registration"}`. Times are unix milliseconds.
//!
//! `limit` takes the values of a call listing's (default 50, at most 1000).

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use crossbar_config::Trunk;
use crossbar_store::{
    ActivityWindow, OutboundActivity, Store, StoreError, TrunkEvent, TrunkStatusRow,
};

use crate::filter::{FilterError, parse_limit};
use crate::{Api, ApiError};

/// A configured trunk and its latest recorded status, as the API shows it (and
/// `crossbar trunks --format json`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TrunkView {
    pub name: String,
    /// `host[:port]` as configured, an IPv6 address in brackets.
    pub address: String,
    /// `udp` or `tcp`.
    pub transport: &'static str,
    /// The configuration asks crossbar to register to the carrier.
    pub registers: bool,
    /// The configuration asks for OPTIONS health checks (`options_interval_secs` > 0).
    pub health_checks: bool,
    /// Calls up through the trunk now.
    pub calls: u32,
    /// `None`: crossbar never reported a status for this trunk.
    pub status: Option<TrunkStatusView>,
}

/// A trunk's latest recorded status.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TrunkStatusView {
    /// When it last changed (unix milliseconds).
    pub at_ms: i64,
    /// What last changed, a sentence.
    pub change: String,
    pub registration: Option<String>,
    pub registered_until_ms: Option<i64>,
    pub health: String,
    pub health_since_ms: Option<i64>,
    pub last_failure: Option<String>,
    pub last_failure_at_ms: Option<i64>,
}

impl From<TrunkStatusRow> for TrunkStatusView {
    fn from(row: TrunkStatusRow) -> Self {
        TrunkStatusView {
            at_ms: row.at_ms,
            change: row.change,
            registration: row.registration,
            registered_until_ms: row.registered_until_ms,
            health: row.health,
            health_since_ms: row.health_since_ms,
            last_failure: row.last_failure,
            last_failure_at_ms: row.last_failure_at_ms,
        }
    }
}

/// One change of a trunk, as the API shows it (and `crossbar trunks --events --format json`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TrunkEventView {
    pub id: i64,
    pub trunk: String,
    pub at_ms: i64,
    pub change: String,
    pub health: String,
    pub registration: Option<String>,
}

impl From<TrunkEvent> for TrunkEventView {
    fn from(event: TrunkEvent) -> Self {
        TrunkEventView {
            id: event.id,
            trunk: event.trunk,
            at_ms: event.at_ms,
            change: event.change,
            health: event.health,
            registration: event.registration,
        }
    }
}

/// `host[:port]`, an IPv6 address in brackets.
fn address(trunk: &Trunk) -> String {
    let host = if trunk.host.contains(':') {
        format!("[{}]", trunk.host)
    } else {
        trunk.host.clone()
    };
    match trunk.port {
        Some(port) => format!("{host}:{port}"),
        None => host,
    }
}

/// Every trunk of `trunks` (the configuration's, in its order) with its recorded status and
/// its calls up now (`now_ms`, unix milliseconds). Statuses of trunks no longer configured
/// are left out.
pub async fn load_trunks(
    store: &Store,
    trunks: &[Trunk],
    now_ms: i64,
) -> Result<Vec<TrunkView>, StoreError> {
    let statuses = store.trunk_statuses().await?;
    // Only the calls up now are shown; the window's counts are not.
    let activity = store
        .outbound_activity(&ActivityWindow {
            day_start_ms: now_ms,
            until_ms: now_ms,
        })
        .await?;
    Ok(trunk_views(trunks, statuses, &activity))
}

/// Every trunk of `trunks` with its status among `statuses` (none: never reported) and its
/// calls in `activity`.
pub fn trunk_views(
    trunks: &[Trunk],
    mut statuses: Vec<TrunkStatusRow>,
    activity: &OutboundActivity,
) -> Vec<TrunkView> {
    trunks
        .iter()
        .map(|trunk| {
            let status = statuses
                .iter()
                .position(|s| s.trunk == trunk.name)
                .map(|i| TrunkStatusView::from(statuses.swap_remove(i)));
            TrunkView {
                name: trunk.name.clone(),
                address: address(trunk),
                transport: trunk.transport.as_str(),
                registers: trunk.register.is_some(),
                health_checks: trunk.options_interval_secs > 0,
                calls: activity.trunks.get(&trunk.name).map_or(0, |a| a.calls_now),
                status,
            }
        })
        .collect()
}

/// `?limit=` of a trunk's change log.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventQuery {
    /// Events, newest first, 0..=1000 (default 50).
    pub limit: Option<String>,
}

impl EventQuery {
    /// The limit these values ask for.
    pub fn to_limit(&self) -> Result<u32, FilterError> {
        parse_limit(&self.limit)
    }
}

#[derive(Debug, serde::Serialize)]
pub(crate) struct TrunkList {
    trunks: Vec<TrunkView>,
}

#[derive(Debug, serde::Serialize)]
pub(crate) struct EventList {
    trunk: String,
    events: Vec<TrunkEventView>,
    limit: u32,
}

/// `GET /api/trunks`.
pub(crate) async fn list(State(api): State<Api>) -> Result<Json<TrunkList>, ApiError> {
    let trunks = load_trunks(&api.store, &api.trunks, api.clock.now_ms()).await?;
    Ok(Json(TrunkList { trunks }))
}

/// `GET /api/trunks/{name}/events?limit=`.
pub(crate) async fn events(
    State(api): State<Api>,
    Path(name): Path<String>,
    query: Result<Query<EventQuery>, QueryRejection>,
) -> Result<Json<EventList>, ApiError> {
    let Query(query) = query?;
    let limit = query.to_limit()?;
    if !api.trunks.iter().any(|t| t.name == name) {
        return Err(ApiError::not_found(format!(
            "{name} is not a trunk of the configuration"
        )));
    }
    let events = api.store.trunk_events(Some(&name), limit).await?;
    Ok(Json(EventList {
        trunk: name,
        events: events.into_iter().map(TrunkEventView::from).collect(),
        limit,
    }))
}
