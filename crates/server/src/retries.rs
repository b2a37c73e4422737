//! crossbar's own callback attempts (issue 9, `[callbacks] retry_schedule_secs`): every
//! [`POLL`] the open tasks whose next attempt time has come (`Store::due_callbacks`) are
//! dialled as `crossbar callbacks dial` and the API dial them — a `callback_dial` request
//! through the database (`switch_requests`), taken and applied by the engine like any other,
//! so every node's dialling goes through one queue and is logged the same way.
//!
//! A task is dialled with its **assigned agent**; a task **assigned to a queue** with the
//! queue's agent free the longest (of the lowest penalty) in the engine's live view
//! ([`LiveQueues::free_agent`]), each agent given one task per poll — when none is free, the
//! task stays due and is looked at again at the next poll. Tasks assigned to nobody are left
//! to people: they stay due and are looked at again at every poll.
//!
//! **Not twice.** Before dialling, the task's next attempt is moved [`CLAIM_MS`] ahead
//! (`Store::postpone_callback`, a compare-and-set on the due time, so of two nodes only one
//! dials it): while its call runs it is not due. When the call ends its record is stored as
//! an attempt of the task, which completes the task if answered or schedules the next attempt
//! from the retry schedule — replacing the claim. When the engine does not originate the call
//! (the agent has no registered phone, is busy, the request expired), nothing is recorded,
//! and the task is tried again [`AFTER_REFUSAL_MS`] later. A request the engine has not
//! finished within 2 s keeps the claim (the engine applies it when it takes it; if it then
//! refuses, the task waits for the claim to run out).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use crossbar_api::live::LiveQueues;
use crossbar_api::requests::{REQUEST_WAIT, callback_dial, submit_and_wait};
use crossbar_store::{Assignee, CallbackTask, RequestOutcome, Store};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

/// How often due tasks are looked for.
pub const POLL: Duration = Duration::from_secs(5);

/// Most due tasks dialled per poll.
const DIAL_AT_ONCE: u32 = 16;

/// How far a dialled task's next attempt is moved while its call runs: longer than any call
/// (the call's record replaces it when the call ends).
const CLAIM_MS: i64 = 6 * 3_600_000;

/// When a task whose call the engine did not originate is tried again.
const AFTER_REFUSAL_MS: i64 = 5 * 60_000;

/// Who asks, in `switch_requests.requested_by`.
const BY: &str = "crossbar:retry";

/// Starts the retries: dials the due tasks every [`POLL`] with their assigned agent (one of
/// `extensions`), or a free agent of their assigned queue in the engine's `live` view,
/// waking the engine's request reader (`wake`).
pub fn spawn(
    store: Store,
    wake: Arc<Notify>,
    extensions: BTreeSet<String>,
    live: watch::Receiver<Option<Arc<LiveQueues>>>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(POLL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let now_ms = crate::unix_ms_now();
            let due = match store.due_callbacks(now_ms, DIAL_AT_ONCE).await {
                Ok(due) => due,
                Err(error) => {
                    tracing::warn!(%error, "due callback tasks not read");
                    continue;
                }
            };
            // The agents of queues given a task in this poll (the live view may not show
            // them ringing yet).
            let mut taken = BTreeSet::new();
            for task in due {
                let agent = match &task.assigned {
                    Some(Assignee::Queue(queue)) => {
                        let view = live.borrow().clone();
                        let Some(agent) = view
                            .as_deref()
                            .and_then(|view| view.free_agent(queue, &taken))
                            .map(|agent| agent.agent.clone())
                        else {
                            tracing::debug!(task = task.id, %queue, "no agent of the queue free for a due callback task");
                            continue;
                        };
                        taken.insert(agent.clone());
                        Some(agent)
                    }
                    _ => None,
                };
                dial(&store, &wake, &extensions, &task, agent.as_deref(), now_ms).await;
            }
        }
    })
}

/// Dials due `task` (its next attempt at `task.next_attempt_at_ms`) with `agent`, or else
/// its assigned agent, if it has one.
async fn dial(
    store: &Store,
    wake: &Notify,
    extensions: &BTreeSet<String>,
    task: &CallbackTask,
    agent: Option<&str>,
    now_ms: i64,
) {
    let Some(due_ms) = task.next_attempt_at_ms else {
        return;
    };
    let request = match callback_dial(task, agent, extensions) {
        Ok(request) => request,
        Err(refusal) => {
            tracing::debug!(task = task.id, %refusal, "due callback task left to people");
            return;
        }
    };
    let claimed_until = now_ms.saturating_add(CLAIM_MS);
    match store
        .postpone_callback(task.id, due_ms, claimed_until)
        .await
    {
        Ok(true) => {}
        Ok(false) => return,
        Err(error) => {
            tracing::warn!(task = task.id, %error, "due callback task not claimed");
            return;
        }
    }
    let asked = submit_and_wait(store, &request, BY, now_ms, Some(wake), REQUEST_WAIT).await;
    let (outcome, error) = match asked {
        Ok(Some(stored)) if stored.outcome == Some(RequestOutcome::Done) => {
            tracing::info!(task = task.id, request = stored.id, result = ?stored.result, "callback task dialled by crossbar");
            return;
        }
        // Not taken yet: the engine is busy; it dials the task when it takes the request.
        Ok(Some(stored)) if stored.outcome.is_none() => return,
        Ok(Some(stored)) => (stored.state().to_owned(), stored.error.unwrap_or_default()),
        Ok(None) => ("vanished".to_owned(), String::new()),
        Err(error) => ("not asked".to_owned(), error.to_string()),
    };
    let again_ms = now_ms.saturating_add(AFTER_REFUSAL_MS);
    tracing::info!(task = task.id, %outcome, %error, again_ms, "callback task not dialled; tried again later");
    if let Err(error) = store
        .postpone_callback(task.id, claimed_until, again_ms)
        .await
    {
        tracing::warn!(task = task.id, %error, "callback task not rescheduled");
    }
}
