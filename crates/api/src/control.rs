//! Extension blocks and alerts over HTTP.
//!
//! | route | answer |
//! |---|---|
//! | `GET /api/extensions/blocked` | the blocks in force, by extension: `{"blocked": [block, ...]}` |
//! | `POST /api/extensions/{number}/unblock` | releases the block: 200 with the released block; 404 if the extension is not blocked, or is not an extension of the configuration (different messages); needs a bearer token |
//! | `GET /api/alerts?since=&limit=` | alerts newest first: `{"alerts": [alert, ...], "limit": L}` |
//!
//! A block is `{"id", "extension", "blocked_at_ms", "reason", "released_at_ms",
//! "released_by"}` (the last two `null` while in force; `released_by` is `token:NAME` for a
//! release through the API, `cli:USER` from `crossbar extension unblock`). An alert is
//! `{"id", "raised_at_ms", "kind", "subject", "message", "acknowledged_at_ms",
//! "acknowledged_by"}` with `kind` `fraud_cap` or `trunk_down` and `subject` like
//! `extension:201`. Times are unix milliseconds.
//!
//! An unblock only writes the database: the running engine re-reads the blocked extensions
//! every 2 seconds, so the extension may call out again within 2 seconds of the answer.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::{Extension, Json};
use crossbar_store::{Alert, Block};

use crate::bearer::Operator;
use crate::filter::AlertQuery;
use crate::{Api, ApiError};

/// A block as the API shows it (and `crossbar extension blocked --format json`).
#[derive(Debug, serde::Serialize)]
pub struct BlockView {
    id: i64,
    extension: String,
    blocked_at_ms: i64,
    reason: String,
    released_at_ms: Option<i64>,
    released_by: Option<String>,
}

impl From<Block> for BlockView {
    fn from(block: Block) -> Self {
        BlockView {
            id: block.id,
            extension: block.extension,
            blocked_at_ms: block.blocked_at_ms,
            reason: block.reason,
            released_at_ms: block.released_at_ms,
            released_by: block.released_by,
        }
    }
}

/// An alert as the API shows it (and `crossbar alerts --format json`).
#[derive(Debug, serde::Serialize)]
pub struct AlertView {
    id: i64,
    raised_at_ms: i64,
    kind: &'static str,
    subject: String,
    message: String,
    acknowledged_at_ms: Option<i64>,
    acknowledged_by: Option<String>,
}

impl From<Alert> for AlertView {
    fn from(alert: Alert) -> Self {
        AlertView {
            id: alert.id,
            raised_at_ms: alert.raised_at_ms,
            kind: alert.kind.as_str(),
            subject: alert.subject,
            message: alert.message,
            acknowledged_at_ms: alert.acknowledged_at_ms,
            acknowledged_by: alert.acknowledged_by,
        }
    }
}

#[derive(Debug, serde::Serialize)]
pub(crate) struct BlockedList {
    blocked: Vec<BlockView>,
}

#[derive(Debug, serde::Serialize)]
pub(crate) struct AlertList {
    alerts: Vec<AlertView>,
    limit: u32,
}

/// `POST /api/extensions/{number}/unblock`.
pub(crate) async fn unblock(
    State(api): State<Api>,
    Extension(operator): Extension<Operator>,
    Path(number): Path<String>,
) -> Result<Json<BlockView>, ApiError> {
    if !api.extensions.contains(&number) {
        return Err(ApiError::not_found(format!(
            "{number} is not an extension of the configuration"
        )));
    }
    let released = api
        .store
        .unblock_extension(&number, &operator.author(), api.clock.now_ms())
        .await?;
    match released {
        Some(block) => {
            tracing::info!(
                token = %operator.token,
                extension = %number,
                blocked_at_ms = block.blocked_at_ms,
                reason = %block.reason,
                "API: released the block on an extension"
            );
            Ok(Json(block.into()))
        }
        None => Err(ApiError::not_found(format!(
            "extension {number} is not blocked"
        ))),
    }
}

/// `GET /api/extensions/blocked`.
pub(crate) async fn blocked(State(api): State<Api>) -> Result<Json<BlockedList>, ApiError> {
    let blocked = api.store.blocked_extensions().await?;
    Ok(Json(BlockedList {
        blocked: blocked.into_iter().map(BlockView::from).collect(),
    }))
}

/// `GET /api/alerts?since=&limit=`.
pub(crate) async fn alerts(
    State(api): State<Api>,
    query: Result<Query<AlertQuery>, QueryRejection>,
) -> Result<Json<AlertList>, ApiError> {
    let Query(query) = query?;
    let (since_ms, limit) = query.to_range(&api.timezone)?;
    let alerts = api.store.alerts(since_ms, limit).await?;
    Ok(Json(AlertList {
        alerts: alerts.into_iter().map(AlertView::from).collect(),
        limit,
    }))
}
