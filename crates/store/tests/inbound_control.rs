//! What steers incoming calls while crossbar runs, in the store, specified once and run
//! against both backends: time-condition overrides, the caller blocklist and where
//! round-robin ring groups start.

#[macro_use]
mod common;

use common::TestDb;
use crossbar_config::NumberPattern;
use crossbar_store::{RoundRobinPosition, StoreError, TimeConditionOverride};

on_both_backends!(
    a_time_condition_override_is_set_replaced_and_cleared,
    an_override_without_an_author_is_rejected,
    blocked_callers_are_added_once_listed_and_removed,
    ring_group_positions_are_remembered_across_restarts,
);

/// 2026-11-21T09:00:00Z.
const NINE: i64 = 1_795_251_600_000;
const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;

async fn a_time_condition_override_is_set_replaced_and_cleared(db: TestDb) {
    let store = db.open().await;
    assert!(store.time_condition_overrides().await.unwrap().is_empty());
    let before = store
        .set_time_condition_override("office-hours", Some(false), "cli:alice", NINE)
        .await
        .unwrap();
    assert_eq!(before, None);
    store
        .set_time_condition_override("after-hours", Some(true), "token:ops", NINE + MIN)
        .await
        .unwrap();
    let closed = TimeConditionOverride {
        name: "office-hours".into(),
        open: false,
        set_at_ms: NINE,
        set_by: "cli:alice".into(),
    };
    assert_eq!(closed.forced(), "closed");
    let open = TimeConditionOverride {
        name: "after-hours".into(),
        open: true,
        set_at_ms: NINE + MIN,
        set_by: "token:ops".into(),
    };
    assert_eq!(
        store.time_condition_overrides().await.unwrap(),
        [open.clone(), closed.clone()],
        "by name"
    );

    // Forcing it open replaces the closed override, which is returned.
    let before = store
        .set_time_condition_override("office-hours", Some(true), "token:ops", NINE + HOUR)
        .await
        .unwrap();
    assert_eq!(before, Some(closed));
    let reopened = TimeConditionOverride {
        name: "office-hours".into(),
        open: true,
        set_at_ms: NINE + HOUR,
        set_by: "token:ops".into(),
    };

    // Overrides survive a restart.
    store.close().await;
    let store = db.open().await;
    assert_eq!(
        store.time_condition_overrides().await.unwrap(),
        [open.clone(), reopened.clone()]
    );

    // Back to the schedule; clearing again changes nothing.
    let before = store
        .set_time_condition_override("office-hours", None, "cli:alice", NINE + 2 * HOUR)
        .await
        .unwrap();
    assert_eq!(before, Some(reopened));
    let before = store
        .set_time_condition_override("office-hours", None, "cli:alice", NINE + 2 * HOUR)
        .await
        .unwrap();
    assert_eq!(before, None);
    assert_eq!(store.time_condition_overrides().await.unwrap(), [open]);
}

async fn an_override_without_an_author_is_rejected(db: TestDb) {
    let store = db.open().await;
    let error = store
        .set_time_condition_override("office-hours", Some(true), "", NINE)
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::Rejected { .. }), "{error:?}");
    let pattern = NumberPattern::parse("+44*").unwrap();
    let error = store
        .add_blocked_caller(&pattern, None, "", NINE)
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::Rejected { .. }), "{error:?}");
    assert!(store.time_condition_overrides().await.unwrap().is_empty());
    assert!(store.blocked_callers().await.unwrap().is_empty());
}

async fn blocked_callers_are_added_once_listed_and_removed(db: TestDb) {
    let store = db.open().await;
    let pattern = |text: &str| NumberPattern::parse(text).expect("a valid pattern");
    let nuisance = pattern("+447700900123");
    let range = pattern("+442079460010-+442079460019");
    let premium = pattern("+449*");
    assert!(
        store
            .add_blocked_caller(&nuisance, Some("calls every night"), "cli:alice", NINE)
            .await
            .unwrap()
    );
    assert!(
        store
            .add_blocked_caller(&premium, None, "token:ops", NINE + MIN)
            .await
            .unwrap()
    );
    assert!(
        store
            .add_blocked_caller(&range, Some(""), "token:ops", NINE + 2 * MIN)
            .await
            .unwrap()
    );
    // Adding a pattern again changes nothing: the first note and author stay.
    assert!(
        !store
            .add_blocked_caller(&nuisance, Some("again"), "token:ops", NINE + HOUR)
            .await
            .unwrap()
    );

    store.close().await;
    let store = db.open().await;
    let listed = store.blocked_callers().await.unwrap();
    let summary: Vec<(String, i64, &str, Option<&str>)> = listed
        .iter()
        .map(|b| {
            (
                b.pattern.to_string(),
                b.added_at_ms - NINE,
                b.added_by.as_str(),
                b.note.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                "+442079460010-+442079460019".to_owned(),
                2 * MIN,
                "token:ops",
                Some("")
            ),
            (
                "+447700900123".to_owned(),
                0,
                "cli:alice",
                Some("calls every night")
            ),
            ("+449*".to_owned(), MIN, "token:ops", None),
        ],
        "in the order of their text"
    );
    assert_eq!(listed[0].pattern, range);

    let removed = store.remove_blocked_caller(&nuisance).await.unwrap();
    assert_eq!(removed.map(|b| b.pattern), Some(nuisance.clone()));
    assert_eq!(store.remove_blocked_caller(&nuisance).await.unwrap(), None);
    let left: Vec<String> = store
        .blocked_callers()
        .await
        .unwrap()
        .iter()
        .map(|b| b.pattern.to_string())
        .collect();
    assert_eq!(left, ["+442079460010-+442079460019", "+449*"]);
}

async fn ring_group_positions_are_remembered_across_restarts(db: TestDb) {
    let store = db.open().await;
    assert!(store.round_robin_positions().await.unwrap().is_empty());
    store
        .set_round_robin_position("support", 2, NINE)
        .await
        .unwrap();
    store
        .set_round_robin_position("sales", 1, NINE)
        .await
        .unwrap();
    store
        .set_round_robin_position("support", 0, NINE + MIN)
        .await
        .unwrap();

    store.close().await;
    let store = db.open().await;
    assert_eq!(
        store.round_robin_positions().await.unwrap(),
        [
            RoundRobinPosition {
                group: "sales".into(),
                next: 1,
                updated_at_ms: NINE,
            },
            RoundRobinPosition {
                group: "support".into(),
                next: 0,
                updated_at_ms: NINE + MIN,
            },
        ]
    );
}
