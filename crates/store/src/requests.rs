//! Requests to the running engine from outside it (issue 9): the table `switch_requests`.
//!
//! The engine owns the switch, and the API and the command line (a separate process) cannot
//! reach it; what they ask of it — an agent's login, logout, pause, unpause; later, dialling a
//! callback task — they write here ([`Store::submit_switch_request`]). The engine takes the
//! pending requests in order ([`Store::take_switch_requests`]), applies each to the switch and
//! writes its outcome back ([`Store::finish_switch_request`]); the asker reads it
//! ([`Store::switch_request`]).
//!
//! A request is pending, then taken by one engine (the claim is a single `UPDATE`, so two
//! nodes sharing a PostgreSQL database never take the same one), then finished with a
//! [`RequestOutcome`]. One not taken by its `expires_at_ms` is finished
//! [`RequestOutcome::Expired`] the next time an engine looks — a login asked for while
//! crossbar was down is not applied hours later; one taken but not finished when crossbar
//! stopped is finished [`RequestOutcome::Failed`] at the next start
//! ([`Store::fail_unfinished_switch_requests`]).

use crate::error::db;
use crate::{Store, StoreError};

/// What a request asks the engine to do. In the table: `kind` and `arguments`, a JSON object
/// (see [`SwitchRequest::kind`] and [`SwitchRequest::arguments`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SwitchRequest {
    /// `agent_login`: log `agent` in to `queue` (a dynamic member with `penalty`, default 0,
    /// if it is not a member; a member's penalty changed if `penalty` is given), or to every
    /// queue it is a member of (`None`).
    AgentLogin {
        agent: String,
        queue: Option<String>,
        penalty: Option<u32>,
    },
    /// `agent_logout`: log `agent` out of `queue`, or of every queue (`None`).
    AgentLogout {
        agent: String,
        queue: Option<String>,
    },
    /// `agent_pause`: pause `agent` with `reason` (one of `[agents] pause_reasons`) or none.
    AgentPause {
        agent: String,
        reason: Option<String>,
    },
    /// `agent_unpause`: end `agent`'s pause.
    AgentUnpause { agent: String },
    /// `callback_dial` (`POST /api/callbacks/{id}/dial`, `crossbar callbacks dial`, the
    /// automatic retries): originate callback task `task`'s call — ring `agent`, then dial
    /// `customer` presenting `did`; the call is on `queue`'s record (the task's, as the asker
    /// read it).
    CallbackDial {
        task: i64,
        agent: String,
        customer: String,
        did: Option<String>,
        queue: Option<String>,
    },
}

impl SwitchRequest {
    /// Every kind's name, as stored.
    pub const KINDS: [&'static str; 5] = [
        "agent_login",
        "agent_logout",
        "agent_pause",
        "agent_unpause",
        "callback_dial",
    ];

    /// The `kind` column.
    pub fn kind(&self) -> &'static str {
        match self {
            SwitchRequest::AgentLogin { .. } => "agent_login",
            SwitchRequest::AgentLogout { .. } => "agent_logout",
            SwitchRequest::AgentPause { .. } => "agent_pause",
            SwitchRequest::AgentUnpause { .. } => "agent_unpause",
            SwitchRequest::CallbackDial { .. } => "callback_dial",
        }
    }

    /// The `arguments` column: a JSON object, absent options as `null`.
    pub fn arguments(&self) -> serde_json::Value {
        use serde_json::json;
        match self {
            SwitchRequest::AgentLogin {
                agent,
                queue,
                penalty,
            } => json!({ "agent": agent, "queue": queue, "penalty": penalty }),
            SwitchRequest::AgentLogout { agent, queue } => {
                json!({ "agent": agent, "queue": queue })
            }
            SwitchRequest::AgentPause { agent, reason } => {
                json!({ "agent": agent, "reason": reason })
            }
            SwitchRequest::AgentUnpause { agent } => json!({ "agent": agent }),
            SwitchRequest::CallbackDial {
                task,
                agent,
                customer,
                did,
                queue,
            } => json!({
                "task": task,
                "agent": agent,
                "customer": customer,
                "did": did,
                "queue": queue,
            }),
        }
    }

    /// The agent the request is about, if it is about one.
    pub fn agent(&self) -> Option<&str> {
        match self {
            SwitchRequest::AgentLogin { agent, .. }
            | SwitchRequest::AgentLogout { agent, .. }
            | SwitchRequest::AgentPause { agent, .. }
            | SwitchRequest::AgentUnpause { agent }
            | SwitchRequest::CallbackDial { agent, .. } => Some(agent),
        }
    }

    /// The request stored as `kind` with `arguments` (JSON text); an error saying what is
    /// wrong with them (an unknown kind, a missing or mistyped argument).
    pub fn parse(kind: &str, arguments: &str) -> Result<SwitchRequest, String> {
        let value: serde_json::Value = serde_json::from_str(arguments)
            .map_err(|e| format!("arguments of {kind}: not JSON: {e}"))?;
        let object = value
            .as_object()
            .ok_or_else(|| format!("arguments of {kind}: not a JSON object"))?;
        let text = |name: &str| -> Result<Option<String>, String> {
            match object.get(name) {
                None | Some(serde_json::Value::Null) => Ok(None),
                Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
                Some(other) => Err(format!("{kind}: `{name}` is not a string: {other}")),
            }
        };
        let agent = || -> Result<String, String> {
            text("agent")?
                .filter(|a| !a.is_empty())
                .ok_or_else(|| format!("{kind}: `agent` is missing"))
        };
        Ok(match kind {
            "agent_login" => {
                let penalty = match object.get("penalty") {
                    None | Some(serde_json::Value::Null) => None,
                    Some(value) => Some(
                        value
                            .as_u64()
                            .and_then(|n| u32::try_from(n).ok())
                            .ok_or_else(|| {
                                format!("{kind}: `penalty` is not a whole number: {value}")
                            })?,
                    ),
                };
                SwitchRequest::AgentLogin {
                    agent: agent()?,
                    queue: text("queue")?,
                    penalty,
                }
            }
            "agent_logout" => SwitchRequest::AgentLogout {
                agent: agent()?,
                queue: text("queue")?,
            },
            "agent_pause" => SwitchRequest::AgentPause {
                agent: agent()?,
                reason: text("reason")?,
            },
            "agent_unpause" => SwitchRequest::AgentUnpause { agent: agent()? },
            "callback_dial" => SwitchRequest::CallbackDial {
                task: object
                    .get("task")
                    .and_then(serde_json::Value::as_i64)
                    .ok_or_else(|| format!("{kind}: `task` is not a task id"))?,
                agent: agent()?,
                customer: text("customer")?
                    .filter(|c| !c.is_empty())
                    .ok_or_else(|| format!("{kind}: `customer` is missing"))?,
                did: text("did")?,
                queue: text("queue")?,
            },
            other => return Err(format!("unknown request kind `{other}`")),
        })
    }
}

/// How a request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequestOutcome {
    /// Applied; `result` says what became of it (an agent's new state).
    Done,
    /// The switch's state does not allow it now (an agent that is not logged in).
    Refused,
    /// It can never be applied (no such queue, an unknown kind or unreadable arguments).
    Invalid,
    /// No engine took it before its `expires_at_ms` (crossbar was not running).
    Expired,
    /// Taken but never finished: crossbar stopped in between.
    Failed,
}

impl RequestOutcome {
    /// The `outcome` column.
    pub fn as_str(self) -> &'static str {
        match self {
            RequestOutcome::Done => "done",
            RequestOutcome::Refused => "refused",
            RequestOutcome::Invalid => "invalid",
            RequestOutcome::Expired => "expired",
            RequestOutcome::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<RequestOutcome> {
        Some(match text {
            "done" => RequestOutcome::Done,
            "refused" => RequestOutcome::Refused,
            "invalid" => RequestOutcome::Invalid,
            "expired" => RequestOutcome::Expired,
            "failed" => RequestOutcome::Failed,
            _ => return None,
        })
    }
}

impl std::fmt::Display for RequestOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A request as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRequest {
    pub id: i64,
    pub kind: String,
    /// The arguments' JSON text ([`StoredRequest::request`] reads them).
    pub arguments: String,
    pub requested_at_ms: i64,
    /// `token:NAME` through the API, `cli:USER` from the command line.
    pub requested_by: String,
    pub expires_at_ms: i64,
    pub taken_at_ms: Option<i64>,
    /// The engine (node) that took it.
    pub taken_by: Option<String>,
    pub done_at_ms: Option<i64>,
    pub outcome: Option<RequestOutcome>,
    /// What the engine says became of it (JSON text), for `done`.
    pub result: Option<String>,
    /// Why it was not done, for people.
    pub error: Option<String>,
}

impl StoredRequest {
    /// What it asks, or why it cannot be read.
    pub fn request(&self) -> Result<SwitchRequest, String> {
        SwitchRequest::parse(&self.kind, &self.arguments)
    }

    /// `pending`, `taken` or the outcome's name.
    pub fn state(&self) -> &'static str {
        match (self.outcome, self.taken_at_ms) {
            (Some(outcome), _) => outcome.as_str(),
            (None, Some(_)) => "taken",
            (None, None) => "pending",
        }
    }
}

/// A `switch_requests` row as stored.
#[derive(sqlx::FromRow)]
struct RequestRow {
    id: i64,
    kind: String,
    arguments: String,
    requested_at_ms: i64,
    requested_by: String,
    expires_at_ms: i64,
    taken_at_ms: Option<i64>,
    taken_by: Option<String>,
    done_at_ms: Option<i64>,
    outcome: Option<String>,
    result: Option<String>,
    error: Option<String>,
}

impl RequestRow {
    fn into_request(self, op: &'static str) -> Result<StoredRequest, StoreError> {
        let outcome = match self.outcome.as_deref() {
            None => None,
            Some(text) => {
                Some(
                    RequestOutcome::parse(text).ok_or_else(|| StoreError::OutOfRange {
                        op,
                        detail: format!("outcome = {text:?} for switch request {}", self.id),
                    })?,
                )
            }
        };
        Ok(StoredRequest {
            id: self.id,
            kind: self.kind,
            arguments: self.arguments,
            requested_at_ms: self.requested_at_ms,
            requested_by: self.requested_by,
            expires_at_ms: self.expires_at_ms,
            taken_at_ms: self.taken_at_ms,
            taken_by: self.taken_by,
            done_at_ms: self.done_at_ms,
            outcome,
            result: self.result,
            error: self.error,
        })
    }
}

const ONE: &str = "SELECT id, kind, arguments, requested_at_ms, requested_by, expires_at_ms, \
     taken_at_ms, taken_by, done_at_ms, outcome, result, error FROM switch_requests WHERE id = $1";
const SUBMIT: &str = "INSERT INTO switch_requests (kind, arguments, requested_at_ms, \
     requested_by, expires_at_ms) VALUES ($1, $2, $3, $4, $5) RETURNING id";
/// Whether anything is pending: a read on the partial index, so an idle poll writes nothing.
const ANY_PENDING: &str = "SELECT id FROM switch_requests WHERE taken_at_ms IS NULL LIMIT 1";
const EXPIRE: &str = "UPDATE switch_requests SET taken_at_ms = $1, taken_by = $2, \
     done_at_ms = $1, outcome = 'expired', \
     error = 'no running crossbar took the request before it expired' \
     WHERE taken_at_ms IS NULL AND expires_at_ms <= $1";
/// The claim: `taken_at_ms IS NULL` is checked again on the row itself, so of two engines
/// racing for a row (PostgreSQL, several nodes) only the first one's update takes it.
const TAKE: &str = "UPDATE switch_requests SET taken_at_ms = $1, taken_by = $2 \
     WHERE taken_at_ms IS NULL AND id IN (SELECT id FROM switch_requests \
     WHERE taken_at_ms IS NULL ORDER BY id LIMIT $3) \
     RETURNING id, kind, arguments, requested_at_ms, requested_by, expires_at_ms, \
     taken_at_ms, taken_by, done_at_ms, outcome, result, error";
const FINISH: &str = "UPDATE switch_requests SET done_at_ms = $2, outcome = $3, result = $4, \
     error = $5 WHERE id = $1 AND taken_at_ms IS NOT NULL AND done_at_ms IS NULL";
const FAIL_UNFINISHED: &str = "UPDATE switch_requests SET done_at_ms = $2, outcome = 'failed', \
     error = 'crossbar stopped before the request was finished' \
     WHERE taken_at_ms IS NOT NULL AND done_at_ms IS NULL AND taken_at_ms < $1";
const PRUNE: &str = "DELETE FROM switch_requests WHERE done_at_ms IS NOT NULL AND done_at_ms < $1";

impl Store {
    /// Writes `request` for the engine, asked by `by` (`token:NAME`, `cli:USER`) at `at_ms`,
    /// to be taken before `expires_at_ms` (else it expires); returns its id.
    pub async fn submit_switch_request(
        &self,
        request: &SwitchRequest,
        by: &str,
        at_ms: i64,
        expires_at_ms: i64,
    ) -> Result<i64, StoreError> {
        const OP: &str = "submit a switch request";
        let arguments = request.arguments().to_string();
        let id: i64 = on_pool!(self, pool => sqlx::query_scalar(SUBMIT)
            .bind(request.kind())
            .bind(&arguments)
            .bind(at_ms)
            .bind(by)
            .bind(expires_at_ms)
            .fetch_one(pool)
            .await
            .map_err(db(OP))?);
        tracing::debug!(id, kind = request.kind(), %arguments, by, "switch request submitted");
        Ok(id)
    }

    /// Takes up to `limit` pending requests for the engine `node` at `now_ms`, oldest first:
    /// they are marked taken, so no other engine takes them. Pending requests past their
    /// `expires_at_ms` are finished [`RequestOutcome::Expired`] first, not taken. With
    /// nothing pending, it only reads (the engine polls it several times a second).
    pub async fn take_switch_requests(
        &self,
        node: &str,
        now_ms: i64,
        limit: u32,
    ) -> Result<Vec<StoredRequest>, StoreError> {
        const OP: &str = "take switch requests";
        let rows: Vec<RequestRow> = on_pool!(self, pool => {
            let pending: Option<i64> = sqlx::query_scalar(ANY_PENDING)
                .fetch_optional(pool)
                .await
                .map_err(db(OP))?;
            if pending.is_none() {
                return Ok(Vec::new());
            }
            let expired = sqlx::query(EXPIRE)
                .bind(now_ms)
                .bind(node)
                .execute(pool)
                .await
                .map_err(db(OP))?
                .rows_affected();
            if expired > 0 {
                tracing::warn!(expired, "switch requests expired before any crossbar took them");
            }
            sqlx::query_as(TAKE)
                .bind(now_ms)
                .bind(node)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await
                .map_err(db(OP))?
        });
        let mut taken: Vec<StoredRequest> = rows
            .into_iter()
            .map(|row| row.into_request(OP))
            .collect::<Result<_, _>>()?;
        // `RETURNING` promises no order.
        taken.sort_by_key(|r| r.id);
        Ok(taken)
    }

    /// Finishes taken request `id` at `at_ms` with `outcome` and its `result` (JSON text) or
    /// `error`; `false` if it is not taken, or is finished already (nothing changes then).
    pub async fn finish_switch_request(
        &self,
        id: i64,
        at_ms: i64,
        outcome: RequestOutcome,
        result: Option<&str>,
        error: Option<&str>,
    ) -> Result<bool, StoreError> {
        const OP: &str = "finish a switch request";
        let changed = on_pool!(self, pool => sqlx::query(FINISH)
            .bind(id)
            .bind(at_ms)
            .bind(outcome.as_str())
            .bind(result)
            .bind(error)
            .execute(pool)
            .await
            .map_err(db(OP))?
            .rows_affected());
        Ok(changed > 0)
    }

    /// Request `id` as it stands, or `None` if there is none.
    pub async fn switch_request(&self, id: i64) -> Result<Option<StoredRequest>, StoreError> {
        const OP: &str = "read a switch request";
        let row: Option<RequestRow> = on_pool!(self, pool => sqlx::query_as(ONE)
            .bind(id)
            .fetch_optional(pool)
            .await
            .map_err(db(OP))?);
        row.map(|row| row.into_request(OP)).transpose()
    }

    /// Finishes [`RequestOutcome::Failed`] at `now_ms` every request taken before
    /// `taken_before_ms` and not finished (crossbar stopped in between); returns how many.
    /// Called at start, with a margin, so another node's request in hand is left alone.
    pub async fn fail_unfinished_switch_requests(
        &self,
        taken_before_ms: i64,
        now_ms: i64,
    ) -> Result<u64, StoreError> {
        const OP: &str = "fail unfinished switch requests";
        Ok(on_pool!(self, pool => sqlx::query(FAIL_UNFINISHED)
            .bind(taken_before_ms)
            .bind(now_ms)
            .execute(pool)
            .await
            .map_err(db(OP))?
            .rows_affected()))
    }

    /// Deletes the requests finished before `done_before_ms`; returns how many.
    pub async fn prune_switch_requests(&self, done_before_ms: i64) -> Result<u64, StoreError> {
        const OP: &str = "prune switch requests";
        Ok(on_pool!(self, pool => sqlx::query(PRUNE)
            .bind(done_before_ms)
            .execute(pool)
            .await
            .map_err(db(OP))?
            .rows_affected()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_request_reads_back_from_its_kind_and_arguments() {
        let requests = [
            SwitchRequest::AgentLogin {
                agent: "201".into(),
                queue: Some("support".into()),
                penalty: Some(2),
            },
            SwitchRequest::AgentLogin {
                agent: "201".into(),
                queue: None,
                penalty: None,
            },
            SwitchRequest::AgentLogout {
                agent: "201".into(),
                queue: None,
            },
            SwitchRequest::AgentPause {
                agent: "201".into(),
                reason: Some("lunch".into()),
            },
            SwitchRequest::AgentUnpause {
                agent: "201".into(),
            },
            SwitchRequest::CallbackDial {
                task: 12,
                agent: "201".into(),
                customer: "+442079460001".into(),
                did: Some("+442079460000".into()),
                queue: None,
            },
        ];
        for request in requests {
            let text = request.arguments().to_string();
            assert_eq!(SwitchRequest::parse(request.kind(), &text), Ok(request));
        }
        let kinds: Vec<&str> = [
            SwitchRequest::AgentLogin {
                agent: "1".into(),
                queue: None,
                penalty: None,
            },
            SwitchRequest::AgentLogout {
                agent: "1".into(),
                queue: None,
            },
            SwitchRequest::AgentPause {
                agent: "1".into(),
                reason: None,
            },
            SwitchRequest::AgentUnpause { agent: "1".into() },
            SwitchRequest::CallbackDial {
                task: 1,
                agent: "1".into(),
                customer: "2".into(),
                did: None,
                queue: None,
            },
        ]
        .iter()
        .map(SwitchRequest::kind)
        .collect();
        assert_eq!(kinds, SwitchRequest::KINDS);
    }

    #[test]
    fn unreadable_requests_say_what_is_wrong() {
        assert_eq!(
            SwitchRequest::parse("agent_transfer", "{}"),
            Err("unknown request kind `agent_transfer`".to_owned())
        );
        assert_eq!(
            SwitchRequest::parse("agent_pause", r#"{"reason": "lunch"}"#),
            Err("agent_pause: `agent` is missing".to_owned())
        );
        assert_eq!(
            SwitchRequest::parse("agent_login", r#"{"agent": "201", "penalty": -1}"#),
            Err("agent_login: `penalty` is not a whole number: -1".to_owned())
        );
        assert!(
            SwitchRequest::parse("agent_login", "[1]")
                .is_err_and(|e| e.contains("not a JSON object"))
        );
    }
}
