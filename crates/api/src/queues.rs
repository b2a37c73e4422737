//! Queues over HTTP (issue 9): the queue report, the callback tasks and the agents' stored
//! state — shared with `crossbar report queues`, `crossbar callbacks` and `crossbar agent
//! list`, whose JSON is the same.
//!
//! | route | answer |
//! |---|---|
//! | `GET /api/reports/queues?since=&until=&queue=&short_abandon_secs=` | the queue report of the period ([`queue_report`]) |
//! | `GET /api/callbacks?state=open\|completed\|cancelled\|unreached\|all&agent=&queue=&number=&limit=&offset=` | `{"callbacks": [task, ...], "limit", "offset"}`, newest first; the open ones by default |
//! | `GET /api/callbacks/{id}` | one task with its missed calls and its attempts, or 404 |
//! | `POST /api/callbacks/{id}/assign` | body `{"agent": "201"}`, `{"queue": "support"}` or `{}` (nobody): 200 with the task; needs a bearer token |
//! | `POST /api/callbacks/{id}/cancel` | 200 with the task, cancelled; needs a bearer token |
//! | `GET /api/agents` | `{"agents": [agent, ...]}`: every agent's place in every queue, with its pause |
//!
//! The report is crossbar-cdr's [`QueueReport`] in its serde form: `{"period", "queue",
//! "short_abandon_secs", "queues": [{"queue", "service_level_secs", figures...}], "total":
//! {figures}, "agents": [{"agent", ...}], "callbacks": {...}}`, its figures defined in
//! `crossbar_cdr::metrics::queues`; each queue's service-level threshold is its
//! `[[queue]] service_level_secs`.
//!
//! A task ([`TaskView`]) is `{"id", "number", "did", "queue", "state", "opened_at_ms",
//! "last_miss_at_ms", "misses", "assigned_agent", "assigned_queue", "attempts",
//! "next_attempt_at_ms", "closed_at_ms", "completed_by_call", "closed_by"}`; one read alone
//! adds `"missed_calls": [{"call", "at_ms", "disposition", "did", "queue"}]` and
//! `"attempt_calls": [{"call", "at_ms", "agent", "result"}]`. Assigning or cancelling a task
//! that is no longer open is a 409 (with the task unchanged in `"task"`); an agent that is not
//! an extension of the configuration, or a queue that is not one of its queues, is a 400.
//!
//! An agent ([`AgentView`]) is `{"agent", "queue", "static_member", "penalty", "logged_in",
//! "since_ms", "paused", "pause_reason", "paused_since_ms"}`: the configuration's static
//! members (logged out until the database says otherwise, `since_ms` null), then the
//! dynamic members the database holds, by agent and queue.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use crossbar_cdr::metrics::Period;
use crossbar_cdr::metrics::queues::{QueueOptions, QueueReport, queue_report as report_of};
use crossbar_config::Queue;
use crossbar_store::{
    AgentMembership, AgentStates, Assignee, CallbackAttempt, CallbackMiss, CallbackTask,
    CallbackTaskDetail, Store, StoreError, TaskEdit,
};

use crate::bearer::Operator;
use crate::filter::{CallbackQuery, QueueReportQuery};
use crate::{Api, ApiError};

/// The queue report of `period` from what `store` holds — queue visits, the agent log,
/// callback tasks — made at `now_ms` (unix milliseconds).
pub async fn queue_report(
    store: &Store,
    period: Period,
    options: &QueueOptions,
    now_ms: i64,
) -> Result<QueueReport, StoreError> {
    let calls = store.queue_calls(period, options.queue.as_deref()).await?;
    let events = store.agent_events_for_report(period).await?;
    let tasks = store.callbacks_opened(period).await?;
    Ok(report_of(&calls, &events, &tasks, period, options, now_ms))
}

/// A callback task as the API and `crossbar callbacks list --format json` show it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TaskView {
    pub id: i64,
    pub number: String,
    pub did: Option<String>,
    pub queue: Option<String>,
    /// `open`, `completed`, `cancelled` or `unreached`.
    pub state: &'static str,
    pub opened_at_ms: i64,
    pub last_miss_at_ms: i64,
    pub misses: u32,
    pub assigned_agent: Option<String>,
    pub assigned_queue: Option<String>,
    pub attempts: u32,
    pub next_attempt_at_ms: Option<i64>,
    pub closed_at_ms: Option<i64>,
    pub completed_by_call: Option<String>,
    pub closed_by: Option<String>,
}

impl From<&CallbackTask> for TaskView {
    fn from(task: &CallbackTask) -> Self {
        let (assigned_agent, assigned_queue) = match &task.assigned {
            Some(Assignee::Agent(agent)) => (Some(agent.clone()), None),
            Some(Assignee::Queue(queue)) => (None, Some(queue.clone())),
            None => (None, None),
        };
        TaskView {
            id: task.id,
            number: task.number.clone(),
            did: task.did.clone(),
            queue: task.queue.clone(),
            state: task.state.as_str(),
            opened_at_ms: task.opened_at_ms,
            last_miss_at_ms: task.last_miss_at_ms,
            misses: task.misses,
            assigned_agent,
            assigned_queue,
            attempts: task.attempts,
            next_attempt_at_ms: task.next_attempt_at_ms,
            closed_at_ms: task.closed_at_ms,
            completed_by_call: task.completed_by_call.as_ref().map(|c| c.0.clone()),
            closed_by: task.closed_by.clone(),
        }
    }
}

/// A missed call of a task.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MissView {
    pub call: String,
    pub at_ms: i64,
    pub disposition: &'static str,
    pub did: Option<String>,
    pub queue: Option<String>,
}

impl From<&CallbackMiss> for MissView {
    fn from(miss: &CallbackMiss) -> Self {
        MissView {
            call: miss.call.0.clone(),
            at_ms: miss.at_ms,
            disposition: miss.disposition.as_str(),
            did: miss.did.clone(),
            queue: miss.queue.clone(),
        }
    }
}

/// An attempt of a task.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AttemptView {
    pub call: String,
    pub at_ms: i64,
    pub agent: Option<String>,
    pub result: &'static str,
}

impl From<&CallbackAttempt> for AttemptView {
    fn from(attempt: &CallbackAttempt) -> Self {
        AttemptView {
            call: attempt.call.0.clone(),
            at_ms: attempt.at_ms,
            agent: attempt.agent.clone(),
            result: attempt.result.as_str(),
        }
    }
}

/// A task read alone: with its missed calls and attempts.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TaskDetailView {
    #[serde(flatten)]
    pub task: TaskView,
    pub missed_calls: Vec<MissView>,
    pub attempt_calls: Vec<AttemptView>,
}

impl From<&CallbackTaskDetail> for TaskDetailView {
    fn from(detail: &CallbackTaskDetail) -> Self {
        TaskDetailView {
            task: TaskView::from(&detail.task),
            missed_calls: detail.misses.iter().map(MissView::from).collect(),
            attempt_calls: detail.attempts.iter().map(AttemptView::from).collect(),
        }
    }
}

/// An agent's place in a queue as the API and `crossbar agent list --format json` show it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AgentView {
    pub agent: String,
    pub queue: String,
    pub static_member: bool,
    pub penalty: u32,
    pub logged_in: bool,
    /// Since when the row says so; `None` for a static member never logged in.
    pub since_ms: Option<i64>,
    pub paused: bool,
    pub pause_reason: Option<String>,
    pub paused_since_ms: Option<i64>,
}

/// Every agent's place in every queue: the static members of `queues` (the configuration),
/// as the database has them or else logged out, then the other members the database holds
/// (dynamic ones, and members of queues no longer configured); sorted by agent, then queue.
pub fn agent_views(queues: &[Queue], states: &AgentStates) -> Vec<AgentView> {
    let view = |membership: &AgentMembership| {
        let pause = states.pause_of(&membership.agent);
        AgentView {
            agent: membership.agent.clone(),
            queue: membership.queue.clone(),
            static_member: membership.static_member,
            penalty: membership.penalty,
            logged_in: membership.logged_in,
            since_ms: Some(membership.since_ms),
            paused: pause.is_some(),
            pause_reason: pause.and_then(|p| p.reason.clone()),
            paused_since_ms: pause.map(|p| p.since_ms),
        }
    };
    let mut views: Vec<AgentView> = states.members.iter().map(view).collect();
    for queue in queues {
        for member in &queue.members {
            let stored = views
                .iter()
                .any(|v| v.agent == member.extension && v.queue == queue.name);
            if !stored {
                let pause = states.pause_of(&member.extension);
                views.push(AgentView {
                    agent: member.extension.clone(),
                    queue: queue.name.clone(),
                    static_member: true,
                    penalty: member.penalty,
                    logged_in: false,
                    since_ms: None,
                    paused: pause.is_some(),
                    pause_reason: pause.and_then(|p| p.reason.clone()),
                    paused_since_ms: pause.map(|p| p.since_ms),
                });
            }
        }
    }
    views.sort_by(|a, b| (&a.agent, &a.queue).cmp(&(&b.agent, &b.queue)));
    views
}

/// `GET /api/reports/queues`.
pub(crate) async fn report(
    State(api): State<Api>,
    query: Result<Query<QueueReportQuery>, QueryRejection>,
) -> Result<Json<QueueReport>, ApiError> {
    let Query(query) = query?;
    let (period, options) = query.to_report(&api.timezone, &api.queues)?;
    let report = queue_report(&api.store, period, &options, api.clock.now_ms()).await?;
    Ok(Json(report))
}

#[derive(Debug, serde::Serialize)]
pub(crate) struct CallbacksPage {
    callbacks: Vec<TaskView>,
    limit: u32,
    offset: u64,
}

/// `GET /api/callbacks`.
pub(crate) async fn list(
    State(api): State<Api>,
    query: Result<Query<CallbackQuery>, QueryRejection>,
) -> Result<Json<CallbacksPage>, ApiError> {
    let Query(query) = query?;
    let (filter, page) = query.to_filter()?;
    let tasks = api.store.callback_tasks(&filter, page).await?;
    Ok(Json(CallbacksPage {
        callbacks: tasks.iter().map(TaskView::from).collect(),
        limit: page.limit,
        offset: page.offset,
    }))
}

/// A task id from the path: a whole number, else 404 (no task has it).
fn task_id(text: &str) -> Result<i64, ApiError> {
    text.parse::<i64>()
        .map_err(|_| ApiError::not_found(format!("no callback task {text}")))
}

/// `GET /api/callbacks/{id}`.
pub(crate) async fn one(
    State(api): State<Api>,
    Path(id): Path<String>,
) -> Result<Json<TaskDetailView>, ApiError> {
    let id = task_id(&id)?;
    match api.store.callback_task(id).await? {
        Some(detail) => Ok(Json(TaskDetailView::from(&detail))),
        None => Err(ApiError::not_found(format!("no callback task {id}"))),
    }
}

/// `POST /api/callbacks/{id}/assign` body: an agent, a queue, or neither (nobody).
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AssignBody {
    agent: Option<String>,
    queue: Option<String>,
}

/// What became of a change to a task, as an answer: 200 with the task, 404, or 409 with the
/// task as it is.
fn edit_answer(id: i64, edit: TaskEdit, what: &str) -> Response {
    match edit {
        TaskEdit::Done(task) => Json(TaskView::from(&task)).into_response(),
        TaskEdit::NotFound => ApiError::not_found(format!("no callback task {id}")).into_response(),
        TaskEdit::NotOpen(task) => (
            StatusCode::CONFLICT,
            Json(serde_json::json!({
                "error": format!(
                    "callback task {id} is {}: only an open task can be {what}",
                    task.state
                ),
                "task": TaskView::from(&task),
            })),
        )
            .into_response(),
    }
}

/// `POST /api/callbacks/{id}/assign`.
pub(crate) async fn assign(
    State(api): State<Api>,
    Extension(operator): Extension<Operator>,
    Path(id): Path<String>,
    body: Result<Json<AssignBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let id = task_id(&id)?;
    let Json(body) = body?;
    let agent = body
        .agent
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty());
    let queue = body
        .queue
        .as_deref()
        .map(str::trim)
        .filter(|q| !q.is_empty());
    let to = match (agent, queue) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request(
                "a task is assigned to an agent or to a queue, not both",
            ));
        }
        (Some(agent), None) if !api.extensions.contains(agent) => {
            return Err(ApiError::bad_request(format!(
                "agent: {agent} is not an extension of the configuration"
            )));
        }
        (None, Some(queue)) if !api.queues.iter().any(|q| q.name == queue) => {
            return Err(ApiError::bad_request(format!(
                "queue: {queue} is not a queue of the configuration"
            )));
        }
        (Some(agent), None) => Some(Assignee::Agent(agent.to_owned())),
        (None, Some(queue)) => Some(Assignee::Queue(queue.to_owned())),
        (None, None) => None,
    };
    let edit = api.store.assign_callback(id, to.as_ref()).await?;
    if let TaskEdit::Done(_) = edit {
        tracing::info!(token = %operator.token, task = id, ?to, "API: assigned a callback task");
    }
    Ok(edit_answer(id, edit, "assigned"))
}

/// `POST /api/callbacks/{id}/cancel`.
pub(crate) async fn cancel(
    State(api): State<Api>,
    Extension(operator): Extension<Operator>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = task_id(&id)?;
    let edit = api
        .store
        .cancel_callback(id, &operator.author(), api.clock.now_ms())
        .await?;
    if let TaskEdit::Done(_) = edit {
        tracing::info!(token = %operator.token, task = id, "API: cancelled a callback task");
    }
    Ok(edit_answer(id, edit, "cancelled"))
}

#[derive(Debug, serde::Serialize)]
pub(crate) struct Agents {
    agents: Vec<AgentView>,
}

/// `GET /api/agents`.
pub(crate) async fn agents(State(api): State<Api>) -> Result<Json<Agents>, ApiError> {
    let states = api.store.agent_states().await?;
    Ok(Json(Agents {
        agents: agent_views(&api.queues, &states),
    }))
}
