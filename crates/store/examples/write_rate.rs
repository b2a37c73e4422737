//! Measures the registrar's write path: 8,000 binding upserts applied in batches of 100.
//!
//! ```text
//! cargo run -p crossbar-store --release --example write_rate            # temp SQLite file
//! cargo run -p crossbar-store --release --example write_rate -- postgres # throwaway PostgreSQL
//! cargo run -p crossbar-store --release --example write_rate -- URL      # any store URL
//! ```

use std::time::Instant;

use crossbar_store::testing::{SqliteFile, postgres_database};
use crossbar_store::{Binding, BindingChange, Store};

const TOTAL: usize = 8_000;
const BATCH: usize = 100;
const ROUNDS: u32 = 5;

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
    for round in 0..ROUNDS {
        let changes: Vec<BindingChange> = (0..TOTAL)
            .map(|i| {
                BindingChange::Upsert(Binding {
                    aor: format!("{}", 1000 + i % 2000),
                    contact: format!("sip:{i}@192.0.2.{}:5060", i % 250),
                    expires_at: 1_700_003_600 + i64::from(round),
                    q: None,
                    call_id: format!("{i}-call@192.0.2.1"),
                    cseq: round,
                    source: "udp:192.0.2.1:5060".into(),
                    user_agent: Some("crossbar-bench".into()),
                    instance: None,
                    reg_id: None,
                    updated_at: 1_700_000_000,
                })
            })
            .collect();
        let started = Instant::now();
        for batch in changes.chunks(BATCH) {
            store.apply(batch).await?;
        }
        let elapsed = started.elapsed();
        println!(
            "{} round {round}: {TOTAL} upserts in batches of {BATCH}: {elapsed:.2?} = {:.0} upserts/s",
            store.backend(),
            TOTAL as f64 / elapsed.as_secs_f64()
        );
    }
    Ok(())
}
