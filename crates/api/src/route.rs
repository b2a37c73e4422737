//! The route simulator over HTTP, and the live state it routes against — shared with
//! `crossbar route explain`, so the command line and the API cannot disagree.
//!
//! | route | answer |
//! |---|---|
//! | `GET /api/route/explain?from=201&to=020%207946%200000&at=2026-12-24T22:00` | the routing decision explained: crossbar-routing's [`Explanation`] as JSON |
//!
//! `from` is the calling extension, `to` what it dials (as a phone would send it: spaces
//! and dashes are fine), `at` when (optional, default now): a local date and time in
//! `[site] timezone` (`2026-12-24T22:00`), RFC 3339 with an offset
//! (`2026-12-24T22:00:00Z`), or a date (its first instant). The answer is 200 whatever the
//! decision (denied and no-route calls included: `allowed`, `status` and `reason` say why);
//! 400 for a missing or unusable parameter, 404 when the API has no dial plan.
//!
//! The decision is [`DialPlan::route`]'s — exactly the function the switch calls — against
//! [`StoredLive`], the state the database holds ([`StoredLive::load`]): trunks that reported
//! `down` are skipped, blocked extensions are denied, and class-of-service limits and fraud
//! caps count the extension's outbound calls up now, in the minute before `at` and since
//! local midnight of `at`'s day.

use std::collections::HashMap;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use crossbar_config::NumberPattern;
use crossbar_routing::{
    Attempt, DialPlan, Explanation, ExtensionUsage, Identity, InboundCall, InboundExplanation,
    Live, TrunkLoad,
};
use crossbar_store::{ActivityWindow, Store, StoreError};
use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::filter::{Bound, FilterError, parse_time};
use crate::{Api, ApiError};

/// Trunk health and load, and extensions' outbound usage, as the database holds them at one
/// time. Trunks that never reported a status are up and idle, as the switch treats a trunk
/// it has not probed yet; extensions with no calls are idle.
///
/// Per-trunk calls come from the calls in progress and extension spend from the call
/// records, once the store's schema holds the calls' trunks and costs (see
/// [`crossbar_store::activity`]); until then they read as zero.
///
/// For incoming calls it holds what the database steers them with: the time-condition
/// overrides in force, the database's caller blocklist (`[inbound] blocklist` is the dial
/// plan's own) and where each round-robin ring group starts next.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredLive {
    trunks: HashMap<String, TrunkLoad>,
    extensions: HashMap<String, ExtensionUsage>,
    /// Time condition name → forced open (`true`) or closed.
    overrides: HashMap<String, bool>,
    /// The database's blocklist.
    blocked_callers: Vec<NumberPattern>,
    /// Ring group name → the member to ring first next.
    round_robin: HashMap<String, usize>,
}

impl StoredLive {
    /// Reads the trunk statuses, the blocks in force and the outbound activity up to `at`
    /// ("today" is the local day of `at` in `zone`, `[site] timezone`), and the
    /// time-condition overrides, blocked callers and ring-group positions in force.
    pub async fn load(store: &Store, at: Timestamp, zone: &TimeZone) -> Result<Self, StoreError> {
        let until_ms = at.as_millisecond();
        // The start of the local day; a time at the very edge of jiff's range (which no
        // parsed `at` reaches) counts nothing as today.
        let day_start_ms = at
            .to_zoned(zone.clone())
            .start_of_day()
            .map_or(until_ms, |midnight| midnight.timestamp().as_millisecond());
        let window = ActivityWindow {
            day_start_ms,
            until_ms,
        };
        let activity = store.outbound_activity(&window).await?;
        let statuses = store.trunk_statuses().await?;
        let blocks = store.blocked_extensions().await?;

        let mut trunks: HashMap<String, TrunkLoad> = activity
            .trunks
            .into_iter()
            .map(|(name, calls)| {
                let load = TrunkLoad {
                    up: true,
                    calls: calls.calls_now,
                    calls_last_second: calls.calls_last_second,
                };
                (name, load)
            })
            .collect();
        for status in statuses {
            let load = trunks.entry(status.trunk.clone()).or_default();
            load.up = !status.is_down();
        }
        let mut extensions: HashMap<String, ExtensionUsage> = activity
            .extensions
            .into_iter()
            .map(|(number, a)| {
                let usage = ExtensionUsage {
                    blocked: false,
                    calls_now: a.calls_now,
                    calls_last_minute: a.calls_last_minute,
                    calls_today: a.calls_today,
                    spend_today: a.spend_today,
                };
                (number, usage)
            })
            .collect();
        for block in blocks {
            extensions.entry(block.extension).or_default().blocked = true;
        }
        let overrides = store
            .time_condition_overrides()
            .await?
            .into_iter()
            .map(|o| (o.name, o.open))
            .collect();
        let blocked_callers = store
            .blocked_callers()
            .await?
            .into_iter()
            .map(|b| b.pattern)
            .collect();
        let round_robin = store
            .round_robin_positions()
            .await?
            .into_iter()
            .map(|p| (p.group, p.next))
            .collect();
        Ok(StoredLive {
            trunks,
            extensions,
            overrides,
            blocked_callers,
            round_robin,
        })
    }
}

impl Live for StoredLive {
    fn trunk(&self, name: &str) -> TrunkLoad {
        self.trunks.get(name).copied().unwrap_or(TrunkLoad::IDLE)
    }

    fn extension(&self, number: &str) -> ExtensionUsage {
        self.extensions.get(number).copied().unwrap_or_default()
    }

    /// Whether the database's blocklist refuses caller `number` (E.164). The configuration's
    /// `[inbound] blocklist` is not here: the dial plan checks it.
    fn caller_blocked(&self, number: &str) -> bool {
        self.blocked_callers.iter().any(|p| p.matches(number))
    }

    /// Time condition `name` forced open (`Some(true)`) or closed (`Some(false)`) by an
    /// override in the database; `None`: its schedule decides.
    fn time_condition_override(&self, name: &str) -> Option<bool> {
        self.overrides.get(name).copied()
    }

    /// The member ring group `group` rings first next (an index in its member list, to be
    /// wrapped to its length); 0 when nothing is stored.
    fn round_robin_next(&self, group: &str) -> usize {
        self.round_robin.get(group).copied().unwrap_or(0)
    }
}

/// The decision for a call from extension `from` dialling `to` at `at` against `live`,
/// explained: what `crossbar route explain` prints and `GET /api/route/explain` returns.
pub fn explain(
    plan: &DialPlan,
    from: &str,
    to: &str,
    at: Timestamp,
    live: &dyn Live,
) -> Explanation {
    let caller = Identity::Extension(from.to_owned());
    let decision = plan.route(
        &Attempt {
            caller: &caller,
            dialled: to,
        },
        at,
        live,
    );
    plan.explain(&decision).with_dialled(to)
}

/// The path a call from `call.trunk` to `call.did` would take at `at` against `live`, with
/// `digits` pressed in the menus on the way: what `crossbar route explain --did` prints and
/// `GET /api/route/explain/inbound` returns (`DialPlan::route_inbound`, as the switch runs
/// it, then `explain_inbound`).
pub fn explain_inbound(
    plan: &DialPlan,
    call: &InboundCall<'_>,
    digits: &str,
    at: Timestamp,
    live: &dyn Live,
) -> InboundExplanation {
    let decision = plan.route_inbound(call, at, live);
    plan.explain_inbound(&decision, digits, at, live)
}

/// When to simulate a call: `text` read in `zone` (a local date and time, RFC 3339 with an
/// offset, or a date), or `now_ms` when absent or blank.
pub fn call_time(
    text: Option<&str>,
    zone: &TimeZone,
    now_ms: i64,
) -> Result<Timestamp, FilterError> {
    let ms = match text.map(str::trim).filter(|t| !t.is_empty()) {
        Some(text) => parse_time(text, zone, Bound::Since)?,
        None => now_ms,
    };
    Timestamp::from_millisecond(ms)
        .map_err(|_| FilterError(format!("{ms} ms is not a time crossbar can route at")))
}

/// `GET /api/route/explain` parameters.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExplainQuery {
    from: Option<String>,
    to: Option<String>,
    at: Option<String>,
}

/// `Some(text)` unless absent or blank.
fn required<'a>(value: &'a Option<String>, name: &str, what: &str) -> Result<&'a str, ApiError> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ApiError::bad_request(format!("{name}: missing; {what}")))
}

#[derive(Debug, serde::Deserialize)]
pub(crate) struct InboundQuery {
    did: Option<String>,
    caller: Option<String>,
    trunk: Option<String>,
    digits: Option<String>,
    at: Option<String>,
}

/// `GET /api/route/explain/inbound?did=&caller=&trunk=&digits=&at=`: the path of an
/// incoming call (from the first configured trunk unless `trunk` says).
pub(crate) async fn explain_incoming(
    State(api): State<Api>,
    query: Result<Query<InboundQuery>, QueryRejection>,
) -> Result<Json<InboundExplanation>, ApiError> {
    let Query(query) = query?;
    let Some(plan) = api.dial_plan.as_deref() else {
        return Err(ApiError::not_found(
            "this API has no dial plan to simulate routing with",
        ));
    };
    let did = required(&query.did, "did", "the number called (did=+442079460000)")?;
    let trunk = match query
        .trunk
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        Some(name) if api.trunks.iter().any(|t| t.name == name) => name.to_owned(),
        Some(name) => return Err(ApiError::not_found(format!("no trunk {name}"))),
        None => match api.trunks.first() {
            Some(trunk) => trunk.name.clone(),
            None => {
                return Err(ApiError::bad_request(
                    "trunk: the configuration has no trunk to call in from",
                ));
            }
        },
    };
    let caller = query
        .caller
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty());
    let at = call_time(query.at.as_deref(), &api.timezone, api.clock.now_ms())
        .map_err(|e| ApiError::bad_request(format!("at: {e}")))?;
    let live = StoredLive::load(&api.store, at, &api.timezone).await?;
    let call = InboundCall {
        trunk: &trunk,
        did,
        caller,
    };
    let digits = query.digits.as_deref().unwrap_or_default().trim();
    Ok(Json(explain_inbound(plan, &call, digits, at, &live)))
}

/// `GET /api/route/explain?from=&to=&at=`.
pub(crate) async fn explain_call(
    State(api): State<Api>,
    query: Result<Query<ExplainQuery>, QueryRejection>,
) -> Result<Json<Explanation>, ApiError> {
    let Query(query) = query?;
    let Some(plan) = api.dial_plan.as_deref() else {
        return Err(ApiError::not_found(
            "this API has no dial plan to simulate routing with",
        ));
    };
    let from = required(
        &query.from,
        "from",
        "the calling extension's number (from=201)",
    )?;
    let to = required(&query.to, "to", "the number dialled (to=020 7946 0000)")?;
    let at = call_time(query.at.as_deref(), &api.timezone, api.clock.now_ms())
        .map_err(|e| ApiError::bad_request(format!("at: {e}")))?;
    let live = StoredLive::load(&api.store, at, &api.timezone).await?;
    Ok(Json(explain(plan, from, to, at, &live)))
}
