//! Callback tasks (DESIGN.md §2 "callback", issue 9): one open task per missed outside
//! number, completed by a later answered call with it, worked from the API and the command
//! line — assigned, cancelled, attempted — and retried by crossbar on a schedule.
//!
//! Tasks are opened, added to and completed **with the call records**: the transaction that
//! stores a finished call's record ([`Store::call_finished`], [`Store::apply_call_changes`],
//! [`Store::finish_interrupted`]) applies `crossbar_cdr::callbacks`' rules to it — once, when
//! the record is first stored (a record written again changes nothing). New tasks are opened
//! only while [`CallbackSettings::opening`] (`[callbacks] enabled`), and assigned to
//! `[callbacks] assign_to`; set them with [`Store::with_callbacks`] (the defaults are the
//! configuration's).
//!
//! The rest is here: listing and reading tasks, assigning and cancelling them, recording an
//! attempt (an outbound call placed for a task: the next automatic attempt is scheduled from
//! `[callbacks] retry_schedule_secs`, and after `max_attempts` unanswered ones the task is
//! `unreached`), and the tasks due for an automatic attempt.

use crossbar_cdr::callbacks::{RetrySchedule, TaskState};
use crossbar_cdr::metrics::Period;
use crossbar_cdr::metrics::queues::CallbackFacts;
use crossbar_cdr::{CallId, Disposition};

use crate::calls::Page;
use crate::error::db;
use crate::{Store, StoreError};

/// How the store applies the callback rules (`[callbacks]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackSettings {
    /// Whether a missed call opens a new task (`enabled`); misses are added to open tasks,
    /// and open tasks completed, either way.
    pub opening: bool,
    /// The queue a new task is assigned to (`assign_to`); `None`: to nobody.
    pub assign_to: Option<String>,
    /// `retry_schedule_secs` and `max_attempts`.
    pub retry: RetrySchedule,
}

impl Default for CallbackSettings {
    /// The configuration's defaults: opening, unassigned, retried by hand only, 3 attempts.
    fn default() -> Self {
        CallbackSettings::from(&crossbar_config::Callbacks::default())
    }
}

impl From<&crossbar_config::Callbacks> for CallbackSettings {
    fn from(config: &crossbar_config::Callbacks) -> Self {
        CallbackSettings {
            opening: config.enabled,
            assign_to: config.assign_to.clone(),
            retry: RetrySchedule {
                waits_secs: config.retry_schedule_secs.clone(),
                max_attempts: config.max_attempts,
            },
        }
    }
}

/// Who works a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Assignee {
    /// An agent (its extension number).
    Agent(String),
    /// The agents of a queue.
    Queue(String),
}

/// A callback task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackTask {
    pub id: i64,
    /// The number to call back, as the missed call's record has it.
    pub number: String,
    /// The number the caller called, at the first miss.
    pub did: Option<String>,
    /// The last queue the caller waited in, at the first miss.
    pub queue: Option<String>,
    pub state: TaskState,
    /// The first miss: when the first missed call ended (unix milliseconds).
    pub opened_at_ms: i64,
    /// When the latest missed call ended.
    pub last_miss_at_ms: i64,
    /// Missed calls from the number while the task was open.
    pub misses: u32,
    pub assigned: Option<Assignee>,
    /// Callback attempts so far.
    pub attempts: u32,
    /// When crossbar tries again by itself; `None`: by hand only (or closed).
    pub next_attempt_at_ms: Option<i64>,
    /// When it stopped being open: for a completed task, the answer of the call that
    /// completed it.
    pub closed_at_ms: Option<i64>,
    /// The answered call that completed it.
    pub completed_by_call: Option<CallId>,
    /// Who cancelled it (`token:NAME`, `cli:USER`).
    pub closed_by: Option<String>,
}

/// A missed call of a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackMiss {
    pub call: CallId,
    /// When the missed call ended.
    pub at_ms: i64,
    pub disposition: Disposition,
    pub did: Option<String>,
    pub queue: Option<String>,
}

/// A callback attempt: an outbound call placed for a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackAttempt {
    pub call: CallId,
    /// When it was made (unix milliseconds).
    pub at_ms: i64,
    /// The agent who made it.
    pub agent: Option<String>,
    /// How it ended: `answered` reaches the caller.
    pub result: Disposition,
}

/// A task with its misses and attempts, in the order they happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackTaskDetail {
    pub task: CallbackTask,
    pub misses: Vec<CallbackMiss>,
    pub attempts: Vec<CallbackAttempt>,
}

/// Which tasks to list; the default lists all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallbackFilter {
    pub state: Option<TaskState>,
    /// Tasks assigned to this agent.
    pub agent: Option<String>,
    /// Tasks assigned to this queue.
    pub queue: Option<String>,
    /// Tasks for this number.
    pub number: Option<String>,
}

/// What happened to a change asked of one task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskEdit {
    /// Done: the task as it is now.
    Done(CallbackTask),
    /// No task has that id.
    NotFound,
    /// The task is no longer open: nothing was changed (the task as it is).
    NotOpen(CallbackTask),
}

const TASK_COLUMNS: &str = "id, number, did, queue, state, opened_at_ms, last_miss_at_ms, \
     misses, assigned_agent, assigned_queue, attempts, next_attempt_at_ms, closed_at_ms, \
     completed_by_call, closed_by";
/// A miss: opens the number's task or, if one is open, adds to it (one statement, so two
/// nodes missing the same number at once still make one task).
pub(crate) const UPSERT_MISS: &str = "INSERT INTO callback_tasks (number, did, queue, state, \
     opened_at_ms, last_miss_at_ms, misses, assigned_queue) \
     VALUES ($1, $2, $3, 'open', $4, $4, 1, $5) \
     ON CONFLICT (number) WHERE state = 'open' DO UPDATE SET \
     misses = callback_tasks.misses + 1, \
     opened_at_ms = CASE WHEN excluded.opened_at_ms < callback_tasks.opened_at_ms \
     THEN excluded.opened_at_ms ELSE callback_tasks.opened_at_ms END, \
     last_miss_at_ms = CASE WHEN excluded.last_miss_at_ms > callback_tasks.last_miss_at_ms \
     THEN excluded.last_miss_at_ms ELSE callback_tasks.last_miss_at_ms END \
     RETURNING id, opened_at_ms";
pub(crate) const INSERT_MISS: &str = "INSERT INTO callback_misses (task_id, call_id, at_ms, \
     disposition, did, queue) VALUES ($1, $2, $3, $4, $5, $6) \
     ON CONFLICT (task_id, call_id) DO NOTHING";
pub(crate) const COMPLETE: &str = "UPDATE callback_tasks SET state = 'completed', \
     closed_at_ms = $1, completed_by_call = $2, next_attempt_at_ms = NULL \
     WHERE id = $3 AND state = 'open'";
/// Numbers per lookup of open tasks.
pub(crate) const NUMBERS_PER_STATEMENT: usize = 500;

/// Applies the callback rules to the records `$records` (a `&[&CallRecord]`, the ones first
/// stored by this transaction, in the order they ended) on the transaction `$tx`, with the
/// settings `$settings`; `?`s a [`StoreError`] for `$op`. One lookup of the open tasks of
/// every number concerned, then one or two statements per miss or completion.
macro_rules! apply_callback_rules {
    ($tx:ident, $records:expr, $settings:expr, $op:expr) => {{
        use crossbar_cdr::callbacks::{OpenTask, TaskChange, decide, trigger};
        let records: &[&crossbar_cdr::CallRecord] = $records;
        let settings: &$crate::callbacks::CallbackSettings = $settings;
        let triggers: Vec<_> = records.iter().filter_map(|r| trigger(r)).collect();
        if !triggers.is_empty() {
            let mut numbers: Vec<String> = triggers.iter().map(|t| t.number().to_owned()).collect();
            numbers.sort_unstable();
            numbers.dedup();
            // number → (task id, first miss)
            let mut open: std::collections::HashMap<String, (i64, i64)> =
                std::collections::HashMap::new();
            for chunk in numbers.chunks($crate::callbacks::NUMBERS_PER_STATEMENT) {
                let mut select = sqlx::QueryBuilder::new(
                    "SELECT number, id, opened_at_ms FROM callback_tasks \
                     WHERE state = 'open' AND number IN (",
                );
                let mut list = select.separated(", ");
                for number in chunk {
                    list.push_bind(number.as_str());
                }
                select.push(")");
                let rows: Vec<(String, i64, i64)> = select
                    .build_query_as()
                    .fetch_all(&mut *$tx)
                    .await
                    .map_err($crate::error::db($op))?;
                for (number, id, opened_at_ms) in rows {
                    open.insert(number, (id, opened_at_ms));
                }
            }
            for trigger in triggers {
                let current = open
                    .get(trigger.number())
                    .map(|&(_, first_miss_at_ms)| OpenTask { first_miss_at_ms });
                match decide(trigger, current, settings.opening) {
                    TaskChange::Open(miss) | TaskChange::AddMiss(miss) => {
                        let (id, opened_at_ms): (i64, i64) =
                            sqlx::query_as($crate::callbacks::UPSERT_MISS)
                                .bind(&miss.number)
                                .bind(miss.did.as_deref())
                                .bind(miss.queue.as_deref())
                                .bind(miss.at_ms)
                                .bind(settings.assign_to.as_deref())
                                .fetch_one(&mut *$tx)
                                .await
                                .map_err($crate::error::db($op))?;
                        sqlx::query($crate::callbacks::INSERT_MISS)
                            .bind(id)
                            .bind(&miss.call.0)
                            .bind(miss.at_ms)
                            .bind(miss.disposition.as_str())
                            .bind(miss.did.as_deref())
                            .bind(miss.queue.as_deref())
                            .execute(&mut *$tx)
                            .await
                            .map_err($crate::error::db($op))?;
                        open.insert(miss.number, (id, opened_at_ms));
                    }
                    TaskChange::Complete(reach) => {
                        if let Some((id, _)) = open.remove(&reach.number) {
                            sqlx::query($crate::callbacks::COMPLETE)
                                .bind(reach.at_ms)
                                .bind(&reach.call.0)
                                .bind(id)
                                .execute(&mut *$tx)
                                .await
                                .map_err($crate::error::db($op))?;
                        }
                    }
                    TaskChange::Nothing => {}
                }
            }
        }
        // A call placed for a task (a callback from the API, CLI or the retry schedule) is an
        // attempt on it, whatever became of it: counted, and the next try scheduled.
        for record in records {
            if let Some(task) = record.callback_task {
                let attempt = $crate::callbacks::CallbackAttempt {
                    call: record.id.clone(),
                    at_ms: record.answered_at_ms.unwrap_or(record.ended_at_ms),
                    agent: Some(record.caller.number.clone()),
                    result: record.disposition,
                };
                record_attempt!($tx, task, attempt, &settings.retry, $op);
            }
        }
    }};
}

/// Records callback attempt `$attempt` (a [`CallbackAttempt`]) on task `$id` inside
/// transaction `$tx` ([`Store::record_callback_attempt`] says what it does); a task that does
/// not exist is left alone.
macro_rules! record_attempt {
    ($tx:ident, $id:expr, $attempt:expr, $schedule:expr, $op:expr) => {{
        let before: Option<(i64, String)> =
            sqlx::query_as("SELECT attempts, state FROM callback_tasks WHERE id = $1")
                .bind($id)
                .fetch_optional(&mut *$tx)
                .await
                .map_err($crate::error::db($op))?;
        if let Some((attempts_before, state_before)) = before {
            let inserted = sqlx::query(
                "INSERT INTO callback_attempts (task_id, call_id, at_ms, agent, result) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (task_id, call_id) DO NOTHING",
            )
            .bind($id)
            .bind(&$attempt.call.0)
            .bind($attempt.at_ms)
            .bind($attempt.agent.as_deref())
            .bind($attempt.result.as_str())
            .execute(&mut *$tx)
            .await
            .map_err($crate::error::db($op))?
            .rows_affected()
                > 0;
            if inserted {
                let attempts = attempts_before.saturating_add(1);
                let open = state_before == crossbar_cdr::callbacks::TaskState::Open.as_str();
                let mut qb = sqlx::QueryBuilder::new("UPDATE callback_tasks SET attempts = ");
                qb.push_bind(attempts);
                if open && $attempt.result == crossbar_cdr::Disposition::Answered {
                    qb.push(", state = 'completed', next_attempt_at_ms = NULL, closed_at_ms = ")
                        .push_bind($attempt.at_ms)
                        .push(", completed_by_call = ")
                        .push_bind($attempt.call.0.as_str());
                } else if open {
                    let attempt_number = u32::try_from(attempts).unwrap_or(u32::MAX);
                    match $schedule.after_unanswered(attempt_number, $attempt.at_ms) {
                        crossbar_cdr::callbacks::NextAttempt::At(at_ms) => {
                            qb.push(", next_attempt_at_ms = ").push_bind(at_ms);
                        }
                        crossbar_cdr::callbacks::NextAttempt::ByHand => {
                            qb.push(", next_attempt_at_ms = NULL");
                        }
                        crossbar_cdr::callbacks::NextAttempt::GiveUp => {
                            qb.push(
                                ", state = 'unreached', next_attempt_at_ms = NULL, closed_at_ms = ",
                            )
                            .push_bind($attempt.at_ms);
                        }
                    }
                }
                qb.push(" WHERE id = ").push_bind($id);
                qb.build()
                    .execute(&mut *$tx)
                    .await
                    .map_err($crate::error::db($op))?;
            }
        }
    }};
}

/// A `callback_tasks` row as stored.
#[derive(sqlx::FromRow)]
struct TaskRow {
    id: i64,
    number: String,
    did: Option<String>,
    queue: Option<String>,
    state: String,
    opened_at_ms: i64,
    last_miss_at_ms: i64,
    misses: i64,
    assigned_agent: Option<String>,
    assigned_queue: Option<String>,
    attempts: i64,
    next_attempt_at_ms: Option<i64>,
    closed_at_ms: Option<i64>,
    completed_by_call: Option<String>,
    closed_by: Option<String>,
}

impl TaskRow {
    fn into_task(self, op: &'static str) -> Result<CallbackTask, StoreError> {
        let id = self.id;
        let bad = |what: &str, value: &dyn std::fmt::Display| StoreError::OutOfRange {
            op,
            detail: format!("{what} = {value} for callback task {id}"),
        };
        let count = |what: &str, value: i64| u32::try_from(value).map_err(|_| bad(what, &value));
        let assigned = match (self.assigned_agent, self.assigned_queue) {
            (Some(agent), _) => Some(Assignee::Agent(agent)),
            (None, Some(queue)) => Some(Assignee::Queue(queue)),
            (None, None) => None,
        };
        Ok(CallbackTask {
            id,
            state: TaskState::parse(&self.state).ok_or_else(|| bad("state", &self.state))?,
            misses: count("misses", self.misses)?,
            attempts: count("attempts", self.attempts)?,
            number: self.number,
            did: self.did,
            queue: self.queue,
            opened_at_ms: self.opened_at_ms,
            last_miss_at_ms: self.last_miss_at_ms,
            assigned,
            next_attempt_at_ms: self.next_attempt_at_ms,
            closed_at_ms: self.closed_at_ms,
            completed_by_call: self.completed_by_call.map(CallId),
            closed_by: self.closed_by,
        })
    }
}

/// A `callback_misses` row as stored.
#[derive(sqlx::FromRow)]
struct MissRow {
    call_id: String,
    at_ms: i64,
    disposition: String,
    did: Option<String>,
    queue: Option<String>,
}

/// A `callback_attempts` row as stored.
#[derive(sqlx::FromRow)]
struct AttemptRow {
    call_id: String,
    at_ms: i64,
    agent: Option<String>,
    result: String,
}

fn disposition(op: &'static str, text: &str) -> Result<Disposition, StoreError> {
    Disposition::parse(text).ok_or_else(|| StoreError::OutOfRange {
        op,
        detail: format!("disposition = {text:?} of a callback miss or attempt"),
    })
}

/// Reads task `$id` on `$executor` (`Option<TaskRow>`).
macro_rules! select_task {
    ($executor:expr, $id:expr, $op:expr) => {{
        let row: Option<TaskRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {TASK_COLUMNS} FROM callback_tasks WHERE id = $1"
        )))
        .bind($id)
        .fetch_optional($executor)
        .await
        .map_err(db($op))?;
        row
    }};
}

/// Runs `$sql` (an update of task `$id`, its `$1` and `$2` bound to `$a` and `$b`, `$3` to
/// the id, changing it only while open) and reads the task back, in one transaction: a
/// [`TaskEdit`] saying what became of it.
macro_rules! edit_open_task {
    ($store:expr, $id:expr, $op:expr, $sql:expr, $a:expr, $b:expr) => {{
        let id: i64 = $id;
        let row = begin_write!($store, tx => {
            let changed = sqlx::query($sql)
                .bind($a)
                .bind($b)
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(db($op))?
                .rows_affected();
            let row = select_task!(&mut *tx, id, $op);
            tx.commit().await.map_err(db("commit callback task"))?;
            row.map(|row| (row, changed > 0))
        });
        Ok(match row {
            None => TaskEdit::NotFound,
            Some((row, true)) => TaskEdit::Done(row.into_task($op)?),
            Some((row, false)) => TaskEdit::NotOpen(row.into_task($op)?),
        })
    }};
}

impl Store {
    /// This store with callback rules applied under `settings` (`[callbacks]`); clones made
    /// from it share them. Without it, the configuration's defaults apply.
    pub fn with_callbacks(mut self, settings: CallbackSettings) -> Store {
        self.callbacks = std::sync::Arc::new(settings);
        self
    }

    /// The settings the callback rules are applied with.
    pub fn callback_settings(&self) -> &CallbackSettings {
        &self.callbacks
    }

    /// The tasks `filter` selects, newest first (by first miss, then id), one `page` of them
    /// (`limit` capped at [`Page::MAX_LIMIT`]).
    pub async fn callback_tasks(
        &self,
        filter: &CallbackFilter,
        page: Page,
    ) -> Result<Vec<CallbackTask>, StoreError> {
        const OP: &str = "list callback tasks";
        let limit = i64::from(page.limit.min(Page::MAX_LIMIT));
        let offset = i64::try_from(page.offset).unwrap_or(i64::MAX);
        let rows: Vec<TaskRow> = on_pool!(self, pool => {
            let mut qb = sqlx::QueryBuilder::new(format!(
                "SELECT {TASK_COLUMNS} FROM callback_tasks WHERE 1 = 1"
            ));
            if let Some(state) = filter.state {
                qb.push(" AND state = ").push_bind(state.as_str());
            }
            if let Some(agent) = &filter.agent {
                qb.push(" AND assigned_agent = ").push_bind(agent.as_str());
            }
            if let Some(queue) = &filter.queue {
                qb.push(" AND assigned_queue = ").push_bind(queue.as_str());
            }
            if let Some(number) = &filter.number {
                qb.push(" AND number = ").push_bind(number.as_str());
            }
            qb.push(" ORDER BY opened_at_ms DESC, id DESC LIMIT ")
                .push_bind(limit)
                .push(" OFFSET ")
                .push_bind(offset);
            qb.build_query_as()
                .fetch_all(pool)
                .await
                .map_err(db(OP))?
        });
        rows.into_iter().map(|r| r.into_task(OP)).collect()
    }

    /// Task `id` with its misses and attempts, if there is one.
    pub async fn callback_task(&self, id: i64) -> Result<Option<CallbackTaskDetail>, StoreError> {
        const OP: &str = "read callback task";
        let (task, misses, attempts): (Option<TaskRow>, Vec<MissRow>, Vec<AttemptRow>) = on_pool!(self, pool => {
            let task = select_task!(pool, id, OP);
            let misses = sqlx::query_as(
                "SELECT call_id, at_ms, disposition, did, queue FROM callback_misses \
                 WHERE task_id = $1 ORDER BY at_ms, call_id",
            )
            .bind(id)
            .fetch_all(pool)
            .await
            .map_err(db(OP))?;
            let attempts = sqlx::query_as(
                "SELECT call_id, at_ms, agent, result FROM callback_attempts \
                 WHERE task_id = $1 ORDER BY at_ms, call_id",
            )
            .bind(id)
            .fetch_all(pool)
            .await
            .map_err(db(OP))?;
            (task, misses, attempts)
        });
        let Some(task) = task else {
            return Ok(None);
        };
        Ok(Some(CallbackTaskDetail {
            task: task.into_task(OP)?,
            misses: misses
                .into_iter()
                .map(|m| {
                    Ok(CallbackMiss {
                        disposition: disposition(OP, &m.disposition)?,
                        call: CallId(m.call_id),
                        at_ms: m.at_ms,
                        did: m.did,
                        queue: m.queue,
                    })
                })
                .collect::<Result<_, StoreError>>()?,
            attempts: attempts
                .into_iter()
                .map(|a| {
                    Ok(CallbackAttempt {
                        result: disposition(OP, &a.result)?,
                        call: CallId(a.call_id),
                        at_ms: a.at_ms,
                        agent: a.agent,
                    })
                })
                .collect::<Result<_, StoreError>>()?,
        }))
    }

    /// Assigns open task `id` to `to` (`None`: to nobody), replacing its assignment.
    pub async fn assign_callback(
        &self,
        id: i64,
        to: Option<&Assignee>,
    ) -> Result<TaskEdit, StoreError> {
        const OP: &str = "assign callback task";
        let (agent, queue) = match to {
            Some(Assignee::Agent(agent)) => (Some(agent.as_str()), None),
            Some(Assignee::Queue(queue)) => (None, Some(queue.as_str())),
            None => (None, None),
        };
        edit_open_task!(
            self,
            id,
            OP,
            "UPDATE callback_tasks SET assigned_agent = $1, assigned_queue = $2 \
             WHERE id = $3 AND state = 'open'",
            agent,
            queue
        )
    }

    /// Cancels open task `id`: `cancelled` by `by` (`token:NAME`, `cli:USER`) at `at_ms`.
    pub async fn cancel_callback(
        &self,
        id: i64,
        by: &str,
        at_ms: i64,
    ) -> Result<TaskEdit, StoreError> {
        const OP: &str = "cancel callback task";
        edit_open_task!(
            self,
            id,
            OP,
            "UPDATE callback_tasks SET state = 'cancelled', next_attempt_at_ms = NULL, \
             closed_at_ms = $1, closed_by = $2 WHERE id = $3 AND state = 'open'",
            at_ms,
            by
        )
    }

    /// Records callback attempt `attempt` on task `id` (an outbound call placed for it, and
    /// how it ended) and counts it. On an open task, an `answered` attempt completes the task
    /// (the caller is reached; the call's record would too); an unanswered one schedules the
    /// next automatic attempt from the retry schedule ([`CallbackSettings::retry`]), leaves
    /// the task to be tried by hand, or — after `max_attempts` — closes it as `unreached`. On
    /// a closed task the attempt is recorded and counted, and nothing else changes (its call
    /// may have completed the task just before). Recording the same call again changes
    /// nothing.
    pub async fn record_callback_attempt(
        &self,
        id: i64,
        attempt: &CallbackAttempt,
    ) -> Result<TaskEdit, StoreError> {
        const OP: &str = "record callback attempt";
        let schedule = &self.callbacks.retry;
        let row = begin_write!(self, tx => {
            record_attempt!(tx, id, attempt, schedule, OP);
            let after = select_task!(&mut *tx, id, OP);
            tx.commit().await.map_err(db("commit callback attempt"))?;
            after
        });
        match row {
            Some(row) => Ok(TaskEdit::Done(row.into_task(OP)?)),
            None => Ok(TaskEdit::NotFound),
        }
    }

    /// The open tasks due for an automatic attempt at `now_ms` (their next attempt time has
    /// come), the longest due first, at most `limit`.
    pub async fn due_callbacks(
        &self,
        now_ms: i64,
        limit: u32,
    ) -> Result<Vec<CallbackTask>, StoreError> {
        const OP: &str = "list due callback tasks";
        let sql = format!(
            "SELECT {TASK_COLUMNS} FROM callback_tasks WHERE state = 'open' \
             AND next_attempt_at_ms IS NOT NULL AND next_attempt_at_ms <= $1 \
             ORDER BY next_attempt_at_ms, id LIMIT $2"
        );
        let rows: Vec<TaskRow> = on_pool!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(now_ms)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await
            .map_err(db(OP))?);
        rows.into_iter().map(|r| r.into_task(OP)).collect()
    }

    /// Moves open task `id`'s next automatic attempt from `due_at_ms` to `until_ms` — the
    /// claim of whoever dials it now, so that the task is not dialled again while its call
    /// runs (the call's record, once stored, schedules the next attempt from the retry
    /// schedule). `false`: someone else moved it first, or the task is no longer open (it is
    /// not to be dialled).
    pub async fn postpone_callback(
        &self,
        id: i64,
        due_at_ms: i64,
        until_ms: i64,
    ) -> Result<bool, StoreError> {
        const OP: &str = "postpone callback task";
        let updated = on_pool!(self, pool => sqlx::query(
            "UPDATE callback_tasks SET next_attempt_at_ms = $1 \
             WHERE id = $2 AND state = 'open' AND next_attempt_at_ms = $3",
        )
        .bind(until_ms)
        .bind(id)
        .bind(due_at_ms)
        .execute(pool)
        .await
        .map_err(db(OP))?
        .rows_affected());
        Ok(updated > 0)
    }

    /// The tasks opened in `period` (by first miss), oldest first, as the queue report
    /// (`crossbar_cdr::metrics::queues`) reads them.
    pub async fn callbacks_opened(&self, period: Period) -> Result<Vec<CallbackFacts>, StoreError> {
        const OP: &str = "read callback tasks for a report";
        let rows: Vec<(Option<String>, String, i64, Option<i64>)> = on_pool!(self, pool => {
            let mut qb = sqlx::QueryBuilder::new(
                "SELECT queue, state, opened_at_ms, closed_at_ms FROM callback_tasks WHERE 1 = 1",
            );
            if let Some(since) = period.since_ms {
                qb.push(" AND opened_at_ms >= ").push_bind(since);
            }
            if let Some(until) = period.until_ms {
                qb.push(" AND opened_at_ms < ").push_bind(until);
            }
            qb.push(" ORDER BY opened_at_ms, id");
            qb.build_query_as()
                .fetch_all(pool)
                .await
                .map_err(db(OP))?
        });
        rows.into_iter()
            .map(|(queue, state, opened_at_ms, closed_at_ms)| {
                let state = TaskState::parse(&state).ok_or_else(|| StoreError::OutOfRange {
                    op: OP,
                    detail: format!("state = {state:?} of a callback task"),
                })?;
                Ok(CallbackFacts {
                    queue,
                    completed_at_ms: closed_at_ms.filter(|_| state == TaskState::Completed),
                    state,
                    opened_at_ms,
                })
            })
            .collect()
    }
}
