//! Queue agents (issue 9): their state that must survive a restart — each agent's place in
//! each queue ([`AgentMembership`]: static or dynamic, penalty, logged in) and its pause
//! ([`AgentPause`]) — the agent event log the reports read ([`AgentEvent`], the vocabulary of
//! `crossbar_cdr::agent`), and where each `round_robin` queue starts next.
//!
//! The switch's queue machine decides; the store keeps what it decided. Each event is written
//! with the state changes it caused, in one transaction ([`Store::apply_agent_updates`]), so the
//! state and the log never disagree. At start the engine reads the state back
//! ([`Store::agent_states`]) and restores it; the queue report reads the log
//! ([`Store::agent_events_for_report`]).
//!
//! The log is kept whole (reports over a year read it); its indexes read one period, of
//! every agent or of one.

use crossbar_cdr::metrics::Period;
use crossbar_cdr::{AgentEvent, AgentEventKind, CallId};

use crate::error::db;
use crate::{Store, StoreError};

/// An agent's place in one queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentMembership {
    /// The agent's extension number.
    pub agent: String,
    pub queue: String,
    /// A member from the queue's `members` (kept when it logs out); `false`: dynamic (logged
    /// in to a queue it is not a member of, and gone from it when it logs out).
    pub static_member: bool,
    /// Its tier in the queue (lower is offered first).
    pub penalty: u32,
    pub logged_in: bool,
    /// Since when this is so (unix milliseconds): the last change of the row.
    pub since_ms: i64,
}

/// An agent paused now (a pause is the agent's, whatever the queue).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentPause {
    pub agent: String,
    /// One of `[agents] pause_reasons`, `crossbar_cdr::agent::AUTO_PAUSE_REASON`, or `None`.
    pub reason: Option<String>,
    /// When the pause began (unix milliseconds).
    pub since_ms: i64,
}

/// A change of the stored agent state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentChange {
    /// The agent's place in a queue is now this (inserted, or replacing the row).
    Member(AgentMembership),
    /// A dynamic member left the queue: its row is removed.
    Left { agent: String, queue: String },
    /// The agent is paused (a new pause, or a new reason for the pause it is in).
    Paused(AgentPause),
    /// The agent's pause is over.
    Unpaused { agent: String },
}

/// An event of the agent log and the state changes it caused, written together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentUpdate {
    pub event: AgentEvent,
    pub changes: Vec<AgentChange>,
}

/// Every agent's stored state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgentStates {
    /// Every agent's place in every queue, by agent then queue.
    pub members: Vec<AgentMembership>,
    /// The agents paused, by agent.
    pub pauses: Vec<AgentPause>,
}

impl AgentStates {
    /// `agent`'s pause, if it is paused.
    pub fn pause_of(&self, agent: &str) -> Option<&AgentPause> {
        self.pauses.iter().find(|p| p.agent == agent)
    }
}

/// Where a `round_robin` queue starts next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuePosition {
    /// The `[[queue]]`'s name.
    pub queue: String,
    /// The index, in the queue's member order, of the agent to offer first next time.
    pub next: usize,
    /// When it was last written (unix milliseconds).
    pub updated_at_ms: i64,
}

const OP: &str = "store agent update";
const INSERT_EVENT: &str = "INSERT INTO agent_events (at_ms, agent, queue, kind, reason, call_id) \
     VALUES ($1, $2, $3, $4, $5, $6)";
const UPSERT_MEMBER: &str = "INSERT INTO queue_agents (agent, queue, static_member, penalty, \
     logged_in, since_ms) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (agent, queue) DO UPDATE \
     SET static_member = excluded.static_member, penalty = excluded.penalty, \
     logged_in = excluded.logged_in, since_ms = excluded.since_ms";
const DELETE_MEMBER: &str = "DELETE FROM queue_agents WHERE agent = $1 AND queue = $2";
const UPSERT_PAUSE: &str = "INSERT INTO agent_pauses (agent, reason, since_ms) VALUES ($1, $2, $3) \
     ON CONFLICT (agent) DO UPDATE SET reason = excluded.reason, since_ms = excluded.since_ms";
const DELETE_PAUSE: &str = "DELETE FROM agent_pauses WHERE agent = $1";
const LIST_MEMBERS: &str = "SELECT agent, queue, static_member, penalty, logged_in, since_ms \
     FROM queue_agents ORDER BY agent, queue";
const LIST_PAUSES: &str = "SELECT agent, reason, since_ms FROM agent_pauses ORDER BY agent";
const EVENT_COLUMNS: &str = "id, at_ms, agent, queue, kind, reason, call_id";
/// The last login or logout per queue, pause or unpause, wrap-up start or end of each agent
/// before `$1` (read from the partial index `agent_events_state`).
const STATE_BEFORE: &str = "SELECT id, at_ms, agent, queue, kind, reason, call_id FROM (\
     SELECT id, at_ms, agent, queue, kind, reason, call_id, ROW_NUMBER() OVER (\
     PARTITION BY agent, queue, CASE WHEN kind IN ('login', 'logout') THEN 0 \
     WHEN kind IN ('pause', 'unpause') THEN 1 ELSE 2 END ORDER BY at_ms DESC, id DESC) AS latest \
     FROM agent_events WHERE at_ms < $1 AND kind IN ('login', 'logout', 'pause', 'unpause', \
     'wrap_up_start', 'wrap_up_end')) AS e WHERE latest = 1 ORDER BY at_ms, id";
const UPSERT_POSITION: &str = "INSERT INTO queue_positions (name, next, updated_at_ms) \
     VALUES ($1, $2, $3) ON CONFLICT (name) DO UPDATE SET next = excluded.next, \
     updated_at_ms = excluded.updated_at_ms";
const LIST_POSITIONS: &str = "SELECT name, next, updated_at_ms FROM queue_positions ORDER BY name";

/// A `queue_agents` row as stored.
#[derive(sqlx::FromRow)]
struct MemberRow {
    agent: String,
    queue: String,
    static_member: bool,
    penalty: i64,
    logged_in: bool,
    since_ms: i64,
}

/// An `agent_pauses` row as stored.
#[derive(sqlx::FromRow)]
struct PauseRow {
    agent: String,
    reason: Option<String>,
    since_ms: i64,
}

/// An `agent_events` row as stored.
#[derive(sqlx::FromRow)]
struct EventRow {
    id: i64,
    at_ms: i64,
    agent: String,
    queue: Option<String>,
    kind: String,
    reason: Option<String>,
    call_id: Option<String>,
}

impl EventRow {
    fn into_event(self, op: &'static str) -> Result<AgentEvent, StoreError> {
        let kind = AgentEventKind::parse(&self.kind, self.reason).ok_or_else(|| {
            StoreError::OutOfRange {
                op,
                detail: format!("kind = {:?} for agent event {}", self.kind, self.id),
            }
        })?;
        Ok(AgentEvent {
            at_ms: self.at_ms,
            agent: self.agent,
            queue: self.queue,
            kind,
            call: self.call_id.map(CallId),
        })
    }
}

/// A `queue_positions` row as stored.
#[derive(sqlx::FromRow)]
struct PositionRow {
    name: String,
    next: i64,
    updated_at_ms: i64,
}

/// Runs the statements of `$update` (an `&AgentUpdate`) on the transaction `$tx`.
macro_rules! write_update {
    ($tx:ident, $update:expr) => {{
        let update: &AgentUpdate = $update;
        let event = &update.event;
        sqlx::query(INSERT_EVENT)
            .bind(event.at_ms)
            .bind(&event.agent)
            .bind(event.queue.as_deref())
            .bind(event.kind.as_str())
            .bind(event.kind.reason())
            .bind(event.call.as_ref().map(|c| c.0.as_str()))
            .execute(&mut *$tx)
            .await
            .map_err(db(OP))?;
        for change in &update.changes {
            let query = match change {
                AgentChange::Member(m) => sqlx::query(UPSERT_MEMBER)
                    .bind(&m.agent)
                    .bind(&m.queue)
                    .bind(m.static_member)
                    .bind(i64::from(m.penalty))
                    .bind(m.logged_in)
                    .bind(m.since_ms),
                AgentChange::Left { agent, queue } => {
                    sqlx::query(DELETE_MEMBER).bind(agent).bind(queue)
                }
                AgentChange::Paused(p) => sqlx::query(UPSERT_PAUSE)
                    .bind(&p.agent)
                    .bind(p.reason.as_deref())
                    .bind(p.since_ms),
                AgentChange::Unpaused { agent } => sqlx::query(DELETE_PAUSE).bind(agent),
            };
            query.execute(&mut *$tx).await.map_err(db(OP))?;
        }
    }};
}

impl Store {
    /// Writes each update's event to the log and applies its state changes, in order, in one
    /// transaction: all of them or, on error, none.
    pub async fn apply_agent_updates(&self, updates: &[AgentUpdate]) -> Result<(), StoreError> {
        if updates.is_empty() {
            return Ok(());
        }
        begin_write!(self, tx => {
            for update in updates {
                write_update!(tx, update);
            }
            tx.commit().await.map_err(db("commit agent updates"))?;
        });
        Ok(())
    }

    /// Every agent's stored state: its place in each queue, and its pause.
    pub async fn agent_states(&self) -> Result<AgentStates, StoreError> {
        const OP: &str = "list agent states";
        let (members, pauses): (Vec<MemberRow>, Vec<PauseRow>) = on_pool!(self, pool => {
            let members = sqlx::query_as(LIST_MEMBERS)
                .fetch_all(pool)
                .await
                .map_err(db(OP))?;
            let pauses = sqlx::query_as(LIST_PAUSES)
                .fetch_all(pool)
                .await
                .map_err(db(OP))?;
            (members, pauses)
        });
        let members = members
            .into_iter()
            .map(|row| {
                let penalty = u32::try_from(row.penalty).map_err(|_| StoreError::OutOfRange {
                    op: OP,
                    detail: format!(
                        "penalty = {} for agent {:?} in queue {:?}",
                        row.penalty, row.agent, row.queue
                    ),
                })?;
                Ok(AgentMembership {
                    agent: row.agent,
                    queue: row.queue,
                    static_member: row.static_member,
                    penalty,
                    logged_in: row.logged_in,
                    since_ms: row.since_ms,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        let pauses = pauses
            .into_iter()
            .map(|row| AgentPause {
                agent: row.agent,
                reason: row.reason,
                since_ms: row.since_ms,
            })
            .collect();
        Ok(AgentStates { members, pauses })
    }

    /// The agent events of `period` (by their time), of every agent or of `agent`, in the
    /// order they happened.
    pub async fn agent_events(
        &self,
        period: Period,
        agent: Option<&str>,
    ) -> Result<Vec<AgentEvent>, StoreError> {
        const OP: &str = "read agent events";
        let rows: Vec<EventRow> = on_pool!(self, pool => {
            let mut qb = sqlx::QueryBuilder::new(format!(
                "SELECT {EVENT_COLUMNS} FROM agent_events WHERE 1 = 1"
            ));
            if let Some(agent) = agent {
                qb.push(" AND agent = ").push_bind(agent);
            }
            if let Some(since) = period.since_ms {
                qb.push(" AND at_ms >= ").push_bind(since);
            }
            if let Some(until) = period.until_ms {
                qb.push(" AND at_ms < ").push_bind(until);
            }
            qb.push(" ORDER BY at_ms, id");
            qb.build_query_as()
                .fetch_all(pool)
                .await
                .map_err(db(OP))?
        });
        rows.into_iter().map(|r| r.into_event(OP)).collect()
    }

    /// What the queue report reads of the log for `period`: what each agent was when the
    /// period began — its last login or logout of each queue, its last pause or unpause, its
    /// last wrap-up start or end, from before the period — then every event of the period;
    /// all in the order they happened.
    pub async fn agent_events_for_report(
        &self,
        period: Period,
    ) -> Result<Vec<AgentEvent>, StoreError> {
        const OP: &str = "read agent events for a report";
        let before: Vec<EventRow> = match period.since_ms {
            None => Vec::new(),
            Some(since) => on_pool!(self, pool => sqlx::query_as(STATE_BEFORE)
                .bind(since)
                .fetch_all(pool)
                .await
                .map_err(db(OP))?),
        };
        let mut events: Vec<AgentEvent> = before
            .into_iter()
            .map(|r| r.into_event(OP))
            .collect::<Result<_, _>>()?;
        events.extend(self.agent_events(period, None).await?);
        Ok(events)
    }

    /// Notes that queue `queue` starts at member `next` next time (at `at_ms`, unix
    /// milliseconds), replacing what was noted before.
    pub async fn set_queue_position(
        &self,
        queue: &str,
        next: usize,
        at_ms: i64,
    ) -> Result<(), StoreError> {
        const OP: &str = "store queue position";
        let next = i64::try_from(next).map_err(|_| StoreError::OutOfRange {
            op: OP,
            detail: format!("next = {next} for queue {queue:?}"),
        })?;
        on_pool!(self, pool => sqlx::query(UPSERT_POSITION)
            .bind(queue)
            .bind(next)
            .bind(at_ms)
            .execute(pool)
            .await
            .map(drop)
            .map_err(db(OP)))
    }

    /// Every round-robin queue's next position, by queue name.
    pub async fn queue_positions(&self) -> Result<Vec<QueuePosition>, StoreError> {
        const OP: &str = "list queue positions";
        let rows: Vec<PositionRow> = on_pool!(self, pool => sqlx::query_as(LIST_POSITIONS)
            .fetch_all(pool)
            .await
            .map_err(db(OP))?);
        rows.into_iter()
            .map(|row| {
                let next = usize::try_from(row.next).map_err(|_| StoreError::OutOfRange {
                    op: OP,
                    detail: format!("next = {} for queue {:?}", row.next, row.name),
                })?;
                Ok(QueuePosition {
                    queue: row.name,
                    next,
                    updated_at_ms: row.updated_at_ms,
                })
            })
            .collect()
    }
}
