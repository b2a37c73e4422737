//! Callback tasks in the store, specified once and run against both backends: opened, added
//! to and completed by the call records as they are stored, then listed, assigned,
//! cancelled, attempted and retried.

#[macro_use]
mod common;

use common::TestDb;
use common::script::{DID, Script, started, store_records};
use crossbar_cdr::callbacks::{RetrySchedule, TaskState};
use crossbar_cdr::metrics::Period;
use crossbar_cdr::metrics::queues::CallbackFacts;
use crossbar_cdr::{CallId, CallRecord, Disposition, EndReason, HangupSide, QueueOutcome};
use crossbar_store::{
    Assignee, CallChange, CallbackAttempt, CallbackFilter, CallbackMiss, CallbackSettings,
    CallbackTask, HeldPlace, Page, Store, TaskEdit,
};

on_both_backends!(
    a_missed_outside_caller_opens_one_task_and_a_second_miss_adds_to_it,
    an_answered_call_with_the_number_completes_the_task_either_direction,
    a_miss_and_its_callback_in_one_batch_open_and_complete_the_task,
    a_record_stored_again_counts_once,
    withheld_denied_and_internal_callers_open_nothing,
    with_opening_off_misses_open_nothing_and_new_tasks_go_to_assign_to,
    tasks_are_listed_by_state_and_assignee_assigned_and_cancelled,
    unanswered_attempts_follow_the_retry_schedule_until_the_task_is_unreached,
    an_answered_attempt_completes_the_task,
    the_report_reads_the_tasks_opened_in_its_period,
    a_callback_cut_off_by_a_crash_still_completes_the_task,
    a_call_placed_for_a_task_is_stored_with_it_and_counted_as_its_attempt,
    a_callback_cut_off_by_a_crash_is_still_counted_as_an_attempt_of_its_task,
    places_kept_for_callbacks_are_read_back_while_their_task_is_open,
);

/// 2026-11-21T09:00:00Z.
const NINE: i64 = 1_795_251_600_000;
const SEC: i64 = 1_000;
const MIN: i64 = 60 * SEC;
const HOUR: i64 = 60 * MIN;
const CUSTOMER: &str = "+447700900123";
const OTHER: &str = "+447700900456";

/// `caller` waits in `support` from `start` and hangs up after 40 s.
fn abandoned(id: &str, caller: &str, start: i64) -> CallRecord {
    let mut s = Script::inbound(id, caller, start);
    s.joins(0, "support", 1);
    s.caller_hangs_up(40 * SEC)
}

/// `caller` calls at `start` and 202 answers after 5 s.
fn answered_inbound(id: &str, caller: &str, start: i64) -> CallRecord {
    let mut s = Script::inbound(id, caller, start);
    s.answered(5 * SEC, "202");
    s.caller_hangs_up(MIN)
}

/// Extension 201 calls `number` at `start`; answered after 10 s, or not (no answer at 30 s).
fn callback(id: &str, number: &str, start: i64, answered: bool) -> CallRecord {
    let mut s = Script::outbound(id, "201", number, start);
    if answered {
        s.answered(10 * SEC, number);
        s.caller_hangs_up(2 * MIN)
    } else {
        s.rings_and_fails(SEC, number, 30 * SEC, 480);
        s.ends(
            30 * SEC,
            EndReason::TargetsFailed { status: 480 },
            HangupSide::System,
        )
    }
}

async fn tasks(store: &Store, filter: CallbackFilter) -> Vec<CallbackTask> {
    store
        .callback_tasks(&filter, Page::first(100))
        .await
        .expect("the tasks are readable")
}

async fn only_task(store: &Store) -> CallbackTask {
    let mut all = tasks(store, CallbackFilter::default()).await;
    assert_eq!(all.len(), 1, "{all:?}");
    all.remove(0)
}

fn open_task(id: i64, number: &str, opened_at_ms: i64, last: i64, misses: u32) -> CallbackTask {
    CallbackTask {
        id,
        number: number.into(),
        did: Some(DID.into()),
        queue: Some("support".into()),
        state: TaskState::Open,
        opened_at_ms,
        last_miss_at_ms: last,
        misses,
        assigned: None,
        attempts: 0,
        next_attempt_at_ms: None,
        closed_at_ms: None,
        completed_by_call: None,
        closed_by: None,
    }
}

async fn a_missed_outside_caller_opens_one_task_and_a_second_miss_adds_to_it(db: TestDb) {
    let store = db.open().await;
    store_records(&store, &[abandoned("m1", CUSTOMER, NINE)]).await;
    let first = only_task(&store).await;
    assert_eq!(
        first,
        open_task(first.id, CUSTOMER, NINE + 40 * SEC, NINE + 40 * SEC, 1)
    );
    // A second miss, turned away from a full queue this time, and another caller's.
    let mut s = Script::inbound("m2", CUSTOMER, NINE + 10 * MIN);
    s.leaves(0, "sales", QueueOutcome::Full);
    let full = s.ends(
        0,
        EndReason::TargetsFailed { status: 486 },
        HangupSide::System,
    );
    store_records(&store, &[full, abandoned("m3", OTHER, NINE + 11 * MIN)]).await;
    let all = tasks(&store, CallbackFilter::default()).await;
    assert_eq!(all.len(), 2);
    let second = &all[0];
    assert_eq!(second.number, OTHER, "newest first");
    assert_eq!(
        all[1],
        open_task(first.id, CUSTOMER, NINE + 40 * SEC, NINE + 10 * MIN, 2),
        "the first miss's DID and queue stay"
    );
    let detail = store.callback_task(first.id).await.unwrap().unwrap();
    assert_eq!(
        detail.misses,
        [
            CallbackMiss {
                call: CallId("m1".into()),
                at_ms: NINE + 40 * SEC,
                disposition: Disposition::Abandoned,
                did: Some(DID.into()),
                queue: Some("support".into()),
            },
            CallbackMiss {
                call: CallId("m2".into()),
                at_ms: NINE + 10 * MIN,
                disposition: Disposition::Busy,
                did: Some(DID.into()),
                queue: Some("sales".into()),
            },
        ]
    );
    assert!(detail.attempts.is_empty());
    assert_eq!(store.callback_task(first.id + 100).await.unwrap(), None);
}

async fn an_answered_call_with_the_number_completes_the_task_either_direction(db: TestDb) {
    let store = db.open().await;
    store_records(
        &store,
        &[
            abandoned("m1", CUSTOMER, NINE),
            abandoned("m2", OTHER, NINE + MIN),
        ],
    )
    .await;
    // The customer calls again and gets through: completed by the inbound call.
    store_records(&store, &[answered_inbound("in", CUSTOMER, NINE + HOUR)]).await;
    // The other is called back: an unanswered try changes nothing, an answered one completes.
    store_records(&store, &[callback("out1", OTHER, NINE + 2 * HOUR, false)]).await;
    assert_eq!(
        tasks(
            &store,
            CallbackFilter {
                state: Some(TaskState::Open),
                ..CallbackFilter::default()
            }
        )
        .await
        .len(),
        1
    );
    let record = callback("out2", OTHER, NINE + 3 * HOUR, true);
    store.call_started(&active(&record)).await.unwrap();
    store.call_finished(&record).await.unwrap();

    let done = tasks(
        &store,
        CallbackFilter {
            state: Some(TaskState::Completed),
            ..CallbackFilter::default()
        },
    )
    .await;
    let summary: Vec<(&str, Option<&str>, Option<i64>)> = done
        .iter()
        .map(|t| {
            (
                t.number.as_str(),
                t.completed_by_call.as_ref().map(|c| c.0.as_str()),
                t.closed_at_ms,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (OTHER, Some("out2"), Some(NINE + 3 * HOUR + 10 * SEC)),
            (CUSTOMER, Some("in"), Some(NINE + HOUR + 5 * SEC)),
        ]
    );
    // A new miss after completion opens a new task.
    store_records(&store, &[abandoned("m3", CUSTOMER, NINE + 4 * HOUR)]).await;
    let open = tasks(
        &store,
        CallbackFilter {
            state: Some(TaskState::Open),
            ..CallbackFilter::default()
        },
    )
    .await;
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].misses, 1);
}

fn active(record: &CallRecord) -> crossbar_store::ActiveCall {
    match started(record) {
        CallChange::Started(call) => call,
        _ => unreachable!("started() makes a Started change"),
    }
}

async fn a_miss_and_its_callback_in_one_batch_open_and_complete_the_task(db: TestDb) {
    let store = db.open().await;
    store_records(
        &store,
        &[
            abandoned("m1", CUSTOMER, NINE),
            callback("out", CUSTOMER, NINE + 5 * MIN, true),
        ],
    )
    .await;
    let task = only_task(&store).await;
    assert_eq!(task.state, TaskState::Completed);
    assert_eq!(task.completed_by_call, Some(CallId("out".into())));
}

async fn a_record_stored_again_counts_once(db: TestDb) {
    let store = db.open().await;
    let miss = abandoned("m1", CUSTOMER, NINE);
    store_records(&store, std::slice::from_ref(&miss)).await;
    store_records(&store, std::slice::from_ref(&miss)).await;
    store.call_finished(&miss).await.unwrap();
    assert_eq!(only_task(&store).await.misses, 1);
}

async fn withheld_denied_and_internal_callers_open_nothing(db: TestDb) {
    let store = db.open().await;
    let mut denied = Script::inbound("d1", CUSTOMER, NINE);
    let denied = denied.ends(
        0,
        EndReason::Denied {
            reason: "caller +447700900123 is on the blocklist".into(),
        },
        HangupSide::System,
    );
    assert_eq!(denied.disposition, Disposition::Denied);
    let mut internal = Script::outbound("i1", "201", "202", NINE);
    internal.rings_and_fails(0, "202", 20 * SEC, 480);
    let mut internal = internal.ends(20 * SEC, EndReason::RingTimeout, HangupSide::System);
    internal.direction = crossbar_cdr::Direction::Internal;
    internal.outbound = None;
    store_records(
        &store,
        &[abandoned("w1", "anonymous", NINE + MIN), denied, internal],
    )
    .await;
    assert!(tasks(&store, CallbackFilter::default()).await.is_empty());
}

async fn with_opening_off_misses_open_nothing_and_new_tasks_go_to_assign_to(db: TestDb) {
    let store = db.open().await;
    store_records(&store, &[abandoned("m1", CUSTOMER, NINE)]).await;
    let closed = store.clone().with_callbacks(CallbackSettings {
        opening: false,
        ..CallbackSettings::default()
    });
    // The open task still takes misses; a new number opens nothing.
    store_records(
        &closed,
        &[
            abandoned("m2", CUSTOMER, NINE + MIN),
            abandoned("m3", OTHER, NINE + 2 * MIN),
        ],
    )
    .await;
    assert_eq!(only_task(&store).await.misses, 2);

    let assigning = store.clone().with_callbacks(CallbackSettings {
        assign_to: Some("support".into()),
        ..CallbackSettings::default()
    });
    assert_eq!(
        assigning.callback_settings().assign_to.as_deref(),
        Some("support")
    );
    store_records(&assigning, &[abandoned("m4", OTHER, NINE + 3 * MIN)]).await;
    let assigned = tasks(
        &store,
        CallbackFilter {
            queue: Some("support".into()),
            ..CallbackFilter::default()
        },
    )
    .await;
    assert_eq!(assigned.len(), 1);
    assert_eq!(assigned[0].number, OTHER);
    assert_eq!(
        assigned[0].assigned,
        Some(Assignee::Queue("support".into()))
    );
}

async fn tasks_are_listed_by_state_and_assignee_assigned_and_cancelled(db: TestDb) {
    let store = db.open().await;
    store_records(
        &store,
        &[
            abandoned("m1", CUSTOMER, NINE),
            abandoned("m2", OTHER, NINE + MIN),
        ],
    )
    .await;
    let all = tasks(&store, CallbackFilter::default()).await;
    let (other, customer) = (all[0].id, all[1].id);
    let edit = store
        .assign_callback(customer, Some(&Assignee::Agent("201".into())))
        .await
        .unwrap();
    let TaskEdit::Done(task) = edit else {
        panic!("an open task is assigned: {edit:?}");
    };
    assert_eq!(task.assigned, Some(Assignee::Agent("201".into())));
    let of_201 = tasks(
        &store,
        CallbackFilter {
            agent: Some("201".into()),
            ..CallbackFilter::default()
        },
    )
    .await;
    assert_eq!(of_201, [task]);

    let cancelled = store
        .cancel_callback(other, "token:ops", NINE + HOUR)
        .await
        .unwrap();
    let TaskEdit::Done(cancelled) = cancelled else {
        panic!("an open task is cancelled: {cancelled:?}");
    };
    assert_eq!(
        (
            cancelled.state,
            cancelled.closed_at_ms,
            cancelled.closed_by.as_deref()
        ),
        (TaskState::Cancelled, Some(NINE + HOUR), Some("token:ops"))
    );
    // A closed task is neither assigned nor cancelled again; an unknown one is not found.
    assert!(matches!(
        store.assign_callback(other, None).await.unwrap(),
        TaskEdit::NotOpen(t) if t.assigned.is_none() && t.state == TaskState::Cancelled
    ));
    assert!(matches!(
        store.cancel_callback(other, "cli:bob", NINE + 2 * HOUR).await.unwrap(),
        TaskEdit::NotOpen(t) if t.closed_by.as_deref() == Some("token:ops")
    ));
    assert_eq!(
        store
            .cancel_callback(other + customer + 1, "cli:bob", NINE)
            .await
            .unwrap(),
        TaskEdit::NotFound
    );
    // Unassigning.
    assert!(matches!(
        store.assign_callback(customer, None).await.unwrap(),
        TaskEdit::Done(t) if t.assigned.is_none()
    ));
    let cancelled_only = tasks(
        &store,
        CallbackFilter {
            state: Some(TaskState::Cancelled),
            ..CallbackFilter::default()
        },
    )
    .await;
    assert_eq!(cancelled_only.len(), 1);
    // The next miss from the cancelled number opens a new task.
    store_records(&store, &[abandoned("m3", OTHER, NINE + 3 * HOUR)]).await;
    assert_eq!(tasks(&store, CallbackFilter::default()).await.len(), 3);
    let by_number = tasks(
        &store,
        CallbackFilter {
            number: Some(OTHER.into()),
            ..CallbackFilter::default()
        },
    )
    .await;
    assert_eq!(by_number.len(), 2);
}

fn attempt(call: &str, at_ms: i64, result: Disposition) -> CallbackAttempt {
    CallbackAttempt {
        call: CallId(call.into()),
        at_ms,
        agent: Some("201".into()),
        result,
    }
}

async fn unanswered_attempts_follow_the_retry_schedule_until_the_task_is_unreached(db: TestDb) {
    let store = db.open().await.with_callbacks(CallbackSettings {
        retry: RetrySchedule {
            waits_secs: vec![300],
            max_attempts: 3,
        },
        ..CallbackSettings::default()
    });
    store_records(&store, &[abandoned("m1", CUSTOMER, NINE)]).await;
    let id = only_task(&store).await.id;
    let at = NINE + HOUR;
    let TaskEdit::Done(task) = store
        .record_callback_attempt(id, &attempt("a1", at, Disposition::NoAnswer))
        .await
        .unwrap()
    else {
        panic!("the attempt is recorded");
    };
    assert_eq!(
        (task.state, task.attempts, task.next_attempt_at_ms),
        (TaskState::Open, 1, Some(at + 300 * SEC))
    );
    // Recording the same call again changes nothing.
    let again = store
        .record_callback_attempt(id, &attempt("a1", at, Disposition::NoAnswer))
        .await
        .unwrap();
    assert_eq!(again, TaskEdit::Done(task.clone()));
    // Due once its time has come, the longest due first.
    assert!(
        store
            .due_callbacks(at + 299 * SEC, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.due_callbacks(at + 300 * SEC, 10).await.unwrap(),
        std::slice::from_ref(&task)
    );
    // Whoever dials it claims it by moving its next attempt: once only, and it is not due
    // meanwhile.
    let due = at + 300 * SEC;
    assert!(store.postpone_callback(id, due, due + HOUR).await.unwrap());
    assert!(!store.postpone_callback(id, due, due + HOUR).await.unwrap());
    assert!(store.due_callbacks(due, 10).await.unwrap().is_empty());
    // The second unanswered attempt: past the schedule, by hand only.
    let TaskEdit::Done(task) = store
        .record_callback_attempt(id, &attempt("a2", at + 300 * SEC, Disposition::Busy))
        .await
        .unwrap()
    else {
        panic!("the attempt is recorded");
    };
    assert_eq!(
        (task.state, task.attempts, task.next_attempt_at_ms),
        (TaskState::Open, 2, None)
    );
    assert!(
        store
            .due_callbacks(at + 2 * HOUR, 10)
            .await
            .unwrap()
            .is_empty()
    );
    // The third, the last allowed: unreached.
    let TaskEdit::Done(task) = store
        .record_callback_attempt(id, &attempt("a3", at + HOUR, Disposition::NoAnswer))
        .await
        .unwrap()
    else {
        panic!("the attempt is recorded");
    };
    assert_eq!(
        (task.state, task.attempts, task.closed_at_ms),
        (TaskState::Unreached, 3, Some(at + HOUR))
    );
    let detail = store.callback_task(id).await.unwrap().unwrap();
    let calls: Vec<(&str, Disposition)> = detail
        .attempts
        .iter()
        .map(|a| (a.call.0.as_str(), a.result))
        .collect();
    assert_eq!(
        calls,
        [
            ("a1", Disposition::NoAnswer),
            ("a2", Disposition::Busy),
            ("a3", Disposition::NoAnswer)
        ]
    );
    assert_eq!(
        store
            .record_callback_attempt(id + 1, &attempt("a4", at, Disposition::NoAnswer))
            .await
            .unwrap(),
        TaskEdit::NotFound
    );
}

async fn an_answered_attempt_completes_the_task(db: TestDb) {
    let store = db.open().await;
    store_records(&store, &[abandoned("m1", CUSTOMER, NINE)]).await;
    let id = only_task(&store).await.id;
    let TaskEdit::Done(task) = store
        .record_callback_attempt(id, &attempt("out", NINE + HOUR, Disposition::Answered))
        .await
        .unwrap()
    else {
        panic!("the attempt is recorded");
    };
    assert_eq!(
        (task.state, task.attempts, task.completed_by_call),
        (TaskState::Completed, 1, Some(CallId("out".into())))
    );
    // Its call's record, stored after, changes nothing more; an attempt on a closed task is
    // counted but changes nothing else.
    store_records(&store, &[callback("out", CUSTOMER, NINE + HOUR, true)]).await;
    let TaskEdit::Done(task) = store
        .record_callback_attempt(id, &attempt("late", NINE + 2 * HOUR, Disposition::NoAnswer))
        .await
        .unwrap()
    else {
        panic!("the attempt is recorded");
    };
    assert_eq!(
        (task.state, task.attempts, task.closed_at_ms),
        (TaskState::Completed, 2, Some(NINE + HOUR))
    );
}

async fn the_report_reads_the_tasks_opened_in_its_period(db: TestDb) {
    let store = db.open().await;
    store_records(
        &store,
        &[
            abandoned("before", CUSTOMER, NINE - HOUR),
            abandoned("m1", OTHER, NINE),
            answered_inbound("in", OTHER, NINE + 30 * MIN),
            abandoned("m2", "+447700900789", NINE + 40 * MIN),
        ],
    )
    .await;
    let period = Period {
        since_ms: Some(NINE),
        until_ms: Some(NINE + HOUR),
    };
    assert_eq!(
        store.callbacks_opened(period).await.unwrap(),
        [
            CallbackFacts {
                queue: Some("support".into()),
                state: TaskState::Completed,
                opened_at_ms: NINE + 40 * SEC,
                completed_at_ms: Some(NINE + 30 * MIN + 5 * SEC),
            },
            CallbackFacts {
                queue: Some("support".into()),
                state: TaskState::Open,
                opened_at_ms: NINE + 40 * MIN + 40 * SEC,
                completed_at_ms: None,
            },
        ]
    );
    assert_eq!(store.callbacks_opened(Period::ALL).await.unwrap().len(), 3);
}

async fn a_callback_cut_off_by_a_crash_still_completes_the_task(db: TestDb) {
    let store = db.open().await;
    store_records(&store, &[abandoned("m1", CUSTOMER, NINE)]).await;
    // The customer calls again, 202 answers, and crossbar is killed during the call.
    let record = answered_inbound("c2", CUSTOMER, NINE + HOUR);
    store.call_started(&active(&record)).await.unwrap();
    store
        .call_answered(&crossbar_store::Answer::by(
            record.id.clone(),
            NINE + HOUR + 5 * SEC,
            Some("202".into()),
        ))
        .await
        .unwrap();
    let records = store.finish_interrupted(NINE + 2 * HOUR).await.unwrap();
    assert_eq!(records[0].disposition, Disposition::Answered);
    let task = only_task(&store).await;
    assert_eq!(
        (task.state, task.completed_by_call, task.closed_at_ms),
        (
            TaskState::Completed,
            Some(CallId("c2".into())),
            Some(NINE + HOUR + 5 * SEC)
        )
    );
}

async fn a_call_placed_for_a_task_is_stored_with_it_and_counted_as_its_attempt(db: TestDb) {
    let store = db.open().await;
    store_records(&store, &[abandoned("m1", CUSTOMER, NINE)]).await;
    let id = only_task(&store).await.id;

    // A callback nobody answered: an attempt, the task still open.
    let mut missed = callback("cb1", CUSTOMER, NINE + HOUR, false);
    missed.callback_task = Some(id);
    store_records(&store, &[missed]).await;
    let detail = store.callback_task(id).await.unwrap().expect("the task");
    assert_eq!(
        (detail.task.state, detail.task.attempts),
        (TaskState::Open, 1)
    );
    assert_eq!(detail.attempts[0].call, CallId("cb1".into()));
    assert_eq!(detail.attempts[0].agent.as_deref(), Some("201"));
    assert_eq!(detail.attempts[0].result, Disposition::NoAnswer);
    let stored = store
        .call(&CallId("cb1".into()))
        .await
        .unwrap()
        .expect("the record");
    assert_eq!(stored.callback_task, Some(id), "the record keeps its task");

    // The next one answered: a second attempt, which completes the task.
    let mut reached = callback("cb2", CUSTOMER, NINE + 2 * HOUR, true);
    reached.callback_task = Some(id);
    store_records(&store, &[reached]).await;
    let detail = store.callback_task(id).await.unwrap().expect("the task");
    assert_eq!(
        (
            detail.task.state,
            detail.task.attempts,
            detail.task.completed_by_call
        ),
        (TaskState::Completed, 2, Some(CallId("cb2".into())))
    );
}

async fn a_callback_cut_off_by_a_crash_is_still_counted_as_an_attempt_of_its_task(db: TestDb) {
    let store = db.open().await;
    store_records(&store, &[abandoned("m1", CUSTOMER, NINE)]).await;
    let id = only_task(&store).await.id;

    // 201 calls the customer back for the task; crossbar is killed while the customer's
    // phone rings. The call's start and its task went out in one batch, as the recorder
    // reports them.
    let record = callback("cb1", CUSTOMER, NINE + HOUR, false);
    store
        .apply_call_changes(&[
            CallChange::Started(active(&record)),
            CallChange::Callback {
                id: record.id.clone(),
                task: id,
            },
        ])
        .await
        .unwrap();
    let records = store.finish_interrupted(NINE + 2 * HOUR).await.unwrap();
    assert_eq!(records[0].callback_task, Some(id));
    assert!(records[0].interrupted);
    let detail = store.callback_task(id).await.unwrap().expect("the task");
    assert_eq!(
        (detail.task.state, detail.task.attempts),
        (TaskState::Open, 1),
        "an attempt, unanswered"
    );
    assert_eq!(detail.attempts[0].call, CallId("cb1".into()));
    let stored = store
        .call(&CallId("cb1".into()))
        .await
        .unwrap()
        .expect("the record");
    assert_eq!(stored.callback_task, Some(id), "the record keeps its task");

    // One by one, the same (a call answered for the task, then cut off: completed).
    let reached = callback("cb2", CUSTOMER, NINE + 3 * HOUR, true);
    store.call_started(&active(&reached)).await.unwrap();
    assert!(store.call_placed_for(&reached.id, id).await.unwrap());
    store
        .call_answered(&crossbar_store::Answer::by(
            reached.id.clone(),
            NINE + 3 * HOUR + 10 * SEC,
            Some(CUSTOMER.into()),
        ))
        .await
        .unwrap();
    store.finish_interrupted(NINE + 4 * HOUR).await.unwrap();
    let detail = store.callback_task(id).await.unwrap().expect("the task");
    assert_eq!(
        (
            detail.task.state,
            detail.task.attempts,
            detail.task.completed_by_call
        ),
        (TaskState::Completed, 2, Some(CallId("cb2".into())))
    );
    assert!(
        !store
            .call_placed_for(&CallId("gone".into()), id)
            .await
            .unwrap(),
        "no call in progress: nothing noted"
    );
}

fn place(call: &str, customer: &str, joined_at_ms: i64) -> HeldPlace {
    HeldPlace {
        call: CallId(call.into()),
        queue: "support".into(),
        customer: customer.into(),
        did: Some(DID.into()),
        vip: call.ends_with("vip"),
        joined_at_ms,
    }
}

async fn places_kept_for_callbacks_are_read_back_while_their_task_is_open(db: TestDb) {
    let store = db.open().await;
    // The customer's call took the callback offer: its record opens their task.
    store_records(&store, &[abandoned("m1", CUSTOMER, NINE)]).await;
    let mine = place("m1", CUSTOMER, NINE);
    store.keep_held_place(&mine).await.unwrap();
    store.keep_held_place(&mine).await.unwrap();
    // A place whose caller has no open task (its record never came, or the task is
    // settled) is not restored, and forgotten.
    store
        .keep_held_place(&place("x1-vip", OTHER, NINE - MIN))
        .await
        .unwrap();
    assert_eq!(
        store.held_places().await.unwrap(),
        std::slice::from_ref(&mine)
    );

    // A second caller, who joined earlier, comes first.
    store_records(&store, &[abandoned("m2", OTHER, NINE - HOUR)]).await;
    let theirs = place("m2-vip", OTHER, NINE - HOUR);
    store.keep_held_place(&theirs).await.unwrap();
    assert_eq!(
        store.held_places().await.unwrap(),
        [theirs.clone(), mine.clone()]
    );

    // Given up: served, or reached another way.
    assert!(store.release_held_place(&mine.call).await.unwrap());
    assert!(!store.release_held_place(&mine.call).await.unwrap());
    assert_eq!(
        store.held_places().await.unwrap(),
        std::slice::from_ref(&theirs)
    );
    // The other customer calls again and is answered: their task completes, their place
    // is not restored.
    store_records(&store, &[answered_inbound("a2", OTHER, NINE + HOUR)]).await;
    assert_eq!(store.held_places().await.unwrap(), []);
}
