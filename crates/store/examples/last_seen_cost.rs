//! Measures what it costs to mark the calls in progress as still up — what lets a call cut
//! off by a crash be recorded with its talk time and cost to within a second — with 2,000
//! calls up: `Store::touch_active_calls` (one single-row update, `active_calls_seen`) against
//! the per-call refresh it replaced (one statement updating every `active_calls` row).
//!
//! ```text
//! cargo run -p crossbar-store --release --example last_seen_cost                 # SQLite
//! cargo run -p crossbar-store --release --example last_seen_cost -- postgres     # PostgreSQL
//! ```

use std::time::{Duration, Instant};

use crossbar_cdr::{CallId, Direction, Party};
use crossbar_store::testing::{SqliteFile, postgres_database};
use crossbar_store::{ActiveCall, CallChange, Store};
use sqlx::Connection;

const CALLS: i64 = 2_000;
const REFRESHES: i64 = 300;
/// The statement `touch_active_calls` used to run: every call's own row, every time.
const PER_CALL_REFRESH: &str =
    "UPDATE active_calls SET last_seen_at_ms = $1 WHERE last_seen_at_ms < $1";

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
    let t0 = 1_795_000_000_000;
    let started: Vec<CallChange> = (0..CALLS)
        .map(|i| {
            CallChange::Started(ActiveCall {
                id: CallId(format!("call-{i}")),
                sip_call_id: format!("{i}@192.0.2.1"),
                direction: Direction::Outbound,
                caller: Party {
                    number: format!("{}", 200 + i % 100),
                    name: Some("Alice".into()),
                },
                callee: Party {
                    number: "+441632960001".into(),
                    name: None,
                },
                started_at_ms: t0 + i,
                answered_at_ms: None,
                answered_by: None,
                trunk: None,
                rate: None,
                outbound: None,
                last_seen_at_ms: t0 + i,
                callback_task: None,
            })
        })
        .collect();
    store.apply_call_changes(&started).await?;
    println!("{} with {CALLS} calls in progress:", store.backend());

    let (wall, cpu) = timed(async {
        for n in 1..=REFRESHES {
            store.touch_active_calls(t0 + 10_000 + n * 1_000).await?;
        }
        Ok::<(), crossbar_store::StoreError>(())
    })
    .await?;
    report("one row (touch_active_calls)", wall, cpu);

    // The same refreshes as the per-call statement, on a connection of its own.
    let (wall, cpu) = if url.starts_with("postgres") {
        let mut conn = sqlx::PgConnection::connect(&url).await?;
        timed(async {
            for n in 1..=REFRESHES {
                sqlx::query(PER_CALL_REFRESH)
                    .bind(t0 + 1_000_000 + n * 1_000)
                    .execute(&mut conn)
                    .await?;
            }
            Ok::<(), sqlx::Error>(())
        })
        .await?
    } else {
        // As the store connects: WAL (kept in the file), `synchronous=NORMAL`.
        let options = url
            .parse::<sqlx::sqlite::SqliteConnectOptions>()?
            .synchronous(sqlx::sqlite::SqliteSynchronous::Normal);
        let mut conn = sqlx::SqliteConnection::connect_with(&options).await?;
        timed(async {
            for n in 1..=REFRESHES {
                sqlx::query(PER_CALL_REFRESH)
                    .bind(t0 + 1_000_000 + n * 1_000)
                    .execute(&mut conn)
                    .await?;
            }
            Ok::<(), sqlx::Error>(())
        })
        .await?
    };
    report("every call's row (before)", wall, cpu);
    Ok(())
}

async fn timed<E>(work: impl Future<Output = Result<(), E>>) -> Result<(Duration, f64), E> {
    let (started, cpu) = (Instant::now(), cpu_ticks());
    work.await?;
    Ok((started.elapsed(), (cpu_ticks() - cpu) as f64 / 100.0))
}

fn report(what: &str, wall: Duration, cpu_secs: f64) {
    let per = |total: f64| total * 1e6 / REFRESHES as f64;
    println!(
        "  {what}: {REFRESHES} refreshes in {wall:.2?} = {:.0} µs each, this process's CPU {:.0} µs each",
        per(wall.as_secs_f64()),
        per(cpu_secs),
    );
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
