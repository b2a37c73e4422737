//! What the switch tells administrators, written to the database off the engine thread: a
//! fraud cap that blocked an extension (the block, which must survive a restart, and an
//! alert), every change of a trunk (its status row and change log; an alert when it goes
//! down), queue agents' changes (the agent log with the state it changed) and where ring
//! groups and queues start their round robin, the places kept in queues for callers waiting
//! for a callback, and the outcome of each request the engine
//! applied for the API or the command line. Writes are retried; what still fails is logged in
//! full, never dropped silently. They are written in the order the engine sent them: a
//! request's outcome after the agent changes it caused.
//!
//! The other direction too: the blocks in force are re-read every [`BLOCKS_POLL`], so a
//! release through the API or `crossbar extension unblock` (which only write the database)
//! reaches the running switch within that time.

use std::collections::HashSet;
use std::time::Duration;

use crossbar_store::{AgentUpdate, AlertKind, RequestOutcome, Store, StoreError, TrunkStatusRow};
use crossbar_switch::{HeldChange, InboundControl, TrunkStatus};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::engine::Input;

/// How often the blocks in force are read back from the database.
pub const BLOCKS_POLL: Duration = Duration::from_secs(2);

/// Waits between attempts at a failing write.
const RETRY_DELAYS: [Duration; 3] = [
    Duration::from_millis(100),
    Duration::from_millis(500),
    Duration::from_secs(2),
];

/// Something to write.
#[derive(Debug)]
pub enum Notice {
    /// A fraud cap tripped and blocked `extension`.
    Blocked {
        extension: String,
        reason: String,
        at_ms: i64,
    },
    Trunk(TrunkStatus),
    /// A round robin ring group starts at member `next` next time.
    RoundRobin {
        group: String,
        next: usize,
        at_ms: i64,
    },
    /// A round robin queue starts at member `next` next time.
    QueueRoundRobin {
        queue: String,
        next: usize,
        at_ms: i64,
    },
    /// Queue agents' log events with the state they changed, in order.
    Agents(Vec<AgentUpdate>),
    /// A place kept in a queue for a caller waiting for a callback, or given up.
    Held(HeldChange),
    /// The engine applied request `id`.
    RequestDone {
        id: i64,
        at_ms: i64,
        outcome: RequestOutcome,
        /// JSON text (the agent's new state).
        result: Option<String>,
        error: Option<String>,
    },
}

/// Most agent updates written in one transaction.
const MAX_AGENT_BATCH: usize = 500;

/// Starts the writer; it ends when the sender is dropped and the queue is written.
pub fn spawn(store: Store) -> (mpsc::UnboundedSender<Notice>, JoinHandle<()>) {
    let (tx, mut rx) = mpsc::unbounded_channel::<Notice>();
    let task = tokio::spawn(async move {
        let mut next: Option<Notice> = None;
        loop {
            let notice = match next.take() {
                Some(notice) => notice,
                None => match rx.recv().await {
                    Some(notice) => notice,
                    None => return,
                },
            };
            let Notice::Agents(mut updates) = notice else {
                write(&store, notice).await;
                continue;
            };
            // The agent updates queued behind these go in the same transaction (busy queues
            // change agents many times a second); the first other notice waits its turn.
            while updates.len() < MAX_AGENT_BATCH {
                match rx.try_recv() {
                    Ok(Notice::Agents(more)) => updates.extend(more),
                    Ok(other) => {
                        next = Some(other);
                        break;
                    }
                    Err(_) => break,
                }
            }
            write_agents(&store, &updates).await;
        }
    });
    (tx, task)
}

/// Writes agent updates in one transaction, retried; if that fails for good, one at a time,
/// so only those the database refuses are lost — each logged in full.
async fn write_agents(store: &Store, updates: &[AgentUpdate]) {
    if retry("agent updates", || store.apply_agent_updates(updates))
        .await
        .is_some()
    {
        return;
    }
    for update in updates {
        if retry("agent update", || {
            store.apply_agent_updates(std::slice::from_ref(update))
        })
        .await
        .is_none()
        {
            tracing::error!(?update, "agent update not written: the agent log misses it");
        }
    }
}

async fn write(store: &Store, notice: Notice) {
    match notice {
        Notice::Agents(updates) => write_agents(store, &updates).await,
        Notice::Held(HeldChange::Kept(place)) => {
            if retry("place kept for a callback", || {
                store.keep_held_place(&place)
            })
            .await
            .is_none()
            {
                tracing::error!(call = %place.call, queue = %place.queue, customer = %place.customer, "place kept for a callback not written: it is lost if crossbar stops before the callback (the callback task stays open)");
            }
        }
        Notice::Held(HeldChange::Released { call }) => {
            if retry("place given up", || store.release_held_place(&call))
                .await
                .is_none()
            {
                tracing::error!(%call, "place given up not written: after a restart the caller is called back once more unless their task was completed");
            }
        }
        Notice::QueueRoundRobin { queue, next, at_ms } => {
            if retry("queue position", || {
                store.set_queue_position(&queue, next, at_ms)
            })
            .await
            .is_none()
            {
                tracing::error!(%queue, next, at_ms, "queue round robin position not written: after a restart the queue starts where it last was written");
            }
        }
        Notice::RequestDone {
            id,
            at_ms,
            outcome,
            result,
            error,
        } => {
            let finished = retry("request outcome", || {
                store.finish_switch_request(id, at_ms, outcome, result.as_deref(), error.as_deref())
            })
            .await;
            match finished {
                Some(true) => {}
                Some(false) => {
                    tracing::warn!(id, %outcome, "request outcome not written: the request was finished already")
                }
                None => {
                    tracing::error!(id, %outcome, ?result, ?error, at_ms, "request outcome not written: its asker sees it taken, never finished")
                }
            }
        }
        Notice::Blocked {
            extension,
            reason,
            at_ms,
        } => {
            let blocked = retry("extension block", || {
                store.block_extension(&extension, &reason, at_ms)
            })
            .await;
            match blocked {
                Some(true) => {
                    let subject = format!("extension:{extension}");
                    let message =
                        format!("extension {extension} blocked for outbound calls: {reason}");
                    if retry("alert", || {
                        store.raise_alert(AlertKind::FraudCap, &subject, &message, at_ms)
                    })
                    .await
                    .is_none()
                    {
                        tracing::error!(%extension, %reason, "fraud-cap alert not written");
                    }
                }
                Some(false) => {}
                None => tracing::error!(
                    %extension, %reason, at_ms,
                    "block not written: it holds until crossbar stops, then is lost"
                ),
            }
        }
        Notice::RoundRobin { group, next, at_ms } => {
            if retry("ring group position", || {
                store.set_round_robin_position(&group, next, at_ms)
            })
            .await
            .is_none()
            {
                tracing::error!(%group, next, "ring group position not written: after a restart the group starts where it last was written");
            }
        }
        Notice::Trunk(status) => {
            let row = TrunkStatusRow {
                trunk: status.trunk.clone(),
                at_ms: status.at_ms,
                change: status.change.clone(),
                registration: status.registration.map(str::to_owned),
                registered_until_ms: status.registered_until_ms,
                health: status.health.to_owned(),
                health_since_ms: status.health_since_ms,
                last_failure: status.last_failure.clone(),
                last_failure_at_ms: status.last_failure_at_ms,
            };
            if retry("trunk status", || store.record_trunk_status(&row))
                .await
                .is_none()
            {
                tracing::error!(trunk = %status.trunk, change = %status.change, "trunk status not written");
            }
            if status.health == "down" && status.change.starts_with("down") {
                let subject = format!("trunk:{}", status.trunk);
                let message = format!("trunk {} {}", status.trunk, status.change);
                if retry("alert", || {
                    store.raise_alert(AlertKind::TrunkDown, &subject, &message, status.at_ms)
                })
                .await
                .is_none()
                {
                    tracing::error!(trunk = %status.trunk, change = %status.change, "trunk-down alert not written");
                }
            }
        }
    }
}

/// Runs a write, retrying after [`RETRY_DELAYS`]; `None` when every attempt failed.
async fn retry<T, F, Fut>(what: &str, mut write: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, crossbar_store::StoreError>>,
{
    let mut delays = RETRY_DELAYS.iter();
    loop {
        match write().await {
            Ok(value) => return Some(value),
            Err(error @ StoreError::Rejected { .. }) => {
                // The same data would be refused again.
                tracing::error!(error = %error_chain(&error), "{what} refused by the database");
                return None;
            }
            Err(error) => match delays.next() {
                Some(delay) => {
                    tracing::warn!(error = %error_chain(&error), "{what} write failed; retrying");
                    tokio::time::sleep(*delay).await;
                }
                None => {
                    tracing::error!(error = %error_chain(&error), "{what} write failed for good");
                    return None;
                }
            },
        }
    }
}

/// `error` with its causes, for the log.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Reads the blocks in force every [`BLOCKS_POLL`] and hands them to the engine when they
/// change.
pub fn poll_blocks(store: Store, engine: mpsc::Sender<Input>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut last: Option<HashSet<String>> = None;
        let mut tick = tokio::time::interval(BLOCKS_POLL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match store.blocked_extensions().await {
                Ok(blocks) => {
                    let now: HashSet<String> = blocks.into_iter().map(|b| b.extension).collect();
                    if last.as_ref() != Some(&now) {
                        last = Some(now.clone());
                        if engine.send(Input::Blocked(now)).await.is_err() {
                            return;
                        }
                    }
                }
                Err(error) => tracing::warn!(%error, "blocked extensions not read"),
            }
        }
    })
}

/// Reads what steers incoming calls — callers blocked through the API or the CLI, manual
/// overrides of time conditions — every [`BLOCKS_POLL`] and hands it to the engine when it
/// changes.
pub fn poll_inbound_control(store: Store, engine: mpsc::Sender<Input>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut last: Option<InboundControl> = None;
        let mut tick = tokio::time::interval(BLOCKS_POLL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match inbound_control(&store).await {
                Ok(now) => {
                    if last.as_ref() != Some(&now) {
                        last = Some(now.clone());
                        if engine.send(Input::InboundControl(now)).await.is_err() {
                            return;
                        }
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "blocklist and time-condition overrides not read")
                }
            }
        }
    })
}

/// The blocklist and the overrides the database holds now.
pub async fn inbound_control(store: &Store) -> Result<InboundControl, crossbar_store::StoreError> {
    let blocked_callers = store
        .blocked_callers()
        .await?
        .into_iter()
        .map(|blocked| blocked.pattern)
        .collect();
    let overrides = store
        .time_condition_overrides()
        .await?
        .into_iter()
        .map(|o| (o.name, o.open))
        .collect();
    Ok(InboundControl {
        blocked_callers,
        overrides,
    })
}
