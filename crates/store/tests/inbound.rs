//! Inbound call records in the store, specified once and run against both backends: where a
//! call came in, its route path and stage, and what the inbound report reads of them.

#[macro_use]
mod common;

use common::TestDb;
use crossbar_cdr::metrics::Period;
use crossbar_cdr::metrics::inbound::InboundCall;
use crossbar_cdr::{
    CallEvent, CallId, CallRecord, Direction, Disposition, EndReason, EventKind, HangupSide,
    Inbound, LegId, LegRole, Party, PathStep, Recorder, RecorderOutput, Stage, StepKind,
};
use crossbar_store::{ActiveCall, CallChange, CallFilter, Page, Store};

on_both_backends!(
    an_inbound_record_keeps_where_it_came_in_and_its_path,
    a_call_abandoned_in_the_menu_keeps_its_stage,
    the_received_calls_of_a_period_are_read_as_the_metrics_need_them,
);

/// 2026-11-21T09:00:00Z.
const NINE: i64 = 1_795_251_600_000;
const SEC: i64 = 1_000;
const MIN: i64 = 60 * SEC;
const HOUR: i64 = 60 * MIN;
const DID: &str = "+442079460000";

/// The events of one call, folded into its record.
struct Script {
    id: CallId,
    start: i64,
    events: Vec<CallEvent>,
}

impl Script {
    fn new(id: &str, direction: Direction, start: i64) -> Script {
        let mut script = Script {
            id: CallId(id.into()),
            start,
            events: Vec::new(),
        };
        script.at(
            0,
            EventKind::Started {
                direction,
                caller: Party {
                    number: "+447700900123".into(),
                    name: Some("A caller".into()),
                },
                callee: Party {
                    number: DID.into(),
                    name: None,
                },
                sip_call_id: format!("sip-{id}"),
            },
        );
        script
    }

    /// An inbound call from `carrier-a` to [`DID`], taken by route `main`.
    fn from_trunk(id: &str, start: i64) -> Script {
        let mut script = Script::new(id, Direction::Inbound, start);
        script.at(
            0,
            EventKind::Inbound {
                trunk: "carrier-a".into(),
                did: DID.into(),
                route: Some("main".into()),
                vip: false,
                language: None,
            },
        );
        script
    }

    fn at(&mut self, ms: i64, kind: EventKind) -> &mut Script {
        self.events.push(CallEvent {
            call: self.id.clone(),
            at_ms: self.start + ms,
            kind,
        });
        self
    }

    fn step(&mut self, ms: i64, kind: StepKind, name: &str, result: &str) -> &mut Script {
        self.at(
            ms,
            EventKind::Step {
                kind,
                name: name.into(),
                result: result.into(),
            },
        )
    }

    /// Extension `target` answers at `ms`.
    fn answered(&mut self, ms: i64, target: &str) -> &mut Script {
        self.at(
            ms,
            EventKind::LegCreated {
                leg: LegId(1),
                role: LegRole::Callee,
                target: target.into(),
                contact: None,
                trunk: None,
                rate: None,
            },
        )
        .at(ms, EventKind::Answered { leg: LegId(1) })
    }

    /// The call ends at `ms`: hung up if answered, else given up by the caller.
    fn ended(&mut self, ms: i64, answered: bool) -> CallRecord {
        let reason = if answered {
            EndReason::Hangup
        } else {
            EndReason::CallerGaveUp
        };
        self.at(
            ms,
            EventKind::Ended {
                reason,
                hangup_by: HangupSide::Caller,
                status: None,
            },
        );
        let mut recorder = Recorder::default();
        self.events
            .drain(..)
            .find_map(|e| match recorder.record(e) {
                Some(RecorderOutput::Finished(record)) => Some(*record),
                _ => None,
            })
            .expect("a Started ... Ended script finishes its record")
    }
}

/// Stores `records` as a batch of whole calls (each started, then finished).
async fn store_records(store: &Store, records: &[CallRecord]) {
    let changes: Vec<CallChange> = records
        .iter()
        .flat_map(|r| {
            let started = CallChange::Started(ActiveCall {
                id: r.id.clone(),
                sip_call_id: r.sip_call_id.clone(),
                direction: r.direction,
                caller: r.caller.clone(),
                callee: r.callee.clone(),
                started_at_ms: r.started_at_ms,
                answered_at_ms: None,
                answered_by: None,
                trunk: None,
                rate: None,
                outbound: None,
                last_seen_at_ms: r.started_at_ms,
                callback_task: None,
            });
            [started, CallChange::Finished(Box::new(r.clone()))]
        })
        .collect();
    store
        .apply_call_changes(&changes)
        .await
        .expect("store the calls");
}

async fn an_inbound_record_keeps_where_it_came_in_and_its_path(db: TestDb) {
    let store = db.open().await;
    let mut script = Script::new("c1", Direction::Inbound, NINE);
    script
        .at(
            0,
            EventKind::Inbound {
                trunk: "carrier-a".into(),
                did: DID.into(),
                route: Some("vip-callers".into()),
                vip: true,
                language: Some("fr".into()),
            },
        )
        .step(0, StepKind::Route, "vip-callers", "caller +447700900123")
        .step(0, StepKind::TimeCondition, "office-hours", "open")
        .step(10, StepKind::Ivr, "main", "entered")
        .at(10, EventKind::Stage { stage: Stage::Ivr })
        .step(4 * SEC, StepKind::Digit, "main", "1 → group:sales")
        .step(4 * SEC, StepKind::Group, "sales", "ringing 201, 202")
        .at(
            4 * SEC,
            EventKind::Stage {
                stage: Stage::Ringing,
            },
        )
        .step(
            24 * SEC,
            StepKind::Escalation,
            "sales",
            "no answer → group:support",
        )
        .step(24 * SEC, StepKind::Group, "support", "ringing 205")
        .answered(30 * SEC, "205");
    let record = script.ended(90 * SEC, true);
    assert_eq!(
        record.inbound,
        Some(Inbound {
            trunk: "carrier-a".into(),
            did: DID.into(),
            route: Some("vip-callers".into()),
            vip: true,
            language: Some("fr".into()),
        })
    );
    assert_eq!(record.path.len(), 7);
    assert_eq!(
        record.path[6],
        PathStep {
            at_ms: NINE + 24 * SEC,
            kind: StepKind::Group,
            name: "support".into(),
            result: "ringing 205".into(),
        }
    );
    store_records(&store, std::slice::from_ref(&record)).await;

    assert_eq!(store.call(&record.id).await.unwrap(), Some(record.clone()));
    assert_eq!(
        store
            .calls(&CallFilter::default(), Page::default())
            .await
            .unwrap(),
        vec![record.clone()]
    );
    // The report reads the group the call reached last.
    let calls = store.inbound_calls(Period::ALL, false).await.unwrap();
    assert_eq!(
        calls,
        vec![InboundCall {
            started_at_ms: NINE,
            answered_at_ms: Some(NINE + 30 * SEC),
            ended_at_ms: NINE + 90 * SEC,
            disposition: Disposition::Answered,
            abandoned_stage: None,
            queue_wait_secs: 0,
            did: Some(DID.into()),
            route: Some("vip-callers".into()),
            group: Some("support".into()),
        }]
    );

    store.close().await;
    let store = db.open().await;
    assert_eq!(store.call(&record.id).await.unwrap(), Some(record));
}

async fn a_call_abandoned_in_the_menu_keeps_its_stage(db: TestDb) {
    let store = db.open().await;
    let mut script = Script::from_trunk("c1", NINE);
    script
        .step(0, StepKind::Ivr, "main", "entered")
        .at(0, EventKind::Stage { stage: Stage::Ivr });
    let abandoned = script.ended(40 * SEC, false);
    assert_eq!(abandoned.disposition, Disposition::Abandoned);
    assert_eq!(abandoned.abandoned_stage, Some(Stage::Ivr));
    // Hanging up while a phone rings is cancelled, with no stage.
    let mut script = Script::from_trunk("c2", NINE + MIN);
    script.step(0, StepKind::Group, "sales", "ringing 201").at(
        0,
        EventKind::Stage {
            stage: Stage::Ringing,
        },
    );
    let cancelled = script.ended(3 * SEC, false);
    assert_eq!(cancelled.disposition, Disposition::Cancelled);
    store_records(&store, &[abandoned.clone(), cancelled.clone()]).await;

    assert_eq!(
        store.call(&abandoned.id).await.unwrap(),
        Some(abandoned.clone())
    );
    assert_eq!(
        store.call(&cancelled.id).await.unwrap(),
        Some(cancelled.clone())
    );
    let calls = store.inbound_calls(Period::ALL, false).await.unwrap();
    let read: Vec<(Disposition, Option<Stage>, Option<&str>)> = calls
        .iter()
        .map(|c| (c.disposition, c.abandoned_stage, c.group.as_deref()))
        .collect();
    assert_eq!(
        read,
        [
            (Disposition::Abandoned, Some(Stage::Ivr), None),
            (Disposition::Cancelled, None, Some("sales")),
        ]
    );
    let abandoned_only = CallFilter {
        disposition: Some(Disposition::Abandoned),
        ..CallFilter::default()
    };
    assert_eq!(
        store.calls(&abandoned_only, Page::default()).await.unwrap(),
        vec![abandoned]
    );
}

async fn the_received_calls_of_a_period_are_read_as_the_metrics_need_them(db: TestDb) {
    let store = db.open().await;
    // The period: 09:00 to 10:00.
    let period = Period {
        since_ms: Some(NINE),
        until_ms: Some(NINE + HOUR),
    };
    let answered = |id: &str, start: i64, lasted: i64| {
        let mut script = Script::from_trunk(id, start);
        script.answered(5 * SEC, "201");
        script.ended(lasted, true)
    };
    let internal = {
        let mut script = Script::new("internal", Direction::Internal, NINE + 10 * MIN);
        script.answered(2 * SEC, "202");
        script.ended(MIN, true)
    };
    let outbound = {
        let mut script = Script::new("outbound", Direction::Outbound, NINE + 20 * MIN);
        script.answered(2 * SEC, "+441632960001");
        script.ended(MIN, true)
    };
    let records = [
        // Started in the period.
        answered("in", NINE + 5 * MIN, MIN),
        internal,
        outbound,
        // Up when the period began: read for concurrency.
        answered("carried", NINE - 30 * MIN, 40 * MIN),
        // Ended before the period began, or when it began: not read.
        answered("before", NINE - 30 * MIN, 10 * MIN),
        answered("ended-at-nine", NINE - 30 * MIN, 30 * MIN),
        // Up when the period began, but started more than a day before: not read.
        answered("long-ago", NINE - 25 * HOUR, 26 * HOUR),
        // Started when the period ended: not read.
        answered("after", NINE + HOUR, MIN),
    ];
    store_records(&store, &records).await;

    let starts = |calls: &[InboundCall]| -> Vec<i64> {
        calls.iter().map(|c| c.started_at_ms - NINE).collect()
    };
    let from_trunks = store.inbound_calls(period, false).await.unwrap();
    assert_eq!(starts(&from_trunks), [-30 * MIN, 5 * MIN], "oldest first");
    let received = store.inbound_calls(period, true).await.unwrap();
    assert_eq!(starts(&received), [-30 * MIN, 5 * MIN, 10 * MIN]);
    assert_eq!(received[2].did, None, "an internal call has no DID");
    // Without a start, every call before the end is read (nothing is carried in).
    let before_ten = Period {
        since_ms: None,
        until_ms: Some(NINE + HOUR),
    };
    let all = store.inbound_calls(before_ten, false).await.unwrap();
    assert_eq!(all.len(), 5);
}
