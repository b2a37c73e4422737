//! Extension blocks and alerts, specified once and run against both backends.

#[macro_use]
mod common;

use common::TestDb;
use crossbar_store::{Alert, AlertKind, Block, StoreError};

on_both_backends!(
    blocking_an_extension_puts_one_block_in_force,
    blocking_a_blocked_extension_changes_nothing,
    of_blocks_written_at_once_exactly_one_takes_effect,
    unblocking_releases_the_block_and_keeps_it_as_history,
    unblocking_an_extension_that_is_not_blocked_changes_nothing,
    a_released_extension_can_be_blocked_again,
    a_release_is_never_recorded_before_its_block,
    blocks_survive_closing_and_reopening,
    an_empty_reason_is_rejected,
    alerts_are_listed_newest_first_since_a_time_up_to_a_limit,
    an_alert_is_acknowledged_once,
    an_alert_of_a_kind_this_binary_does_not_know_is_an_error,
);

/// 2026-11-21T09:00:00Z.
const NINE: i64 = 1_795_251_600_000;
const MINUTE: i64 = 60_000;

fn in_force(extension: &str, blocked_at_ms: i64, reason: &str) -> (String, i64, String) {
    (extension.into(), blocked_at_ms, reason.into())
}

/// What identifies a block in force, without its id.
fn summary(blocks: &[Block]) -> Vec<(String, i64, String)> {
    blocks
        .iter()
        .map(|b| {
            assert!(b.in_force(), "{b:?}");
            (b.extension.clone(), b.blocked_at_ms, b.reason.clone())
        })
        .collect()
}

async fn blocking_an_extension_puts_one_block_in_force(db: TestDb) {
    let store = db.open().await;
    assert!(store.blocked_extensions().await.expect("list").is_empty());
    assert!(
        store
            .block_extension("202", "31 calls in a minute (cap 30)", NINE)
            .await
            .expect("block 202")
    );
    assert!(
        store
            .block_extension("201", "spent 20.40 today (cap 20.00)", NINE + MINUTE)
            .await
            .expect("block 201")
    );
    assert_eq!(
        summary(&store.blocked_extensions().await.expect("list")),
        [
            in_force("201", NINE + MINUTE, "spent 20.40 today (cap 20.00)"),
            in_force("202", NINE, "31 calls in a minute (cap 30)"),
        ],
        "listed by extension number"
    );
}

async fn blocking_a_blocked_extension_changes_nothing(db: TestDb) {
    let store = db.open().await;
    assert!(
        store
            .block_extension("201", "first", NINE)
            .await
            .expect("block")
    );
    assert!(
        !store
            .block_extension("201", "second", NINE + MINUTE)
            .await
            .expect("block again")
    );
    assert_eq!(
        summary(&store.blocked_extensions().await.expect("list")),
        [in_force("201", NINE, "first")]
    );
    assert_eq!(store.blocks(Some("201")).await.expect("history").len(), 1);
}

async fn of_blocks_written_at_once_exactly_one_takes_effect(db: TestDb) {
    // Two nodes sharing the database (or two caps tripping together) block 201 at once.
    let store = db.open().await;
    let attempts = (0..8).map(|i| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .block_extension("201", &format!("cap {i}"), NINE + i)
                .await
        })
    });
    let mut took_effect = 0;
    for attempt in attempts {
        if attempt.await.expect("the task ends").expect("block") {
            took_effect += 1;
        }
    }
    assert_eq!(took_effect, 1);
    assert_eq!(store.blocked_extensions().await.expect("list").len(), 1);
    assert_eq!(store.blocks(None).await.expect("history").len(), 1);
}

async fn unblocking_releases_the_block_and_keeps_it_as_history(db: TestDb) {
    let store = db.open().await;
    store
        .block_extension("201", "cap", NINE)
        .await
        .expect("block 201");
    store
        .block_extension("202", "cap", NINE)
        .await
        .expect("block 202");
    let blocked = store.blocked_extensions().await.expect("list");

    let released = store
        .unblock_extension("201", "token:ops", NINE + 5 * MINUTE)
        .await
        .expect("unblock")
        .expect("201 was blocked");
    assert_eq!(
        released,
        Block {
            released_at_ms: Some(NINE + 5 * MINUTE),
            released_by: Some("token:ops".into()),
            ..blocked[0].clone()
        }
    );
    assert!(!released.in_force());
    assert_eq!(
        summary(&store.blocked_extensions().await.expect("list")),
        [in_force("202", NINE, "cap")]
    );
    assert_eq!(
        store.blocks(Some("201")).await.expect("history"),
        [released]
    );
}

async fn unblocking_an_extension_that_is_not_blocked_changes_nothing(db: TestDb) {
    let store = db.open().await;
    assert_eq!(
        store
            .unblock_extension("201", "cli:root", NINE)
            .await
            .expect("unblock"),
        None
    );
    store
        .block_extension("201", "cap", NINE)
        .await
        .expect("block");
    store
        .unblock_extension("201", "cli:root", NINE + MINUTE)
        .await
        .expect("unblock")
        .expect("blocked");
    assert_eq!(
        store
            .unblock_extension("201", "cli:someone-else", NINE + 2 * MINUTE)
            .await
            .expect("unblock again"),
        None
    );
    let history = store.blocks(Some("201")).await.expect("history");
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].released_by.as_deref(), Some("cli:root"));
    assert_eq!(history[0].released_at_ms, Some(NINE + MINUTE));
}

async fn a_released_extension_can_be_blocked_again(db: TestDb) {
    let store = db.open().await;
    store
        .block_extension("201", "first", NINE)
        .await
        .expect("block");
    store
        .unblock_extension("201", "cli:root", NINE + MINUTE)
        .await
        .expect("unblock")
        .expect("blocked");
    assert!(
        store
            .block_extension("201", "second", NINE + 2 * MINUTE)
            .await
            .expect("block again")
    );
    store
        .block_extension("202", "other", NINE + 3 * MINUTE)
        .await
        .expect("block 202");
    assert_eq!(
        summary(&store.blocked_extensions().await.expect("list")),
        [
            in_force("201", NINE + 2 * MINUTE, "second"),
            in_force("202", NINE + 3 * MINUTE, "other"),
        ]
    );
    let history: Vec<(String, String, bool)> = store
        .blocks(Some("201"))
        .await
        .expect("history")
        .into_iter()
        .map(|b| (b.extension.clone(), b.reason.clone(), b.in_force()))
        .collect();
    assert_eq!(
        history,
        [
            ("201".into(), "second".into(), true),
            ("201".into(), "first".into(), false),
        ],
        "newest first"
    );
    let everyone: Vec<String> = store
        .blocks(None)
        .await
        .expect("all history")
        .into_iter()
        .map(|b| b.reason)
        .collect();
    assert_eq!(everyone, ["other", "second", "first"]);
}

async fn a_release_is_never_recorded_before_its_block(db: TestDb) {
    let store = db.open().await;
    store
        .block_extension("201", "cap", NINE)
        .await
        .expect("block");
    // Another node, its clock a minute behind, releases it.
    let released = store
        .unblock_extension("201", "token:ops", NINE - MINUTE)
        .await
        .expect("unblock")
        .expect("blocked");
    assert_eq!(released.released_at_ms, Some(NINE));
}

async fn blocks_survive_closing_and_reopening(db: TestDb) {
    let store = db.open().await;
    store
        .block_extension("201", "cap", NINE)
        .await
        .expect("block");
    let blocked = store.blocked_extensions().await.expect("list");
    store.close().await;
    let reopened = db.open().await;
    assert_eq!(reopened.blocked_extensions().await.expect("list"), blocked);
}

async fn an_empty_reason_is_rejected(db: TestDb) {
    let store = db.open().await;
    let error = store
        .block_extension("201", "", NINE)
        .await
        .expect_err("a block says why");
    assert!(matches!(error, StoreError::Rejected { .. }), "{error:?}");
    let error = store
        .block_extension("", "cap", NINE)
        .await
        .expect_err("a block names an extension");
    assert!(matches!(error, StoreError::Rejected { .. }), "{error:?}");
    assert!(store.blocks(None).await.expect("history").is_empty());
}

async fn alerts_are_listed_newest_first_since_a_time_up_to_a_limit(db: TestDb) {
    let store = db.open().await;
    let first = store
        .raise_alert(
            AlertKind::FraudCap,
            "extension:201",
            "31 calls in a minute",
            NINE,
        )
        .await
        .expect("raise");
    let second = store
        .raise_alert(
            AlertKind::TrunkDown,
            "trunk:carrier-a",
            "no answer to OPTIONS",
            NINE + MINUTE,
        )
        .await
        .expect("raise");
    // Raised in the same millisecond as the second: the later id comes first.
    let third = store
        .raise_alert(
            AlertKind::FraudCap,
            "extension:202",
            "spent 20.40 today",
            NINE + MINUTE,
        )
        .await
        .expect("raise");
    assert!(first < second && second < third, "{first} {second} {third}");

    let all = store.alerts(None, 50).await.expect("list");
    assert_eq!(
        all.iter().map(|a| a.id).collect::<Vec<_>>(),
        [third, second, first]
    );
    assert_eq!(
        all[2],
        Alert {
            id: first,
            raised_at_ms: NINE,
            kind: AlertKind::FraudCap,
            subject: "extension:201".into(),
            message: "31 calls in a minute".into(),
            acknowledged_at_ms: None,
            acknowledged_by: None,
        }
    );
    let since: Vec<i64> = store
        .alerts(Some(NINE + MINUTE), 50)
        .await
        .expect("since")
        .iter()
        .map(|a| a.id)
        .collect();
    assert_eq!(since, [third, second]);
    let limited: Vec<i64> = store
        .alerts(None, 1)
        .await
        .expect("limit")
        .iter()
        .map(|a| a.id)
        .collect();
    assert_eq!(limited, [third]);
    assert!(store.alerts(None, 0).await.expect("limit 0").is_empty());
    assert!(
        store
            .alerts(Some(NINE + 2 * MINUTE), 50)
            .await
            .expect("none since")
            .is_empty()
    );
}

async fn an_alert_is_acknowledged_once(db: TestDb) {
    let store = db.open().await;
    let id = store
        .raise_alert(AlertKind::FraudCap, "extension:201", "cap", NINE)
        .await
        .expect("raise");
    assert!(
        store
            .acknowledge_alert(id, "token:ops", NINE + MINUTE)
            .await
            .expect("acknowledge")
    );
    assert!(
        !store
            .acknowledge_alert(id, "cli:root", NINE + 2 * MINUTE)
            .await
            .expect("acknowledge again")
    );
    assert!(
        !store
            .acknowledge_alert(id + 1, "cli:root", NINE)
            .await
            .expect("no such alert")
    );
    let alert = &store.alerts(None, 10).await.expect("list")[0];
    assert_eq!(alert.acknowledged_at_ms, Some(NINE + MINUTE));
    assert_eq!(alert.acknowledged_by.as_deref(), Some("token:ops"));
}

async fn an_alert_of_a_kind_this_binary_does_not_know_is_an_error(db: TestDb) {
    let store = db.open().await;
    store
        .raise_alert(AlertKind::FraudCap, "extension:201", "cap", NINE)
        .await
        .expect("raise");
    // A newer binary sharing the database raised a kind this one cannot name.
    let url = db.url.clone();
    match db.backend {
        crossbar_store::Backend::Sqlite => {
            use sqlx::Connection;
            let mut conn = sqlx::SqliteConnection::connect(&url)
                .await
                .expect("connect");
            sqlx::query("UPDATE alerts SET kind = 'disk_full'")
                .execute(&mut conn)
                .await
                .expect("update");
        }
        crossbar_store::Backend::Postgres => {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(&url).await.expect("connect");
            sqlx::query("UPDATE alerts SET kind = 'disk_full'")
                .execute(&mut conn)
                .await
                .expect("update");
        }
    }
    let error = store.alerts(None, 10).await.expect_err("an unknown kind");
    assert!(error.to_string().contains("kind = disk_full"), "{error}");
}
