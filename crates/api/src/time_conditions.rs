//! Time-condition overrides over HTTP: each `[[time_condition]]` of the configuration with
//! the override in force, if any, and forcing one open or closed (or back to its schedule).
//! Shared with `crossbar tc`, whose JSON is the same.
//!
//! | route | answer |
//! |---|---|
//! | `GET /api/time-conditions` | every `[[time_condition]]`, in the configuration's order: `{"time_conditions": [time condition, ...]}` |
//! | `PUT /api/time-conditions/{name}/override` | body `{"mode": "open"\|"closed"\|"schedule"}`: sets or clears the override and answers the time condition with `"previous"`, the override it replaced (or `null`); 404 for a name the configuration does not have; needs a bearer token |
//!
//! A time condition is `{"name", "mode", "override"}`: `mode` is `open` or `closed` while an
//! override forces it, else `schedule` (its hours, holidays and exceptions decide);
//! `override` is `null` or `{"forced": "open"|"closed", "set_at_ms", "set_by"}` (`set_by` is
//! `token:NAME` through the API, `cli:USER` from `crossbar tc override`). Times are unix
//! milliseconds.
//!
//! An override only writes the database: a running crossbar re-reads the overrides every 2
//! seconds, so it applies to the incoming calls that arrive from 2 seconds after the answer
//! (the route simulator, `crossbar_api::route::StoredLive`, reads them at once).

use std::fmt;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::{Extension, Json};
use crossbar_store::TimeConditionOverride;

use crate::bearer::Operator;
use crate::filter::FilterError;
use crate::{Api, ApiError};

/// What an override asks of a time condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverrideMode {
    /// Forced open.
    Open,
    /// Forced closed.
    Closed,
    /// No override: the schedule decides.
    Schedule,
}

impl OverrideMode {
    pub const ALL: [OverrideMode; 3] = [
        OverrideMode::Open,
        OverrideMode::Closed,
        OverrideMode::Schedule,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OverrideMode::Open => "open",
            OverrideMode::Closed => "closed",
            OverrideMode::Schedule => "schedule",
        }
    }

    /// The mode named `text` (`open`, `closed`, `schedule`).
    pub fn parse(text: &str) -> Result<OverrideMode, FilterError> {
        let text = text.trim();
        OverrideMode::ALL
            .into_iter()
            .find(|m| m.as_str() == text)
            .ok_or_else(|| {
                FilterError(format!(
                    "mode: `{text}` is not one of open, closed, schedule"
                ))
            })
    }

    /// What [`crossbar_store::Store::set_time_condition_override`] takes: forced open
    /// (`Some(true)`), closed (`Some(false)`) or cleared (`None`).
    pub fn forced_open(self) -> Option<bool> {
        match self {
            OverrideMode::Open => Some(true),
            OverrideMode::Closed => Some(false),
            OverrideMode::Schedule => None,
        }
    }
}

impl fmt::Display for OverrideMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An override as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OverrideView {
    /// `open` or `closed`.
    pub forced: &'static str,
    pub set_at_ms: i64,
    pub set_by: String,
}

impl From<&TimeConditionOverride> for OverrideView {
    fn from(o: &TimeConditionOverride) -> Self {
        OverrideView {
            forced: o.forced(),
            set_at_ms: o.set_at_ms,
            set_by: o.set_by.clone(),
        }
    }
}

/// A configured time condition and its override, as the API shows it (and `crossbar tc
/// list --format json`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TimeConditionView {
    pub name: String,
    /// `open` or `closed` when forced, else `schedule`.
    pub mode: &'static str,
    #[serde(rename = "override")]
    pub forced: Option<OverrideView>,
}

impl TimeConditionView {
    /// Time condition `name` with the override of `overrides` that names it, if any.
    pub fn of(name: &str, overrides: &[TimeConditionOverride]) -> TimeConditionView {
        let forced = overrides.iter().find(|o| o.name == name);
        TimeConditionView {
            name: name.to_owned(),
            mode: forced.map_or(OverrideMode::Schedule.as_str(), |o| o.forced()),
            forced: forced.map(OverrideView::from),
        }
    }
}

/// Each of the configured time conditions `names`, in their order, with its override:
/// what `GET /api/time-conditions` and `crossbar tc list` show. Overrides of names the
/// configuration no longer has are left out (nothing reads them).
pub fn time_condition_views(
    names: &[String],
    overrides: &[TimeConditionOverride],
) -> Vec<TimeConditionView> {
    names
        .iter()
        .map(|name| TimeConditionView::of(name, overrides))
        .collect()
}

#[derive(Debug, serde::Serialize)]
pub(crate) struct TimeConditionList {
    time_conditions: Vec<TimeConditionView>,
}

/// The answer to an override: the time condition now, and the override it replaced.
#[derive(Debug, serde::Serialize)]
pub(crate) struct OverrideChange {
    #[serde(flatten)]
    now: TimeConditionView,
    previous: Option<OverrideView>,
}

/// `PUT /api/time-conditions/{name}/override` body.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OverrideBody {
    mode: String,
}

/// `GET /api/time-conditions`.
pub(crate) async fn list(State(api): State<Api>) -> Result<Json<TimeConditionList>, ApiError> {
    let overrides = api.store.time_condition_overrides().await?;
    Ok(Json(TimeConditionList {
        time_conditions: time_condition_views(&api.time_conditions, &overrides),
    }))
}

/// `PUT /api/time-conditions/{name}/override`.
pub(crate) async fn set_override(
    State(api): State<Api>,
    Extension(operator): Extension<Operator>,
    Path(name): Path<String>,
    body: Result<Json<OverrideBody>, JsonRejection>,
) -> Result<Json<OverrideChange>, ApiError> {
    if !api.time_conditions.contains(&name) {
        return Err(ApiError::not_found(format!(
            "{name} is not a time condition of the configuration"
        )));
    }
    let Json(body) = body?;
    let mode = OverrideMode::parse(&body.mode)?;
    let author = operator.author();
    let at_ms = api.clock.now_ms();
    let previous = api
        .store
        .set_time_condition_override(&name, mode.forced_open(), &author, at_ms)
        .await?;
    tracing::info!(
        token = %operator.token,
        time_condition = %name,
        %mode,
        "API: set a time condition override"
    );
    let now = match mode.forced_open() {
        None => TimeConditionView::of(&name, &[]),
        Some(open) => TimeConditionView::of(
            &name,
            &[TimeConditionOverride {
                name: name.clone(),
                open,
                set_at_ms: at_ms,
                set_by: author,
            }],
        ),
    };
    Ok(Json(OverrideChange {
        now,
        previous: previous.as_ref().map(OverrideView::from),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_read_back_and_say_what_they_force() {
        for mode in OverrideMode::ALL {
            assert_eq!(OverrideMode::parse(mode.as_str()), Ok(mode));
        }
        assert_eq!(OverrideMode::Open.forced_open(), Some(true));
        assert_eq!(OverrideMode::Closed.forced_open(), Some(false));
        assert_eq!(OverrideMode::Schedule.forced_open(), None);
        assert_eq!(
            OverrideMode::parse("shut"),
            Err(FilterError(
                "mode: `shut` is not one of open, closed, schedule".into()
            ))
        );
    }
}
