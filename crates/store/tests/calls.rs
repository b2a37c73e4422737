//! Call records in the store, specified once and run against both backends: a temporary
//! SQLite file and a real PostgreSQL server (see `crossbar_store::testing`).

use crossbar_cdr::{
    CallEvent, CallId, CallRecord, DestinationClass, Direction, Disposition, EndReason, EventKind,
    HangupSide, Increment, LegId, LegRole, Money, Party, Rate, Recorder, RecorderOutput,
};
#[macro_use]
mod common;

use common::TestDb;
use crossbar_cdr::metrics::Period;
use crossbar_cdr::metrics::outbound::{self, GroupBy};
use crossbar_store::{
    ActiveCall, Answer, CallChange, CallFilter, Page, Store, StoreError, TrunkLegs,
};

on_both_backends!(
    a_finished_call_is_stored_whole_and_leaves_the_calls_in_progress,
    storing_the_same_record_twice_keeps_one,
    call_answered_updates_only_a_call_in_progress,
    touch_moves_last_seen_forward_only,
    finish_interrupted_turns_every_call_in_progress_into_a_record,
    filters_select_by_extension_direction_disposition_and_time,
    listings_are_newest_first_and_paged,
    a_batch_of_whole_calls_leaves_their_records_and_no_calls_in_progress,
    a_batch_of_started_and_answered_calls_leaves_them_in_progress,
    an_answer_after_the_call_finished_in_the_same_batch_changes_nothing,
    applying_the_same_batch_again_changes_nothing,
    an_empty_batch_changes_nothing,
    a_rejected_change_rolls_back_the_whole_batch,
    a_large_batch_writes_the_same_as_its_changes_one_by_one,
    an_outbound_record_keeps_every_outbound_field,
    filters_select_outbound_calls_by_trunk_and_class,
    an_outbound_call_cut_off_by_a_crash_gets_its_talk_time_and_cost,
    the_outbound_calls_of_a_period_are_read_as_the_metrics_need_them,
);

const T0: i64 = 1_795_000_000_000;

/// The events of one call, folded into its record.
struct Call {
    id: String,
    direction: Direction,
    caller: String,
    callee: String,
    start_ms: i64,
    /// `Some((after_ms, leg target))`: answered by that target.
    answered: Option<(i64, String)>,
    end_after_ms: i64,
    reason: EndReason,
    status: Option<u16>,
}

impl Call {
    fn new(id: &str, caller: &str, callee: &str, start_ms: i64) -> Call {
        Call {
            id: id.into(),
            direction: Direction::Internal,
            caller: caller.into(),
            callee: callee.into(),
            start_ms,
            answered: None,
            end_after_ms: 10_000,
            reason: EndReason::CallerGaveUp,
            status: Some(487),
        }
    }

    fn direction(mut self, direction: Direction) -> Call {
        self.direction = direction;
        self
    }

    fn answered_by(mut self, target: &str) -> Call {
        self.answered = Some((3_000, target.into()));
        self.reason = EndReason::Hangup;
        self.status = None;
        self
    }

    fn ended(mut self, reason: EndReason, status: Option<u16>) -> Call {
        self.reason = reason;
        self.status = status;
        self
    }

    fn active(&self) -> ActiveCall {
        ActiveCall {
            id: CallId(self.id.clone()),
            sip_call_id: format!("sip-{}", self.id),
            direction: self.direction,
            caller: Party {
                number: self.caller.clone(),
                name: Some(format!("Caller {}", self.caller)),
            },
            callee: Party {
                number: self.callee.clone(),
                name: None,
            },
            started_at_ms: self.start_ms,
            answered_at_ms: None,
            answered_by: None,
            trunk: None,
            rate: None,
            outbound: None,
            last_seen_at_ms: self.start_ms,
            callback_task: None,
        }
    }

    fn record(&self) -> CallRecord {
        let call = CallId(self.id.clone());
        let at = |ms: i64, kind: EventKind| CallEvent {
            call: call.clone(),
            at_ms: self.start_ms + ms,
            kind,
        };
        let active = self.active();
        let target = self
            .answered
            .as_ref()
            .map_or(self.callee.clone(), |(_, t)| t.clone());
        let mut events = vec![
            at(
                0,
                EventKind::Started {
                    direction: self.direction,
                    caller: active.caller,
                    callee: active.callee,
                    sip_call_id: active.sip_call_id,
                },
            ),
            at(
                0,
                EventKind::LegCreated {
                    leg: LegId(0),
                    role: LegRole::Caller,
                    target: self.caller.clone(),
                    contact: None,
                    trunk: None,
                    rate: None,
                },
            ),
            at(
                10,
                EventKind::LegCreated {
                    leg: LegId(1),
                    role: LegRole::Callee,
                    target,
                    contact: Some("sip:x@192.0.2.7:5060".into()),
                    trunk: None,
                    rate: None,
                },
            ),
            at(
                500,
                EventKind::Ringing {
                    leg: LegId(1),
                    early_media: false,
                },
            ),
        ];
        if let Some((after, _)) = &self.answered {
            events.push(at(*after, EventKind::Answered { leg: LegId(1) }));
            events.push(at(5_000, EventKind::Hold { leg: LegId(1) }));
            events.push(at(7_000, EventKind::Resume { leg: LegId(1) }));
        }
        events.push(at(
            self.end_after_ms,
            EventKind::Ended {
                reason: self.reason.clone(),
                hangup_by: HangupSide::Caller,
                status: self.status,
            },
        ));
        let mut recorder = Recorder::default();
        events
            .into_iter()
            .find_map(|e| match recorder.record(e) {
                Some(RecorderOutput::Finished(record)) => Some(*record),
                _ => None,
            })
            .expect("the scripted call ends")
    }
}

/// What a batch writes for `call`, step by step.
impl Call {
    fn started(&self) -> CallChange {
        CallChange::Started(self.active())
    }

    fn answer(&self) -> CallChange {
        let (after, target) = self.answered.clone().expect("an answered call");
        CallChange::Answered(Answer::by(
            CallId(self.id.clone()),
            self.start_ms + after,
            Some(target),
        ))
    }

    fn finished(&self) -> CallChange {
        CallChange::Finished(Box::new(self.record()))
    }
}

/// Everything the store holds about calls: those in progress, and the records (newest first).
async fn contents(store: &Store) -> (Vec<ActiveCall>, Vec<CallRecord>) {
    let active = store.interrupted_calls().await.unwrap();
    let records = store
        .calls(&CallFilter::default(), Page::first(Page::MAX_LIMIT))
        .await
        .unwrap();
    (active, records)
}

fn ids(records: &[CallRecord]) -> Vec<&str> {
    records.iter().map(|r| r.id.0.as_str()).collect()
}

async fn a_finished_call_is_stored_whole_and_leaves_the_calls_in_progress(db: TestDb) {
    let store = db.open().await;
    let call = Call::new("c1", "201", "202", T0).answered_by("202");
    store.call_started(&call.active()).await.unwrap();
    assert_eq!(
        store.interrupted_calls().await.unwrap(),
        vec![call.active()]
    );
    assert!(
        store
            .call_answered(&Answer::by(
                CallId("c1".into()),
                T0 + 3_000,
                Some("202".into())
            ))
            .await
            .unwrap()
    );

    let record = call.record();
    assert_eq!(record.disposition, Disposition::Answered);
    assert_eq!(record.timings.hold_secs, 2);
    store.call_finished(&record).await.unwrap();

    assert!(store.interrupted_calls().await.unwrap().is_empty());
    let all = CallFilter::default();
    assert_eq!(
        store.calls(&all, Page::default()).await.unwrap(),
        vec![record.clone()]
    );
    assert_eq!(store.count_calls(&all).await.unwrap(), 1);
    assert_eq!(store.call(&record.id).await.unwrap(), Some(record.clone()));
    assert_eq!(store.call(&CallId("nope".into())).await.unwrap(), None);

    // It survives closing and reopening.
    store.close().await;
    let store = db.open().await;
    assert_eq!(store.call(&record.id).await.unwrap(), Some(record));
}

async fn storing_the_same_record_twice_keeps_one(db: TestDb) {
    let store = db.open().await;
    let record = Call::new("c1", "201", "202", T0).record();
    store.call_finished(&record).await.unwrap();
    store.call_finished(&record).await.unwrap();
    assert_eq!(store.count_calls(&CallFilter::default()).await.unwrap(), 1);
}

async fn call_answered_updates_only_a_call_in_progress(db: TestDb) {
    let store = db.open().await;
    let id = CallId("c1".into());
    let answer = |at_ms, by: &str| Answer::by(id.clone(), at_ms, Some(by.into()));
    assert!(!store.call_answered(&answer(T0, "202")).await.unwrap());
    let call = Call::new("c1", "201", "202", T0);
    store.call_started(&call.active()).await.unwrap();
    // A retried start changes nothing.
    store.call_started(&call.active()).await.unwrap();
    assert!(
        store
            .call_answered(&answer(T0 + 4_000, "203"))
            .await
            .unwrap()
    );
    let active = store.interrupted_calls().await.unwrap();
    assert_eq!(active.len(), 1);
    assert_eq!(active[0].answered_at_ms, Some(T0 + 4_000));
    assert_eq!(active[0].answered_by.as_deref(), Some("203"));
    assert_eq!(active[0].last_seen_at_ms, T0 + 4_000);
}

async fn touch_moves_last_seen_forward_only(db: TestDb) {
    let store = db.open().await;
    store
        .call_started(&Call::new("a", "201", "202", T0).active())
        .await
        .unwrap();
    store
        .call_started(&Call::new("b", "203", "204", T0 + 50_000).active())
        .await
        .unwrap();
    let seen = async || -> Vec<i64> {
        let active = store.interrupted_calls().await.unwrap();
        active.iter().map(|c| c.last_seen_at_ms).collect()
    };
    store.touch_active_calls(T0 + 30_000).await.unwrap();
    // b started after the refresh: it was last seen at its start.
    assert_eq!(seen().await, [T0 + 30_000, T0 + 50_000]);
    store.touch_active_calls(T0 + 20_000).await.unwrap();
    assert_eq!(seen().await, [T0 + 30_000, T0 + 50_000], "never backwards");
    store.touch_active_calls(T0 + 60_000).await.unwrap();
    assert_eq!(seen().await, [T0 + 60_000, T0 + 60_000]);
    // A call that starts after the refresh is not dragged back to it.
    store
        .call_started(&Call::new("c", "205", "206", T0 + 70_000).active())
        .await
        .unwrap();
    assert_eq!(seen().await, [T0 + 60_000, T0 + 60_000, T0 + 70_000]);
}

async fn finish_interrupted_turns_every_call_in_progress_into_a_record(db: TestDb) {
    let store = db.open().await;
    let answered = Call::new("a", "201", "202", T0);
    let ringing = Call::new("b", "+442079460001", "203", T0 + 1_000).direction(Direction::Inbound);
    store.call_started(&answered.active()).await.unwrap();
    store.call_started(&ringing.active()).await.unwrap();
    store
        .call_answered(&Answer::by(
            CallId("a".into()),
            T0 + 2_000,
            Some("202".into()),
        ))
        .await
        .unwrap();
    store.touch_active_calls(T0 + 62_000).await.unwrap();
    // crossbar is killed here; at the next start, an hour later:
    store.close().await;
    let store = db.open().await;
    let now = T0 + 3_600_000;
    let records = store.finish_interrupted(now).await.unwrap();
    assert_eq!(ids(&records), ["a", "b"]);

    let a = &records[0];
    assert_eq!(a.disposition, Disposition::Answered);
    assert!(a.interrupted);
    assert_eq!(a.hangup_by, HangupSide::System);
    assert_eq!(a.answered_by.as_deref(), Some("202"));
    assert_eq!(
        a.ended_at_ms,
        T0 + 62_000,
        "ends when crossbar last saw it up"
    );
    assert_eq!(a.timings.wait_secs, Some(2));
    assert_eq!(a.timings.talk_secs, 60);

    let b = &records[1];
    assert_eq!(b.disposition, Disposition::Failed);
    assert_eq!(b.disposition_detail.as_deref(), Some("interrupted"));
    assert!(b.interrupted);
    assert_eq!(b.direction, Direction::Inbound);
    assert_eq!(b.caller.number, "+442079460001");
    assert_eq!(b.ended_at_ms, T0 + 62_000);

    assert!(store.interrupted_calls().await.unwrap().is_empty());
    let stored = store
        .calls(&CallFilter::default(), Page::default())
        .await
        .unwrap();
    assert_eq!(stored, vec![records[1].clone(), records[0].clone()]);
    assert!(store.finish_interrupted(now).await.unwrap().is_empty());
}

async fn filters_select_by_extension_direction_disposition_and_time(db: TestDb) {
    let store = db.open().await;
    let minute = 60_000;
    let calls = [
        // 201 calls 202, who answers.
        Call::new("1", "201", "202", T0).answered_by("202"),
        // 203 calls 202; 204 answers (a pickup).
        Call::new("2", "203", "202", T0 + minute).answered_by("204"),
        // An outside caller reaches 201, who is busy.
        Call::new("3", "+442079460001", "201", T0 + 2 * minute)
            .direction(Direction::Inbound)
            .ended(EndReason::TargetsFailed { status: 486 }, Some(486)),
        // 202 dials out and gives up.
        Call::new("4", "202", "+441632960001", T0 + 3 * minute).direction(Direction::Outbound),
        // 201 is denied a call out.
        Call::new("5", "201", "+19005550100", T0 + 4 * minute)
            .direction(Direction::Outbound)
            .ended(
                EndReason::Denied {
                    reason: "class of service".into(),
                },
                Some(403),
            ),
    ];
    for call in &calls {
        store.call_finished(&call.record()).await.unwrap();
    }
    let cases: Vec<(CallFilter, Vec<&str>)> = vec![
        (CallFilter::default(), vec!["5", "4", "3", "2", "1"]),
        (
            CallFilter {
                extension: Some("202".into()),
                ..CallFilter::default()
            },
            vec!["4", "2", "1"],
        ),
        (
            CallFilter {
                extension: Some("204".into()),
                ..CallFilter::default()
            },
            vec!["2"],
        ),
        (
            CallFilter {
                received_by: Some("202".into()),
                ..CallFilter::default()
            },
            vec!["2", "1"],
        ),
        (
            CallFilter {
                received_by: Some("204".into()),
                ..CallFilter::default()
            },
            vec!["2"],
        ),
        (
            CallFilter {
                placed_by: Some("201".into()),
                ..CallFilter::default()
            },
            vec!["5", "1"],
        ),
        (
            CallFilter {
                direction: Some(Direction::Outbound),
                ..CallFilter::default()
            },
            vec!["5", "4"],
        ),
        (
            CallFilter {
                disposition: Some(Disposition::Busy),
                ..CallFilter::default()
            },
            vec!["3"],
        ),
        (
            CallFilter {
                disposition: Some(Disposition::Answered),
                placed_by: Some("203".into()),
                ..CallFilter::default()
            },
            vec!["2"],
        ),
        (
            CallFilter {
                since_ms: Some(T0 + minute),
                until_ms: Some(T0 + 3 * minute),
                ..CallFilter::default()
            },
            vec!["3", "2"],
        ),
        (
            CallFilter {
                extension: Some("201".into()),
                direction: Some(Direction::Outbound),
                disposition: Some(Disposition::Denied),
                since_ms: Some(T0),
                ..CallFilter::default()
            },
            vec!["5"],
        ),
        (
            CallFilter {
                extension: Some("999".into()),
                ..CallFilter::default()
            },
            vec![],
        ),
    ];
    for (filter, expected) in cases {
        let found = store.calls(&filter, Page::first(100)).await.unwrap();
        assert_eq!(ids(&found), expected, "{filter:?}");
        assert_eq!(
            store.count_calls(&filter).await.unwrap(),
            expected.len() as u64,
            "{filter:?}"
        );
    }
    let denied = store.call(&CallId("5".into())).await.unwrap().unwrap();
    assert_eq!(
        denied.disposition_detail.as_deref(),
        Some("class of service")
    );
    assert_eq!(denied.sip_status, Some(403));
}

async fn listings_are_newest_first_and_paged(db: TestDb) {
    let store = db.open().await;
    // Two calls start in the same millisecond: the id breaks the tie.
    for (id, start) in [("a", T0), ("b", T0 + 5), ("c", T0 + 5), ("d", T0 + 9)] {
        store
            .call_finished(&Call::new(id, "201", "202", start).record())
            .await
            .unwrap();
    }
    let all = CallFilter::default();
    let page = |limit, offset| Page { limit, offset };
    assert_eq!(
        ids(&store.calls(&all, page(2, 0)).await.unwrap()),
        ["d", "c"]
    );
    assert_eq!(
        ids(&store.calls(&all, page(2, 2)).await.unwrap()),
        ["b", "a"]
    );
    assert!(store.calls(&all, page(2, 4)).await.unwrap().is_empty());
    assert!(store.calls(&all, page(0, 0)).await.unwrap().is_empty());
    assert_eq!(
        store.calls(&all, page(u32::MAX, u64::MAX)).await.unwrap(),
        vec![]
    );
    assert_eq!(
        ids(&store.calls(&all, page(u32::MAX, 0)).await.unwrap()),
        ["d", "c", "b", "a"]
    );
}

async fn a_batch_of_whole_calls_leaves_their_records_and_no_calls_in_progress(db: TestDb) {
    let store = db.open().await;
    let a = Call::new("a", "201", "202", T0).answered_by("202");
    let b = Call::new("b", "203", "204", T0 + 1_000);
    let c = Call::new("c", "+442079460001", "201", T0 + 2_000)
        .direction(Direction::Inbound)
        .answered_by("201");
    // The calls' steps interleave, as they do on a busy switch.
    let batch = [
        a.started(),
        b.started(),
        a.answer(),
        c.started(),
        b.finished(),
        c.answer(),
        a.finished(),
        c.finished(),
    ];
    store.apply_call_changes(&batch).await.unwrap();
    let (active, records) = contents(&store).await;
    assert!(active.is_empty(), "{active:?}");
    assert_eq!(records, vec![c.record(), b.record(), a.record()]);
}

async fn a_batch_of_started_and_answered_calls_leaves_them_in_progress(db: TestDb) {
    let store = db.open().await;
    let a = Call::new("a", "201", "202", T0).answered_by("202");
    let b = Call::new("b", "203", "204", T0 + 1_000);
    store
        .apply_call_changes(&[a.started(), b.started(), a.answer()])
        .await
        .unwrap();
    let (active, records) = contents(&store).await;
    assert!(records.is_empty());
    let answered = ActiveCall {
        answered_at_ms: Some(T0 + 3_000),
        answered_by: Some("202".into()),
        last_seen_at_ms: T0 + 3_000,
        callback_task: None,
        ..a.active()
    };
    assert_eq!(active, vec![answered, b.active()]);

    // A later batch ends them; an answer for a call never started changes nothing.
    let stranger = Call::new("x", "205", "206", T0).answered_by("206");
    store
        .apply_call_changes(&[stranger.answer(), b.finished(), a.finished()])
        .await
        .unwrap();
    let (active, records) = contents(&store).await;
    assert!(active.is_empty(), "{active:?}");
    assert_eq!(records, vec![b.record(), a.record()]);
}

async fn an_answer_after_the_call_finished_in_the_same_batch_changes_nothing(db: TestDb) {
    let store = db.open().await;
    let a = Call::new("a", "201", "202", T0).answered_by("202");
    store
        .apply_call_changes(&[a.started(), a.finished(), a.answer()])
        .await
        .unwrap();
    let (active, records) = contents(&store).await;
    assert!(
        active.is_empty(),
        "no call in progress is brought back: {active:?}"
    );
    assert_eq!(records, vec![a.record()]);
}

async fn applying_the_same_batch_again_changes_nothing(db: TestDb) {
    let store = db.open().await;
    let a = Call::new("a", "201", "202", T0).answered_by("202");
    let b = Call::new("b", "203", "204", T0 + 1_000).answered_by("204");
    let c = Call::new("c", "205", "206", T0 + 2_000);
    // As when a commit was not acknowledged and the writer tries again.
    let batch = [
        a.started(),
        b.started(),
        a.answer(),
        c.started(),
        b.answer(),
        a.finished(),
    ];
    store.apply_call_changes(&batch).await.unwrap();
    let once = contents(&store).await;
    assert_eq!(ids(&once.1), ["a"]);
    assert_eq!(once.0.len(), 2);
    store.apply_call_changes(&batch).await.unwrap();
    assert_eq!(contents(&store).await, once);
    // And so does a step already written on its own.
    store.call_started(&c.active()).await.unwrap();
    store.call_finished(&a.record()).await.unwrap();
    assert_eq!(contents(&store).await, once);
}

async fn an_empty_batch_changes_nothing(db: TestDb) {
    let store = db.open().await;
    store.apply_call_changes(&[]).await.unwrap();
    let a = Call::new("a", "201", "202", T0);
    store.apply_call_changes(&[a.started()]).await.unwrap();
    let before = contents(&store).await;
    store.apply_call_changes(&[]).await.unwrap();
    assert_eq!(contents(&store).await, before);
}

async fn a_rejected_change_rolls_back_the_whole_batch(db: TestDb) {
    let store = db.open().await;
    let kept = Call::new("kept", "201", "202", T0).answered_by("202");
    store.call_started(&kept.active()).await.unwrap();
    let before = contents(&store).await;

    let new = Call::new("new", "203", "204", T0 + 1_000);
    let mut bad = Call::new("bad", "205", "206", T0 + 2_000).record();
    bad.sip_status = Some(700); // SIP statuses are 100..=699: the database's CHECK refuses it
    let batch = [
        kept.answer(),
        new.started(),
        kept.finished(),
        CallChange::Finished(Box::new(bad)),
        new.finished(),
    ];
    let error = store
        .apply_call_changes(&batch)
        .await
        .expect_err("the batch must fail");
    assert!(
        matches!(error, StoreError::Rejected { .. }),
        "a constraint violation is reported as Rejected, got {error:?}"
    );
    assert_eq!(
        contents(&store).await,
        before,
        "the changes before the rejected one were rolled back"
    );

    // A call in progress with an empty id is refused too.
    let mut nameless = new.active();
    nameless.id = CallId(String::new());
    assert!(matches!(
        store
            .apply_call_changes(&[new.started(), CallChange::Started(nameless)])
            .await,
        Err(StoreError::Rejected { .. })
    ));
    assert_eq!(contents(&store).await, before);

    // The store is still usable after a failed batch.
    let good = [
        kept.answer(),
        new.started(),
        kept.finished(),
        new.finished(),
    ];
    store.apply_call_changes(&good).await.unwrap();
    let (active, records) = contents(&store).await;
    assert!(active.is_empty(), "{active:?}");
    assert_eq!(records, vec![new.record(), kept.record()]);
}

async fn a_large_batch_writes_the_same_as_its_changes_one_by_one(db: TestDb) {
    // 300 calls, each starting 10 ms after the previous one, answered after 3 s and ended
    // after 10 s: their steps interleave, and more than 100 of each kind are up together
    // (more than one multi-row statement holds).
    let calls: Vec<Call> = (0..300)
        .map(|i| {
            let call = Call::new(
                &format!("c{i:03}"),
                "201",
                &format!("{}", 300 + i),
                T0 + i * 10,
            );
            if i % 3 == 0 {
                call
            } else {
                call.answered_by(&format!("{}", 300 + i))
            }
        })
        .collect();
    let mut timed: Vec<(i64, CallChange)> = Vec::new();
    for call in &calls {
        timed.push((call.start_ms, call.started()));
        if let Some((after, _)) = &call.answered {
            timed.push((call.start_ms + after, call.answer()));
        }
        timed.push((call.start_ms + call.end_after_ms, call.finished()));
    }
    timed.sort_by_key(|(at, _)| *at);
    let mut batch: Vec<CallChange> = timed.into_iter().map(|(_, change)| change).collect();
    // What a batch may hold besides: a repeated start, a second answer, an answer for a call
    // never started and one for a call already finished, a record written twice, and a call
    // started again after its record (brought back in progress, as one by one).
    let (a, b, c) = (&calls[1], &calls[2], &calls[4]);
    let stranger = Call::new("stranger", "205", "206", T0).answered_by("206");
    let mut late_answer = b.answer();
    if let CallChange::Answered(answer) = &mut late_answer {
        answer.at_ms += 500;
    }
    batch.extend([
        a.started(),
        stranger.answer(),
        a.answer(),
        b.started(),
        late_answer,
        c.finished(),
        c.started(),
        c.answer(),
        a.finished(),
    ]);
    batch.insert(1, calls[0].started());
    batch.insert(5, stranger.answer());

    let store = db.open().await;
    store.apply_call_changes(&batch).await.unwrap();
    let by_batch = contents(&store).await;

    let other = TestDb::new(db.backend).await;
    let one_by_one = other.open().await;
    for change in &batch {
        match change {
            CallChange::Started(call) => one_by_one.call_started(call).await.unwrap(),
            CallChange::Answered(answer) => drop(one_by_one.call_answered(answer).await.unwrap()),
            CallChange::Callback { id, task } => {
                one_by_one.call_placed_for(id, *task).await.unwrap();
            }
            CallChange::Finished(record) => one_by_one.call_finished(record).await.unwrap(),
        }
    }
    assert_eq!(by_batch, contents(&one_by_one).await);
    let (active, records) = by_batch;
    assert_eq!(records.len(), 300);
    let active: Vec<&str> = active.iter().map(|c| c.id.0.as_str()).collect();
    assert_eq!(active, [b.id.as_str(), c.id.as_str()]);
}

/// An outbound call from `caller` to 01632960001 (normalised +441632960001, of `class`)
/// started at `start`: routed at 5 ms; each of `trunks` is tried in turn (the first leg at
/// 10 ms, each next one 200 ms later, when the previous one failed with 503); the last one
/// rings 1 s after its INVITE and 3 s after it answers and talks `talk_ms`, or is busy.
struct OutboundCall {
    id: String,
    caller: String,
    class: DestinationClass,
    start: i64,
    trunks: Vec<(&'static str, Rate)>,
    talk_ms: Option<i64>,
}

fn rate(per_minute: &str, fee: &str, increment: &str) -> Rate {
    Rate {
        per_minute: per_minute.parse().expect("amount"),
        connection_fee: fee.parse().expect("amount"),
        increment: increment.parse::<Increment>().expect("increment"),
    }
}

impl OutboundCall {
    fn new(id: &str, caller: &str, start: i64) -> OutboundCall {
        OutboundCall {
            id: id.into(),
            caller: caller.into(),
            class: DestinationClass::National,
            start,
            trunks: vec![("carrier-a", rate("0.012", "0.05", "60/60"))],
            talk_ms: Some(90_000),
        }
    }

    fn class(mut self, class: DestinationClass) -> OutboundCall {
        self.class = class;
        self
    }

    fn trunks(mut self, trunks: Vec<(&'static str, Rate)>) -> OutboundCall {
        self.trunks = trunks;
        self
    }

    fn busy(mut self) -> OutboundCall {
        self.talk_ms = None;
        self
    }

    /// The events until the call is answered (or busy), and its end.
    fn events(&self) -> (Vec<CallEvent>, CallEvent) {
        let call = CallId(self.id.clone());
        let at = |ms: i64, kind: EventKind| CallEvent {
            call: call.clone(),
            at_ms: self.start + ms,
            kind,
        };
        let mut events = vec![
            at(
                0,
                EventKind::Started {
                    direction: Direction::Outbound,
                    caller: Party {
                        number: self.caller.clone(),
                        name: None,
                    },
                    callee: Party {
                        number: "01632960001".into(),
                        name: None,
                    },
                    sip_call_id: format!("sip-{}", self.id),
                },
            ),
            at(
                5,
                EventKind::Routed {
                    dialled: "01632960001".into(),
                    normalized: "+441632960001".into(),
                    class: self.class,
                    route: Some("uk".into()),
                    caller_id: Some("+442079460000".into()),
                },
            ),
        ];
        let mut t = 10;
        let last = self.trunks.len();
        for (i, (trunk, rate)) in self.trunks.iter().enumerate() {
            let leg = LegId(u32::try_from(i + 1).expect("a few legs"));
            events.push(at(
                t,
                EventKind::LegCreated {
                    leg,
                    role: LegRole::Callee,
                    target: "+441632960001".into(),
                    contact: Some(format!("sip:+441632960001@{trunk}.example")),
                    trunk: Some((*trunk).into()),
                    rate: Some(*rate),
                },
            ));
            if i + 1 < last {
                t += 200;
                events.push(at(t, EventKind::LegFailed { leg, status: 503 }));
                continue;
            }
            events.push(at(
                t + 1_000,
                EventKind::Ringing {
                    leg,
                    early_media: true,
                },
            ));
            t += 3_000;
            match self.talk_ms {
                Some(_) => events.push(at(t, EventKind::Answered { leg })),
                None => events.push(at(t, EventKind::LegFailed { leg, status: 486 })),
            }
        }
        let end = match self.talk_ms {
            Some(talk) => at(
                t + talk,
                EventKind::Ended {
                    reason: EndReason::Hangup,
                    hangup_by: HangupSide::Callee,
                    status: None,
                },
            ),
            None => at(
                t,
                EventKind::Ended {
                    reason: EndReason::TargetsFailed { status: 486 },
                    hangup_by: HangupSide::Callee,
                    status: Some(486),
                },
            ),
        };
        (events, end)
    }

    /// What the recorder reports for the call until it is answered: its steps to store.
    fn changes_until_answer(&self) -> Vec<CallChange> {
        let mut recorder = Recorder::default();
        self.events()
            .0
            .into_iter()
            .filter_map(|e| recorder.record(e))
            .map(CallChange::from)
            .collect()
    }

    fn record(&self) -> CallRecord {
        let (events, end) = self.events();
        let mut recorder = Recorder::default();
        events
            .into_iter()
            .chain([end])
            .find_map(|e| match recorder.record(e) {
                Some(RecorderOutput::Finished(record)) => Some(*record),
                _ => None,
            })
            .expect("the scripted call ends")
    }
}

/// A call that was denied at routing: its outbound part has no trunk and costs nothing.
fn denied_outbound(id: &str, caller: &str, start: i64) -> CallRecord {
    let call = CallId(id.into());
    let at = |ms: i64, kind: EventKind| CallEvent {
        call: call.clone(),
        at_ms: start + ms,
        kind,
    };
    let events = [
        at(
            0,
            EventKind::Started {
                direction: Direction::Outbound,
                caller: Party {
                    number: caller.into(),
                    name: None,
                },
                callee: Party {
                    number: "00447700900123".into(),
                    name: None,
                },
                sip_call_id: format!("sip-{id}"),
            },
        ),
        at(
            5,
            EventKind::Routed {
                dialled: "00447700900123".into(),
                normalized: "+447700900123".into(),
                class: DestinationClass::International,
                route: None,
                caller_id: None,
            },
        ),
        at(
            6,
            EventKind::Ended {
                reason: EndReason::Denied {
                    reason: "class local may not dial international".into(),
                },
                hangup_by: HangupSide::System,
                status: Some(403),
            },
        ),
    ];
    let mut recorder = Recorder::default();
    events
        .into_iter()
        .find_map(|e| match recorder.record(e) {
            Some(RecorderOutput::Finished(record)) => Some(*record),
            _ => None,
        })
        .expect("the denied call ends")
}

async fn an_outbound_record_keeps_every_outbound_field(db: TestDb) {
    let store = db.open().await;
    // Fails over from carrier-a (503) to carrier-b, which answers; 90 s of talk.
    let failover = OutboundCall::new("failover", "201", T0)
        .class(DestinationClass::Mobile)
        .trunks(vec![
            ("carrier-a", rate("0.012", "0.05", "60/60")),
            ("carrier-b", rate("0.02", "0", "30/6")),
        ])
        .record();
    let out = failover.outbound.clone().expect("routed out");
    assert_eq!(
        (out.trunk.as_deref(), out.attempts, out.pdd_ms),
        (Some("carrier-b"), 2, Some(1_200))
    );
    // 90 s billed 30/6 → 90 s at 0.02/min = 0.03.
    assert_eq!(out.cost, Money(30_000));
    let busy = OutboundCall::new("busy", "202", T0 + 1_000).busy().record();
    let denied = denied_outbound("denied", "203", T0 + 2_000);
    let internal = Call::new("internal", "201", "202", T0 + 3_000)
        .answered_by("202")
        .record();
    assert!(internal.outbound.is_none());

    // One on its own, the others in a batch: both paths write every column.
    store.call_finished(&failover).await.unwrap();
    store
        .apply_call_changes(&[
            CallChange::Finished(Box::new(busy.clone())),
            CallChange::Finished(Box::new(denied.clone())),
            CallChange::Finished(Box::new(internal.clone())),
        ])
        .await
        .unwrap();
    for record in [&failover, &busy, &denied, &internal] {
        assert_eq!(
            store.call(&record.id).await.unwrap().as_ref(),
            Some(record),
            "{}",
            record.id
        );
    }
    let denied_out = denied.outbound.as_ref().expect("denied after routing");
    assert_eq!(
        (denied_out.attempts, &denied_out.trunk, denied_out.cost),
        (0, &None, Money::ZERO)
    );
    let (_, listed) = contents(&store).await;
    assert_eq!(listed, vec![internal, denied, busy, failover]);
}

async fn filters_select_outbound_calls_by_trunk_and_class(db: TestDb) {
    let store = db.open().await;
    let minute = 60_000;
    let a = rate("0.01", "0", "60/60");
    let b = rate("0.02", "0", "60/60");
    let records = [
        OutboundCall::new("1", "201", T0)
            .trunks(vec![("carrier-a", a)])
            .record(),
        // Fails over from carrier-a: carried by carrier-b.
        OutboundCall::new("2", "202", T0 + minute)
            .class(DestinationClass::Mobile)
            .trunks(vec![("carrier-a", a), ("carrier-b", b)])
            .record(),
        OutboundCall::new("3", "201", T0 + 2 * minute)
            .class(DestinationClass::Mobile)
            .trunks(vec![("carrier-b", b)])
            .busy()
            .record(),
        denied_outbound("4", "201", T0 + 3 * minute),
        Call::new("5", "201", "202", T0 + 4 * minute).record(),
    ];
    for record in &records {
        store.call_finished(record).await.unwrap();
    }
    let cases: Vec<(CallFilter, Vec<&str>)> = vec![
        (
            CallFilter {
                trunk: Some("carrier-a".into()),
                ..CallFilter::default()
            },
            vec!["1"],
        ),
        (
            CallFilter {
                trunk: Some("carrier-b".into()),
                ..CallFilter::default()
            },
            vec!["3", "2"],
        ),
        (
            CallFilter {
                class: Some(DestinationClass::Mobile),
                ..CallFilter::default()
            },
            vec!["3", "2"],
        ),
        (
            CallFilter {
                class: Some(DestinationClass::International),
                ..CallFilter::default()
            },
            vec!["4"],
        ),
        (
            CallFilter {
                class: Some(DestinationClass::Mobile),
                trunk: Some("carrier-b".into()),
                disposition: Some(Disposition::Answered),
                ..CallFilter::default()
            },
            vec!["2"],
        ),
        (
            CallFilter {
                trunk: Some("carrier-c".into()),
                ..CallFilter::default()
            },
            vec![],
        ),
    ];
    for (filter, expected) in cases {
        let found = store.calls(&filter, Page::first(100)).await.unwrap();
        assert_eq!(ids(&found), expected, "{filter:?}");
        assert_eq!(
            store.count_calls(&filter).await.unwrap(),
            expected.len() as u64,
            "{filter:?}"
        );
    }
}

async fn an_outbound_call_cut_off_by_a_crash_gets_its_talk_time_and_cost(db: TestDb) {
    let store = db.open().await;
    // Fails over to carrier-b (0.02/min billed per second, 0.01 to connect), which answers
    // 3,210 ms after the start; a second call is still ringing out.
    let answered = OutboundCall::new("answered", "201", T0).trunks(vec![
        ("carrier-a", rate("0.012", "0.05", "60/60")),
        ("carrier-b", rate("0.02", "0.01", "1/1")),
    ]);
    let ringing = OutboundCall::new("ringing", "202", T0 + 500);
    let mut changes = answered.changes_until_answer();
    changes.extend(
        ringing
            .changes_until_answer()
            .into_iter()
            .filter(|c| matches!(c, CallChange::Started(_))),
    );
    store.apply_call_changes(&changes).await.unwrap();
    let active = store.interrupted_calls().await.unwrap();
    assert_eq!(active.len(), 2);
    assert_eq!(active[0].trunk.as_deref(), Some("carrier-b"));
    assert_eq!(active[0].rate, Some(rate("0.02", "0.01", "1/1")));
    assert_eq!(
        active[0].outbound.as_ref().map(|o| o.normalized.as_str()),
        Some("+441632960001")
    );

    // crossbar refreshes the calls in progress every second; the last refresh is 125.4 s
    // into the call (122.19 s after the answer), then it is killed.
    for second in 1..=125 {
        store.touch_active_calls(T0 + second * 1_000).await.unwrap();
    }
    store.touch_active_calls(T0 + 125_400).await.unwrap();
    store.close().await;
    let store = db.open().await;
    let records = store.finish_interrupted(T0 + 3_600_000).await.unwrap();
    assert_eq!(ids(&records), ["answered", "ringing"]);

    let r = &records[0];
    assert!(r.interrupted);
    assert_eq!(r.disposition, Disposition::Answered);
    assert_eq!(r.answered_at_ms, Some(T0 + 3_210));
    assert_eq!(r.ended_at_ms, T0 + 125_400);
    assert_eq!(r.timings.talk_secs, 122);
    let out = r.outbound.as_ref().expect("its routing was kept");
    assert_eq!(out.dialled, "01632960001");
    assert_eq!(out.normalized, "+441632960001");
    assert_eq!(out.class, DestinationClass::National);
    assert_eq!(out.route.as_deref(), Some("uk"));
    assert_eq!(out.caller_id.as_deref(), Some("+442079460000"));
    assert_eq!(out.trunk.as_deref(), Some("carrier-b"));
    assert_eq!((out.attempts, out.failovers()), (2, 1));
    assert_eq!(out.pdd_ms, Some(1_200));
    // 122.19 s → 123 s billed per second at 0.02/min = 0.041, plus 0.01 to connect.
    assert_eq!(out.cost, Money(51_000));
    assert_eq!(store.call(&r.id).await.unwrap().as_ref(), Some(r));

    // Never answered: nothing to charge, and its routing was not yet written.
    let ringing = &records[1];
    assert_eq!(ringing.disposition, Disposition::Failed);
    assert_eq!(ringing.ended_at_ms, T0 + 125_400);
    assert_eq!(ringing.outbound, None);
}

async fn the_outbound_calls_of_a_period_are_read_as_the_metrics_need_them(db: TestDb) {
    let store = db.open().await;
    let minute = 60_000;
    let a = rate("0.01", "0", "60/60");
    let b = rate("0.02", "0.01", "1/1");
    let mut forwarded = OutboundCall::new("forwarded", "+442079460001", T0 + 5 * minute)
        .class(DestinationClass::Mobile)
        .trunks(vec![("carrier-b", b)])
        .record();
    // An inbound call forwarded out through a trunk keeps its direction.
    forwarded.direction = Direction::Inbound;
    let records = [
        OutboundCall::new("before", "201", T0 - 1).record(),
        OutboundCall::new("failover", "201", T0)
            .trunks(vec![("carrier-a", a), ("carrier-b", b)])
            .record(),
        OutboundCall::new("busy", "202", T0 + minute)
            .trunks(vec![("carrier-a", a)])
            .busy()
            .record(),
        denied_outbound("denied", "201", T0 + 2 * minute),
        // Placed out but denied before routing: outbound by direction alone.
        Call::new("limit", "203", "+441632960002", T0 + 3 * minute)
            .direction(Direction::Outbound)
            .ended(
                EndReason::Denied {
                    reason: "call limit".into(),
                },
                Some(486),
            )
            .record(),
        Call::new("internal", "201", "202", T0 + 4 * minute)
            .answered_by("202")
            .record(),
        forwarded,
        OutboundCall::new("after", "202", T0 + 60 * minute).record(),
    ];
    for record in &records {
        store.call_finished(record).await.unwrap();
    }
    let period = Period {
        since_ms: Some(T0),
        until_ms: Some(T0 + 60 * minute),
    };
    let expected: Vec<outbound::OutboundCall> = records[1..7]
        .iter()
        .filter_map(outbound::OutboundCall::from_record)
        .collect();
    assert_eq!(expected.len(), 5, "all but the internal call");
    let read = store
        .outbound_calls(period, TrunkLegs::Include)
        .await
        .unwrap();
    assert_eq!(read, expected);
    let without_legs = store.outbound_calls(period, TrunkLegs::Omit).await.unwrap();
    let legless: Vec<outbound::OutboundCall> = expected
        .iter()
        .cloned()
        .map(|call| outbound::OutboundCall {
            trunk_legs: Vec::new(),
            ..call
        })
        .collect();
    assert_eq!(without_legs, legless);

    // The report from the store is the report from the records.
    let from_records: Vec<outbound::OutboundCall> = records
        .iter()
        .filter_map(outbound::OutboundCall::from_record)
        .collect();
    let all = store
        .outbound_calls(Period::ALL, TrunkLegs::Include)
        .await
        .unwrap();
    assert_eq!(all.len(), 7);
    for by in [None, Some(GroupBy::Trunk), Some(GroupBy::Extension)] {
        assert_eq!(
            outbound::outbound_report(&all, period, by),
            outbound::outbound_report(&from_records, period, by),
            "{by:?}"
        );
    }
    let report = outbound::outbound_report(&read, period, None);
    assert_eq!(
        (
            report.total.attempts,
            report.total.connected,
            report.total.denied
        ),
        (3, 2, 2)
    );
}
