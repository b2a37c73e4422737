//! Outbound activity per extension, read from the calls in progress and the records, run
//! against both backends.

#[macro_use]
mod common;

use common::TestDb;
use crossbar_cdr::{CallId, CallRecord, Direction, Disposition, HangupSide, Money, Party, Timings};
use crossbar_store::{ActiveCall, ActivityWindow, ExtensionActivity, OutboundActivity, Store};

on_both_backends!(
    outbound_calls_are_counted_per_extension_up_now_in_the_last_minute_and_today,
    the_last_minute_reaches_back_past_midnight,
    nothing_is_counted_in_an_empty_database,
);

/// 2026-11-21T00:00:00Z: the start of the day in the tests.
const MIDNIGHT: i64 = 1_795_219_200_000;
/// 2026-11-21T09:00:00Z: "now" in the tests.
const NINE: i64 = 1_795_251_600_000;
const SECOND: i64 = 1_000;
const HOUR: i64 = 3_600_000;

fn party(number: &str) -> Party {
    Party {
        number: number.into(),
        name: None,
    }
}

fn active(id: &str, direction: Direction, caller: &str, started_at_ms: i64) -> ActiveCall {
    ActiveCall {
        id: CallId(id.into()),
        sip_call_id: format!("sip-{id}"),
        direction,
        caller: party(caller),
        callee: party("+442079460000"),
        started_at_ms,
        answered_at_ms: None,
        answered_by: None,
        trunk: None,
        rate: None,
        outbound: None,
        last_seen_at_ms: started_at_ms,
        callback_task: None,
    }
}

fn record(
    id: &str,
    direction: Direction,
    disposition: Disposition,
    caller: &str,
    started_at_ms: i64,
) -> CallRecord {
    CallRecord {
        id: CallId(id.into()),
        sip_call_id: format!("sip-{id}"),
        direction,
        caller: party(caller),
        callee: party("+442079460000"),
        started_at_ms,
        answered_at_ms: None,
        ended_at_ms: started_at_ms + 5 * SECOND,
        disposition,
        disposition_detail: None,
        sip_status: None,
        hangup_by: HangupSide::Caller,
        answered_by: None,
        timings: Timings::default(),
        interrupted: false,
        outbound: None,
        inbound: None,
        path: Vec::new(),
        abandoned_stage: None,
        queues: Vec::new(),
        callback_task: None,
        legs: Vec::new(),
        timeline: Vec::new(),
    }
}

async fn write(store: &Store, records: &[CallRecord], actives: &[ActiveCall]) {
    for record in records {
        store.call_finished(record).await.expect("record written");
    }
    for call in actives {
        store
            .call_started(call)
            .await
            .expect("call in progress written");
    }
}

fn activity(calls_now: u32, calls_last_minute: u32, calls_today: u32) -> ExtensionActivity {
    ExtensionActivity {
        calls_now,
        calls_last_minute,
        calls_today,
        spend_today: Money::ZERO,
    }
}

async fn outbound_calls_are_counted_per_extension_up_now_in_the_last_minute_and_today(db: TestDb) {
    use Direction::{Internal, Outbound};
    use Disposition::{Answered, Denied, Failed, NoAnswer};
    let store = db.open().await;
    write(
        &store,
        &[
            record("yesterday", Outbound, Answered, "201", MIDNIGHT - HOUR),
            record("at-midnight", Outbound, NoAnswer, "201", MIDNIGHT),
            record("morning", Outbound, Answered, "201", MIDNIGHT + HOUR),
            record("a-minute-ago", Outbound, Failed, "201", NINE - 60 * SECOND),
            record("just-now", Outbound, Answered, "201", NINE - 30 * SECOND),
            // Denied by policy: never routed to a trunk, so not counted.
            record("denied", Outbound, Denied, "201", NINE - 10 * SECOND),
            record("internal", Internal, Answered, "201", NINE - 20 * SECOND),
            // After the end of the window.
            record("later", Outbound, Answered, "201", NINE + SECOND),
            record(
                "morning-202",
                Outbound,
                Answered,
                "202",
                MIDNIGHT + 2 * HOUR,
            ),
        ],
        &[
            active("up-201", Outbound, "201", NINE - 5 * SECOND),
            // Up since yesterday: up now, not a call of today.
            active("up-202", Outbound, "202", MIDNIGHT - HOUR),
            active("up-internal", Internal, "203", NINE - 5 * SECOND),
        ],
    )
    .await;

    let window = ActivityWindow {
        day_start_ms: MIDNIGHT,
        until_ms: NINE,
    };
    let OutboundActivity { extensions, trunks } =
        store.outbound_activity(&window).await.expect("read");
    assert_eq!(
        extensions.into_iter().collect::<Vec<_>>(),
        [
            // at-midnight, morning, a-minute-ago, just-now, up-201.
            ("201".to_owned(), activity(1, 2, 5)),
            ("202".to_owned(), activity(1, 0, 1)),
        ]
    );
    assert!(
        trunks.is_empty(),
        "calls do not hold their trunk in this schema"
    );
}

async fn the_last_minute_reaches_back_past_midnight(db: TestDb) {
    let store = db.open().await;
    write(
        &store,
        &[record(
            "before-midnight",
            Direction::Outbound,
            Disposition::Answered,
            "201",
            MIDNIGHT - 40 * SECOND,
        )],
        &[],
    )
    .await;
    let window = ActivityWindow {
        day_start_ms: MIDNIGHT,
        until_ms: MIDNIGHT + 10 * SECOND,
    };
    let activities = store.outbound_activity(&window).await.expect("read");
    assert_eq!(
        activities.extensions.get("201"),
        Some(&activity(0, 1, 0)),
        "in the last minute, not today"
    );
}

async fn nothing_is_counted_in_an_empty_database(db: TestDb) {
    let store = db.open().await;
    let window = ActivityWindow {
        day_start_ms: MIDNIGHT,
        until_ms: NINE,
    };
    assert_eq!(
        store.outbound_activity(&window).await.expect("read"),
        OutboundActivity::default()
    );
}
