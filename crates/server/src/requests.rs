//! Requests to the engine from outside it (issue 9): the API and `crossbar agent
//! login|logout|pause|unpause` write them to the database (`crossbar_store::requests`); this
//! module's reader takes the pending ones every [`POLL`] — at once when the API in this
//! process wakes it — and hands them to the engine in order ([`Input::Request`]), which
//! applies each to the switch ([`apply`]) and has its outcome written back through the notice
//! writer, after the agent changes it caused (so when the asker reads `done`, the stored
//! agent state already says so).

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use crossbar_store::{RequestOutcome, Store, SwitchRequest};
use crossbar_switch::{QueueError, Switch};
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
    /// Not as things stand (`RequestOutcome::Refused`).
    Refused(String),
    /// Never (`RequestOutcome::Invalid`).
    Invalid(String),
}

impl Applied {
    pub fn outcome(&self) -> RequestOutcome {
        match self {
            Applied::Done => RequestOutcome::Done,
            Applied::Refused(_) => RequestOutcome::Refused,
            Applied::Invalid(_) => RequestOutcome::Invalid,
        }
    }

    pub fn error(&self) -> Option<&str> {
        match self {
            Applied::Done => None,
            Applied::Refused(error) | Applied::Invalid(error) => Some(error),
        }
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
        SwitchRequest::CallbackDial { .. } => {
            return Applied::Invalid(
                "calling back a callback task from the API is not built yet".to_owned(),
            );
        }
    };
    match result {
        Ok(()) => Applied::Done,
        Err(error) => {
            let text = error.to_string();
            match error {
                QueueError::NoSuchQueue(_) | QueueError::NotAMember(_) => Applied::Invalid(text),
                QueueError::NotLoggedIn(_) | QueueError::AlreadyWaiting(_) => {
                    Applied::Refused(text)
                }
            }
        }
    }
}
