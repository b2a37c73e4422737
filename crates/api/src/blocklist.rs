//! The caller blocklist over HTTP: the configuration's `[inbound] blocklist` and the patterns
//! added through the API or the command line (kept in the database), and adding and removing
//! the latter. Shared with `crossbar blocklist`, whose JSON is the same.
//!
//! | route | answer |
//! |---|---|
//! | `GET /api/blocklist` | `{"blocklist": [entry, ...]}`: the configuration's patterns (in its order), then the database's (in the order of their text) |
//! | `POST /api/blocklist` | body `{"pattern", "note"}` (`note` optional): 201 with the entry added; 200 with the entry as it was if the pattern is already in the database; needs a bearer token |
//! | `DELETE /api/blocklist/{pattern}` | 200 with the entry removed; 404 if the database does not hold the pattern (a pattern of the configuration is changed there); needs a bearer token |
//!
//! An entry is `{"pattern", "source", "added_at_ms", "added_by", "note"}`: `source` is
//! `configuration` (the other fields `null`) or `database`; `added_by` is `token:NAME`
//! through the API, `cli:USER` from `crossbar blocklist add`. A pattern is an E.164 number
//! (`+442079460000`), a prefix (`+4420794600*`) or a range (`+442079460000-+442079460099`),
//! exactly as `[inbound] blocklist` takes them (`crossbar_config::NumberPattern`); in a
//! path, `+` may be sent as is or as `%2B`. A pattern that cannot be read is a 400.
//!
//! Changes only write the database: a running crossbar re-reads the blocklist every 2
//! seconds, so a change applies to the incoming calls that arrive from 2 seconds after the
//! answer (the route simulator, `crossbar_api::route::StoredLive`, reads it at once).

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use crossbar_config::NumberPattern;
use crossbar_store::BlockedCaller;

use crate::bearer::Operator;
use crate::filter::FilterError;
use crate::{Api, ApiError};

/// Where a blocklist entry comes from.
pub const FROM_CONFIGURATION: &str = "configuration";
pub const FROM_DATABASE: &str = "database";

/// One blocklist entry as the API shows it (and `crossbar blocklist list --format json`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BlocklistEntry {
    pub pattern: String,
    /// [`FROM_CONFIGURATION`] or [`FROM_DATABASE`].
    pub source: &'static str,
    pub added_at_ms: Option<i64>,
    pub added_by: Option<String>,
    pub note: Option<String>,
}

impl From<&BlockedCaller> for BlocklistEntry {
    fn from(blocked: &BlockedCaller) -> Self {
        BlocklistEntry {
            pattern: blocked.pattern.to_string(),
            source: FROM_DATABASE,
            added_at_ms: Some(blocked.added_at_ms),
            added_by: Some(blocked.added_by.clone()),
            note: blocked.note.clone(),
        }
    }
}

/// The whole blocklist: `configured` (`[inbound] blocklist`, in its order), then `stored`
/// (the database's).
pub fn blocklist_entries(
    configured: &[NumberPattern],
    stored: &[BlockedCaller],
) -> Vec<BlocklistEntry> {
    let configured = configured.iter().map(|pattern| BlocklistEntry {
        pattern: pattern.to_string(),
        source: FROM_CONFIGURATION,
        added_at_ms: None,
        added_by: None,
        note: None,
    });
    configured
        .chain(stored.iter().map(BlocklistEntry::from))
        .collect()
}

/// A pattern as typed, or an error naming the parameter.
pub fn parse_pattern(text: &str) -> Result<NumberPattern, FilterError> {
    NumberPattern::parse(text).map_err(|e| FilterError(format!("pattern: {e}")))
}

/// A note as typed: trimmed, and `None` when blank.
pub fn note(text: Option<&str>) -> Option<&str> {
    text.map(str::trim).filter(|n| !n.is_empty())
}

#[derive(Debug, serde::Serialize)]
pub(crate) struct Blocklist {
    blocklist: Vec<BlocklistEntry>,
}

/// `POST /api/blocklist` body.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AddBody {
    pattern: String,
    note: Option<String>,
}

/// `GET /api/blocklist`.
pub(crate) async fn list(State(api): State<Api>) -> Result<Json<Blocklist>, ApiError> {
    let stored = api.store.blocked_callers().await?;
    Ok(Json(Blocklist {
        blocklist: blocklist_entries(&api.blocklist, &stored),
    }))
}

/// `POST /api/blocklist`.
pub(crate) async fn add(
    State(api): State<Api>,
    Extension(operator): Extension<Operator>,
    body: Result<Json<AddBody>, JsonRejection>,
) -> Result<(StatusCode, Json<BlocklistEntry>), ApiError> {
    let Json(body) = body?;
    let pattern = parse_pattern(&body.pattern)?;
    let added = api
        .store
        .add_blocked_caller(
            &pattern,
            note(body.note.as_deref()),
            &operator.author(),
            api.clock.now_ms(),
        )
        .await?;
    let stored = api.store.blocked_callers().await?;
    let Some(entry) = stored.iter().find(|b| b.pattern == pattern) else {
        // Removed by someone else between the two statements.
        return Err(ApiError::not_found(format!(
            "{pattern} was removed from the blocklist as it was added"
        )));
    };
    if added {
        tracing::info!(token = %operator.token, %pattern, "API: blocked a caller pattern");
    }
    let status = if added {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(BlocklistEntry::from(entry))))
}

/// `DELETE /api/blocklist/{pattern}`.
pub(crate) async fn remove(
    State(api): State<Api>,
    Extension(operator): Extension<Operator>,
    Path(text): Path<String>,
) -> Result<Json<BlocklistEntry>, ApiError> {
    let pattern = parse_pattern(&text)?;
    match api.store.remove_blocked_caller(&pattern).await? {
        Some(removed) => {
            tracing::info!(token = %operator.token, %pattern, "API: unblocked a caller pattern");
            Ok(Json(BlocklistEntry::from(&removed)))
        }
        None if api.blocklist.contains(&pattern) => Err(ApiError::not_found(format!(
            "{pattern} is in [inbound] blocklist of the configuration: remove it there"
        ))),
        None => Err(ApiError::not_found(format!(
            "{pattern} is not in the blocklist"
        ))),
    }
}
