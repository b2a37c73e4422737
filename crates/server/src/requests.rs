//! Requests to the engine from outside it (issue 9): the API and `crossbar agent
//! login|logout|pause|unpause` write them to the database (`crossbar_store::requests`); this
//! module's reader takes the pending ones every [`POLL`] — at once when the API in this
//! process wakes it — and hands them to the engine in order ([`Input::Request`]), which
//! applies each to the switch ([`apply`]) and has its outcome written back through the notice
//! writer, after the agent changes it caused (so when the asker reads `done`, the stored
//! agent state already says so).

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use crossbar_cdr::CallId;
use crossbar_store::{RequestOutcome, Store, SwitchRequest};
use crossbar_switch::{CallbackRequest, OriginateError, QueueError, Switch};
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinHandle;

use crate::engine::Input;

/// How often the database is read for requests when nobody wakes the reader.
pub const POLL: Duration = Duration::from_millis(300);

/// Most requests taken at once.
const TAKE_AT_ONCE: u32 = 64;

/// How long finished requests are kept (they are read back by their askers at once; a week
/// leaves them for people to look at).
const KEEP_MS: i64 = 7 * 24 * 3_600_000;

/// How often finished requests older than [`KEEP_MS`] are deleted.
const PRUNE_EVERY: Duration = Duration::from_secs(3_600);

/// Requests taken this long ago and not finished were left by a crossbar that stopped.
pub const ABANDONED_AFTER_MS: i64 = 60_000;

/// This engine's name in `taken_by`: the host and the process.
pub fn node_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "crossbar".to_owned());
    format!("{host}:{}", std::process::id())
}

/// Starts the reader: it takes the pending requests every [`POLL`] and whenever `wake` is
/// notified, and sends them to the engine; it ends when the engine is gone.
pub fn spawn(
    store: Store,
    engine: mpsc::Sender<Input>,
    wake: Arc<Notify>,
    node: String,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(POLL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut pruned_at: Option<Instant> = None;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                () = wake.notified() => {}
            }
            let now_ms = crate::unix_ms_now();
            match store
                .take_switch_requests(&node, now_ms, TAKE_AT_ONCE)
                .await
            {
                Ok(taken) => {
                    for request in taken {
                        tracing::debug!(id = request.id, kind = %request.kind, arguments = %request.arguments, by = %request.requested_by, "request taken");
                        if engine.send(Input::Request(request)).await.is_err() {
                            return;
                        }
                    }
                }
                Err(error) => tracing::warn!(%error, "requests to the engine not read"),
            }
            if pruned_at.is_none_or(|at| at.elapsed() >= PRUNE_EVERY) {
                pruned_at = Some(Instant::now());
                match store.prune_switch_requests(now_ms - KEEP_MS).await {
                    Ok(0) => {}
                    Ok(pruned) => tracing::info!(pruned, "old finished requests deleted"),
                    Err(error) => tracing::warn!(%error, "old requests not deleted"),
                }
            }
        }
    })
}

/// What became of a request applied to the switch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    Done,
    /// A callback was originated: the agent's phones ring (`RequestOutcome::Done`).
    Originated(CallId),
    /// Not as things stand (`RequestOutcome::Refused`).
    Refused(String),
    /// Refused, by the dial plan, as call `call` (it is recorded, `denied` or `failed`).
    RefusedCall {
        call: CallId,
        error: String,
    },
    /// Never (`RequestOutcome::Invalid`).
    Invalid(String),
}

impl Applied {
    pub fn outcome(&self) -> RequestOutcome {
        match self {
            Applied::Done | Applied::Originated(_) => RequestOutcome::Done,
            Applied::Refused(_) | Applied::RefusedCall { .. } => RequestOutcome::Refused,
            Applied::Invalid(_) => RequestOutcome::Invalid,
        }
    }

    pub fn error(&self) -> Option<&str> {
        match self {
            Applied::Done | Applied::Originated(_) => None,
            Applied::Refused(error)
            | Applied::RefusedCall { error, .. }
            | Applied::Invalid(error) => Some(error),
        }
    }

    /// The call it placed or had recorded, as the request's result: `{"call": "<id>"}`.
    pub fn call_result(&self) -> Option<serde_json::Value> {
        match self {
            Applied::Originated(call) | Applied::RefusedCall { call, .. } => {
                Some(serde_json::json!({ "call": call.0 }))
            }
            _ => None,
        }
    }
}

/// A callback the switch did not originate, as a request's outcome: what the agent's state
/// or the switch's resources stop now is refused, what no retry can change is invalid.
fn not_originated(error: OriginateError) -> Applied {
    let text = error.to_string();
    match error {
        OriginateError::AgentNotRegistered(_)
        | OriginateError::AgentBusy { .. }
        | OriginateError::NoMediaPorts => Applied::Refused(text),
        OriginateError::Denied { call, .. } | OriginateError::NoRoute { call, .. } => {
            Applied::RefusedCall { call, error: text }
        }
        OriginateError::UnknownExtension(_)
        | OriginateError::InvalidNumber { .. }
        | OriginateError::InvalidCallerId(_)
        | OriginateError::NoSuchQueue(_) => Applied::Invalid(text),
    }
}

/// Applies `request` to the switch.
pub fn apply(
    switch: &mut Switch,
    now: Instant,
    wall: SystemTime,
    request: &SwitchRequest,
) -> Applied {
    let result = match request {
        SwitchRequest::AgentLogin {
            agent,
            queue,
            penalty,
        } => switch.agent_login(now, wall, agent, queue.as_deref(), *penalty),
        SwitchRequest::AgentLogout { agent, queue } => {
            switch.agent_logout(now, wall, agent, queue.as_deref())
        }
        SwitchRequest::AgentPause { agent, reason } => {
            switch.agent_pause(now, wall, agent, reason.as_deref())
        }
        SwitchRequest::AgentUnpause { agent } => switch.agent_unpause(now, wall, agent),
        SwitchRequest::CallbackDial {
            task,
            agent,
            customer,
            did,
            queue,
        } => {
            let request = CallbackRequest {
                agent: agent.clone(),
                customer: customer.clone(),
                did: did.clone(),
                task: *task,
                queue: queue.clone(),
            };
            return match switch.originate_callback(now, wall, request) {
                Ok(call) => Applied::Originated(call),
                Err(error) => not_originated(error),
            };
        }
    };
    match result {
        Ok(()) => Applied::Done,
        Err(error) => {
            let text = error.to_string();
            match error {
                QueueError::NoSuchQueue(_) | QueueError::NotAMember(_) => Applied::Invalid(text),
                QueueError::NotLoggedIn(_)
                | QueueError::AlreadyWaiting(_)
                | QueueError::NotWaiting(..) => Applied::Refused(text),
            }
        }
    }
}
