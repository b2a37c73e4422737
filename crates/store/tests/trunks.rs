//! Trunk statuses and their change log, specified once and run against both backends.

#[macro_use]
mod common;

use common::TestDb;
use crossbar_store::trunks::TRUNK_EVENTS_KEPT_DAYS;
use crossbar_store::{StoreError, TrunkEvent, TrunkStatusRow};

on_both_backends!(
    a_recorded_status_is_the_trunks_latest_and_its_change_is_logged,
    a_later_status_replaces_the_trunks_row_and_adds_to_the_log,
    an_earlier_report_never_replaces_a_later_status_but_is_logged,
    statuses_are_listed_by_trunk_name,
    events_are_listed_newest_first_for_every_trunk_or_one_up_to_a_limit,
    events_older_than_the_kept_days_are_removed_when_a_change_is_recorded,
    a_status_without_a_trunk_name_or_health_is_rejected_and_nothing_is_written,
    statuses_survive_closing_and_reopening,
);

/// 2026-11-21T09:00:00Z.
const NINE: i64 = 1_795_251_600_000;
const MINUTE: i64 = 60_000;
const DAY: i64 = 86_400_000;

fn registered(trunk: &str, at_ms: i64) -> TrunkStatusRow {
    TrunkStatusRow {
        trunk: trunk.into(),
        at_ms,
        change: "registered (for 3600 s)".into(),
        registration: Some("registered".into()),
        registered_until_ms: Some(at_ms + 3_600_000),
        health: "up".into(),
        health_since_ms: Some(at_ms - MINUTE),
        last_failure: None,
        last_failure_at_ms: None,
    }
}

fn down(trunk: &str, at_ms: i64) -> TrunkStatusRow {
    TrunkStatusRow {
        trunk: trunk.into(),
        at_ms,
        change: "down: health check failed (408)".into(),
        registration: None,
        registered_until_ms: None,
        health: "down".into(),
        health_since_ms: Some(at_ms),
        last_failure: Some("OPTIONS timed out (408)".into()),
        last_failure_at_ms: Some(at_ms),
    }
}

/// What identifies an event, without its id.
fn summary(events: &[TrunkEvent]) -> Vec<(String, i64, String, String, Option<String>)> {
    events
        .iter()
        .map(|e| {
            (
                e.trunk.clone(),
                e.at_ms,
                e.change.clone(),
                e.health.clone(),
                e.registration.clone(),
            )
        })
        .collect()
}

fn event_of(status: &TrunkStatusRow) -> (String, i64, String, String, Option<String>) {
    (
        status.trunk.clone(),
        status.at_ms,
        status.change.clone(),
        status.health.clone(),
        status.registration.clone(),
    )
}

async fn a_recorded_status_is_the_trunks_latest_and_its_change_is_logged(db: TestDb) {
    let store = db.open().await;
    assert!(store.trunk_statuses().await.expect("list").is_empty());
    assert!(store.trunk_events(None, 50).await.expect("log").is_empty());

    let status = registered("carrier-a", NINE);
    store.record_trunk_status(&status).await.expect("record");

    let statuses = store.trunk_statuses().await.expect("list");
    assert_eq!(statuses, vec![status.clone()]);
    assert!(!statuses[0].is_down());
    assert_eq!(
        summary(&store.trunk_events(None, 50).await.expect("log")),
        [event_of(&status)]
    );
}

async fn a_later_status_replaces_the_trunks_row_and_adds_to_the_log(db: TestDb) {
    let store = db.open().await;
    let first = registered("carrier-a", NINE);
    let second = down("carrier-a", NINE + MINUTE);
    store.record_trunk_status(&first).await.expect("first");
    store.record_trunk_status(&second).await.expect("second");

    let statuses = store.trunk_statuses().await.expect("list");
    assert_eq!(statuses, vec![second.clone()]);
    assert!(statuses[0].is_down());
    assert_eq!(
        summary(&store.trunk_events(None, 50).await.expect("log")),
        [event_of(&second), event_of(&first)],
        "newest first"
    );
}

async fn an_earlier_report_never_replaces_a_later_status_but_is_logged(db: TestDb) {
    // Two nodes sharing the database, or a clock stepped back: the later status stands.
    let store = db.open().await;
    let later = down("carrier-a", NINE + MINUTE);
    let earlier = registered("carrier-a", NINE);
    store.record_trunk_status(&later).await.expect("later");
    store.record_trunk_status(&earlier).await.expect("earlier");

    assert_eq!(
        store.trunk_statuses().await.expect("list"),
        vec![later.clone()]
    );
    assert_eq!(
        summary(&store.trunk_events(None, 50).await.expect("log")),
        [event_of(&later), event_of(&earlier)]
    );

    // A report at the same time as the stored one replaces it (the writer's order stands).
    let same_time = TrunkStatusRow {
        change: "up: answering OPTIONS again".into(),
        health: "up".into(),
        ..later.clone()
    };
    store
        .record_trunk_status(&same_time)
        .await
        .expect("same time");
    assert_eq!(store.trunk_statuses().await.expect("list"), [same_time]);
}

async fn statuses_are_listed_by_trunk_name(db: TestDb) {
    let store = db.open().await;
    for status in [
        registered("carrier-b", NINE),
        down("carrier-a", NINE + MINUTE),
        registered("backup", NINE + 2 * MINUTE),
    ] {
        store.record_trunk_status(&status).await.expect("record");
    }
    let names: Vec<String> = store
        .trunk_statuses()
        .await
        .expect("list")
        .into_iter()
        .map(|s| s.trunk)
        .collect();
    assert_eq!(names, ["backup", "carrier-a", "carrier-b"]);
}

async fn events_are_listed_newest_first_for_every_trunk_or_one_up_to_a_limit(db: TestDb) {
    let store = db.open().await;
    let changes = [
        registered("carrier-a", NINE),
        registered("carrier-b", NINE + MINUTE),
        down("carrier-a", NINE + 2 * MINUTE),
        down("carrier-b", NINE + 3 * MINUTE),
        registered("carrier-a", NINE + 4 * MINUTE),
    ];
    for status in &changes {
        store.record_trunk_status(status).await.expect("record");
    }

    assert_eq!(
        summary(&store.trunk_events(None, 3).await.expect("log")),
        [
            event_of(&changes[4]),
            event_of(&changes[3]),
            event_of(&changes[2])
        ]
    );
    assert_eq!(
        summary(
            &store
                .trunk_events(Some("carrier-a"), 50)
                .await
                .expect("log")
        ),
        [
            event_of(&changes[4]),
            event_of(&changes[2]),
            event_of(&changes[0])
        ]
    );
    assert_eq!(
        summary(&store.trunk_events(Some("carrier-b"), 1).await.expect("log")),
        [event_of(&changes[3])]
    );
    assert!(
        store
            .trunk_events(Some("nowhere"), 50)
            .await
            .expect("log")
            .is_empty()
    );
    assert!(store.trunk_events(None, 0).await.expect("log").is_empty());

    // Events of the same time keep the order they were recorded in.
    let all = store.trunk_events(None, 50).await.expect("log");
    assert!(all.windows(2).all(|w| w[0].id > w[1].id), "{all:?}");
}

async fn events_older_than_the_kept_days_are_removed_when_a_change_is_recorded(db: TestDb) {
    let store = db.open().await;
    let kept = TRUNK_EVENTS_KEPT_DAYS * DAY;
    let old = registered("carrier-a", NINE);
    let old_b = down("carrier-b", NINE + MINUTE);
    store.record_trunk_status(&old).await.expect("old");
    store.record_trunk_status(&old_b).await.expect("old b");

    // Exactly the kept days later: the oldest is still within the kept period.
    let edge = down("carrier-a", NINE + kept);
    store.record_trunk_status(&edge).await.expect("edge");
    assert_eq!(store.trunk_events(None, 50).await.expect("log").len(), 3);

    // A change one minute and a millisecond later removes the events before its cut-off,
    // of every trunk.
    let later = registered("carrier-a", NINE + kept + MINUTE + 1);
    store.record_trunk_status(&later).await.expect("later");
    assert_eq!(
        summary(&store.trunk_events(None, 50).await.expect("log")),
        [event_of(&later), event_of(&edge)]
    );
    // The statuses are kept whatever their age.
    let statuses = store.trunk_statuses().await.expect("list");
    assert_eq!(statuses, [later, old_b]);
}

async fn a_status_without_a_trunk_name_or_health_is_rejected_and_nothing_is_written(db: TestDb) {
    let store = db.open().await;
    for status in [
        TrunkStatusRow {
            trunk: String::new(),
            ..registered("carrier-a", NINE)
        },
        TrunkStatusRow {
            health: String::new(),
            ..registered("carrier-a", NINE)
        },
    ] {
        let error = store
            .record_trunk_status(&status)
            .await
            .expect_err("refused");
        assert!(
            matches!(error, StoreError::Rejected { .. }),
            "a constraint, not a failure to retry: {error:?}"
        );
    }
    assert!(store.trunk_statuses().await.expect("list").is_empty());
    assert!(store.trunk_events(None, 50).await.expect("log").is_empty());
}

async fn statuses_survive_closing_and_reopening(db: TestDb) {
    let store = db.open().await;
    let status = down("carrier-a", NINE);
    store.record_trunk_status(&status).await.expect("record");
    store.close().await;

    let store = db.open().await;
    assert_eq!(
        store.trunk_statuses().await.expect("list"),
        vec![status.clone()]
    );
    assert_eq!(
        summary(&store.trunk_events(None, 50).await.expect("log")),
        [event_of(&status)]
    );
}
