//! The call-record writer: a task that folds the switch's [`CallEvent`]s into one record per
//! call ([`Recorder`]) and writes each step to the database — the call in progress when it
//! starts, its answer, and its record (with the in-progress row removed) when it ends. While
//! calls are up it notes every second that they still are, so that after a crash
//! [`recover_interrupted`] can end each lost call where crossbar last knew it to be up — its
//! talk time, and an outbound call's cost, right to within a second or so.
//!
//! It writes in batches, like the binding writer: it waits for an event, takes whatever else
//! has queued up meanwhile (at most [`MAX_BATCH`] events), folds them all, and writes the
//! resulting steps, in order, in one transaction ([`Store::apply_call_changes`]). Under load
//! that is one commit for many calls instead of three per call; when idle, a batch is one event.
//!
//! A failed batch is retried whole (every step is idempotent). If the database refuses it,
//! its steps are written one by one so that one bad step does not lose the others. Whatever
//! still fails is logged — with the whole record as JSON for a finished call, so nothing is
//! dropped silently. When every sender is gone the task writes whatever is queued, ends the
//! calls nobody will end any more as `interrupted` (crossbar is stopping with them up), writes
//! those, and exits.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crossbar_cdr::{CallEvent, CallRecord, Recorder};
use crossbar_store::{CallChange, Store, StoreError};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Most events folded into one batch, and most steps written in one transaction.
const MAX_BATCH: usize = 2_000;

/// Waits between attempts at a failing write; after the last, the write is logged as lost.
const RETRY_DELAYS: [Duration; 3] = [
    Duration::from_millis(100),
    Duration::from_millis(500),
    Duration::from_secs(2),
];

/// How often the calls in progress are marked as still up: an interrupted call's record ends
/// at most this long (plus a write) before crossbar actually stopped. Each refresh is one
/// single-row update however many calls are up (`Store::touch_active_calls`; about 60 µs on
/// SQLite and 0.7 ms on PostgreSQL with 2,000 calls up, see the store's `last_seen_cost`
/// example), so it can be frequent.
const LAST_SEEN_INTERVAL: Duration = Duration::from_secs(1);

/// Starts the writer. It ends when every sender is dropped and the queue is written.
pub fn spawn(store: Store) -> (mpsc::UnboundedSender<CallEvent>, JoinHandle<()>) {
    spawn_with_clock(store, now_ms)
}

/// [`spawn`] with `now` (unix milliseconds) as the wall clock it refreshes the calls in
/// progress and ends them at shutdown with.
fn spawn_with_clock(
    store: Store,
    now: impl Fn() -> i64 + Send + 'static,
) -> (mpsc::UnboundedSender<CallEvent>, JoinHandle<()>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let task = tokio::spawn(write_records(store, rx, now));
    (tx, task)
}

/// At start, before any call: turns the calls the previous run left in progress (it crashed
/// or was killed) into `interrupted` records; returns how many there were.
pub async fn recover_interrupted(store: &Store, now_ms: i64) -> anyhow::Result<usize> {
    let records = store.finish_interrupted(now_ms).await?;
    for record in &records {
        tracing::warn!(
            call = %record.id,
            caller = %record.caller.number,
            callee = %record.callee.number,
            disposition = %record.disposition,
            ended_at_ms = record.ended_at_ms,
            "call interrupted by the previous stop; recorded"
        );
    }
    Ok(records.len())
}

async fn write_records(
    store: Store,
    mut queue: mpsc::UnboundedReceiver<CallEvent>,
    now: impl Fn() -> i64,
) {
    let mut recorder = Recorder::default();
    let mut events = Vec::with_capacity(MAX_BATCH);
    let mut changes = Vec::with_capacity(MAX_BATCH);
    let mut last_seen = tokio::time::interval(LAST_SEEN_INTERVAL);
    last_seen.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            // Events first: a refresh can wait, and the end (every sender gone) must only be
            // seen once the queue is empty — which `recv_many` guarantees: it waits for the
            // first event, takes what else is queued (up to the limit), and returns 0 only
            // when the queue is both closed and empty.
            biased;
            received = queue.recv_many(&mut events, MAX_BATCH) => {
                if received == 0 {
                    break;
                }
                changes.extend(
                    events
                        .drain(..)
                        .filter_map(|event| recorder.record(event))
                        .map(CallChange::from),
                );
                write(&store, &changes).await;
                changes.clear();
            }
            _ = last_seen.tick() => {
                if recorder.in_progress() > 0
                    && let Err(error) = store.touch_active_calls(now()).await
                {
                    tracing::warn!(error = %error_chain(&error), "cannot refresh the calls in progress");
                }
            }
        }
    }
    let unfinished = recorder.interrupt_all(now());
    if !unfinished.is_empty() {
        tracing::warn!(
            calls = unfinished.len(),
            "calls still up at shutdown recorded as interrupted"
        );
    }
    let unfinished: Vec<CallChange> = unfinished
        .into_iter()
        .map(|record| CallChange::Finished(Box::new(record)))
        .collect();
    for batch in unfinished.chunks(MAX_BATCH) {
        write(&store, batch).await;
    }
    if recorder.ignored() > 0 {
        tracing::debug!(
            events = recorder.ignored(),
            "call events for unknown calls ignored"
        );
    }
}

/// Writes `changes` in one transaction, retrying. If the database refuses the batch, writes
/// its changes one by one (each retried likewise), so that only the bad ones are lost. Logs
/// every change that could not be written.
async fn write(store: &Store, changes: &[CallChange]) {
    if changes.is_empty() {
        return;
    }
    let error = match with_retries(|| store.apply_call_changes(changes)).await {
        Ok(()) => return,
        Err(error) => error,
    };
    if changes.len() == 1 || !is_refusal(&error) {
        for change in changes {
            log_lost(change, &error);
        }
        return;
    }
    tracing::warn!(
        error = %error_chain(&error),
        changes = changes.len(),
        "call records refused as a batch; writing them one by one"
    );
    for change in changes {
        let one = std::slice::from_ref(change);
        if let Err(error) = with_retries(|| store.apply_call_changes(one)).await {
            log_lost(change, &error);
        }
    }
}

/// Logs a change that could not be written: a finished call with its whole record as JSON.
fn log_lost(change: &CallChange, error: &StoreError) {
    let error = error_chain(error);
    match change {
        CallChange::Started(call) => tracing::error!(
            call = %call.id,
            %error,
            "call in progress not written; a crash now would leave no trace of it"
        ),
        CallChange::Answered(answer) => tracing::error!(
            call = %answer.id,
            %error,
            "call answer not written; a crash now would record it unanswered"
        ),
        CallChange::Callback { id, task } => tracing::error!(
            call = %id,
            task,
            %error,
            "callback task of a call in progress not written; a crash now would not count the \
             attempt"
        ),
        CallChange::Finished(record) => tracing::error!(
            call = %record.id,
            %error,
            record = %record_json(record),
            "call record not written"
        ),
    }
}

/// The database refused the data (or it cannot be written at all): the same write would fail
/// again.
fn is_refusal(error: &StoreError) -> bool {
    matches!(
        error,
        StoreError::Rejected { .. } | StoreError::OutOfRange { .. }
    )
}

async fn with_retries<T, F, Fut>(mut attempt: F) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, StoreError>>,
{
    let mut delays = RETRY_DELAYS.iter();
    loop {
        match attempt().await {
            Ok(value) => return Ok(value),
            Err(error) if is_refusal(&error) => return Err(error),
            Err(error) => {
                let Some(delay) = delays.next() else {
                    return Err(error);
                };
                tracing::warn!(error = %error_chain(&error), "call record write failed; retrying");
                tokio::time::sleep(*delay).await;
            }
        }
    }
}

fn record_json(record: &CallRecord) -> String {
    serde_json::to_string(record).unwrap_or_else(|e| format!("(not serialisable: {e}) {record:?}"))
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut out = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        source = cause.source();
    }
    out
}

/// The wall clock, unix milliseconds.
fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossbar_cdr::{
        CallId, DestinationClass, Direction, Disposition, EndReason, EventKind, HangupSide,
        Increment, LegId, LegRole, Money, Party, Rate,
    };
    use crossbar_store::testing::SqliteFile;
    use crossbar_store::{ActiveCall, CallFilter, Page};

    fn event(call: &str, at_ms: i64, kind: EventKind) -> CallEvent {
        CallEvent {
            call: CallId(call.into()),
            at_ms,
            kind,
        }
    }

    fn started(call: &str, at_ms: i64) -> CallEvent {
        event(
            call,
            at_ms,
            EventKind::Started {
                direction: Direction::Internal,
                caller: Party {
                    number: "201".into(),
                    name: None,
                },
                callee: Party {
                    number: "202".into(),
                    name: None,
                },
                sip_call_id: format!("sip-{call}"),
            },
        )
    }

    #[tokio::test]
    async fn a_call_is_written_as_it_goes_and_nothing_is_lost_at_shutdown() {
        let db = SqliteFile::new();
        let store = Store::open(&db.url).await.unwrap();
        let (events, task) = spawn(store.clone());
        let t0 = 1_795_000_000_000;
        let send = |e: CallEvent| events.send(e).expect("the writer runs");
        send(started("done", t0));
        send(event(
            "done",
            t0 + 10,
            EventKind::LegCreated {
                leg: LegId(1),
                role: LegRole::Callee,
                target: "202".into(),
                contact: None,
                trunk: None,
                rate: None,
            },
        ));
        send(event(
            "done",
            t0 + 2_000,
            EventKind::Answered { leg: LegId(1) },
        ));
        send(event(
            "done",
            t0 + 9_000,
            EventKind::Ended {
                reason: EndReason::Hangup,
                hangup_by: HangupSide::Caller,
                status: None,
            },
        ));
        // A second call is still ringing when crossbar stops.
        send(started("up", t0 + 5_000));
        drop(events);
        task.await.expect("the writer ends cleanly");

        assert!(store.interrupted_calls().await.unwrap().is_empty());
        let records = store
            .calls(&CallFilter::default(), Page::default())
            .await
            .unwrap();
        assert_eq!(records.len(), 2);
        let up = &records[0];
        assert_eq!(up.id, CallId("up".into()));
        assert!(up.interrupted);
        assert_eq!(up.disposition, Disposition::Failed);
        let done = &records[1];
        assert_eq!(done.disposition, Disposition::Answered);
        assert_eq!(done.answered_by.as_deref(), Some("202"));
        assert_eq!(done.timings.talk_secs, 7);
        assert!(!done.interrupted);
    }

    #[tokio::test]
    async fn a_refused_record_does_not_lose_the_others_written_with_it() {
        let db = SqliteFile::new();
        let store = Store::open(&db.url).await.unwrap();
        let (events, task) = spawn(store.clone());
        let t0 = 1_795_000_000_000;
        let send = |e: CallEvent| events.send(e).expect("the writer runs");
        // All queued before the writer first runs, so they make one batch; the database
        // refuses the call with an empty id, and with it that whole batch.
        for call in ["a", "", "b"] {
            send(started(call, t0));
        }
        for call in ["a", "", "b"] {
            send(event(
                call,
                t0 + 1_000,
                EventKind::Ended {
                    reason: EndReason::CallerGaveUp,
                    hangup_by: HangupSide::Caller,
                    status: Some(487),
                },
            ));
        }
        send(started("up", t0 + 2_000));
        drop(events);
        task.await.expect("the writer ends cleanly");

        assert!(store.interrupted_calls().await.unwrap().is_empty());
        let records = store
            .calls(&CallFilter::default(), Page::default())
            .await
            .unwrap();
        let ids: Vec<&str> = records.iter().map(|r| r.id.0.as_str()).collect();
        assert_eq!(ids, ["up", "b", "a"]);
        assert!(records[0].interrupted);
        assert!(!records[1].interrupted && !records[2].interrupted);
    }

    #[tokio::test]
    async fn an_outbound_call_cut_off_by_a_crash_ends_at_the_last_refresh_with_its_cost() {
        let db = SqliteFile::new();
        let store = Store::open(&db.url).await.unwrap();
        let t0 = 1_795_000_000_000;
        // The writer's wall clock reads 2 minutes into the call.
        let (events, task) = spawn_with_clock(store.clone(), move || t0 + 120_000);
        // Its first refresh, as it starts, finds no call up: the next is a period later.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let send = |e: CallEvent| events.send(e).expect("the writer runs");
        let rate = Rate {
            per_minute: "0.03".parse().expect("amount"),
            connection_fee: Money::ZERO,
            increment: Increment::PER_MINUTE,
        };
        send(event(
            "out",
            t0,
            EventKind::Started {
                direction: Direction::Outbound,
                caller: Party {
                    number: "201".into(),
                    name: None,
                },
                callee: Party {
                    number: "01632960001".into(),
                    name: None,
                },
                sip_call_id: "sip-out".into(),
            },
        ));
        send(event(
            "out",
            t0 + 5,
            EventKind::Routed {
                dialled: "01632960001".into(),
                normalized: "+441632960001".into(),
                class: DestinationClass::National,
                route: Some("uk".into()),
                caller_id: None,
            },
        ));
        send(event(
            "out",
            t0 + 10,
            EventKind::LegCreated {
                leg: LegId(1),
                role: LegRole::Callee,
                target: "+441632960001".into(),
                contact: None,
                trunk: Some("carrier-a".into()),
                rate: Some(rate),
            },
        ));
        send(event(
            "out",
            t0 + 4_000,
            EventKind::Answered { leg: LegId(1) },
        ));
        // The answer is written at once, and the call noted as still up within a second.
        let refreshed = async {
            loop {
                let active = store.interrupted_calls().await.unwrap();
                if active
                    .first()
                    .is_some_and(|a| a.rate == Some(rate) && a.last_seen_at_ms == t0 + 120_000)
                {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(3), refreshed)
            .await
            .expect("the writer refreshes the calls in progress every second");
        // crossbar is killed: the writer never gets to end the call.
        task.abort();
        let _ = task.await;

        assert_eq!(
            recover_interrupted(&store, t0 + 3_600_000).await.unwrap(),
            1
        );
        let record = store.call(&CallId("out".into())).await.unwrap().unwrap();
        assert!(record.interrupted);
        assert_eq!(record.ended_at_ms, t0 + 120_000);
        assert_eq!(record.timings.talk_secs, 116);
        let outbound = record.outbound.expect("its routing was kept");
        assert_eq!(outbound.trunk.as_deref(), Some("carrier-a"));
        // 116 s billed per minute: 2 minutes at 0.03.
        assert_eq!(outbound.cost, "0.06".parse().expect("amount"));
    }

    #[tokio::test]
    async fn calls_left_in_progress_by_a_crash_are_recovered_as_interrupted() {
        let db = SqliteFile::new();
        let store = Store::open(&db.url).await.unwrap();
        let t0 = 1_795_000_000_000;
        store
            .call_started(&ActiveCall {
                id: CallId("lost".into()),
                sip_call_id: "sip-lost".into(),
                direction: Direction::Inbound,
                caller: Party::default(),
                callee: Party {
                    number: "201".into(),
                    name: None,
                },
                started_at_ms: t0,
                answered_at_ms: Some(t0 + 1_000),
                answered_by: Some("201".into()),
                trunk: None,
                rate: None,
                outbound: None,
                last_seen_at_ms: t0 + 30_000,
                callback_task: None,
            })
            .await
            .unwrap();
        assert_eq!(recover_interrupted(&store, t0 + 90_000).await.unwrap(), 1);
        assert_eq!(recover_interrupted(&store, t0 + 90_000).await.unwrap(), 0);
        let record = store.call(&CallId("lost".into())).await.unwrap().unwrap();
        assert!(record.interrupted);
        assert_eq!(record.disposition, Disposition::Answered);
        assert_eq!(record.timings.talk_secs, 29);
    }
}
