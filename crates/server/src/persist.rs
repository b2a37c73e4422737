//! The database writer: binding changes from the endpoint, written in batches (one
//! transaction for whatever has queued up), retried on failure, and reported back to the
//! engine so it can release — or refuse — the responses that wait for them.

use std::net::SocketAddr;
use std::time::Duration;

use crossbar_proto::endpoint::Ticket;
use crossbar_proto::registrar::{Binding, BindingChange};
use crossbar_proto::transaction::{Peer, Transport};
use crossbar_store::Store;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::engine::Input;

/// Most changes written in one transaction.
const MAX_BATCH_CHANGES: usize = 2_000;

/// Waits between attempts at a failing write; after the last, the batch is reported failed.
const RETRY_DELAYS: [Duration; 3] = [
    Duration::from_millis(100),
    Duration::from_millis(500),
    Duration::from_secs(2),
];

/// Changes the endpoint asked to persist.
pub struct Batch {
    pub ticket: Ticket,
    pub changes: Vec<BindingChange>,
}

/// Starts the writer. It ends when the sender is dropped and the queue is written.
pub fn spawn(
    store: Store,
    engine: mpsc::Sender<Input>,
) -> (mpsc::UnboundedSender<Batch>, JoinHandle<()>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let task = tokio::spawn(write_batches(store, rx, engine));
    (tx, task)
}

async fn write_batches(
    store: Store,
    mut queue: mpsc::UnboundedReceiver<Batch>,
    engine: mpsc::Sender<Input>,
) {
    while let Some(first) = queue.recv().await {
        let mut tickets = vec![first.ticket];
        let mut changes: Vec<crossbar_store::BindingChange> =
            first.changes.into_iter().map(change_to_row).collect();
        while changes.len() < MAX_BATCH_CHANGES {
            match queue.try_recv() {
                Ok(batch) => {
                    tickets.push(batch.ticket);
                    changes.extend(batch.changes.into_iter().map(change_to_row));
                }
                Err(_) => break,
            }
        }
        let ok = write_with_retries(&store, &changes).await;
        for ticket in tickets {
            // The engine may be shutting down; then nobody waits for the answer.
            let _ = engine.send(Input::Persisted { ticket, ok }).await;
        }
    }
}

async fn write_with_retries(store: &Store, changes: &[crossbar_store::BindingChange]) -> bool {
    let mut attempt = 0;
    loop {
        match store.apply(changes).await {
            Ok(()) => return true,
            Err(error) => {
                let Some(delay) = RETRY_DELAYS.get(attempt) else {
                    tracing::error!(%error, changes = changes.len(), "binding changes not written; registrations refused with 500");
                    return false;
                };
                tracing::warn!(%error, attempt = attempt + 1, "binding write failed; retrying");
                tokio::time::sleep(*delay).await;
                attempt += 1;
            }
        }
    }
}

fn change_to_row(change: BindingChange) -> crossbar_store::BindingChange {
    match change {
        BindingChange::Upsert(b) => crossbar_store::BindingChange::Upsert(binding_to_row(b)),
        BindingChange::Remove { aor, contact } => {
            crossbar_store::BindingChange::Remove { aor, contact }
        }
        BindingChange::RemoveAll { aor } => crossbar_store::BindingChange::RemoveAll { aor },
    }
}

fn binding_to_row(b: Binding) -> crossbar_store::Binding {
    crossbar_store::Binding {
        aor: b.aor,
        contact: b.contact,
        expires_at: b.expires_at,
        q: b.q,
        call_id: b.call_id,
        cseq: b.cseq,
        source: format!(
            "{}:{}",
            b.source.transport.via_token().to_ascii_lowercase(),
            b.source.addr
        ),
        user_agent: b.user_agent,
        instance: b.instance,
        reg_id: b.reg_id,
        updated_at: b.updated_at,
    }
}

/// A stored binding back into the registrar's form; fails on a `source` it cannot read.
pub fn binding_from_row(row: crossbar_store::Binding) -> Result<Binding, String> {
    let source = parse_source(&row.source).ok_or_else(|| {
        format!(
            "binding {} → {}: bad source {:?}",
            row.aor, row.contact, row.source
        )
    })?;
    Ok(Binding {
        aor: row.aor,
        contact: row.contact,
        expires_at: row.expires_at,
        q: row.q,
        call_id: row.call_id,
        cseq: row.cseq,
        source,
        user_agent: row.user_agent,
        instance: row.instance,
        reg_id: row.reg_id,
        updated_at: row.updated_at,
    })
}

/// `udp:192.0.2.1:5060` / `tcp:[2001:db8::1]:5060` → a peer.
fn parse_source(text: &str) -> Option<Peer> {
    let (transport, addr) = text.split_once(':')?;
    let transport = Transport::from_via_token(transport)?;
    let addr: SocketAddr = addr.parse().ok()?;
    Some(Peer::new(transport, addr))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binding_source_survives_the_round_trip_through_a_row() {
        for source in ["udp:192.0.2.1:5060", "tcp:[2001:db8::1]:5070"] {
            let peer = parse_source(source).expect("valid source");
            let binding = Binding {
                aor: "201".into(),
                contact: "sip:201@192.0.2.1".into(),
                expires_at: 10,
                q: None,
                call_id: "c".into(),
                cseq: 1,
                source: peer,
                user_agent: None,
                instance: None,
                reg_id: None,
                updated_at: 1,
            };
            let row = binding_to_row(binding.clone());
            assert_eq!(row.source, source);
            assert_eq!(binding_from_row(row), Ok(binding));
        }
    }

    #[test]
    fn unreadable_source_is_an_error_not_a_panic() {
        assert!(parse_source("carrier-pigeon:1.2.3.4:5").is_none());
        assert!(parse_source("udp:nonsense").is_none());
    }
}
