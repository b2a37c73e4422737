//! What the switch tells administrators, written to the database off the engine thread: a
//! fraud cap that blocked an extension (the block, which must survive a restart, and an
//! alert), and every change of a trunk (its status row and change log; an alert when it goes
//! down). Writes are retried; what still fails is logged in full, never dropped silently.
//!
//! The other direction too: the blocks in force are re-read every [`BLOCKS_POLL`], so a
//! release through the API or `crossbar extension unblock` (which only write the database)
//! reaches the running switch within that time.

use std::collections::HashSet;
use std::time::Duration;

use crossbar_store::{AlertKind, Store, TrunkStatusRow};
use crossbar_switch::{InboundControl, TrunkStatus};
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
}

/// Starts the writer; it ends when the sender is dropped and the queue is written.
pub fn spawn(store: Store) -> (mpsc::UnboundedSender<Notice>, JoinHandle<()>) {
    let (tx, mut rx) = mpsc::unbounded_channel::<Notice>();
    let task = tokio::spawn(async move {
        while let Some(notice) = rx.recv().await {
            write(&store, notice).await;
        }
    });
    (tx, task)
}

async fn write(store: &Store, notice: Notice) {
    match notice {
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
            Err(error) => match delays.next() {
                Some(delay) => {
                    tracing::warn!(%error, "{what} write failed; retrying");
                    tokio::time::sleep(*delay).await;
                }
                None => {
                    tracing::error!(%error, "{what} write failed for good");
                    return None;
                }
            },
        }
    }
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
