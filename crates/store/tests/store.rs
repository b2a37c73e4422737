//! The store's behaviour, specified once and run against both backends: a temporary SQLite
//! file and a real PostgreSQL server (see `crossbar_store::testing`).

use std::time::Instant;

#[macro_use]
mod common;

use common::TestDb;
use crossbar_store::testing::SqliteFile;
use crossbar_store::{Backend, Binding, BindingChange, Store, StoreError};

on_both_backends!(
    opening_twice_runs_the_migrations_once,
    upsert_inserts_then_replaces_the_same_contact,
    remove_binding_deletes_one_contact,
    remove_bindings_deletes_every_contact_of_the_aor,
    every_field_round_trips_including_extremes,
    live_bindings_excludes_expired_ones,
    purge_expired_deletes_only_expired_bindings,
    apply_writes_a_mixed_batch_in_order,
    apply_rolls_back_the_whole_batch_when_one_change_fails,
    apply_keeps_the_last_upsert_of_a_contact_repeated_in_a_large_batch,
    bindings_survive_closing_and_reopening,
    secrets_round_trip_and_survive_reopening,
    a_write_on_a_closed_store_returns_an_error,
    batched_upserts_rate,
);

fn binding(aor: &str, contact: &str, expires_at: i64) -> Binding {
    Binding {
        aor: aor.into(),
        contact: contact.into(),
        expires_at,
        q: None,
        call_id: format!("call-{aor}@host"),
        cseq: 1,
        source: "udp:192.0.2.10:5060".into(),
        user_agent: None,
        instance: None,
        reg_id: None,
        updated_at: expires_at - 3600,
    }
}

async fn opening_twice_runs_the_migrations_once(db: TestDb) {
    let first = db.open().await;
    first
        .upsert_binding(&binding("201", "sip:201@192.0.2.10", 2_000))
        .await
        .expect("upsert");
    first.close().await;
    if let Some(file) = &db.sqlite {
        assert!(
            file.path.is_file(),
            "the SQLite file and its directory were created"
        );
    }
    // Second open on a migrated database: no error, data intact; a third one concurrently.
    let second = db.open().await;
    let third = db.open().await;
    assert_eq!(second.bindings("201").await.expect("list").len(), 1);
    assert_eq!(third.bindings("201").await.expect("list").len(), 1);
}

async fn upsert_inserts_then_replaces_the_same_contact(db: TestDb) {
    let store = db.open().await;
    let mut b = binding("201", "sip:201@192.0.2.10:5060", 1_000);
    store.upsert_binding(&b).await.expect("insert");
    assert_eq!(store.bindings("201").await.expect("list"), vec![b.clone()]);

    b.expires_at = 5_000;
    b.cseq = 2;
    b.source = "tcp:198.51.100.7:40000".into();
    b.updated_at = 1_400;
    store.upsert_binding(&b).await.expect("replace");
    assert_eq!(store.bindings("201").await.expect("list"), vec![b.clone()]);

    let other = binding("201", "sip:201@198.51.100.8", 1_000);
    store.upsert_binding(&other).await.expect("second contact");
    let listed = store.bindings("201").await.expect("list");
    assert_eq!(listed.len(), 2, "two contacts of one AOR");
    assert!(listed.contains(&b) && listed.contains(&other));
    assert!(store.bindings("202").await.expect("list").is_empty());
}

async fn remove_binding_deletes_one_contact(db: TestDb) {
    let store = db.open().await;
    let a = binding("201", "sip:201@a", 1_000);
    let b = binding("201", "sip:201@b", 1_000);
    store.upsert_binding(&a).await.expect("upsert a");
    store.upsert_binding(&b).await.expect("upsert b");
    assert!(
        store
            .remove_binding("201", "sip:201@a")
            .await
            .expect("remove")
    );
    assert!(
        !store
            .remove_binding("201", "sip:201@a")
            .await
            .expect("remove again")
    );
    assert_eq!(store.bindings("201").await.expect("list"), vec![b]);
}

async fn remove_bindings_deletes_every_contact_of_the_aor(db: TestDb) {
    let store = db.open().await;
    for contact in ["sip:201@a", "sip:201@b", "sip:201@c"] {
        store
            .upsert_binding(&binding("201", contact, 1_000))
            .await
            .expect("upsert");
    }
    let kept = binding("202", "sip:202@a", 1_000);
    store.upsert_binding(&kept).await.expect("upsert 202");
    assert_eq!(store.remove_bindings("201").await.expect("remove all"), 3);
    assert_eq!(store.remove_bindings("201").await.expect("remove none"), 0);
    assert!(store.bindings("201").await.expect("list").is_empty());
    assert_eq!(store.bindings("202").await.expect("list"), vec![kept]);
}

async fn every_field_round_trips_including_extremes(db: TestDb) {
    let store = db.open().await;
    let full = Binding {
        aor: "201".into(),
        contact: "<sip:201@192.0.2.10:5060;transport=tcp;ob>;+sip.instance=\"<urn:uuid:1>\"".into(),
        expires_at: i64::MAX,
        q: Some(1000),
        call_id: "a84b4c76e66710@pc33.atlanta.example.com".into(),
        cseq: u32::MAX,
        source: "tls:[2001:db8::1]:5061".into(),
        user_agent: Some("Yealink SIP-T46U 108.86.0.20 – ünïcode".into()),
        instance: Some("<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>".into()),
        reg_id: Some(u32::MAX),
        updated_at: i64::MIN,
    };
    let zero_q = Binding {
        contact: "sip:201@b".into(),
        q: Some(0),
        cseq: 0,
        reg_id: Some(1),
        ..full.clone()
    };
    store.upsert_binding(&full).await.expect("upsert full");
    store.upsert_binding(&zero_q).await.expect("upsert zero q");
    let mut listed = store.bindings("201").await.expect("list");
    listed.sort_by(|a, b| a.contact.cmp(&b.contact));
    let mut expected = vec![full, zero_q];
    expected.sort_by(|a, b| a.contact.cmp(&b.contact));
    assert_eq!(listed, expected);
}

async fn live_bindings_excludes_expired_ones(db: TestDb) {
    let store = db.open().await;
    let now = 1_700_000_000;
    let expired = binding("201", "sip:201@old", now - 1);
    let expiring_now = binding("201", "sip:201@now", now);
    let live = binding("201", "sip:201@new", now + 1);
    let other_live = binding("202", "sip:202@x", now + 3600);
    for b in [&expired, &expiring_now, &live, &other_live] {
        store.upsert_binding(b).await.expect("upsert");
    }
    assert_eq!(
        store.live_bindings(now).await.expect("live"),
        vec![live.clone(), other_live.clone()],
        "live means expires_at > now, ordered by aor then contact"
    );
    assert_eq!(
        store.live_bindings(now + 2).await.expect("live"),
        vec![other_live]
    );
    // bindings(aor) does not filter by time: the store never reads the clock.
    assert_eq!(store.bindings("201").await.expect("list").len(), 3);
}

async fn purge_expired_deletes_only_expired_bindings(db: TestDb) {
    let store = db.open().await;
    let now = 10_000;
    for (i, expires_at) in [now - 100, now - 1, now, now + 1, now + 100]
        .iter()
        .enumerate()
    {
        store
            .upsert_binding(&binding("201", &format!("sip:201@{i}"), *expires_at))
            .await
            .expect("upsert");
    }
    assert_eq!(store.purge_expired(now).await.expect("purge"), 3);
    assert_eq!(store.purge_expired(now).await.expect("purge again"), 0);
    let left: Vec<i64> = store
        .bindings("201")
        .await
        .expect("list")
        .iter()
        .map(|b| b.expires_at)
        .collect();
    assert_eq!(left, vec![now + 1, now + 100]);
}

async fn apply_writes_a_mixed_batch_in_order(db: TestDb) {
    let store = db.open().await;
    store
        .upsert_binding(&binding("203", "sip:203@a", 1_000))
        .await
        .expect("seed");
    let mut refreshed = binding("201", "sip:201@a", 1_000);
    refreshed.cseq = 7;
    let changes = vec![
        BindingChange::Upsert(binding("201", "sip:201@a", 500)),
        BindingChange::Upsert(binding("201", "sip:201@b", 500)),
        BindingChange::Upsert(binding("202", "sip:202@a", 500)),
        // Later changes in the batch see earlier ones.
        BindingChange::Upsert(refreshed.clone()),
        BindingChange::Remove {
            aor: "201".into(),
            contact: "sip:201@b".into(),
        },
        BindingChange::RemoveAll { aor: "203".into() },
    ];
    store.apply(&changes).await.expect("apply");
    store.apply(&[]).await.expect("an empty batch is a no-op");
    assert_eq!(store.bindings("201").await.expect("list"), vec![refreshed]);
    assert_eq!(store.bindings("202").await.expect("list").len(), 1);
    assert!(store.bindings("203").await.expect("list").is_empty());
}

async fn apply_rolls_back_the_whole_batch_when_one_change_fails(db: TestDb) {
    let store = db.open().await;
    let before = binding("201", "sip:201@kept", 1_000);
    store.upsert_binding(&before).await.expect("seed");
    let mut invalid = binding("202", "sip:202@a", 1_000);
    invalid.q = Some(1001); // qvalues are 0..=1000: the database's CHECK refuses it
    let changes = vec![
        BindingChange::RemoveAll { aor: "201".into() },
        BindingChange::Upsert(binding("202", "sip:202@b", 1_000)),
        BindingChange::Upsert(invalid),
    ];
    let error = store
        .apply(&changes)
        .await
        .expect_err("the batch must fail");
    assert!(
        matches!(error, StoreError::Rejected { .. }),
        "a constraint violation is reported as Rejected, got {error:?}"
    );
    assert_eq!(
        store.bindings("201").await.expect("list"),
        vec![before],
        "the RemoveAll earlier in the batch was rolled back"
    );
    assert!(
        store.bindings("202").await.expect("list").is_empty(),
        "the valid upsert earlier in the batch was rolled back"
    );
    // The store is still usable after a failed batch.
    store
        .apply(&[BindingChange::Upsert(binding("202", "sip:202@b", 1_000))])
        .await
        .expect("apply after failure");
}

async fn apply_keeps_the_last_upsert_of_a_contact_repeated_in_a_large_batch(db: TestDb) {
    let store = db.open().await;
    // 250 upserts over 150 contacts: more rows than one multi-row statement holds, and
    // repeated contacts, which PostgreSQL would refuse twice in one statement.
    let changes: Vec<BindingChange> = (0..250u32)
        .map(|i| {
            let mut b = binding("201", &format!("sip:201@{}", i % 150), 1_000);
            b.cseq = i;
            BindingChange::Upsert(b)
        })
        .collect();
    store.apply(&changes).await.expect("apply");
    let stored = store.bindings("201").await.expect("list");
    assert_eq!(stored.len(), 150);
    for b in stored {
        let n: u32 = b.contact["sip:201@".len()..]
            .parse()
            .expect("numbered contact");
        let last = if n < 100 { n + 150 } else { n };
        assert_eq!(b.cseq, last, "{} keeps its last upsert", b.contact);
    }
}

async fn bindings_survive_closing_and_reopening(db: TestDb) {
    let now = 1_700_000_000;
    let live = binding("201", "sip:201@192.0.2.10", now + 3600);
    {
        let store = db.open().await;
        store
            .apply(&[
                BindingChange::Upsert(live.clone()),
                BindingChange::Upsert(binding("202", "sip:202@gone", now - 10)),
            ])
            .await
            .expect("apply");
        store.close().await;
    }
    // "After a restart": a new store on the same database.
    let store = db.open().await;
    assert_eq!(store.live_bindings(now).await.expect("live"), vec![live]);
}

async fn secrets_round_trip_and_survive_reopening(db: TestDb) {
    let store = db.open().await;
    assert_eq!(store.secret("nonce-key").await.expect("read"), None);
    let key: Vec<u8> = (0..=255).collect(); // every byte value, NULs included
    store.put_secret("nonce-key", &key).await.expect("put");
    assert_eq!(
        store.secret("nonce-key").await.expect("read"),
        Some(key.clone())
    );
    store.put_secret("empty", &[]).await.expect("put empty");
    assert_eq!(store.secret("empty").await.expect("read"), Some(Vec::new()));

    let replaced = b"rotated".to_vec();
    store
        .put_secret("nonce-key", &replaced)
        .await
        .expect("replace");
    store.close().await;
    let store = db.open().await;
    assert_eq!(
        store.secret("nonce-key").await.expect("read"),
        Some(replaced)
    );
    assert!(matches!(
        store.put_secret("", b"x").await,
        Err(StoreError::Rejected { .. })
    ));
}

async fn a_write_on_a_closed_store_returns_an_error(db: TestDb) {
    let store = db.open().await;
    let clone = store.clone();
    store.close().await;
    let b = binding("201", "sip:201@a", 1_000);
    assert!(matches!(
        clone.upsert_binding(&b).await,
        Err(StoreError::Database { .. })
    ));
    assert!(clone.apply(&[BindingChange::Upsert(b)]).await.is_err());
    assert!(clone.put_secret("k", b"v").await.is_err());
}

/// Not a timed assertion: prints the rate of 8,000 upserts written in batches of 100.
async fn batched_upserts_rate(db: TestDb) {
    const TOTAL: usize = 8_000;
    const BATCH: usize = 100;
    let store = db.open().await;
    let batches: Vec<Vec<BindingChange>> = (0..TOTAL)
        .map(|i| {
            let mut b = binding(
                &format!("{}", 1000 + i % 2000),
                &format!("sip:{i}@192.0.2.{}:5060", i % 250),
                1_700_003_600,
            );
            b.cseq = i as u32;
            b.user_agent = Some("crossbar-bench".into());
            BindingChange::Upsert(b)
        })
        .collect::<Vec<_>>()
        .chunks(BATCH)
        .map(<[BindingChange]>::to_vec)
        .collect();
    let started = Instant::now();
    for batch in &batches {
        store.apply(batch).await.expect("apply batch");
    }
    let elapsed = started.elapsed();
    let rate = TOTAL as f64 / elapsed.as_secs_f64();
    println!(
        "{}: {TOTAL} binding upserts in batches of {BATCH}: {elapsed:.2?} = {rate:.0} upserts/s",
        db.backend
    );
    assert_eq!(store.live_bindings(0).await.expect("live").len(), TOTAL);
}

#[tokio::test]
async fn sqlite_in_memory_works_for_tests() {
    let store = Store::open("sqlite::memory:").await.expect("open memory");
    assert_eq!(store.backend(), Backend::Sqlite);
    store
        .upsert_binding(&binding("201", "sip:201@a", 10))
        .await
        .expect("upsert");
    assert_eq!(store.live_bindings(0).await.expect("live").len(), 1);
}

#[tokio::test]
async fn sqlite_file_is_in_wal_mode() {
    let file = SqliteFile::new();
    let store = Store::open(&file.url).await.expect("open");
    store
        .upsert_binding(&binding("201", "sip:201@a", 10))
        .await
        .expect("upsert");
    let wal = file.path.with_extension("db-wal");
    assert!(
        wal.is_file(),
        "{} exists while the store is open",
        wal.display()
    );
}

#[tokio::test]
async fn unknown_url_scheme_is_a_typed_error() {
    let error = Store::open("mysql://localhost/crossbar")
        .await
        .expect_err("mysql is not supported");
    assert!(
        matches!(&error, StoreError::UnsupportedUrl { scheme } if scheme == "mysql"),
        "{error:?}"
    );
}

#[tokio::test]
async fn malformed_postgres_url_is_a_typed_error() {
    // (An unreachable server is a `Connect` error, but only after the 10 s acquire timeout.)
    let error = Store::open("postgres://u@127.0.0.1:notaport/db")
        .await
        .expect_err("the port is not a number");
    assert!(
        matches!(
            error,
            StoreError::InvalidUrl {
                backend: Backend::Postgres,
                ..
            }
        ),
        "{error:?}"
    );
}
