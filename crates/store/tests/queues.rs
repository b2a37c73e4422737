//! Queue visits in the store, specified once and run against both backends: written with the
//! call's record, read back into `CallRecord::queues`.

#[macro_use]
mod common;

use common::TestDb;
use common::script::{Script, started, store_records};
use crossbar_cdr::metrics::Period;
use crossbar_cdr::metrics::queues::QueueCall;
use crossbar_cdr::{CallId, CallRecord, Disposition, QueueOutcome, QueueVisit, Stage};
use crossbar_store::{CallChange, CallFilter, Page, StoreError};

on_both_backends!(
    a_queued_call_keeps_its_visits_in_order,
    visits_are_written_once_however_often_the_record_is,
    a_call_finished_alone_keeps_its_visits_and_a_listing_reads_them,
    a_visit_the_database_refuses_rolls_back_its_record,
    the_queue_calls_of_a_period_are_read_as_the_report_needs_them,
);

/// 2026-11-21T09:00:00Z.
const NINE: i64 = 1_795_251_600_000;
const SEC: i64 = 1_000;
const MIN: i64 = 60 * SEC;
const CALLER: &str = "+447700900123";

/// A caller turned away from `sales` (full), who waits in `support`, is offered to 201 (no
/// answer), then to 202 who answers after 42 s in line.
fn overflowed_and_answered(id: &str, start: i64) -> CallRecord {
    let mut s = Script::inbound(id, CALLER, start);
    s.leaves(5 * SEC, "sales", QueueOutcome::Full)
        .joins(5 * SEC, "support", 3)
        .offered(20 * SEC, "support", "201")
        .offer_failed(35 * SEC)
        .offered(40 * SEC, "support", "202")
        .agent_answers(47 * SEC, "support", "202");
    s.caller_hangs_up(5 * MIN)
}

async fn a_queued_call_keeps_its_visits_in_order(db: TestDb) {
    let store = db.open().await;
    let record = overflowed_and_answered("c1", NINE);
    assert_eq!(
        record.queues,
        vec![
            QueueVisit {
                queue: "sales".into(),
                joined_at_ms: NINE + 5 * SEC,
                position: None,
                wait_ms: 0,
                offered: vec![],
                outcome: QueueOutcome::Full,
                agent: None,
            },
            QueueVisit {
                queue: "support".into(),
                joined_at_ms: NINE + 5 * SEC,
                position: Some(3),
                wait_ms: 42 * SEC,
                offered: vec!["201".into(), "202".into()],
                outcome: QueueOutcome::Answered,
                agent: Some("202".into()),
            },
        ]
    );
    // A caller who hangs up waiting: abandoned in the queue, the visit open to the end.
    let mut s = Script::inbound("c2", CALLER, NINE + MIN);
    s.joins(0, "support", 1).offered(2 * SEC, "support", "201");
    let abandoned = s.caller_hangs_up(9 * SEC);
    assert_eq!(abandoned.disposition, Disposition::Abandoned);
    assert_eq!(abandoned.abandoned_stage, Some(Stage::Queue));
    store_records(&store, &[record.clone(), abandoned.clone()]).await;

    assert_eq!(store.call(&record.id).await.unwrap(), Some(record.clone()));
    assert_eq!(
        store.call(&abandoned.id).await.unwrap(),
        Some(abandoned.clone())
    );
    store.close().await;
    let store = db.open().await;
    assert_eq!(
        store
            .calls(&CallFilter::default(), Page::default())
            .await
            .unwrap(),
        vec![abandoned, record],
        "newest first, each with its own visits"
    );
}

async fn visits_are_written_once_however_often_the_record_is(db: TestDb) {
    let store = db.open().await;
    let record = overflowed_and_answered("c1", NINE);
    store_records(&store, std::slice::from_ref(&record)).await;
    // Again in a batch, and alone: the record and its visits are left as they are.
    store_records(&store, std::slice::from_ref(&record)).await;
    store.call_finished(&record).await.unwrap();
    assert_eq!(store.call(&record.id).await.unwrap(), Some(record));
}

async fn a_call_finished_alone_keeps_its_visits_and_a_listing_reads_them(db: TestDb) {
    let store = db.open().await;
    let records: Vec<CallRecord> = (0..5)
        .map(|i| overflowed_and_answered(&format!("c{i}"), NINE + i * MIN))
        .collect();
    for record in &records {
        store.call_started(&active(record)).await.unwrap();
        store.call_finished(record).await.unwrap();
    }
    let page = store
        .calls(&CallFilter::default(), Page::first(3))
        .await
        .unwrap();
    let expected: Vec<CallRecord> = records.iter().rev().take(3).cloned().collect();
    assert_eq!(page, expected);
    assert!(page.iter().all(|r| r.queues.len() == 2));
}

fn active(record: &CallRecord) -> crossbar_store::ActiveCall {
    match started(record) {
        CallChange::Started(call) => call,
        _ => unreachable!("started() makes a Started change"),
    }
}

async fn a_visit_the_database_refuses_rolls_back_its_record(db: TestDb) {
    let store = db.open().await;
    let mut record = overflowed_and_answered("c1", NINE);
    // A queue without a name cannot be stored.
    record.queues[1].queue = String::new();
    let error = store
        .apply_call_changes(&[
            started(&record),
            CallChange::Finished(Box::new(record.clone())),
        ])
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::Rejected { .. }), "{error:?}");
    assert_eq!(store.call(&CallId("c1".into())).await.unwrap(), None);
    assert!(store.interrupted_calls().await.unwrap().is_empty());
}

async fn the_queue_calls_of_a_period_are_read_as_the_report_needs_them(db: TestDb) {
    let store = db.open().await;
    let before = overflowed_and_answered("before", NINE - 10 * MIN);
    let answered = overflowed_and_answered("c1", NINE);
    let mut s = Script::inbound("c2", CALLER, NINE + 10 * MIN);
    s.joins(0, "sales", 1);
    let abandoned = s.caller_hangs_up(4 * SEC);
    let after = overflowed_and_answered("after", NINE + 60 * MIN);
    store_records(
        &store,
        &[before, answered.clone(), abandoned.clone(), after],
    )
    .await;
    let period = Period {
        since_ms: Some(NINE),
        until_ms: Some(NINE + 60 * MIN),
    };
    let mut expected = QueueCall::from_record(&answered);
    expected.extend(QueueCall::from_record(&abandoned));
    assert_eq!(
        expected[1].talk_secs, 253,
        "answered after 47 s, ended at 5 min"
    );
    assert_eq!(store.queue_calls(period, None).await.unwrap(), expected);
    let support: Vec<QueueCall> = expected
        .iter()
        .filter(|c| c.queue == "support")
        .cloned()
        .collect();
    assert_eq!(
        store.queue_calls(period, Some("support")).await.unwrap(),
        support
    );
    assert_eq!(store.queue_calls(Period::ALL, None).await.unwrap().len(), 7);
}
