//! Asking the running engine over HTTP (issue 9): an agent's login, logout, pause and unpause
//! — shared with `crossbar agent login|logout|pause|unpause`.
//!
//! | route | answer |
//! |---|---|
//! | `POST /api/agents/{ext}/login` | body `{"queue": "support", "penalty": 2}` (both optional: without a queue, every queue the agent is a member of); bearer token |
//! | `POST /api/agents/{ext}/logout` | body `{"queue": "support"}` (optional: without one, every queue); bearer token |
//! | `POST /api/agents/{ext}/pause` | body `{"reason": "lunch"}` (optional; one of `[agents] pause_reasons`); bearer token |
//! | `POST /api/agents/{ext}/unpause` | no body; bearer token |
//! | `GET /api/requests/{id}` | a request and what became of it ([`RequestView`]), or 404 |
//!
//! The engine owns the switch; the API writes the request to the database (`switch_requests`,
//! see `crossbar_store::requests`), wakes the engine if it runs in this process, and waits up
//! to 2 seconds for the outcome:
//!
//! - **200** `{"agent": {...}, "request": {...}}`: done; `agent` is the agent as the live view
//!   shows it after the change (`crate::live::LiveAgent`);
//! - **409** `{"error", "request"}`: the switch refused it as things stand (pausing an agent
//!   that is not logged in); **400** likewise when it can never be done (logging in without a
//!   queue an extension that is a member of none);
//! - **202** `{"message", "request"}` with `Location: /api/requests/{id}`: no engine took it
//!   within 2 s (crossbar not running, or busy); a running crossbar takes it until it expires,
//!   60 s after it was made;
//! - **503** `{"error", "request"}`: it expired, or crossbar stopped while applying it.
//!
//! Before anything is written, an extension that is not one of the configuration's, a queue
//! that is not one of its queues, a reason that is not one of `[agents] pause_reasons`, or a
//! penalty without a queue is a **400** naming it.
//!
//! A request ([`RequestView`]) is `{"id", "kind", "arguments", "state", "requested_at_ms",
//! "requested_by", "expires_at_ms", "taken_at_ms", "taken_by", "done_at_ms", "result",
//! "error"}`; `state` is `pending`, `taken`, `done`, `refused`, `invalid`, `expired` or
//! `failed`.
//!
//! # Dialling a callback task
//!
//! `POST /api/callbacks/{id}/dial` (body `{"agent": "201"}`, optional: the task's assigned
//! agent by default; bearer token) — shared with `crossbar callbacks dial` and crossbar's
//! automatic retries — asks the engine to originate the task's call: the agent's phones ring
//! showing the customer's number, and once the agent answers the customer is dialled
//! presenting the DID they called (`crossbar_switch::Switch::originate_callback`). The request
//! is `callback_dial` with `{"task", "agent", "customer", "did", "queue"}`, the last three
//! read from the task. Before anything is written: **404** for no such task, **409** with the
//! task for one that is not open, **400** for an agent that is not an extension of the
//! configuration or for no agent at all (none given, the task assigned to none). Then as
//! above: **200** `{"call": "<call id>", "request"}` once the agent's phones ring (the call's
//! record, when it ends, counts as an attempt of the task and completes it if answered);
//! **409** `{"error", "request"}` when the switch refused (the agent has no registered phone
//! or is at its call limit; the dial plan denies the number or has no route for it — then the
//! refused call is recorded and `request.result` is `{"call": "<call id>"}`); **400** when the
//! task's number can never be called back; **202** and **503** as above.

use std::collections::BTreeSet;
use std::time::Duration;

use axum::Extension;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header::{CONTENT_TYPE, LOCATION};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use crossbar_config::Queue;
use crossbar_store::{
    Assignee, CallbackTask, RequestOutcome, Store, StoreError, StoredRequest, SwitchRequest,
};
use serde::de::DeserializeOwned;
use tokio::sync::Notify;

use crate::bearer::Operator;
use crate::{Api, ApiError};

/// How long a request may wait for an engine to take it before it expires.
pub const REQUEST_TTL_MS: i64 = 60_000;

/// How long the API and the command line wait for a request's outcome.
pub const REQUEST_WAIT: Duration = Duration::from_secs(2);

/// How often the outcome is looked for while waiting.
const LOOK_EVERY: Duration = Duration::from_millis(25);

/// A request as the API and `crossbar agent ... --format json` show it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RequestView {
    pub id: i64,
    pub kind: String,
    /// The arguments (a JSON object; the stored text if it is not JSON).
    pub arguments: serde_json::Value,
    /// `pending`, `taken`, `done`, `refused`, `invalid`, `expired` or `failed`.
    pub state: &'static str,
    pub requested_at_ms: i64,
    pub requested_by: String,
    pub expires_at_ms: i64,
    pub taken_at_ms: Option<i64>,
    pub taken_by: Option<String>,
    pub done_at_ms: Option<i64>,
    /// What the engine says became of it (for `done`).
    pub result: Option<serde_json::Value>,
    pub error: Option<String>,
}

/// JSON text as a value; text that is not JSON as a string.
fn json_or_text(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|_| serde_json::Value::String(text.to_owned()))
}

impl From<&StoredRequest> for RequestView {
    fn from(request: &StoredRequest) -> Self {
        RequestView {
            id: request.id,
            kind: request.kind.clone(),
            arguments: json_or_text(&request.arguments),
            state: request.state(),
            requested_at_ms: request.requested_at_ms,
            requested_by: request.requested_by.clone(),
            expires_at_ms: request.expires_at_ms,
            taken_at_ms: request.taken_at_ms,
            taken_by: request.taken_by.clone(),
            done_at_ms: request.done_at_ms,
            result: request.result.as_deref().map(json_or_text),
            error: request.error.clone(),
        }
    }
}

/// What the configuration allows agent requests to name.
#[derive(Debug, Clone, Copy)]
pub struct AgentRules<'c> {
    /// The configured extension numbers.
    pub extensions: &'c BTreeSet<String>,
    pub queues: &'c [Queue],
    /// `[agents] pause_reasons`, by name.
    pub pause_reasons: &'c [String],
}

impl AgentRules<'_> {
    /// Checks what an agent request names against the configuration; the error names the
    /// argument and what is wrong with it.
    pub fn check(&self, request: &SwitchRequest) -> Result<(), String> {
        if let Some(agent) = request.agent()
            && !self.extensions.contains(agent)
        {
            return Err(format!(
                "agent: {agent} is not an extension of the configuration"
            ));
        }
        let queue = match request {
            SwitchRequest::AgentLogin { queue, penalty, .. } => {
                if penalty.is_some() && queue.is_none() {
                    return Err(
                        "penalty: a penalty is for one queue: name the queue too".to_owned()
                    );
                }
                queue.as_deref()
            }
            SwitchRequest::AgentLogout { queue, .. } => queue.as_deref(),
            _ => None,
        };
        if let Some(queue) = queue
            && !self.queues.iter().any(|q| q.name == queue)
        {
            return Err(format!(
                "queue: {queue} is not a queue of the configuration"
            ));
        }
        if let SwitchRequest::AgentPause {
            reason: Some(reason),
            ..
        } = request
            && !self.pause_reasons.iter().any(|r| r == reason)
        {
            return Err(if self.pause_reasons.is_empty() {
                format!("reason: {reason} is not a pause reason: [agents] pause_reasons names none")
            } else {
                format!(
                    "reason: {reason} is not one of [agents] pause_reasons ({})",
                    self.pause_reasons.join(", ")
                )
            });
        }
        Ok(())
    }
}

/// Why a callback task cannot be dialled, found before anything is asked of the engine.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DialRefusal {
    /// Only an open task is called back.
    #[error("callback task {id} is {state}: only an open task can be dialled")]
    NotOpen { id: i64, state: String },
    /// No agent was named and the task is assigned to none.
    #[error("agent: callback task {0} is not assigned to an agent: name the agent who calls back")]
    NoAgent(i64),
    #[error("agent: {0} is not an extension of the configuration")]
    UnknownAgent(String),
}

/// The `callback_dial` request for `task`, rung to `agent` or else the task's assigned agent
/// — an extension of `extensions` — with the task's number, DID and queue.
pub fn callback_dial(
    task: &CallbackTask,
    agent: Option<&str>,
    extensions: &BTreeSet<String>,
) -> Result<SwitchRequest, DialRefusal> {
    if task.state != crossbar_cdr::callbacks::TaskState::Open {
        return Err(DialRefusal::NotOpen {
            id: task.id,
            state: task.state.to_string(),
        });
    }
    let assigned = match &task.assigned {
        Some(Assignee::Agent(agent)) => Some(agent.as_str()),
        _ => None,
    };
    let agent = agent
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .or(assigned)
        .ok_or(DialRefusal::NoAgent(task.id))?;
    if !extensions.contains(agent) {
        return Err(DialRefusal::UnknownAgent(agent.to_owned()));
    }
    Ok(SwitchRequest::CallbackDial {
        task: task.id,
        agent: agent.to_owned(),
        customer: task.number.clone(),
        did: task.did.clone(),
        queue: task.queue.clone(),
    })
}

/// Writes `request` (by `by`, at `now_ms`), wakes the engine (`wake`, when it runs in this
/// process) and waits up to `wait` for its outcome: the request as it then stands, finished
/// or not. `None` if the request vanished meanwhile (pruned: it cannot be, it is too new).
pub async fn submit_and_wait(
    store: &Store,
    request: &SwitchRequest,
    by: &str,
    now_ms: i64,
    wake: Option<&Notify>,
    wait: Duration,
) -> Result<Option<StoredRequest>, StoreError> {
    let id = store
        .submit_switch_request(request, by, now_ms, now_ms.saturating_add(REQUEST_TTL_MS))
        .await?;
    if let Some(wake) = wake {
        wake.notify_one();
    }
    wait_for(store, id, wait).await
}

/// Request `id` once it is finished, or as it stands after `wait`.
pub async fn wait_for(
    store: &Store,
    id: i64,
    wait: Duration,
) -> Result<Option<StoredRequest>, StoreError> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let request = store.switch_request(id).await?;
        let finished = request.as_ref().is_none_or(|r| r.outcome.is_some());
        if finished || tokio::time::Instant::now() >= deadline {
            return Ok(request);
        }
        tokio::time::sleep(LOOK_EVERY).await;
    }
}

/// The answer to a request made over HTTP, from how it stands (see the module documentation);
/// a done request's result under `result_key` (`agent` for an agent's requests).
pub(crate) fn answer(request: &StoredRequest, result_key: &str) -> Response {
    let view = RequestView::from(request);
    let error = |status: StatusCode| {
        let message = request
            .error
            .clone()
            .unwrap_or_else(|| format!("request {}: {}", request.id, request.state()));
        (
            status,
            Json(serde_json::json!({ "error": message, "request": view })),
        )
            .into_response()
    };
    match request.outcome {
        Some(RequestOutcome::Done) => {
            let mut body = serde_json::Map::new();
            body.insert(
                result_key.to_owned(),
                view.result.clone().unwrap_or_default(),
            );
            body.insert(
                "request".to_owned(),
                serde_json::to_value(&view).unwrap_or_default(),
            );
            Json(serde_json::Value::Object(body)).into_response()
        }
        Some(RequestOutcome::Refused) => error(StatusCode::CONFLICT),
        Some(RequestOutcome::Invalid) => error(StatusCode::BAD_REQUEST),
        Some(RequestOutcome::Expired | RequestOutcome::Failed) => {
            error(StatusCode::SERVICE_UNAVAILABLE)
        }
        None => {
            let location = format!("/api/requests/{}", request.id);
            let mut response = (
                StatusCode::ACCEPTED,
                Json(serde_json::json!({
                    "message": format!(
                        "crossbar has not taken request {} yet (is it running?): a running \
                         crossbar takes it until it expires; GET {location} tells what became \
                         of it",
                        request.id
                    ),
                    "request": view,
                })),
            )
                .into_response();
            if let Ok(value) = HeaderValue::from_str(&location) {
                response.headers_mut().insert(LOCATION, value);
            }
            response
        }
    }
}

/// An optional JSON body: nothing (or only white space) is `T::default()`; anything else must
/// be JSON (415 if it says it is something else, 400 if it does not read as a `T`).
fn body_of<T: DeserializeOwned + Default>(
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    if let Some(kind) = headers.get(CONTENT_TYPE) {
        let json = kind
            .to_str()
            .ok()
            .and_then(|k| k.split(';').next())
            .is_some_and(|k| {
                let k = k.trim();
                k.eq_ignore_ascii_case("application/json") || k.ends_with("+json")
            });
        if !json {
            return Err(ApiError {
                status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
                message: "the body must be JSON: send `Content-Type: application/json`".into(),
            });
        }
    }
    // Axum's reading names the field at fault (`penalty: invalid value ...`).
    Json::<T>::from_bytes(body)
        .map(|Json(value)| value)
        .map_err(ApiError::from)
}

/// A text argument: trimmed, empty as none.
fn named(text: Option<String>) -> Option<String> {
    text.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty())
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LoginBody {
    queue: Option<String>,
    penalty: Option<u32>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LogoutBody {
    queue: Option<String>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PauseBody {
    reason: Option<String>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NoBody {}

/// Checks `request`, makes it and answers with its outcome.
async fn make(
    api: &Api,
    operator: &Operator,
    request: SwitchRequest,
) -> Result<Response, ApiError> {
    let rules = AgentRules {
        extensions: &api.extensions,
        queues: &api.queues,
        pause_reasons: &api.pause_reasons,
    };
    rules.check(&request).map_err(ApiError::bad_request)?;
    let wake = api.engine.as_ref().map(|engine| &*engine.requests);
    let stored = submit_and_wait(
        &api.store,
        &request,
        &operator.author(),
        api.clock.now_ms(),
        wake,
        api.request_wait,
    )
    .await?
    .ok_or_else(|| ApiError::not_found("the request vanished from the database"))?;
    tracing::info!(
        token = %operator.token,
        request = stored.id,
        kind = request.kind(),
        arguments = %request.arguments(),
        state = stored.state(),
        "API: asked the engine"
    );
    Ok(answer(&stored, "agent"))
}

/// `POST /api/agents/{ext}/login`.
pub(crate) async fn login(
    State(api): State<Api>,
    Extension(operator): Extension<Operator>,
    Path(agent): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body: LoginBody = body_of(&headers, &body)?;
    let request = SwitchRequest::AgentLogin {
        agent,
        queue: named(body.queue),
        penalty: body.penalty,
    };
    make(&api, &operator, request).await
}

/// `POST /api/agents/{ext}/logout`.
pub(crate) async fn logout(
    State(api): State<Api>,
    Extension(operator): Extension<Operator>,
    Path(agent): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body: LogoutBody = body_of(&headers, &body)?;
    let request = SwitchRequest::AgentLogout {
        agent,
        queue: named(body.queue),
    };
    make(&api, &operator, request).await
}

/// `POST /api/agents/{ext}/pause`.
pub(crate) async fn pause(
    State(api): State<Api>,
    Extension(operator): Extension<Operator>,
    Path(agent): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body: PauseBody = body_of(&headers, &body)?;
    let request = SwitchRequest::AgentPause {
        agent,
        reason: named(body.reason),
    };
    make(&api, &operator, request).await
}

/// `POST /api/agents/{ext}/unpause`.
pub(crate) async fn unpause(
    State(api): State<Api>,
    Extension(operator): Extension<Operator>,
    Path(agent): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let NoBody {} = body_of(&headers, &body)?;
    make(&api, &operator, SwitchRequest::AgentUnpause { agent }).await
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DialBody {
    agent: Option<String>,
}

/// `POST /api/callbacks/{id}/dial`.
pub(crate) async fn dial(
    State(api): State<Api>,
    Extension(operator): Extension<Operator>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let missing = || ApiError::not_found(format!("no callback task {id}"));
    let number: i64 = id.parse().map_err(|_| missing())?;
    let body: DialBody = body_of(&headers, &body)?;
    let detail = api.store.callback_task(number).await?.ok_or_else(missing)?;
    let request = match callback_dial(&detail.task, body.agent.as_deref(), &api.extensions) {
        Ok(request) => request,
        Err(refusal @ DialRefusal::NotOpen { .. }) => {
            return Ok((
                StatusCode::CONFLICT,
                Json(serde_json::json!({
                    "error": refusal.to_string(),
                    "task": crate::queues::TaskView::from(&detail.task),
                })),
            )
                .into_response());
        }
        Err(refusal) => return Err(ApiError::bad_request(refusal.to_string())),
    };
    let wake = api.engine.as_ref().map(|engine| &*engine.requests);
    let stored = submit_and_wait(
        &api.store,
        &request,
        &operator.author(),
        api.clock.now_ms(),
        wake,
        api.request_wait,
    )
    .await?
    .ok_or_else(|| ApiError::not_found("the request vanished from the database"))?;
    tracing::info!(
        token = %operator.token,
        request = stored.id,
        task = number,
        arguments = %request.arguments(),
        state = stored.state(),
        "API: asked the engine to dial a callback task"
    );
    if stored.outcome == Some(RequestOutcome::Done) {
        let view = RequestView::from(&stored);
        let call = view
            .result
            .as_ref()
            .and_then(|r| r.get("call"))
            .cloned()
            .unwrap_or_default();
        return Ok(Json(serde_json::json!({ "call": call, "request": view })).into_response());
    }
    Ok(answer(&stored, "call"))
}

/// `GET /api/requests/{id}`.
pub(crate) async fn one(
    State(api): State<Api>,
    Path(id): Path<String>,
) -> Result<Json<RequestView>, ApiError> {
    let missing = || ApiError::not_found(format!("no request {id}"));
    let number: i64 = id.parse().map_err(|_| missing())?;
    match api.store.switch_request(number).await? {
        Some(request) => Ok(Json(RequestView::from(&request))),
        None => Err(missing()),
    }
}
