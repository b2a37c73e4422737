//! Measures the call-record write path: the steps of 6,000 calls (start, answer, record),
//! interleaved as on a busy switch, written one by one (a transaction each) or in batches.
//!
//! ```text
//! cargo run -p crossbar-store --release --example call_write_rate                 # SQLite
//! cargo run -p crossbar-store --release --example call_write_rate -- postgres     # PostgreSQL
//! ```

use std::time::Instant;

use crossbar_cdr::{
    CallEvent, CallId, Direction, EndReason, EventKind, HangupSide, LegId, LegRole, Party, Recorder,
};
use crossbar_store::testing::{SqliteFile, postgres_database};
use crossbar_store::{CallChange, Store};

const CALLS: i64 = 6_000;
/// About what 2,000 queued events fold into (each call has 6 events and 3 steps).
const BATCH: usize = 1_000;
/// Calls up at once (each starts 1 ms after the previous one and lasts this many ms).
const OVERLAP_MS: i64 = 300;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let arg = std::env::args().nth(1);
    let sqlite = SqliteFile::new();
    let url = match arg.as_deref() {
        None | Some("sqlite") => sqlite.url.clone(),
        Some("postgres") => postgres_database().await.url,
        Some(url) => url.to_owned(),
    };
    let store = Store::open(&url).await?;
    for (round, mode) in ["one by one", "batches", "one by one", "batches"]
        .into_iter()
        .enumerate()
    {
        let changes = changes(i64::try_from(round)? * 1_000_000);
        let (started, cpu) = (Instant::now(), cpu_ticks());
        if mode == "batches" {
            for batch in changes.chunks(BATCH) {
                store.apply_call_changes(batch).await?;
            }
        } else {
            for change in &changes {
                match change {
                    CallChange::Started(call) => store.call_started(call).await?,
                    CallChange::Answered(answer) => drop(store.call_answered(answer).await?),
                    CallChange::Callback { id, task } => {
                        store.call_placed_for(id, *task).await?;
                    }
                    CallChange::Finished(record) => store.call_finished(record).await?,
                }
            }
        }
        let elapsed = started.elapsed();
        let cpu_secs = (cpu_ticks() - cpu) as f64 / 100.0;
        println!(
            "{} {mode}: {CALLS} calls in {elapsed:.2?} = {:.0} calls/s, CPU {cpu_secs:.2} s = {:.0} µs/call",
            store.backend(),
            CALLS as f64 / elapsed.as_secs_f64(),
            cpu_secs * 1e6 / CALLS as f64,
        );
    }
    Ok(())
}

/// The steps of `CALLS` overlapping calls, in the order the recorder reports them.
fn changes(id_base: i64) -> Vec<CallChange> {
    let t0 = 1_795_000_000_000;
    let mut events = Vec::new();
    for i in 0..CALLS {
        let call = CallId(format!("call-{}", id_base + i));
        let start = t0 + i;
        let at = |ms: i64, kind: EventKind| CallEvent {
            call: call.clone(),
            at_ms: start + ms,
            kind,
        };
        let callee = format!("{}", 200 + i % 100);
        events.extend([
            at(
                0,
                EventKind::Started {
                    direction: Direction::Internal,
                    caller: Party {
                        number: "201".into(),
                        name: Some("Alice".into()),
                    },
                    callee: Party {
                        number: callee.clone(),
                        name: None,
                    },
                    sip_call_id: format!("{i}@192.0.2.1"),
                },
            ),
            at(
                0,
                EventKind::LegCreated {
                    leg: LegId(0),
                    role: LegRole::Caller,
                    target: "201".into(),
                    contact: None,
                    trunk: None,
                    rate: None,
                },
            ),
            at(
                1,
                EventKind::LegCreated {
                    leg: LegId(1),
                    role: LegRole::Callee,
                    target: callee,
                    contact: Some("sip:202@192.0.2.7:5060".into()),
                    trunk: None,
                    rate: None,
                },
            ),
            at(
                2,
                EventKind::Ringing {
                    leg: LegId(1),
                    early_media: false,
                },
            ),
            at(OVERLAP_MS / 2, EventKind::Answered { leg: LegId(1) }),
            at(
                OVERLAP_MS,
                EventKind::Ended {
                    reason: EndReason::Hangup,
                    hangup_by: HangupSide::Caller,
                    status: None,
                },
            ),
        ]);
    }
    events.sort_by_key(|e| e.at_ms);
    let mut recorder = Recorder::default();
    events
        .into_iter()
        .filter_map(|e| recorder.record(e))
        .map(CallChange::from)
        .collect()
}

/// This process's CPU time so far (user + system), in clock ticks (1/100 s).
fn cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i)?.parse::<u64>().ok())
        .sum()
}
