//! Alerts: things an administrator should look at — an extension blocked by a fraud cap
//! today, a trunk that stopped answering later. Each alert is one row, listed newest first
//! (`crossbar alerts`, `GET /api/alerts`), and may be acknowledged.
//!
//! An alert names its [`AlertKind`] and its subject as `kind:name` text: `extension:201`,
//! `trunk:carrier-a`.

use std::fmt;

use crate::error::db;
use crate::{Store, StoreError};

/// What an alert is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AlertKind {
    /// An extension tripped a class-of-service fraud cap and was blocked; its subject is
    /// `extension:NUMBER`.
    FraudCap,
    /// A trunk stopped answering; its subject is `trunk:NAME`.
    TrunkDown,
}

impl AlertKind {
    /// Every kind, in declaration order.
    pub const ALL: [AlertKind; 2] = [AlertKind::FraudCap, AlertKind::TrunkDown];

    /// The stored and shown name: `fraud_cap`, `trunk_down`.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::FraudCap => "fraud_cap",
            AlertKind::TrunkDown => "trunk_down",
        }
    }

    /// The kind named `name` (exactly as [`AlertKind::as_str`] writes it).
    pub fn parse(name: &str) -> Option<AlertKind> {
        AlertKind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

impl fmt::Display for AlertKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// The alert's id, increasing in the order alerts were raised.
    pub id: i64,
    /// When it was raised (unix milliseconds).
    pub raised_at_ms: i64,
    pub kind: AlertKind,
    /// What it is about: `extension:201`, `trunk:carrier-a`.
    pub subject: String,
    /// What happened, for people.
    pub message: String,
    /// When someone acknowledged it (unix milliseconds), if anyone has.
    pub acknowledged_at_ms: Option<i64>,
    /// Who acknowledged it, if anyone has.
    pub acknowledged_by: Option<String>,
}

/// An `alerts` row as stored.
#[derive(sqlx::FromRow)]
struct AlertRow {
    id: i64,
    raised_at_ms: i64,
    kind: String,
    subject: String,
    message: String,
    acknowledged_at_ms: Option<i64>,
    acknowledged_by: Option<String>,
}

impl AlertRow {
    fn into_alert(self, op: &'static str) -> Result<Alert, StoreError> {
        let kind = AlertKind::parse(&self.kind).ok_or_else(|| StoreError::OutOfRange {
            op,
            detail: format!("kind = {} for alert {}", self.kind, self.id),
        })?;
        Ok(Alert {
            id: self.id,
            raised_at_ms: self.raised_at_ms,
            kind,
            subject: self.subject,
            message: self.message,
            acknowledged_at_ms: self.acknowledged_at_ms,
            acknowledged_by: self.acknowledged_by,
        })
    }
}

const RAISE: &str = "INSERT INTO alerts (raised_at_ms, kind, subject, message) \
     VALUES ($1, $2, $3, $4) RETURNING id";
const LIST: &str = "SELECT id, raised_at_ms, kind, subject, message, acknowledged_at_ms, \
     acknowledged_by FROM alerts WHERE raised_at_ms >= $1 \
     ORDER BY raised_at_ms DESC, id DESC LIMIT $2";
const ACKNOWLEDGE: &str = "UPDATE alerts SET acknowledged_at_ms = $3, acknowledged_by = $2 \
     WHERE id = $1 AND acknowledged_at_ms IS NULL";

impl Store {
    /// Raises an alert of `kind` about `subject` (`extension:201`; non-empty) at `at_ms`
    /// (unix milliseconds) and returns its id.
    pub async fn raise_alert(
        &self,
        kind: AlertKind,
        subject: &str,
        message: &str,
        at_ms: i64,
    ) -> Result<i64, StoreError> {
        const OP: &str = "raise alert";
        let id: i64 = on_pool!(self, pool => sqlx::query_scalar(RAISE)
            .bind(at_ms)
            .bind(kind.as_str())
            .bind(subject)
            .bind(message)
            .fetch_one(pool)
            .await
            .map_err(db(OP))?);
        tracing::warn!(
            id,
            kind = kind.as_str(),
            subject,
            details = message,
            "alert raised"
        );
        Ok(id)
    }

    /// At most `limit` alerts raised at or after `since_ms` (all if `None`), newest first.
    pub async fn alerts(
        &self,
        since_ms: Option<i64>,
        limit: u32,
    ) -> Result<Vec<Alert>, StoreError> {
        const OP: &str = "list alerts";
        let rows: Vec<AlertRow> = on_pool!(self, pool => sqlx::query_as(LIST)
            .bind(since_ms.unwrap_or(i64::MIN))
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await
            .map_err(db(OP))?);
        rows.into_iter().map(|row| row.into_alert(OP)).collect()
    }

    /// Notes that `by` (non-empty) acknowledged alert `id` at `at_ms` (unix milliseconds).
    /// Returns `false`, changing nothing, if there is no such alert or it was acknowledged
    /// already (the first acknowledgement is kept).
    pub async fn acknowledge_alert(
        &self,
        id: i64,
        by: &str,
        at_ms: i64,
    ) -> Result<bool, StoreError> {
        const OP: &str = "acknowledge alert";
        let updated = on_pool!(self, pool => sqlx::query(ACKNOWLEDGE)
            .bind(id)
            .bind(by)
            .bind(at_ms)
            .execute(pool)
            .await
            .map_err(db(OP))?
            .rows_affected());
        Ok(updated > 0)
    }
}
